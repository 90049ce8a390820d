package facts

import (
	"github.com/dfw-project/dfw/parser"
)

// loadBalancing finds the rules of load-balancing groups: runs of rules of
// one chain that match the same packets, every rule but the last with a
// "-m statistic" match (random or nth) and no other match that may match,
// the last with no such match at all, and that all send the packet on to a
// user chain (-j or -g) or all rewrite it with a NAT target. Each packet
// the group sees takes exactly one of its rules: which one is chance (that
// is what the statistic matches are for), that one does is not.
// kube-proxy's KUBE-SVC chains are such groups, one rule per endpoint,
// and so are hand-written "-m statistic --mode nth ... -j DNAT" balancers.
// A run whose last rule is missing (the statistic rules may all miss, and
// the packet goes on past them), or whose rules end in verdicts (a random
// DROP is packet loss, not a choice), is no group.
//
// "Match the same packets" is read off the rules as written: the same
// -s, -d, -i, -o, -p, -f and matches, in canonical form, once comments and
// the statistic match are left out.
// It returns them, and their ids.
func loadBalancing(rs *parser.Ruleset) (map[*parser.Rule]bool, map[string]bool) {
	var out map[*parser.Rule]bool
	var ids map[string]bool
	for _, t := range rs.Tables {
		for _, c := range t.Order {
			if !hasStatistic(c.Rules) {
				continue
			}
			rules := c.Rules
			for i := 0; i < len(rules); {
				n := groupAt(rules, i)
				if n == 0 {
					i++
					continue
				}
				if out == nil {
					out, ids = map[*parser.Rule]bool{}, map[string]bool{}
				}
				for k, r := range rules[i : i+n] {
					out[r] = true
					ids[ruleID(t.Name, c.Name, i+k+1)] = true
				}
				i += n
			}
		}
	}
	return out, ids
}

// markLoadBalancing sets MayMatchLoadBalancing on the reachability facts
// that depend on may-match rules of load-balancing groups alone.
func markLoadBalancing(d *Document) {
	if len(d.lbIDs) == 0 {
		return
	}
	for i := range d.Analysis.Reachability {
		x := &d.Analysis.Reachability[i]
		if !x.DependsOnMayMatch || len(x.MayMatch) == 0 {
			continue
		}
		all := true
		for _, m := range x.MayMatch {
			if !d.lbIDs[m.ID] {
				all = false
				break
			}
		}
		x.MayMatchLoadBalancing = all
	}
}

// hasStatistic reports whether a rule of rules has a statistic match.
func hasStatistic(rules []*parser.Rule) bool {
	for _, r := range rules {
		if statisticOnly(r) {
			return true
		}
	}
	return false
}

// groupAt is the number of rules of the load-balancing group that starts
// at rules[i], 0 when none does.
func groupAt(rules []*parser.Rule, i int) int {
	first := rules[i]
	if !statisticOnly(first) {
		return 0
	}
	kind := balancedTarget(first)
	if kind == 0 {
		return 0
	}
	key := choiceKey(first)
	for j := i + 1; j < len(rules); j++ {
		r := rules[j]
		if balancedTarget(r) != kind || choiceKey(r) != key {
			return 0
		}
		if !mayMatch(r) {
			return j - i + 1 // the rule that takes what the others left
		}
		if !statisticOnly(r) {
			return 0
		}
	}
	return 0
}

// statisticOnly reports whether r has a statistic match and no other
// match that may match.
func statisticOnly(r *parser.Rule) bool {
	stat := false
	for _, m := range r.Matches {
		switch {
		case m.Name == "statistic":
			stat = true
		case m.MayMatch():
			return false
		}
	}
	return stat
}

// balancedTarget classes a rule's target for a load-balancing group: 1 a
// user chain (jump or goto), 2 a NAT target, 0 anything else.
func balancedTarget(r *parser.Rule) int {
	t := r.Target
	switch {
	case t == nil:
		return 0
	case t.Kind == parser.TargetChain:
		return 1
	}
	if _, ok := t.Spec.(*parser.NATTarget); ok {
		return 2
	}
	return 0
}

// choiceKey is r's matches in canonical form without its comment and
// statistic matches and without its target: two rules of a group match the
// same packets when their keys are equal.
func choiceKey(r *parser.Rule) string {
	c := *r
	c.Target = nil
	c.Matches = make([]*parser.Match, 0, len(r.Matches))
	for _, m := range r.Matches {
		if m.Name != "statistic" && m.Name != "comment" {
			c.Matches = append(c.Matches, m)
		}
	}
	return c.Spec()
}
