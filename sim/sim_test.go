package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dfw-project/dfw/parser"
)

func load(t testing.TB, text string) *parser.Ruleset {
	l := parser.Load([]parser.Source{{Name: "t.rules", Data: []byte(text)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	return l.Ruleset
}

func pkt(t testing.TB, h *Host, spec string, prev *Result) Packet {
	sp, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := sp.Resolve(h, prev)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hits(r *Result) string {
	var s []string
	for _, h := range simHits(r) {
		s = append(s, h)
	}
	return strings.Join(s, " ")
}

// seedFlows runs the seed's Docker scenarios on a ruleset file.
func TestSeedImplementations(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]string // flow → dispositions, one per packet
	}{
		{"../testdata/seed/impl1.save", map[string]string{
			"tcp:ens33:8080":      "dropped", // DOCKER-USER drops ens33 unless ctorigdstport 80/443
			"tcp:ens33:80":        "forwarded",
			"tcp:ens33:22":        "delivered-local",
			"proto=icmp,in=ens33": "delivered-local",
			"proto=tcp,in=docker0,dst=192.0.2.80,dport=443|reply":             "forwarded forwarded",
			"proto=tcp,in=docker0,src=172.17.0.2,dst=172.17.0.3,dport=80":     "forwarded",
			"proto=tcp,in=docker0,src=172.17.0.2,dst=203.0.113.10,dport=8080": "dropped", // hairpin: INPUT policy DROP
		}},
		{"../testdata/seed/impl2.save", nil},
	} {
		data := tc.file
		rs := loadRuleset(t, data)
		h := InferHost(rs, map[string][]netip.Prefix{"ens33": nil})
		for flow, want := range tc.want {
			s := New(rs, h)
			var prev *Result
			var got []string
			for _, spec := range strings.Split(flow, "|") {
				prev = s.Run(pkt(t, h, spec, prev))
				got = append(got, prev.Disposition)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("%s %s: got %v, want %s (trace %s)", tc.file, flow, got, want, hits(prev))
			}
		}
		// Every seed ruleset answers the basic questions without panicking.
		for _, spec := range []string{"tcp:ens33:8080", "tcp:ens33:22", "proto=icmp,in=ens33", "proto=udp,in=docker0,dst=192.0.2.53,dport=53"} {
			New(rs, h).Run(pkt(t, h, spec, nil))
		}
	}
}

const gotoRules = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A INPUT -j A
-A INPUT -p tcp --dport 1 -j ACCEPT
-A A -g B
-A B -j C
-A B -p tcp --dport 2 -j ACCEPT
-A C -p tcp --dport 3 -j ACCEPT
-A C -j RETURN
-A C -j DROP
COMMIT
`

func TestGotoReturn(t *testing.T) {
	rs := load(t, gotoRules)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
	for _, tc := range []struct{ spec, disp, hits string }{
		// B ends → back after "-j A" in INPUT (not after -g B in A).
		{"tcp:eth0:1", "delivered-local", "filter:INPUT#1→A filter:A#1→goto B filter:B#1→C filter:C#2→RETURN filter:INPUT#2→ACCEPT"},
		{"tcp:eth0:2", "delivered-local", "filter:INPUT#1→A filter:A#1→goto B filter:B#1→C filter:C#2→RETURN filter:B#2→ACCEPT"},
		{"tcp:eth0:3", "delivered-local", "filter:INPUT#1→A filter:A#1→goto B filter:B#1→C filter:C#1→ACCEPT"},
		{"tcp:eth0:4", "dropped", "filter:INPUT#1→A filter:A#1→goto B filter:B#1→C filter:C#2→RETURN filter:INPUT#policy→DROP"},
	} {
		r := New(rs, h).Run(pkt(t, h, tc.spec, nil))
		if r.Disposition != tc.disp || hits(r) != tc.hits {
			t.Errorf("%s: %s %s, want %s %s", tc.spec, r.Disposition, hits(r), tc.disp, tc.hits)
		}
	}
}

func TestMatches(t *testing.T) {
	rules := `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/255.0.255.0 -p udp -j ACCEPT
-A INPUT -i eth+ -p tcp -m multiport --ports 5000:5010 -j ACCEPT
-A INPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN --dport 7 -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type echo-request -m ttl --ttl-gt 10 -j ACCEPT
-A INPUT -m iprange --src-range 10.9.1.1-10.9.1.5 -j ACCEPT
-A INPUT -m mark --mark 0x4/0x4 -j ACCEPT
-A INPUT -m length --length 1000:2000 -j ACCEPT
-A INPUT -m addrtype --dst-type BROADCAST -j ACCEPT
-A INPUT -m tos --tos 0x10 -j ACCEPT
-A INPUT ! -i eth0 -p tcp --dport 9 -j ACCEPT
-A INPUT -i eth1 -p icmp -m icmp --icmp-type 255/3 -j ACCEPT
COMMIT
`
	rs := load(t, rules)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}, "eth1": {netip.MustParsePrefix("10.1.0.1/24")}})
	for _, tc := range []struct {
		spec string
		rule int // 0: policy
	}{
		{"proto=udp,in=eth0,src=10.5.0.9,dport=53", 1}, // non-contiguous mask: 10.x.0.x
		{"proto=udp,in=eth0,src=10.5.1.9,dport=53", 0}, // third byte set
		{"proto=tcp,in=eth0,sport=5005,dport=80", 2},   // multiport --ports sees sport
		{"proto=tcp,in=eth0,dport=7", 3},               // SYN
		{"proto=tcp,in=eth0,dport=7,flags=SA", 0},      // SYN-ACK: INVALID but filter still sees it
		{"proto=icmp,in=eth0,ttl=11", 4},
		{"proto=icmp,in=eth0,ttl=10", 0},
		{"proto=udp,in=eth1,src=10.9.1.3,dport=1", 5},
		{"proto=udp,in=eth1,src=10.9.1.6,dport=1,mark=0xc", 6},
		{"proto=udp,in=eth1,src=10.9.1.6,dport=1,len=1500", 7},
		{"proto=udp,in=eth1,src=10.9.1.6,dst=10.1.0.255,dport=1", 8},
		{"proto=udp,in=eth1,src=10.9.1.6,dport=1,tos=0x10", 9},
		{"proto=tcp,in=eth1,dport=9", 10},
		{"proto=tcp,in=eth0,dport=9", 0},
		// ICMP type 255 is "any" to the kernel, whatever the code.
		{"proto=icmp,in=eth1,ttl=10,type=0,code=0", 11},
		{"proto=icmp,in=eth1,ttl=10,type=3,code=1", 11},
		{"proto=udp,in=eth1,src=10.9.1.6,dport=1", 0},
	} {
		r := New(rs, h).Run(pkt(t, h, tc.spec, nil))
		last := r.Trace[len(r.Trace)-1]
		if last.Rule != tc.rule {
			t.Errorf("%s: ended at rule %d (%s), want %d", tc.spec, last.Rule, hits(r), tc.rule)
		}
	}
}

func TestConntrackFlows(t *testing.T) {
	rs := loadRuleset(t, "testdata/oracle/docker-20.10.rules")
	h := oracleHost()
	s := New(rs, h)
	// A first SYN dropped before confirmation is forgotten: here it is not
	// dropped, so a retransmitted SYN is NEW and skips nat.
	r1 := s.Run(pkt(t, h, "tcp:ens33:8080", nil))
	r2 := s.Run(pkt(t, h, "tcp:ens33:8080", nil))
	if r1.CTState != "NEW" || r2.CTState != "NEW" || strings.Contains(hits(r2), "nat:") || r2.NAT.Dst != netip.MustParseAddr("172.17.0.2") {
		t.Errorf("retransmitted SYN: %s %s / %s %s", r1.CTState, hits(r1), r2.CTState, hits(r2))
	}
	// A FIN with no connection is INVALID and skips nat: it lands in INPUT.
	s = New(rs, h)
	r := s.Run(pkt(t, h, "proto=tcp,in=ens33,dport=8080,flags=FA", nil))
	if r.CTState != "INVALID" || r.Disposition != DeliveredLocal || strings.Contains(hits(r), "nat:") {
		t.Errorf("FIN: %s %s %s", r.CTState, r.Disposition, hits(r))
	}
	// A pure ACK with no connection is NEW and DNATed (loose pickup).
	r = New(rs, h).Run(pkt(t, h, "proto=tcp,in=ens33,dport=8080,flags=A", nil))
	if r.CTState != "NEW" || r.Disposition != Forwarded {
		t.Errorf("ACK: %s %s %s", r.CTState, r.Disposition, hits(r))
	}
	// A dropped first packet: the next one runs nat again.
	drop := load(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.9
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m mark --mark 1 -j DROP
COMMIT
`)
	hh := InferHost(drop, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
	s = New(drop, hh)
	a := s.Run(pkt(t, hh, "proto=udp,in=eth0,dport=53,mark=1", nil))
	b := s.Run(pkt(t, hh, "proto=udp,in=eth0,dport=53", nil))
	if a.Disposition != Dropped || !strings.Contains(hits(b), "nat:PREROUTING#1") {
		t.Errorf("dropped first packet: %s / %s", hits(a), hits(b))
	}
	// The second UDP packet reuses the binding.
	c := s.Run(pkt(t, hh, "proto=udp,in=eth0,dport=53", nil))
	if strings.Contains(hits(c), "nat:") || c.NAT.Dst != netip.MustParseAddr("10.0.0.9") {
		t.Errorf("second UDP packet: %s", hits(c))
	}
}

func TestNoConntrackWithoutRules(t *testing.T) {
	rs := loadRuleset(t, "testdata/oracle/empty-accept.rules")
	s := New(rs, oracleHost())
	if s.ConntrackActive() {
		t.Fatal("conntrack active on an empty ruleset")
	}
	r := s.Run(pkt(t, s.Host, "tcp:ens33:22", nil))
	if r.CTState != "NONE" || len(s.CT.Conns()) != 0 {
		t.Errorf("ct %s, %d entries", r.CTState, len(s.CT.Conns()))
	}
}

func TestMayMatch(t *testing.T) {
	rs := load(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m set --match-set bad src -j DROP
-A INPUT -p tcp -m limit --limit 1/s -j REJECT
COMMIT
`)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
	r := New(rs, h).Run(pkt(t, h, "tcp:eth0:22", nil))
	if r.Verdict != Accept || len(r.MayMatch) != 2 {
		t.Fatalf("got %s with %d may-match notes", r.Verdict, len(r.MayMatch))
	}
	if m := r.MayMatch[0]; m.Rule != 1 || m.Match != "set" || m.Verdict != Drop {
		t.Errorf("first alternative %+v", m)
	}
	if m := r.MayMatch[1]; m.Rule != 2 || m.Verdict != Reject || m.Disposition != Rejected {
		t.Errorf("second alternative %+v", m)
	}
}

func TestBrNetfilterOff(t *testing.T) {
	rs := loadRuleset(t, "testdata/oracle/docker-20.10.rules")
	h := oracleHost()
	h.BrNetfilter = false
	r := New(rs, h).Run(pkt(t, h, "proto=tcp,in=docker0,src=172.17.0.2,dst=172.17.0.3,dport=5432", nil))
	if r.Disposition != Forwarded || len(r.Trace) != 0 || len(r.Path) != 0 {
		t.Errorf("bridged with br_netfilter off: %s %v %s", r.Disposition, r.Path, hits(r))
	}
	if !slices.Contains(r.Assumptions, "br_netfilter off: bridged traffic does not cross iptables") {
		t.Errorf("IPv4: assumptions %q", r.Assumptions)
	}
	// The same for an IPv6 ruleset: ip6tables is what it does not cross.
	rs6 := load(t, "# Generated by ip6tables-save v1.8.9\n*filter\n:FORWARD DROP [0:0]\nCOMMIT\n")
	h6 := NewHost()
	br := h6.AddIface("docker0")
	br.Addrs, br.Bridge = []netip.Prefix{netip.MustParsePrefix("2001:db8:0:17::1/64")}, true
	br.Ports = []*Port{{"vethc1", []netip.Addr{netip.MustParseAddr("2001:db8:0:17::2")}}, {"vethc2", []netip.Addr{netip.MustParseAddr("2001:db8:0:17::3")}}}
	h6.BrNetfilter = false
	r = New(rs6, h6).Run(pkt(t, h6, "proto=tcp,in=docker0,src=2001:db8:0:17::2,dst=2001:db8:0:17::3,dport=5432", nil))
	if r.Disposition != Forwarded || !slices.Contains(r.Assumptions, "br_netfilter off: bridged traffic does not cross ip6tables") {
		t.Errorf("IPv6: %s, assumptions %q", r.Disposition, r.Assumptions)
	}
}

func BenchmarkDockerPacket(b *testing.B) {
	rs := loadRuleset(b, "testdata/oracle/docker-20.10.rules", "testdata/oracle/admin-filters.overlay.rules")
	h := oracleHost()
	s := New(rs, h)
	p := pkt(b, h, "tcp:ens33:8080", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.CT = &Conntrack{}
		s.Run(p)
	}
}

func BenchmarkLoadAndRun(b *testing.B) {
	for b.Loop() {
		rs := loadRuleset(b, "../testdata/seed/docker-20.10.save")
		h := InferHost(rs, map[string][]netip.Prefix{"ens33": nil})
		New(rs, h).Run(pkt(b, h, "tcp:ens33:8080", nil))
	}
}

// The matches the simulator answers "may match" for besides the opaque
// ones: a MAC a packet does not carry, SCTP chunk types, an entry's
// remaining lifetime. Each is taken as not matching, with the other
// outcome computed, and a packet that decides the match gets no note.
func TestMayMatchUndecided(t *testing.T) {
	for _, c := range []struct {
		rule, pkt string
		may       bool
	}{
		{"-A INPUT -m mac --mac-source 58:94:6B:17:41:7C -j DROP", "tcp:eth0:22", true},
		{"-A INPUT -m mac --mac-source 58:94:6B:17:41:7C -j DROP", "proto=tcp,in=eth0,dport=22,mac=58:94:6b:17:41:7d", false},
		{"-A INPUT -m conntrack --ctexpire 10:20 -j DROP", "tcp:eth0:22", true},
		{"-A INPUT -m conntrack --ctstate ESTABLISHED --ctexpire 10:20 -j DROP", "tcp:eth0:22", false},
		{"-A INPUT -p sctp -m sctp --chunk-types any INIT -j DROP", "proto=sctp,in=eth0,dport=5", true},
		{"-A INPUT -p sctp -m sctp --dport 6 --chunk-types any INIT -j DROP", "proto=sctp,in=eth0,dport=5", false},
	} {
		rs := load(t, "*filter\n:INPUT ACCEPT [0:0]\n"+c.rule+"\nCOMMIT\n")
		h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
		s := New(rs, h)
		for i := 0; i < 2; i++ { // the second packet meets a conntrack entry
			r := s.Run(pkt(t, h, c.pkt, nil))
			if r.Verdict != Accept || len(r.MayMatch) != b2i(c.may) {
				t.Fatalf("%s, %s: %s with %d may-match notes", c.rule, c.pkt, r.Verdict, len(r.MayMatch))
			}
			if c.may {
				if m := r.MayMatch[0]; m.Rule != 1 || m.Verdict != Drop || m.Disposition != Dropped {
					t.Errorf("%s, %s: alternative %+v", c.rule, c.pkt, m)
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// With a clock, an entry times out after the kernel's default timeout for
// its protocol and state; without one, never.
func TestConntrackTimeouts(t *testing.T) {
	rs := load(t, `*filter
:INPUT DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		name  string
		flow  []string
		after []time.Duration // time of each packet after t0
		want  string          // conntrack state of the last packet
	}{
		{"udp reply within 30 s", []string{"proto=udp,in=local,dst=10.0.0.7,dport=53", "reply"}, []time.Duration{0, 29 * time.Second}, "ESTABLISHED"},
		{"udp reply after an hour", []string{"proto=udp,in=local,dst=10.0.0.7,dport=53", "reply"}, []time.Duration{0, time.Hour}, "NEW"},
		{"udp unreplied after 31 s", []string{"proto=udp,in=eth0,dport=53", "proto=udp,in=eth0,dport=53"}, []time.Duration{0, 31 * time.Second}, "NEW"},
		{"udp stream after 100 s", []string{"proto=udp,in=eth0,dport=53", "reply", "proto=udp,in=eth0,dport=53", "proto=udp,in=eth0,dport=53"}, []time.Duration{0, time.Second, 2 * time.Second, 102 * time.Second}, "ESTABLISHED"},
		{"tcp established after 4 days", []string{"tcp:eth0:22", "reply", "proto=tcp,in=eth0,dport=22,flags=A", "proto=tcp,in=eth0,dport=22,flags=A"}, []time.Duration{0, 0, 0, 96 * time.Hour}, "ESTABLISHED"},
		{"tcp established after 6 days", []string{"tcp:eth0:22", "reply", "proto=tcp,in=eth0,dport=22,flags=A", "proto=tcp,in=eth0,dport=22,flags=A"}, []time.Duration{0, 0, 0, 144 * time.Hour}, "NEW"},
		{"tcp syn-ack after 121 s", []string{"tcp:eth0:22", "reply"}, []time.Duration{0, 121 * time.Second}, "INVALID"},
		{"tcp time-wait after 2 min", []string{"tcp:eth0:22", "reply", "proto=tcp,in=eth0,dport=22,flags=A", "proto=tcp,in=eth0,dport=22,flags=FA", "reply,flags=FA", "proto=tcp,in=eth0,dport=22,flags=A", "proto=tcp,in=eth0,dport=22,flags=A"}, []time.Duration{0, 0, 0, 0, 0, 0, 121 * time.Second}, "NEW"},
	} {
		for _, clock := range []bool{true, false} {
			s := New(rs, h)
			var r *Result
			for i, spec := range c.flow {
				if clock {
					s.Now = t0.Add(c.after[i])
				}
				r = s.Run(pkt(t, h, spec, r))
			}
			want := c.want
			if !clock {
				want = "ESTABLISHED" // no clock: nothing expires
				if c.name == "udp unreplied after 31 s" {
					want = "NEW"
				}
			}
			if r.CTState != want {
				t.Errorf("%s (clock %v): %s, want %s", c.name, clock, r.CTState, want)
			}
		}
	}
}

// TestReplyToDropped: the answer to (or ICMP error about) a packet the rules
// dropped comes from where it was headed: this host for a packet dropped in
// INPUT (routing had delivered it locally), in through the egress
// interface for one dropped in FORWARD; never from the host's own address
// in through the ingress interface, which routing drops as a martian.
func TestReplyToDropped(t *testing.T) {
	rs := load(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp --dport 53 -j DROP
-A INPUT -p udp --dport 54 -j REJECT
-A FORWARD -p udp --dport 53 -j DROP
-A OUTPUT -m conntrack --ctstate UNTRACKED -j DROP
COMMIT
`)
	h := InferHost(rs, map[string][]netip.Prefix{
		"eth0": {netip.MustParsePrefix("10.0.0.1/24")},
		"eth1": {netip.MustParsePrefix("10.1.0.1/24")},
	})
	for _, tc := range []struct{ flow, want string }{
		{"proto=udp,in=eth0,dport=53|reply", "dropped local:NEW:sent"},
		{"proto=udp,in=eth0,dport=53|related", "dropped local:INVALID:sent"},
		{"proto=udp,in=eth0,dport=54|reply", "rejected local:NEW:sent"},
		{"proto=udp,in=eth0,dport=55|reply", "delivered-local local:ESTABLISHED:sent"},
		{"proto=udp,in=eth0,dst=10.1.0.7,dport=53|reply", "dropped eth1:NEW:forwarded"},
		{"proto=udp,in=eth0,dst=10.1.0.7,dport=55|reply", "forwarded eth1:ESTABLISHED:forwarded"},
	} {
		s := New(rs, h)
		specs := strings.Split(tc.flow, "|")
		first := s.Run(pkt(t, h, specs[0], nil))
		r := s.Run(pkt(t, h, specs[1], first))
		from := r.Packet.In
		if r.Packet.Local {
			from = "local"
		}
		if got := fmt.Sprintf("%s %s:%s:%s", first.Disposition, from, r.CTState, r.Disposition); got != tc.want {
			t.Errorf("%s: %s, want %s (%v)", tc.flow, got, tc.want, r.Assumptions)
		}
	}
}

// TestWithout: Sim.Without passes over one rule, in a jumped-to chain
// too, as if it were deleted; the other rules and the compiled index are
// as before.
func TestWithout(t *testing.T) {
	rs := load(t, `*filter
:INPUT DROP [0:0]
:U - [0:0]
-A INPUT -j U
-A INPUT -p tcp --dport 22 -j ACCEPT
-A U -p tcp --dport 22 -j DROP
-A U -p tcp --dport 80 -j ACCEPT
COMMIT
`)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}})
	drop := rs.Tables["filter"].Chains["U"].Rules[0]
	for _, compiled := range []bool{false, true} {
		for _, tc := range []struct {
			spec    string
			without *parser.Rule
			disp    string
		}{
			{"tcp:eth0:22", nil, "dropped"},
			{"tcp:eth0:22", drop, "delivered-local"},
			{"tcp:eth0:80", drop, "delivered-local"},
			{"tcp:eth0:23", drop, "dropped"},
		} {
			s := New(rs, h)
			if compiled {
				s.Compile()
			}
			s.Without = tc.without
			if r := s.Run(pkt(t, h, tc.spec, nil)); r.Disposition != tc.disp {
				t.Errorf("compiled %v, %s without %v: %s, want %s", compiled, tc.spec, tc.without != nil, r.Disposition, tc.disp)
			}
		}
	}
}

// TestReplyToUnrouted: the answer to a packet the rules dropped before
// the routing decision comes from where that packet was going (this host,
// or in on the interface of the route to its destination), not back in
// on the interface it arrived by; the resolution says so.
func TestReplyToUnrouted(t *testing.T) {
	rs := load(t, `*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 5432 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
COMMIT
`)
	h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix("10.0.0.1/24")}, "eth1": {netip.MustParsePrefix("192.0.2.1/24")}})
	for _, tc := range []struct {
		first, related   string
		local            bool
		in, assumption   string
		firstDisposition string
	}{
		{"proto=tcp,in=eth0,src=10.0.0.5,dport=5432", "reply", true, "", "sent by this host", "dropped"},
		{"proto=tcp,in=eth0,src=10.0.0.5,dst=192.0.2.7,dport=5432", "reply", false, "eth1", "coming from 192.0.2.7, in on eth1", "dropped"},
		{"proto=tcp,in=eth0,src=10.0.0.5,dst=192.0.2.7,dport=5432", "related", false, "eth1", "in on eth1", "dropped"},
		// Not dropped before routing: back from where it went (sender).
		{"proto=tcp,in=eth0,src=10.0.0.5,dst=192.0.2.7,dport=80", "reply", false, "eth1", "", "forwarded"},
	} {
		s := New(rs, h)
		r1 := s.Run(pkt(t, h, tc.first, nil))
		if r1.Disposition != tc.firstDisposition {
			t.Fatalf("%s: %s", tc.first, r1.Disposition)
		}
		sp, err := ParseSpec(tc.related)
		if err != nil {
			t.Fatal(err)
		}
		p, as, err := sp.Resolve(h, r1)
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(as, "; ")
		if p.Local != tc.local || p.In != tc.in || (tc.assumption == "") != (joined == "") || !strings.Contains(joined, tc.assumption) {
			t.Errorf("%s then %s: local %v in %q (assumptions %q), want local %v in %q (%q)", tc.first, tc.related, p.Local, p.In, joined, tc.local, tc.in, tc.assumption)
		}
	}
}
