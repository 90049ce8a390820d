// Package lint is dfwlint's engine: it builds the input document of a
// ruleset (package facts), evaluates the built-in checks of policies/ and
// the user's policies with OPA, applies suppressions and the configuration,
// and writes the findings as text, JSON, SARIF or GitHub annotations.
//
// A Linter compiles its policies once (New) and evaluates them with
// prepared queries for every ruleset (Check); it is safe for concurrent use.
package lint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// DefaultTimeout bounds the evaluation of all policies for one ruleset.
const DefaultTimeout = 10 * time.Second

// Options configure a Linter.
type Options struct {
	// PolicyDirs are directories of the user's policies (--policy), read
	// recursively; _test.rego files are skipped.
	PolicyDirs []string
	// Config is the .dfwlint.yaml configuration (nil for none).
	Config *Config
	// Timeout bounds the evaluation of the policies for one ruleset;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// NoBuiltin leaves the built-in checks out.
	NoBuiltin bool
	// Background compiles the policies on another goroutine: New returns
	// once they are read and their metadata checked (the errors a user
	// can make in a policy's metadata, in --config's check names, come
	// back from New), and Check, which needs them compiled only once the
	// analyses are done, waits for the compilation then. Wait tells its
	// error. A command that checks a file so starts its analyses some
	// 40 ms sooner.
	Background bool
}

// Linter holds the compiled policies.
type Linter struct {
	checks   []*check
	policies []Policy
	cfg      Config
	timeout  time.Duration
	// compiled is closed once checks are made (Options.Background);
	// compileErr is then the compilation's error. nil: made by New.
	compiled   chan struct{}
	compileErr error
}

// Wait waits for the policies to be compiled (Options.Background) and
// returns the compilation's error: a *PolicyError for a policy that does
// not compile. Without Background it returns nil at once (New returned
// that error).
func (l *Linter) Wait() error {
	if l.compiled != nil {
		<-l.compiled
	}
	return l.compileErr
}

type check struct {
	Policy
	entry    string
	severity string // default severity of this entrypoint's findings
	pq       rego.PreparedEvalQuery
}

// PolicyError is a policy that does not parse or compile (or that uses a
// built-in function dfwlint forbids). Each error has the policy's
// file:row:col.
type PolicyError struct {
	Errs ast.Errors
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	for i, x := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		if x.Location != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", x.Location.File, x.Location.Row, x.Location.Col)
		}
		b.WriteString(x.Message)
	}
	return b.String()
}

// ConfigError is a configuration that names a check no policy defines.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// Forbidden are the built-in functions policies may not use: they reach
// the network, the environment or the runtime (the clock included: a check
// must give the same answer for the same ruleset).
var Forbidden = []string{
	"http.send", "net.lookup_ip_addr", "opa.runtime", "time.now_ns",
}

// capabilities are OPA's, less the forbidden built-ins and any network
// access, plus dfw's own functions.
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	forbidden := map[string]bool{}
	for _, f := range Forbidden {
		forbidden[f] = true
	}
	var keep []*ast.Builtin
	for _, b := range caps.Builtins {
		if !forbidden[b.Name] {
			keep = append(keep, b)
		}
	}
	caps.Builtins = append(keep, builtinDecls()...)
	caps.AllowNet = []string{}
	return caps
}

