package cli

import (
	"math"
	"runtime/debug"
	"testing"
	"time"
)

// The soft memory limit is the sum of the shares of the files in flight:
// memoryPerJob for a small file or an idle worker (while files are left to
// start), memoryPerByte per input byte for a large one; none once every
// file is checked; GOMEMLIMIT, when set, is left alone.
func TestMemoryGovernor(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	g := newMemoryGovernor(2, 3)
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	if got := limit(); got != 2*memoryPerJob {
		t.Fatalf("idle: limit %d, want %d", got, 2*memoryPerJob)
	}
	g.start(0, 1000) // small: the job's share
	if got := limit(); got != 2*memoryPerJob {
		t.Errorf("small file: limit %d, want %d", got, 2*memoryPerJob)
	}
	big := 12 << 20
	g.start(1, big)
	if got, want := limit(), int64(memoryPerJob+memoryPerByte*big); got != want {
		t.Errorf("large file: limit %d, want %d", got, want)
	}
	g.done(1)
	g.done(0)
	if got := limit(); got != memoryPerJob {
		t.Errorf("one file left: limit %d, want %d (one worker's share)", got, memoryPerJob)
	}
	g.start(2, 1000)
	if got := limit(); got != memoryPerJob {
		t.Errorf("last file: limit %d, want %d (its share, no idle worker's)", got, memoryPerJob)
	}
	g.done(2)
	if got := limit(); got != math.MaxInt64 {
		t.Errorf("every file checked: limit %d, want none", got)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB")
	g = newMemoryGovernor(2, 1)
	g.start(0, big)
	if got := limit(); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: limit changed to %d", got)
	}
	g.done(0)
}

// A collection that leaves more than limitUse/8 of the limit live raises
// the limit so that the live heap takes that share again; the raise goes
// when a file is done; less live heap changes nothing.
func TestMemoryGovernorRaises(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	g := newMemoryGovernor(1, 2)
	big := 12 << 20
	g.start(0, big)
	share := int64(memoryPerByte * big)
	if got := limit(); got != share {
		t.Fatalf("large file: limit %d, want %d", got, share)
	}
	if !g.afterGC(share / 2) {
		t.Fatal("afterGC: stops watching while a file is in flight")
	}
	if got := limit(); got != share {
		t.Errorf("half the limit live: limit %d, want %d", got, share)
	}
	if g.afterGC(share * 8 / 10); limit() != share {
		t.Errorf("8/10 of the limit live: limit %d, want %d (under limitUse/8)", limit(), share)
	}
	live := share * 95 / 100
	g.afterGC(live)
	if got, want := limit(), live*8/limitUse; got != want {
		t.Errorf("95/100 of the limit live: limit %d, want %d", got, want)
	}
	g.afterGC(live / 2)
	if got, want := limit(), live*8/limitUse; got != want {
		t.Errorf("less live again: limit %d, want %d (kept while the file is in flight)", got, want)
	}
	g.done(0)
	if got := limit(); got != memoryPerJob {
		t.Errorf("file done: limit %d, want %d (the idle worker's share, no raise)", got, memoryPerJob)
	}
	g.start(1, 1000)
	g.done(1)
	if g.afterGC(1 << 40) {
		t.Error("afterGC: still watching once every file is checked")
	}
	if got := limit(); got != math.MaxInt64 {
		t.Errorf("every file checked: limit %d, want none", got)
	}
}

// The default time limits grow with the ruleset; limits given on the
// command line are kept as given.
func TestLimitsForRules(t *testing.T) {
	def := limits{budget: 10 * time.Second, policy: 10 * time.Second, scaleBudget: true, scalePolicy: true}
	for _, c := range []struct {
		lim            limits
		rules          int
		budget, policy time.Duration
	}{
		{def, 100, 10 * time.Second, 10 * time.Second},
		{def, 80_000, 80 * time.Second, 80 * time.Second},
		{limits{budget: time.Second, policy: 2 * time.Second, scalePolicy: true}, 80_000, time.Second, 80 * time.Second},
		{limits{budget: time.Second, policy: 2 * time.Second, scaleBudget: true}, 80_000, 80 * time.Second, 2 * time.Second},
	} {
		b, p := c.lim.forRules(c.rules)
		if b != c.budget || p != c.policy {
			t.Errorf("%+v, %d rules: budget %v, policy %v; want %v, %v", c.lim, c.rules, b, p, c.budget, c.policy)
		}
	}
}

// -j is a number of CPUs: shared among the files checked at once, all of
// them for a single file, one with -j 1.
func TestCPUsPerFile(t *testing.T) {
	for _, c := range []struct{ jobs, files, want int }{
		{1, 1, 1}, {1, 100, 1}, {2, 1, 2}, {2, 2, 1}, {2, 2000, 1}, {8, 3, 2}, {8, 1, 8}, {4, 0, 4},
	} {
		if got := cpusPerFile(c.jobs, c.files); got != c.want {
			t.Errorf("-j %d, %d files: %d CPUs per file, want %d", c.jobs, c.files, got, c.want)
		}
	}
}
