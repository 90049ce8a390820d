package agreement

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// RandomCase makes a random case over the matches and targets the simulator
// models: user chains (jumped to and gone to, without loops), RETURN,
// REJECT of every kind, NAT, marks, conntrack state and the original tuple.
// The same seed always gives the same case. Every ruleset it makes loads
// into the kernel: it never puts a target or match where the kernel refuses
// it. One seed in IPv6Every makes an ip6tables case (IPv6 addresses,
// ICMPv6, ip6tables' REJECT kinds and matches).
func RandomCase(seed uint64) *Case {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), f: &family4}
	c := &Case{Name: fmt.Sprintf("random-%d", seed)}
	if seed%IPv6Every == 0 {
		g.f = &family6
		c.Family = "ipv6"
	}
	c.RulesetText = g.ruleset()
	nflows := 1 + g.r.IntN(3)
	for i := 0; i < nflows; i++ {
		c.Flows = append(c.Flows, g.flow(i))
	}
	return c
}

// IPv6Every: RandomCase makes an IPv6 case for the seeds it divides.
const IPv6Every = 5

type gen struct {
	r     *rand.Rand
	b     strings.Builder
	ports []int
	f     *family
}

// family holds what differs between an iptables and an ip6tables case.
type family struct {
	hostAddrs  []string // the host's addresses: ens33, eth1, docker0, br-app
	otherAddrs []string // the leaves': ext, ext2, c1, c2, c3
	nets       []string
	icmp       string   // -p value of ICMP
	icmpMatch  string   // "-m icmp --icmp-type"
	icmpTypes  []string // values of icmpMatch
	rejects    []string // --reject-with values besides the default and tcp-reset
	addrTypes  []string
	iprange    string
	minLen     int    // IP header length
	ttl        string // "ttl" or "hl"
}

var (
	leaves = []string{"ext", "ext2", "c1", "c2", "c3", "host"}
	ifaces = []string{"ens33", "eth1", "docker0", "br-app", "eth+", "br-+", "docker+", "e+", "lo"}
	states = []string{"NEW", "ESTABLISHED", "RELATED,ESTABLISHED", "INVALID", "NEW,INVALID", "ESTABLISHED,RELATED,NEW", "UNTRACKED", "DNAT", "SNAT"}

	family4 = family{
		hostAddrs:  []string{"203.0.113.10", "198.51.100.10", "172.17.0.1", "172.18.0.1"},
		otherAddrs: []string{"203.0.113.7", "198.51.100.7", "172.17.0.2", "172.17.0.3", "172.18.0.2"},
		nets: []string{"203.0.113.0/24", "198.51.100.0/24", "172.17.0.0/16", "172.18.0.0/16",
			"203.0.113.7/32", "172.17.0.2/32", "172.16.0.0/12", "0.0.0.0/1", "128.0.0.0/1",
			"203.0.113.0/255.255.255.128", "0.0.0.7/0.0.0.255"},
		icmp:      "icmp",
		icmpMatch: "-m icmp --icmp-type",
		icmpTypes: []string{"echo-request", "echo-reply", "any", "3/3", "destination-unreachable"},
		rejects:   []string{"icmp-host-prohibited", "icmp-admin-prohibited", "icmp-net-unreachable", "icmp-proto-unreachable", "icmp-host-unreachable"},
		addrTypes: []string{"LOCAL", "UNICAST", "BROADCAST"},
		iprange:   "198.51.100.1-198.51.100.9",
		minLen:    20,
		ttl:       "ttl",
	}
	family6 = family{
		hostAddrs:  []string{"2001:db8:0:1::10", "2001:db8:0:2::10", "2001:db8:0:17::1", "2001:db8:0:18::1"},
		otherAddrs: []string{"2001:db8:0:1::7", "2001:db8:0:2::7", "2001:db8:0:17::2", "2001:db8:0:17::3", "2001:db8:0:18::2"},
		nets: []string{"2001:db8:0:1::/64", "2001:db8:0:2::/64", "2001:db8:0:17::/64", "2001:db8:0:18::/64",
			"2001:db8:0:1::7/128", "2001:db8:0:17::2/128", "2001:db8::/32", "::/1", "8000::/1",
			"2001:db8:0:1::/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff80", "::7/::ff"},
		icmp:      "ipv6-icmp",
		icmpMatch: "-m icmp6 --icmpv6-type",
		icmpTypes: []string{"echo-request", "echo-reply", "neighbour-solicitation", "1/4", "destination-unreachable"},
		rejects:   []string{"icmp6-adm-prohibited", "icmp6-no-route", "icmp6-addr-unreachable", "icmp6-policy-fail", "icmp6-reject-route"},
		addrTypes: []string{"LOCAL", "UNICAST", "MULTICAST"},
		iprange:   "2001:db8:0:2::1-2001:db8:0:2::9",
		minLen:    40,
		ttl:       "hl",
	}
)