// New loads and compiles the built-in checks and the user's policies.
func New(opts Options) (*Linter, error) {
	l := &Linter{timeout: opts.Timeout}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if opts.Config != nil {
		l.cfg = *opts.Config
	}
	mods := map[string]*ast.Module{}
	if !opts.NoBuiltin {
		b, err := builtinModules()
		if err != nil {
			return nil, fmt.Errorf("built-in policies: %w", err)
		}
		for k, m := range b {
			mods[k] = m
		}
		l.policies = append(l.policies, policiesOf(b, true)...)
	}
	for _, dir := range opts.PolicyDirs {
		u, err := loadPolicyDir(dir)
		if err != nil {
			return nil, err
		}
		errs := checkMetadata(u)
		for _, p := range policiesOf(u, false) {
			for _, q := range l.policies {
				if q.ID == p.ID || q.Name == p.Name {
					errs = append(errs, ast.NewError(ast.CompileErr, &ast.Location{File: p.File, Row: 1, Col: 1},
						"check %s (%s) is also %s (%s, %s): expected an ID and a name of its own, so that findings, --config and dfwlint:ignore name one check", p.ID, p.Name, q.ID, q.Name, q.File))
				}
			}
		}
		if len(errs) > 0 {
			return nil, &PolicyError{Errs: errs}
		}
		for k, m := range u {
			mods[k] = m
		}
		l.policies = append(l.policies, policiesOf(u, false)...)
	}
	if err := l.cfg.checkNames(l.policies); err != nil {
		return nil, &ConfigError{Err: err}
	}
	if opts.Background {
		l.compiled = make(chan struct{})
		go func() {
			defer close(l.compiled)
			l.compileErr = l.compile(mods)
		}()
		return l, nil
	}
	if err := l.compile(mods); err != nil {
		return nil, err
	}
	return l, nil
}

// compile compiles the policies' modules and prepares a query for each
// entrypoint of each policy (l.checks).
func (l *Linter) compile(mods map[string]*ast.Module) error {
	caps := capabilities()
	c := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(false)
	if c.Compile(mods); c.Failed() {
		return &PolicyError{Errs: explainForbidden(c.Errors)}
	}
	for _, p := range l.policies {
		for _, e := range p.Entrypoints {
			sev := p.Severity
			for _, ep := range entrypoints {
				if ep.name == e && ep.severity != "" && !p.Builtin && p.Severity == "warning" {
					sev = ep.severity
				}
			}
			args := []func(*rego.Rego){
				rego.Compiler(c),
				rego.Query("data." + p.Package + "." + e),
				rego.Capabilities(caps),
				rego.StrictBuiltinErrors(true),
				// The result stays an OPA value: decodeFindings reads
				// it (a conversion to Go values first cost as much as
				// the evaluation of a check with many findings).
				rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
			}
			args = append(args, builtinImpls()...)
			pq, err := rego.New(args...).PrepareForEval(context.Background())
			if err != nil {
				return fmt.Errorf("policy %s (%s): %w", p.Package, p.File, err)
			}
			l.checks = append(l.checks, &check{Policy: p, entry: e, severity: sev, pq: pq})
		}
	}
	return nil
}

func explainForbidden(errs ast.Errors) ast.Errors {
	for _, e := range errs {
		for _, f := range Forbidden {
			if strings.Contains(e.Message, "undefined function "+f) {
				e.Message = fmt.Sprintf("%s is not allowed in dfwlint policies: they run without network, environment or runtime access (forbidden: %s)", f, strings.Join(Forbidden, ", "))
			}
		}
	}
	return errs
}

// Policies returns the metadata of the Linter's checks (built-in and the
// user's), sorted by ID.
func (l *Linter) Policies() []Policy { return append([]Policy{}, l.policies...) }

// CheckOptions are the per-ruleset inputs of Check.
type CheckOptions struct {
	// Base is how many of the loaded files, at the front, are --base
	// files: they are facts, and no finding points into them.
	Base int
	// Analyzer provides the analysis facts; nil until the analysis layer
	// exists (the checks that need them stay silent).
	Analyzer facts.Analyzer
	// Peer is the other family's ruleset of the same host (the IPv6
	// rules beside IPv4 ones, or the reverse), for DFW305; nil for none.
	Peer *facts.PeerRuleset
	// Timeout, when positive, replaces the linter's time per check for
	// this ruleset.
	Timeout time.Duration
	// CPUs is how many CPUs the analyses and checks of this ruleset may
	// use; 0 means all (GOMAXPROCS).
	CPUs int
	// Analyzed, when set, is called once the analyses are done, before
	// the checks run. Their packet sets, on a large ruleset most of the
	// memory its check takes, are garbage from then on: a caller that
	// watches its memory may collect them there.
	Analyzed func()
}

