package symbolic

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// TestPortRangesIntervals checks PortRanges, which walks the set's diagram
// (pset's Intervals), against the way it was first computed, by halving
// the range and comparing sets, on random sets of ports, TTLs and
// protocols, the sets the NAT port offset splits classes into among them.
func TestPortRangesIntervals(t *testing.T) {
	u := pset.New(pset.Options{Family: parser.IPv4})
	r := rand.New(rand.NewPCG(7, 8))
	fields := []pset.Field{pset.Dport, pset.Sport, pset.TTL}
	for i := 0; i < 150; i++ {
		s := u.Empty()
		for k := 1 + r.IntN(5); k > 0; k-- {
			f := fields[r.IntN(len(fields))]
			max := 1<<u.Width(f) - 1
			lo := r.IntN(max + 1)
			x := u.Range(f, uint64(lo), uint64(min(lo+r.IntN(max/8+1), max)))
			switch r.IntN(4) {
			case 0:
				x = x.Intersect(u.Eq(pset.Proto, uint64(6+11*r.IntN(2))))
			case 1:
				x = x.Intersect(u.Mod(pset.Dport, uint64(1+r.IntN(40)), 0))
			case 2:
				x = x.Not()
			}
			s = s.Union(x)
		}
		for _, f := range fields {
			if got, want := PortRanges(s, f), portRangesByHalves(s, f); !slices.Equal(got, want) {
				t.Fatalf("set %d, field %d: PortRanges %v, by halves %v", i, f, got, want)
			}
		}
	}
}

// portRangesByHalves is PortRanges as it was first written, by halving the
// range and comparing sets: the reference for TestPortRangesIntervals.
// It returns the values of numeric field f (Dport, Sport, TTL…)
// that s holds, as sorted disjoint [lo, hi] ranges.
func portRangesByHalves(s pset.Set, f pset.Field) [][2]int {
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
	p := project(s, f)
	var out [][2]int
	var rec func(lo, hi int)
	rec = func(lo, hi int) {
		r := u.Range(f, uint64(lo), uint64(hi))
		if !p.Overlaps(r) {
			return
		}
		if lo == hi || r.Subset(p) {
			if n := len(out); n > 0 && out[n-1][1] == lo-1 {
				out[n-1][1] = hi
			} else {
				out = append(out, [2]int{lo, hi})
			}
			return
		}
		mid := lo + (hi-lo)/2
		rec(lo, mid)
		rec(mid+1, hi)
	}
	rec(0, 1<<u.Width(f)-1)
	return out
}
