package symbolic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/agreement"
	"github.com/dfw-project/dfw/sim/pset"
)

var entries = []Entry{{In: "ens33"}, {In: "eth1"}, {In: "docker0"}, {In: "br-app"}, {In: "eth9"}, {Local: true},
	{In: "ens33", State: parser.CTEstablished}, {In: "docker0", State: parser.CTEstablished},
	{In: "ens33", State: parser.CTEstablished, Reply: true}}

// stepKey formats a trace for comparison.
func traceKey(tr []sim.Step) string {
	var b strings.Builder
	for _, s := range tr {
		r := s.Rule
		if s.Policy {
			r = 0
		}
		fmt.Fprintf(&b, "%s/%s#%d:%s ", s.Table, s.Chain, r, s.Target)
	}
	return b.String()
}

func natKey(n sim.NAT) string {
	return fmt.Sprintf("%v %v %v:%v %v:%v", n.Src, n.Dst, n.HasSport, n.Sport, n.HasDport, n.Dport)
}

// agree compares a class with the simulator's answer for packet p.
func agree(c *Class, r *sim.Result) string {
	var diffs []string
	if c.Alternative {
		for _, m := range r.MayMatch {
			for _, x := range c.MayMatch {
				if x.Taken && x.Step.R != nil && x.Step.Table == m.Table && x.Step.Chain == m.Chain && x.Step.Rule == m.Rule {
					if m.Verdict != c.Verdict || m.Disposition != c.Disposition {
						return fmt.Sprintf("alternative %s/%s#%d: class %s/%s, sim %s/%s", m.Table, m.Chain, m.Rule, c.Verdict, c.Disposition, m.Verdict, m.Disposition)
					}
				}
			}
		}
		return ""
	}
	if c.Verdict != r.Verdict || c.Disposition != r.Disposition || c.DroppedIn != r.DroppedIn || c.RejectWith != r.RejectWith {
		diffs = append(diffs, fmt.Sprintf("verdict: class %s/%s/%s/%s, sim %s/%s/%s/%s", c.Verdict, c.Disposition, c.DroppedIn, c.RejectWith, r.Verdict, r.Disposition, r.DroppedIn, r.RejectWith))
	}
	if c.Out != r.Out {
		diffs = append(diffs, fmt.Sprintf("out: class %q, sim %q", c.Out, r.Out))
	}
	if a, b := traceKey(c.Trace), traceKey(r.Trace); a != b {
		diffs = append(diffs, fmt.Sprintf("trace:\n  class %s\n  sim   %s", a, b))
	}
	if strings.Join(c.Path, ",") != strings.Join(r.Path, ",") {
		diffs = append(diffs, fmt.Sprintf("path: class %v, sim %v", c.Path, r.Path))
	}
	if a, b := natKey(c.NAT), natKey(r.NAT); a != b {
		diffs = append(diffs, fmt.Sprintf("nat: class %s, sim %s", a, b))
	}
	return strings.Join(diffs, "; ")
}

var (
	addrPool = []string{"203.0.113.10", "198.51.100.10", "172.17.0.1", "172.18.0.1", "203.0.113.7", "198.51.100.7",
		"172.17.0.2", "172.17.0.3", "172.18.0.2", "203.0.113.255", "127.0.0.1", "224.0.0.1", "224.0.0.251",
		"255.255.255.255", "0.0.0.0", "198.51.100.5", "10.1.2.3", "203.0.113.135", "172.17.255.255", "8.8.8.8"}
	portPool = []uint16{22, 53, 80, 443, 8080, 5432, 1000, 1010, 1049, 1050, 40000, 0, 65535}
)