// natAddr writes an address for --to-destination with a port.
func (f *family) natAddr(a string, port int) string {
	return f.natAddrPorts(a, fmt.Sprint(port))
}

// natAddrPorts writes an address for --to-destination with ports.
func (f *family) natAddrPorts(a, ports string) string {
	if f == &family6 {
		return fmt.Sprintf("[%s]:%s", a, ports)
	}
	return fmt.Sprintf("%s:%s", a, ports)
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) port() int {
	if len(g.ports) == 0 || g.chance(0.2) {
		p := []int{22, 53, 80, 443, 8080, 5432, 1000 + g.r.IntN(50)}[g.r.IntN(7)]
		g.ports = append(g.ports, p)
		return p
	}
	return g.ports[g.r.IntN(len(g.ports))]
}

func (g *gen) line(format string, args ...any) {
	fmt.Fprintf(&g.b, format, args...)
	g.b.WriteByte('\n')
}

// chainCtx says where a chain is reached from, for what the kernel allows.
type chainCtx struct {
	name     string
	builtin  bool
	noIn     bool // no -i (OUTPUT, POSTROUTING built-ins)
	noOut    bool // no -o (PREROUTING, INPUT built-ins)
	reject   bool // REJECT allowed
	natDst   bool // DNAT/REDIRECT allowed
	natSrc   bool // SNAT/MASQUERADE allowed
	mark     bool // MARK/CONNMARK (mangle)
	notrack  bool // NOTRACK (raw)
	children []string
}

func (g *gen) ruleset() string {
	// raw
	if g.chance(0.3) {
		g.line("*raw")
		g.line(":PREROUTING ACCEPT [0:0]")
		g.line(":OUTPUT ACCEPT [0:0]")
		g.rules(&chainCtx{name: "PREROUTING", builtin: true, noOut: true, notrack: true}, 1+g.r.IntN(2))
		g.line("COMMIT")
	}
	if g.chance(0.4) {
		g.line("*mangle")
		for _, c := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
			g.line(":%s ACCEPT [0:0]", c)
		}
		g.rules(&chainCtx{name: "PREROUTING", builtin: true, noOut: true, mark: true}, 1+g.r.IntN(3))
		g.rules(&chainCtx{name: "FORWARD", builtin: true, mark: true}, g.r.IntN(2))
		g.line("COMMIT")
	}
	if g.chance(0.6) {
		g.line("*nat")
		for _, c := range []string{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"} {
			g.line(":%s ACCEPT [0:0]", c)
		}
		g.rules(&chainCtx{name: "PREROUTING", builtin: true, noOut: true, natDst: true}, 1+g.r.IntN(3))
		g.rules(&chainCtx{name: "OUTPUT", builtin: true, noIn: true, natDst: true}, g.r.IntN(2))
		g.rules(&chainCtx{name: "POSTROUTING", builtin: true, noIn: true, natSrc: true}, 1+g.r.IntN(2))
		g.line("COMMIT")
	}
	g.line("*filter")
	pol := func() string {
		if g.chance(0.5) {
			return "DROP"
		}
		return "ACCEPT"
	}
	g.line(":INPUT %s [0:0]", pol())
	g.line(":FORWARD %s [0:0]", pol())
	g.line(":OUTPUT %s [0:0]", pol())
	nuser := g.r.IntN(4)
	var users []string
	for i := 0; i < nuser; i++ {
		users = append(users, fmt.Sprintf("U%d", i))
		g.line(":U%d - [0:0]", i)
	}
	// User chains may be entered from any built-in chain: -i/-o are
	// allowed in user chains whatever the hook (the kernel does not check).
	g.rules(&chainCtx{name: "INPUT", builtin: true, noOut: true, reject: true, children: users}, 1+g.r.IntN(5))
	g.rules(&chainCtx{name: "FORWARD", builtin: true, reject: true, children: users}, 1+g.r.IntN(5))
	g.rules(&chainCtx{name: "OUTPUT", builtin: true, noIn: true, reject: true, children: users}, g.r.IntN(3))
	for i, u := range users {
		g.rules(&chainCtx{name: u, reject: true, children: users[i+1:]}, 1+g.r.IntN(4))
	}
	g.line("COMMIT")
	return g.b.String()
}

