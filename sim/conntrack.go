package sim

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// Tuple is a conntrack tuple. For ICMP queries SPort is the identifier and
// DPort holds type<<8|code.
type Tuple struct {
	Proto        uint8
	Src, Dst     netip.Addr
	SPort, DPort uint16
}

// invert returns the tuple of the other direction.
func (t Tuple) invert() Tuple {
	r := Tuple{Proto: t.Proto, Src: t.Dst, Dst: t.Src, SPort: t.DPort, DPort: t.SPort}
	if IsICMP(t.Proto) {
		r.SPort = t.SPort
		typ := uint8(t.DPort >> 8)
		if inv, ok := icmpInverse[typ]; ok {
			typ = inv
		}
		r.DPort = uint16(typ) << 8
	}
	return r
}

// icmpInverse maps ICMP/ICMPv6 query types to their answers and back.
var icmpInverse = map[uint8]uint8{
	8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
	128: 129, 129: 128, 130: 131, 131: 130,
}

// icmpNew lists the ICMP types that start a connection.
func icmpNew(v6 bool, t uint8) bool {
	if v6 {
		return t == 128 || t == 130
	}
	return t == 8 || t == 13 || t == 15 || t == 17
}

// tupleOf returns the tuple of a packet.
func tupleOf(p *Packet) Tuple {
	t := Tuple{Proto: p.Proto, Src: p.Src, Dst: p.Dst}
	switch {
	case HasPorts(p.Proto):
		t.SPort, t.DPort = p.Sport, p.Dport
	case IsICMP(p.Proto):
		t.SPort, t.DPort = p.Sport, uint16(p.ICMPType)<<8
	}
	return t
}

// Conn status bits, as the kernel's IPS_*.
const (
	StatusExpected uint16 = 1 << iota
	StatusSeenReply
	StatusAssured
	StatusConfirmed
	StatusSrcNAT
	StatusDstNAT
	statusSrcNATDone
	statusDstNATDone
)

// TCP conntrack states (reduced).
const (
	tcpNone uint8 = iota
	tcpSynSent
	tcpSynRecv
	tcpEstablished
	tcpClosing
	tcpClose
)

// Conn is a conntrack entry.
type Conn struct {
	Orig, Reply Tuple
	Status      uint16
	Mark        uint32
	tcpState    uint8
}

// Conntrack is the connection table carried across the packets of a
// simulation.
type Conntrack struct {
	m map[Tuple]connRef
}

type connRef struct {
	c   *Conn
	dir int // 0 original, 1 reply
}

func (ct *Conntrack) find(t Tuple) (*Conn, int) {
	if ct == nil || ct.m == nil {
		return nil, 0
	}
	r, ok := ct.m[t]
	if !ok {
		return nil, 0
	}
	return r.c, r.dir
}

func (ct *Conntrack) confirm(c *Conn) {
	if ct.m == nil {
		ct.m = map[Tuple]connRef{}
	}
	c.Status |= StatusConfirmed
	ct.m[c.Orig] = connRef{c, 0}
	ct.m[c.Reply] = connRef{c, 1}
}

func (ct *Conntrack) remove(c *Conn) {
	if ct.m[c.Orig].c == c {
		delete(ct.m, c.Orig)
	}
	if ct.m[c.Reply].c == c {
		delete(ct.m, c.Reply)
	}
}

// clone copies the table (entries included).
func (ct *Conntrack) clone() *Conntrack {
	n := &Conntrack{m: make(map[Tuple]connRef, len(ct.m))}
	copies := map[*Conn]*Conn{}
	for k, v := range ct.m {
		c, ok := copies[v.c]
		if !ok {
			cc := *v.c
			c = &cc
			copies[v.c] = c
		}
		n.m[k] = connRef{c, v.dir}
	}
	return n
}

// Conns returns the confirmed entries.
func (ct *Conntrack) Conns() []*Conn {
	var out []*Conn
	for k, v := range ct.m {
		if v.dir == 0 && k == v.c.Orig {
			out = append(out, v.c)
		}
	}
	return out
}