// Check builds the input document of loaded and evaluates every check.
// Input errors of loaded are in Report.Errors; an error is returned only
// when the analyses fail or ctx ends.
func (l *Linter) Check(ctx context.Context, loaded *parser.Loaded, opts CheckOptions) (*Report, error) {
	cpus := opts.CPUs
	if cpus <= 0 {
		cpus = runtime.GOMAXPROCS(0)
	}
	lean := l.serveRules()
	doc, err := facts.Build(ctx, loaded, facts.Options{
		Base: opts.Base, ExternalInterfaces: l.cfg.ExternalInterfaces,
		Config: l.cfg.policyConfig(), Analyzer: opts.Analyzer, Peer: opts.Peer, CPUs: cpus,
		RulesOnDemand: lean,
	})
	if err != nil {
		return nil, err
	}
	if opts.Analyzed != nil {
		opts.Analyzed()
	}
	rep := newReport()
	rep.policies = l.policies
	for _, f := range doc.Files {
		if !f.Base {
			rep.Summary.Files++
		}
	}
	rep.Summary.Rules = loaded.Ruleset.NumRules()
	base, checked := map[string]bool{}, map[string]bool{}
	for _, f := range doc.Files {
		if f.Base {
			base[f.Name] = true
		} else {
			checked[f.Name] = true
		}
	}
	for _, d := range loaded.Diags {
		if d.Severity == parser.SevError {
			rep.Errors = append(rep.Errors, Position{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Message: d.Msg})
			rep.errFamilies |= familyOf(loaded.Ruleset.Family)
			continue
		}
		if base[d.Pos.File] || errors.Is(d, parser.ErrUnknownMatch) || errors.Is(d, parser.ErrUnknownTarget) {
			continue // DFW901 reports unknown matches and targets
		}
		rep.Findings = append(rep.Findings, Finding{
			ID: "DFW001", Name: "parse-warning", Severity: "warning", Message: d.Msg,
			File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Related: []Position{},
		})
	}
	if err := l.Wait(); err != nil {
		return nil, err
	}
	found, perrs, err := l.eval(ctx, doc, lean, loaded.Ruleset, opts.Analyzer, opts.Timeout, cpus)
	if err != nil {
		return nil, err
	}
	rep.Errors = append(rep.Errors, perrs...)
	sup := suppressions(loaded)
	var passes map[Position]Position
	if len(base) > 0 {
		passes = chainsPassed(loaded.Ruleset, checked)
	}
	for _, f := range found {
		if base[f.File] {
			var ok bool
			if !pathFinding[f.ID] {
				continue
			}
			if f, ok = relocate(f, checked, passes); !ok {
				continue
			}
		}
		if l.cfg.disabled(f.ID, f.Name) {
			continue
		}
		if s := l.cfg.severity(f.ID, f.Name); s != "" {
			f.Severity = s
		}
		if sup.matches(f) {
			rep.Suppressed = append(rep.Suppressed, f)
			continue
		}
		rep.Findings = append(rep.Findings, f)
	}
	rep.finish()
	rep.lines = lineTextsOf(rep, loaded.Files)
	return rep, nil
}

// pathFinding are the checks about what a packet's path through the whole
// ruleset lets through: their finding concerns a checked file whenever the
// path runs through one of its rules, even if the deciding rule is in a
// --base file. DFW305 is one of them: a port Docker's rule (in the base)
// accepts over one family and the checked file closes over the other is
// the checked file's doing when the packet's path runs through it.
var pathFinding = map[string]bool{"DFW201": true, "DFW204": true, "DFW206": true, "DFW301": true, "DFW304": true, "DFW305": true}

