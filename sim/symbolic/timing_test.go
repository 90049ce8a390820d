package symbolic

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
)

// TestTiming times the exposure analysis on the files of $SYMBOLIC_TIMING
// (a glob), e.g. the corpus or a generated kube-proxy ruleset. Skipped
// without it.
func TestTiming(t *testing.T) {
	glob := os.Getenv("SYMBOLIC_TIMING")
	if glob == "" {
		t.Skip("set SYMBOLIC_TIMING to a glob of rulesets")
	}
	files, _ := filepath.Glob(glob)
	var slowest time.Duration
	var slowName string
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		l := parser.Load([]parser.Source{{Name: f, Data: d}}, parser.Options{})
		if len(l.Diags.Errors()) > 0 {
			t.Logf("%s: parse errors, skipped", f)
			continue
		}
		t1 := time.Now()
		rows, inc := Exposure(context.Background(), l.Ruleset, sim.InferHost(l.Ruleset, nil), ExposureOptions{})
		el := time.Since(t1)
		t.Logf("%-60s parse %7.3fs exposure %7.3fs rows %5d incomplete %v", filepath.Base(f), t1.Sub(t0).Seconds(), el.Seconds(), len(rows), inc)
		if el > slowest {
			slowest, slowName = el, f
		}
	}
	t.Logf("slowest: %s %v", slowName, slowest)
}
