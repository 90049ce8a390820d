package analysis

import (
	"context"
	"fmt"
	"sync"

	"github.com/dfw-project/dfw/lint/exposure"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/symbolic"
)

// Analyzer is the facts.Analyzer of dfwlint. Building one is cheap; the
// packet-set analysis of a ruleset is computed once, on the first call
// that needs it, and shared by Reachability and Redundancy (the last
// ruleset's result is kept until both have made their facts from it: on
// a large ruleset it is megabytes that the checks, which run next, never
// read). It is safe for concurrent use.
type Analyzer struct {
	opts Options

	mu   sync.Mutex
	last *cached
}

type cached struct {
	rs   *parser.Ruleset
	once sync.Once
	res  *Result
	err  error
	// made has a bit for each kind of facts made from res (madeReach,
	// madeRedundant).
	made uint8
}

const (
	madeReach uint8 = 1 << iota
	madeRedundant
)

// made notes that the facts of kind were made from c's result, and lets
// the result go once both kinds were: a later call computes it again.
func (a *Analyzer) made(c *cached, kind uint8) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.made |= kind
	if c.made == madeReach|madeRedundant && a.last == c {
		a.last = nil
	}
}

var _ facts.Analyzer = (*Analyzer)(nil)

// New returns an Analyzer with the given budgets.
func New(opts Options) *Analyzer { return &Analyzer{opts: opts} }

// Result returns the analysis of rs, computing it on first use.
func (a *Analyzer) Result(ctx context.Context, rs *parser.Ruleset) (*Result, error) {
	c, err := a.result(ctx, rs)
	return c.res, err
}

func (a *Analyzer) result(ctx context.Context, rs *parser.Ruleset) (*cached, error) {
	a.mu.Lock()
	c := a.last
	if c == nil || c.rs != rs {
		c = &cached{rs: rs}
		a.last = c
	}
	a.mu.Unlock()
	c.once.Do(func() { c.res, c.err = Analyze(ctx, rs, a.opts, true) })
	if c.err != nil {
		// Let a later call with a live context try again.
		a.mu.Lock()
		if a.last == c {
			a.last = nil
		}
		a.mu.Unlock()
	}
	return c, c.err
}

// dockerOwned: the rules of the chains Docker owns (facts.DockerChains)
// are analysed, and their packets followed, but their unreachable and
// redundant verdicts are left out of the facts. Docker writes these
// chains and rewrites them whenever a network or container changes; with
// one bridge its isolation rules never match, and its per-network DROP
// rules repeat what the isolation chains already did. Nothing there is
// the user's to fix. Result keeps them.
const dockerOwned = true

func ref(r *parser.Rule, index int) facts.Ref {
	col := r.Pos.Col
	if col == 0 && r.Pos.Line > 0 {
		col = 1
	}
	return facts.Ref{
		Loc:   facts.Loc{File: r.Pos.File, Line: r.Pos.Line, Column: col},
		Table: r.Table, Chain: r.Chain, Index: index,
		ID:   fmt.Sprintf("%s/%s/%d", r.Table, r.Chain, index),
		Goto: r.Target != nil && r.Target.Goto,
	}
}

func (res *Result) indexOf() map[*parser.Rule]int {
	m := make(map[*parser.Rule]int, len(res.Rules))
	for _, rr := range res.Rules {
		m[rr.Rule] = rr.Index
	}
	return m
}

func incompleteOf(res *Result, name string) []facts.Incomplete {
	out := []facts.Incomplete{}
	for _, x := range res.Incomplete {
		if x.Analysis == name {
			out = append(out, x)
		}
	}
	return out
}

// Reachability implements facts.Analyzer. Rules of chains no packet
// enters, and rules a budget left unanalysed, have no entry.
func (a *Analyzer) Reachability(ctx context.Context, rs *parser.Ruleset) ([]facts.Reach, []facts.Incomplete, error) {
	c, err := a.result(ctx, rs)
	if err != nil {
		return nil, nil, err
	}
	defer a.made(c, madeReach)
	res := c.res
	idx := res.indexOf()
	out := make([]facts.Reach, 0, len(res.Rules))
	for _, rr := range res.Rules {
		if rr.Status != Reachable && rr.Status != Unreachable {
			continue
		}
		if rr.Status == Unreachable && facts.IsDockerChain(rr.Table, rr.Chain) {
			continue // see dockerOwned
		}
		x := facts.Reach{
			Rule: fmt.Sprintf("%s/%s/%d", rr.Table, rr.Chain, rr.Index), Reachable: rr.Status == Reachable,
			Covering: []facts.Ref{}, DependsOnMayMatch: rr.DependsOnMayMatch, MayMatch: []facts.Ref{},
		}
		for _, c := range rr.Covering {
			x.Covering = append(x.Covering, ref(c, idx[c]))
		}
		for _, c := range rr.MayMatch {
			x.MayMatch = append(x.MayMatch, ref(c, idx[c]))
		}
		out = append(out, x)
	}
	return out, incompleteOf(res, facts.AnalysisReachability), nil
}

