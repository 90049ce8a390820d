package pset

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// wide is a field value of up to 128 bits.
type wide struct{ hi, lo uint64 }

func wideOf(v uint64) wide { return wide{lo: v} }

// bit returns bit k (0 = least significant).
func (w wide) bit(k int32) bool {
	if k < 64 {
		return w.lo>>uint(k)&1 != 0
	}
	return w.hi>>uint(k-64)&1 != 0
}

func (w *wide) setBit(k int32) {
	if k < 64 {
		w.lo |= 1 << uint(k)
	} else {
		w.hi |= 1 << uint(k-64)
	}
}

func (w wide) less(v wide) bool { return w.hi < v.hi || w.hi == v.hi && w.lo < v.lo }

func (w wide) and(v wide) wide { return wide{w.hi & v.hi, w.lo & v.lo} }

func (w wide) add1() wide {
	lo, c := bits.Add64(w.lo, 1, 0)
	return wide{w.hi + c, lo}
}

func maxOf(width int32) wide {
	switch {
	case width >= 128:
		return wide{^uint64(0), ^uint64(0)}
	case width > 64:
		return wide{1<<uint(width-64) - 1, ^uint64(0)}
	case width == 64:
		return wide{0, ^uint64(0)}
	}
	return wide{0, 1<<uint(width) - 1}
}

func addrWide(a netip.Addr) wide {
	if a.Is4() {
		b := a.As4()
		return wideOf(uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]))
	}
	b := a.As16()
	var w wide
	for i := 0; i < 8; i++ {
		w.hi = w.hi<<8 | uint64(b[i])
		w.lo = w.lo<<8 | uint64(b[8+i])
	}
	return w
}

