// Package exposure gives the lint engine's set-level facts that need the
// whole netfilter path (exposure, the fate of replies, one reachability
// question) from the symbolic evaluator of package sim/symbolic, in the
// types of package lint/facts. Each call builds its own evaluator, so the
// functions are safe for concurrent use.
package exposure

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
	"github.com/dfw-project/dfw/sim/symbolic"
)

// external returns the interfaces to analyse: the configured ones, else
// nil (symbolic.DefaultExternal: every interface of the rules and the host
// model that is not loopback, a bridge, a veth or a tunnel, and the class
// of interfaces the rules never name).
func external(h facts.Host) []string {
	if h.Source == "config" && len(h.ExternalInterfaces) > 0 {
		return h.ExternalInterfaces
	}
	return nil
}

// ref is the facts reference of r, a rule or a policy of rs. A policy no
// line of the files set (a built-in chain its table's block does not
// declare, which iptables-restore creates with the table) is at its
// chain's declaration, the "*table" line, as a policy finding is.
func ref(rs *parser.Ruleset, r symbolic.RuleRef) facts.Ref {
	if r.Policy && r.File == "" && rs != nil {
		if t := rs.Tables[r.Table]; t != nil {
			if c := t.Chains[r.Chain]; c != nil && c.Pos.IsValid() {
				r.File, r.Line = c.Pos.File, c.Pos.Line
			}
		}
	}
	col := 0
	if r.Line > 0 {
		col = 1
	}
	f := facts.Ref{Loc: facts.Loc{File: r.File, Line: r.Line, Column: col}, Table: r.Table, Chain: r.Chain, Index: r.Rule}
	if !r.Policy {
		f.ID = fmt.Sprintf("%s/%s/%d", r.Table, r.Chain, r.Rule)
	}
	return f
}

func packet(w symbolic.WitnessJSON) facts.Packet {
	return facts.Packet{Proto: w.Proto, In: w.In, Src: w.Src, Dst: w.Dst, Sport: w.Sport, Dport: w.Dport, Flags: w.Flags}
}

func incomplete(in []symbolic.Incomplete) []facts.Incomplete {
	var out []facts.Incomplete
	for _, i := range in {
		out = append(out, facts.Incomplete{Analysis: i.Analysis, Reason: i.Reason, Budget: i.Budget})
	}
	return out
}

// Exposure lists the new connections from outside accepted on each
// external interface, and those to the host a DNAT sends away before
// INPUT (facts.Analyzer.Exposure).
func Exposure(ctx context.Context, rs *parser.Ruleset, host facts.Host, opts symbolic.Options) ([]facts.Exposure, []facts.Diverted, []facts.Incomplete, error) {
	rows, divs, inc := symbolic.ExposureDiverted(ctx, rs, sim.InferHost(rs, nil), symbolic.ExposureOptions{Options: opts, External: external(host)})
	out := []facts.Exposure{}
	for _, r := range rows {
		e := facts.Exposure{Interface: r.Interface, Kind: r.Kind, Proto: r.Proto, Ports: r.Ports, Sources: r.Sources, AnySource: r.AnySource, Loopback: r.Loopback,
			Witness: packet(r.Witness), AcceptedBy: ref(rs, r.AcceptedBy), Policy: r.AcceptedBy.Policy,
			DependsOnMayMatch: r.DependsOnMay}
		if e.Ports == nil {
			e.Ports = [][2]int{}
		}
		for _, p := range r.Path {
			e.Path = append(e.Path, ref(rs, p))
		}
		if r.Kind == symbolic.KindContainer {
			c := &facts.Published{Proto: r.Proto, Bridge: r.Bridge}
			if len(r.Ports) > 0 {
				c.HostPort, c.HostPortHi = r.Ports[0][0], r.Ports[len(r.Ports)-1][1]
			}
			if ap, err := netip.ParseAddrPort(r.Container); err == nil {
				c.ContainerAddr, c.ContainerPort, c.ContainerPortHi = ap.Addr().String(), int(ap.Port()), int(ap.Port())
			} else {
				c.ContainerAddr = r.Container
			}
			if r.DNAT != nil {
				c.DNAT = ref(rs, *r.DNAT)
			}
			e.Container = c
		}
		out = append(out, e)
	}
	dv := []facts.Diverted{}
	for _, r := range divs {
		d := facts.Diverted{Interface: r.Interface, Proto: r.Proto, Ports: r.Ports, Sources: r.Sources, AnySource: r.AnySource, To: r.To,
			DNAT: ref(rs, r.DNAT), Witness: packet(r.Witness)}
		if d.Ports == nil {
			d.Ports = [][2]int{}
		}
		dv = append(dv, d)
	}
	// The interfaces the host model assumed are dropped from both lists
	// alike.
	var labels []string
	for _, r := range out {
		labels = append(labels, r.Interface)
	}
	for _, r := range dv {
		labels = append(labels, r.Interface)
	}
	drop := assumedOnly(host, labels, rs)
	out = slices.DeleteFunc(out, func(r facts.Exposure) bool { return drop[r.Interface] })
	dv = slices.DeleteFunc(dv, func(r facts.Diverted) bool { return drop[r.Interface] })
	return out, dv, incomplete(inc), ctx.Err()
}

