package pset

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Constraint is the values one field takes in a Cube, in readable form.
type Constraint struct {
	Field Field
	Text  string // e.g. "198.51.100.0/24", "22", "1024:65535", "!{eth0, lo}", "10.0.0.0&255.0.255.0"
}

// Cube is a product of per-field constraints; fields not listed are
// unconstrained. The empty cube is every packet.
type Cube []Constraint

func (c Cube) String() string {
	if len(c) == 0 {
		return "any packet"
	}
	var b strings.Builder
	for i, x := range c {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x.Field.String())
		b.WriteByte(' ')
		b.WriteString(x.Text)
	}
	return b.String()
}

// Cubes returns s as a disjoint union of at most limit cubes, for display.
// The decomposition splits field by field in variable order: for each field
// the values that lead to the same remainder are grouped into one
// constraint. complete is false when s needs more than limit cubes (then
// the cubes returned are a part of s).
func (s Set) Cubes(limit int) (cubes []Cube, complete bool) {
	u := s.u
	if s.n == bddFalse {
		return nil, true
	}
	// Quantify away the fields s does not depend on, so that the
	// cross-field well-formedness constraints do not show.
	n := s.n
	for _, f := range u.order {
		fi := u.fields[f]
		if u.d.and(u.d.exists(s.n, fi.off, fi.off+fi.width, uint32(f)), u.valid) == s.n {
			n = u.d.exists(n, fi.off, fi.off+fi.width, uint32(f))
		}
	}
	complete = true
	var rec func(n uint32, i int, prefix Cube)
	rec = func(n uint32, i int, prefix Cube) {
		if !complete || n == bddFalse {
			return
		}
		for i < len(u.order) && n != bddTrue {
			f := u.order[i]
			fi := u.fields[f]
			if u.d.level(n) >= fi.off+fi.width {
				i++
				continue
			}
			parts := u.split(n, f, limit+1)
			if parts == nil {
				complete = false
				return
			}
			if len(parts) == 1 && u.fieldAll(f, parts[0].v) {
				n = parts[0].child
				i++
				continue
			}
			for _, p := range parts {
				if p.child == bddFalse {
					continue
				}
				c := append(append(Cube(nil), prefix...), Constraint{f, u.format(f, p.v)})
				rec(p.child, i+1, c)
			}
			return
		}
		if len(cubes) >= limit {
			complete = false
			return
		}
		cubes = append(cubes, prefix)
	}
	rec(n, 0, nil)
	return cubes, complete
}

// fieldAll reports whether v (over f's variables) holds every valid value.
func (u *Universe) fieldAll(f Field, v uint32) bool {
	if v == bddTrue {
		return true
	}
	if nsym := u.fields[f].nsym; nsym > 0 {
		return u.d.diff(u.rangeBDD(f, wide{}, wideOf(uint64(nsym-1))), v) == bddFalse
	}
	return false
}

type part struct {
	child uint32
	v     uint32 // values of the field leading to child
	min   wide
}

// split groups the values of field f in n by the node below the field.
// It returns nil when there are more than max groups.
func (u *Universe) split(n uint32, f Field, max int) []part {
	fi := u.fields[f]
	end := fi.off + fi.width
	memo := map[uint32]map[uint32]uint32{}
	var rec func(n uint32) map[uint32]uint32
	rec = func(n uint32) map[uint32]uint32 {
		l := u.d.level(n)
		if l >= end {
			return map[uint32]uint32{n: bddTrue}
		}
		if m, ok := memo[n]; ok {
			return m
		}
		nd := *u.d.node(n)
		lo, hi := rec(nd.lo), rec(nd.hi)
		if lo == nil || hi == nil {
			return nil
		}
		out := make(map[uint32]uint32, len(lo)+len(hi))
		for c, v := range lo {
			out[c] = u.d.mk(l, v, bddFalse)
		}
		for c, v := range hi {
			out[c] = u.d.or(out[c], u.d.mk(l, bddFalse, v))
		}
		memo[n] = out
		if len(out) > max {
			return nil
		}
		return out
	}
	m := rec(n)
	if m == nil || len(m) > max {
		return nil
	}
	parts := make([]part, 0, len(m))
	for c, v := range m {
		w, _, _ := u.minIn(v, f, bddTrue)
		parts = append(parts, part{c, v, w})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].min.less(parts[j].min) })
	return parts
}

// ternary is one path of a field's value BDD: the bits of mask are fixed to
// those of val.
type ternary struct{ val, mask wide }

// paths enumerates the paths of v (over f's variables), at most max.
func (u *Universe) paths(f Field, v uint32, max int) ([]ternary, bool) {
	fi := u.fields[f]
	var out []ternary
	ok := true
	var rec func(n uint32, t ternary)
	rec = func(n uint32, t ternary) {
		if n == bddFalse || !ok {
			return
		}
		if n == bddTrue {
			if len(out) >= max {
				ok = false
				return
			}
			out = append(out, t)
			return
		}
		nd := *u.d.node(n)
		k := fi.width - 1 - (nd.level - fi.off)
		t.mask.setBit(k)
		rec(nd.lo, t)
		t.val.setBit(k)
		rec(nd.hi, t)
	}
	rec(v, ternary{})
	return out, ok
}

// prefixLen returns the number of fixed leading bits if mask is a
// contiguous run from the top of the field.
func prefixLen(mask wide, width int32) (int32, bool) {
	var n int32
	for k := width - 1; k >= 0 && mask.bit(k); k-- {
		n++
	}
	for k := width - 1 - n; k >= 0; k-- {
		if mask.bit(k) {
			return 0, false
		}
	}
	return n, true
}

