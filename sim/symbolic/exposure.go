package symbolic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

// Analysis names, as in Incomplete.
const (
	AnalysisExposure    = "exposure"
	AnalysisDiff        = "diff"
	AnalysisEstablished = "established"
	AnalysisOutbound    = "outbound"
	AnalysisOpenFields  = "classes"
)

// Exposure kinds.
const (
	KindHost      = "host"      // delivered locally
	KindContainer = "container" // DNAT-ed, forwarded
	KindForward   = "forward"   // routed to a bridge without DNAT
)

// RuleRef names a rule or a policy.
type RuleRef struct {
	Table  string `json:"table"`
	Chain  string `json:"chain"`
	Rule   int    `json:"rule"` // 0 for a policy
	Policy bool   `json:"policy,omitempty"`
	Target string `json:"target,omitempty"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// RefOf converts a trace step.
func RefOf(s sim.Step) RuleRef {
	return RuleRef{Table: s.Table, Chain: s.Chain, Rule: s.Rule, Policy: s.Policy, Target: s.Target, File: s.Pos.File, Line: s.Pos.Line}
}

func (r RuleRef) String() string {
	var b strings.Builder
	if r.Policy {
		fmt.Fprintf(&b, "%s/%s policy %s", r.Table, r.Chain, r.Target)
	} else {
		fmt.Fprintf(&b, "%s/%s#%d", r.Table, r.Chain, r.Rule)
	}
	if r.File != "" {
		fmt.Fprintf(&b, " (%s:%d)", r.File, r.Line)
	}
	return b.String()
}

// Short is "CHAIN#N" or "CHAIN policy".
func (r RuleRef) Short() string {
	if r.Policy {
		return r.Chain + " policy"
	}
	return fmt.Sprintf("%s#%d", r.Chain, r.Rule)
}

// ExposureRow is one set of new connections from outside that the
// ruleset accepts on an external interface.
type ExposureRow struct {
	Interface string `json:"interface"`
	// Other is set for an interface the rules never name (the row holds
	// for every such interface).
	Other bool   `json:"other,omitempty"`
	Kind  string `json:"kind"`
	Proto string `json:"proto"`
	// Ports are the destination ports as the packet arrives (tcp, udp).
	Ports   [][2]int `json:"ports"`
	Sources []string `json:"sources"`
	// AnySource is set when the sources stand for the whole Internet
	// (Evaluator.AnySource).
	AnySource bool `json:"-"`
	// Destination: the host addresses reached, or the container
	// address:port after DNAT.
	Destination string `json:"destination"`
	// Container is the address and port after DNAT (kind container) or
	// the address routed to (forward); Bridge the egress bridge.
	Container string `json:"container,omitempty"`
	Bridge    string `json:"bridge,omitempty"`
	// Loopback is set when the packets are addressed to 127.0.0.0/8
	// (LoopbackDestinations): no router forwards them, so only the
	// machines on the interface's link can send them, and routing would
	// drop them as martian had a DNAT of PREROUTING not given them
	// another destination first (Docker's -p 127.0.0.1:8080:80 before
	// Docker 28). Such a row holds only what the rows of the host's other
	// addresses do not already take: the same packet addressed to one of
	// them is not accepted. Its sources never stand for the Internet.
	Loopback     bool        `json:"loopback,omitempty"`
	DNAT         *RuleRef    `json:"dnat,omitempty"`
	AcceptedBy   RuleRef     `json:"accepted_by"`
	Path         []RuleRef   `json:"path"`
	Witness      WitnessJSON `json:"witness"`
	DependsOnMay bool        `json:"depends_on_may_match"`
	MayMatch     []RuleRef   `json:"may_match,omitempty"`

	Set pset.Set `json:"-"`
}

// WitnessJSON is a packet with dfwsim's field names.
type WitnessJSON struct {
	Proto string `json:"proto"`
	In    string `json:"in,omitempty"`
	Src   string `json:"src,omitempty"`
	Dst   string `json:"dst,omitempty"`
	Sport int    `json:"sport,omitempty"`
	Dport int    `json:"dport,omitempty"`
	Flags string `json:"flags,omitempty"`
	Type  *int   `json:"type,omitempty"`
}

// WitnessOf converts a packet.
func WitnessOf(p sim.Packet) WitnessJSON {
	w := WitnessJSON{Proto: sim.ProtoName(p.Proto), In: p.In, Src: p.Src.String(), Dst: p.Dst.String()}
	if p.Local {
		w.In = "local"
	}
	if sim.HasPorts(p.Proto) {
		w.Sport, w.Dport = int(p.Sport), int(p.Dport)
	}
	if p.Proto == sim.ProtoTCP {
		w.Flags = sim.FlagLetters(p.Flags)
	}
	if sim.IsICMP(p.Proto) {
		t := int(p.ICMPType)
		w.Type = &t
	}
	return w
}

// ExposureOptions configures Exposure.
type ExposureOptions struct {
	Options
	// External lists the external interfaces; nil takes
	// DefaultExternal.
	External []string
}

// IsInternalName reports whether an interface name is loopback, a
// bridge, a veth or a tunnel by its name.
func IsInternalName(n string) bool {
	if n == "" || n == "lo" || n == "docker0" || n == "docker_gwbridge" {
		return true
	}
	for _, p := range []string{"br-", "virbr", "veth", "tun", "tap", "wg", "tailscale", "zt", "gre", "ipip", "sit",
		"vxlan", "flannel", "cali", "cni", "kube-", "weave", "lxcbr", "lxdbr", "vnet", "ip6tnl", "ip_vti", "docker"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// ExternalIface is an external interface of the analysis: a name, or the
// class of unnamed interfaces it stands for.
type ExternalIface struct {
	Name  string
	Other bool
	Label string
}

// DefaultExternal lists the external interfaces: every interface symbol
// of the universe (the rules' names, the host model's, and one for the
// interfaces the rules never name) that is not loopback, a bridge, a veth
// or a tunnel.
func DefaultExternal(u *pset.Universe, host *sim.Host) []ExternalIface {
	var out []ExternalIface
	for _, i := range u.Ifaces() {
		if i.Name == "" {
			continue
		}
		if hi := host.Iface(i.Name); hi != nil && hi.Bridge {
			continue
		}
		if i.Other {
			if i.Prefix != "" && IsInternalName(i.Prefix) {
				continue
			}
			lbl := "(unnamed)"
			if i.Prefix != "" {
				lbl = fmt.Sprintf("%s+ (unnamed)", i.Prefix)
			}
			out = append(out, ExternalIface{Name: i.Name, Other: true, Label: lbl})
			continue
		}
		if IsInternalName(i.Name) {
			continue
		}
		out = append(out, ExternalIface{Name: i.Name, Label: i.Name})
	}
	return out
}

// NewConnections is the set of new connections from outside: a TCP SYN, a
// UDP datagram or an ICMP echo request, from any source and source port,
// TTL 64, to dst (a set over Dst).
func (e *Evaluator) NewConnections(dst pset.Set) pset.Set {
	u := e.U
	tcp := u.Eq(pset.Proto, uint64(sim.ProtoTCP)).Intersect(u.Eq(pset.TCPFlags, uint64(parser.FlagSYN))).Intersect(u.Eq(pset.Length, 40))
	udp := u.Eq(pset.Proto, uint64(sim.ProtoUDP)).Intersect(u.Eq(pset.Length, 28))
	icmp := u.Eq(pset.Proto, uint64(sim.ProtoICMP)).Intersect(u.Eq(pset.ICMPType, 8)).Intersect(u.Eq(pset.ICMPCode, 0)).Intersect(u.Eq(pset.Length, 28))
	if e.v6 {
		icmp = u.Eq(pset.Proto, uint64(sim.ProtoICMPv6)).Intersect(u.Eq(pset.ICMPType, 128)).Intersect(u.Eq(pset.ICMPCode, 0)).Intersect(u.Eq(pset.Length, 48))
		tcp = tcp.Forget(pset.Length).Intersect(u.Eq(pset.Length, 60))
		udp = udp.Forget(pset.Length).Intersect(u.Eq(pset.Length, 48))
	}
	s := tcp.Union(udp).Union(icmp).Intersect(u.Eq(pset.TTL, 64)).Intersect(u.Eq(pset.TOS, 0))
	return s.Intersect(dst).Intersect(e.FirstPackets())
}

// ExposedDestinations is the set of destinations an exposure analysis
// looks at: the host's addresses, the subnets of its bridges (containers)
// and, on IPv4, the loopback network (LoopbackDestinations).
func (e *Evaluator) ExposedDestinations() pset.Set {
	u := e.U
	lo := netip.MustParsePrefix("127.0.0.0/8")
	if e.v6 {
		lo = netip.MustParsePrefix("::1/128")
	}
	s := e.local.Diff(u.CIDR(pset.Dst, lo)).Diff(e.bcast).Union(e.LoopbackDestinations())
	for _, i := range e.Host.Ifaces {
		if !i.Bridge {
			continue
		}
		for _, p := range i.Addrs {
			if p.Addr().Is6() == e.v6 {
				s = s.Union(u.CIDR(pset.Dst, p.Masked()))
			}
		}
	}
	return s.Diff(e.bcast)
}

// LoopbackDestinations is the part of ExposedDestinations a machine on
// the link of an external interface reaches by addressing its frames to
// the host's MAC address, where no router would take them: IPv4's
// loopback network 127.0.0.0/8 (over Dst). Routing drops such a packet as
// martian (route_localnet off, the default) but PREROUTING runs first,
// and a DNAT there (Docker's "-d 127.0.0.1/32 ... -j DNAT" for
// -p 127.0.0.1:8080:80) forwards it to its new destination. Empty on
// IPv6: the kernel drops a packet to ::1 that arrives on any interface
// but lo before PREROUTING (ip6_rcv_core).
func (e *Evaluator) LoopbackDestinations() pset.Set {
	if e.v6 {
		return e.U.Empty()
	}
	return e.U.CIDR(pset.Dst, netip.MustParsePrefix("127.0.0.0/8"))
}

// Exposure lists the new connections from outside accepted on each
// external interface, to the host and (after DNAT) to containers.
func Exposure(ctx context.Context, rs *parser.Ruleset, host *sim.Host, opts ExposureOptions) ([]ExposureRow, []Incomplete) {
	rows, _, inc := ExposureDiverted(ctx, rs, host, opts)
	return rows, inc
}

// ExposureDiverted is Exposure, with the new connections to the host that
// a DNAT sends away before INPUT from the same evaluation.
func ExposureDiverted(ctx context.Context, rs *parser.Ruleset, host *sim.Host, opts ExposureOptions) ([]ExposureRow, []DivertedRow, []Incomplete) {
	if host == nil {
		host = sim.InferHost(rs, nil)
	}
	o := opts.Options
	o.OnlyAccepted = true
	e := NewEvaluator(rs, host, o, opts.External...)
	return e.ExposureDiverted(ctx, opts.External)
}

// DivertedRow is a set of new connections from outside to the host's own
// addresses that a DNAT of PREROUTING gives a destination off the host
// (a published port, a NodePort, a DNAT of the user's to another
// machine): routing forwards them, so they never reach INPUT, whether
// FORWARD then accepts or drops them. One row per interface, protocol
// and DNAT rule; only the certain ones (no may-match rule before the
// routing decision).
type DivertedRow struct {
	Interface string `json:"interface"`
	Other     bool   `json:"other,omitempty"`
	Proto     string `json:"proto"`
	// Ports are the destination ports as the packet arrives (tcp, udp).
	Ports   [][2]int `json:"ports"`
	Sources []string `json:"sources"`
	// AnySource is set when the sources stand for the whole Internet
	// (Evaluator.AnySource).
	AnySource bool `json:"-"`
	// To is the destination after DNAT (address, or address:port).
	To      string      `json:"to"`
	DNAT    RuleRef     `json:"dnat"`
	Witness WitnessJSON `json:"witness"`

	Set pset.Set `json:"-"`
}

// Exposure runs the exposure analysis on the evaluator's ruleset.
func (e *Evaluator) Exposure(ctx context.Context, external []string) ([]ExposureRow, []Incomplete) {
	rows, _, inc := e.ExposureDiverted(ctx, external)
	return rows, inc
}

// ExposureDiverted runs the exposure analysis on the evaluator's ruleset,
// and gives the diverted connections its evaluations met too.
func (e *Evaluator) ExposureDiverted(ctx context.Context, external []string) ([]ExposureRow, []DivertedRow, []Incomplete) {
	var ifaces []ExternalIface
	if external == nil {
		ifaces = DefaultExternal(e.U, e.Host)
	} else {
		for _, n := range external {
			ifaces = append(ifaces, ExternalIface{Name: n, Label: n})
		}
	}
	dst := e.ExposedDestinations()
	var rows []ExposureRow
	var incs []Incomplete
	// Interfaces that no rule and nothing of the host model tells apart
	// get the same classes: evaluate the first, reuse for the others.
	var divs []DivertedRow
	// Their rows are the first one's, under their own name and with
	// their own witness packets (relabel): the rows of a kube-proxy host
	// took as long to make as its classes.
	type done struct {
		name string
		rows []ExposureRow
		divs []DivertedRow
	}
	var evaluated []done
	for _, x := range ifaces {
		reused := false
		for _, d := range evaluated {
			if e.indistinguishable(d.name, x.Name) {
				rows = append(rows, e.relabelRows(d.rows, x)...)
				divs = append(divs, e.relabelDiverted(d.divs, x)...)
				reused = true
				break
			}
		}
		if reused {
			continue
		}
		if e.U.NodeCount() > e.Opts.MaxNodes/2 {
			// Nodes are never freed: a fresh universe for the next
			// interface (the rule sets are built again).
			n := newEvaluatorIn(universeFor(e.RS, e.names, e.Opts), e.RS, e.Host, e.Opts)
			n.names = e.names
			*e = *n
			dst = e.ExposedDestinations()
			// The classes evaluated so far are sets of the old
			// universe: not to be combined with the new one's.
			evaluated = nil
		}
		var dv []diverted
		e.diverted = &dv
		classes, inc := e.Eval(ctx, AnalysisExposure, Entry{In: x.Name}, e.NewConnections(dst))
		e.diverted = nil
		for i := range inc {
			inc[i].Reason = fmt.Sprintf("interface %s: %s", x.Name, inc[i].Reason)
		}
		xrows, xdivs := e.exposureRows(x, classes), e.divertedRows(x, dv)
		if len(inc) == 0 {
			evaluated = append(evaluated, done{x.Name, xrows, xdivs})
		}
		incs = append(incs, inc...)
		rows = append(rows, xrows...)
		divs = append(divs, xdivs...)
	}
	return rows, divs, incs
}

// relabelRows returns the exposure rows of another interface's classes
// (exposureRows) as those of x, an interface indistinguishable from it:
// the same rows, under x's name, with witnesses arriving on x.
func (e *Evaluator) relabelRows(rows []ExposureRow, x ExternalIface) []ExposureRow {
	out := make([]ExposureRow, len(rows))
	for i, r := range rows {
		r.Interface, r.Other = x.Label, x.Other
		r.Ports, r.Sources = slices.Clone(r.Ports), slices.Clone(r.Sources)
		r.Path, r.MayMatch = slices.Clone(r.Path), slices.Clone(r.MayMatch)
		if r.DNAT != nil {
			d := *r.DNAT
			r.DNAT = &d
		}
		r.Witness = e.witnessOn(r.Set, x)
		out[i] = r
	}
	return out
}

// relabelDiverted is relabelRows for diverted rows (divertedRows).
func (e *Evaluator) relabelDiverted(rows []DivertedRow, x ExternalIface) []DivertedRow {
	out := make([]DivertedRow, len(rows))
	for i, r := range rows {
		r.Interface, r.Other = x.Label, x.Other
		r.Ports, r.Sources = slices.Clone(r.Ports), slices.Clone(r.Sources)
		r.Witness = e.witnessOn(r.Set, x)
		out[i] = r
	}
	return out
}

// witnessOn is the witness of a row's set, arriving on x.
func (e *Evaluator) witnessOn(s pset.Set, x ExternalIface) WitnessJSON {
	if w, ok := s.Witness(); ok {
		return WitnessOf(e.packetOf(w, Entry{In: x.Name}))
	}
	return WitnessJSON{}
}

// divertedRows groups the diverted sets of one interface by protocol and
// DNAT rule, keeping the packets addressed to the host.
func (e *Evaluator) divertedRows(x ExternalIface, ds []diverted) []DivertedRow {
	u := e.U
	type key struct{ proto, dnat, to string }
	groups := map[key]*DivertedRow{}
	keepPort := map[key]netip.Addr{} // the DNAT kept the port
	var order []key
	for _, d := range ds {
		// Packets to the loopback network never reach INPUT, DNAT or
		// not: routing drops them.
		s := d.s.Intersect(e.local).Diff(e.LoopbackDestinations())
		if s.IsEmpty() {
			continue
		}
		var dnat RuleRef
		for _, st := range d.trace {
			if st.Target == "DNAT" || st.Target == "REDIRECT" || st.Target == "NETMAP" {
				dnat = RefOf(st)
			}
		}
		for _, p := range []uint8{sim.ProtoTCP, sim.ProtoUDP, sim.ProtoICMP, sim.ProtoICMPv6} {
			sub := s.Intersect(u.Eq(pset.Proto, uint64(p)))
			if sub.IsEmpty() {
				continue
			}
			to := d.to.String()
			if d.dport >= 0 && sim.HasPorts(p) {
				to = netip.AddrPortFrom(d.to, uint16(d.dport)).String()
			}
			k := key{sim.ProtoName(p), dnat.String(), to}
			if g := groups[k]; g != nil {
				g.Set = g.Set.Union(sub)
				continue
			}
			groups[k] = &DivertedRow{Interface: x.Label, Other: x.Other, Proto: k.proto, To: to, DNAT: dnat, Set: sub}
			if d.dport < 0 && sim.HasPorts(p) {
				keepPort[k] = d.to
			}
			order = append(order, k)
		}
	}
	var rows []DivertedRow
	for _, k := range order {
		g := groups[k]
		if sim.HasPorts(protoNum(g.Proto)) {
			g.Ports = PortRanges(g.Set, pset.Dport)
		}
		if a, ok := keepPort[k]; ok && len(g.Ports) == 1 && g.Ports[0][0] == g.Ports[0][1] {
			g.To = netip.AddrPortFrom(a, uint16(g.Ports[0][0])).String()
		}
		g.Sources = AddrSummary(g.Set, pset.Src, e.NotInternet())
		g.AnySource = e.AnySource(g.Set)
		g.Witness = e.witnessOn(g.Set, x)
		rows = append(rows, *g)
	}
	slices.SortStableFunc(rows, func(a, b DivertedRow) int {
		if d := strings.Compare(a.Proto, b.Proto); d != 0 {
			return d
		}
		pa, pb := -1, -1
		if len(a.Ports) > 0 {
			pa = a.Ports[0][0]
		}
		if len(b.Ports) > 0 {
			pb = b.Ports[0][0]
		}
		return pa - pb
	})
	return rows
}

func (e *Evaluator) exposureRows(x ExternalIface, classes []Class) []ExposureRow {
	u := e.U
	type key struct {
		kind, proto, dest, trace string
		loopback                 bool
	}
	groups := map[key]*ExposureRow{}
	var order []key
	lo := e.LoopbackDestinations()
	// routable holds, by where a class sends its packets, the accepted
	// packets addressed to the host's other addresses, whatever their
	// destination: a packet to 127.0.0.0/8 that the same packet to one of
	// them matches, sent to the same place, adds nothing to the rows.
	sentTo := func(c *Class) string {
		return fmt.Sprintf("%v|%v|%v|%d|%s", c.Disposition, c.NAT.Dst, c.NAT.HasDport, c.NAT.Dport, c.Out)
	}
	routable := map[string]pset.Set{}
	if !lo.IsEmpty() {
		for i := range classes {
			if c := &classes[i]; c.Verdict == sim.Accept {
				if r, ok := routable[sentTo(c)]; ok {
					routable[sentTo(c)] = r.Union(c.Set.Intersect(e.local).Diff(lo))
				} else {
					routable[sentTo(c)] = c.Set.Intersect(e.local).Diff(lo)
				}
			}
		}
		for k, r := range routable {
			routable[k] = r.Forget(pset.Dst)
		}
	}
	for i := range classes {
		c := &classes[i]
		if c.Verdict != sim.Accept {
			continue
		}
		kind := ""
		var container, bridge string
		switch c.Disposition {
		case sim.DeliveredLocal:
			kind = KindHost
		case sim.Forwarded:
			hi := e.Host.Iface(c.Out)
			isBr := hi != nil && hi.Bridge
			switch {
			case c.NAT.Dst.IsValid() || c.NAT.HasDport:
				kind = KindContainer
			case isBr:
				kind = KindForward
			default:
				continue // transit to another uplink
			}
			if isBr {
				bridge = c.Out
			}
		default:
			continue
		}
		var dnat *RuleRef
		for _, s := range c.Trace {
			if s.Target == "DNAT" || s.Target == "REDIRECT" {
				r := RefOf(s)
				dnat = &r
			}
		}
		// Most classes have one protocol: its bounds say so without an
		// intersection for each protocol (which walks the class's set).
		plo, phi, _ := c.Set.Bounds(pset.Proto)
		for _, p := range []uint8{sim.ProtoTCP, sim.ProtoUDP, sim.ProtoICMP, sim.ProtoICMPv6} {
			if uint64(p) < plo || uint64(p) > phi {
				continue
			}
			psub := c.Set
			if plo != phi {
				psub = c.Set.Intersect(u.Eq(pset.Proto, uint64(p)))
			}
			for _, loopback := range []bool{false, true} {
				sub := psub.Diff(lo)
				if loopback {
					sub = psub.Intersect(lo)
					if r, ok := routable[sentTo(c)]; ok {
						sub = sub.Diff(r)
					}
				}
				if sub.IsEmpty() {
					continue
				}
				dest := ""
				if kind == KindContainer {
					a := c.NAT.Dst
					if !a.IsValid() {
						a = c.Witness.Dst
					}
					container = a.String()
					if c.NAT.HasDport && sim.HasPorts(p) {
						container = netip.AddrPortFrom(a, c.NAT.Dport).String()
					}
					dest = container
				}
				if c.NAT.HasDport && kind == KindHost {
					dest = fmt.Sprintf(" (redirected to port %d)", c.NAT.Dport)
				}
				dn := ""
				if dnat != nil {
					dn = dnat.String()
				}
				k := key{kind, sim.ProtoName(p), dest + "|" + bridge, acceptedBy(c.Trace).String() + dn + mayString(c.MayMatch) + passedBy(c.Trace), loopback}
				g := groups[k]
				if g == nil {
					g = &ExposureRow{Interface: x.Label, Other: x.Other, Kind: kind, Proto: sim.ProtoName(p), Destination: dest,
						Container: container, Bridge: bridge, DNAT: dnat, AcceptedBy: acceptedBy(c.Trace), Set: sub,
						DependsOnMay: len(c.MayMatch) > 0, Loopback: loopback}
					for _, s := range c.Trace {
						g.Path = append(g.Path, RefOf(s))
					}
					for _, m := range c.MayMatch {
						g.MayMatch = append(g.MayMatch, RefOf(m.Step))
					}
					groups[k] = g
					order = append(order, k)
				} else {
					g.Set = g.Set.Union(sub)
				}
			}
		}
	}
	var rows []ExposureRow
	for _, k := range order {
		g := groups[k]
		if sim.HasPorts(protoNum(g.Proto)) {
			g.Ports = PortRanges(g.Set, pset.Dport)
		}
		switch g.Kind {
		case KindHost:
			as := AddrSummary(g.Set, pset.Dst, u.Empty())
			if as[0] == "any" {
				as = []string{"any address"}
			}
			g.Destination = "host " + strings.Join(as, ",") + g.Destination
		case KindContainer:
			// A container address without its port (DNAT to the
			// address alone) takes the class's one port.
			if a, err := netip.ParseAddr(g.Container); err == nil && len(g.Ports) == 1 && g.Ports[0][0] == g.Ports[0][1] {
				g.Container = netip.AddrPortFrom(a, uint16(g.Ports[0][0])).String()
			}
			g.Destination = g.Container
			if g.Bridge != "" {
				g.Destination += " (" + g.Bridge + ")"
			}
		case KindForward:
			g.Container = strings.Join(AddrSummary(g.Set, pset.Dst, e.local.Union(e.bcast)), ",")
			g.Destination = g.Container + " (" + g.Bridge + ", routed)"
		}
		g.Sources = AddrSummary(g.Set, pset.Src, e.NotInternet())
		g.AnySource = e.AnySource(g.Set) && !g.Loopback
		if g.Loopback {
			g.Destination += " via " + strings.Join(AddrSummary(g.Set, pset.Dst, u.Empty()), ",")
		}
		g.Witness = e.witnessOn(g.Set, x)
		rows = append(rows, *g)
	}
	sortRows(rows)
	return rows
}

// indistinguishable reports whether packets arriving on interfaces a and
// b get the same treatment: every interface test of the rules (-i, -o,
// --physdev-in/out) answers the same for both names, neither is a bridge,
// loopback or an interface with its own meaning in the host model's
// routes, and no rule depends on the input interface's address (REDIRECT,
// addrtype --limit-iface-in).
func (e *Evaluator) indistinguishable(a, b string) bool {
	if a == b {
		return true
	}
	if a == "lo" || b == "lo" || a == "" || b == "" {
		return false
	}
	for _, n := range []string{a, b} {
		if i := e.Host.Iface(n); i != nil && (i.Bridge || len(i.Ports) > 0) {
			return false
		}
	}
	for _, t := range e.RS.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if tg := r.Target; tg != nil {
					if s, ok := tg.Spec.(*parser.NATTarget); ok && s.Kind == parser.NATRedirect {
						return false
					}
				}
				tests := []*parser.IfaceMatch{r.In, r.Out}
				for _, m := range r.Matches {
					switch s := m.Spec.(type) {
					case *parser.PhysdevMatch:
						tests = append(tests, s.In, s.Out)
					case *parser.AddrtypeMatch:
						if s.LimitIfaceIn || s.LimitIfaceOut {
							return false
						}
					}
				}
				for _, m := range tests {
					if m != nil && ifaceTest(m, a) != ifaceTest(m, b) {
						return false
					}
				}
			}
		}
	}
	return true
}

func ifaceTest(m *parser.IfaceMatch, dev string) bool {
	if m.Wildcard {
		return strings.HasPrefix(dev, m.Name)
	}
	return dev == m.Name
}

func protoNum(n string) uint8 {
	switch n {
	case "tcp":
		return sim.ProtoTCP
	case "udp":
		return sim.ProtoUDP
	case "icmp":
		return sim.ProtoICMP
	}
	return sim.ProtoICMPv6
}

// passedBy lists the steps of the filter table that sent a class on
// without a verdict: its RETURNs, jumps and gotos. Two classes that the
// same rule accepts but that different such rules let through (a
// DOCKER-USER that RETURNs the published port it names, and further down
// RETURNs everything else) are different rows: a row's path is then the
// path of every class it holds, not of the first one.
func passedBy(tr []sim.Step) string {
	var b strings.Builder
	for _, s := range tr {
		if s.Table != "filter" || s.Policy || s.R == nil || s.R.Target == nil {
			continue
		}
		if s.Target == "RETURN" || s.R.Target.Kind == parser.TargetChain {
			fmt.Fprintf(&b, "pass:%s#%d ", s.Chain, s.Rule)
		}
	}
	return b.String()
}

func mayString(ms []MayRef) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "may:%s/%s#%d/%v ", m.Step.Table, m.Step.Chain, m.Step.Rule, m.Taken)
	}
	return b.String()
}

// acceptedBy is the rule (or policy) that accepted a class: the last
// ACCEPT of the filter table (else of any table but nat, else the last
// step).
func acceptedBy(tr []sim.Step) RuleRef {
	for _, tbl := range []string{"filter", ""} {
		for i := len(tr) - 1; i >= 0; i-- {
			s := tr[i]
			if (tbl == "" && s.Table != "nat" || s.Table == tbl) && s.Target == "ACCEPT" {
				return RefOf(s)
			}
		}
	}
	if len(tr) > 0 {
		return RefOf(tr[len(tr)-1])
	}
	return RuleRef{Target: "ACCEPT (no rule: no filter table)"}
}

// WriteExposureTable prints exposure rows as a table, then the
// incomplete analyses.
func WriteExposureTable(w io.Writer, title string, rows []ExposureRow, incs []Incomplete) error {
	if title != "" {
		fmt.Fprintf(w, "%s\n", title)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INTERFACE\tPROTO\tPORTS\tSOURCES\tDESTINATION\tACCEPTED BY")
	for _, r := range rows {
		ports := FormatRanges(r.Ports)
		if r.Proto == "icmp" || r.Proto == "icmpv6" {
			ports = "echo-request"
		}
		acc := r.AcceptedBy.String()
		if r.DependsOnMay {
			var ms []string
			for _, m := range r.MayMatch {
				ms = append(ms, m.Short())
			}
			acc += " [if may-match " + strings.Join(ms, ",") + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Interface, r.Proto, ports, strings.Join(r.Sources, ","), r.Destination, acc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) == 0 && len(incs) == 0 {
		fmt.Fprintln(w, "nothing exposed: no new connection from outside is accepted")
	}
	for _, i := range incs {
		fmt.Fprintf(w, "INCOMPLETE %s\n", i)
	}
	return nil
}

// ExposureJSON is the JSON document of one ruleset's exposure.
type ExposureJSON struct {
	File       string        `json:"file"`
	Exposure   []ExposureRow `json:"exposure"`
	Incomplete []Incomplete  `json:"incomplete"`
}

// WriteExposureJSON prints the exposure of several files as one JSON
// document {"results":[…]}.
func WriteExposureJSON(w io.Writer, docs []ExposureJSON) error {
	for i := range docs {
		if docs[i].Exposure == nil {
			docs[i].Exposure = []ExposureRow{}
		}
		if docs[i].Incomplete == nil {
			docs[i].Incomplete = []Incomplete{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []ExposureJSON `json:"results"`
	}{docs})
}

var kindOrder = map[string]int{KindHost: 0, KindContainer: 1, KindForward: 2}

// sortRows orders the rows of one interface by kind, proto, first port.
func sortRows(rows []ExposureRow) {
	slices.SortStableFunc(rows, func(a, b ExposureRow) int {
		if d := kindOrder[a.Kind] - kindOrder[b.Kind]; d != 0 {
			return d
		}
		if d := strings.Compare(a.Proto, b.Proto); d != 0 {
			return d
		}
		pa, pb := -1, -1
		if len(a.Ports) > 0 {
			pa = a.Ports[0][0]
		}
		if len(b.Ports) > 0 {
			pb = b.Ports[0][0]
		}
		return pa - pb
	})
}
