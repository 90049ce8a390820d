package analysis

import (
	"math"
	"sort"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// action is the class of a rule's outcome used to tell "a different
// action", as Batfish does with permit and deny.
func action(r *parser.Rule) string {
	if r == nil || r.Target == nil {
		return ""
	}
	switch r.Target.Name {
	case "ACCEPT":
		return "accept"
	case "DROP", "REJECT":
		return "deny"
	}
	return r.Target.Name
}

// candidate is an earlier rule that takes some of the packets.
type candidate struct {
	ri     *ruleInfo
	takes  pset.Set // the packets of the target it certainly takes
	weight float64
	diff   bool // a different action from the covered rule
}

// cover chooses the covering rules of the unreachable rule ri, the way
// Batfish's filterLineReachability explains blocking lines: among the
// earlier rules of the chain that certainly take some of the packets that
// would match ri at the chain's entry, it takes greedily the one that
// takes the most of what is left (heaviest overlap first), until nothing
// is left or limit rules are chosen; when some candidate has a different
// action from ri, one such is always included (the first chosen). A
// candidate that alone covers everything left is preferred. A rule whose
// overlap earlier rules of its chain already took entirely is not a
// candidate (an unreachable rule explains nothing, whatever its matches
// and action). A covering jump or goto is followed by the rules of its
// chain that take those packets.
func (e *engine) cover(ri *ruleInfo, limit int) []*ruleInfo {
	target := ri.chain.entry.Intersect(ri.may)
	return e.coverSet(ri, ri.chain, ri.index-1, target, limit, 0)
}

func (e *engine) coverSet(ri *ruleInfo, ci *chainInfo, upto int, target pset.Set, limit, depth int) []*ruleInfo {
	if target.IsEmpty() || limit <= 0 {
		return nil
	}
	var cands []*candidate
	for _, p := range e.candidates(ci, target, 0, upto) {
		rj := ci.rules[p]
		if !rj.analysed || rj.decides.IsEmpty() || (depth > 0 && rj.eff == effReturn) || !rj.decides.Overlaps(target) {
			continue
		}
		// A rule that earlier rules left none of these packets to take
		// (an unreachable one, say) took none, whatever its own
		// matches and action.
		if !rj.decides.Intersect(rj.matched).Overlaps(target) {
			continue
		}
		takes := rj.decides.Intersect(target)
		cands = append(cands, &candidate{ri: rj, takes: takes, diff: action(rj.r) != action(ri.r)})
		if len(cands) >= 256 {
			break
		}
	}
	var chosen []*candidate
	left := target
	needDiff := false
	for _, c := range cands {
		needDiff = needDiff || c.diff
	}
	for len(chosen) < limit && len(cands) > 0 && (!left.IsEmpty() || needDiff) {
		best := -1
		bestAll := false
		bestW := math.Inf(-1)
		for i, c := range cands {
			if needDiff && !c.diff {
				continue
			}
			part := c.takes.Intersect(left)
			if part.IsEmpty() && !needDiff {
				continue
			}
			all := left.Subset(c.takes)
			w := volume(part)
			if best < 0 || (all && !bestAll) || (all == bestAll && w > bestW) {
				best, bestAll, bestW = i, all, w
			}
		}
		if best < 0 {
			break
		}
		c := cands[best]
		chosen = append(chosen, c)
		cands = append(cands[:best], cands[best+1:]...)
		left = left.Diff(c.takes)
		needDiff = false
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].ri.index < chosen[j].ri.index })
	var out []*ruleInfo
	for _, c := range chosen {
		out = append(out, c.ri)
	}
	if depth < 4 {
		for _, c := range chosen {
			if (c.ri.eff == effJump || c.ri.eff == effGoto) && c.ri.callee != nil && c.ri.callee.entered {
				cc := c.ri.callee
				out = append(out, e.coverSet(ri, cc, len(cc.rules), c.takes, limit, depth+1)...)
			}
		}
	}
	return out
}

// volume is log2 of the volume of the bounding box of s: the product,
// over the fields, of the number of values s takes on that field. pset
// gives no exact count of a set; for the sets compared here (one rule's
// match within another's, mostly boxes) the bounding box orders them as
// the exact count would.
func volume(s pset.Set) float64 {
	if s.IsEmpty() {
		return math.Inf(-1)
	}
	u := s.Universe()
	bound := s.Fields()
	total := 0.0
	for _, f := range u.Order() {
		if !bound.Has(f) {
			total += float64(u.Width(f))
		} else if n := s.CountValues(f); n > 0 {
			total += math.Log2(n)
		}
	}
	return total
}