// unnamedLabel is how the symbolic evaluator names the interfaces the rules
// never name.
const unnamedLabel = "(unnamed)"

// assumedOnly reports the interfaces that the host model assumed (an
// uplink it had to name) but that neither the rules nor the configuration
// name: they behave exactly as "(unnamed)" does, so their rows repeat its
// rows under another name.
// With several rulesets (the two families of a host), an interface that
// any of them names is named.
func assumedOnly(host facts.Host, labels []string, rss ...*parser.Ruleset) map[string]bool {
	hasUnnamed := false
	for _, l := range labels {
		hasUnnamed = hasUnnamed || l == unnamedLabel
	}
	if !hasUnnamed || host.Source == "config" {
		return nil
	}
	named := map[string]bool{}
	var prefixes []string
	for _, rs := range rss {
		for _, m := range rs.Interfaces() {
			if m.Wildcard {
				prefixes = append(prefixes, m.Name)
			} else {
				named[m.Name] = true
			}
		}
	}
	out := map[string]bool{}
	for _, l := range labels {
		if l == unnamedLabel || named[l] || strings.HasSuffix(l, "(unnamed)") {
			continue
		}
		covered := false
		for _, p := range prefixes {
			covered = covered || strings.HasPrefix(l, p)
		}
		if !covered {
			out[l] = true
		}
	}
	return out
}

// establishedNodes is the number of nodes Established's universe is made
// for (its unique table's size). The replies it follows meet few rules:
// 8,800 nodes on the 80,000 rules of a kube-proxy host, 5,200 on the
// 23,000 of a country block. A table in proportion to the rules (4
// million nodes there) cost 20 MB of memory touched all over; past this
// size the table grows as the universe fills.
const establishedNodes = 1 << 16

// ephemeralLo and ephemeralHi are Linux's default local port range
// (net.ipv4.ip_local_port_range): the ports a connection is opened from
// when its socket is not bound to one.
const (
	ephemeralLo = 32768
	ephemeralHi = 60999
)

