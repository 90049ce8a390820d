package pset

import (
	"math"
	"math/bits"
)

// This file holds the operations the analyses use to keep their sets
// small: which fields a set constrains (Fields), forgetting many fields in
// one pass (ForgetFields), and the range a field takes in a set (Bounds).

// FieldSet is a set of fields, one bit per Field.
type FieldSet uint64

// AllFields holds every field.
const AllFields FieldSet = 1<<NumFields - 1

// Has reports whether f is in fs.
func (fs FieldSet) Has(f Field) bool { return fs&(1<<f) != 0 }

// With returns fs with f added.
func (fs FieldSet) With(f Field) FieldSet { return fs | 1<<f }

// FieldSetOf returns the set of the given fields.
func FieldSetOf(fields ...Field) FieldSet {
	var fs FieldSet
	for _, f := range fields {
		fs |= 1 << f
	}
	return fs
}

// Fields returns the fields of fs in Field order.
func (fs FieldSet) Fields() []Field {
	var out []Field
	for v := uint64(fs & AllFields); v != 0; v &= v - 1 {
		out = append(out, Field(bits.TrailingZeros64(v)))
	}
	return out
}

// Coupled returns fs with, for every field of fs that the well-formedness
// constraints tie to others (conntrack state with its NAT and status bits,
// bridge information with the bridge ports), the fields it is tied to. A
// projection that keeps or forgets such groups whole commutes with Forget.
func (fs FieldSet) Coupled() FieldSet {
	ct := FieldSetOf(CTState, CTNat, CTStatus)
	br := FieldSetOf(Bridged, PhysIn, PhysOut)
	if fs&ct != 0 {
		fs |= ct
	}
	if fs&br != 0 {
		fs |= br
	}
	return fs
}

// ForgetFields returns the well-formed packets that agree with some packet
// of s on every field not in fs: the fields of fs become unconstrained,
// in one pass. It holds Forget of each field of fs in turn, and may hold
// more when fs has coupled fields (see FieldSet.Coupled): Forget of one
// field keeps only well-formed packets at each step, so that forgetting
// Bridged, then PhysIn and PhysOut, never turns a bridged packet into an
// unbridged one. For whole groups, it is Forget of each field repeated
// until nothing changes.
func (s Set) ForgetFields(fs FieldSet) Set {
	fs &= AllFields
	if fs == 0 || s.n <= bddTrue {
		return s
	}
	if fs == AllFields {
		return s.u.All() // s is not empty
	}
	u := s.u
	m := u.mask(fs)
	n := u.d.existsMask(s.n, m)
	if fs&u.validFields == 0 {
		// valid tests none of fs: forgetting them keeps s within valid.
		return Set{u, n}
	}
	return u.set(n)
}

// levelMask is a set of levels, registered in the universe so that the
// operation cache can name it.
type levelMask struct {
	id   uint32
	in   []bool // by level
	last int32  // deepest level in the mask
}

func (u *Universe) mask(fs FieldSet) *levelMask {
	if m, ok := u.masks[fs]; ok {
		return m
	}
	if u.masks == nil {
		u.masks = map[FieldSet]*levelMask{}
	}
	m := &levelMask{id: uint32(len(u.masks)) + 1, in: make([]bool, u.d.nvars), last: -1}
	for _, f := range fs.Fields() {
		fi := u.fields[f]
		for l := fi.off; l < fi.off+fi.width; l++ {
			m.in[l] = true
			m.last = max(m.last, l)
		}
	}
	u.masks[fs] = m
	return m
}

// existsMask quantifies away the variables of the levels in m.
func (d *bdd) existsMask(a uint32, m *levelMask) uint32 {
	l := d.level(a)
	if l > m.last {
		return a
	}
	if r, ok := d.lookup(opExistsMask, a, m.id); ok {
		return r
	}
	nd := *d.node(a)
	lo := d.existsMask(nd.lo, m)
	hi := d.existsMask(nd.hi, m)
	var r uint32
	if m.in[l] {
		r = d.or(lo, hi)
	} else {
		r = d.mk(l, lo, hi)
	}
	d.store(opExistsMask, a, m.id, r)
	return r
}

// Fields returns the fields s constrains beyond well-formedness: the
// fields f for which s.Forget(f) differs from s. (The empty set and the
// full set constrain none.)
func (s Set) Fields() FieldSet {
	u := s.u
	if s.n <= bddTrue || s.n == u.valid {
		return 0
	}
	vn := u.validNodes()
	var levels FieldSet
	seen := u.visit()
	var walk func(n uint32)
	walk = func(n uint32) {
		if n <= bddTrue || seen(n) || vn[n] {
			return
		}
		nd := *u.d.node(n)
		levels = levels.With(u.lvlField[nd.level])
		walk(nd.lo)
		walk(nd.hi)
	}
	walk(s.n)
	// A node that is not one of valid's may still sit at a level of a
	// field that only well-formedness constrains (below a field s
	// tests): check those fields exactly.
	for _, f := range (levels & u.validFields).Fields() {
		if s.Forget(f).Equal(s) {
			levels &^= 1 << f
		}
	}
	return levels
}

