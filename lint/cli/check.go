package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"sync"
	"time"

	"github.com/dfw-project/dfw/internal/termstyle"
	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

const checkUsage = `Usage: dfwlint check [flags] FILE...

Check each FILE (iptables-save output, iptables-restore input, or
iptables -S output), applied on top of the --base files, with the built-in
checks (dfwlint policies lists them) and the user's Rego policies. "-" reads
standard input.

Formats:
  text    file:line:col: severity ID message, related positions beneath,
          then a summary line
  json    {"findings":[...],"errors":[...],"summary":{...}} (one document for
          all files)
  sarif   SARIF 2.1.0, for code scanning
  github  GitHub Actions workflow annotations
          (sarif and github name files relative to the root of the git
          repository the working directory is in, as GitHub reads them)

A host's IPv4 and IPv6 rules are checked together, and compared (DFW305
ipv6-gap: a port closed on one family and open on the other), when they
are given as --ipv4 FILE and --ipv6 FILE, as the only two FILEs, or as
FILEs whose names differ by the family alone (rules.v4 and rules.v6,
iptables.save and ip6tables.save). A FILE is of the family --ipv4 or
--ipv6 gives, else its text tells (a header, an address), else its name
(rules.v6, ip6tables.rules), else IPv4. A --base file applies to the
FILEs of its family; --docker puts Docker's iptables rules under the IPv4
FILEs and its ip6tables rules under the IPv6 ones.

A finding is silenced where it points: -m comment --comment
"dfwlint:ignore DFW201 reason" on a rule, or a line "# dfwlint:ignore DFW302
reason" just before a chain or policy line.

Examples:
  dfwlint check /etc/iptables/rules.v4
  dfwlint check --base live.save iptables.conf
  dfwlint check --docker 28 --publish 8080:80 iptables.conf
  dfwlint check --docker 28 --network docker0=fd00::/64 --publish 8080:80 rules.v4 rules.v6
  iptables-save | dfwlint check -
  dfwlint check /etc/iptables/rules.v4 --ipv6 /etc/iptables/rules.v6
  ip6tables-save | dfwlint check --ipv6 -
  dfwlint check --format json -j 4 hosts/*.save
  dfwlint check --policy ./policies --fail-on error iptables.conf

Exit status: 0 clean, 1 a finding at or above --fail-on, 2 usage or input error.
`