// Established tells the fate of replies (conntrack state ESTABLISHED,
// direction REPLY, the original tuple the inverse of the packet's: the
// connection the host or a container opened) to connections the host and
// its containers opened, arriving on each external interface: to the
// host's addresses (hook INPUT) and to the containers' subnets (hook
// FORWARD). One entry per hook, interface and outcome
// (facts.Analyzer.Established).
func Established(ctx context.Context, rs *parser.Ruleset, host facts.Host, opts symbolic.Options) ([]facts.Established, []facts.Incomplete, error) {
	h := sim.InferHost(rs, nil)
	if opts.Nodes == 0 {
		opts.Nodes = establishedNodes
	}
	e := symbolic.NewEvaluator(rs, h, opts, external(host)...)
	var ifaces []string
	if ext := external(host); ext != nil {
		ifaces = ext
	} else {
		for _, x := range symbolic.DefaultExternal(e.U, h) {
			ifaces = append(ifaces, x.Name)
		}
	}
	u := e.U
	// A TCP ACK, a UDP datagram or an ICMP echo reply, TTL 64. A TCP or
	// UDP reply comes back to the port the connection was opened from:
	// one of the ephemeral ports the opener's kernel picks for a socket
	// not bound to a port (Linux's net.ipv4.ip_local_port_range, 32768 to
	// 60999 unless changed). A rule that drops one service's port (-p tcp
	// --dport 5432 -j DROP) cuts no connection a container opens.
	ephemeral := u.Range(pset.Dport, ephemeralLo, ephemeralHi)
	tcp := u.Eq(pset.Proto, uint64(sim.ProtoTCP)).Intersect(u.Eq(pset.TCPFlags, uint64(parser.FlagACK))).Intersect(u.Eq(pset.Length, 40)).Intersect(ephemeral)
	udp := u.Eq(pset.Proto, uint64(sim.ProtoUDP)).Intersect(u.Eq(pset.Length, 28)).Intersect(ephemeral)
	icmp := u.Eq(pset.Proto, uint64(sim.ProtoICMP)).Intersect(u.Eq(pset.ICMPType, 0)).Intersect(u.Eq(pset.ICMPCode, 0)).Intersect(u.Eq(pset.Length, 28))
	replies := tcp.Union(udp).Union(icmp).Intersect(u.Eq(pset.TTL, 64)).Intersect(u.Eq(pset.TOS, 0)).
		Intersect(e.FirstPackets()).Intersect(e.ExposedDestinations().Diff(e.LoopbackDestinations()))
	var out []facts.Established
	var incs []facts.Incomplete
	for _, in := range ifaces {
		classes, inc := e.Eval(ctx, symbolic.AnalysisEstablished, symbolic.Entry{In: in, State: parser.CTEstablished, Reply: true}, replies)
		incs = append(incs, incomplete(inc)...)
		seen := map[string]bool{}
		for i := range classes {
			c := &classes[i]
			if c.Alternative {
				continue
			}
			hook := ""
			for _, p := range c.Path {
				if p == "INPUT" || p == "FORWARD" {
					hook = p
				}
			}
			if hook == "" {
				continue
			}
			w := c.Witness
			if w.CTOrigSrc.IsValid() {
				// A reply of a masqueraded connection: shown with the
				// destination it is forwarded to (the container's), as
				// dfwsim's state=ESTABLISHED then takes it.
				w.Dst, w.CTOrigSrc = w.CTOrigSrc, netip.Addr{}
			}
			est := facts.Established{Hook: hook, Interface: in, Verdict: c.Verdict, Witness: packet(symbolic.WitnessOf(w))}
			est.Witness.State = "ESTABLISHED"
			key := hook + "|" + c.Verdict
			if c.Verdict != sim.Accept {
				if r, ok := decided(c); ok {
					rf := ref(rs, r)
					est.DroppedBy, est.Policy = &rf, r.Policy
					key += "|" + r.String()
				}
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, est)
		}
	}
	var labels []string
	for _, e := range out {
		labels = append(labels, e.Interface)
	}
	drop := assumedOnly(host, labels, rs)
	kept := []facts.Established{}
	for _, e := range out {
		if !drop[e.Interface] {
			kept = append(kept, e)
		}
	}
	return kept, incs, ctx.Err()
}

