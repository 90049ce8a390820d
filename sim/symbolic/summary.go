package symbolic

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dfw-project/dfw/sim/pset"
)

// project keeps only field f of s (every other field forgotten).
//
// Forget keeps sets well-formed, so forgetting a field that a
// well-formedness rule ties to a later one can leave it constrained; a
// second pass frees it.
func project(s pset.Set, f pset.Field) pset.Set {
	// One pass over s for every other field (forgetAll makes one per
	// field); the fields it forgets include every coupled group whole, so
	// the result is the same.
	return s.ForgetFields(pset.AllFields &^ pset.FieldSetOf(f))
}

// PortRanges returns the values of numeric field f (Dport, Sport, TTL…)
// that s holds, as sorted disjoint [lo, hi] ranges.
func PortRanges(s pset.Set, f pset.Field) [][2]int {
	u := s.Universe()
	if w, ok := s.Witness(); ok {
		v := uint64(w.Dport)
		if f == pset.Sport {
			v = uint64(w.Sport)
		}
		if s.Subset(u.Eq(f, v)) {
			return [][2]int{{int(v), int(v)}}
		}
	}
	ivs, _ := s.Intervals(f, 1<<u.Width(f))
	out := make([][2]int, len(ivs))
	for i, iv := range ivs {
		out[i] = [2]int{int(iv[0]), int(iv[1])}
	}
	return out
}

// FormatRanges prints port ranges: "80", "8080-8081", "any".
func FormatRanges(rs [][2]int) string {
	if len(rs) == 1 && rs[0][0] == 0 && (rs[0][1] == 65535 || rs[0][1] == 255) {
		return "any"
	}
	var parts []string
	for i, r := range rs {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("… (%d ranges)", len(rs)))
			break
		}
		if r[0] == r[1] {
			parts = append(parts, fmt.Sprint(r[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ",")
}

// Prefixes returns the addresses of field f (Src, Dst) that s holds as
// CIDR prefixes, at most max of them (complete false when there are
// more).
func Prefixes(s pset.Set, f pset.Field, max int) (out []netip.Prefix, complete bool) {
	return s.Prefixes(f, max)
}

// prefixesBySets is Prefixes as it was first written, with a set per
// candidate prefix; kept for the test that compares the two.
func prefixesBySets(s pset.Set, f pset.Field, max int) (out []netip.Prefix, complete bool) {
	u := s.Universe()
	p := project(s, f)
	bits := u.Width(f)
	zero := netip.IPv4Unspecified()
	if bits == 128 {
		zero = netip.IPv6Unspecified()
	}
	complete = true
	var rec func(pfx netip.Prefix)
	rec = func(pfx netip.Prefix) {
		if !complete {
			return
		}
		r := u.CIDR(f, pfx)
		if !p.Overlaps(r) {
			return
		}
		if r.Subset(p) {
			if len(out) >= max {
				complete = false
				return
			}
			out = append(out, pfx)
			return
		}
		if pfx.Bits() >= bits {
			if len(out) >= max {
				complete = false
				return
			}
			out = append(out, pfx)
			return
		}
		lo := netip.PrefixFrom(pfx.Addr(), pfx.Bits()+1)
		rec(lo)
		hi := pfx.Addr().As16()
		b := pfx.Bits()
		off := 0
		if bits == 32 {
			off = 12
		}
		hi[off+b/8] |= 1 << (7 - b%8)
		ha := netip.AddrFrom16(hi)
		if bits == 32 {
			ha = ha.Unmap()
		}
		rec(netip.PrefixFrom(ha, b+1))
	}
	rec(netip.PrefixFrom(zero, 0))
	return out, complete
}

// AddrSummary describes the addresses of field f (Src, Dst) that s
// holds: "any", prefixes, or "any except …" when the complement is
// shorter. dontCare (a set over f) holds addresses that may be counted in
// or out as suits the summary (martian sources, broadcast addresses): they
// fill holes but never make a prefix of their own.
func AddrSummary(s pset.Set, f pset.Field, dontCare pset.Set) []string {
	return addrSummary(s, f, dontCare, 6)
}

// addrSummary is AddrSummary, listing up to most prefixes.
func addrSummary(s pset.Set, f pset.Field, dontCare pset.Set, most int) []string {
	u := s.Universe()
	// Quick test: every packet of s with its address changed to any
	// address outside dontCare is still in s.
	if s.Forget(f).Diff(dontCare).Subset(s) {
		return []string{"any"}
	}
	all := project(u.All(), f)
	p := project(s, f)
	dc := project(dontCare, f)
	filled := p.Union(dc)
	if filled.Equal(all) {
		return []string{"any"}
	}
	str := func(ps []netip.Prefix) []string {
		var ss []string
		for _, x := range ps {
			if x.IsSingleIP() {
				ss = append(ss, x.Addr().String())
			} else {
				ss = append(ss, x.String())
			}
		}
		return ss
	}
	exc, okEx := Prefixes(all.Diff(filled), f, 6)
	if okEx && len(exc) <= 2 {
		return []string{"any except " + strings.Join(str(exc), ",")}
	}
	in, okIn := Prefixes(filled, f, 2*most)
	var keep []netip.Prefix
	for _, x := range in {
		if p.Overlaps(u.CIDR(f, x)) {
			keep = append(keep, x)
		}
	}
	switch {
	case okEx && (!okIn || len(exc) < len(keep)):
		return []string{"any except " + strings.Join(str(exc), ",")}
	case okIn && len(keep) <= most:
		return str(keep)
	case !okEx && 2*p.CountValues(f) < all.CountValues(f):
		// Both lists are long and the set holds less than half the
		// addresses: its own prefixes tell it better than a few of the
		// many it leaves out ("192.168.22.0/24" with the don't-care
		// holes filled, not "any except 0.0.0.1,0.0.0.2/31,…").
		in, _ = Prefixes(filled, f, 256)
		keep = keep[:0]
		for _, x := range in {
			if p.Overlaps(u.CIDR(f, x)) {
				keep = append(keep, x)
			}
		}
		if len(keep) > 0 && len(keep) <= most {
			return str(keep)
		}
		if len(keep) > most {
			return append(str(keep[:most]), "…")
		}
		fallthrough
	case !okEx:
		return []string{"any except " + strings.Join(str(exc[:min(3, len(exc))]), ",") + ",… (more)"}
	}
	return append(str(keep[:most]), "…")
}
