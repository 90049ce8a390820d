package analysis

import (
	"context"
	"errors"
	"fmt"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// errBudget is returned inside the walk when a budget is hit.
var errBudget = errors.New("budget")

// effect is what a rule's target does to the packets it matches.
type effect uint8

const (
	effContinue effect = iota // LOG, NFLOG…: nothing, the packet goes on
	effVerdict                // ACCEPT, DROP, REJECT, QUEUE, NAT…: the packet leaves the table
	effReturn                 // RETURN
	effJump                   // -j USER-CHAIN
	effGoto                   // -g USER-CHAIN
	effModify                 // MARK, CONNMARK, CT, TOS, TTL…: the packet goes on, changed
	effUnknown                // an unknown target: it may stop the packet or change anything
)

// ruleInfo is the analysis state of one rule.
type ruleInfo struct {
	r     *parser.Rule
	chain *chainInfo
	index int // 1-based
	must  pset.Set
	may   pset.Set
	eff   effect
	// mods are the fields an effModify rule changes.
	mods []pset.Field
	// callee is the chain of a jump or goto.
	callee *chainInfo
	// reach over-approximates the packets that arrive at the rule;
	// analysed is set once it is computed.
	reach    pset.Set
	analysed bool
	// decides under-approximates the packets that this rule certainly
	// takes out of the chain's flow.
	decides pset.Set
	// reachAll is reach with every may-match rule of the chain taken as
	// matching (only in chains that have a may-match rule).
	reachAll    pset.Set
	hasReachAll bool
}

// chainInfo is the analysis state of one chain.
type chainInfo struct {
	c     *parser.Chain
	table string
	rules []*ruleInfo
	// callers are the rules that jump or go to the chain.
	callers []*ruleInfo
	// entry over-approximates the packets that enter the chain.
	entry   pset.Set
	entered bool // entry computed
	// decided under-approximates the packets that, entering the chain,
	// certainly end with a verdict inside it (never come back to the
	// caller). Computed once, for every packet (it does not depend on
	// the entry set).
	decided    pset.Set
	hasDecided bool
	// mods are the fields the chain (and the chains it jumps to) may
	// change on packets that come back.
	mods    []pset.Field
	hasMay  bool // some rule's must != may
	visited uint8
}

// tableInfo is the analysis state of one table.
type tableInfo struct {
	t      *parser.Table
	chains []*chainInfo
	byName map[string]*chainInfo
}

// engine runs the analyses of one ruleset.
type engine struct {
	ctx      context.Context
	u        *pset.Universe
	rs       *parser.Ruleset
	maxNodes int
	tables   []*tableInfo
	byRule   map[*parser.Rule]*ruleInfo
	ops      int
	// cut names the phase a budget stopped, "" when none did.
	cut string
}

// check returns errBudget when the context ended or the universe grew
// past the node budget. It is cheap enough to call at every rule.
func (e *engine) check() error {
	e.ops++
	if e.ops&63 != 0 {
		return nil
	}
	if e.ctx.Err() != nil {
		return errBudget
	}
	if e.maxNodes > 0 && e.u.NodeCount() > e.maxNodes {
		return errBudget
	}
	return nil
}

func allFields() []pset.Field {
	fs := make([]pset.Field, 0, pset.NumFields)
	for f := pset.Field(0); f < pset.NumFields; f++ {
		fs = append(fs, f)
	}
	return fs
}

var ctFields = []pset.Field{pset.CTState, pset.CTNat, pset.CTStatus, pset.CTDir, pset.CTMark, pset.CTProto,
	pset.CTOrigDst, pset.CTOrigDport, pset.CTOrigSrc, pset.CTOrigSport,
	pset.CTReplDst, pset.CTReplDport, pset.CTReplSrc, pset.CTReplSport}

// classify tells what the target of r does. Approximations (all sound):
// an unknown target may stop the packet or change any field; TCPMSS is
// taken to change the length; SET, TEE, SECMARK… change no modelled field.
func classify(r *parser.Rule) (effect, []pset.Field) {
	t := r.Target
	if t == nil {
		return effContinue, nil
	}
	switch t.Kind {
	case parser.TargetVerdict:
		if t.Name == "RETURN" {
			return effReturn, nil
		}
		return effVerdict, nil
	case parser.TargetChain:
		if t.Goto {
			return effGoto, nil
		}
		return effJump, nil
	}
	switch s := t.Spec.(type) {
	case *parser.RejectTarget, *parser.NATTarget, *parser.NFQueueTarget:
		return effVerdict, nil
	case *parser.MarkTarget:
		switch {
		case !s.Conn:
			return effModify, []pset.Field{pset.Mark}
		case s.Op == parser.MarkRestore:
			return effModify, []pset.Field{pset.Mark}
		default:
			return effModify, []pset.Field{pset.CTMark}
		}
	case *parser.CTTarget:
		return effModify, ctFields
	case *parser.ContinueTarget:
		switch t.Name {
		case "TOS", "DSCP":
			return effModify, []pset.Field{pset.TOS}
		case "TTL", "HL":
			return effModify, []pset.Field{pset.TTL}
		case "TCPMSS":
			return effModify, []pset.Field{pset.Length}
		}
		return effContinue, nil
	}
	if t.Terminal() {
		return effVerdict, nil
	}
	return effUnknown, allFields()
}

func newEngine(ctx context.Context, rs *parser.Ruleset, maxNodes int) *engine {
	e := &engine{ctx: ctx, rs: rs, u: pset.ForRuleset(rs), maxNodes: maxNodes, byRule: map[*parser.Rule]*ruleInfo{}}
	for _, t := range rs.SortedTables() {
		ti := &tableInfo{t: t, byName: map[string]*chainInfo{}}
		for _, c := range t.Order {
			ci := &chainInfo{c: c, table: t.Name}
			ti.chains = append(ti.chains, ci)
			ti.byName[c.Name] = ci
		}
		for _, ci := range ti.chains {
			for i, r := range ci.c.Rules {
				ri := &ruleInfo{r: r, chain: ci, index: i + 1}
				ri.eff, ri.mods = classify(r)
				if ri.eff == effJump || ri.eff == effGoto {
					if cc := ti.byName[r.Target.Name]; cc != nil {
						ri.callee = cc
						cc.callers = append(cc.callers, ri)
					} else {
						// A jump to a chain that does not exist: unknown.
						ri.eff, ri.mods = effUnknown, allFields()
					}
				}
				ci.rules = append(ci.rules, ri)
				e.byRule[r] = ri
			}
		}
		e.tables = append(e.tables, ti)
	}
	return e
}

// matchSets computes every rule's must and may sets.
func (e *engine) matchSets() error {
	for _, ti := range e.tables {
		for _, ci := range ti.chains {
			for _, ri := range ci.rules {
				if err := e.check(); err != nil {
					return err
				}
				ri.must, ri.may = pset.MatchSet(e.u, ri.r)
				if !ri.must.Equal(ri.may) {
					ci.hasMay = true
				}
			}
		}
	}
	return nil
}

// hookEntry is every packet valid at the hook of a built-in chain: no
// output interface before routing (PREROUTING, INPUT), no input interface
// for local output and at POSTROUTING. Everything else is left free: what
// earlier tables and NAT did, the conntrack state, marks (an
// over-approximation, sound for every claim made here).
func (e *engine) hookEntry(chain string) pset.Set {
	all := e.u.All()
	none := func(f pset.Field) pset.Set { return e.u.Iface(f, "") }
	switch chain {
	case "PREROUTING", "INPUT":
		return all.Intersect(none(pset.OutIface))
	case "OUTPUT", "POSTROUTING":
		return all.Intersect(none(pset.InIface))
	case "FORWARD":
		return all.Diff(none(pset.InIface)).Diff(none(pset.OutIface))
	}
	return all
}

// decided computes ci.decided: the packets that, entering ci, certainly
// end with a verdict inside it. Callees first (recursion); a chain met
// again while being computed (a loop, which the parser reports) decides
// nothing.
func (e *engine) decided(ci *chainInfo) (pset.Set, []pset.Field, error) {
	if ci.hasDecided {
		return ci.decided, ci.mods, nil
	}
	if ci.visited == 1 {
		return e.u.Empty(), allFields(), nil
	}
	ci.visited = 1
	defer func() { ci.visited = 2 }()
	reach := e.u.All()
	ret := e.u.Empty() // entry packets that may come back to the caller
	var mods []pset.Field
	addMods := func(fs []pset.Field) {
		for _, f := range fs {
			if !hasField(mods, f) {
				mods = append(mods, f)
			}
		}
	}
	back := func(s pset.Set) pset.Set { // current packets -> entry packets
		for _, f := range mods {
			s = s.Forget(f)
		}
		return s
	}
	for _, ri := range ci.rules {
		if err := e.check(); err != nil {
			return e.u.Empty(), allFields(), err
		}
		if reach.IsEmpty() {
			break
		}
		switch ri.eff {
		case effVerdict:
			reach = reach.Diff(ri.must)
		case effReturn:
			ret = ret.Union(back(reach.Intersect(ri.may)))
			reach = reach.Diff(ri.must)
		case effGoto:
			d, _, err := e.decided(ri.callee)
			if err != nil {
				return e.u.Empty(), allFields(), err
			}
			ret = ret.Union(back(reach.Intersect(ri.may).Diff(d)))
			reach = reach.Diff(ri.must)
		case effJump:
			d, cm, err := e.decided(ri.callee)
			if err != nil {
				return e.u.Empty(), allFields(), err
			}
			if len(cm) > 0 {
				back := reach.Intersect(ri.may).Diff(ri.must.Intersect(d))
				reach = reach.Diff(ri.must.Intersect(d))
				reach = reach.Union(forget(back, cm))
				addMods(cm)
			} else {
				reach = reach.Diff(ri.must.Intersect(d))
			}
		case effModify, effUnknown:
			reach = reach.Union(forget(reach.Intersect(ri.may), ri.mods))
			addMods(ri.mods)
		}
	}
	ret = ret.Union(back(reach)) // falling off the end returns
	ci.decided = ret.Not()
	ci.mods = mods
	ci.hasDecided = true
	return ci.decided, ci.mods, nil
}

func forget(s pset.Set, fs []pset.Field) pset.Set {
	for _, f := range fs {
		s = s.Forget(f)
	}
	return s
}

func hasField(fs []pset.Field, f pset.Field) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// order returns the chains of a table callers first: built-in chains,
// then every user chain after all the chains that jump to it. Chains in a
// loop come last.
func order(ti *tableInfo) (ordered []*chainInfo, looped []*chainInfo) {
	pending := map[*chainInfo]int{}
	for _, ci := range ti.chains {
		for _, cr := range ci.callers {
			if cr.chain != ci {
				pending[ci]++
			}
		}
	}
	var queue []*chainInfo
	for _, ci := range ti.chains {
		if pending[ci] == 0 {
			queue = append(queue, ci)
		}
	}
	done := map[*chainInfo]bool{}
	for len(queue) > 0 {
		ci := queue[0]
		queue = queue[1:]
		done[ci] = true
		ordered = append(ordered, ci)
		for _, ri := range ci.rules {
			if cc := ri.callee; cc != nil && cc != ci {
				pending[cc]--
				if pending[cc] == 0 {
					queue = append(queue, cc)
				}
			}
		}
	}
	for _, ci := range ti.chains {
		if !done[ci] {
			looped = append(looped, ci)
		}
	}
	return ordered, looped
}

// walk computes the reach set of every rule of ci from its entry set, and
// adds to the entry sets of the chains it calls.
func (e *engine) walk(ci *chainInfo) error {
	reach := ci.entry
	var reachAll pset.Set
	if ci.hasMay {
		reachAll = ci.entry
	}
	for _, ri := range ci.rules {
		if err := e.check(); err != nil {
			return err
		}
		ri.reach = reach
		ri.analysed = true
		if ci.hasMay {
			ri.reachAll, ri.hasReachAll = reachAll, true
		}
		if ri.callee != nil && !reach.IsEmpty() {
			in := reach.Intersect(ri.may)
			if ri.callee.entered {
				ri.callee.entry = ri.callee.entry.Union(in)
			} else {
				ri.callee.entry, ri.callee.entered = in, true
			}
		}
		var dec pset.Set
		switch ri.eff {
		case effVerdict, effReturn, effGoto:
			dec = ri.must
		case effJump:
			d, cm, err := e.decided(ri.callee)
			if err != nil {
				return err
			}
			dec = ri.must.Intersect(d)
			if len(cm) > 0 {
				// The packets that come back may have changed.
				back := forget(reach.Intersect(ri.may).Diff(dec), cm)
				reach = reach.Diff(dec).Union(back)
				if ci.hasMay {
					decAll := ri.may.Intersect(d)
					backAll := forget(reachAll.Intersect(ri.may).Diff(decAll), cm)
					reachAll = reachAll.Diff(decAll).Union(backAll)
				}
				ri.decides = dec
				continue
			}
		case effModify, effUnknown:
			ri.decides = e.u.Empty()
			reach = reach.Union(forget(reach.Intersect(ri.may), ri.mods))
			if ci.hasMay {
				reachAll = reachAll.Union(forget(reachAll.Intersect(ri.may), ri.mods))
			}
			continue
		default:
			dec = e.u.Empty()
		}
		ri.decides = dec
		if !dec.IsEmpty() {
			reach = reach.Diff(dec)
		}
		if ci.hasMay {
			switch ri.eff {
			case effVerdict, effReturn, effGoto:
				reachAll = reachAll.Diff(ri.may)
			case effJump:
				reachAll = reachAll.Diff(ri.may.Intersect(ri.callee.decided))
			}
		}
	}
	return nil
}

// run computes the reach sets of every rule. On a budget it stops and
// records which phase it cut; the rules not analysed keep analysed false.
func (e *engine) run() error {
	e.cut = "matching the rules"
	if err := e.matchSets(); err != nil {
		return err
	}
	e.cut = "computing what each user chain decides"
	for _, ti := range e.tables {
		for _, ci := range ti.chains {
			if !ci.c.Builtin && len(ci.callers) > 0 {
				if _, _, err := e.decided(ci); err != nil {
					return err
				}
			}
		}
	}
	e.cut = "computing the packets that reach each rule"
	for _, ti := range e.tables {
		ordered, looped := order(ti)
		for _, ci := range looped {
			// Cannot happen in a ruleset the kernel loads; stay sound.
			ci.entry, ci.entered = e.u.All(), true
		}
		for _, ci := range append(ordered, looped...) {
			if ci.c.Builtin {
				ci.entry, ci.entered = e.hookEntry(ci.c.Name), true
			}
			if !ci.entered || ci.entry.IsEmpty() {
				ci.entry, ci.entered = e.u.Empty(), true
				continue
			}
			if err := e.walk(ci); err != nil {
				return err
			}
		}
	}
	e.cut = ""
	return nil
}

func (e *engine) String() string { return fmt.Sprintf("engine(%d tables)", len(e.tables)) }
