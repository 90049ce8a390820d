package sim_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/agreement"
)

// The fast path (Compile) must give exactly the reference evaluator's
// answers: verdict, disposition, conntrack state, path, NAT, trace,
// assumptions and may-match alternatives, packet after packet with
// conntrack carried along.

func loadText(t testing.TB, texts ...string) *parser.Ruleset {
	t.Helper()
	var srcs []parser.Source
	for i, s := range texts {
		srcs = append(srcs, parser.Source{Name: fmt.Sprintf("r%d.rules", i), Data: []byte(s)})
	}
	l := parser.Load(srcs, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatalf("%v\n%s", errs, texts[0])
	}
	return l.Ruleset
}

// answer is what is compared: the Result without the *parser.Rule
// pointers (equal anyway) and with Final.Inner dereferenced.
func answer(r *sim.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s in=%s with=%s out=%s/%s ct=%s path=%v nat=%+v final=%s ttl=%d mark=%d\n",
		r.Packet.String(), r.Verdict, r.Disposition, r.DroppedIn, r.RejectWith, r.Out, r.PhysOut, r.CTState, r.Path, r.NAT, r.Final.String(), r.Final.TTL, r.Final.Mark)
	for _, s := range r.Trace {
		fmt.Fprintf(&b, "  %s/%s#%d policy=%v goto=%v %s %s:%d\n", s.Table, s.Chain, s.Rule, s.Policy, s.Goto, s.Target, s.Pos.File, s.Pos.Line)
	}
	for _, m := range r.MayMatch {
		fmt.Fprintf(&b, "  may %+v\n", m)
	}
	for _, a := range r.Assumptions {
		fmt.Fprintf(&b, "  - %s\n", a)
	}
	return b.String()
}

// packets makes n random packets for the test topology: from outside, from
// containers, from the host, and replies to earlier ones.
func packets(rng *rand.Rand, h *sim.Host, n int, addrs []netip.Addr, ports []uint16) []func(prev *sim.Result) sim.Packet {
	ifaces := []string{"ens33", "eth1", "docker0", "br-app", "lo"}
	var out []func(prev *sim.Result) sim.Packet
	for i := 0; i < n; i++ {
		if i > 0 && rng.IntN(4) == 0 {
			out = append(out, func(prev *sim.Result) sim.Packet { return sim.ReplyTo(prev) })
			continue
		}
		p := sim.Packet{Src: addrs[rng.IntN(len(addrs))], Dst: addrs[rng.IntN(len(addrs))]}
		switch rng.IntN(10) {
		case 0, 1:
			p.Proto = sim.ProtoUDP
		case 2:
			p.Proto = sim.ProtoICMP
			p.ICMPType = []uint8{8, 0, 3, 11}[rng.IntN(4)]
			p.Sport = uint16(rng.IntN(3))
		default:
			p.Proto = sim.ProtoTCP
			p.Flags = []uint8{parser.FlagSYN, parser.FlagACK, parser.FlagSYN | parser.FlagACK, parser.FlagFIN | parser.FlagACK, parser.FlagRST}[rng.IntN(5)]
		}
		if sim.HasPorts(p.Proto) {
			p.Sport, p.Dport = ports[rng.IntN(len(ports))], ports[rng.IntN(len(ports))]
		}
		if rng.IntN(6) == 0 {
			p.Local = true
			p.Src = netip.Addr{}
			if rng.IntN(2) == 0 {
				p.Src = netip.MustParseAddr("203.0.113.10")
			}
		} else {
			p.In = ifaces[rng.IntN(len(ifaces))]
		}
		p.Mark = uint32(rng.IntN(2)) << 14
		out = append(out, func(*sim.Result) sim.Packet { return p })
	}
	return out
}

