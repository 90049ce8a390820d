package exposure

import (
	"context"
	"os"
	"testing"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/symbolic"
)

func load(t *testing.T, files ...string) *parser.Ruleset {
	t.Helper()
	var srcs []parser.Source
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: f, Data: d})
	}
	l := parser.Load(srcs, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return l.Ruleset
}

// The seed's iptables.conf over Docker 20.10: ens33 is filtered, the
// interfaces the rules never name are not.
func TestSeed(t *testing.T) {
	rs := load(t, "../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf")
	ctx := context.Background()
	ex, _, inc, err := Exposure(ctx, rs, facts.Host{Source: "inferred"}, symbolic.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatal(err, inc)
	}
	var unnamedHostAll, ensContainer bool
	for _, e := range ex {
		if e.Interface == "(unnamed)" && e.Kind == "host" && e.Proto == "udp" && len(e.Ports) == 1 && e.Ports[0] == [2]int{0, 65535} && e.Policy {
			unnamedHostAll = true
		}
		if e.Interface == "ens33" && e.Kind == "container" && e.Container != nil && e.Container.ContainerAddr == "172.17.0.2" &&
			e.Container.ContainerPort == 80 && e.AcceptedBy.Chain == "FILTERS" && e.Witness.Dport == 80 {
			ensContainer = true
		}
	}
	if !unnamedHostAll || !ensContainer {
		t.Errorf("exposure: unnamed host udp by policy %v, ens33 → 172.17.0.2:80 by FILTERS %v\n%+v", unnamedHostAll, ensContainer, ex)
	}
	q := func(iface, proto string, port int) facts.Answer {
		a, err := Reachable(ctx, rs, facts.Host{}, facts.Query{Interface: iface, Proto: proto, Port: port}, symbolic.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := q("ens33", "tcp", 22); !a.Known || !a.Reachable || a.Kind != "host" || a.AcceptedBy.Chain != "FILTERS" {
		t.Errorf("ens33 tcp/22: %+v", a)
	}
	if a := q("ens33", "tcp", 8080); !a.Known || a.Reachable {
		t.Errorf("ens33 tcp/8080: %+v", a)
	}
	if a := q("eth1", "tcp", 8080); !a.Known || !a.Reachable || a.Kind != "container" {
		t.Errorf("eth1 tcp/8080: %+v", a)
	}
	est, inc, err := Established(ctx, rs, facts.Host{}, symbolic.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatal(err, inc)
	}
	ok := false
	for _, e := range est {
		if e.Interface == "ens33" && e.Hook == "INPUT" && e.Verdict == "ACCEPT" {
			ok = true
		}
	}
	if !ok {
		t.Errorf("established: replies on ens33 to the host not accepted: %+v", est)
	}
}

// TestEstablishedReplies: the replies Established follows are replies in
// conntrack's terms (direction REPLY, the original tuple the inverse of
// the packet's), so that the conntrack options that tell directions and
// tuples apart are judged on them as the kernel does.
func TestEstablishedReplies(t *testing.T) {
	base, err := os.ReadFile("../../testdata/docker/docker-28.save")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rules   string
		dropped bool // some reply on ens33 is dropped in FORWARD by line 3
		sport   int  // when dropped: the witness's source port, if not 0
	}{
		// --ctdir ORIGINAL never takes a reply.
		{"-A DOCKER-USER -i ens33 -p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP", false, 0},
		// The original destination port of a reply is its source port.
		{"-A DOCKER-USER -i ens33 -p tcp -m conntrack --ctorigdstport 5432 -j DROP", true, 5432},
		{"-A DOCKER-USER -i ens33 -m conntrack --ctdir REPLY -j DROP", true, 0},
		// Every reply returns to Docker's chains first.
		{"-A DOCKER-USER -m conntrack --ctdir REPLY -j RETURN\n-A DOCKER-USER -i ens33 -j DROP", false, 0},
		// The original source of a reply is the container.
		{"-A DOCKER-USER -i ens33 -m conntrack --ctorigsrc 172.18.0.0/16 -j DROP", true, 0},
		{"-A DOCKER-USER -i ens33 -m conntrack --ctorigsrc 10.0.0.0/8 -j DROP", false, 0},
	} {
		text := "*filter\n:DOCKER-USER - [0:0]\n" + tc.rules + "\nCOMMIT\n"
		l := parser.Load([]parser.Source{{Name: "docker-28.save", Data: base}, {Name: "rules.conf", Data: []byte(text)}}, parser.Options{})
		if errs := l.Diags.Errors(); len(errs) > 0 {
			t.Fatal(errs)
		}
		est, inc, err := Established(context.Background(), l.Ruleset, facts.Host{}, symbolic.Options{})
		if err != nil || len(inc) > 0 {
			t.Fatal(err, inc)
		}
		var got *facts.Established
		for i, e := range est {
			if e.Interface == "ens33" && e.Hook == "FORWARD" && e.DroppedBy != nil && e.DroppedBy.File == "rules.conf" && e.DroppedBy.Line == 3 {
				got = &est[i]
			}
		}
		if (got != nil) != tc.dropped {
			t.Errorf("%s: dropped %v, want %v\n%+v", tc.rules, got != nil, tc.dropped, est)
			continue
		}
		if got != nil && tc.sport != 0 && got.Witness.Sport != tc.sport {
			t.Errorf("%s: witness %+v, want source port %d", tc.rules, got.Witness, tc.sport)
		}
	}
}

// A built-in chain that its table's block does not declare has a policy
// no line set: the refs to it (accepted_by, the path) are at the "*table"
// line that created it, never at an empty position. Here the mangle block
// declares PREROUTING alone, and the filter block no chain at all.
func TestImplicitPolicyPosition(t *testing.T) {
	rules := "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CONNMARK --restore-mark\nCOMMIT\n" +
		"*filter\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	l := parser.Load([]parser.Source{{Name: "r.rules", Data: []byte(rules)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ex, _, _, err := Exposure(context.Background(), l.Ruleset, facts.Host{Source: "inferred"}, symbolic.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"mangle/PREROUTING": 2, "mangle/INPUT": 1, "filter/INPUT": 5}
	policies := 0
	for _, e := range ex {
		refs := append([]facts.Ref{e.AcceptedBy}, e.Path...)
		for _, r := range refs {
			if r.ID != "" {
				continue // a rule
			}
			policies++
			if r.File != "r.rules" || r.Line != want[r.Table+"/"+r.Chain] || r.Column != 1 {
				t.Errorf("%s/%s policy at %s:%d:%d, want r.rules:%d:1", r.Table, r.Chain, r.File, r.Line, r.Column, want[r.Table+"/"+r.Chain])
			}
		}
	}
	if policies == 0 {
		t.Fatalf("no policy in the exposure facts: %+v", ex)
	}
}
