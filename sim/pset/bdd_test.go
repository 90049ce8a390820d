package pset

import (
	"math/rand/v2"
	"testing"
)

// The store hash-conses across chunks, table growth and the switch from
// tagged to whole-index table entries: the same triple is the same node,
// and a new triple a new node, before and after each.
func TestStoreHashConsing(t *testing.T) {
	const nvars = 40
	d := newBDD(nvars, 0)
	type triple struct {
		level  int32
		lo, hi uint32
	}
	var made []triple
	var ids []uint32
	rng := rand.New(rand.NewPCG(1, 2))
	add := func(n int) {
		for want := len(made) + n; len(made) < want; {
			// A node's children are older nodes (or terminals); its
			// level is above theirs.
			lo := uint32(rng.IntN(int(d.count)))
			hi := uint32(rng.IntN(int(d.count)))
			if lo == hi {
				continue
			}
			level := min(d.level(lo), d.level(hi)) - 1 - int32(rng.IntN(2))
			if level < 0 {
				lo, hi = bddFalse, bddTrue
				level = int32(rng.IntN(nvars))
			}
			before := d.count
			id := d.mk(level, lo, hi)
			if id == before {
				made = append(made, triple{level, lo, hi})
				ids = append(ids, id)
			}
		}
	}
	check := func(when string) {
		t.Helper()
		for i, tr := range made {
			before := d.count
			if got := d.mk(tr.level, tr.lo, tr.hi); got != ids[i] || d.count != before {
				t.Fatalf("%s: node %v is %d (store %d to %d), want %d", when, tr, got, before, d.count, ids[i])
			}
			if nd := d.node(ids[i]); nd.level != tr.level || nd.lo != tr.lo || nd.hi != tr.hi {
				t.Fatalf("%s: node %d holds %+v, want %v", when, ids[i], *nd, tr)
			}
		}
	}
	d.tagLimit = 4 * chunkSize // as 2^tagShift, within reach of a test
	add(3 * chunkSize)         // several chunks, several table growths
	if len(d.chunks) < 3 || len(made) < 2*chunkSize || d.tagMask == 0 {
		t.Fatalf("%d chunks, %d nodes made, tag mask %#x", len(d.chunks), len(made), d.tagMask)
	}
	check("tagged")
	add(2 * chunkSize) // past tagLimit: whole indices from there on
	if d.tagMask != 0 {
		t.Fatalf("%d nodes, past %d: entries still tagged", d.count, d.tagLimit)
	}
	check("whole indices")
	add(chunkSize)
	check("whole indices, grown")
}