// newAnalyzer makes the analysis facts provider for one ruleset.
var newAnalyzer = func(timeout time.Duration) facts.Analyzer {
	return analysis.New(analysis.Options{Timeout: timeout})
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", checkUsage, stdout)
	var c common
	format := fs.String("format", "text", "output format: text, json, sarif or github")
	failOn := fs.String("fail-on", "warning", "exit 1 when a finding has this severity or above: info, warning, error or never")
	policies := fs.StringArray("policy", nil, "directory of Rego policies to run beside the built-in checks (repeatable)")
	config := fs.String("config", "", "configuration file (default .dfwlint.yaml when it exists)")
	external := fs.StringArray("external", nil, "an external interface (repeatable); overrides the config and the inference from the rules")
	jobs := fs.IntP("jobs", "j", runtime.NumCPU(), "CPUs to use: files checked at once, or one file's analyses and checks side by side")
	budget := fs.Duration("budget", analysis.DefaultTimeout, "time each analysis may take on one ruleset (unless given: the default or 1ms per rule, whichever is more); an analysis cut short is reported (DFW902), never a silent pass")
	var quiet bool
	fs.VarPF((*switchValue)(&quiet), "quiet", "q", "text format: the findings and errors only, no summary").NoOptDefVal = "true"
	policyTimeout := fs.Duration("policy-timeout", lint.DefaultTimeout, "time each policy may take on one ruleset (unless given: the default or 1ms per rule, whichever is more); a policy still running then is an error naming it")
	var ff familyFiles
	c.registerWith(fs, ff.register)
	c.docker.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	switch *format {
	case "text", "json", "sarif", "github":
	default:
		fmt.Fprintf(stderr, "dfwlint check: --format %s: unknown format (expected text, json, sarif or github)\n", *format)
		return ExitError
	}
	if !lint.ValidFailOn(*failOn) {
		fmt.Fprintf(stderr, "dfwlint check: --fail-on %s: unknown severity (expected info, warning, error or never)\n", *failOn)
		return ExitError
	}
	if *policyTimeout <= 0 {
		fmt.Fprintf(stderr, "dfwlint check: --policy-timeout %s: expected a positive duration\n", *policyTimeout)
		return ExitError
	}
	if *jobs < 1 {
		fmt.Fprintf(stderr, "dfwlint check: -j %d: expected at least 1\n", *jobs)
		return ExitError
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
		return ExitError
	}
	files, pl := newPlan(fs.Args(), ff)
	mem := newMemoryGovernor(*jobs, len(files))
	if len(files) == 0 {
		fmt.Fprintf(stderr, "dfwlint check: no FILE given (expected iptables-save output, iptables-restore input, or - for standard input)\n")
		return ExitError
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
		return ExitError
	}
	for _, name := range *external {
		if err := lint.CheckIfaceName(name); err != nil {
			fmt.Fprintf(stderr, "dfwlint check: --external: %v\n", err)
			return ExitError
		}
	}
	if len(*external) > 0 {
		if cfg == nil {
			cfg = &lint.Config{}
		}
		cfg.ExternalInterfaces = *external
	}
	// The policies compile while the first files are read and analysed;
	// no report is written before they have (a policy that does not
	// compile stops the command before any output, as when it is found
	// first).
	linter, err := lint.New(lint.Options{PolicyDirs: *policies, Config: cfg, Timeout: *policyTimeout, Background: true})
	policyErr := func(err error) int {
		var pe *lint.PolicyError
		if errors.As(err, &pe) {
			fmt.Fprintln(stderr, err)
		} else {
			fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
		}
		return ExitError
	}
	if err != nil {
		return policyErr(err)
	}
	// Each file's report is written (or, for the formats that put the
	// input errors or the rules first, spooled) as soon as the files
	// before it in the output are, then dropped; the Docker layouts (a
	// name each, text only) come after the summary.
	st := lint.NewStream(stdout, *format, lint.TextOptions{Colour: termstyle.Enabled(stdout), Quiet: quiet, Paths: outputPaths(*format)})
	layouts := map[int]string{}
	lim := limits{budget: *budget, policy: *policyTimeout, scaleBudget: !fs.Changed("budget"), scalePolicy: !fs.Changed("policy-timeout")}
	err = checkFiles(files, pl, &c, opts, stdin, linter, *jobs, mem, lim, func(i int, rep *lint.Report, layout string) error {
		if err := linter.Wait(); err != nil {
			return err
		}
		if layout != "" && *format == "text" {
			layouts[i] = layout
		}
		return st.Add(rep, displayName(files[i]), i)
	})
	if err == nil {
		// (Files that all failed to read never waited.)
		err = linter.Wait()
	}
	if err != nil {
		return policyErr(err)
	}
	werr := st.Close()
	for i := range files {
		if l := layouts[i]; l != "" && werr == nil && !quiet {
			_, werr = fmt.Fprintf(stdout, "%s: Docker layout: %s\n", displayName(files[i]), l)
		}
	}
	if werr != nil {
		fmt.Fprintf(stderr, "dfwlint check: %v\n", werr)
		return ExitError
	}
	return st.ExitCode(*failOn)
}

// outputPaths are where the SARIF and GitHub outputs name files from: the
// root of the git repository the working directory is in (code scanning
// and the Actions runner read a relative name from there), else the
// working directory.
func outputPaths(format string) lint.Paths {
	if format != "sarif" && format != "github" {
		return lint.Paths{}
	}
	dir, err := os.Getwd()
	if err != nil {
		return lint.Paths{}
	}
	return lint.Paths{Dir: dir, Root: repoRoot(dir)}
}