// validNodes returns the nodes of the well-formedness set.
func (u *Universe) validNodes() map[uint32]bool {
	if u.vnodes != nil {
		return u.vnodes
	}
	u.vnodes = map[uint32]bool{}
	var walk func(n uint32)
	walk = func(n uint32) {
		if n <= bddTrue || u.vnodes[n] {
			return
		}
		u.vnodes[n] = true
		u.validFields = u.validFields.With(u.lvlField[u.d.node(n).level])
		walk(u.d.node(n).lo)
		walk(u.d.node(n).hi)
	}
	walk(u.valid)
	return u.vnodes
}

// Bounds returns the smallest and the largest value field f takes in s
// (for a symbol field, codes); ok is false when s is empty. For a field
// wider than 64 bits (IPv6 addresses) it gives the bounds of its upper 64
// bits.
func (s Set) Bounds(f Field) (lo, hi uint64, ok bool) {
	return s.BitBounds(f, 0, 64)
}

// BitBounds returns the smallest and the largest value that bits [skip,
// skip+n) of field f, counted from its most significant bit, take in s;
// n is cut to 64 and to the field's width. ok is false when s is empty or
// the window is.
func (s Set) BitBounds(f Field, skip, n int) (lo, hi uint64, ok bool) {
	u := s.u
	u.check(f)
	fi := u.fields[f]
	n = min(n, 64, int(fi.width)-skip)
	if s.n == bddFalse || skip < 0 || n <= 0 {
		return 0, 0, false
	}
	top := fi.off + int32(skip)
	end := top + int32(n)
	// The nodes where paths from the root cross into the window (or
	// below it, if they skip it).
	var cut []uint32
	seen := u.visit()
	var walk func(n uint32)
	walk = func(n uint32) {
		if seen(n) {
			return
		}
		if n == bddFalse {
			return
		}
		if l := u.d.level(n); l >= top {
			cut = append(cut, n)
			return
		}
		walk(u.d.node(n).lo)
		walk(u.d.node(n).hi)
	}
	walk(s.n)
	lo, hi = ^uint64(0)>>(64-uint(n)), 0
	for _, c := range cut {
		lo = min(lo, u.d.extreme(c, top, end, false))
		hi = max(hi, u.d.extreme(c, top, end, true))
	}
	return lo, hi, true
}

// extreme returns the smallest (or largest) value of the variables of
// levels [top, end), most significant first, on some path from n (not
// false) to true.
func (d *bdd) extreme(n uint32, top, end int32, largest bool) uint64 {
	var v uint64
	for l := top; l < end; l++ {
		v <<= 1
		nd := *d.node(n)
		if nd.level != l {
			// l is free at n.
			if largest {
				v |= 1
			}
			continue
		}
		first, second, bit := nd.lo, nd.hi, uint64(0)
		if largest {
			first, second, bit = nd.hi, nd.lo, 1
		}
		if first != bddFalse {
			n = first
			v |= bit
		} else {
			n = second
			v |= 1 - bit
		}
	}
	return v
}

// CountValues returns the number of values field f takes in s (for a
// symbol field, codes): the size of the projection of s onto f. It is
// exact (a float64 holds 2^128 closely enough for IPv6 addresses).
func (s Set) CountValues(f Field) float64 {
	u := s.u
	u.check(f)
	if s.n == bddFalse {
		return 0
	}
	fi := u.fields[f]
	m := u.mask(AllFields &^ (1 << f))
	p := u.d.existsMask(s.n, m) // a function of f's bits alone
	memo := map[uint32]float64{}
	// count(n) is the number of assignments of the levels from level(n)
	// to the end of the field that lead from n to true.
	end := fi.off + fi.width
	var count func(n uint32) float64
	count = func(n uint32) float64 {
		switch n {
		case bddFalse:
			return 0
		case bddTrue:
			return 1
		}
		if c, ok := memo[n]; ok {
			return c
		}
		nd := *u.d.node(n)
		side := func(c uint32) float64 {
			l := min(u.d.level(c), end)
			return count(c) * math.Ldexp(1, int(l-nd.level-1))
		}
		c := side(nd.lo) + side(nd.hi)
		memo[n] = c
		return c
	}
	l := min(u.d.level(p), end)
	return count(p) * math.Ldexp(1, int(l-fi.off))
}

// visit starts a walk over nodes: the function it returns reports whether
// a node was seen before in this walk, and marks it. One walk at a time.
// The marks are one bit a node; the nodes marked are listed, and cleared
// at the start of the next walk, so that a walk costs what it visits. (A
// stamp a node, which needs no list, took 4 bytes a node and was made
// anew each time the store outgrew it: 32 MB, and as much garbage, on the
// 80,000-rule kube-proxy ruleset.)
func (u *Universe) visit() func(n uint32) bool {
	for _, n := range u.marked {
		u.marks[n>>6] = 0
	}
	u.marked = u.marked[:0]
	if need := (u.d.numNodes() + 63) >> 6; len(u.marks) < need {
		u.marks = make([]uint64, need+need/2)
	}
	return func(n uint32) bool {
		w, b := n>>6, uint64(1)<<(n&63)
		if u.marks[w]&b != 0 {
			return true
		}
		u.marks[w] |= b
		u.marked = append(u.marked, n)
		return false
	}
}