func (u *Universe) wideAddr(w wide) netip.Addr {
	if u.fam == parser.IPv4 {
		v := uint32(w.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(w.hi >> uint(56-8*i))
		b[8+i] = byte(w.lo >> uint(56-8*i))
	}
	return netip.AddrFrom16(b)
}

// Set is a set of packets of one Universe. It is a small value (a universe
// pointer and a node); equal sets have equal nodes. The zero Set belongs to
// no universe and must not be used. Every Set holds only well-formed points
// (symbol codes in range, no NAT/status bits without conntrack entry, no
// bridge ports without bridge information).
type Set struct {
	u *Universe
	n uint32
}

// Universe returns the universe the set belongs to.
func (s Set) Universe() *Universe { return s.u }

// All is the set of every well-formed packet.
func (u *Universe) All() Set { return Set{u, u.valid} }

// Empty is the empty set.
func (u *Universe) Empty() Set { return Set{u, bddFalse} }

func (u *Universe) set(n uint32) Set { return Set{u, u.d.and(n, u.valid)} }

func (s Set) same(t Set) {
	if s.u != t.u || s.u == nil {
		panic("pset: sets of different universes (or a zero Set)")
	}
}

// Every Set is a subset of valid: the operations below take that shortcut
// when an operand is valid (the whole universe), where the BDD operation
// would walk the other operand to find it out.

// Union is s ∪ t.
func (s Set) Union(t Set) Set {
	s.same(t)
	if s.n == s.u.valid || t.n == s.u.valid {
		return s.u.All()
	}
	return Set{s.u, s.u.d.or(s.n, t.n)}
}

// Intersect is s ∩ t.
func (s Set) Intersect(t Set) Set {
	s.same(t)
	switch s.u.valid {
	case s.n:
		return t
	case t.n:
		return s
	}
	return Set{s.u, s.u.d.and(s.n, t.n)}
}

// Diff is s \ t.
func (s Set) Diff(t Set) Set {
	s.same(t)
	if t.n == s.u.valid {
		return s.u.Empty()
	}
	return Set{s.u, s.u.d.diff(s.n, t.n)}
}

// Not is the complement of s in the universe's well-formed packets.
func (s Set) Not() Set { return Set{s.u, s.u.d.diff(s.u.valid, s.n)} }

// IsEmpty reports whether s has no packet.
func (s Set) IsEmpty() bool { return s.n == bddFalse }

// IsAll reports whether s holds every well-formed packet.
func (s Set) IsAll() bool { return s.n == s.u.valid }

// Equal reports whether s and t hold the same packets (constant time).
func (s Set) Equal(t Set) bool { s.same(t); return s.n == t.n }

// Subset reports whether s ⊆ t.
func (s Set) Subset(t Set) bool {
	s.same(t)
	return t.n == s.u.valid || s.u.d.implies(s.n, t.n)
}

// Overlaps reports whether s ∩ t is not empty.
func (s Set) Overlaps(t Set) bool {
	s.same(t)
	switch s.u.valid {
	case s.n:
		return t.n != bddFalse
	case t.n:
		return s.n != bddFalse
	}
	return !s.u.d.disjoint(s.n, t.n)
}

// Nodes is the number of BDD nodes of s, a measure of its complexity.
func (s Set) Nodes() int { return s.u.d.size(s.n) }

// Forget returns the packets that agree with some packet of s on every field
// but f (existential quantification of f): f becomes unconstrained.
func (s Set) Forget(f Field) Set {
	s.u.check(f)
	fi := s.u.fields[f]
	return s.u.set(s.u.d.exists(s.n, fi.off, fi.off+fi.width, uint32(f)))
}

// ---- constructors ----

// bitsBDD is (x & mask) == (value & mask) over field f, not intersected
// with valid.
func (u *Universe) bitsBDD(f Field, mask, value wide) uint32 {
	return u.bitsOn(f, mask, value, bddTrue)
}

// bitsSet is the Set of bitsBDD: when f lies above every variable of
// valid, the path is built on valid directly (what intersecting with
// valid would give, without building the path twice).
func (u *Universe) bitsSet(f Field, mask, value wide) Set {
	if fi := u.fields[f]; fi.off+fi.width <= u.d.level(u.valid) {
		return Set{u, u.bitsOn(f, mask, value, u.valid)}
	}
	return u.set(u.bitsBDD(f, mask, value))
}

// bitsOn is bitsBDD with leaf in place of true.
func (u *Universe) bitsOn(f Field, mask, value wide, leaf uint32) uint32 {
	return u.bitsPath(f, mask, value, leaf, bddFalse)
}

// bitsOff is (f & mask) != (value & mask) ∧ leaf, where every variable of
// f lies above leaf's first: the complement of bitsOn's path, built as
// directly.
func (u *Universe) bitsOff(f Field, mask, value wide, leaf uint32) uint32 {
	return u.bitsPath(f, mask, value, bddFalse, leaf)
}

// bitsPath is the path that tests f's bits in mask against value: a
// packet that agrees on all of them goes on to match, one that differs
// in one goes to differ.
func (u *Universe) bitsPath(f Field, mask, value wide, match, differ uint32) uint32 {
	fi := u.fields[f]
	r := match
	for j := fi.width - 1; j >= 0; j-- {
		k := fi.width - 1 - j
		if !mask.bit(k) {
			continue
		}
		if value.bit(k) {
			r = u.d.mk(fi.off+j, differ, r)
		} else {
			r = u.d.mk(fi.off+j, r, differ)
		}
	}
	return r
}

func (u *Universe) eqBDD(f Field, v wide) uint32 {
	return u.bitsBDD(f, maxOf(u.fields[f].width), v)
}

// rangeBDD is lo <= x <= hi over field f (unsigned), not intersected with
// valid. hi is clamped to the field's maximum.
func (u *Universe) rangeBDD(f Field, lo, hi wide) uint32 {
	fi := u.fields[f]
	if m := maxOf(fi.width); m.less(hi) {
		hi = m
	}
	if hi.less(lo) {
		return bddFalse
	}
	if lo == hi {
		return u.bitsBDD(f, maxOf(fi.width), lo)
	}
	ge, le := bddTrue, bddTrue
	for j := fi.width - 1; j >= 0; j-- {
		k := fi.width - 1 - j
		lvl := fi.off + j
		if lo.bit(k) {
			ge = u.d.mk(lvl, bddFalse, ge)
		} else {
			ge = u.d.mk(lvl, ge, bddTrue)
		}
		if hi.bit(k) {
			le = u.d.mk(lvl, bddTrue, le)
		} else {
			le = u.d.mk(lvl, le, bddFalse)
		}
	}
	return u.d.and(ge, le)
}

// Range is the set of packets whose field f lies in [lo, hi] (hi is clamped
// to the field's maximum). For a symbol field the values are codes.
func (u *Universe) Range(f Field, lo, hi uint64) Set {
	u.check(f)
	return u.set(u.rangeBDD(f, wideOf(lo), wideOf(hi)))
}

// Eq is the set of packets whose field f is v (empty if v does not fit).
func (u *Universe) Eq(f Field, v uint64) Set {
	u.check(f)
	if m := maxOf(u.fields[f].width); m.less(wideOf(v)) {
		return u.Empty()
	}
	return u.bitsSet(f, maxOf(u.fields[f].width), wideOf(v))
}

// Bits is the set of packets with (field & mask) == (value & mask), for TCP
// flags, marks, TOS and any field of up to 64 bits.
func (u *Universe) Bits(f Field, mask, value uint64) Set {
	u.check(f)
	return u.bitsSet(f, wideOf(mask), wideOf(value))
}

// Prefix is the set of packets whose address field f satisfies
// (f & mask) == (addr & mask); mask need not be contiguous
// (10.0.0.0/255.0.255.0 is fine). addr and mask must be of the universe's
// family.
func (u *Universe) Prefix(f Field, addr, mask netip.Addr) Set {
	u.checkAddr(f, addr)
	u.checkAddr(f, mask)
	return u.bitsSet(f, addrWide(mask), addrWide(addr))
}

// CIDR is Prefix with a contiguous mask.
func (u *Universe) CIDR(f Field, p netip.Prefix) Set {
	u.checkAddr(f, p.Addr())
	w := u.fields[f].width
	var mask wide
	for k := w - 1; k >= w-int32(p.Bits()); k-- {
		mask.setBit(k)
	}
	return u.bitsSet(f, mask, addrWide(p.Addr()))
}

// AddrRange is the set of packets whose address field f lies in [lo, hi].
func (u *Universe) AddrRange(f Field, lo, hi netip.Addr) Set {
	u.checkAddr(f, lo)
	u.checkAddr(f, hi)
	return u.set(u.rangeBDD(f, addrWide(lo), addrWide(hi)))
}

// EqAddr is the set of packets whose address field f is a.
func (u *Universe) EqAddr(f Field, a netip.Addr) Set {
	u.checkAddr(f, a)
	return u.bitsSet(f, maxOf(u.fields[f].width), addrWide(a))
}

func (u *Universe) checkAddr(f Field, a netip.Addr) {
	u.check(f)
	if f.kind() != kindAddr {
		panic(fmt.Sprintf("pset: %v is not an address field", f))
	}
	if a.Is4() != (u.fam == parser.IPv4) {
		panic(fmt.Sprintf("pset: address %v is not of the universe's family %v", a, u.fam))
	}
}

// Symbols is the set of packets whose symbol field f has one of the codes.
func (u *Universe) Symbols(f Field, codes ...int) Set {
	u.check(f)
	r := bddFalse
	for _, c := range codes {
		if c >= 0 && c < u.fields[f].nsym {
			r = u.d.or(r, u.eqBDD(f, wideOf(uint64(c))))
		}
	}
	return u.set(r)
}

func (u *Universe) checkIface(f Field) {
	switch f {
	case InIface, OutIface, PhysIn, PhysOut:
		return
	}
	panic(fmt.Sprintf("pset: %v is not an interface field", f))
}

// IfaceMatch is the set of packets whose interface field f (InIface,
// OutIface, PhysIn, PhysOut) matches name as the kernel compares it: equal,
// or, with wildcard (a trailing '+' in the rule), having name as a prefix.
// Every symbol is tested by its name: an Other symbol stands for unnamed
// interfaces and matches a wildcard that is a prefix of its class; "" (no
// interface) matches only the wildcard "+".
func (u *Universe) IfaceMatch(f Field, name string, wildcard bool) Set {
	u.checkIface(f)
	r := bddFalse
	for i, s := range u.ifaces {
		var m bool
		if wildcard {
			// An Other symbol's class has s.Prefix as longest wildcard
			// prefix; every name in it has name as prefix iff its
			// representative does.
			m = strings.HasPrefix(s.Name, name)
		} else {
			m = !s.Other && s.Name == name
		}
		if m {
			r = u.d.or(r, u.eqBDD(f, wideOf(uint64(i))))
		}
	}
	return u.set(r)
}

// Iface is the set of packets whose interface field f is the symbol that
// stands for name (see IfaceSymbol): for a name the rules never mention,
// every unnamed interface of its class.
func (u *Universe) Iface(f Field, name string) Set {
	u.checkIface(f)
	i, ok := u.IfaceSymbol(name)
	if !ok {
		return u.Empty()
	}
	return u.Symbols(f, i)
}

// CTStates is the set of packets whose conntrack state bits, as
// xt_conntrack computes them, meet mask: the state (INVALID, NEW,
// ESTABLISHED, RELATED, UNTRACKED) and, when the packet has a conntrack
// entry, SNAT and DNAT from the NAT status.
func (u *Universe) CTStates(mask parser.CTState) Set {
	r := bddFalse
	for i, st := range ctStateSyms {
		if mask&st != 0 {
			r = u.d.or(r, u.eqBDD(CTState, wideOf(uint64(i))))
		}
	}
	if mask&parser.CTSNAT != 0 {
		r = u.d.or(r, u.bitsBDD(CTNat, wideOf(1), wideOf(1)))
	}
	if mask&parser.CTDNAT != 0 {
		r = u.d.or(r, u.bitsBDD(CTNat, wideOf(2), wideOf(2)))
	}
	return u.set(r)
}

// AddrTypes is the set of packets whose SrcType or DstType is one of mask.
func (u *Universe) AddrTypes(f Field, mask parser.AddrType) Set {
	if f != SrcType && f != DstType {
		panic("pset: AddrTypes needs SrcType or DstType")
	}
	r := bddFalse
	for i, t := range addrTypes {
		if mask&t != 0 {
			r = u.d.or(r, u.eqBDD(f, wideOf(uint64(i))))
		}
	}
	return u.set(r)
}

// PktTypes is the set of packets of the named packet types ("unicast" or
// "host", "broadcast", "multicast", "otherhost").
func (u *Universe) PktTypes(names ...string) Set {
	r := bddFalse
	for _, n := range names {
		if n == "host" {
			n = "unicast"
		}
		for i, s := range pktTypeSyms {
			if s == n {
				r = u.d.or(r, u.eqBDD(PktType, wideOf(uint64(i))))
			}
		}
	}
	return u.set(r)
}

// Ports is the set of packets whose port field f (or any 16-bit field) lies
// in the port set, honouring its negation.
func (u *Universe) Ports(f Field, ps *parser.PortSet) Set {
	return u.set(u.portsBDD(f, ps))
}

// portsBDD is Ports over the variables of f alone.
func (u *Universe) portsBDD(f Field, ps *parser.PortSet) uint32 {
	r := bddFalse
	for _, rg := range ps.Ranges {
		r = u.d.or(r, u.rangeBDD(f, wideOf(uint64(rg.Lo)), wideOf(uint64(rg.Hi))))
	}
	if ps.Neg {
		r = u.d.diff(bddTrue, r)
	}
	return r
}
