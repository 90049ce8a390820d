// Package analysis computes the rule-graph analyses of dfwlint over exact
// packet sets (package sim/pset): for every rule, the packets that can
// reach it through jumps, gotos, RETURN and every entry chain, and whether
// any can match it; for an unreachable rule, the earlier rules that cover
// it; the rules whose removal changes no packet's fate; the chains nothing
// enters. Every claim is sound: a rule is called unreachable or redundant
// only when no packet, whatever the outcome of the matches dfw cannot
// evaluate offline ("may match"), makes it otherwise.
//
// [New] returns the [facts.Analyzer] the linter uses; [Analyze] is the
// underlying computation. docs/analysis-reachability.md describes the
// method, its approximations and its limits.
package analysis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxNodes    = 20_000_000
	DefaultMaxCovering = 5
)

// Options bound the analyses. The zero value takes the defaults.
type Options struct {
	// Timeout bounds each analysis of one ruleset (reachability, then
	// redundancy); 0 means DefaultTimeout, a negative value none.
	Timeout time.Duration
	// MaxNodes bounds the BDD nodes of the packet sets of one ruleset
	// (about 12 bytes each plus tables); 0 means DefaultMaxNodes, a
	// negative value none.
	MaxNodes int
	// MaxCovering bounds the covering rules given for one unreachable
	// rule; 0 means DefaultMaxCovering.
	MaxCovering int
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxNodes == 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.MaxCovering <= 0 {
		o.MaxCovering = DefaultMaxCovering
	}
	return o
}

// Status is what the analysis says of a rule's reachability.
type Status uint8

const (
	// NotAnalysed: a budget stopped the analysis before this rule.
	NotAnalysed Status = iota
	// Reachable: some packet may reach the rule and match it.
	Reachable
	// Unreachable: no packet reaches the rule and matches it.
	Unreachable
	// NotEntered: the rule's chain is entered by no packet (no rule jumps
	// to it, or only rules no packet reaches): its rules are dead, which
	// UnusedChains reports once for the chain.
	NotEntered
)

func (s Status) String() string {
	return [...]string{"not analysed", "reachable", "unreachable", "not entered"}[s]
}

// RuleResult is what the analyses say of one rule.
type RuleResult struct {
	Rule         *parser.Rule
	Table, Chain string
	Index        int // 1-based
	Status       Status
	// EmptyMatch is set for an unreachable rule whose own matches hold
	// no packet (contradictory options, or a match impossible at the
	// hooks its chain is reached from).
	EmptyMatch bool
	// Covering are the earlier rules that take every packet that would
	// match an unreachable rule (a covering jump is followed by the rules
	// of its chain that take them).
	Covering []*parser.Rule
	// DependsOnMayMatch is set for a reachable rule that would be
	// unreachable if the may-match rules before it in its chain matched
	// (MayMatch lists them).
	DependsOnMayMatch bool
	MayMatch          []*parser.Rule
	// Redundant is set when removing the rule changes no packet's fate;
	// CoveredBy are the later rules that decide the same, CoveredByPolicy
	// when the chain's policy does (for some of the packets).
	Redundant       bool
	CoveredBy       []*parser.Rule
	CoveredByPolicy *parser.Chain
}

// ChainRef names a chain.
type ChainRef struct {
	Table, Chain string
	Pos          parser.Pos
	// Referenced is set when some rule jumps or goes to the chain (but no
	// packet reaches such a rule).
	Referenced bool
}

// Result is the outcome of Analyze.
type Result struct {
	Rules []RuleResult
	// UnusedChains are the user chains no packet enters.
	UnusedChains []ChainRef
	// Incomplete lists the analyses a budget cut short; their facts are
	// partial, never wrong.
	Incomplete []facts.Incomplete
	// Nodes is the number of BDD nodes used, Steps the number of set
	// operation steps (a measure of work independent of the machine).
	Nodes, Steps int
	// Redundancy is set when the redundancy analysis was run.
	Redundancy bool
}

