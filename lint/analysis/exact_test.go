package analysis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/agreement"
	"github.com/dfw-project/dfw/sim/pset"
)

// longChainRuleset writes a random ruleset whose user chain L has many
// rules over a few addresses and ports (so that rules repeat, overlap
// and shadow each other, and the chain is long enough to be indexed),
// with RETURN, MARK and mark tests, jumps and gotos to a short chain,
// and may-matches.
func longChainRuleset(rng *rand.Rand) string {
	var b strings.Builder
	addr := func() string { return addrPool[rng.IntN(len(addrPool))] }
	port := func() uint16 { return portPool[rng.IntN(len(portPool))] }
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:L - [0:0]\n:S - [0:0]\n")
	fmt.Fprintf(&b, "-A INPUT -p tcp -m tcp --dport %d -j ACCEPT\n", port())
	b.WriteString("-A INPUT -j L\n")
	fmt.Fprintf(&b, "-A FORWARD -s %s/24 -j L\n", addr())
	b.WriteString("-A FORWARD -m conntrack --ctstate NEW -j L\n")
	b.WriteString("-A OUTPUT -j L\n")
	n := minIndexed + rng.IntN(80)
	for i := 0; i < n; i++ {
		// Most rules test the source (so that the chain is indexed on
		// it); some add a port, a mark test or a may-match.
		var m string
		k := rng.IntN(8)
		switch k {
		case 0, 1, 2, 3:
			m = "-s " + addr() + "/32"
		case 4:
			m = fmt.Sprintf("-s %s/%d", addr(), []int{8, 16, 24}[rng.IntN(3)])
		case 5:
			m = fmt.Sprintf("-d %s/32 -p tcp -m tcp --dport %d", addr(), port())
		case 6:
			m = fmt.Sprintf("-p udp -m udp --dport %d", port())
		default:
			m = "-m mark --mark 0x1"
		}
		switch rng.IntN(6) {
		case 0:
			if k <= 4 {
				m += fmt.Sprintf(" -p tcp -m tcp --dport %d", port())
			}
		case 1:
			m += " -m limit --limit 1/sec"
		}
		t := []string{"DROP", "DROP", "ACCEPT", "ACCEPT", "RETURN", "REJECT", "LOG"}[rng.IntN(7)]
		switch rng.IntN(12) {
		case 0:
			t = "MARK --set-xmark 0x1/0xffffffff"
		case 1:
			t = "S"
		case 2:
			if rng.IntN(2) == 0 {
				fmt.Fprintf(&b, "-A L %s -g S\n", m)
				continue
			}
		}
		fmt.Fprintf(&b, "-A L %s -j %s\n", m, t)
	}
	fmt.Fprintf(&b, "-A S -s %s/32 -j RETURN\n", addr())
	fmt.Fprintf(&b, "-A S -p tcp -m tcp --dport %d -j DROP\n", port())
	fmt.Fprintf(&b, "-A S -s %s/16 -j ACCEPT\n", addr())
	b.WriteString("COMMIT\n")
	return b.String()
}