// compare runs the packets through a reference and a compiled simulator
// and fails at the first difference.
func compare(t *testing.T, name string, rs *parser.Ruleset, mkHost func() *sim.Host, pkts []func(*sim.Result) sim.Packet) (indexed int) {
	t.Helper()
	// Each its own host: a run may add to it (bridge ports it assumes).
	ref := sim.New(rs, mkHost())
	fast := sim.New(rs, mkHost())
	st := fast.Compile()
	// last: compiled, keeping only the last trace step (a replay summary).
	last := sim.New(rs, mkHost())
	last.Compile()
	last.TraceLast = true
	var prevRef, prevFast, prevLast *sim.Result
	var reuse, reuseLast sim.Result
	for i, mk := range pkts {
		if i > 0 && prevRef == nil {
			continue
		}
		pr := mk(prevRef)
		pf := mk(prevFast)
		a := ref.Run(pr)
		var b *sim.Result
		if i%2 == 0 {
			b = fast.Run(pf)
		} else {
			// RunReuse and RunInto must answer as Run does (and RunInto
			// must leave its packet alone).
			if i%4 == 1 {
				fast.RunReuse(pf, &reuse)
			} else {
				before := pf
				fast.RunInto(&pf, &reuse)
				if pf != before {
					t.Fatalf("%s: packet %d: RunInto changed its packet", name, i+1)
				}
			}
			c := reuse
			b = &c
			b.Final.Inner = nil
			a2 := *a
			a2.Final.Inner = nil
			a = &a2
		}
		if x, y := answer(a), answer(b); x != y {
			t.Fatalf("%s: packet %d differs:\nreference:\n%s\nfast:\n%s", name, i+1, x, y)
		}
		last.RunReuse(mk(prevLast), &reuseLast)
		l := reuseLast
		l.Final.Inner = nil
		l.Trace = append([]sim.Step(nil), reuseLast.Trace...)
		want := *a
		want.Final.Inner = nil
		if n := len(a.Trace); n > 0 {
			want.Trace = a.Trace[n-1:]
			if len(l.Trace) != 1 || l.Trace[0] != a.Trace[n-1] {
				t.Fatalf("%s: packet %d: TraceLast step %+v, want %+v", name, i+1, l.Trace, a.Trace[n-1])
			}
		}
		if x, y := answer(&want), answer(&l); x != y {
			t.Fatalf("%s: packet %d differs:\nreference (last step):\n%s\nTraceLast:\n%s", name, i+1, x, y)
		}
		prevLast = &l
		prevRef, prevFast = a, b
		if i%2 == 1 {
			// keep what ReplyTo reads valid after the next RunReuse
			c := *b
			c.Trace = append([]sim.Step(nil), b.Trace...)
			prevFast = &c
		}
	}
	return st.Indexed
}

// TestFastRandomRulesets: the kernel-loadable random rulesets of package
// agreement, every chain indexed, 300 rulesets × 40 packets.
func TestFastRandomRulesets(t *testing.T) {
	defer sim.SetIndexAll(true)()
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := addrsOf("203.0.113.10", "198.51.100.10", "172.17.0.1", "172.18.0.1", "203.0.113.7", "198.51.100.7",
		"172.17.0.2", "172.17.0.3", "172.18.0.2", "127.0.0.1", "8.8.8.8", "203.0.113.255", "2001:db8::1")
	ports := []uint16{22, 53, 80, 443, 8080, 5432, 1000, 1010, 1049, 40000}
	n, indexed := 300, 0
	if testing.Short() {
		n = 60
	}
	for seed := 1; seed <= n; seed++ {
		c := agreement.RandomCase(uint64(seed))
		rs := loadText(t, c.RulesetText)
		for _, intervals := range []bool{false, true} {
			restore := sim.SetForceIntervals(intervals)
			indexed += compare(t, fmt.Sprintf("%s intervals=%v", c.Name, intervals), rs, agreement.TopologyHost, packets(rng, nil, 40, addrs, ports))
			restore()
		}
	}
	if indexed == 0 {
		t.Fatal("no chain was indexed: the test compares nothing")
	}
	t.Logf("%d chain indexes compared", indexed)
}

// TestFastLongChains: random long chains over addresses (CIDRs, negated,
// non-contiguous masks), port ranges and lists, jumps, gotos and RETURNs.
func TestFastLongChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addrs := addrsOf("10.0.0.1", "10.0.0.2", "10.0.1.7", "10.1.2.3", "192.168.1.1", "192.168.1.200",
		"203.0.113.10", "203.0.113.7", "172.17.0.2", "8.8.8.8", "2001:db8::7")
	ports := []uint16{0, 1, 22, 53, 80, 81, 443, 1024, 8080, 8081, 30000, 30001, 65535}
	n := 150
	if testing.Short() {
		n = 30
	}
	for k := 0; k < n; k++ {
		text := longRuleset(rng)
		rs := loadText(t, text)
		for _, intervals := range []bool{false, true} {
			restore := sim.SetForceIntervals(intervals)
			if compare(t, fmt.Sprintf("long %d intervals=%v", k, intervals), rs, agreement.TopologyHost, packets(rng, nil, 60, addrs, ports)) == 0 {
				t.Fatalf("long %d: nothing indexed\n%s", k, text)
			}
			restore()
		}
	}
}

