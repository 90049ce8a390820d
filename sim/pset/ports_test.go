package pset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIntervals checks Intervals against the ranges a set was made of:
// their union, merged, in order; and the bound.
func TestIntervals(t *testing.T) {
	u := testUniverse()
	tcp := u.Eq(Proto, 6)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200; i++ {
		in := make([]bool, 1<<16)
		s := u.Empty()
		for k := r.IntN(6); k > 0; k-- {
			lo := r.IntN(1 << 16)
			hi := min(lo+r.IntN(3000), 1<<16-1)
			s = s.Union(u.Range(Dport, uint64(lo), uint64(hi)))
			for p := lo; p <= hi; p++ {
				in[p] = true
			}
		}
		// Other fields constrained too: they must not show.
		s = s.Intersect(tcp).Intersect(u.Range(Sport, 1000, 2000))
		var want [][2]uint64
		for p := 0; p < 1<<16; p++ {
			if !in[p] {
				continue
			}
			if n := len(want); n > 0 && want[n-1][1]+1 == uint64(p) {
				want[n-1][1]++
			} else {
				want = append(want, [2]uint64{uint64(p), uint64(p)})
			}
		}
		got, complete := s.Intervals(Dport, 100)
		if !complete || !slices.Equal(got, want) {
			t.Fatalf("set %d: Intervals = %v (complete %v), want %v", i, got, complete, want)
		}
		if len(want) > 1 {
			if got, complete := s.Intervals(Dport, len(want)-1); complete || len(got) != len(want)-1 {
				t.Fatalf("set %d: bounded to %d intervals: %v, complete %v", i, len(want)-1, got, complete)
			}
		}
	}
	if got, complete := u.Empty().Intervals(Dport, 1); !complete || len(got) != 0 {
		t.Errorf("empty set: %v, %v", got, complete)
	}
	if got, complete := tcp.Intervals(Dport, 1); !complete || !slices.Equal(got, [][2]uint64{{0, 65535}}) {
		t.Errorf("every port: %v, %v", got, complete)
	}
}

// TestMod checks Mod against the remainder of every port, for moduli that
// divide the port space and moduli that do not.
func TestMod(t *testing.T) {
	u := testUniverse()
	for _, m := range []uint64{1, 2, 3, 7, 11, 16, 250, 1000, 65535, 65536} {
		sets := map[uint64]Set{}
		for _, c := range []uint64{0, m / 2, m - 1} {
			sets[c] = u.Mod(Dport, m, c)
		}
		for p := uint64(0); p < 1<<16; p += 1 + p%7 {
			at := u.Eq(Dport, p)
			for c, s := range sets {
				if at.Overlaps(s) != (p%m == c) {
					t.Fatalf("Mod(%d, %d): port %d in it: %v", m, c, p, at.Overlaps(s))
				}
			}
		}
	}
	// The classes of a modulus partition the ports.
	all := u.Empty()
	for c := uint64(0); c < 11; c++ {
		s := u.Mod(Sport, 11, c)
		if all.Overlaps(s) {
			t.Fatalf("Mod(11, %d) overlaps a class before it", c)
		}
		all = all.Union(s)
	}
	if !all.IsAll() {
		t.Errorf("the classes of 11 do not cover every port")
	}
}
