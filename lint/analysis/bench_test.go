package analysis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
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

// TestCorpusTiming analyses every corpus file (reachability and
// redundancy; GOMAXPROCS files at a time) with the default budgets and
// fails if one is cut short; it logs the time of each (wall time, which
// the parallel runs inflate). Skipped when the corpus is absent, unless
// CI=true. DFW_CORPUS_MAX (a duration, e.g. 1s) also fails a file whose
// analysis takes longer (off by default: wall times vary too much on a
// shared machine).
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
	// The files are analysed GOMAXPROCS at a time (each analysis has
	// its own universe).
	type out struct {
		d    time.Duration
		line string
		errs []string
	}
	outs := make([]out, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f := files[i]
				o := &outs[i]
				data, err := os.ReadFile(f)
				if err != nil {
					o.errs = append(o.errs, err.Error())
					continue
				}
				l := parser.Load([]parser.Source{{Name: filepath.Base(f), Data: data}}, parser.Options{})
				start := time.Now()
				// A budget far above any file's time: a cut-short analysis
				// here is a blow-up, not a machine busy with other tests
				// (DFW_CORPUS_MAX judges the time).
				res, err := Analyze(context.Background(), l.Ruleset, Options{Timeout: 5 * time.Minute}, true)
				o.d = time.Since(start)
				if err != nil {
					o.errs = append(o.errs, err.Error())
					continue
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
				o.line = fmt.Sprintf("%-60s %5d rules %8v %7d nodes %3d unreachable %3d redundant",
					filepath.Base(f), l.Ruleset.NumRules(), o.d.Round(time.Microsecond), res.Nodes, unreach, red)
				if len(res.Incomplete) > 0 {
					o.errs = append(o.errs, fmt.Sprintf("%s: cut short: %v", filepath.Base(f), res.Incomplete))
				}
				if limit > 0 && o.d > limit {
					o.errs = append(o.errs, fmt.Sprintf("%s: %v, more than %v", filepath.Base(f), o.d, limit))
				}
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var slowest, total time.Duration
	slowName := ""
	for i, o := range outs {
		t.Log(o.line)
		for _, e := range o.errs {
			t.Error(e)
		}
		total += o.d
		if o.d > slowest {
			slowest, slowName = o.d, filepath.Base(files[i])
		}
	}
	t.Logf("%d files in %v; slowest: %s, %v", len(files), total.Round(time.Millisecond), slowName, slowest)
}
