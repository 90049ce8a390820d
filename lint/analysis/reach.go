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
	// fields are the fields must and may constrain.
	fields pset.FieldSet
	eff    effect
	// mods are the fields an effModify rule changes.
	mods pset.FieldSet
	// callee is the chain of a jump or goto.
	callee *chainInfo
	// matched over-approximates the packets that arrive at the rule and
	// may match it (reach ∩ may), projected like the chain's entry;
	// analysed is set once it is computed.
	matched  pset.Set
	analysed bool
	// decides under-approximates the packets that this rule certainly
	// takes out of the chain's flow.
	decides pset.Set
	// taken is the flow's taken set after the rule, as the pass that
	// computes what the chain decides found it (hasTaken); the walk of
	// the chain, whose taken sets are the same (they depend on the rules
	// alone), reuses it instead of redoing the unions.
	taken    pset.Set
	hasTaken bool
	// hasReachAll is set in chains that have a may-match rule, where
	// reachAll tells whether some packet would reach the rule and match it
	// with every may-match rule of the chain taken as matching.
	reachAll    bool
	hasReachAll bool
}

// chainInfo is the analysis state of one chain.
type chainInfo struct {
	c     *parser.Chain
	table string
	rules []*ruleInfo
	// callers are the rules that jump or go to the chain.
	callers []*ruleInfo
	// fields are the fields tested by the rules of the chain and of the
	// chains it calls, closed over coupled fields (pset.FieldSet.Coupled).
	// No other field can change how a packet goes through the chain, so
	// every set of the chain (entry, matched, decided) is kept projected
	// onto them: the other fields are left free.
	fields pset.FieldSet
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
	mods    pset.FieldSet
	hasMay  bool // some rule's must != may
	visited uint8
	// shareTaken is set when the rules' taken sets can be reused: the
	// decided pass met no loop (which would make a callee decide nothing
	// there, and something in the walk).
	shareTaken bool
	// index finds the rules that may match a set (index.go), built on
	// first use.
	index   *ruleIndex
	indexed bool
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

func allFields() pset.FieldSet { return pset.AllFields }

var ctFields = pset.FieldSetOf(pset.CTState, pset.CTNat, pset.CTStatus, pset.CTDir, pset.CTMark, pset.CTProto,
	pset.CTOrigDst, pset.CTOrigDport, pset.CTOrigSrc, pset.CTOrigSport,
	pset.CTReplDst, pset.CTReplDport, pset.CTReplSrc, pset.CTReplSport)

// classify tells what the target of r does. Approximations (all sound):
// an unknown target may stop the packet or change any field; TCPMSS is
// taken to change the length; SET, TEE, SECMARK… change no modelled field.
func classify(r *parser.Rule) (effect, pset.FieldSet) {
	t := r.Target
	if t == nil {
		return effContinue, 0
	}
	switch t.Kind {
	case parser.TargetVerdict:
		if t.Name == "RETURN" {
			return effReturn, 0
		}
		return effVerdict, 0
	case parser.TargetChain:
		if t.Goto {
			return effGoto, 0
		}
		return effJump, 0
	}
	switch s := t.Spec.(type) {
	case *parser.RejectTarget, *parser.NATTarget, *parser.NFQueueTarget:
		return effVerdict, 0
	case *parser.MarkTarget:
		switch {
		case !s.Conn:
			return effModify, pset.FieldSetOf(pset.Mark)
		case s.Op == parser.MarkRestore:
			return effModify, pset.FieldSetOf(pset.Mark)
		default:
			return effModify, pset.FieldSetOf(pset.CTMark)
		}
	case *parser.CTTarget:
		return effModify, ctFields
	case *parser.ContinueTarget:
		switch t.Name {
		case "TOS", "DSCP":
			return effModify, pset.FieldSetOf(pset.TOS)
		case "TTL", "HL":
			return effModify, pset.FieldSetOf(pset.TTL)
		case "TCPMSS":
			return effModify, pset.FieldSetOf(pset.Length)
		}
		return effContinue, 0
	}
	if t.Terminal() {
		return effVerdict, 0
	}
	return effUnknown, allFields()
}

func newEngine(ctx context.Context, rs *parser.Ruleset, maxNodes int) *engine {
	opts := pset.RulesetOptions(rs)
	opts.Order = variableOrder(rs)
	e := &engine{ctx: ctx, rs: rs, u: pset.New(opts), maxNodes: maxNodes, byRule: map[*parser.Rule]*ruleInfo{}}
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

// matchSets computes every rule's must and may sets and the fields they
// constrain.
func (e *engine) matchSets() error {
	for _, ti := range e.tables {
		for _, ci := range ti.chains {
			for _, ri := range ci.rules {
				if err := e.check(); err != nil {
					return err
				}
				ri.must, ri.may = pset.MatchSet(e.u, ri.r)
				ri.fields = ri.may.Fields()
				if !ri.must.Equal(ri.may) {
					ci.hasMay = true
					ri.fields |= ri.must.Fields()
				}
			}
		}
	}
	return nil
}

// chainFields computes ci.fields for every chain of ti: the fields its
// rules and the rules of the chains it calls constrain (a fixpoint over
// the call graph, loops included), closed over coupled fields.
func chainFields(ti *tableInfo) {
	for _, ci := range ti.chains {
		var fs pset.FieldSet
		for _, ri := range ci.rules {
			fs |= ri.fields
		}
		ci.fields = fs.Coupled()
	}
	for changed := true; changed; {
		changed = false
		for i := len(ti.chains) - 1; i >= 0; i-- {
			ci := ti.chains[i]
			fs := ci.fields
			for _, ri := range ci.rules {
				if ri.callee != nil {
					fs |= ri.callee.fields
				}
			}
			if fs != ci.fields {
				ci.fields, changed = fs, true
			}
		}
	}
}

// project keeps of s only what the chain ci can tell apart: the other
// fields are made free. Sound and exact for everything the analyses ask
// of ci's rules: their sets do not depend on those fields, so
// (s ∩ A) \ B projects to proj(s) ∩ A \ B, and a rule's matched set is
// empty after projection iff it was before.
func project(s pset.Set, ci *chainInfo) pset.Set {
	return s.ForgetFields(pset.AllFields &^ ci.fields)
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

// flow is the packets going down a chain, kept as start \ taken: start is
// the packets at the last rule that changed fields the chain tests (or at
// the entry), taken the union of what the rules since then certainly
// took. Only taken grows from rule to rule, and it depends on the rules
// alone, so a long chain costs unions of small rule sets instead of
// differences over a large reach set; the set start \ taken is built
// only where a rule changes packets.
type flow struct {
	start, taken pset.Set
}

func newFlow(s pset.Set) flow { return flow{s, s.Universe().Empty()} }

// matched is the packets of the flow that may match ri.
func (f flow) matched(ri *ruleInfo) pset.Set {
	m := f.start.Intersect(ri.may)
	if !f.taken.IsEmpty() && !m.IsEmpty() {
		m = m.Diff(f.taken)
	}
	return m
}

// matches tells whether some packet of the flow may match ri, without
// building the set when it can.
func (f flow) matches(ri *ruleInfo) bool {
	if f.taken.IsEmpty() {
		return f.start.Overlaps(ri.may)
	}
	return !f.start.Intersect(ri.may).Subset(f.taken)
}

// isEmpty tells whether no packet is left.
func (f flow) isEmpty() bool {
	return f.start.IsEmpty() || f.start.Subset(f.taken)
}

func (f *flow) take(s pset.Set) {
	if !s.IsEmpty() {
		f.taken = f.taken.Union(s)
	}
}

// set is the packets of the flow.
func (f flow) set() pset.Set {
	if f.taken.IsEmpty() {
		return f.start
	}
	return f.start.Diff(f.taken)
}

// restart makes the flow set() \ dec ∪ back.
func (f *flow) restart(dec, back pset.Set) {
	f.take(dec)
	f.start = f.set().Union(back)
	f.taken = f.start.Universe().Empty()
}

// decided computes ci.decided: the packets that, entering ci, certainly
// end with a verdict inside it. Callees first (recursion); a chain met
// again while being computed (a loop, which the parser reports) decides
// nothing.
func (e *engine) decided(ci *chainInfo) (pset.Set, pset.FieldSet, error) {
	if ci.hasDecided {
		return ci.decided, ci.mods, nil
	}
	if ci.visited == 1 {
		return e.u.Empty(), allFields(), nil
	}
	ci.visited = 1
	defer func() { ci.visited = 2 }()
	fl := newFlow(e.u.All())
	ret := e.u.Empty() // entry packets that may come back to the caller
	var mods pset.FieldSet
	back := func(s pset.Set) pset.Set { // current packets -> entry packets
		return forget(s, mods&ci.fields)
	}
	share := true
loop:
	for _, ri := range ci.rules {
		if err := e.check(); err != nil {
			return e.u.Empty(), allFields(), err
		}
		if fl.taken.IsAll() || fl.start.IsEmpty() {
			break
		}
		switch ri.eff {
		case effVerdict:
			fl.take(ri.must)
		case effReturn:
			ret = ret.Union(back(fl.matched(ri)))
			fl.take(ri.must)
		case effGoto:
			d, _, err := e.decided(ri.callee)
			if err != nil {
				return e.u.Empty(), allFields(), err
			}
			ret = ret.Union(back(fl.matched(ri).Diff(d)))
			fl.take(ri.must)
		case effJump:
			d, cm, err := e.decided(ri.callee)
			if err != nil {
				return e.u.Empty(), allFields(), err
			}
			if ri.callee.visited == 1 {
				share = false // a loop: the walk will see another d
			}
			if cm&^mods != 0 && fl.isEmpty() {
				// Nothing comes here: no change to record. (Checked
				// only where the answer matters.)
				break loop
			}
			dec := ri.must.Intersect(d)
			mods |= cm
			if cm &= ci.fields; cm != 0 {
				fl.restart(dec, forget(fl.matched(ri).Diff(dec), cm))
			} else {
				fl.take(dec)
			}
		case effModify, effUnknown:
			if ri.mods&^mods != 0 && fl.isEmpty() {
				break loop
			}
			mods |= ri.mods
			if m := ri.mods & ci.fields; m != 0 {
				fl.restart(e.u.Empty(), forget(fl.matched(ri), m))
			}
		}
		if share {
			ri.taken, ri.hasTaken = fl.taken, true
		}
	}
	ci.shareTaken = share
	ret = ret.Union(back(fl.set())) // falling off the end returns
	ci.decided = ret.Not()
	ci.mods = mods
	ci.hasDecided = true
	return ci.decided, ci.mods, nil
}

// forget makes the fields fs of the packets of s free (all at once: a
// packet change may change coupled fields together).
func forget(s pset.Set, fs pset.FieldSet) pset.Set {
	if fs == 0 {
		return s
	}
	return s.ForgetFields(fs)
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

// enter adds s (packets of a caller's projection) to the entry of ci.
func enter(ci *chainInfo, s pset.Set) {
	if ci.entered && ci.entry.IsAll() {
		return // every packet enters it already (KUBE-MARK-MASQ, say, from thousands of rules)
	}
	s = project(s, ci)
	if ci.entered {
		ci.entry = ci.entry.Union(s)
	} else {
		ci.entry, ci.entered = s, true
	}
}

// walk computes the matched set of every rule of ci from its entry set,
// and adds to the entry sets of the chains it calls. The flow of packets
// is kept as start \ taken (see flow); a second flow, in chains that have
// may-match rules, takes every may-match rule as matching.
func (e *engine) walk(ci *chainInfo) error {
	fl := newFlow(ci.entry)
	var all flow
	if ci.hasMay {
		all = newFlow(ci.entry)
	}
	take := func(ri *ruleInfo, s pset.Set) {
		if ci.shareTaken && ri.hasTaken {
			fl.taken = ri.taken
		} else {
			fl.take(s)
		}
	}
	for _, ri := range ci.rules {
		if err := e.check(); err != nil {
			return err
		}
		m := fl.matched(ri)
		ri.matched, ri.analysed = m, true
		if ci.hasMay {
			ri.reachAll, ri.hasReachAll = all.matches(ri), true
		}
		if ri.callee != nil && !m.IsEmpty() {
			enter(ri.callee, m)
		}
		ri.decides = e.u.Empty()
		switch ri.eff {
		case effVerdict, effReturn, effGoto:
			ri.decides = ri.must
			take(ri, ri.must)
			if ci.hasMay {
				all.take(ri.may)
			}
		case effJump:
			d, cm, err := e.decided(ri.callee)
			if err != nil {
				return err
			}
			ri.decides = ri.must.Intersect(d)
			decAll := ri.may.Intersect(d)
			if cm &= ci.fields; cm != 0 {
				// The packets that come back may have changed.
				fl.restart(ri.decides, forget(m.Diff(ri.decides), cm))
				if ci.hasMay {
					all.restart(decAll, forget(all.matched(ri).Diff(decAll), cm))
				}
			} else {
				take(ri, ri.decides)
				if ci.hasMay {
					all.take(decAll)
				}
			}
		case effModify, effUnknown:
			if mods := ri.mods & ci.fields; mods != 0 {
				fl.restart(e.u.Empty(), forget(m, mods))
				if ci.hasMay {
					all.restart(e.u.Empty(), forget(all.matched(ri), mods))
				}
			}
		}
	}
	return nil
}

// run computes the matched sets of every rule. On a budget it stops and
// records which phase it cut; the rules not analysed keep analysed false.
func (e *engine) run() error {
	e.cut = "matching the rules"
	if err := e.matchSets(); err != nil {
		return err
	}
	for _, ti := range e.tables {
		chainFields(ti)
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
				ci.entry, ci.entered = project(e.hookEntry(ci.c.Name), ci), true
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