// relocate moves a finding that points into a --base file to the last of
// its related positions that lies in a checked file: e.g. a published port
// that Docker's own rule (in the live dump given as a base) accepts on an
// uplink the checked file's filter never looks at is the checked file's
// doing, through the rule of it on the packet's path (a RETURN, a
// jump). The base position stays among the related ones. A finding with no
// related position in a checked file is about the base alone: ok is false.
// Only this ruleset's checked files count: DFW305's related positions
// also name the other family's files, which are not on this packet's path.
//
// Failing that, a jump on the path (in the base) into a chain whose rules
// a checked file wrote moves the finding to the first of those rules: the
// packet went through them without matching one (DOCKER-USER rules that
// all name eth0 leave a second uplink open), which is the checked file's
// doing too.
func relocate(f Finding, checked map[string]bool, passes map[Position]Position) (Finding, bool) {
	move := func(i int, to Position, why string) Finding {
		orig := Position{File: f.File, Line: f.Line, Column: f.Column, Message: "accepted here, by a rule of " + f.File}
		related := append([]Position{orig}, f.Related[:i]...)
		if to != f.Related[i] {
			related = append(related, f.Related[i])
		}
		related = append(related, f.Related[i+1:]...)
		f.File, f.Line, f.Column = to.File, to.Line, to.Column
		f.Message += why
		f.Related = related
		return f
	}
	for i := len(f.Related) - 1; i >= 0; i-- {
		if r := f.Related[i]; checked[r.File] {
			return move(i, r, "; the packet passes this rule on its way"), true
		}
	}
	for i := len(f.Related) - 1; i >= 0; i-- {
		r := f.Related[i]
		if to, ok := passes[Position{File: r.File, Line: r.Line, Column: r.Column}]; ok {
			return move(i, to, "; the packet passes the rules of this chain without matching one"), true
		}
	}
	return f, false
}

// chainsPassed maps each jump (-j, -g) of a --base file to the first rule
// a checked file wrote in the chain it enters (see relocate).
func chainsPassed(rs *parser.Ruleset, checked map[string]bool) map[Position]Position {
	out := map[Position]Position{}
	for _, t := range rs.Tables {
		for _, c := range t.Order {
			for _, r := range c.Rules {
				tg := r.Target
				if tg == nil || tg.Kind != parser.TargetChain || tg.Ref == nil || checked[r.Pos.File] {
					continue
				}
				for _, in := range tg.Ref.Rules {
					if checked[in.Pos.File] {
						out[Position{File: r.Pos.File, Line: r.Pos.Line, Column: r.Pos.Col}] = Position{File: in.Pos.File, Line: in.Pos.Line, Column: in.Pos.Col, Message: "path: " + tg.Ref.Name}
						break
					}
				}
			}
		}
	}
	return out
}

type evalState struct {
	rs   *parser.Ruleset
	host facts.Host
	an   facts.Analyzer
	// served serves the rules when the input leaves them out.
	served *servedRules
}

type stateKey struct{}

// serveRules tells whether the checks get the document without its rules,
// served on demand (served.go): when every check that runs is built in. A
// user's policy gets the whole document.
func (l *Linter) serveRules() bool {
	// (Read from the policies: the checks may not be compiled yet.)
	for _, p := range l.policies {
		if !p.Builtin && len(p.Entrypoints) > 0 && !l.cfg.disabled(p.ID, p.Name) {
			return false
		}
	}
	return true
}

