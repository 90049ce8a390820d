package analysis

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dfw-project/dfw/parser"
)

// bigRuleset is the 80,000-rule kube-proxy ruleset of
// "go run ./cmd/dfwgen kubeproxy -n 10000", read from $DFW_BIG_RULESET.
func bigRuleset(b testing.TB) *parser.Ruleset {
	path := os.Getenv("DFW_BIG_RULESET")
	if path == "" {
		b.Skip("set DFW_BIG_RULESET to the output of: go run ./cmd/dfwgen kubeproxy -n 10000")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	l := parser.Load([]parser.Source{{Name: filepath.Base(path), Data: data}}, parser.Options{})
	return l.Ruleset
}

// BenchmarkBig: reachability and unreachable rules (and redundancy) of
// the 80k-rule ruleset.
func BenchmarkBig(b *testing.B) {
	rs := bigRuleset(b)
	for _, red := range []bool{false, true} {
		name := "reachability"
		if red {
			name = "reachability+redundancy"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				res, err := Analyze(context.Background(), rs, Options{Timeout: -1}, red)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Incomplete) > 0 {
					b.Fatal(res.Incomplete)
				}
				b.ReportMetric(float64(res.Nodes), "nodes")
			}
		})
	}
}

// TestCorpusTiming analyses every corpus file and logs the time of each;
// it asserts nothing but that the analysis completes. Skipped when the
// corpus is absent, unless CI=true.
func TestCorpusTiming(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/corpus/*.save")
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no corpus under /work/shared/corpus")
		}
		t.Skip("no corpus")
	}
	var slowest time.Duration
	slowName := ""
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l := parser.Load([]parser.Source{{Name: filepath.Base(f), Data: data}}, parser.Options{})
		start := time.Now()
		// A short budget: the test records, it does not wait.
		res, err := Analyze(context.Background(), l.Ruleset, Options{Timeout: 2 * time.Second}, true)
		d := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		unreach, red := 0, 0
		for _, rr := range res.Rules {
			if rr.Status == Unreachable {
				unreach++
			}
			if rr.Redundant {
				red++
			}
		}
		t.Logf("%-60s %5d rules %8v %7d nodes %3d unreachable %3d redundant %d incomplete",
			filepath.Base(f), l.Ruleset.NumRules(), d.Round(time.Microsecond), res.Nodes, unreach, red, len(res.Incomplete))
		if d > slowest {
			slowest, slowName = d, filepath.Base(f)
		}
	}
	t.Logf("slowest: %s, %v", slowName, slowest)
}