// Analyze runs the reachability analysis of rs and, when redundancy is
// set, the redundancy analysis. It returns an error only when ctx ends;
// a budget gives a partial Result with Incomplete entries.
func Analyze(ctx context.Context, rs *parser.Ruleset, opts Options, redundancy bool) (*Result, error) {
	opts = opts.withDefaults()
	rctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	e := newEngine(rctx, rs, opts.MaxNodes)
	res := &Result{}
	err := e.run()
	if afterWalk != nil {
		afterWalk(cancel)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		res.Incomplete = append(res.Incomplete, facts.Incomplete{
			Analysis: facts.AnalysisReachability, Budget: true,
			Reason: fmt.Sprintf("%s while %s", e.budgetReason(), e.cut),
		})
	}
	e.results(res, opts, err == nil)
	if redundancy {
		res.Redundancy = true
		if err != nil {
			res.Incomplete = append(res.Incomplete, facts.Incomplete{
				Analysis: facts.AnalysisRedundancy, Budget: true,
				Reason: "the reachability analysis it needs was cut short",
			})
		} else {
			dctx, cancel2 := withTimeout(ctx, opts.Timeout)
			e.ctx = dctx
			err2 := e.redundancy(res)
			cancel2()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err2 != nil {
				res.Incomplete = append(res.Incomplete, facts.Incomplete{
					Analysis: facts.AnalysisRedundancy, Budget: true,
					Reason: e.budgetReason() + " while proving rules redundant",
				})
			}
		}
	}
	res.Nodes, res.Steps = e.u.NodeCount(), e.u.Steps()
	return res, nil
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func (e *engine) budgetReason() string {
	if e.ctx.Err() != nil {
		return "time budget reached"
	}
	return fmt.Sprintf("packet-set budget reached (%d BDD nodes)", e.u.NodeCount())
}

// afterWalk, set by a test, runs when the reachability walk ends, with
// the cancel function of its clock.
var afterWalk func(cancel context.CancelFunc)

// maxCoverSteps bounds the work (BDD operation steps: the same on every
// machine) spent finding covering rules for one ruleset.
const maxCoverSteps = 20_000_000

// results fills res.Rules and res.UnusedChains from the reach sets;
// complete is set when the walk finished. The covering rules are an
// explanation: computed when the walk finished (else only while its clock
// runs), within maxCoverSteps, so that the same ruleset gets the same
// explanation whatever the machine's speed or load.
func (e *engine) results(res *Result, opts Options, complete bool) {
	coverFrom := e.u.Steps()
	res.Rules = slices.Grow(res.Rules, e.rs.NumRules()) // a rule result is large: no growing copies
	for _, ti := range e.tables {
		for _, ci := range ti.chains {
			if !ci.c.Builtin && ci.entered && ci.entry.IsEmpty() {
				res.UnusedChains = append(res.UnusedChains, ChainRef{Table: ti.t.Name, Chain: ci.c.Name, Pos: ci.c.Pos, Referenced: len(ci.callers) > 0})
			}
			for _, ri := range ci.rules {
				rr := RuleResult{Rule: ri.r, Table: ti.t.Name, Chain: ci.c.Name, Index: ri.index}
				switch {
				case ri.analysed && !ri.matched.IsEmpty():
					rr.Status = Reachable
					if ri.hasReachAll && !ri.reachAll {
						rr.DependsOnMayMatch = true
						rr.MayMatch = e.mayMatchBefore(ri)
					}
				case ri.analysed:
					rr.Status = Unreachable
					rr.EmptyMatch = ri.may.IsEmpty() || !ci.entry.Overlaps(ri.may)
					if !rr.EmptyMatch && (complete || e.ctx.Err() == nil) && e.u.Steps()-coverFrom < maxCoverSteps {
						for _, c := range e.cover(ri, opts.MaxCovering) {
							rr.Covering = append(rr.Covering, c.r)
						}
					}
				case ci.entered && ci.entry.IsEmpty():
					rr.Status = NotEntered
				}
				res.Rules = append(res.Rules, rr)
			}
		}
	}
}

// mayMatchBefore lists the may-match rules before ri in its chain that
// take some of the packets that would match it.
func (e *engine) mayMatchBefore(ri *ruleInfo) []*parser.Rule {
	target := ri.chain.entry.Intersect(ri.may)
	var out []*parser.Rule
	for _, p := range e.candidates(ri.chain, target, 0, ri.index-1) {
		rj := ri.chain.rules[p]
		if rj.must.Equal(rj.may) || rj.eff == effContinue || rj.eff == effModify {
			continue
		}
		if rj.may.Overlaps(target) {
			out = append(out, rj.r)
		}
	}
	return out
}

// pset is imported for the documentation links.
var _ = pset.NumFields
