package analysis

import (
	"sort"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// addrPortFields are the fields most rules test, in the default order of
// sim/pset.
var addrPortFields = []pset.Field{pset.Dst, pset.Dport, pset.Src, pset.Sport}

// variableOrder chooses the order of the address and port fields for the
// analysis' universe: the flow down a long chain costs, at each rule, the
// nodes above the deepest variable the rule tests (and a rule's set
// intersected with an entry structured on fields above it costs a visit
// of that structure), so the fields that the rules of long chains test
// most often go on top. Protocol stays first (few bits, tested with every
// port). The order changes the cost of the analysis, never its results.
func variableOrder(rs *parser.Ruleset) []pset.Field {
	count := map[pset.Field]int{}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if len(c.Rules) < minIndexed {
				continue
			}
			for _, r := range c.Rules {
				for _, f := range ruleFields(r) {
					count[f]++
				}
			}
		}
	}
	order := append([]pset.Field(nil), addrPortFields...)
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	if top := order[0]; (top == pset.Src || top == pset.Dst) && count[top] > 0 {
		// An address the long chains test most goes above the protocol
		// too: a deny list of 23,000 source prefixes, each on its own,
		// then costs each rule a path of address bits, not one under
		// each protocol the chain's entry tells apart.
		return append([]pset.Field{top, pset.Proto}, order[1:]...)
	}
	return append([]pset.Field{pset.Proto}, order...)
}

// ruleFields are the address and port fields r's matches test, read from
// the rule (before there is a universe to build its sets in).
func ruleFields(r *parser.Rule) []pset.Field {
	var fs []pset.Field
	if r.Src != nil {
		fs = append(fs, pset.Src)
	}
	if r.Dst != nil {
		fs = append(fs, pset.Dst)
	}
	ports := func(s, d bool) {
		if s {
			fs = append(fs, pset.Sport)
		}
		if d {
			fs = append(fs, pset.Dport)
		}
	}
	for _, m := range r.Matches {
		switch s := m.Spec.(type) {
		case *parser.TCPMatch:
			ports(s.Sport != nil, s.Dport != nil)
		case *parser.UDPMatch:
			ports(s.Sport != nil, s.Dport != nil)
		case *parser.SCTPMatch:
			ports(s.Sport != nil, s.Dport != nil)
		case *parser.MultiportMatch:
			ports(s.Src != nil || s.Any != nil, s.Dst != nil || s.Any != nil)
		case *parser.IPRangeMatch:
			if s.Src != nil {
				fs = append(fs, pset.Src)
			}
			if s.Dst != nil {
				fs = append(fs, pset.Dst)
			}
		}
	}
	return fs
}