func randPacket(r *rand.Rand, entry Entry) sim.Packet {
	a := func() netip.Addr {
		if r.IntN(5) == 0 {
			return netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		}
		return netip.MustParseAddr(addrPool[r.IntN(len(addrPool))])
	}
	port := func() uint16 {
		if r.IntN(6) == 0 {
			return uint16(r.IntN(65536))
		}
		return portPool[r.IntN(len(portPool))]
	}
	p := sim.Packet{Src: a(), Dst: a(), TTL: 64}
	if entry.State == parser.CTEstablished {
		p.State = "ESTABLISHED"
		if entry.Reply {
			p.CTDir = "REPLY"
		}
	}
	if !entry.Local {
		p.In = entry.In
	} else {
		p.Local = true
	}
	switch r.IntN(8) {
	case 0, 1, 2:
		p.Proto = sim.ProtoTCP
		p.Flags = []uint8{parser.FlagSYN, parser.FlagSYN, parser.FlagACK, parser.FlagSYN | parser.FlagACK, parser.FlagRST,
			parser.FlagFIN | parser.FlagACK, parser.FlagPSH | parser.FlagACK, 0, uint8(r.IntN(256))}[r.IntN(9)]
		p.Sport, p.Dport = port(), port()
	case 3, 4:
		p.Proto = sim.ProtoUDP
		p.Sport, p.Dport = port(), port()
	case 5, 6:
		p.Proto = sim.ProtoICMP
		p.ICMPType = []uint8{8, 8, 0, 3, 11, 13, uint8(r.IntN(256))}[r.IntN(7)]
		p.Sport = uint16(r.IntN(65536))
	default:
		p.Proto = []uint8{47, 50, 132, 99}[r.IntN(4)]
	}
	if r.IntN(8) == 0 {
		p.TTL = uint8(1 + r.IntN(70))
	}
	p.Len = sim.HeaderLen(p.Proto, false)
	if r.IntN(8) == 0 {
		p.Len = uint16(20 + r.IntN(200))
	}
	return p
}

var arrivals = map[*Class]pset.Set{}

func findClass(ev *Evaluator, cs []Class, p sim.Packet, entry Entry) []int {
	pt := PointOf(p, entry)
	var out []int
	for i := range cs {
		a, ok := arrivals[&cs[i]]
		if !ok {
			a = ev.Arrival(&cs[i])
			arrivals[&cs[i]] = a
		}
		if pset.Contains(a, pt) {
			out = append(out, i)
		}
	}
	return out
}

// checkCase evaluates every entry of a ruleset and compares the classes
// with the simulator on their witnesses and on random packets. It returns
// packets compared and those outside every class (uncovered: allowed only
// with an Incomplete).
func checkCase(t *testing.T, name string, rs *parser.Ruleset, r *rand.Rand, nrand int) (compared, uncovered int) {
	t.Helper()
	return checkEntries(t, name, rs, r, nrand, entries)
}