// eval evaluates every check over the input document doc (which Check
// builds; with lean, its rules built on demand and served), with timeout,
// when positive, as the time per check, on cpus CPUs. rs and an serve the
// custom built-in functions and may be nil.
// Findings come back without suppressions or configuration applied; a
// policy's evaluation error is a Position in the second result.
func (l *Linter) eval(ctx context.Context, doc *facts.Document, lean bool, rs *parser.Ruleset, an facts.Analyzer, timeout time.Duration, cpus int) ([]Finding, []Position, error) {
	if timeout <= 0 {
		timeout = l.timeout
	}
	// With lean, the built-in checks alone read the rules they need
	// through data.dfw.lib, served on demand (served.go).
	var served *servedRules
	var input ast.Value
	var err error
	if lean {
		served = newServedRules(doc)
		input, err = leanInput(doc, cpus)
	} else {
		input, err = astOf(doc, cpus)
	}
	if err != nil {
		return nil, nil, err
	}
	// From here on the document is its value (and, when served, its
	// rules): only its files and host are kept, so that the rest of the
	// Go document can be collected while the checks run.
	files, host := doc.Files, doc.Host
	doc = nil
	parent := context.WithValue(ctx, stateKey{}, &evalState{rs: rs, host: host, an: an, served: served})
	// The checks read the same input and nothing else they share changes
	// (the analyses are computed once, under their own lock): they run on
	// cpus CPUs, and their results are put together in the checks' order.
	type result struct {
		found []Finding
		perrs []Position
		err   error
	}
	results := make([]result, len(l.checks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(cpus, len(l.checks))) {
		wg.Go(func() {
			for i := range next {
				r := &results[i]
				r.found, r.perrs, r.err = l.evalCheck(parent, l.checks[i], input, timeout, files)
			}
		})
	}
	for i, c := range l.checks {
		if l.cfg.disabled(c.ID, c.Name) {
			continue
		}
		if parent.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, nil, err
	}
	var out []Finding
	var perrs []Position
	for _, r := range results {
		if r.err != nil {
			return nil, nil, r.err
		}
		out = append(out, r.found...)
		perrs = append(perrs, r.perrs...)
	}
	return out, perrs, nil
}

// evalCheck evaluates one check with its timeout: its findings, or the
// error a policy made; err only when parent ended.
func (l *Linter) evalCheck(parent context.Context, c *check, input ast.Value, timeout time.Duration, files []facts.File) ([]Finding, []Position, error) {
	// Each check has the whole timeout: one slow check does not silence
	// the others.
	ctx, cancel := context.WithTimeout(parent, timeout)
	rs, err := c.pq.Eval(ctx, rego.EvalParsedInput(input))
	timedOut := err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		switch {
		case timedOut && c.Builtin:
			// A built-in check cut short is an analysis cut short: a
			// warning that says what is missing, never a silent pass.
			return []Finding{incompleteCheck(c, timeout, files)}, nil, nil
		case timedOut:
			return nil, []Position{{File: c.File, Line: 1, Column: 1,
				Message: fmt.Sprintf("policy %s: evaluation stopped after %s (timeout) checking %s (--policy-timeout raises the limit)", c.Package, timeout, checkedFiles(files))}}, nil
		case parent.Err() != nil:
			return nil, nil, parent.Err()
		default:
			return nil, []Position{evalError(c, err)}, nil
		}
	}
	fs, err := decodeFindings(c, rs, files)
	if err != nil {
		return nil, []Position{{File: c.File, Line: 1, Column: 1, Message: fmt.Sprintf("policy %s.%s: %v", c.Package, c.entry, err)}}, nil
	}
	return fs, nil, nil
}

// incompleteCheck is the DFW902 finding for a built-in check that ran out
// of time on a ruleset.
func incompleteCheck(c *check, timeout time.Duration, files []facts.File) Finding {
	file := ""
	for _, f := range files {
		if !f.Base {
			file = f.Name
			break
		}
	}
	return Finding{
		ID: "DFW902", Name: "analysis-incomplete", Severity: "warning",
		Message: fmt.Sprintf("check %s (%s) stopped after %s (--policy-timeout raises the limit): what it would have found on this ruleset is not reported",
			c.ID, c.Name, timeout),
		File: file, Line: 1, Column: 1, Related: []Position{}, Witness: json.RawMessage("null"),
	}
}

