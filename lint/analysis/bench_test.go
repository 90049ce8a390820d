package analysis

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// bigLoaded is bigRuleset as loaded.
func bigLoaded(b testing.TB) *parser.Loaded {
	path := os.Getenv("DFW_BIG_RULESET")
	if path == "" {
		b.Skip("set DFW_BIG_RULESET to the output of: go run ./cmd/dfwgen kubeproxy -n 10000")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return parser.Load([]parser.Source{{Name: filepath.Base(path), Data: data}}, parser.Options{})
}

// bigRuleset is the 80,000-rule kube-proxy ruleset of
// "go run ./cmd/dfwgen kubeproxy -n 10000", read from $DFW_BIG_RULESET.
func bigRuleset(b testing.TB) *parser.Ruleset {
	return bigLoaded(b).Ruleset
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

// BenchmarkBigFacts: every analysis dfwlint check runs on the 80k-rule
// ruleset (reachability with redundancy beside exposure with
// established, as facts.Build runs them), without the time budget. It
// reports the process's CPU time per run beside the wall time (ns/op):
// the analyses run on two CPUs when there are two.
func BenchmarkBigFacts(b *testing.B) {
	l := bigLoaded(b)
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime(b)
		doc, err := facts.Build(context.Background(), l, facts.Options{Analyzer: New(Options{Timeout: -1}), CPUs: runtime.GOMAXPROCS(0)})
		if err != nil {
			b.Fatal(err)
		}
		if len(doc.Analysis.Incomplete) > 0 {
			b.Fatal(doc.Analysis.Incomplete)
		}
		cpu += cpuTime(b) - before
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCorpusTiming runs, on every corpus file, the analyses dfwlint check
// runs (facts.Build: reachability and redundancy beside exposure and
// established, on GOMAXPROCS CPUs), one file at a time, and fails if one is
// cut short; it logs the time of each and the slowest. Skipped when the
// corpus is absent, unless CI=true. DFW_CORPUS_MAX (a duration, e.g. 1s)
// also fails a file whose analyses take longer (off by default: wall
// times vary too much on a shared machine).
func TestCorpusTiming(t *testing.T) {
	dir := os.Getenv("DFW_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus") // ../shared/corpus beside the repository
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.save"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no corpus files in %s (CI=true: the corpus must be there; set DFW_CORPUS)", dir)
		}
		t.Skipf("no corpus files in %s (set DFW_CORPUS to run)", dir)
	}
	var limit time.Duration
	if v := os.Getenv("DFW_CORPUS_MAX"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		limit = d
	}
	type out struct {
		name string
		d    time.Duration
	}
	var outs []out
	var total time.Duration
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		l := parser.Load([]parser.Source{{Name: name, Data: data}}, parser.Options{})
		// Files with errors too (dfwlint check does not analyse those, but
		// the analyses must not blow up on them either).
		runtime.GC()
		start := time.Now()
		// A budget far above any file's time: a cut-short analysis here
		// is a blow-up, not a machine busy with other tests
		// (DFW_CORPUS_MAX judges the time).
		doc, err := facts.Build(context.Background(), l, facts.Options{
			Analyzer: New(Options{Timeout: 5 * time.Minute}), CPUs: runtime.GOMAXPROCS(0)})
		d := time.Since(start)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		unreach := 0
		for _, x := range doc.Analysis.Reachability {
			if !x.Reachable {
				unreach++
			}
		}
		t.Logf("%-60s %5d rules %8v %3d unreachable %4d redundant %4d exposure rows",
			name, l.Ruleset.NumRules(), d.Round(time.Microsecond), unreach, len(doc.Analysis.Redundant), len(doc.Analysis.Exposure))
		if len(doc.Analysis.Incomplete) > 0 {
			t.Errorf("%s: cut short: %v", name, doc.Analysis.Incomplete)
		}
		if limit > 0 && d > limit {
			t.Errorf("%s: %v, more than %v", name, d, limit)
		}
		outs = append(outs, out{name, d})
		total += d
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].d > outs[j].d })
	for _, o := range outs[:min(3, len(outs))] {
		t.Logf("slowest: %s %v", o.name, o.d.Round(time.Millisecond))
	}
	t.Logf("%d files analysed in %v", len(outs), total.Round(time.Millisecond))
}
