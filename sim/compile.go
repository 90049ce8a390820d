package sim

import (
	"slices"
	"sort"

	"github.com/dfw-project/dfw/parser"
)

// The fast path (docs/fast-path.md).
//
// Compile indexes the long chains of the ruleset: for each, on one field
// of the packet (destination or source IPv4 address, destination or source
// port), the rules are split by the values they can match. A traversal then
// asks the index, on entering a chain, for the rules that may match this
// packet — in chain order — and skips the others. Every skipped rule has a
// match (a positive -d/-s with a contiguous mask, or a positive port list)
// that the packet fails, so it would not have matched, would not have been
// counted, and would not have noted a may-match: the traversal is the
// reference one with fewer evaluations. Only the step guard (maxSteps)
// counts evaluated rules, so it counts fewer.
//
// The field is chosen per chain: the one with the fewest candidates per
// value on average. A value space is cut into elementary intervals at the
// bounds of every rule's constraint; each interval has its list, found by
// binary search. (A hash-map form for chains whose constraints are all
// single values exists too, measured slower, and is off: forceIntervals.)

// Index dimensions.
type dim uint8

const (
	dimDst dim = iota
	dimSrc
	dimDport
	dimSport
	numDims
)

func (d dim) String() string {
	return [...]string{"dst", "src", "dport", "sport"}[d]
}

// MinIndexedRules is the shortest chain Compile indexes.
var MinIndexedRules = 8

// forceIntervals makes Compile build the sorted-array form even where the
// hash form applies. It is on: on nat KUBE-SERVICES of 10,000 services the
// flattened sorted array answered in about half the time of the hash map
// (BenchmarkIndexLookup, docs/fast-path.md). The tests run both forms.
var forceIntervals = true

// indexAll indexes every chain that has an indexable match, even where
// the index saves nothing (for the differential tests).
var indexAll = false

type fastIndex struct {
	chains map[*parser.Chain]*cchain
	// base is the built-in chain of each table and hook (tableIndex,
	// hookIndex), nil when the table or the chain does not exist; has
	// tells which tables exist.
	base [numTables][numHooks]*cchain
	has  [numTables]bool
	// order is hookOrder without the steps of the tables the ruleset
	// does not have (conntrack and nat steps are kept: natHook applies
	// a connection's binding even without a nat table).
	order [numHooks][]hookStep
	// host is the host's addresses and routes (hostindex.go), nil when
	// the Host methods answer.
	host *hostIndex
}

// cchain is a chain resolved for traversal: its index (nil: scan every
// rule) and, for each rule that jumps or goes to a chain, that chain.
type cchain struct {
	c     *parser.Chain
	ix    *chainIndex
	jumps []*cchain
}

// The tables and hooks, numbered for fastIndex.base.
const (
	tRaw = iota
	tMangle
	tNat
	tFilter
	tSecurity
	numTables
)

const (
	hPrerouting = iota
	hInput
	hForward
	hOutput
	hPostrouting
	numHooks
)

func tableIndex(name string) int {
	switch name {
	case "raw":
		return tRaw
	case "mangle":
		return tMangle
	case "nat":
		return tNat
	case "filter":
		return tFilter
	case "security":
		return tSecurity
	}
	return -1
}

func hookIndex(name string) int {
	switch name {
	case "PREROUTING":
		return hPrerouting
	case "INPUT":
		return hInput
	case "FORWARD":
		return hForward
	case "OUTPUT":
		return hOutput
	case "POSTROUTING":
		return hPostrouting
	}
	return -1
}

// baseChain returns the resolved built-in chain of a table (tableIndex)
// on a hook (hookIndex), nil when there is none; ok is false when the
// table or hook has no slot (then the caller looks it up by name).
func (f *fastIndex) baseChain(ti, hi int) (c *cchain, ok bool) {
	if ti < 0 || hi < 0 {
		return nil, false
	}
	return f.base[ti][hi], true
}

// chainIndex gives a chain's candidate rules (0-based indexes, ascending)
// for a packet.
type chainIndex struct {
	dim dim
	// Interval form: the list of value v is lists[k] for the largest k
	// with starts[k] <= v (starts[0] == 0).
	starts []uint32
	lists  [][]int32
	// Hash form: exact[v], else other.
	exact map[uint32][]int32
	other []int32
	// nokey is the list for a packet that has no value in the dimension
	// (not IPv4, for an address).
	nokey []int32
}

// IndexStats describes a compiled ruleset (for tests and docs).
type IndexStats struct {
	Chains, Indexed int
	// ByDim counts indexed chains by field: dst, src, dport, sport.
	ByDim map[string]int
	// Hash is how many indexed chains use the hash form.
	Hash int
}