// Redundancy implements facts.Analyzer.
func (a *Analyzer) Redundancy(ctx context.Context, rs *parser.Ruleset) ([]facts.Redundant, []facts.Incomplete, error) {
	c, err := a.result(ctx, rs)
	if err != nil {
		return nil, nil, err
	}
	defer a.made(c, madeRedundant)
	res := c.res
	idx := res.indexOf()
	out := []facts.Redundant{}
	for _, rr := range res.Rules {
		if !rr.Redundant || facts.IsDockerChain(rr.Table, rr.Chain) {
			continue // see dockerOwned
		}
		at := ref(rr.Rule, rr.Index)
		x := facts.Redundant{Rule: at.ID, Loc: at.Loc, Table: at.Table, Chain: at.Chain, Index: at.Index, CoveredBy: []facts.Ref{}}
		for _, c := range rr.CoveredBy {
			x.CoveredBy = append(x.CoveredBy, ref(c, idx[c]))
		}
		if ch := rr.CoveredByPolicy; ch != nil {
			p := ch.PolicyPos
			if !p.IsValid() {
				p = ch.Pos
			}
			col := p.Col
			if col == 0 && p.Line > 0 {
				col = 1
			}
			x.CoveredBy = append(x.CoveredBy, facts.Ref{
				Loc: facts.Loc{File: p.File, Line: p.Line, Column: col}, Table: ch.Table, Chain: ch.Name,
				ID: ch.Table + "/" + ch.Name,
			})
		}
		out = append(out, x)
	}
	return out, incompleteOf(res, facts.AnalysisRedundancy), nil
}

// notComputed is what the analyses of package sim/symbolic give until
// they are wired in: nothing, and an Incomplete that is not a budget, so
// that the checks built on them stay silent rather than report "all
// clear".
func notComputed(name string) []facts.Incomplete {
	return []facts.Incomplete{{Analysis: name, Reason: "not computed: the symbolic evaluator (sim/symbolic) is not wired in yet"}}
}

// Exposure implements facts.Analyzer with the symbolic evaluator of the
// whole netfilter path (package lint/exposure): the new connections from
// outside accepted on each external interface.
func (a *Analyzer) Exposure(ctx context.Context, rs *parser.Ruleset, host facts.Host) ([]facts.Exposure, []facts.Diverted, []facts.Incomplete, error) {
	return exposure.Exposure(ctx, rs, host, a.symbolic())
}

// Established implements facts.Analyzer: what happens to the replies of
// connections the host and the containers open.
func (a *Analyzer) Established(ctx context.Context, rs *parser.Ruleset, host facts.Host) ([]facts.Established, []facts.Incomplete, error) {
	return exposure.Established(ctx, rs, host, a.symbolic())
}

// Outbound implements facts.Analyzer: the rules that drop the new
// connections containers open to the outside.
func (a *Analyzer) Outbound(ctx context.Context, rs *parser.Ruleset, host facts.Host) ([]facts.Outbound, []facts.Incomplete, error) {
	return exposure.Outbound(ctx, rs, host, a.symbolic())
}

// Reachable implements facts.Analyzer: whether a new connection arriving
// on an interface reaches a port, with a witness.
func (a *Analyzer) Reachable(ctx context.Context, rs *parser.Ruleset, host facts.Host, q facts.Query) (facts.Answer, error) {
	return exposure.Reachable(ctx, rs, host, q, a.symbolic())
}

// FamilyGap implements facts.FamilyGapAnalyzer: the ports rs opens to
// outside more widely than peer, the other family's ruleset, does.
func (a *Analyzer) FamilyGap(ctx context.Context, rs, peer *parser.Ruleset, peerFiles []string, host facts.Host) ([]facts.FamilyGap, []facts.Incomplete, error) {
	return exposure.FamilyGap(ctx, rs, peer, peerFiles, host, a.symbolic())
}

// symbolic gives the path evaluations the analyzer's time budget.
func (a *Analyzer) symbolic() symbolic.Options {
	return symbolic.Options{Timeout: a.opts.withDefaults().Timeout}
}