// checkEntries is checkCase for the given entries.
func checkEntries(t *testing.T, name string, rs *parser.Ruleset, r *rand.Rand, nrand int, entries []Entry) (compared, uncovered int) {
	t.Helper()
	ev := NewEvaluator(rs, agreement.TopologyHost(), Options{})
	for _, en := range entries {
		classes, inc := ev.Eval(context.Background(), "test", en, ev.FirstPackets())
		// The primary classes partition the input.
		all := ev.U.Empty()
		for i := range classes {
			c := &classes[i]
			if c.Alternative {
				continue
			}
			a := ev.Arrival(c)
			if all.Overlaps(a) {
				t.Errorf("%s %s: class %d overlaps an earlier class", name, en, i)
			}
			all = all.Union(a)
		}
		if len(inc) == 0 && !all.Equal(ev.arrival(ev.FirstPackets(), en)) {
			t.Errorf("%s %s: classes do not cover every packet and no Incomplete", name, en)
		}
		check := func(p sim.Packet, what string, own int) {
			idx := findClass(ev, classes, p, en)
			if own >= 0 {
				if !slices.Contains(idx, own) {
					t.Errorf("%s %s: the witness of class %d is not in its class", name, en, own)
				}
				idx = []int{own}
			}
			primary := own
			for _, i := range idx {
				if !classes[i].Alternative {
					primary = i
				}
			}
			if primary < 0 {
				uncovered++
				if len(inc) == 0 {
					t.Errorf("%s %s: %s %v in no class", name, en, what, p.String())
				}
				return
			}
			if w := classes[primary].Witness; en.Reply && w.CTOrigSrc.IsValid() && !p.CTOrigSrc.IsValid() {
				// A reply of a connection the ruleset source-NATs: it
				// arrives to the NAT address (the class's witness's).
				p.CTOrigSrc, p.Dst = p.Dst, w.Dst
			}
			s := sim.New(rs, agreement.TopologyHost())
			res := s.Run(p)
			if p.CTOrigSrc.IsValid() && res.NAT.Dst == p.CTOrigSrc {
				res.NAT.Dst = netip.Addr{} // each packet's own: not in Class.NAT
			}
			compared++
			for _, i := range idx {
				if d := agree(&classes[i], res); d != "" {
					t.Errorf("%s %s: %s %s (in=%s local=%v ttl=%d len=%d):\n%s\nruleset:\n%s", name, en, what, p.String(), p.In, p.Local, p.TTL, p.Len, d, dump(rs))
					return
				}
			}
		}
		for i := range classes {
			if en.State == parser.CTEstablished {
				classes[i].Witness.State = "ESTABLISHED"
				if en.Reply {
					classes[i].Witness.CTDir = "REPLY"
				}
			}
			check(classes[i].Witness, fmt.Sprintf("witness of class %d", i), i)
		}
		for i := 0; i < nrand; i++ {
			check(randPacket(r, en), "random packet", -1)
		}
	}
	return
}