// repoRoot is the nearest of dir and its ancestors that holds .git (a
// directory, or the file of a worktree or submodule), else dir.
func repoRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return dir
		}
		d = up
	}
}

// memoryPerJob is the soft memory limit per file in flight. The
// analyses of one file make much short-lived garbage (packet-set tables
// dropped between analyses); with Go's default pacing the heap grows to
// twice what is live before a collection, so a run's peak followed the
// unluckiest moment rather than the files in flight. Under the limit the
// collector runs earlier instead, and the peak follows what the files in
// flight hold. A large file holds more than that: its share of the limit
// grows with its size (memoryPerByte: the 80,000-rule kube-proxy ruleset,
// 12 MB, holds up to 20 bytes per byte of input live, during its
// analyses; its share leaves the collector a fifth of that again). A file
// that holds more than its share would make the collector run without
// pause (half the CPU, for nothing): after a collection that leaves more
// than limitUse of the limit live, the limit is raised to give the live
// heap that room again (afterGC). GOMEMLIMIT, when set, is kept.
const (
	memoryPerJob  = 256 << 20
	memoryPerByte = 24
)

// limitUse is the share of the limit the live heap may take before the
// limit is raised, as a fraction limitUse/8.
const limitUse = 7

// memoryGovernor sets the soft memory limit to the sum of the shares of
// the files in flight, a worker between files counting memoryPerJob while
// files are left to check, plus what afterGC raised it by. Once the last
// file is checked there is no limit: what is left is writing the report,
// and collecting the heap of the files checked (all garbage by then)
// would only delay it.
type memoryGovernor struct {
	mu      sync.Mutex
	off     bool
	jobs    int
	pending int           // files not started yet
	shares  map[int]int64 // file index → its share
	raised  int64         // what afterGC added to the shares
	limit   int64         // the limit set
}

func newMemoryGovernor(jobs, files int) *memoryGovernor {
	g := &memoryGovernor{jobs: jobs, pending: files, shares: map[int]int64{}, off: os.Getenv("GOMEMLIMIT") != ""}
	g.set()
	if !g.off {
		g.watch()
	}
	return g
}

// watch calls afterGC after each collection while there is a limit (a
// cleanup runs once the collection that found its object unreachable is
// done).
func (g *memoryGovernor) watch() {
	runtime.AddCleanup(new([64]byte), func(g *memoryGovernor) {
		if g.afterGC(heapLive()) {
			g.watch()
		}
	}, g)
}

// heapLive is the heap the last collection found live.
func heapLive() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// afterGC raises the limit when live, the heap a collection left live,
// takes more than limitUse of it, so that live takes that share again.
// It reports whether there is still a limit to watch.
func (g *memoryGovernor) afterGC(live int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off || g.limit == math.MaxInt64 && g.pending == 0 && len(g.shares) == 0 {
		return false
	}
	if g.limit != math.MaxInt64 && live*8 > g.limit*limitUse {
		g.raised += live*8/limitUse - g.limit
		g.set()
	}
	return true
}

// start gives file i, of size bytes (with its bases and peer), its share.
func (g *memoryGovernor) start(i int, size int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shares[i] = max(memoryPerJob, memoryPerByte*int64(size))
	g.pending = max(g.pending-1, 0)
	g.set()
}

// done takes file i's share back, and what the limit was raised by while
// it was in flight: the files still in flight hold less now (a raise
// they need comes again after the next collection).
func (g *memoryGovernor) done(i int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.shares, i)
	g.raised = 0
	g.set()
}

// analyzed is called when the analyses of a file of the given number of
// rules are done. On a large ruleset their packet sets, most of the memory
// its check takes, have just become garbage, and the collector would wait
// until the heap doubled its size of during the analyses: collecting them
// at once lowers the peak (on the 80,000-rule kube-proxy ruleset, 551 to
// 503 MB) and costs no time, the checks then running on a smaller heap.
func (g *memoryGovernor) analyzed(rules int) {
	if g != nil && rules >= collectAfterRules {
		runtime.GC()
	}
}