const maxShown = 12

// format renders the values v (over f's variables) of field f.
func (u *Universe) format(f Field, v uint32) string {
	fi := u.fields[f]
	if fi.nsym > 0 {
		var in, out []string
		for c := 0; c < fi.nsym; c++ {
			name := u.symName(f, c)
			if u.walk(v, f, wideOf(uint64(c))) != bddFalse {
				in = append(in, name)
			} else {
				out = append(out, name)
			}
		}
		if len(in) == 1 {
			return in[0]
		}
		if len(out) < len(in) {
			return "!{" + strings.Join(out, ", ") + "}"
		}
		return "{" + strings.Join(in, ", ") + "}"
	}
	pos := u.formatNum(f, v)
	if notV := u.d.diff(bddTrue, v); len(pos) > 8 {
		if alt := u.formatNum(f, notV); len(alt)+1 < len(pos) {
			return "!" + alt
		}
	}
	return pos
}

func (u *Universe) symName(f Field, c int) string {
	switch f {
	case CTState:
		return ctStateName[c]
	case PktType:
		return pktTypeSyms[c]
	case SrcType, DstType:
		return addrTypeName[c]
	}
	s := u.ifaces[c]
	if s.Name == "" && !s.Other {
		return `""`
	}
	return s.String()
}

func (u *Universe) formatNum(f Field, v uint32) string {
	fi := u.fields[f]
	ps, ok := u.paths(f, v, 256)
	if !ok {
		return "(many values)"
	}
	// Aligned blocks merge into intervals; other paths stay value/mask.
	type iv struct{ lo, hi wide }
	var ivs []iv
	var odd []ternary
	for _, p := range ps {
		n, isPrefix := prefixLen(p.mask, fi.width)
		if !isPrefix {
			odd = append(odd, p)
			continue
		}
		hi := p.val
		for k := fi.width - 1 - n; k >= 0; k-- {
			hi.setBit(k)
		}
		ivs = append(ivs, iv{p.val, hi})
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].lo.less(ivs[j].lo) })
	var merged []iv
	for _, x := range ivs {
		if k := len(merged) - 1; k >= 0 && merged[k].hi.add1() == x.lo && merged[k].hi != maxOf(fi.width) {
			merged[k].hi = x.hi
			continue
		}
		merged = append(merged, x)
	}
	var items []string
	for _, x := range merged {
		items = append(items, u.formatInterval(f, x.lo, x.hi)...)
	}
	for _, t := range odd {
		items = append(items, u.formatTernary(f, t))
	}
	if len(items) > maxShown {
		items = append(items[:maxShown], fmt.Sprintf("… (%d more)", len(items)-maxShown))
	}
	if len(items) == 1 {
		return items[0]
	}
	return "{" + strings.Join(items, ", ") + "}"
}

func (u *Universe) formatValue(f Field, w wide) string {
	switch {
	case f.kind() == kindAddr:
		return u.wideAddr(w).String()
	case f == Proto || f == CTProto:
		if name, ok := protoNames[uint8(w.lo)]; ok {
			return name
		}
	case f == TCPFlags || f == Mark || f == CTMark || f == TOS || f == CTStatus:
		return "0x" + strconv.FormatUint(w.lo, 16)
	}
	return strconv.FormatUint(w.lo, 10)
}

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp", 136: "udplite", 47: "gre", 50: "esp", 51: "ah", 33: "dccp"}

// formatInterval renders [lo, hi]: as CIDRs for addresses when that takes
// at most four prefixes, else as lo-hi (addresses) or lo:hi (numbers).
func (u *Universe) formatInterval(f Field, lo, hi wide) []string {
	if lo == hi {
		return []string{u.formatValue(f, lo)}
	}
	if f.kind() == kindAddr {
		if ps := rangeCIDRs(u.wideAddr(lo), u.wideAddr(hi), 4); ps != nil {
			out := make([]string, len(ps))
			for i, p := range ps {
				out[i] = p.String()
			}
			return out
		}
		return []string{u.formatValue(f, lo) + "-" + u.formatValue(f, hi)}
	}
	return []string{u.formatValue(f, lo) + ":" + u.formatValue(f, hi)}
}

func (u *Universe) formatTernary(f Field, t ternary) string {
	if f.kind() == kindAddr {
		return u.wideAddr(t.val).String() + "&" + u.wideAddr(t.mask).String()
	}
	return "0x" + strconv.FormatUint(t.val.lo, 16) + "/0x" + strconv.FormatUint(t.mask.lo, 16)
}

// rangeCIDRs splits [lo, hi] into prefixes, or nil if it needs more than max.
func rangeCIDRs(lo, hi netip.Addr, max int) []netip.Prefix {
	var out []netip.Prefix
	bitsN := lo.BitLen()
	for lo.Compare(hi) <= 0 {
		// Largest prefix starting at lo that stays within hi.
		n := bitsN
		for n > 0 {
			p := netip.PrefixFrom(lo, n-1).Masked()
			if p.Addr() != lo || lastAddr(p).Compare(hi) > 0 {
				break
			}
			n--
		}
		p := netip.PrefixFrom(lo, n)
		out = append(out, p)
		if len(out) > max {
			return nil
		}
		last := lastAddr(p)
		if !last.Next().IsValid() || last.Compare(hi) >= 0 {
			break
		}
		lo = last.Next()
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		k := min(host, 8)
		b[i] |= byte(1<<k - 1)
		host -= k
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
