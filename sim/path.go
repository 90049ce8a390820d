package sim

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// input follows a packet arriving on an interface.
func (r *run) input() {
	p := r.p
	h := r.s.Host
	in := p.In
	ifc := h.Iface(in)
	r.e.in, r.e.out = in, ""
	if ifc != nil && ifc.Bridge {
		if p.PhysIn == "" {
			if pt := ifc.PortFor(p.Src); pt != nil {
				p.PhysIn = pt.Name
			} else if len(ifc.Ports) > 0 {
				p.PhysIn = ifc.Ports[0].Name
				r.assume("%s taken as the bridge port the packet entered %s through", p.PhysIn, in)
			} else {
				p.PhysIn = in + "-port"
				r.assume("%s taken as the bridge port the packet entered %s through", p.PhysIn, in)
			}
			r.res.Packet.PhysIn = p.PhysIn
		}
		r.e.physin, r.e.nfBridge = p.PhysIn, true
		// Bridged between two ports of the bridge?
		if r.bridgedTo(ifc) != nil {
			if !h.BrNetfilter {
				r.assume("br_netfilter off: bridged traffic does not cross %s", r.s.Ruleset.Family.Tool())
				r.info = ctInfo{state: parser.CTUntracked}
				r.res.CTState = "NONE"
				r.res.Verdict, r.res.Disposition, r.res.Out = Accept, Forwarded, in
				r.res.PhysOut = r.bridgedTo(ifc).Name
				return
			}
			if r.bridged(ifc) {
				return
			}
		}
	} else if p.PhysIn != "" {
		r.e.physin, r.e.nfBridge = p.PhysIn, true
	}
	if v := r.hookTables(hPrerouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "PREROUTING")
		return
	}
	r.routeInput()
}

// bridgedTo returns the port a frame arriving on bridge br goes out of
// when its destination lives on the bridge's own subnet, else nil.
func (r *run) bridgedTo(br *Iface) *Port {
	p := r.p
	if r.isLocal(p.Dst) || r.isBroadcast(p.Dst) || p.Dst.IsMulticast() {
		return nil
	}
	if r.p.Out != "" && r.p.Out != br.Name {
		return nil
	}
	for _, a := range br.Addrs {
		if a.Contains(p.Dst) { // host bits ignored, as Masked().Contains
			if pt := br.PortFor(p.Dst); pt != nil {
				if pt.Name == p.PhysIn {
					// Addressed to the sender itself: such a frame can only
					// have gone to the bridge's own address and is routed.
					return nil
				}
				return pt
			}
			return &Port{Name: "", Addrs: []netip.Addr{p.Dst}}
		}
	}
	return nil
}

// bridged follows a frame bridged between two ports with br_netfilter on.
// It returns false when DNAT in PREROUTING made the packet routed.
func (r *run) bridged(br *Iface) bool {
	if v := r.hookTables(hPrerouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "PREROUTING")
		return true
	}
	pt := r.bridgedTo(br)
	if pt == nil {
		r.routeInput() // DNAT made it routed (br_nf_pre_routing_finish)
		return true
	}

	if pt.Name == "" {
		pt = r.s.Host.ensurePort(br, r.p.Dst)
		r.res.Assumptions = append(r.res.Assumptions, r.s.Host.Assumptions[len(r.s.Host.Assumptions)-1])
	}
	r.e.in, r.e.out, r.e.physout = br.Name, br.Name, pt.Name
	r.res.Out, r.res.PhysOut = br.Name, pt.Name
	if v := r.hookTables(hForward); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "FORWARD")
		return true
	}
	r.e.in = ""
	if v := r.hookTables(hPostrouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "POSTROUTING")
		return true
	}
	r.confirm()
	r.res.Verdict, r.res.Disposition = Accept, Forwarded
	return true
}

// martianSource reports whether routing drops a packet for its source.
func (r *run) martianSource() bool {
	p := r.p
	if r.e.in == "lo" {
		return false
	}
	s := p.Src
	switch {
	case !s.IsValid(), s.IsLoopback(), s.IsMulticast(), s.Is4() && s.IsUnspecified():
		return true
	case r.isBroadcast(s):
		return true
	case s.Is4() && r.isLocal(s):
		// Only IPv4: IPv6 routing does not check the source against the
		// host's own addresses (the kernel delivers or forwards it).
		return true
	}
	return false
}