func (g *gen) rules(c *chainCtx, n int) {
	for i := 0; i < n; i++ {
		g.rule(c)
	}
}

func (g *gen) rule(c *chainCtx) {
	var parts []string
	add := func(s string, args ...any) { parts = append(parts, fmt.Sprintf(s, args...)) }
	neg := func() string {
		if g.chance(0.2) {
			return "! "
		}
		return ""
	}
	f := g.f
	if g.chance(0.3) {
		add("%s-s %s", neg(), g.pick(f.nets))
	}
	if g.chance(0.25) {
		add("%s-d %s", neg(), g.pick(append(append([]string{}, f.nets...), f.hostAddrs...)))
	}
	if !c.noIn && g.chance(0.35) {
		add("%s-i %s", neg(), g.pick(ifaces))
	}
	if !c.noOut && g.chance(0.3) {
		add("%s-o %s", neg(), g.pick(ifaces))
	}
	proto := ""
	if g.chance(0.7) {
		proto = []string{"tcp", "tcp", "udp", f.icmp}[g.r.IntN(4)]
		add("-p %s", proto)
	}
	switch proto {
	case "tcp", "udp":
		var mod []string
		switch {
		case g.chance(0.5):
			mod = append(mod, fmt.Sprintf("%s--dport %d", neg(), g.port()))
		case g.chance(0.3):
			p := g.port()
			add("-m multiport %s--dports %d,%d:%d", neg(), g.port(), p, p+1+g.r.IntN(100))
		case g.chance(0.2):
			mod = append(mod, "--sport 40000")
		}
		if proto == "tcp" && g.chance(0.2) {
			mod = append(mod, g.pick([]string{"--syn", "! --syn", "--tcp-flags SYN,ACK ACK", "--tcp-flags ALL RST"}))
		}
		if len(mod) > 0 {
			add("-m %s %s", proto, strings.Join(mod, " "))
		}
	case f.icmp:
		if g.chance(0.5) {
			add("%s %s", f.icmpMatch, g.pick(f.icmpTypes))
		}
	}
	if g.chance(0.3) {
		if g.chance(0.5) {
			add("-m conntrack %s--ctstate %s", neg(), g.pick(states))
		} else {
			add("-m state --state %s", g.pick(states[:7]))
		}
	}
	if g.chance(0.1) && proto != "" && proto != f.icmp {
		add("-m conntrack --ctorigdstport %d", g.port())
	}
	if g.chance(0.1) {
		add("-m conntrack --ctorigdst %s", g.pick(f.hostAddrs))
	}
	if g.chance(0.1) {
		add("-m mark %s--mark 0x%x", neg(), 1+g.r.IntN(3))
	}
	if g.chance(0.05) {
		add("-m connmark --mark 0x%x", 1+g.r.IntN(3))
	}
	if g.chance(0.1) {
		add("-m addrtype %s--dst-type %s", neg(), g.pick(f.addrTypes))
	}
	if g.chance(0.05) {
		add("-m iprange --src-range %s", f.iprange)
	}
	if g.chance(0.05) {
		add("-m length --length %d:%d", f.minLen+g.r.IntN(30), f.minLen+30+g.r.IntN(100))
	}
	if g.chance(0.05) {
		add("-m %[1]s --%[1]s-%[2]s %[3]d", f.ttl, g.pick([]string{"lt", "gt", "eq"}), 60+g.r.IntN(8))
	}
	add("%s", g.target(c, proto))
	g.line("-A %s %s", c.name, strings.Join(parts, " "))
}

