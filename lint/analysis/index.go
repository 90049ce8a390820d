package analysis

import (
	"sort"

	"github.com/dfw-project/dfw/sim/pset"
)

// minIndexed is the chain length from which the rules of a chain are
// indexed.
const minIndexed = 32

// ruleIndex finds, in a long chain, the rules that may match some packet
// of a set without testing every rule: it keeps, for one field, the range
// of values each rule's may set takes, and gives the rules whose range
// meets the set's. That is a superset of the rules whose may set overlaps
// the set (the caller still tests each), in rule order. The redundancy
// proofs, covering rules and may-match lists, which look for the rules
// before or after one rule that overlap its packets, would otherwise be
// quadratic on chains of thousands of disjoint rules (country blocks,
// kube-proxy services).
type ruleIndex struct {
	field      pset.Field
	skip, bits int // the bits of field indexed (an IPv6 address has two halves)
	full       uint64
	wide       []int // positions of the rules whose range is the whole field
	// byLo are the other rules' ranges sorted by lo; maxHi[k] is the
	// largest hi of byLo[:k+1].
	byLo  []span
	maxHi []uint64
	// next is a second index, on other bits: a candidate must meet the
	// set's range there too. at[p] is the range of the rule at position p.
	next *ruleIndex
	at   []span
}

type span struct {
	lo, hi uint64
	pos    int
}

// noIndex turns the index off (tests compare the results with and without).
var noIndex = false

// indexFields are the fields an index may be on, best first.
var indexFields = []pset.Field{pset.Src, pset.Dst, pset.Dport, pset.Sport, pset.Proto}

// index returns the index of ci, built on first use; nil for a short
// chain or one no field indexes well.
func (e *engine) index(ci *chainInfo) *ruleIndex {
	if ci.indexed {
		return ci.index
	}
	ci.indexed = true
	if len(ci.rules) < minIndexed || noIndex {
		return nil
	}
	// The field, or half of an IPv6 address, that tells the rules
	// apart best, among those most rules test.
	// A key's cost is the rules a query would test: the rules without a
	// range on it, plus the average group of rules whose range starts at
	// the same value. The index is kept when it at least halves a scan.
	var best, second *ruleIndex
	bestCost, secondCost := 0.0, 0.0
	for _, f := range indexFields {
		n := 0
		for _, ri := range ci.rules {
			if ri.fields.Has(f) {
				n++
			}
		}
		if n < len(ci.rules)/4 {
			continue
		}
		for skip := 0; skip < e.u.Width(f); skip += 64 {
			ix := e.buildIndex(ci, f, skip)
			distinct := 0
			for k, sp := range ix.byLo {
				if k == 0 || sp.lo != ix.byLo[k-1].lo {
					distinct++
				}
			}
			cost := float64(len(ix.wide)) + float64(len(ix.byLo))/float64(max(distinct, 1))
			switch {
			case best == nil || cost < bestCost:
				second, secondCost = best, bestCost
				best, bestCost = ix, cost
			case second == nil || cost < secondCost:
				second, secondCost = ix, cost
			}
		}
	}
	limit := float64(len(ci.rules)) / 2
	if best == nil || bestCost > limit {
		return nil
	}
	if second != nil && secondCost <= limit {
		best.next = second
	}
	ci.index = best
	return best
}

// buildIndex indexes the rules of ci on bits [skip, skip+64) of f.
func (e *engine) buildIndex(ci *chainInfo, f pset.Field, skip int) *ruleIndex {
	bits := min(e.u.Width(f)-skip, 64)
	ix := &ruleIndex{field: f, skip: skip, bits: bits, full: ^uint64(0) >> (64 - bits)}
	ix.at = make([]span, len(ci.rules))
	for p, ri := range ci.rules {
		ix.at[p] = span{0, ix.full, p}
		if !ri.fields.Has(f) {
			ix.wide = append(ix.wide, p)
			continue
		}
		lo, hi, ok := ri.may.BitBounds(f, skip, bits)
		switch {
		case !ok:
			// Matches nothing: never a candidate.
			ix.at[p] = span{1, 0, p}
		case lo == 0 && hi == ix.full:
			ix.wide = append(ix.wide, p)
		default:
			ix.byLo = append(ix.byLo, span{lo, hi, p})
			ix.at[p] = span{lo, hi, p}
		}
	}
	sort.Slice(ix.byLo, func(i, j int) bool { return ix.byLo[i].lo < ix.byLo[j].lo })
	ix.maxHi = make([]uint64, len(ix.byLo))
	var m uint64
	for k, sp := range ix.byLo {
		m = max(m, sp.hi)
		ix.maxHi[k] = m
	}
	return ix
}

// candidates returns the positions p in [from, to) of the rules of ci
// whose may set may overlap s, in order: every rule that does is among
// them.
func (e *engine) candidates(ci *chainInfo, s pset.Set, from, to int) []int {
	to = min(to, len(ci.rules))
	if from >= to || s.IsEmpty() {
		return nil
	}
	ix := e.index(ci)
	if ix == nil {
		out := make([]int, 0, to-from)
		for p := from; p < to; p++ {
			out = append(out, p)
		}
		return out
	}
	a, b, _ := s.BitBounds(ix.field, ix.skip, ix.bits)
	var out []int
	for _, p := range ix.wide {
		if p >= from && p < to {
			out = append(out, p)
		}
	}
	// The last range that starts at or before b, then back while some
	// range before may still reach a.
	k := sort.Search(len(ix.byLo), func(i int) bool { return ix.byLo[i].lo > b }) - 1
	for ; k >= 0 && ix.maxHi[k] >= a; k-- {
		if sp := ix.byLo[k]; sp.hi >= a && sp.pos >= from && sp.pos < to {
			out = append(out, sp.pos)
		}
	}
	if nx := ix.next; nx != nil && len(out) > 0 {
		a, b, _ := s.BitBounds(nx.field, nx.skip, nx.bits)
		kept := out[:0]
		for _, p := range out {
			if sp := nx.at[p]; sp.lo <= b && sp.hi >= a {
				kept = append(kept, p)
			}
		}
		out = kept
	}
	sort.Ints(out)
	return out
}
