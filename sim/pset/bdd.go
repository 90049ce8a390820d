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

// The nodes are stored in chunks of chunkSize, made as the store fills:
// a store never holds room it does not use, and growing it copies
// nothing. (One slice with room made at once for the expected nodes held,
// on the 80,000-rule kube-proxy ruleset, 4 million nodes' room for 2.7
// million nodes: 16 MB that the collector counted as live, and paced the
// heap on, though no page of it was touched.)
const (
	chunkBits = 16
	chunkSize = 1 << chunkBits
)

type bdd struct {
	nvars  int32
	chunks []*[chunkSize]bddNode
	count  uint32   // nodes made
	table  []uint32 // open addressing; 0 is empty (terminals are never stored)
	// tagMask is the bits of a table entry that hold hash bits (tagShift);
	// tagLimit the node count from which entries are whole indices.
	tagMask, tagLimit uint32
	cache             []cacheEntry
	// steps counts the operation steps that missed the cache.
	steps int
	// memo and memoMap are compose's scratch.
	memo    [][2]uint32
	memoMap map[uint32]uint32
}

// newBDD makes a store for nvars variables, its unique table sized for
// about hint nodes (up to maxInitialTableBits; past that the table grows
// as the store fills).
func newBDD(nvars, hint int) *bdd {
	d := &bdd{nvars: int32(nvars), tagMask: ^uint32(1<<tagShift - 1), tagLimit: 1 << tagShift}
	tbits, cbits := 13, 14
	for tbits < maxInitialTableBits && 1<<tbits < hint*4/3 {
		tbits++
	}
	for cbits < maxCacheBits && 1<<cbits < hint {
		cbits += 2
	}
	d.chunks = make([]*[chunkSize]bddNode, 1, hint/chunkSize+1)
	d.chunks[0] = new([chunkSize]bddNode)
	*d.node(bddFalse) = bddNode{level: d.nvars}
	*d.node(bddTrue) = bddNode{level: d.nvars}
	d.count = 2
	d.table = make([]uint32, 1<<tbits)
	d.cache = make([]cacheEntry, 1<<cbits)
	return d
}

// node is node n's entry.
func (d *bdd) node(n uint32) *bddNode {
	return &d.chunks[n>>chunkBits][n&(chunkSize-1)]
}

// numNodes is the number of nodes made, the terminals included.
func (d *bdd) numNodes() int { return int(d.count) }

func (d *bdd) level(n uint32) int32 { return d.node(n).level }

func hash3(a, b, c uint32) uint32 {
	h := uint64(a)*0x9e3779b97f4a7c15 ^ uint64(b)*0xc2b2ae3d27d4eb4f ^ uint64(c)*0x165667b19e3779f9
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h)
}

// maxInitialTableBits bounds the unique table newBDD makes: 2^22 entries
// (16 MiB) hold 3 million nodes.
const maxInitialTableBits = 22

// A unique table entry is a node's index in its low tagShift bits and,
// above them, the same bits of the node's hash: a probe reads the node
// only when they agree, which leaves one node read in 64 for the entries
// of other nodes, so that the table can be filled to 3/4 (half the
// memory of a table filled to 1/2, with the same speed). Past 2^tagShift
// nodes, entries are the whole index.
const tagShift = 26

// mk returns the node (level, lo, hi), reduced and hash-consed.
func (d *bdd) mk(level int32, lo, hi uint32) uint32 {
	if lo == hi {
		return lo
	}
	mask := uint32(len(d.table) - 1)
	h := hash3(uint32(level), lo, hi)
	tag := h & d.tagMask
	i := h & mask
	for {
		e := d.table[i]
		if e == 0 {
			break
		}
		if e&d.tagMask == tag {
			n := e &^ d.tagMask
			if nd := d.node(n); nd.level == level && nd.lo == lo && nd.hi == hi {
				return n
			}
		}
		i = (i + 1) & mask
	}
	n := d.count
	if n&(chunkSize-1) == 0 {
		d.chunks = append(d.chunks, new([chunkSize]bddNode))
	}
	*d.node(n) = bddNode{level, lo, hi}
	d.count++
	d.table[i] = n | tag
	size := len(d.table)
	if int(d.count)*4 > size*3 {
		size *= 2
	}
	if d.count >= d.tagLimit && d.tagMask != 0 {
		d.tagMask = 0 // the next node's index needs the tag's bits
		d.rehash(size)
	} else if size != len(d.table) {
		d.rehash(size)
	}
	return n
}

// rehash makes the unique table size entries long.
func (d *bdd) rehash(size int) {
	t := make([]uint32, size)
	mask := uint32(len(t) - 1)
	for n := uint32(2); n < d.count; n++ {
		nd := d.node(n)
		h := hash3(uint32(nd.level), nd.lo, nd.hi)
		i := h & mask
		for t[i] != 0 {
			i = (i + 1) & mask
		}
		t[i] = n | h&d.tagMask
	}
	d.table = t
	if len(d.cache) < 1<<maxCacheBits && len(d.cache) < int(d.count) {
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
	nd := d.node(n)
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
	nd := *d.node(a)
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
	nd := *d.node(a)
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
		walk(d.node(n).lo)
		walk(d.node(n).hi)
	}
	for _, r := range roots {
		walk(r)
	}
	return len(seen)
}