func (g *gen) target(c *chainCtx, proto string) string {
	type opt struct {
		w float64
		s func() string
	}
	var opts []opt
	o := func(w float64, s func() string) { opts = append(opts, opt{w, s}) }
	lit := func(s string) func() string { return func() string { return s } }
	switch {
	case c.natDst:
		o(3, func() string {
			if proto == "tcp" || proto == "udp" {
				a, p := g.pick(g.f.otherAddrs[2:]), g.port()
				if p >= 1000 && p < 1050 || p == 8080 && len(a)%2 == 0 {
					// A port offset, decided from what was drawn (so
					// that the draws, and the rest of the case, stay
					// those of the generator without it): the flows'
					// ports, 1000-1049 among them, fall on both sides
					// of the base.
					return "-j DNAT --to-destination " + g.f.natAddrPorts(a, fmt.Sprintf("%d-%d/1020", p, p+4+p%3))
				}
				return "-j DNAT --to-destination " + g.f.natAddr(a, p)
			}
			return "-j DNAT --to-destination " + g.pick(g.f.otherAddrs[2:])
		})
		if proto == "tcp" || proto == "udp" {
			o(1, func() string { return fmt.Sprintf("-j REDIRECT --to-ports %d", g.port()) })
		}
		o(1, lit("-j ACCEPT"))
		o(1, lit("-j RETURN"))
	case c.natSrc:
		o(2, lit("-j MASQUERADE"))
		o(1, func() string { return "-j SNAT --to-source " + g.pick(g.f.hostAddrs) })
		o(1, lit("-j RETURN"))
	case c.notrack:
		o(2, lit("-j NOTRACK"))
		o(1, lit("-j CT --notrack"))
		o(1, lit("-j ACCEPT"))
	case c.mark:
		o(2, func() string { return fmt.Sprintf("-j MARK --set-mark 0x%x", 1+g.r.IntN(3)) })
		o(1, func() string { return fmt.Sprintf("-j MARK --set-xmark 0x%x/0x3", g.r.IntN(4)) })
		o(1, lit("-j CONNMARK --save-mark"))
		o(1, lit("-j CONNMARK --restore-mark"))
		o(1, lit("-j ACCEPT"))
	default:
		o(3, lit("-j ACCEPT"))
		o(3, lit("-j DROP"))
		if !c.builtin {
			o(2, lit("-j RETURN"))
		}
		if c.reject {
			o(1, lit("-j REJECT"))
			o(0.5, func() string {
				return "-j REJECT --reject-with " + g.pick(g.f.rejects)
			})
			if proto == "tcp" {
				o(1, lit("-j REJECT --reject-with tcp-reset"))
			}
		}
		for _, ch := range c.children {
			ch := ch
			o(1.5, lit("-j "+ch))
			o(0.7, lit("-g "+ch))
		}
		o(0.3, lit(""))
	}
	total := 0.0
	for _, x := range opts {
		total += x.w
	}
	v := g.r.Float64() * total
	for _, x := range opts {
		if v < x.w {
			return x.s()
		}
		v -= x.w
	}
	return opts[len(opts)-1].s()
}

func (g *gen) flow(i int) Flow {
	f := Flow{Name: fmt.Sprintf("f%d", i)}
	from := g.pick(leaves)
	var dst string
	switch {
	case g.chance(0.5):
		dst = g.pick(g.f.hostAddrs[:2])
	default:
		dst = g.pick(g.f.otherAddrs)
	}
	if from == "host" && dst == g.f.hostAddrs[0] {
		dst = g.f.otherAddrs[0]
	}
	proto := []string{"tcp", "tcp", "tcp", "udp", "icmp"}[g.r.IntN(5)]
	p := Packet{From: from, Proto: proto, Dst: dst}
	if proto != "icmp" {
		p.Dport = g.port()
		if g.chance(0.3) {
			p.Sport = 40000 + g.r.IntN(3)
		}
	}
	if proto == "tcp" && g.chance(0.25) {
		p.Flags = g.pick([]string{"A", "SA", "R", "FA", "PA"})
	}
	if g.chance(0.1) {
		p.TTL = 1 + g.r.IntN(70)
	}
	f.Packets = append(f.Packets, p)
	// Follow-ups: a reply, a second packet of the same connection, or an
	// ICMP error about the first.
	if g.chance(0.5) {
		f.Packets = append(f.Packets, Packet{ReplyTo: 1})
		if proto == "tcp" && g.chance(0.5) {
			q := p
			q.Flags = "A"
			f.Packets = append(f.Packets, q)
		}
	} else if g.chance(0.2) {
		q := p
		f.Packets = append(f.Packets, q)
	}
	return f
}