// collectAfterRules is the size of ruleset from which analyzed collects:
// below it the analyses' packet sets are small.
const collectAfterRules = 10_000

func (g *memoryGovernor) set() {
	if g.off {
		return
	}
	if g.pending == 0 && len(g.shares) == 0 {
		g.limit = math.MaxInt64
		debug.SetMemoryLimit(g.limit)
		return
	}
	limit := int64(min(max(g.jobs-len(g.shares), 0), g.pending)) * memoryPerJob
	for _, s := range g.shares {
		limit += s
	}
	g.limit = limit + g.raised
	debug.SetMemoryLimit(g.limit)
}

// limits are the time budgets of one file's analyses and checks. Unless
// given on the command line, they grow with the ruleset (timePerRule for
// each rule): a time limit is a guard against a runaway analysis, and the
// fixed default let a large ruleset on a loaded machine hit it one run
// and not the next, a finding (DFW902) that came and went with the load.
type limits struct {
	budget, policy           time.Duration
	scaleBudget, scalePolicy bool
	// cpus is how many CPUs one file's analyses and checks may use: -j
	// shared among the files checked at once, so that -j 1 uses one CPU
	// and a single file all of them.
	cpus int
}

const timePerRule = time.Millisecond

// cpusPerFile shares jobs CPUs among the files checked at once.
func cpusPerFile(jobs, files int) int {
	return max(1, jobs/max(1, min(jobs, files)))
}

func (l limits) forRules(n int) (budget, policy time.Duration) {
	budget, policy = l.budget, l.policy
	if l.scaleBudget {
		budget = max(budget, time.Duration(n)*timePerRule)
	}
	if l.scalePolicy {
		policy = max(policy, time.Duration(n)*timePerRule)
	}
	return budget, policy
}

// loadConfig reads the --config file, or .dfwlint.yaml when it exists.
func loadConfig(path string) (*lint.Config, error) {
	if path == "" {
		if _, err := os.Stat(".dfwlint.yaml"); err != nil {
			return nil, nil
		}
		path = ".dfwlint.yaml"
	}
	return lint.LoadConfig(path)
}

