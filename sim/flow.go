package sim

import (
	"fmt"

	"github.com/dfw-project/dfw/parser"
)

// ReplyTo returns the answer to a packet as it arrived (after NAT), sent
// back from where it arrived: from this host if it was delivered locally,
// else in through the interface (and bridge port) it left by. TCP flags
// are SA after a bare SYN, else A; an echo request gets an echo reply.
func ReplyTo(prev *Result) Packet {
	f := prev.Final
	p := Packet{Proto: f.Proto, Src: f.Dst, Dst: f.Src, Sport: f.Dport, Dport: f.Sport, TOS: f.TOS}
	if IsICMP(f.Proto) {
		p.Sport, p.Dport = f.Sport, 0
		p.ICMPType = f.ICMPType
		if inv, ok := icmpInverse[f.ICMPType]; ok {
			p.ICMPType = inv
		}
	}
	if f.Proto == ProtoTCP {
		if f.Flags&(parser.FlagSYN|parser.FlagACK) == parser.FlagSYN {
			p.Flags = parser.FlagSYN | parser.FlagACK
		} else {
			p.Flags = parser.FlagACK
		}
	}
	sender(prev, &p)
	return p
}

// RelatedTo returns an ICMP error (type, code) about a packet, sent back
// from where it arrived and embedding it as it was seen there.
func RelatedTo(prev *Result, typ, code uint8) Packet {
	f := prev.Final
	in := f
	in.Inner = nil
	in.In, in.Out, in.PhysIn, in.Local, in.State = "", "", "", false, ""
	proto := ProtoICMP
	if f.Is6() {
		proto = ProtoICMPv6
	}
	p := Packet{Proto: proto, Src: f.Dst, Dst: f.Src, ICMPType: typ, ICMPCode: code, Inner: &in}
	p.Len = HeaderLen(proto, f.Is6()) + HeaderLen(0, f.Is6()) + 8
	sender(prev, &p)
	return p
}

// sender sets where p, the answer to (or an ICMP error about) prev, comes
// from: where prev arrived, or was headed when the rules dropped it on its
// way: out of the interface routing chose, or this host when the rules
// dropped it in INPUT (routing had delivered it locally).
func sender(prev *Result, p *Packet) {
	switch {
	case prev.Disposition == DeliveredLocal, prev.DroppedIn == "INPUT":
		p.Local = true
	case prev.Out != "":
		p.In, p.PhysIn = prev.Out, prev.PhysOut
	case prev.Packet.Local:
		p.Local = true
	default:
		p.In, p.PhysIn = prev.Packet.In, prev.Packet.PhysIn
	}
}

// unroutedSender corrects where p, the answer to prev, comes from when the
// rules dropped prev before the routing decision (in PREROUTING, or
// routing itself): prev went nowhere, and sender can only take it back to
// where it arrived. Its answer, if its destination sent one, would come
// from that destination: this host for one of its addresses, else out of
// the interface the route to it names. It returns the assumption made,
// or "" when it changed nothing.
func unroutedSender(h *Host, prev *Result, p *Packet) string {
	if prev.Out != "" || prev.Packet.Local || prev.Disposition == DeliveredLocal ||
		(prev.DroppedIn != "PREROUTING" && prev.DroppedIn != "routing") {
		return ""
	}
	dst := prev.Final.Dst
	switch {
	case h.IsLocal(dst):
		p.Local, p.In, p.PhysIn = true, "", ""
		return fmt.Sprintf("the packet it answers was dropped in %s: the answer is taken as sent by this host, to whose address %s it went", prev.DroppedIn, dst)
	default:
		rt, ok := h.lookup(dst)
		if !ok {
			return ""
		}
		p.Local, p.In, p.PhysIn = false, rt.dev, ""
		return fmt.Sprintf("the packet it answers was dropped in %s: the answer is taken as coming from %s, in on %s (the route to it)", prev.DroppedIn, dst, rt.dev)
	}
}
