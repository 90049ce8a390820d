package agreement

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
)

// TopologyHost is the host model of the kernel test topology (package
// sim/kernel): the simulator is told the truth about interfaces, so that a
// disagreement is about netfilter, not about guessing the host. The IPv6
// addresses and route are those of the topology too; they only concern
// IPv6 packets. The interfaces are in the harness' device order (bridges
// first), which decides the address MASQUERADE takes out of lo.
func TopologyHost() *sim.Host {
	h := sim.NewHost()
	a := netip.MustParseAddr
	add := func(name, pfx, pfx6 string, bridge bool, ports ...*sim.Port) {
		i := h.AddIface(name)
		i.Addrs = []netip.Prefix{netip.MustParsePrefix(pfx), netip.MustParsePrefix(pfx6)}
		i.Bridge = bridge
		i.Ports = ports
	}
	add("docker0", "172.17.0.1/16", "2001:db8:0:17::1/64", true,
		&sim.Port{Name: "vethc1", Addrs: []netip.Addr{a("172.17.0.2"), a("2001:db8:0:17::2")}},
		&sim.Port{Name: "vethc2", Addrs: []netip.Addr{a("172.17.0.3"), a("2001:db8:0:17::3")}})
	add("br-app", "172.18.0.1/16", "2001:db8:0:18::1/64", true,
		&sim.Port{Name: "vethc3", Addrs: []netip.Addr{a("172.18.0.2"), a("2001:db8:0:18::2")}})
	add("ens33", "203.0.113.10/24", "2001:db8:0:1::10/64", false)
	add("eth1", "198.51.100.10/24", "2001:db8:0:2::10/64", false)
	h.Routes = []sim.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: a("203.0.113.1"), Dev: "ens33"},
		{Dst: netip.MustParsePrefix("::/0"), Via: a("2001:db8:0:1::1"), Dev: "ens33"},
	}
	return h
}

// TopologyHostFor is TopologyHost for a case: for an IPv6 case it is the
// model of an IPv6 ruleset (sim.Host.IPv6).
func TopologyHostFor(c *Case) *sim.Host {
	h := TopologyHost()
	h.IPv6 = c.IPv6()
	return h
}

// leaf says where a packet from a test namespace enters the host.
var leafs = map[string]struct{ in, physin, src, src6 string }{
	"ext":  {"ens33", "", "203.0.113.7", "2001:db8:0:1::7"},
	"ext2": {"eth1", "", "198.51.100.7", "2001:db8:0:2::7"},
	"c1":   {"docker0", "vethc1", "172.17.0.2", "2001:db8:0:17::2"},
	"c2":   {"docker0", "vethc2", "172.17.0.3", "2001:db8:0:17::3"},
	"c3":   {"br-app", "vethc3", "172.18.0.2", "2001:db8:0:18::2"},
}

// LoadRuleset parses a case's ruleset and overlays as dfwsim would.
func LoadRuleset(c *Case, root string) (*parser.Ruleset, error) {
	srcs, err := c.Sources(root)
	if err != nil {
		return nil, err
	}
	var ps []parser.Source
	for _, s := range srcs {
		ps = append(ps, parser.Source{Name: s.Name, Data: s.Data})
	}
	opts := parser.Options{Family: parser.IPv4}
	if c.IPv6() {
		opts.Family = parser.IPv6
	}
	l := parser.Load(ps, opts)
	// A silent change (SNAT's base port, which iptables drops) is a rule
	// the kernel loads other than written: the simulator runs what the
	// kernel loads. Any other error is a rule the kernel refuses.
	var errs parser.ErrorList
	for _, e := range l.Diags.Errors() {
		if !errors.Is(e, parser.ErrSilentChange) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("case %s: %w", c.Name, errs)
	}
	return l.Ruleset, nil
}

// SimRun answers every flow of c with the simulator. skip[f][i] marks the
// packets the kernel did not send (replies to packets that arrived nowhere);
// they are answered "skipped" too.
func SimRun(c *Case, root string, skip [][]bool) ([][]Answer, error) {
	rs, err := LoadRuleset(c, root)
	if err != nil {
		return nil, err
	}
	var out [][]Answer
	for fi, f := range c.Flows {
		s := sim.New(rs, TopologyHostFor(c))
		var results []*sim.Result
		var answers []Answer
		for i, p := range f.Packets {
			if fi < len(skip) && i < len(skip[fi]) && skip[fi][i] {
				results = append(results, nil)
				answers = append(answers, Answer{Disposition: Skipped, Hits: []string{}})
				continue
			}
			sp, err := simPacket(p, results)
			if err != nil {
				return nil, fmt.Errorf("case %s flow %s packet %d: %w", c.Name, f.Name, i+1, err)
			}
			res := s.Run(sp)
			results = append(results, res)
			answers = append(answers, fromResult(res))
		}
		out = append(out, answers)
	}
	return out, nil
}