func dump(rs *parser.Ruleset) string {
	var b strings.Builder
	for _, t := range rs.SortedTables() {
		for _, c := range t.Order {
			for _, r := range c.Rules {
				b.WriteString(r.Line)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// TestRandomAgreement: on random rulesets of the kernel-agreement
// generator, every witness and random packet gets from the simulator
// exactly its class's answer (verdict, disposition, egress, trace, path,
// NAT).
func TestRandomAgreement(t *testing.T) {
	n := 50
	if testing.Short() {
		n = 15
	}
	if s := os.Getenv("SYMBOLIC_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var compared, uncovered int
	for seed, last := uint64(1), uint64(n); seed <= last; seed++ {
		c := agreement.RandomCase(seed)
		if c.IPv6() {
			// randPacket makes IPv4 packets only; the IPv6 rulesets are
			// compared with the kernel in TestRecordedKernel.
			n--
			continue
		}
		rs, err := agreement.LoadRuleset(c, "")
		if err != nil {
			t.Fatal(err)
		}
		clear(arrivals)
		a, b := checkCase(t, c.Name, rs, r, 40)
		compared += a
		uncovered += b
		if t.Failed() {
			return
		}
	}
	t.Logf("%d rulesets, %d packets compared, %d outside the evaluated classes (bridged frames)", n, compared, uncovered)
}

// TestConntrackReplies: the conntrack match on the replies of an asserted
// entry (Entry.Reply) and on packets of the original direction agrees with
// the simulator for every option that tells the two apart: --ctdir, the
// addresses and ports of both tuples (ICMP's identifier and request type
// too).
func TestConntrackReplies(t *testing.T) {
	rules := []string{
		"-p tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL",
		"-p tcp -m conntrack --ctorigdstport 5433",
		"-m conntrack --ctdir REPLY --ctstate ESTABLISHED --ctorigsrc 172.17.0.0/16",
		"-m conntrack --ctorigdst 203.0.113.7",
		"-m conntrack --ctreplsrc 198.51.100.0/24 --ctrepldst 172.18.0.2",
		"-p udp -m conntrack --ctorigsrcport 40000 --ctreplsrcport 53",
		"-m conntrack --ctrepldstport 1000:1050",
		"-p icmp -m conntrack --ctdir REPLY --ctorigdstport 2048",
		"-p icmp -m conntrack --ctrepldstport 2048",
		"-m conntrack ! --ctdir REPLY --ctorigsrcport 0",
	}
	ents := []Entry{{In: "ens33"}, {In: "ens33", State: parser.CTEstablished},
		{In: "ens33", State: parser.CTEstablished, Reply: true}, {In: "docker0", State: parser.CTEstablished, Reply: true}}
	r := rand.New(rand.NewPCG(3, 4))
	for i, m := range rules {
		for _, target := range []string{"DROP", "ACCEPT"} {
			text := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n" +
				"-A FORWARD -j DOCKER-USER\n-A INPUT -j DOCKER-USER\n" +
				"-A DOCKER-USER " + m + " -j " + target + "\n-A DOCKER-USER -i ens33 -j DROP\nCOMMIT\n"
			l := parser.Load([]parser.Source{{Name: "ct.rules", Data: []byte(text)}}, parser.Options{})
			if errs := l.Diags.Errors(); len(errs) > 0 {
				t.Fatalf("%s: %v", m, errs)
			}
			clear(arrivals)
			checkEntries(t, fmt.Sprintf("rule %d (%s -j %s)", i, m, target), l.Ruleset, r, 100, ents)
		}
	}
}

var leafs = map[string]struct{ in, src, src6 string }{
	"ext": {"ens33", "203.0.113.7", "2001:db8:0:1::7"}, "ext2": {"eth1", "198.51.100.7", "2001:db8:0:2::7"},
	"c1": {"docker0", "172.17.0.2", "2001:db8:0:17::2"}, "c2": {"docker0", "172.17.0.3", "2001:db8:0:17::3"},
	"c3": {"br-app", "172.18.0.2", "2001:db8:0:18::2"},
}

// firstPacket converts the first packet of a recorded flow as the
// agreement suite sends it.
func firstPacket(p agreement.Packet) (sim.Packet, Entry, bool) {
	var sp sim.Packet
	var en Entry
	sp.Dst = netip.MustParseAddr(p.Dst)
	v6 := sp.Dst.Is6()
	if p.From == "host" {
		sp.Local, en.Local = true, true
	} else {
		l, ok := leafs[p.From]
		if !ok {
			return sp, en, false
		}
		src := l.src
		if v6 {
			src = l.src6
		}
		sp.In, en.In, sp.Src = l.in, l.in, netip.MustParseAddr(src)
	}
	switch p.Proto {
	case "", "tcp":
		sp.Proto, sp.Flags = sim.ProtoTCP, parser.FlagSYN
	case "udp":
		sp.Proto = sim.ProtoUDP
	case "icmp":
		sp.Proto, sp.ICMPType, sp.Sport = sim.ProtoICMP, 8, 0x1234
		if v6 {
			sp.Proto, sp.ICMPType = sim.ProtoICMPv6, 128
		}
		if p.ICMPType != 0 || p.ICMPCode != 0 {
			sp.ICMPType, sp.ICMPCode = uint8(p.ICMPType), uint8(p.ICMPCode)
		}
	default:
		return sp, en, false
	}
	if !sim.IsICMP(sp.Proto) {
		sp.Sport, sp.Dport = 40000, uint16(p.Dport)
		if p.Sport != 0 {
			sp.Sport = uint16(p.Sport)
		}
	}
	sp.TTL = 64
	if p.Src != "" {
		sp.Src = netip.MustParseAddr(p.Src)
	}
	if p.Flags != "" {
		sp.Flags, _ = sim.ParseFlags(p.Flags)
	}
	if p.TTL != 0 {
		sp.TTL = uint8(p.TTL)
	}
	sp.TOS = uint8(p.TOS)
	sp.Len = sim.HeaderLen(sp.Proto, v6)
	return sp, en, true
}

// TestRecordedKernel: for the first packet of every flow of the
// hand-written kernel-agreement cases, the class holding the packet has
// the kernel's recorded answer (disposition, hook, reject, egress, the
// packet after NAT, the rules whose counters moved).
func TestRecordedKernel(t *testing.T) {
	root, err := agreement.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := root + "/sim/agreement/testdata/"
	cases, err := agreement.LoadCases(dir + "cases")
	if err != nil {
		t.Fatal(err)
	}
	regress, err := agreement.LoadCases(dir + "regress")
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, regress...)
	rec, err := agreement.LoadRecorded(dir+"recorded", "nft")
	if err != nil {
		t.Fatal(err)
	}
	var checked, outside int
	for _, c := range cases {
		rs, err := agreement.LoadRuleset(c, root)
		if err != nil {
			t.Fatal(err)
		}
		ev := NewEvaluator(rs, agreement.TopologyHost(), Options{})
		evals := map[Entry][]Class{}
		for _, f := range c.Flows {
			ans := rec[c.Name][f.Name]
			if len(ans) == 0 || len(f.Packets) == 0 || f.Packets[0].From == "" || ans[0].Disposition == agreement.Skipped {
				continue
			}
			p, en, ok := firstPacket(f.Packets[0])
			if !ok {
				continue
			}
			if p.Local && !p.Src.IsValid() { // as sim's fillDefaults
				if ev.Host.IsLocal(p.Dst) {
					p.Src = p.Dst
				} else if dev, ok := ev.lookup(p.Dst); ok {
					p.Src, _ = ev.Host.Iface(dev).Primary(p.Dst.Is6())
				}
			}
			cs, ok := evals[en]
			if !ok {
				cs, _ = ev.Eval(context.Background(), "test", en, ev.FirstPackets())
				evals[en] = cs
			}
			var cl *Class
			for _, i := range findClass(ev, cs, p, en) {
				if !cs[i].Alternative {
					cl = &cs[i]
				}
			}
			if cl == nil {
				outside++
				continue
			}
			got := agreement.Answer{Disposition: cl.Disposition, DroppedIn: cl.DroppedIn, RejectWith: cl.RejectWith, Out: cl.Out}
			if got.Disposition != sim.Dropped && got.Disposition != sim.Rejected {
				q := p
				if cl.NAT.Src.IsValid() {
					q.Src = cl.NAT.Src
				}
				if cl.NAT.Dst.IsValid() {
					q.Dst = cl.NAT.Dst
				}
				if cl.NAT.HasSport {
					q.Sport = cl.NAT.Sport
				}
				if cl.NAT.HasDport {
					q.Dport = cl.NAT.Dport
				}
				var sp, dp uint16
				if q.Proto == sim.ProtoTCP || q.Proto == sim.ProtoUDP {
					sp, dp = q.Sport, q.Dport
				}
				got.Seen = agreement.SeenString(sim.ProtoName(q.Proto), q.Src, sp, q.Dst, dp)
			}
			for _, s := range cl.Trace {
				r := s.Rule
				if s.Policy {
					r = 0
				}
				got.Hits = append(got.Hits, agreement.HitName(s.Table, s.Chain, r))
			}
			got.Hits = agreement.SortHits(got.Hits)
			checked++
			if d := ans[0].Diff(got); d != "" {
				t.Errorf("case %s flow %s: kernel vs class: %s", c.Name, f.Name, d)
			}
		}
	}
	t.Logf("%d first packets checked against the kernel's recorded answers, %d in bridged frames (not evaluated)", checked, outside)
	if checked < 100 {
		t.Errorf("only %d packets checked", checked)
	}
}

// TestConntrackRepliesSNAT: the replies of connections nat POSTROUTING
// MASQUERADEd (status SNAT, reply tuple's destination the address of the
// interface they arrive on) get the verdict sim gives the reply of the
// same flow, its conntrack entry made by the connection's first packet.
// Before nat PREROUTING un-SNATs them (raw, mangle), they are still sent
// to the NAT address; one that raw leaves untracked never is.
func TestConntrackRepliesSNAT(t *testing.T) {
	rules := []string{
		"-m conntrack --ctstate SNAT",
		"-m conntrack ! --ctstate SNAT",
		"-m conntrack --ctrepldst 172.16.0.0/12",
		"-m conntrack --ctrepldst 203.0.113.0/24",
		"-m conntrack --ctorigsrc 172.17.0.0/16 --ctstate SNAT",
		"-d 172.17.0.2 -m conntrack --ctdir REPLY",
		"raw -d 172.17.0.0/16",
		"raw -m addrtype --dst-type LOCAL",
		"mangle -d 172.17.0.2",
		"mangle -d 203.0.113.0/24",
		"raw -d 203.0.113.0/24 -j CT --notrack\n-A PREROUTING -i ens33 -m addrtype ! --dst-type LOCAL",
	}
	host := agreement.TopologyHost()
	for _, m := range rules {
		text := "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n"
		if table, rule, ok := strings.Cut(m, " "); ok && (table == "raw" || table == "mangle") {
			text += "*" + table + "\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -i ens33 " + rule + " -j DROP\nCOMMIT\n" +
				"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -i ens33 -j REJECT\nCOMMIT\n"
		} else {
			text += "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n" +
				"-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -i ens33 " + m + " -j DROP\nCOMMIT\n"
		}
		l := parser.Load([]parser.Source{{Name: "ct.rules", Data: []byte(text)}}, parser.Options{})
		if errs := l.Diags.Errors(); len(errs) > 0 {
			t.Fatalf("%s: %v", m, errs)
		}
		ev := NewEvaluator(l.Ruleset, host, Options{})
		s := sim.New(l.Ruleset, host)
		u := ev.U
		in := u.Eq(pset.Proto, uint64(sim.ProtoUDP)).Intersect(u.Eq(pset.Length, 28)).Intersect(u.Eq(pset.TTL, 64)).
			Intersect(u.EqAddr(pset.Dst, netip.MustParseAddr("172.17.0.2"))).Intersect(u.EqAddr(pset.Src, netip.MustParseAddr("198.51.100.53"))).Intersect(ev.FirstPackets())
		classes, _ := ev.Eval(context.Background(), "test", Entry{In: "ens33", State: parser.CTEstablished, Reply: true}, in)
		n := 0
		for i := range classes {
			c := &classes[i]
			if c.Alternative {
				continue
			}
			w := c.Witness
			orig := w.Dst
			if w.CTOrigSrc.IsValid() {
				// Sent to the NAT address, for a connection from CTOrigSrc.
				orig = w.CTOrigSrc
			}
			first := sim.Packet{Proto: w.Proto, Src: orig, Dst: w.Src, Sport: w.Dport, Dport: w.Sport, TTL: 64, Len: 28, In: "docker0", Out: "ens33"}
			r1 := s.Run(first)
			if r1.Verdict != sim.Accept || r1.Out != "ens33" {
				t.Fatalf("%s: the first packet %+v: %s out %q", m, first, r1.Verdict, r1.Out)
			}
			reply := sim.ReplyTo(r1)
			r2 := s.Run(reply)
			if r2.Verdict != c.Verdict || r2.Disposition != c.Disposition || strings.Join(r2.Path, ",") != strings.Join(c.Path, ",") {
				t.Errorf("%s: class %d: symbolic %s/%s %v, sim %s/%s %v for the reply %+v", m, i, c.Verdict, c.Disposition, c.Path, r2.Verdict, r2.Disposition, r2.Path, reply)
			}
			// The witness is that reply as it arrives (to the NAT
			// address), and the simulator, told of the connection's
			// source NAT, gives it the same answer and destination.
			if reply.Dst != w.Dst {
				t.Errorf("%s: class %d: the witness is sent to %s, the reply to %s", m, i, w.Dst, reply.Dst)
			}
			r3 := sim.New(l.Ruleset, host).Run(w)
			if r3.Verdict != r2.Verdict || r3.Final.Dst != r2.Final.Dst {
				t.Errorf("%s: class %d: the witness %+v: %s to %s, the reply %s to %s", m, i, w, r3.Verdict, r3.Final.Dst, r2.Verdict, r2.Final.Dst)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no class", m)
		}
	}
}
