package symbolic

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/agreement"
	"github.com/dfw-project/dfw/sim/pset"
)

// loadNAT loads a ruleset for the NAT offset tests: silent changes (SNAT's
// and MASQUERADE's dropped base port) are what the kernel loads.
func loadNAT(t *testing.T, text string, fam parser.Family) *parser.Ruleset {
	t.Helper()
	l := parser.Load([]parser.Source{{Name: "nat.rules", Data: []byte(text)}}, parser.Options{Family: fam})
	for _, e := range l.Diags.Errors() {
		if !errors.Is(e, parser.ErrSilentChange) {
			t.Fatal(e)
		}
	}
	return l.Ruleset
}

const natOffsetFilter = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
	"-A INPUT -p udp --dport 7002 -j ACCEPT\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n" +
	"-A FORWARD -p tcp --dport 3008 -j REJECT --reject-with tcp-reset\n-A FORWARD -p tcp --dport 3000:3003 -j ACCEPT\n" +
	"-A FORWARD -i docker0 -j ACCEPT\n-A FORWARD -i br-app -j ACCEPT\nCOMMIT\n"

// TestNATOffsetAgreement: a port offset splits a class by the port each
// packet takes, and every class's witness and random packets get the
// simulator's answer (NAT included), on both ways of splitting: the ports
// of a class enumerated (a DNAT behind --dport), and the residue classes
// of a range's few ports (a DNAT of every port, SNAT of every source
// port); SNAT keeps a source already in its range.
func TestNATOffsetAgreement(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ name, nat string }{
		{"dport", "-A PREROUTING -i ens33 -p tcp --dport 1990:2020 -j DNAT --to-destination 172.17.0.2:3000-3010/2000\n" +
			"-A PREROUTING -i ens33 -p udp --dport 50:60 -j DNAT --to-destination :7000-7004/1\n"},
		{"every port", "-A PREROUTING -i ens33 -p tcp -j DNAT --to-destination 172.17.0.2:3000-3010/2000\n" +
			"-A PREROUTING -i eth1 -p udp -j DNAT --to-destination :7000-7004/65535\n"},
		{"snat", "-A POSTROUTING -s 172.17.0.2 -o ens33 -p udp -j SNAT --to-source 203.0.113.10:5000-5010/7000\n" +
			"-A POSTROUTING -s 172.18.0.0/16 -o ens33 -p tcp -j SNAT --to-source :1000-1049/7000\n" +
			"-A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 198.51.100.10:40000-40010/1 --random\n"},
	} {
		rs := loadNAT(t, "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"+
			c.nat+"COMMIT\n"+natOffsetFilter, parser.IPv4)
		clear(arrivals)
		compared, _ := checkCase(t, c.name, rs, r, 100)
		if t.Failed() {
			return
		}
		t.Logf("%s: %d packets compared", c.name, compared)
	}
}

// TestNATOffsetClasses pins how a port offset splits an open port: one
// class per port the packets take (1999 and 2008 both to 3008, the u16
// difference wrapping below the base), the packets the rule leaves alone
// in classes of their own; MASQUERADE's unknown base is an assumption,
// not a guess made silently; more ports than maxOffsetPorts are reported
// as not evaluated.
func TestNATOffsetClasses(t *testing.T) {
	rs := loadNAT(t, "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"+
		"-A PREROUTING -i ens33 -p tcp --dport 1999:2010 -j DNAT --to-destination 172.17.0.2:3000-3010/2000\n"+
		"-A PREROUTING -i eth1 -p tcp -j DNAT --to-destination 172.17.0.2:3000-3299/2000\n"+
		"-A POSTROUTING -o ens33 -p udp -j MASQUERADE --to-ports 5000-5010/7000\nCOMMIT\n", parser.IPv4)
	ev := NewEvaluator(rs, agreement.TopologyHost(), Options{})
	u := ev.U
	tcp := ev.FirstPackets().Intersect(u.Eq(pset.Proto, uint64(sim.ProtoTCP)))
	classes, inc := ev.Eval(context.Background(), "test", Entry{In: "ens33"}, tcp)
	if len(inc) != 0 {
		t.Fatalf("ens33: not evaluated: %v", inc)
	}
	got := map[uint16]string{}
	for i := range classes {
		if c := &classes[i]; c.NAT.HasDport {
			got[c.NAT.Dport] = FormatRanges(PortRanges(ev.Arrival(c), pset.Dport))
		}
	}
	want := map[uint16]string{3000: "2000", 3001: "2001", 3002: "2002", 3003: "2003", 3004: "2004", 3005: "2005",
		3006: "2006", 3007: "2007", 3008: "1999,2008", 3009: "2009", 3010: "2010"}
	if !maps.Equal(got, want) {
		t.Errorf("ports after DNAT (new port: ports before):\n got %v\nwant %v", got, want)
	}
	// 300 ports, of every port: past the bound.
	_, inc = ev.Eval(context.Background(), "test", Entry{In: "eth1"}, tcp)
	if len(inc) == 0 || !strings.Contains(inc[0].Reason, "port offset at nat.rules:5") {
		t.Errorf("eth1: a DNAT of every port to 300 ports evaluated, want it reported as not evaluated: %v", inc)
	}
	// MASQUERADE with a base port: an assumption names the port taken.
	udp := ev.FirstPackets().Intersect(u.Eq(pset.Proto, uint64(sim.ProtoUDP)))
	classes, _ = ev.Eval(context.Background(), "test", Entry{In: "docker0"}, udp)
	found := false
	for _, c := range classes {
		for _, a := range c.Assumptions {
			found = found || strings.Contains(a, "MASQUERADE --to-ports 5000-5010 with a base port at nat.rules:6: the kernel maps the port from a base it leaves unset; 5000 taken")
		}
	}
	if !found {
		t.Errorf("MASQUERADE with a base port: no assumption says which port is taken")
	}
}
