package pset

// This file is the reduced ordered BDD kernel: a node store with a unique
// table (hash consing, so that equal functions are the same node) and a
// direct-mapped operation cache. Nodes are never freed: a Universe lives for
// one analysis of one ruleset (see docs/packet-sets.md for the measured
// growth).
//
// Invariants:
//   - node 0 is the constant false, node 1 the constant true; both have level
//     nvars (below every variable);
//   - for every inner node n: n.lo != n.hi, and level(n) < level(n.lo),
//     level(n) < level(n.hi) (ordered and reduced);
//   - no two inner nodes have the same (level, lo, hi) (unique table), so two
//     sets are equal iff their roots are equal.

const (
	bddFalse uint32 = 0
	bddTrue  uint32 = 1
)

type bddNode struct {
	level  int32
	lo, hi uint32
}

type cacheEntry struct {
	op, a, b, r uint32
}

const (
	opAnd uint32 = iota + 1
	opOr
	opDiff
	opAndEmpty
	opImplies
	opExists     // opExists + field<<8
	opExistsMask // b is the mask id
)

// maxCacheBits bounds the operation cache (16 bytes an entry): 1 MiB. Few
// operations hit the cache on large rulesets (7 % of lookups on the 80k-rule
// kube-proxy ruleset), and a miss in a cache larger than the processor's
// own costs a memory access: with 2^22 entries (64 MiB) the analyses of that
// ruleset ran about 15 % slower, with 2^16 the simulated last-level misses
// of the corpus's slowest files drop by 10-20 % for 2-7 % more instructions.
const maxCacheBits = 16

type bdd struct {
	nvars int32
	nodes []bddNode
	table []uint32 // open addressing; 0 is empty (terminals are never stored)
	cache []cacheEntry
	// steps counts the operation steps that missed the cache.
	steps int
	// memo and memoMap are compose's scratch.
	memo    [][2]uint32
	memoMap map[uint32]uint32
}

// newBDD makes a store for nvars variables, with room for about hint
// nodes.
func newBDD(nvars, hint int) *bdd {
	d := &bdd{nvars: int32(nvars)}
	tbits, cbits := 13, 14
	for tbits < 31 && 1<<tbits < 2*hint {
		tbits++
	}
	for cbits < maxCacheBits && 1<<cbits < hint {
		cbits += 2
	}
	d.nodes = make([]bddNode, 2, max(1<<12, hint))
	d.nodes[0] = bddNode{level: d.nvars}
	d.nodes[1] = bddNode{level: d.nvars}
	d.table = make([]uint32, 1<<tbits)
	d.cache = make([]cacheEntry, 1<<cbits)
	return d
}

func (d *bdd) level(n uint32) int32 { return d.nodes[n].level }

func hash3(a, b, c uint32) uint32 {
	h := uint64(a)*0x9e3779b97f4a7c15 ^ uint64(b)*0xc2b2ae3d27d4eb4f ^ uint64(c)*0x165667b19e3779f9
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h)
}

// mk returns the node (level, lo, hi), reduced and hash-consed.
func (d *bdd) mk(level int32, lo, hi uint32) uint32 {
	if lo == hi {
		return lo
	}
	mask := uint32(len(d.table) - 1)
	i := hash3(uint32(level), lo, hi) & mask
	for {
		n := d.table[i]
		if n == 0 {
			break
		}
		if nd := &d.nodes[n]; nd.level == level && nd.lo == lo && nd.hi == hi {
			return n
		}
		i = (i + 1) & mask
	}
	n := uint32(len(d.nodes))
	d.nodes = append(d.nodes, bddNode{level, lo, hi})
	d.table[i] = n
	if len(d.nodes)*2 > len(d.table) {
		d.grow()
	}
	return n
}

func (d *bdd) grow() {
	t := make([]uint32, len(d.table)*2)
	mask := uint32(len(t) - 1)
	for n := 2; n < len(d.nodes); n++ {
		nd := &d.nodes[n]
		i := hash3(uint32(nd.level), nd.lo, nd.hi) & mask
		for t[i] != 0 {
			i = (i + 1) & mask
		}
		t[i] = uint32(n)
	}
	d.table = t
	if len(d.cache) < 1<<maxCacheBits && len(d.cache) < len(d.nodes) {
		// Entries stay valid (nodes are immutable and never freed);
		// a bigger cache simply starts cold.
		d.cache = make([]cacheEntry, len(d.cache)*4)
	}
}

func (d *bdd) lookup(op, a, b uint32) (uint32, bool) {
	e := &d.cache[hash3(op, a, b)&uint32(len(d.cache)-1)]
	if e.op == op && e.a == a && e.b == b {
		return e.r, true
	}
	return 0, false
}

func (d *bdd) store(op, a, b, r uint32) {
	d.steps++
	d.cache[hash3(op, a, b)&uint32(len(d.cache)-1)] = cacheEntry{op, a, b, r}
}

// cof returns the two cofactors of n with respect to the variable at level.
func (d *bdd) cof(n uint32, level int32) (uint32, uint32) {
	nd := &d.nodes[n]
	if nd.level != level {
		return n, n
	}
	return nd.lo, nd.hi
}

func (d *bdd) and(a, b uint32) uint32 {
	switch {
	case a == b || b == bddTrue:
		return a
	case a == bddFalse || b == bddFalse:
		return bddFalse
	case a == bddTrue:
		return b
	}
	if a > b {
		a, b = b, a
	}
	if r, ok := d.lookup(opAnd, a, b); ok {
		return r
	}
	l := min(d.level(a), d.level(b))
	a0, a1 := d.cof(a, l)
	b0, b1 := d.cof(b, l)
	lo := d.and(a0, b0)
	hi := d.and(a1, b1)
	r := d.mk(l, lo, hi)
	d.store(opAnd, a, b, r)
	return r
}