// Outbound tells which rules drop the new connections containers open to
// the outside: for each Docker bridge, a TCP SYN, a UDP datagram or an ICMP
// echo request from the bridge's subnets, arriving on the bridge, to any
// address that is neither the host's, nor a bridge's subnet, nor loopback,
// multicast or broadcast. One entry per bridge and dropping rule or policy
// (facts.Analyzer.Outbound); connections FORWARD accepts give none.
func Outbound(ctx context.Context, rs *parser.Ruleset, host facts.Host, opts symbolic.Options) ([]facts.Outbound, []facts.Incomplete, error) {
	h := sim.InferHost(rs, nil)
	if opts.Nodes == 0 {
		opts.Nodes = establishedNodes
	}
	e := symbolic.NewEvaluator(rs, h, opts, external(host)...)
	u := e.U
	v6 := rs.Family == parser.IPv6
	special := []string{"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3"}
	if v6 {
		special = []string{"::/128", "::1/128", "ff00::/8", "fe80::/10"}
	}
	outside := u.All().Diff(e.ExposedDestinations())
	for _, p := range special {
		outside = outside.Diff(u.CIDR(pset.Dst, netip.MustParsePrefix(p)))
	}
	out := []facts.Outbound{}
	var incs []facts.Incomplete
	for _, br := range h.Ifaces {
		if !br.Bridge {
			continue
		}
		src := u.Empty()
		for _, a := range br.Addrs {
			if a.Addr().Is6() == v6 {
				src = src.Union(u.CIDR(pset.Src, a.Masked()))
			}
		}
		if src.IsEmpty() {
			continue
		}
		classes, inc := e.Eval(ctx, symbolic.AnalysisOutbound, symbolic.Entry{In: br.Name}, e.NewConnections(outside).Intersect(src))
		incs = append(incs, incomplete(inc)...)
		seen := map[string]bool{}
		for i := range classes {
			c := &classes[i]
			if c.Alternative || (c.Verdict != "DROP" && c.Verdict != "REJECT") || !slices.Contains(c.Path, "FORWARD") {
				continue
			}
			r, ok := decided(c)
			if !ok || seen[r.String()] {
				continue
			}
			seen[r.String()] = true
			rf := ref(rs, r)
			out = append(out, facts.Outbound{Bridge: br.Name, To: facts.OutboundOutside, Verdict: c.Verdict, Witness: packet(symbolic.WitnessOf(c.Witness)), DroppedBy: &rf, Policy: r.Policy})
		}
		// The containers of the same bridge: with br_netfilter, the frames
		// between them cross FORWARD (-i and -o the bridge) too. Only a
		// rule whose removal lets the connection through counts: Docker's
		// own DROP with inter-container communication off, or the user's
		// DROP of what that DROP drops anyway, cuts nothing more.
		if !h.BrNetfilter {
			continue
		}
		peers := u.Empty()
		for _, a := range br.Addrs {
			if a.Addr().Is6() == v6 {
				peers = peers.Union(u.CIDR(pset.Dst, a.Masked()))
			}
		}
		// (The host's own addresses there are routed to INPUT, not
		// forwarded: no class of theirs has FORWARD on its path.)
		// A container's packets to its own address never reach the
		// bridge: the pairs are those whose addresses differ in their
		// last bit (a rule that tells containers apart by address still
		// has its pairs among them).
		one := netip.AddrFrom4([4]byte{0, 0, 0, 1})
		if v6 {
			one = netip.AddrFrom16([16]byte{15: 1})
		}
		oddSrc, oddDst := u.Prefix(pset.Src, one, one), u.Prefix(pset.Dst, one, one)
		apart := oddSrc.Diff(oddDst).Union(oddDst.Diff(oddSrc))
		classes, inc = e.Eval(ctx, symbolic.AnalysisOutbound, symbolic.Entry{In: br.Name}, e.NewConnections(peers).Intersect(src).Intersect(apart))
		incs = append(incs, incomplete(inc)...)
		for i := range classes {
			c := &classes[i]
			if c.Alternative || (c.Verdict != "DROP" && c.Verdict != "REJECT") || !slices.Contains(c.Path, "FORWARD") {
				continue
			}
			r, ok := decided(c)
			if !ok || r.Policy || seen["peers "+r.String()] {
				continue
			}
			if !passesWithout(rs, h, c) {
				continue
			}
			seen["peers "+r.String()] = true
			rf := ref(rs, r)
			out = append(out, facts.Outbound{Bridge: br.Name, To: facts.OutboundBridge, Verdict: c.Verdict, Witness: packet(symbolic.WitnessOf(c.Witness)), DroppedBy: &rf})
		}
	}
	return out, incs, ctx.Err()
}

// passesWithout reports whether the simulator accepts the witness of a
// class the last rule of its trace drops, once that rule is deleted.
func passesWithout(rs *parser.Ruleset, h *sim.Host, c *symbolic.Class) bool {
	var drop *parser.Rule
	for i := len(c.Trace) - 1; i >= 0; i-- {
		if s := c.Trace[i]; s.Target == "DROP" || s.Target == "REJECT" {
			drop = s.R
			break
		}
	}
	if drop == nil {
		return false
	}
	s := sim.New(rs, h)
	s.Without = drop
	return s.Run(c.Witness).Verdict == sim.Accept
}

// decided is the rule or policy that dropped or rejected a class.
func decided(c *symbolic.Class) (symbolic.RuleRef, bool) {
	for i := len(c.Trace) - 1; i >= 0; i-- {
		s := c.Trace[i]
		// A policy step's target is the policy: an ACCEPT policy on the
		// way (nat PREROUTING's, say) did not drop the packet.
		if s.Target == "DROP" || s.Target == "REJECT" {
			return symbolic.RefOf(s), true
		}
	}
	return symbolic.RuleRef{}, false
}