func addrsOf(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func longRuleset(rng *rand.Rand) string {
	var b bytes.Buffer
	nets := []string{"10.0.0.1/32", "10.0.0.2/32", "10.0.0.0/24", "10.0.0.0/8", "10.1.2.3/32", "192.168.1.0/24",
		"192.168.1.128/25", "0.0.0.0/0", "203.0.113.10/32", "172.17.0.0/16", "0.0.0.1/0.0.0.255", "10.0.0.0/255.0.255.0"}
	portv := []string{"22", "80", "443", "8080", "80:90", "1024:65535", "0:1", "30000", "53"}
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:SVC - [0:0]\n")
	for i := 0; i < 30+rng.IntN(40); i++ {
		fmt.Fprintf(&b, "-A SVC -d 10.0.0.%d/32 -p tcp -m tcp --dport %s -j DNAT --to-destination 172.17.0.2:80\n", rng.IntN(4), portv[rng.IntN(len(portv))])
	}
	b.WriteString("-A PREROUTING -j SVC\n-A OUTPUT -j SVC\nCOMMIT\n")
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n")
	chains := []string{"INPUT", "FORWARD", "A", "B"}
	for _, c := range chains {
		n := 10 + rng.IntN(60)
		for i := 0; i < n; i++ {
			var parts []string
			if rng.IntN(3) > 0 {
				neg, net := "", nets[rng.IntN(len(nets))]
				if rng.IntN(6) == 0 && net != "0.0.0.0/0" {
					neg = "! " // (the kernel refuses "! -d 0.0.0.0/0")
				}
				parts = append(parts, fmt.Sprintf("%s-d %s", neg, net))
			}
			if rng.IntN(3) == 0 {
				parts = append(parts, fmt.Sprintf("-s %s", nets[rng.IntN(len(nets))]))
			}
			switch rng.IntN(5) {
			case 0, 1:
				neg := ""
				if rng.IntN(6) == 0 {
					neg = "! "
				}
				proto := []string{"tcp", "udp"}[rng.IntN(2)]
				parts = append(parts, fmt.Sprintf("-p %s -m %s %s--dport %s", proto, proto, neg, portv[rng.IntN(len(portv))]))
				if rng.IntN(4) == 0 {
					parts = append(parts, fmt.Sprintf("--sport %s", portv[rng.IntN(len(portv))]))
				}
			case 2:
				parts = append(parts, fmt.Sprintf("-p tcp -m multiport --dports %s,%s", portv[rng.IntN(4)], portv[rng.IntN(4)]))
			case 3:
				parts = append(parts, "-m conntrack --ctstate ESTABLISHED,RELATED")
			}
			if rng.IntN(8) == 0 {
				parts = append(parts, "-m mark --mark 0x4000/0x4000")
			}
			tg := []string{"ACCEPT", "DROP", "RETURN", "", "REJECT"}[rng.IntN(5)]
			if c == "INPUT" || c == "FORWARD" {
				if rng.IntN(4) == 0 {
					tg = []string{"A", "B"}[rng.IntN(2)]
					if rng.IntN(3) == 0 {
						parts = append(parts, "-g "+tg)
						tg = ""
					}
				}
			} else if c == "A" && rng.IntN(5) == 0 {
				tg = "B"
			}
			if tg != "" {
				parts = append(parts, "-j "+tg)
			}
			fmt.Fprintf(&b, "-A %s %s\n", c, strings.Join(parts, " "))
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// TestFastKubeProxy: the kube-proxy ruleset (2,000 services), packets to
// its cluster IPs, node ports and elsewhere.
func TestFastKubeProxy(t *testing.T) {
	var b bytes.Buffer
	if _, err := gen.WriteKubeProxy(&b, gen.KubeProxyOptions{Services: 2000, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	rs := loadText(t, b.String())
	h := func() *sim.Host {
		return sim.InferHost(rs, map[string][]netip.Prefix{"ens33": {netip.MustParsePrefix("203.0.113.10/24")}})
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var addrs []netip.Addr
	for i := 1; i <= 2100; i += 7 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, byte(96 + i>>16), byte(i >> 8), byte(i)}))
	}
	addrs = append(addrs, addrsOf("203.0.113.10", "203.0.113.7", "172.17.0.2", "10.244.3.4", "127.0.0.1")...)
	ports := []uint16{80, 443, 9090, 8080, 9100, 6379, 5432, 53, 8000, 8125, 30000, 30005, 30100, 30200, 22}
	n := compare(t, "kube", rs, h, packets(rng, nil, 1500, addrs, ports))
	if n == 0 {
		t.Fatal("nothing indexed")
	}
	t.Logf("%d chains indexed", n)
}