// ConnSpec describes an entry inserted by hand, as "conntrack -I" does.
type ConnSpec struct {
	Orig, Reply Tuple
	// Status holds StatusSeenReply, StatusAssured.
	Status uint16
	// DstNAT, when valid, is the --dst-nat address (and port when non-zero);
	// SrcNAT likewise.
	DstNAT, SrcNAT netip.AddrPort
	Mark           uint32
}

// Insert adds an entry as "conntrack -I" does: the NAT setup is computed
// from the given reply tuple, as nf_nat_setup_info does, so that a reply
// tuple which is already translated records no NAT at all (KERNEL-NOTES 11).
func (ct *Conntrack) Insert(s ConnSpec) *Conn {
	c := &Conn{Orig: s.Orig, Reply: s.Reply, Status: s.Status &^ (StatusSrcNAT | StatusDstNAT), Mark: s.Mark, tcpState: tcpEstablished}
	if s.SrcNAT.IsValid() {
		setupNAT(c, true, s.SrcNAT.Addr(), s.SrcNAT.Port())
	}
	if s.DstNAT.IsValid() {
		setupNAT(c, false, s.DstNAT.Addr(), s.DstNAT.Port())
	}
	c.Status |= statusSrcNATDone | statusDstNATDone
	ct.confirm(c)
	return c
}

// setupNAT binds a manip, as nf_nat_setup_info: the current tuple is the
// inverse of the reply tuple; if the new one differs, the reply tuple is
// changed and the status bit set.
func setupNAT(c *Conn, src bool, addr netip.Addr, port uint16) {
	curr := c.Reply.invert()
	n := curr
	if src {
		if addr.IsValid() {
			n.Src = addr
		}
		if port != 0 && HasPorts(n.Proto) {
			n.SPort = port
		}
	} else {
		if addr.IsValid() {
			n.Dst = addr
		}
		if port != 0 && HasPorts(n.Proto) {
			n.DPort = port
		}
	}
	if n != curr {
		c.Reply = n.invert()
		if src {
			c.Status |= StatusSrcNAT
		} else {
			c.Status |= StatusDstNAT
		}
	}
}

// manip applies an established binding to a packet at a NAT hook, as
// nf_nat_packet: src selects the source manip (POSTROUTING, INPUT).
// onlyAddrs is set for ICMP errors (their outer header).
func manip(c *Conn, dir int, src bool, p *Packet) {
	bit := StatusDstNAT
	if src {
		bit = StatusSrcNAT
	}
	if dir == 1 {
		bit ^= StatusSrcNAT | StatusDstNAT
	}
	if c.Status&bit == 0 {
		return
	}
	other := c.Orig
	if dir == 0 {
		other = c.Reply
	}
	target := other.invert()
	withPorts := HasPorts(p.Proto)
	if src {
		p.Src = target.Src
		if withPorts {
			p.Sport = target.SPort
		}
	} else {
		p.Dst = target.Dst
		if withPorts {
			p.Dport = target.DPort
		}
	}
	if p.Inner != nil {
		// The embedded packet travels the other way.
		in := p.Inner
		if src {
			in.Dst = target.Src
			if HasPorts(in.Proto) {
				in.Dport = target.SPort
			}
		} else {
			in.Src = target.Dst
			if HasPorts(in.Proto) {
				in.Sport = target.DPort
			}
		}
	}
}

// ctState is the conntrack state of a packet, as state bits.
type ctInfo struct {
	conn    *Conn
	dir     int
	state   parser.CTState // one of New, Established, Related, Invalid, Untracked
	fresh   bool           // the entry was created by this packet (unconfirmed)
	natable bool           // nat chains run for this packet (first of a connection)
}

