package analysis

import (
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// maxRedundancyDepth bounds how far a proof follows packets back into the
// chains that called the rule's chain.
const maxRedundancyDepth = 8

// redundancy marks the rules whose removal changes no packet's fate. It
// proves, for a rule r deciding A (ACCEPT, DROP, REJECT with the same
// --reject-with, or RETURN), that every packet r may decide would get A
// anyway: following these packets through the rest of r's chain, only
// rules that decide A for them (their must set), or do nothing to them
// (LOG and the like, jumps to chains that do nothing to them, rules that
// cannot match them) are met, until none is left or the chain ends in A
// (a built-in chain's policy A; for RETURN, the end of any chain; for a
// user chain, the proof goes on in each calling chain after the jump, or
// from the end of the chain that holds a -g into it). Any other rule that
// may match one of them (a different verdict, a packet change, a jump
// into a chain that may decide, a goto back) ends the attempt: the rule
// is then not reported. May-match rules after r are
// only ever taken as "may match", so a proof never depends on them.
//
// Not reported: unreachable rules (DFW101 says more), unconditional
// RETURN rules (the explicit form of a user chain's end), and rules whose
// chain changes packets (MARK…) before returning.
func (e *engine) redundancy(res *Result) error {
	for i := range res.Rules {
		rr := &res.Rules[i]
		if rr.Status != Reachable {
			continue
		}
		ri := e.byRule[rr.Rule]
		switch ri.eff {
		case effVerdict:
			switch ri.r.Target.Name {
			case "ACCEPT", "DROP", "REJECT":
			default:
				continue
			}
		case effReturn:
			if ri.must.IsAll() {
				continue
			}
		default:
			continue
		}
		if err := e.check(); err != nil {
			return err
		}
		p := &proof{e: e, r: ri}
		s := ri.matched
		ok, err := p.rest(ri.chain, ri.index, s, 0)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		rr.Redundant = true
		for _, c := range p.by {
			rr.CoveredBy = append(rr.CoveredBy, c.r)
		}
		rr.CoveredByPolicy = p.policy
	}
	return nil
}

type proof struct {
	e      *engine
	r      *ruleInfo
	by     []*ruleInfo
	policy *parser.Chain
	steps  int
}

func sameVerdict(a, b *parser.Rule) bool {
	if a.Target == nil || b.Target == nil || a.Target.Name != b.Target.Name {
		return false
	}
	ra, okA := a.Target.Spec.(*parser.RejectTarget)
	rb, okB := b.Target.Spec.(*parser.RejectTarget)
	if okA != okB {
		return false
	}
	return !okA || ra.With == rb.With
}

// rest reports whether every packet of s, going on after the rule at
// 0-based position from of ci, gets p.r's verdict.
func (p *proof) rest(ci *chainInfo, from int, s pset.Set, depth int) (bool, error) {
	for _, pos := range p.e.candidates(ci, s, from, len(ci.rules)) {
		rj := ci.rules[pos]
		if s.IsEmpty() {
			return true, nil
		}
		if err := p.e.check(); err != nil {
			return false, err
		}
		if !s.Overlaps(rj.may) {
			continue
		}
		switch {
		case p.r.eff == effVerdict && rj.eff == effVerdict && sameVerdict(p.r.r, rj.r),
			p.r.eff == effReturn && rj.eff == effReturn:
			if !s.Overlaps(rj.must) {
				continue
			}
			if rj.matched.IsEmpty() {
				// An unreachable rule: it would take over only if r
				// went; DFW101 reports it, and r is kept.
				return false, nil
			}
			s = s.Diff(rj.must)
			p.by = append(p.by, rj)
		case rj.eff == effContinue:
		case rj.eff == effJump && p.inert(rj.callee, s.Intersect(rj.may), 0):
		default:
			return false, nil
		}
	}
	if s.IsEmpty() {
		return true, nil
	}
	if p.r.eff == effReturn {
		return true, nil // a chain's end returns (a built-in chain's: its policy, as RETURN there)
	}
	if ci.c.Builtin {
		if ci.c.Policy == p.r.r.Target.Name {
			p.policy = ci.c
			return true, nil
		}
		return false, nil
	}
	if depth >= maxRedundancyDepth || !ci.hasDecided || ci.mods != 0 {
		return false, nil
	}
	for _, k := range ci.callers {
		if !k.analysed {
			return false, nil
		}
		part := s.Intersect(k.matched)
		if part.IsEmpty() {
			continue
		}
		from := k.index
		if k.eff == effGoto {
			// What comes back from a chain entered with -g goes on as
			// from the end of the chain that holds the -g: its policy
			// for a built-in one, else after the jumps into it.
			from = len(k.chain.rules)
		}
		ok, err := p.rest(k.chain, from, part, depth+1)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// inert reports whether chain ci lets every packet of s come back
// unchanged: no rule that may match one of them does more than log, or
// returns, or jumps to a chain that is itself inert for them.
func (p *proof) inert(ci *chainInfo, s pset.Set, depth int) bool {
	if depth > maxRedundancyDepth {
		return false
	}
	for _, pos := range p.e.candidates(ci, s, 0, len(ci.rules)) {
		rj := ci.rules[pos]
		p.steps++
		if s.IsEmpty() || p.steps > 10000 {
			return s.IsEmpty()
		}
		if !s.Overlaps(rj.may) {
			continue
		}
		switch rj.eff {
		case effContinue:
		case effReturn:
			s = s.Diff(rj.must)
		case effJump:
			if !p.inert(rj.callee, s.Intersect(rj.may), depth+1) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