// Compile builds the fast-path index of the simulator's ruleset, and a
// snapshot of the host's IPv4 addresses and routes. Later runs use it,
// except with Explain (which lists every rule that did not match; the
// host snapshot is used then too). Compile again after changing the
// ruleset, or the host's interfaces, addresses or routes.
func (s *Sim) Compile() IndexStats {
	st := IndexStats{ByDim: map[string]int{}}
	fi := &fastIndex{chains: map[*parser.Chain]*cchain{}}
	for _, t := range s.Ruleset.Tables {
		for _, c := range t.Order {
			st.Chains++
			cc := &cchain{c: c}
			fi.chains[c] = cc
			if len(c.Rules) < MinIndexedRules {
				continue
			}
			if ix := buildChainIndex(c); ix != nil {
				cc.ix = ix
				st.Indexed++
				st.ByDim[ix.dim.String()]++
				if ix.exact != nil {
					st.Hash++
				}
			}
		}
	}
	for name, t := range s.Ruleset.Tables {
		for _, c := range t.Order {
			cc := fi.chains[c]
			cc.jumps = make([]*cchain, len(c.Rules))
			for i, r := range c.Rules {
				if tg := r.Target; tg != nil && tg.Kind == parser.TargetChain {
					if next := t.Chains[tg.Name]; next != nil {
						cc.jumps[i] = fi.chains[next]
					}
				}
			}
		}
		ti := tableIndex(name)
		if ti < 0 {
			continue
		}
		fi.has[ti] = true
		for _, h := range [...]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
			if c := t.Chains[h]; c != nil {
				fi.base[ti][hookIndex(h)] = fi.chains[c]
			}
		}
	}
	for hi, steps := range hookOrder {
		for _, st := range steps {
			if st.ti < 0 || st.nat || fi.has[st.ti] {
				fi.order[hi] = append(fi.order[hi], st)
			}
		}
	}
	fi.host = buildHostIndex(s.Host)
	s.fast = fi
	return st
}

// Decompile drops the index: runs use the reference linear scan.
func (s *Sim) Decompile() { s.fast = nil }

// cands returns the candidate rules of chain cc for the current packet, or
// nil to scan every rule.
func (r *run) cands(cc *cchain) []int32 {
	if cc == nil || cc.ix == nil || r.s.Explain {
		return nil
	}
	return cc.ix.lookup(r.e.p)
}

func (ix *chainIndex) lookup(p *Packet) []int32 {
	var v uint32
	switch ix.dim {
	case dimDst, dimSrc:
		a := p.Dst
		if ix.dim == dimSrc {
			a = p.Src
		}
		if !a.Is4() {
			return ix.nokey
		}
		b := a.As4()
		v = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	case dimDport:
		v = uint32(p.Dport)
	case dimSport:
		v = uint32(p.Sport)
	}
	if ix.exact != nil {
		if l, ok := ix.exact[v]; ok {
			return l
		}
		return ix.other
	}
	// Largest k with starts[k] <= v.
	lo, hi := 0, len(ix.starts)
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if ix.starts[m] <= v {
			lo = m
		} else {
			hi = m
		}
	}
	return ix.lists[lo]
}

// span is an inclusive interval of values.
type span struct{ lo, hi uint64 }

// constraint returns the values of dimension d a rule can match: ok false
// means any value (no indexable constraint); an empty list means none.
func constraint(r *parser.Rule, d dim) (spans []span, ok bool) {
	switch d {
	case dimDst, dimSrc:
		m := r.Dst
		if d == dimSrc {
			m = r.Src
		}
		if m == nil || m.Neg || !m.Addr.Is4() || !m.Mask.Is4() {
			return nil, false
		}
		n := parser.MaskLen(m.Mask)
		if n < 0 {
			return nil, false
		}
		a := m.Addr.As4()
		k := m.Mask.As4()
		addr := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		mask := uint32(k[0])<<24 | uint32(k[1])<<16 | uint32(k[2])<<8 | uint32(k[3])
		if addr&mask != addr {
			return []span{}, true // MatchesAddr compares with the unmasked address: never
		}
		return []span{{uint64(addr), uint64(addr | ^mask)}}, true
	case dimDport, dimSport:
		for _, mt := range r.Matches {
			var ps *parser.PortSet
			switch s := mt.Spec.(type) {
			case *parser.TCPMatch:
				ps = s.Dport
				if d == dimSport {
					ps = s.Sport
				}
			case *parser.UDPMatch:
				ps = s.Dport
				if d == dimSport {
					ps = s.Sport
				}
			case *parser.SCTPMatch:
				ps = s.Dport
				if d == dimSport {
					ps = s.Sport
				}
			case *parser.MultiportMatch:
				ps = s.Dst
				if d == dimSport {
					ps = s.Src
				}
			}
			if ps == nil || ps.Neg {
				continue
			}
			out := []span{}
			for _, rg := range ps.Ranges {
				if rg.Lo <= rg.Hi {
					out = append(out, span{uint64(rg.Lo), uint64(min(rg.Hi, 65535))})
				}
			}
			return out, true
		}
	}
	return nil, false
}