// stateName names a conntrack state bit.
func stateName(s parser.CTState) string {
	switch s {
	case parser.CTNew:
		return "NEW"
	case parser.CTEstablished:
		return "ESTABLISHED"
	case parser.CTRelated:
		return "RELATED"
	case parser.CTUntracked:
		return "UNTRACKED"
	}
	return "INVALID"
}

// ctIn is nf_conntrack_in for a packet: it finds or creates the entry and
// classifies the packet. The tcp state machine is reduced to what decides
// NEW/ESTABLISHED/INVALID.
func (ct *Conntrack) ctIn(p *Packet) ctInfo {
	v6 := p.Is6()
	if IsICMP(p.Proto) && isICMPError(v6, p.ICMPType) {
		if p.Inner == nil {
			return ctInfo{state: parser.CTInvalid}
		}
		c, dir := ct.find(tupleOf(p.Inner).invert())
		if c == nil {
			return ctInfo{state: parser.CTInvalid}
		}
		return ctInfo{conn: c, dir: dir, state: parser.CTRelated}
	}
	t := tupleOf(p)
	if c, dir := ct.find(t); c != nil {
		info := ctInfo{conn: c, dir: dir, state: parser.CTEstablished}
		if dir == 1 {
			c.Status |= StatusSeenReply
		} else if c.Status&StatusSeenReply == 0 {
			info.state = parser.CTNew
		}
		if p.Proto == ProtoTCP {
			if !tcpStep(c, dir, p.Flags) {
				return ctInfo{state: parser.CTInvalid}
			}
			if c.tcpState == tcpClose {
				ct.remove(c)
			}
		} else if dir == 0 && c.Status&StatusSeenReply != 0 {
			c.Status |= StatusAssured
		}
		return info
	}
	switch {
	case p.Proto == ProtoTCP:
		f := p.Flags &^ (parser.FlagECE | parser.FlagCWR)
		switch {
		case f&(parser.FlagSYN|parser.FlagACK|parser.FlagRST|parser.FlagFIN) == parser.FlagSYN:
		case f&(parser.FlagSYN|parser.FlagRST|parser.FlagFIN) == 0 && f&parser.FlagACK != 0:
		default:
			return ctInfo{state: parser.CTInvalid}
		}
	case IsICMP(p.Proto):
		if !icmpNew(v6, p.ICMPType) {
			return ctInfo{state: parser.CTInvalid}
		}
	}
	c := &Conn{Orig: t, Reply: t.invert()}
	if p.Proto == ProtoTCP {
		if p.Flags&parser.FlagSYN != 0 {
			c.tcpState = tcpSynSent
		} else {
			c.tcpState = tcpEstablished // loose pickup of a mid-stream ACK
		}
	}
	return ctInfo{conn: c, state: parser.CTNew, fresh: true, natable: true}
}

// tcpStep advances the reduced TCP state machine; false means INVALID.
func tcpStep(c *Conn, dir int, flags uint8) bool {
	syn, ack := flags&parser.FlagSYN != 0, flags&parser.FlagACK != 0
	rst, fin := flags&parser.FlagRST != 0, flags&parser.FlagFIN != 0
	switch {
	case rst:
		c.tcpState = tcpClose
		return true
	case syn && !ack:
		if dir == 0 && (c.tcpState == tcpSynSent || c.tcpState == tcpClose) {
			return true // retransmission
		}
		return c.tcpState == tcpNone
	case syn && ack:
		if dir == 1 && (c.tcpState == tcpSynSent || c.tcpState == tcpSynRecv) {
			c.tcpState = tcpSynRecv
			return true
		}
		return c.tcpState == tcpEstablished && dir == 1
	case fin:
		if c.tcpState == tcpSynSent {
			return false
		}
		c.tcpState = tcpClosing
		return true
	case ack:
		switch c.tcpState {
		case tcpSynSent:
			return dir == 1
		case tcpSynRecv:
			if dir == 0 {
				c.tcpState = tcpEstablished
				c.Status |= StatusAssured
			}
		}
		return true
	}
	return c.tcpState != tcpSynSent
}
