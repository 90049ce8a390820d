package sim

import (
	"math/rand/v2"
	"testing"
)

// TestIndex4 checks the open-addressing conntrack index against a Go map
// under random inserts, overwrites, deletes and prefetches in a small key
// space (long probe runs, wrap-around, backward shifts), with some keys and
// values too wide for a cell (kept beside it), overwriting narrow ones and
// overwritten by them.
func TestIndex4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		var x Index4
		ref := map[Key4]uint32{}
		keys := 50 + r.IntN(400)
		for op := 0; op < 20000; op++ {
			k := Key4{Src: uint32(r.IntN(keys)), Dst: 7, Ports: uint32(r.IntN(3)), Proto: 6}
			if r.IntN(50) == 0 {
				k.Proto = 256 + 6 // does not fit a cell: kept beside
			}
			// A prefetch changes no answer, for that key or another,
			// before or across a grow.
			switch r.IntN(3) {
			case 0:
				x.Prefetch(k)
			case 1:
				x.Prefetch(Key4{Src: uint32(r.IntN(keys)), Dst: 7, Ports: uint32(r.IntN(3)), Proto: 6})
			}
			switch r.IntN(3) {
			case 0, 1:
				v := uint32(2 + r.IntN(1000))
				if r.IntN(50) == 0 {
					v = pvMask + uint32(r.IntN(3)) // fits or not
				}
				x.Set(k, v)
				ref[k] = v
			case 2:
				x.del(k)
				delete(ref, k)
			}
			if got := x.Get(k); got != ref[k] {
				t.Fatalf("round %d op %d: get %v = %d, want %d", round, op, k, got, ref[k])
			}
		}
		if x.n+len(x.big) != len(ref) {
			t.Fatalf("round %d: n %d + %d, want %d", round, x.n, len(x.big), len(ref))
		}
		for k, v := range ref {
			if got := x.Get(k); got != v {
				t.Fatalf("round %d: get %v = %d, want %d", round, k, got, v)
			}
		}
		seen := 0
		x.each(func(k Key4, v uint32) {
			seen++
			if ref[k] != v {
				t.Fatalf("each: %v = %d, want %d", k, v, ref[k])
			}
		})
		if seen != len(ref) {
			t.Fatalf("each saw %d, want %d", seen, len(ref))
		}
	}
}