// maxEntries bounds the lists of one chain's index (wildcard rules are in
// every list, wide constraints in many).
func maxEntries(n int) int { return 16*n + 4096 }

// buildChainIndex indexes c on the dimension with the fewest candidates
// per list, or returns nil when no dimension beats half the chain.
func buildChainIndex(c *parser.Chain) *chainIndex {
	var best *chainIndex
	bestCost := float64(len(c.Rules)) / 2
	if indexAll {
		bestCost = float64(len(c.Rules)) + 1
	}
	for d := dim(0); d < numDims; d++ {
		ix, cost := buildDim(c, d)
		if ix != nil && cost < bestCost {
			best, bestCost = ix, cost
		}
	}
	return best
}

func buildDim(c *parser.Chain, d dim) (*chainIndex, float64) {
	n := len(c.Rules)
	cons := make([][]span, n)
	wild := make([]bool, n)
	constrained := 0
	points := true
	var bounds []uint64
	for j, r := range c.Rules {
		sp, ok := constraint(r, d)
		if !ok {
			wild[j] = true
			continue
		}
		constrained++
		cons[j] = sp
		for _, s := range sp {
			bounds = append(bounds, s.lo, s.hi+1)
			if s.lo != s.hi {
				points = false
			}
		}
	}
	if constrained == 0 {
		return nil, 0
	}
	ix := &chainIndex{dim: d, nokey: []int32{}, other: []int32{}}
	for j := range c.Rules {
		if wild[j] {
			ix.nokey = append(ix.nokey, int32(j))
		}
	}
	if points && !forceIntervals {
		ix.exact = map[uint32][]int32{}
		entries := 0
		for j := range c.Rules {
			if wild[j] {
				ix.other = append(ix.other, int32(j))
				for v, l := range ix.exact {
					ix.exact[v] = append(l, int32(j))
				}
				entries += len(ix.exact) + 1
			} else {
				for _, s := range cons[j] {
					v := uint32(s.lo)
					l, seen := ix.exact[v]
					if !seen {
						l = slices.Clone(ix.other)
						entries += len(l)
					}
					if len(l) == 0 || l[len(l)-1] != int32(j) {
						l = append(l, int32(j))
						entries++
					}
					ix.exact[v] = l
				}
			}
			if entries > maxEntries(n) {
				return nil, 0
			}
		}
		// Cost: the mean list length, a value no rule names counting as
		// one more list.
		total := len(ix.other)
		for _, l := range ix.exact {
			total += len(l)
		}
		return ix, float64(total) / float64(len(ix.exact)+1)
	}
	bounds = append(bounds, 0)
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	for len(bounds) > 0 && bounds[len(bounds)-1] > 1<<32-1 {
		bounds = bounds[:len(bounds)-1]
	}
	ix.starts = make([]uint32, len(bounds))
	for k, b := range bounds {
		ix.starts[k] = uint32(b)
	}
	ix.lists = make([][]int32, len(bounds))
	entries := 0
	for j := range c.Rules {
		if wild[j] {
			for k := range ix.lists {
				ix.lists[k] = append(ix.lists[k], int32(j))
			}
			entries += len(ix.lists)
		} else {
			for _, s := range cons[j] {
				a := sort.Search(len(bounds), func(k int) bool { return bounds[k] >= s.lo })
				for k := a; k < len(bounds) && bounds[k] <= s.hi; k++ {
					if l := ix.lists[k]; len(l) == 0 || l[len(l)-1] != int32(j) {
						ix.lists[k] = append(l, int32(j))
						entries++
					}
				}
			}
		}
		if entries > maxEntries(n) {
			return nil, 0
		}
	}
	// Flatten into one array for locality.
	flat := make([]int32, 0, entries)
	for k, l := range ix.lists {
		start := len(flat)
		flat = append(flat, l...)
		ix.lists[k] = flat[start:len(flat):len(flat)]
	}
	for k := range ix.lists {
		if ix.lists[k] == nil {
			ix.lists[k] = []int32{}
		}
	}
	return ix, float64(entries) / float64(len(ix.lists))
}

// indexCands is for tests: the candidates of chain c for packet p, or
// nil without index.
func (s *Sim) indexCands(c *parser.Chain, p *Packet) []int32 {
	if s.fast == nil {
		return nil
	}
	cc := s.fast.chains[c]
	if cc == nil || cc.ix == nil {
		return nil
	}
	return cc.ix.lookup(p)
}
