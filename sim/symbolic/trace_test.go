package symbolic

import (
	"slices"
	"testing"

	"github.com/dfw-project/dfw/sim"
)

// TestTraceShared checks the trace list: classes split from one share the
// steps before the split, each sees its own after it, and steps lists
// them in order.
func TestTraceShared(t *testing.T) {
	step := func(r int) sim.Step { return sim.Step{Table: "filter", Chain: "FORWARD", Rule: r} }
	rules := func(tr *trace) []int {
		var out []int
		for _, s := range tr.steps() {
			out = append(out, s.Rule)
		}
		return out
	}
	var root *trace
	if root.steps() != nil {
		t.Fatal("an empty trace has steps")
	}
	common := root.with(step(1)).with(step(2))
	a := common.with(step(3))
	b := common.with(step(7)).with(step(8))
	if got := rules(a); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("a: %v", got)
	}
	if got := rules(b); !slices.Equal(got, []int{1, 2, 7, 8}) {
		t.Errorf("b: %v", got)
	}
	if got := rules(common); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("common after the split: %v", got)
	}
	if a.prev != b.prev.prev {
		t.Error("the classes do not share the steps before the split")
	}
}