func (d *bdd) or(a, b uint32) uint32 {
	switch {
	case a == b || b == bddFalse:
		return a
	case a == bddTrue || b == bddTrue:
		return bddTrue
	case a == bddFalse:
		return b
	}
	if a > b {
		a, b = b, a
	}
	if r, ok := d.lookup(opOr, a, b); ok {
		return r
	}
	l := min(d.level(a), d.level(b))
	a0, a1 := d.cof(a, l)
	b0, b1 := d.cof(b, l)
	lo := d.or(a0, b0)
	hi := d.or(a1, b1)
	r := d.mk(l, lo, hi)
	d.store(opOr, a, b, r)
	return r
}

// disjoint reports whether a ∧ b is false, without building it.
func (d *bdd) disjoint(a, b uint32) bool {
	switch {
	case a == bddFalse || b == bddFalse:
		return true
	case a == bddTrue || b == bddTrue || a == b:
		return false
	}
	if a > b {
		a, b = b, a
	}
	if r, ok := d.lookup(opAndEmpty, a, b); ok {
		return r == 1
	}
	l := min(d.level(a), d.level(b))
	a0, a1 := d.cof(a, l)
	b0, b1 := d.cof(b, l)
	r := d.disjoint(a0, b0) && d.disjoint(a1, b1)
	v := uint32(0)
	if r {
		v = 1
	}
	d.store(opAndEmpty, a, b, v)
	return r
}

// implies reports whether a ∧ ¬b is false, without building it.
func (d *bdd) implies(a, b uint32) bool {
	switch {
	case a == bddFalse || b == bddTrue || a == b:
		return true
	case b == bddFalse:
		return false // a is not false here
	case a == bddTrue:
		return false // b is neither constant
	}
	if r, ok := d.lookup(opImplies, a, b); ok {
		return r == 1
	}
	l := min(d.level(a), d.level(b))
	a0, a1 := d.cof(a, l)
	b0, b1 := d.cof(b, l)
	r := d.implies(a0, b0) && d.implies(a1, b1)
	v := uint32(0)
	if r {
		v = 1
	}
	d.store(opImplies, a, b, v)
	return r
}

// diff is a ∧ ¬b.
func (d *bdd) diff(a, b uint32) uint32 {
	switch {
	case a == bddFalse || b == bddTrue || a == b:
		return bddFalse
	case b == bddFalse:
		return a
	}
	if r, ok := d.lookup(opDiff, a, b); ok {
		return r
	}
	l := min(d.level(a), d.level(b))
	a0, a1 := d.cof(a, l)
	b0, b1 := d.cof(b, l)
	lo := d.diff(a0, b0)
	hi := d.diff(a1, b1)
	r := d.mk(l, lo, hi)
	d.store(opDiff, a, b, r)
	return r
}

// exists quantifies away the variables of levels [from, to); key tells the
// cache which range it is.
func (d *bdd) exists(a uint32, from, to int32, key uint32) uint32 {
	l := d.level(a)
	if l >= to {
		return a
	}
	op := opExists + key<<8
	if r, ok := d.lookup(op, a, 0); ok {
		return r
	}
	nd := d.nodes[a]
	lo := d.exists(nd.lo, from, to, key)
	hi := d.exists(nd.hi, from, to, key)
	var r uint32
	if l >= from {
		r = d.or(lo, hi)
	} else {
		r = d.mk(l, lo, hi)
	}
	d.store(op, a, 0, r)
	return r
}

// compose returns a with its true leaf replaced by leaf, where every
// variable of a lies above leaf's first: a ∧ leaf, built without
// operation-cache traffic (the nodes of a are few and visited once each;
// the memo is for the nodes a path of a shares with another: a short list
// searched in order, then a map for the rare large a, such as a multiport
// match of many ranges).
func (d *bdd) compose(a, leaf uint32) uint32 {
	d.memo = d.memo[:0]
	if d.memoMap != nil {
		clear(d.memoMap)
	}
	return d.composeRec(a, leaf)
}

// maxListMemo is the longest memo compose searches as a list.
const maxListMemo = 32

func (d *bdd) composeRec(a, leaf uint32) uint32 {
	switch a {
	case bddFalse:
		return bddFalse
	case bddTrue:
		return leaf
	}
	if len(d.memo) <= maxListMemo {
		for _, m := range d.memo {
			if m[0] == a {
				return m[1]
			}
		}
	} else if r, ok := d.memoMap[a]; ok {
		return r
	}
	nd := d.nodes[a]
	r := d.mk(nd.level, d.composeRec(nd.lo, leaf), d.composeRec(nd.hi, leaf))
	d.memo = append(d.memo, [2]uint32{a, r})
	switch {
	case len(d.memo) == maxListMemo+1:
		if d.memoMap == nil {
			d.memoMap = map[uint32]uint32{}
		}
		for _, m := range d.memo {
			d.memoMap[m[0]] = m[1]
		}
	case len(d.memo) > maxListMemo+1:
		d.memoMap[a] = r
	}
	return r
}

// size counts the inner nodes reachable from the roots.
func (d *bdd) size(roots ...uint32) int {
	seen := map[uint32]bool{}
	var walk func(uint32)
	walk = func(n uint32) {
		if n <= bddTrue || seen[n] {
			return
		}
		seen[n] = true
		walk(d.nodes[n].lo)
		walk(d.nodes[n].hi)
	}
	for _, r := range roots {
		walk(r)
	}
	return len(seen)
}