// reference is the straightforward analysis the engine computes faster:
// every set over every field, reach folded rule by rule (reach \ decides,
// and after a change reach ∪ forget(reach ∩ may)), each chain's entry the
// union over its callers. It returns, per rule, whether some packet
// reaches and may match it (nil when the chain is not entered) and, in
// chains with may-matches, whether one would with every may-match taken
// as matching.
func reference(rs *parser.Ruleset) (reach, reachAll map[*parser.Rule]bool) {
	e := newEngine(context.Background(), rs, -1)
	if err := e.matchSets(); err != nil {
		panic(err)
	}
	reach, reachAll = map[*parser.Rule]bool{}, map[*parser.Rule]bool{}
	type dec struct {
		d    pset.Set
		mods pset.FieldSet
	}
	decided := map[*chainInfo]*dec{}
	var decide func(ci *chainInfo) dec
	decide = func(ci *chainInfo) dec {
		if d := decided[ci]; d != nil {
			if d.mods == ^pset.FieldSet(0) { // being computed: a loop
				return dec{e.u.Empty(), pset.AllFields}
			}
			return *d
		}
		decided[ci] = &dec{mods: ^pset.FieldSet(0)}
		r, ret := e.u.All(), e.u.Empty()
		var mods pset.FieldSet
		for _, ri := range ci.rules {
			if r.IsEmpty() {
				break
			}
			switch ri.eff {
			case effVerdict:
				r = r.Diff(ri.must)
			case effReturn:
				ret = ret.Union(forget(r.Intersect(ri.may), mods))
				r = r.Diff(ri.must)
			case effGoto:
				d := decide(ri.callee)
				ret = ret.Union(forget(r.Intersect(ri.may).Diff(d.d), mods))
				r = r.Diff(ri.must)
			case effJump:
				d := decide(ri.callee)
				x := ri.must.Intersect(d.d)
				back := forget(r.Intersect(ri.may).Diff(x), d.mods)
				r = r.Diff(x).Union(back)
				mods |= d.mods
			case effModify, effUnknown:
				r = r.Union(forget(r.Intersect(ri.may), ri.mods))
				mods |= ri.mods
			}
		}
		ret = ret.Union(forget(r, mods))
		d := dec{ret.Not(), mods}
		decided[ci] = &d
		return d
	}
	for _, ti := range e.tables {
		ordered, looped := order(ti)
		entry := map[*chainInfo]pset.Set{}
		for _, ci := range looped {
			entry[ci] = e.u.All()
		}
		for _, ci := range append(ordered, looped...) {
			if ci.c.Builtin {
				entry[ci] = e.hookEntry(ci.c.Name)
			}
			in, ok := entry[ci]
			if !ok || in.IsEmpty() {
				continue
			}
			r, all := in, in
			for _, ri := range ci.rules {
				reach[ri.r] = r.Overlaps(ri.may)
				if ci.hasMay {
					reachAll[ri.r] = all.Overlaps(ri.may)
				}
				if ri.callee != nil {
					s := r.Intersect(ri.may)
					if old, ok := entry[ri.callee]; ok {
						s = old.Union(s)
					}
					entry[ri.callee] = s
				}
				switch ri.eff {
				case effVerdict, effReturn, effGoto:
					r = r.Diff(ri.must)
					all = all.Diff(ri.may)
				case effJump:
					d := decide(ri.callee)
					x, xAll := ri.must.Intersect(d.d), ri.may.Intersect(d.d)
					r = r.Diff(x).Union(forget(r.Intersect(ri.may).Diff(x), d.mods))
					all = all.Diff(xAll).Union(forget(all.Intersect(ri.may).Diff(xAll), d.mods))
				case effModify, effUnknown:
					r = r.Union(forget(r.Intersect(ri.may), ri.mods))
					all = all.Union(forget(all.Intersect(ri.may), ri.mods))
				}
			}
		}
	}
	return reach, reachAll
}

// TestExact: the engine's verdicts (reachable, unreachable, not entered,
// depends on a may-match) are those of the straightforward analysis
// (reference), on random rulesets of the three kinds the soundness test
// uses. The projections and the start \ taken flow change the cost, not
// the answer.
func TestExact(t *testing.T) {
	n := 120
	if testing.Short() {
		n = 45
	}
	if os.Getenv("DFW_ANALYSIS_LONG") != "" {
		n = 1500
	}
	checked := map[Status]int{}
	for seed := 0; seed < n; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		var text string
		switch seed % 3 {
		case 0:
			text = agreement.RandomCase(uint64(seed)).RulesetText
		case 1:
			text = chainRuleset(rng)
		default:
			text = longChainRuleset(rng)
		}
		l := parser.Load([]parser.Source{{Name: "r.save", Data: []byte(text)}}, parser.Options{})
		if l.Diags.Err() != nil {
			continue
		}
		res, err := Analyze(context.Background(), l.Ruleset, Options{}, true)
		if err != nil || len(res.Incomplete) > 0 {
			t.Fatalf("seed %d: %v %v", seed, err, res.Incomplete)
		}
		// The rule index only spares tests: without it, every result
		// (covering rules, may-match lists, redundancy proofs) is the same.
		noIndex = true
		res2, err := Analyze(context.Background(), l.Ruleset, Options{}, true)
		noIndex = false
		if err != nil {
			t.Fatal(err)
		}
		if a, b := fmt.Sprint(describe(res)), fmt.Sprint(describe(res2)); a != b {
			t.Errorf("seed %d: with the index:\n%s\nwithout:\n%s", seed, a, b)
		}
		reach, reachAll := reference(l.Ruleset)
		for _, rr := range res.Rules {
			want := NotEntered
			if r, ok := reach[rr.Rule]; ok {
				want = Unreachable
				if r {
					want = Reachable
				}
			}
			all, hasAll := reachAll[rr.Rule]
			wantDep := want == Reachable && hasAll && !all
			if rr.Status != want || rr.DependsOnMayMatch != wantDep {
				t.Errorf("seed %d: %s line %d %q: %v (depends on may-match %v), the reference says %v (%v)\n%s",
					seed, rr.Table, rr.Rule.Pos.Line, rr.Rule.Line, rr.Status, rr.DependsOnMayMatch, want, wantDep, text)
			}
			checked[want]++
		}
	}
	t.Logf("rules checked: %v", checked)
}

func describe(res *Result) []string {
	lines := func(rs []*parser.Rule) []int {
		var out []int
		for _, r := range rs {
			out = append(out, r.Pos.Line)
		}
		return out
	}
	var out []string
	for _, rr := range res.Rules {
		out = append(out, fmt.Sprintf("%d %v cover %v may %v red %v by %v\n", rr.Rule.Pos.Line, rr.Status,
			lines(rr.Covering), lines(rr.MayMatch), rr.Redundant, lines(rr.CoveredBy)))
	}
	return out
}
