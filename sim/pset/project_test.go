package pset

import (
	"math/rand/v2"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// TestProjectOps checks ForgetFields against repeated Forget, Fields
// against the definition (s.Forget(f) != s), and Bounds against points
// drawn from the set.
func TestProjectOps(t *testing.T) {
	u := testUniverse()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		s := randPred(u, r, 4).s
		var fs FieldSet
		for f := Field(0); f < NumFields; f++ {
			if r.IntN(4) == 0 {
				fs = fs.With(f)
			}
		}
		// One joint quantification contains the repeated one, and equals
		// it, repeated to a fixpoint, when coupled fields are forgotten
		// together.
		seq := func(fs FieldSet) Set {
			x := s
			for {
				y := x
				for _, f := range fs.Fields() {
					y = y.Forget(f)
				}
				if y.Equal(x) {
					return x
				}
				x = y
			}
		}
		if got := s.ForgetFields(fs); !seq(fs).Subset(got) {
			t.Fatalf("set %d: ForgetFields(%v) misses packets of repeated Forget", i, fs.Fields())
		}
		if got := s.ForgetFields(fs.Coupled()); !got.Equal(seq(fs.Coupled())) {
			t.Fatalf("set %d: ForgetFields(%v) differs from Forget repeated to a fixpoint", i, fs.Coupled().Fields())
		}
		var dep FieldSet
		for f := Field(0); f < NumFields; f++ {
			if !s.Forget(f).Equal(s) {
				dep = dep.With(f)
			}
		}
		if got := s.Fields(); got != dep {
			t.Fatalf("set %d: Fields = %v, want %v", i, got.Fields(), dep.Fields())
		}
		for _, f := range []Field{Src, Dst, Dport, Sport, Proto, TCPFlags, Mark, InIface} {
			lo, hi, ok := s.Bounds(f)
			if ok != !s.IsEmpty() {
				t.Fatalf("set %d: Bounds ok=%v for a set empty=%v", i, ok, s.IsEmpty())
			}
			if !ok {
				continue
			}
			in := u.Range(f, lo, hi)
			if !s.Subset(in) {
				t.Fatalf("set %d: %v not within its bounds [%d, %d]", i, f, lo, hi)
			}
			if !s.Overlaps(u.Range(f, lo, lo)) || !s.Overlaps(u.Range(f, hi, hi)) {
				t.Fatalf("set %d: bounds [%d, %d] of %v not tight", i, lo, hi, f)
			}
		}
		// CountValues, against counting the values of small fields one
		// by one.
		for _, f := range []Field{Proto, TCPFlags, InIface} {
			want := 0.0
			for v := uint64(0); v < 1<<u.Width(f); v++ {
				if s.Overlaps(u.Range(f, v, v)) {
					want++
				}
			}
			if got := s.CountValues(f); got != want {
				t.Fatalf("set %d: CountValues(%v) = %v, want %v", i, f, got, want)
			}
		}
		// A window: the low 16 bits of the addresses.
		for _, f := range []Field{Src, Dst} {
			lo, hi, ok := s.BitBounds(f, 16, 16)
			if !ok {
				continue
			}
			low := func(v uint64) Set { return u.Bits(f, 0xffff, v) }
			if !s.Overlaps(low(lo)) || !s.Overlaps(low(hi)) {
				t.Fatalf("set %d: window bounds [%d, %d] of %v not tight", i, lo, hi, f)
			}
			if lo > 0 && s.Overlaps(low(lo-1)) || hi < 0xffff && s.Overlaps(low(hi+1)) {
				t.Fatalf("set %d: low bits of %v outside the bounds [%d, %d]", i, f, lo, hi)
			}
		}
	}
}

// TestOrderOption: a universe with another variable order holds the same
// sets (checked against the brute-force predicates).
func TestOrderOption(t *testing.T) {
	u := New(Options{Family: parser.IPv4, Ifaces: ruleIfaces, Order: []Field{Src, Sport, Proto, Dport}})
	if o := u.Order(); o[0] != Src || o[3] != Dport || len(o) != int(NumFields) {
		t.Fatalf("order %v", o)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200; i++ {
		pr := randPred(u, r, 4)
		for j := 0; j < 100; j++ {
			p := randPoint(r)
			if got, want := Contains(pr.s, p), pr.in(p); got != want {
				t.Fatalf("set %d point %+v: Contains=%v, brute force %v", i, p, got, want)
			}
		}
	}
}
