package facts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// TestLoadBalancing: the rules of a load-balancing group, and only they,
// are load_balancing; the reachability facts that hang on such a group's
// statistic rules alone are may_match_load_balancing.
func TestLoadBalancing(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules []string // the rules of chain LB, entered from PREROUTING
		want  string   // per rule, "1" load_balancing, "0" not
	}{
		{"kube-proxy", []string{
			`-m comment --comment "a" -m statistic --mode random --probability 0.33333333349 -j SEP1`,
			`-m comment --comment "b" -m statistic --mode random --probability 0.50000000000 -j SEP2`,
			`-m comment --comment "c" -j SEP3`,
		}, "111"},
		{"nth DNAT", []string{
			`-p tcp -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.0.0.1`,
			`-p tcp -j DNAT --to-destination 10.0.0.2`,
		}, "11"},
		{"goto", []string{
			`-s 10.0.0.0/8 -m statistic --mode random --probability 0.5 -g SEP1`,
			`-s 10.0.0.0/8 -g SEP2`,
		}, "11"},
		{"after other rules", []string{
			`-p udp -j SEP1`,
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP1`,
			`-p tcp -j SEP2`,
			`-p tcp -j SEP3`,
		}, "0110"},
		{"no rule takes what is left", []string{
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP1`,
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP2`,
		}, "00"},
		{"the last rule matches other packets", []string{
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP1`,
			`-p tcp --dport 80 -j SEP2`,
		}, "00"},
		{"verdicts", []string{
			`-m statistic --mode random --probability 0.1 -j DROP`,
			`-j ACCEPT`,
		}, "00"},
		{"chain then NAT", []string{
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP1`,
			`-p tcp -j DNAT --to-destination 10.0.0.2`,
		}, "00"},
		{"another may-match", []string{
			`-p tcp -m statistic --mode random --probability 0.5 -m set --match-set s src -j SEP1`,
			`-p tcp -j SEP2`,
		}, "00"},
		{"last rule may match", []string{
			`-p tcp -m statistic --mode random --probability 0.5 -j SEP1`,
			`-p tcp -m limit --limit 1/s -j SEP2`,
		}, "00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:LB - [0:0]\n:SEP1 - [0:0]\n:SEP2 - [0:0]\n:SEP3 - [0:0]\n")
			b.WriteString("-A PREROUTING -j LB\n")
			for _, r := range c.rules {
				fmt.Fprintf(&b, "-A LB %s\n", r)
			}
			b.WriteString("-A SEP1 -j DNAT --to-destination 10.0.0.1\n-A SEP2 -j DNAT --to-destination 10.0.0.2\n-A SEP3 -j DNAT --to-destination 10.0.0.3\nCOMMIT\n")
			l := parser.Load([]parser.Source{{Name: "lb.rules", Data: []byte(b.String())}}, parser.Options{})
			if errs := l.Diags.Errors(); len(errs) > 0 {
				t.Fatal(errs)
			}
			doc, err := facts.Build(context.Background(), l, facts.Options{Analyzer: analysis.New(analysis.Options{})})
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			lb := map[string]bool{}
			for _, r := range doc.Rules {
				if r.Chain != "LB" {
					continue
				}
				lb[r.ID] = r.LoadBalancing
				if r.LoadBalancing {
					got.WriteByte('1')
				} else {
					got.WriteByte('0')
				}
			}
			if got.String() != c.want {
				t.Errorf("load_balancing of LB's rules: %s, want %s", got.String(), c.want)
			}
			for _, x := range doc.Analysis.Reachability {
				want := x.DependsOnMayMatch && len(x.MayMatch) > 0
				for _, m := range x.MayMatch {
					want = want && lb[m.ID]
				}
				if x.MayMatchLoadBalancing != want {
					t.Errorf("%s: may_match_load_balancing %v, want %v (may_match %v)", x.Rule, x.MayMatchLoadBalancing, want, x.MayMatch)
				}
				if x.Rule == "nat/LB/"+fmt.Sprint(len(c.rules)) && c.want[len(c.want)-1] == '1' && !x.MayMatchLoadBalancing {
					t.Errorf("%s: the group's last rule hangs on its statistic rules alone, but is not may_match_load_balancing", x.Rule)
				}
			}
		})
	}
}