// checkedFiles names the files a document checks (its --base files
// excepted), for an error that is about the whole ruleset.
func checkedFiles(files []facts.File) string {
	var names []string
	for _, f := range files {
		if !f.Base {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 {
		return "the ruleset"
	}
	return strings.Join(names, ", ")
}

func evalError(c *check, err error) Position {
	var te *topdown.Error
	if errors.As(err, &te) && te.Location != nil {
		return Position{File: te.Location.File, Line: te.Location.Row, Column: te.Location.Col,
			Message: fmt.Sprintf("policy %s: %s", c.Package, te.Message)}
	}
	return Position{File: c.File, Line: 1, Column: 1, Message: fmt.Sprintf("policy %s: %v", c.Package, err)}
}

// rawFinding is what a policy yields (a finding object, or for conftest
// style rules a string or an object with msg).
type rawFinding struct {
	ID       string          `json:"id"`
	Severity string          `json:"severity"`
	Msg      string          `json:"msg"`
	Message  string          `json:"message"`
	File     string          `json:"file"`
	Line     int             `json:"line"`
	Column   int             `json:"column"`
	Table    string          `json:"table"`
	Chain    string          `json:"chain"`
	Rule     int             `json:"rule"`
	Related  []Position      `json:"related"`
	Witness  json.RawMessage `json:"witness"`
}

func decodeFindings(c *check, rs rego.ResultSet, files []facts.File) ([]Finding, error) {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("result %T, expected an OPA value", rs[0].Expressions[0].Value)
	}
	var items []*ast.Term
	switch v := t.Value.(type) {
	case ast.Set:
		v.Foreach(func(x *ast.Term) { items = append(items, x) })
	case *ast.Array:
		v.Foreach(func(x *ast.Term) { items = append(items, x) })
	case ast.Object:
		v.Foreach(func(_, x *ast.Term) { items = append(items, x) })
	case ast.Null:
		return nil, nil
	default:
		items = []*ast.Term{t}
	}
	var out []Finding
	for _, it := range items {
		rf, err := rawFindingOf(it.Value)
		if err != nil {
			return nil, err
		}
		f := Finding{
			ID: c.ID, Name: c.Name, Severity: c.severity, Message: rf.Msg,
			File: rf.File, Line: rf.Line, Column: rf.Column, Table: rf.Table, Chain: rf.Chain, Rule: rf.Rule,
			Related: rf.Related,
		}
		if f.Message == "" {
			f.Message = rf.Message
		}
		if rf.ID != "" && !c.Builtin {
			f.ID = rf.ID
		}
		if rf.Severity != "" {
			if _, ok := severityRank[rf.Severity]; !ok || rf.Severity == "never" {
				return nil, fmt.Errorf("finding severity %q (expected error, warning or info)", rf.Severity)
			}
			f.Severity = rf.Severity
		}
		if len(rf.Witness) > 0 && string(rf.Witness) != "null" {
			f.Witness = rf.Witness
		}
		if f.File == "" {
			// A position-less finding (conftest style) points at the
			// first line of the last file checked.
			for _, fl := range files {
				f.File = fl.Name
			}
			f.Line = 1
		}
		if f.Line > 0 && f.Column == 0 {
			f.Column = 1
		}
		if f.Related == nil {
			f.Related = []Position{}
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out, nil
}

// rawFindingOf reads a finding as encoding/json would read its JSON text
// into a rawFinding: directly when it has only rawFinding's keys with
// values of their types and no witness (every built-in finding but those
// with a witness), through JSON otherwise.
func rawFindingOf(v ast.Value) (rawFinding, error) {
	var rf rawFinding
	if s, ok := v.(ast.String); ok {
		rf.Msg = string(s)
		return rf, nil
	}
	if obj, ok := v.(ast.Object); ok && fastFinding(obj, &rf) {
		return rf, nil
	}
	rf = rawFinding{}
	x, err := ast.JSON(v)
	if err != nil {
		return rf, err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return rf, err
	}
	if err := json.Unmarshal(b, &rf); err != nil {
		return rf, fmt.Errorf("a finding is not an object with msg, file, line…: %v", err)
	}
	return rf, nil
}

// fastFinding fills rf from obj when every key of obj is one of
// rawFinding's, spelt as its tag, with a value of the field's type (or
// null), and the witness is null or absent; false leaves rf to JSON. Keys
// are looked up, not walked: a walk sorts an object's keys first.
func fastFinding(obj ast.Object, rf *rawFinding) bool {
	found := 0
	get := lookup(obj, &found)
	ok := optString(get(keyID), &rf.ID) && optString(get(keySeverity), &rf.Severity) &&
		optString(get(keyMsg), &rf.Msg) && optString(get(keyMessage), &rf.Message) &&
		optString(get(keyFile), &rf.File) && optString(get(keyTable), &rf.Table) &&
		optString(get(keyChain), &rf.Chain) && optInt(get(keyLine), &rf.Line) &&
		optInt(get(keyColumn), &rf.Column) && optInt(get(keyRule), &rf.Rule) &&
		optPositions(get(keyRelated), &rf.Related)
	if !ok {
		return false
	}
	if w := get(keyWitness); w != nil {
		if _, null := w.(ast.Null); !null {
			return false
		}
		rf.Witness = json.RawMessage("null")
	}
	return found == obj.Len()
}

var (
	keyID, keySeverity, keyMsg, keyMessage = ast.StringTerm("id"), ast.StringTerm("severity"), ast.StringTerm("msg"), ast.StringTerm("message")
	keyFile, keyTable, keyChain, keyLine   = ast.StringTerm("file"), ast.StringTerm("table"), ast.StringTerm("chain"), ast.StringTerm("line")
	keyColumn, keyRule, keyRelated         = ast.StringTerm("column"), ast.StringTerm("rule"), ast.StringTerm("related")
	keyWitness                             = ast.StringTerm("witness")
)

// lookup is a getter of obj's values by key, nil for a missing key; it
// counts the keys found in *found.
func lookup(obj ast.Object, found *int) func(*ast.Term) ast.Value {
	return func(k *ast.Term) ast.Value {
		v := obj.Get(k)
		if v == nil {
			return nil
		}
		*found++
		return v.Value
	}
}

func optString(v ast.Value, out *string) bool { return v == nil || astString(v, out) }

func optInt(v ast.Value, out *int) bool { return v == nil || astInt(v, out) }

func optPositions(v ast.Value, out *[]Position) bool { return v == nil || astPositions(v, out) }

func astString(v ast.Value, out *string) bool {
	switch x := v.(type) {
	case ast.String:
		*out = string(x)
		return true
	case ast.Null:
		return true
	}
	return false
}

// astInt reads an integer as encoding/json reads one into an int: a
// number written without fraction or exponent.
func astInt(v ast.Value, out *int) bool {
	switch x := v.(type) {
	case ast.Number:
		n, err := strconv.Atoi(string(x))
		if err != nil {
			return false
		}
		*out = n
		return true
	case ast.Null:
		return true
	}
	return false
}

func astPositions(v ast.Value, out *[]Position) bool {
	switch x := v.(type) {
	case ast.Null:
		return true
	case *ast.Array:
		ps := make([]Position, 0, x.Len())
		for i := range x.Len() {
			obj, ok := x.Elem(i).Value.(ast.Object)
			if !ok {
				return false
			}
			var p Position
			found := 0
			get := lookup(obj, &found)
			ok = optString(get(keyFile), &p.File) && optString(get(keyMessage), &p.Message) &&
				optInt(get(keyLine), &p.Line) && optInt(get(keyColumn), &p.Column) && found == obj.Len()
			if !ok {
				return false
			}
			ps = append(ps, p)
		}
		*out = ps
		return true
	}
	return false
}