// checkFiles checks every FILE on top of the bases with up to jobs files in
// flight, and hands each report to emit with its index in files and the
// Docker layout of the file (when it is checked alone), in the order of
// the files' names, which is the order of the findings in the output
// (lint.Stream): the output does not depend on -j. A report is handed as
// soon as the ones before it are, and dropped once emit returns. Memory is
// bounded by the files in flight, not by their number: each file is read,
// loaded, checked and dropped by its worker, and at most 2*jobs reports
// are checked or wait for an earlier one (a slow file makes the workers
// wait, not the finished reports pile up). The first error of a check
// (an analysis that failed) or of emit stops the run.
func checkFiles(files []string, pl *plan, c *common, opts parser.Options, stdin io.Reader, linter *lint.Linter, jobs int, mem *memoryGovernor, lim limits, emit func(i int, rep *lint.Report, layout string) error) error {
	rd := &reader{stdin: stdin}
	bases, err := readBases(c, rd)
	if err != nil {
		return err
	}
	// Standard input is read here, once, before the workers start.
	for _, f := range files {
		if f == "-" {
			if _, err := rd.read("-"); err != nil {
				return err
			}
			break
		}
	}
	if len(c.bases) > 0 {
		fams := make([]parser.Family, len(files))
		for i, f := range files {
			if fams[i] = pl.family[i]; fams[i] == 0 {
				if s, err := rd.read(f); err == nil { // a read error is the FILE's, reported below
					fams[i] = pl.familyOf(i, s.Data)
				}
			}
		}
		if err := checkBases(bases, fams); err != nil {
			return err
		}
	}
	// order[k] is the k-th file by name (stable: a name given twice keeps
	// the order given); the files are checked and emitted in that order.
	order := make([]int, len(files))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return displayName(files[order[a]]) < displayName(files[order[b]]) })
	type checked struct {
		k      int
		rep    *lint.Report
		layout string
		err    error
	}
	window := 2 * jobs
	tokens := make(chan struct{}, window) // one per file checked and not yet emitted
	next := make(chan int)
	results := make(chan checked, window)
	quit := make(chan struct{})
	go func() {
		defer close(next)
		for k := range order {
			select {
			case tokens <- struct{}{}:
			case <-quit:
				return
			}
			select {
			case next <- k:
			case <-quit:
				return
			}
		}
	}()
	lim.cpus = cpusPerFile(jobs, len(files))
	var wg sync.WaitGroup
	for w := 0; w < min(jobs, len(files)); w++ {
		wg.Go(func() {
			for k := range next {
				rep, layout, err := checkOne(files, pl, order[k], bases, rd, opts, linter, mem, lim)
				results <- checked{k, rep, layout, err}
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	// The reorder buffer: reports finished ahead of the next to emit.
	held := map[int]checked{}
	want := 0
	var first error
	for r := range results {
		if first != nil {
			continue // drain the workers
		}
		held[r.k] = r
		for first == nil {
			h, ok := held[want]
			if !ok {
				break
			}
			delete(held, want)
			first = h.err
			if first == nil {
				first = emit(order[want], h.rep, h.layout)
			}
			if first != nil {
				close(quit)
				break
			}
			want++
			<-tokens
		}
	}
	return first
}

// checkOne loads FILE files[i] on top of the bases of its family (each
// file is parsed anew: a parsed file belongs to one ruleset) and checks
// it, with the other family's ruleset of the same host when the plan
// names one.
func checkOne(files []string, pl *plan, i int, bases []base, rd *reader, opts parser.Options, linter *lint.Linter, mem *memoryGovernor, lim limits) (_ *lint.Report, layout string, _ error) {
	name := files[i]
	s, err := rd.read(name)
	if err != nil {
		rep := lint.NewReport()
		rep.Summary.Files = 1
		rep.Errors = append(rep.Errors, lint.Position{File: name, Message: readErrMessage(name, err)})
		rep.Summary.Errors = 1
		return rep, "", nil
	}
	allBases := bases
	fam := pl.familyOf(i, s.Data)
	if err := untold(name, fam, bases); err != nil {
		rep := lint.NewReport()
		rep.Summary.Files = 1
		rep.Errors = append(rep.Errors, lint.Position{File: displayName(name), Message: err.Error()})
		rep.Summary.Errors = 1
		return rep, "", nil
	}
	if fam = resolveFamily(fam, bases); fam != 0 {
		opts.Family = fam
		bases = basesFor(bases, fam)
	}
	srcs := make([]parser.Source, 0, len(bases)+1)
	size := len(s.Data)
	for _, b := range bases {
		srcs = append(srcs, b.Source)
		size += len(b.Data)
	}
	srcs = append(srcs, s)
	if pl.peer[i] >= 0 {
		size *= 2 // the other family's ruleset is loaded and analysed too
	}
	mem.start(i, size)
	defer mem.done(i)
	loaded := parser.Load(srcs, opts)
	explainNoDocker(loaded, allBases, fam)
	if len(bases) == 0 {
		layout = dockerLayout(loaded.Ruleset)
	}
	// A ruleset that iptables-restore or the kernel would refuse is not
	// analysed: what it lets through is not what any host would run. Its
	// errors and the checks that read the rules alone are still reported.
	var an facts.Analyzer
	var peer *facts.PeerRuleset
	budget, timeout := lim.forRules(loaded.Ruleset.NumRules())
	if len(loaded.Diags.Errors()) == 0 {
		an = newAnalyzer(budget)
		if j := pl.peer[i]; j >= 0 {
			peer = loadPeer(pl, j, files[j], loaded.Ruleset.Family, allBases, rd, opts)
		}
	}
	rep, err := linter.Check(context.Background(), loaded, lint.CheckOptions{Base: len(bases), Analyzer: an, Peer: peer, Timeout: timeout, CPUs: lim.cpus,
		Analyzed: func() { mem.analyzed(loaded.Ruleset.NumRules()) }})
	return rep, layout, err
}