// Reachable answers: can a new connection of q.Proto to port q.Port (from
// q.Src, else any outside source) arriving on q.Interface be accepted, to
// the host or to a container? Known is false when the analysis was cut
// short or the only accepting classes depend on a may-match.
func Reachable(ctx context.Context, rs *parser.Ruleset, host facts.Host, q facts.Query, opts symbolic.Options) (facts.Answer, error) {
	h := sim.InferHost(rs, nil)
	e := symbolic.NewEvaluator(rs, h, opts, q.Interface)
	u := e.U
	s := e.NewConnections(e.ExposedDestinations().Diff(e.LoopbackDestinations()))
	var proto uint8
	switch strings.ToLower(q.Proto) {
	case "tcp":
		proto = sim.ProtoTCP
	case "udp":
		proto = sim.ProtoUDP
	case "icmp":
		proto = sim.ProtoICMP
	default:
		return facts.Answer{}, fmt.Errorf("reachable: protocol %q (expected tcp, udp or icmp)", q.Proto)
	}
	s = s.Intersect(u.Eq(pset.Proto, uint64(proto)))
	if sim.HasPorts(proto) && q.Port > 0 {
		s = s.Intersect(u.Eq(pset.Dport, uint64(q.Port)))
	}
	if q.Src != "" {
		p, err := netip.ParsePrefix(q.Src)
		if err != nil {
			a, err2 := netip.ParseAddr(q.Src)
			if err2 != nil {
				return facts.Answer{}, fmt.Errorf("reachable: src %q: expected an address or CIDR", q.Src)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is6() != (rs.Family == parser.IPv6) {
			return facts.Answer{Known: true}, nil
		}
		s = s.Intersect(u.CIDR(pset.Src, p.Masked()))
	}
	classes, inc := e.Eval(ctx, symbolic.AnalysisExposure, symbolic.Entry{In: q.Interface}, s)
	ans := facts.Answer{Known: len(inc) == 0}
	// The best answer: to the host, else a container, else routed to a
	// bridge; a certain class before one that depends on a may-match.
	var best *symbolic.Class
	rank := func(c *symbolic.Class) int {
		r := 3
		switch {
		case c.Disposition == sim.DeliveredLocal:
			r = 0
		case c.NAT.Dst.IsValid() || c.NAT.HasDport:
			r = 1
		default:
			r = 2
		}
		if !c.Certain() {
			r += 10
		}
		return r
	}
	for i := range classes {
		c := &classes[i]
		if c.Verdict != sim.Accept || (c.Disposition != sim.DeliveredLocal && c.Disposition != sim.Forwarded) {
			continue
		}
		if c.Disposition == sim.Forwarded {
			hi := h.Iface(c.Out)
			if !(c.NAT.Dst.IsValid() || c.NAT.HasDport || (hi != nil && hi.Bridge)) {
				continue
			}
		}
		if best == nil || rank(c) < rank(best) {
			best = c
		}
	}
	if best != nil {
		if !best.Certain() {
			ans.Known = false
		}
		fill(&ans, best, rs, h)
	}
	return ans, ctx.Err()
}

func fill(a *facts.Answer, c *symbolic.Class, rs *parser.Ruleset, h *sim.Host) {
	a.Reachable = true
	w := packet(symbolic.WitnessOf(c.Witness))
	a.Witness = &w
	var acc symbolic.RuleRef
	for i := len(c.Trace) - 1; i >= 0; i-- {
		if c.Trace[i].Target == "ACCEPT" && c.Trace[i].Table == "filter" {
			acc = symbolic.RefOf(c.Trace[i])
			break
		}
	}
	if acc.Table == "" && len(c.Trace) > 0 {
		acc = symbolic.RefOf(c.Trace[len(c.Trace)-1])
	}
	if acc.Table != "" {
		r := ref(rs, acc)
		a.AcceptedBy = &r
	}
	for _, s := range c.Trace {
		a.Path = append(a.Path, ref(rs, symbolic.RefOf(s)))
	}
	switch {
	case c.Disposition == sim.DeliveredLocal:
		a.Kind = symbolic.KindHost
	case c.NAT.Dst.IsValid() || c.NAT.HasDport:
		a.Kind = symbolic.KindContainer
	default:
		a.Kind = symbolic.KindForward
	}
}
