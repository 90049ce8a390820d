package facts_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// TestRulesOnDemand: a document built with RulesOnDemand has no Rules, and
// its Rule(i), RuleID, RuleMayMatch, RuleDecidingMayMatch, RuleSelect and
// RuleTargetUnknown are what the
// document built whole holds; everything else is the same.
func TestRulesOnDemand(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*/*.save")
	more, _ := filepath.Glob("../../testdata/*/*.conf")
	files = append(files, more...)
	var kube bytes.Buffer
	if err := gen.KubeProxy(&kube, 50); err != nil {
		t.Fatal(err)
	}
	type src struct {
		name string
		data []byte
	}
	// Modules dfw does not know: a match and a target.
	odd := "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m quota2 --name q -j ACCEPT\n-A PREROUTING -j FOOBAR --x 1\nCOMMIT\n"
	srcs := []src{{"kube.save", kube.Bytes()}, {"odd.save", []byte(odd)}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src{f, b})
	}
	rules, unknown, mayMatch := 0, 0, 0
	for _, s := range srcs {
		l := parser.Load([]parser.Source{{Name: filepath.Base(s.name), Data: s.data}}, parser.Options{})
		whole, err := facts.Build(context.Background(), l, facts.Options{})
		if err != nil {
			t.Fatal(err)
		}
		lazy, err := facts.Build(context.Background(), l, facts.Options{RulesOnDemand: true})
		if err != nil {
			t.Fatal(err)
		}
		if lazy.Rules != nil || lazy.NumRules() != len(whole.Rules) || whole.NumRules() != len(whole.Rules) {
			t.Fatalf("%s: lazy document has %d rules listed and %d on demand, want none and %d", s.name, len(lazy.Rules), lazy.NumRules(), len(whole.Rules))
		}
		for i, want := range whole.Rules {
			if got := lazy.Rule(i); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: rule %d on demand:\n%+v\nwant\n%+v", s.name, i, got, want)
			}
			tu := want.Target != nil && want.Target.Unknown
			wd, wc := len(want.Dports) > 0, len(want.Ctorigdstport) > 0
			wa, wj := want.Target != nil && want.Target.Name == "ACCEPT", want.Target != nil && want.Target.Kind == "chain"
			for _, d := range []*facts.Document{whole, lazy} {
				if gd, gc, ga, gj := d.RuleSelect(i); gd != wd || gc != wc || ga != wa || gj != wj {
					t.Errorf("%s: rule %d: RuleSelect %v %v %v %v, want %v %v %v %v", s.name, i, gd, gc, ga, gj, wd, wc, wa, wj)
				}
			}
			dm := want.MayMatch && !want.LoadBalancing
			if lazy.RuleID(i) != want.ID || lazy.RuleMayMatch(i) != want.MayMatch || lazy.RuleTargetUnknown(i) != tu ||
				whole.RuleID(i) != want.ID || whole.RuleMayMatch(i) != want.MayMatch || whole.RuleTargetUnknown(i) != tu ||
				lazy.RuleDecidingMayMatch(i) != dm || whole.RuleDecidingMayMatch(i) != dm {
				t.Errorf("%s: rule %d: id, may_match, target.unknown or deciding may_match differ", s.name, i)
			}
			rules++
			if tu {
				unknown++
			}
			if want.MayMatch {
				mayMatch++
			}
		}
		w, z := *whole, *lazy
		w.Rules, z.Rules = nil, nil
		if !reflect.DeepEqual(w.Tables, z.Tables) || !reflect.DeepEqual(w.Chains, z.Chains) || !reflect.DeepEqual(w.Commands, z.Commands) ||
			!reflect.DeepEqual(w.Analysis, z.Analysis) || !reflect.DeepEqual(w.Docker, z.Docker) {
			t.Errorf("%s: the rest of the document differs", s.name)
		}
	}
	if rules == 0 || mayMatch == 0 || unknown == 0 {
		t.Fatalf("compared %d rules, %d may-match: too few to tell", rules, mayMatch)
	}
	t.Logf("%d rulesets, %d rules (%d may match, %d with an unknown target)", len(srcs), rules, mayMatch, unknown)
}

// TestAddrtypeTypes: -m addrtype's --src-type and --dst-type are typed,
// whatever their case, in the order of the kernel's RTN_ numbers.
func TestAddrtypeTypes(t *testing.T) {
	rules := "*filter\n" +
		"-A INPUT -m addrtype --dst-type local,Broadcast --limit-iface-in -j ACCEPT\n" +
		"-A INPUT -m addrtype ! --src-type MULTICAST,UNICAST -j DROP\n" +
		"COMMIT\n"
	l := parser.Load([]parser.Source{{Name: "r.conf", Data: []byte(rules)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	doc, err := facts.Build(context.Background(), l, facts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ src, dst *facts.AddrTypes }{
		{nil, &facts.AddrTypes{Types: []string{"LOCAL", "BROADCAST"}, Column: 22}},
		{&facts.AddrTypes{Neg: true, Types: []string{"UNICAST", "MULTICAST"}, Column: 24}, nil},
	}
	for i, w := range want {
		m := doc.Rules[i].Matches[0]
		if !reflect.DeepEqual(m.SrcType, w.src) || !reflect.DeepEqual(m.DstType, w.dst) {
			t.Errorf("rule %d: src_type %+v, dst_type %+v; want %+v, %+v", i+1, m.SrcType, m.DstType, w.src, w.dst)
		}
	}
}

// TestNATPortBase: a port offset shows in the rule's target as port_base,
// the base the kernel holds: DNAT's as written, 0 for SNAT (iptables
// drops it); a range without one has none. A DNAT of nat DOCKER with an
// offset publishes the host ports on the container ports their offset
// gives.
func TestNATPortBase(t *testing.T) {
	rules := "*nat\n:DOCKER - [0:0]\n-A PREROUTING -j DOCKER\n" +
		"-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8005:8006 -j DNAT --to-destination 172.17.0.2:80-89/8000\n" +
		"-A POSTROUTING -p udp -j SNAT --to-source 203.0.113.10:5000-5010/7000\n" +
		"-A POSTROUTING -p tcp -j SNAT --to-source 203.0.113.10:5000-5010\n" +
		"COMMIT\n"
	l := parser.Load([]parser.Source{{Name: "r.conf", Data: []byte(rules)}}, parser.Options{})
	doc, err := facts.Build(context.Background(), l, facts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bases := map[int]any{} // by line
	for _, r := range doc.Rules {
		if r.Target == nil || len(r.Target.NAT) == 0 {
			continue
		}
		var b any
		if p := r.Target.NAT[0].PortBase; p != nil {
			b = *p
		}
		bases[r.Line] = b
	}
	for line, want := range map[int]any{4: 8000, 5: 0, 6: nil} {
		if got, ok := bases[line]; !ok || got != want {
			t.Errorf("line %d: port_base %v, want %v", line, got, want)
		}
	}
	if p := doc.Docker.Published; len(p) != 1 || p[0].HostPort != 8005 || p[0].HostPortHi != 8006 || p[0].ContainerPort != 85 || p[0].ContainerPortHi != 86 {
		t.Errorf("published: %+v, want host ports 8005-8006 on container ports 85-86", p)
	}
}