func simPacket(p Packet, prev []*sim.Result) (sim.Packet, error) {
	var sp sim.Packet
	switch {
	case p.ReplyTo > 0:
		if prev[p.ReplyTo-1] == nil {
			return sp, fmt.Errorf("reply to a skipped packet")
		}
		sp = sim.ReplyTo(prev[p.ReplyTo-1])
	case p.RelatedTo > 0:
		if prev[p.RelatedTo-1] == nil {
			return sp, fmt.Errorf("ICMP error about a skipped packet")
		}
		typ, code := uint8(3), uint8(3)
		if prev[p.RelatedTo-1].Final.Is6() {
			typ, code = 1, 4 // destination unreachable, port unreachable
		}
		if p.ICMPType != 0 || p.ICMPCode != 0 {
			typ, code = uint8(p.ICMPType), uint8(p.ICMPCode)
		}
		return sim.RelatedTo(prev[p.RelatedTo-1], typ, code), nil
	default:
		sp.Dst = netip.MustParseAddr(p.Dst)
		v6 := sp.Dst.Is6()
		if p.From == "host" {
			sp.Local = true
		} else {
			l, ok := leafs[p.From]
			if !ok {
				return sp, fmt.Errorf("unknown leaf %q", p.From)
			}
			src := l.src
			if v6 {
				src = l.src6
			}
			sp.In, sp.PhysIn, sp.Src = l.in, l.physin, netip.MustParseAddr(src)
		}
		switch p.Proto {
		case "", "tcp":
			sp.Proto = sim.ProtoTCP
			sp.Flags = parser.FlagSYN
		case "udp":
			sp.Proto = sim.ProtoUDP
		case "icmp", "icmpv6":
			sp.Proto = sim.ProtoICMP
			sp.ICMPType, sp.ICMPCode = 8, 0
			if v6 {
				sp.Proto = sim.ProtoICMPv6
				sp.ICMPType = 128
			}
			if p.ICMPType != 0 || p.ICMPCode != 0 {
				sp.ICMPType, sp.ICMPCode = uint8(p.ICMPType), uint8(p.ICMPCode)
			}
			sp.Sport = 0x1234
		default:
			return sp, fmt.Errorf("unknown protocol %q", p.Proto)
		}
		if !sim.IsICMP(sp.Proto) {
			sp.Sport = 40000
			if p.Sport != 0 {
				sp.Sport = uint16(p.Sport)
			}
			sp.Dport = uint16(p.Dport)
		}
		sp.TTL = 64
	}
	if p.Src != "" {
		sp.Src = netip.MustParseAddr(p.Src)
	}
	if p.Flags != "" {
		fl, err := sim.ParseFlags(p.Flags)
		if err != nil {
			return sp, err
		}
		sp.Flags = fl
	}
	if p.TTL != 0 {
		sp.TTL = uint8(p.TTL)
	}
	if p.TOS != 0 {
		sp.TOS = uint8(p.TOS)
	}
	sp.Len = sim.HeaderLen(sp.Proto, sp.Is6())
	return sp, nil
}

func protoName(n uint8) string {
	switch n {
	case sim.ProtoTCP:
		return "tcp"
	case sim.ProtoUDP:
		return "udp"
	case sim.ProtoICMP:
		return "icmp"
	case sim.ProtoICMPv6:
		return "icmpv6"
	}
	return fmt.Sprint(n)
}

func fromResult(r *sim.Result) Answer {
	a := Answer{Disposition: r.Disposition, DroppedIn: r.DroppedIn, RejectWith: r.RejectWith, Out: r.Out}
	if a.Disposition != "dropped" && a.Disposition != "rejected" {
		f := r.Final
		a.Seen = SeenString(protoName(f.Proto), f.Src, f.Sport, f.Dst, f.Dport)
	}
	for _, st := range r.Trace {
		rule := st.Rule
		if st.Policy {
			rule = 0
		}
		a.Hits = append(a.Hits, HitName(st.Table, st.Chain, rule))
	}
	a.Hits = SortHits(a.Hits)
	return a
}

// SkipsOf returns which packets of each flow an answer set skipped.
func SkipsOf(answers [][]Answer) [][]bool {
	out := make([][]bool, len(answers))
	for i, f := range answers {
		out[i] = make([]bool, len(f))
		for j, a := range f {
			out[i][j] = a.Disposition == Skipped
		}
	}
	return out
}