// routeInput is the routing decision for a received packet, then INPUT or
// FORWARD/POSTROUTING.
func (r *run) routeInput() {
	p := r.p
	h := r.s.Host
	drop := func(why string) {
		r.assume("routing drops the packet: %s", why)
		r.res.Verdict, r.res.Disposition, r.res.DroppedIn = Drop, Dropped, "routing"
		r.discard()
	}
	if r.martianSource() {
		drop("martian source " + p.Src.String())
		return
	}
	local := false
	switch {
	case p.Dst.IsLoopback() && r.e.in != "lo":
		drop("martian destination " + p.Dst.String())
		return
	case p.Dst.IsMulticast():
		if p.Dst != netip4(224, 0, 0, 1) && p.Dst != netip.MustParseAddr("ff02::1") {
			drop("multicast group " + p.Dst.String() + " not joined")
			return
		}
		local = true
	case r.isLocal(p.Dst), r.isBroadcast(p.Dst):
		local = true
	}
	if local && p.Out == "" {
		if v := r.hookTables(hInput); v.kind == vDrop || v.kind == vReject {
			r.finish(v, "INPUT")
			return
		}
		r.confirm()
		r.res.Verdict, r.res.Disposition = Accept, DeliveredLocal
		return
	}
	out := p.Out
	if out == "" {
		rt, ok := r.lookup(p.Dst)
		if !ok {
			drop("no route to " + p.Dst.String())
			return
		}
		out = rt.dev
	}
	// A frame that came in through a bridge port and whose destination
	// (after DNAT) sits behind that same port is dropped by the bridge
	// before FORWARD: br_netfilter re-bridges a DNAT-ed frame whose route
	// leads back into the bridge, and the bridge never sends a frame out of
	// the port it came in through (KERNEL-NOTES 14).
	// br_netfilter re-bridges a frame whose destination address PREROUTING
	// changed (DNAT, or the un-SNAT of a reply) when the new route leads
	// back into the bridge it came from (br_nf_pre_routing_finish): it is
	// then bridged, not routed (no TTL decrement), and dropped by the
	// bridge before FORWARD if the destination sits behind the very port it
	// came in through, since a bridge never sends a frame back out of its
	// ingress port (KERNEL-NOTES 14).
	rebridged := false
	if br := h.Iface(out); br != nil && br.Bridge && r.e.nfBridge && out == p.In && p.Dst != r.res.Packet.Dst {
		rebridged = true
		if pt := br.PortFor(p.Dst); pt != nil && pt.Name == p.PhysIn {
			drop("the bridge does not send a frame back out of the port it came in through (" + pt.Name + ")")
			return
		}
	}
	if p.TTL <= 1 && !rebridged {
		drop("TTL exceeded (the kernel answers ICMP time-exceeded)")
		return
	}
	if !rebridged {
		p.TTL--
	}
	r.e.out = out
	r.res.Out = out
	if v := r.hookTables(hForward); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "FORWARD")
		return
	}
	r.postrouting(out)
}

// postrouting runs POSTROUTING for a routed packet leaving on out.
func (r *run) postrouting(out string) {
	r.e.out = out
	if v := r.hookTables(hPostrouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "POSTROUTING")
		return
	}
	r.confirm()
	r.res.Verdict = Accept
	if r.p.Local {
		r.res.Disposition = Sent
	} else {
		r.res.Disposition = Forwarded
	}
	if br := r.s.Host.Iface(out); br != nil && br.Bridge {
		if pt := br.PortFor(r.p.Dst); pt != nil {
			r.res.PhysOut = pt.Name
		}
	}
}

// output follows a locally generated packet.
func (r *run) output() {
	p := r.p
	r.e.in = ""
	out := p.Out
	toLocal := r.isLocal(p.Dst) || r.isBroadcast(p.Dst) || p.Dst == netip4(224, 0, 0, 1)
	if out == "" {
		if toLocal && !r.isBroadcast(p.Dst) && !p.Dst.IsMulticast() {
			out = "lo"
		} else {
			rt, ok := r.lookup(p.Dst)
			if !ok {
				r.assume("no route to %s: the local send fails", p.Dst)
				r.res.Verdict, r.res.Disposition, r.res.DroppedIn = Drop, Dropped, "routing"
				return
			}
			out = rt.dev
		}
	}
	r.e.out = out
	origDst := p.Dst
	if v := r.hookTables(hOutput); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "OUTPUT")
		return
	}
	if p.Dst != origDst && p.Out == "" {
		// Rerouted after DNAT (ip_route_me_harder).
		if r.isLocal(p.Dst) {
			out = "lo"
		} else if rt, ok := r.lookup(p.Dst); ok {
			out = rt.dev
		}
	}
	if out != "lo" {
		r.res.Out = out
		r.postrouting(out)
		return
	}
	// Through lo back to this host.
	r.e.out = "lo"
	if v := r.hookTables(hPostrouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "POSTROUTING")
		return
	}
	r.confirm()
	r.looped = true
	r.e.in, r.e.out = "lo", ""
	r.e.physin, r.e.nfBridge = "", false
	if v := r.hookTables(hPrerouting); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "PREROUTING")
		return
	}
	if v := r.hookTables(hInput); v.kind == vDrop || v.kind == vReject {
		r.finish(v, "INPUT")
		return
	}
	r.res.Verdict, r.res.Disposition = Accept, DeliveredLocal
}
