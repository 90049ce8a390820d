package sim

import (
	"maps"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/dfw-project/dfw/internal/populate"

	"github.com/dfw-project/dfw/parser"
)

// Tuple is a conntrack tuple. For ICMP queries SPort is the identifier and
// DPort holds type<<8|code.
type Tuple struct {
	Src, Dst     netip.Addr
	SPort, DPort uint16
	Proto        uint8 // last: no padding after the one-byte field (56 bytes, not 64)
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

// icmpInverse maps ICMP/ICMPv6 query types to their answers and back (the
// kernel's invmap: ICMPv6 echo and node information).
var icmpInverse = map[uint8]uint8{
	8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
	128: 129, 129: 128, 139: 140, 140: 139,
}

// icmpNew lists the ICMP types that start a connection.
func icmpNew(v6 bool, t uint8) bool {
	if v6 {
		return t == 128 || t == 139
	}
	return t == 8 || t == 13 || t == 15 || t == 17
}

// icmp6NoTrack reports whether conntrack leaves an ICMPv6 type untracked
// (nf_conntrack_icmpv6_error's noct_valid_new): MLD queries, reports and
// done, router and neighbour solicitations and advertisements.
func icmp6NoTrack(t uint8) bool {
	switch t {
	case 130, 131, 132, 133, 134, 135, 136, 143:
		return true
	}
	return false
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

// TCP conntrack states, as the kernel's enum tcp_conntrack
// (nf_conntrack_tcp.h) in its order: TIME_WAIT and CLOSE come after the
// states a SYN cannot reopen.
const (
	tcpNone uint8 = iota
	tcpSynSent
	tcpSynRecv
	tcpEstablished
	tcpFinWait
	tcpCloseWait
	tcpLastAck
	tcpTimeWait
	tcpClose
	tcpSynSent2
	tcpInvalid // sIV: the packet is INVALID
	tcpIgnore  // sIG: the packet passes, the state does not move
)

// Conn.tcpFlags: the parts of struct ip_ct_tcp that decide a state.
const (
	tcpCloseInit    uint8 = 1 << iota // IP_CT_TCP_FLAG_CLOSE_INIT of either direction: a FIN started the close
	tcpLastReply                      // last_dir: the last packet went in the reply direction
	tcpSimOpen                        // IP_CT_TCP_SIMULTANEOUS_OPEN
	tcpChallengeACK                   // IP_CT_EXP_CHALLENGE_ACK: a SYN was ignored in LAST_ACK
)

// tcpLastShift places last_index (the tcpIndex of the last packet that
// moved the state or was ignored) in the high bits of Conn.tcpFlags.
const tcpLastShift = 4

// Conn is a conntrack entry.
type Conn struct {
	Orig, Reply Tuple
	Status      uint16
	Mark        uint32
	tcpState    uint8
	tcpFlags    uint8
	// expires is when the entry times out (Unix nanoseconds), 0 for
	// never: set only while the table has a clock (Conntrack.now).
	expires int64
	// slot is 1 + the entry's index in its table's slab (0: not stored).
	slot uint32
}

// Conntrack is the connection table carried across the packets of a
// simulation. Its zero value is an empty table.
//
// Entries live in a slab of fixed-size chunks (their addresses never
// change; a removed entry's slot is not reused, since the packet that
// removed it may still hold it). The index maps a tuple to a slot and a
// direction, with no pointers in it (the GC does not scan it): tuples of
// two IPv4 addresses under a 16-byte key in an open-addressing table
// (ctindex.go), others in a map under the Tuple.
type Conntrack struct {
	m4   Index4
	m    map[Tuple]uint32
	slab [][]Conn
	n    uint32 // slots used
	// now is the time of the packet being tracked (Unix nanoseconds), 0
	// when the simulation has no clock: entries then never time out.
	now int64
}

// Key4 is the compact key of a tuple of two IPv4 addresses: 16 bytes,
// no padding, no pointers (the key of Index4).
type Key4 struct {
	Src, Dst uint32
	Ports    uint32 // sport<<16 | dport
	Proto    uint32
}

const slabChunk = 1024

// key4 returns the compact key of t, if its addresses are both IPv4.
func key4(t *Tuple) (Key4, bool) {
	if !t.Src.Is4() || !t.Dst.Is4() {
		return Key4{}, false
	}
	s, d := t.Src.As4(), t.Dst.As4()
	return Key4{
		Src:   uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3]),
		Dst:   uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3]),
		Ports: uint32(t.SPort)<<16 | uint32(t.DPort),
		Proto: uint32(t.Proto),
	}, true
}

// at returns the entry in slot (1-based).
func (ct *Conntrack) at(slot uint32) *Conn {
	i := slot - 1
	return &ct.slab[i/slabChunk][i%slabChunk]
}

// lookup returns the slot<<1|dir of t, or 0.
func (ct *Conntrack) lookup(t *Tuple) uint32 {
	if k, ok := key4(t); ok {
		return ct.m4.Get(k)
	}
	return ct.m[*t]
}

func (ct *Conntrack) set(t *Tuple, v uint32) {
	if k, ok := key4(t); ok {
		ct.m4.Set(k, v)
		return
	}
	if ct.m == nil {
		ct.m = map[Tuple]uint32{}
	}
	ct.m[*t] = v
}

func (ct *Conntrack) del(t *Tuple) {
	if k, ok := key4(t); ok {
		ct.m4.del(k)
		return
	}
	delete(ct.m, *t)
}

// findKey is find(*t), given key4(t).
func (ct *Conntrack) findKey(t *Tuple, k Key4, is4 bool) (*Conn, int) {
	if ct == nil {
		return nil, 0
	}
	var v uint32
	if is4 {
		v = ct.m4.Get(k)
	} else {
		v = ct.m[*t]
	}
	if v == 0 {
		return nil, 0
	}
	return ct.at(v >> 1), int(v & 1)
}

func (ct *Conntrack) find(t Tuple) (*Conn, int) {
	if ct == nil {
		return nil, 0
	}
	v := ct.lookup(&t)
	if v == 0 {
		return nil, 0
	}
	return ct.at(v >> 1), int(v & 1)
}

// confirm stores c (a new entry) in the table and returns the stored
// entry, which the caller uses from then on.
func (ct *Conntrack) confirm(c *Conn) *Conn {
	if c.slot == 0 || c.slot > ct.n || ct.at(c.slot) != c {
		if ct.n%slabChunk == 0 {
			ch := make([]Conn, slabChunk)
			// Filled in order from here: one call for its pages rather
			// than a fault for each.
			populate.Write(unsafe.Pointer(unsafe.SliceData(ch)), unsafe.Sizeof(ch[0])*slabChunk)
			ct.slab = append(ct.slab, ch)
		}
		ct.n++
		e := ct.at(ct.n)
		*e = *c
		e.slot = ct.n
		c = e
	}
	c.Status |= StatusConfirmed
	ct.set(&c.Orig, c.slot<<1)
	ct.set(&c.Reply, c.slot<<1|1)
	return c
}

func (ct *Conntrack) remove(c *Conn) {
	if v := ct.lookup(&c.Orig); v != 0 && v>>1 == c.slot {
		ct.del(&c.Orig)
	}
	if v := ct.lookup(&c.Reply); v != 0 && v>>1 == c.slot {
		ct.del(&c.Reply)
	}
}

// clone copies the table (entries included).
func (ct *Conntrack) clone() *Conntrack {
	n := &Conntrack{m4: ct.m4.clone(), m: maps.Clone(ct.m), n: ct.n, now: ct.now}
	for _, ch := range ct.slab {
		n.slab = append(n.slab, slices.Clone(ch))
	}
	return n
}

// Conns returns the confirmed entries.
func (ct *Conntrack) Conns() []*Conn {
	var out []*Conn
	ct.m4.each(func(k Key4, v uint32) {
		if c := ct.at(v >> 1); v&1 == 0 {
			if ck, _ := key4(&c.Orig); ck == k {
				out = append(out, c)
			}
		}
	})
	for k, v := range ct.m {
		if c := ct.at(v >> 1); v&1 == 0 && k == c.Orig {
			out = append(out, c)
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
	return ct.confirm(c)
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
// NEW/ESTABLISHED/INVALID. A new (unconfirmed) entry is built in *nc.
func (ct *Conntrack) ctIn(p *Packet, nc *Conn) ctInfo {
	v6 := p.Is6()
	if v6 && p.Proto == ProtoICMPv6 && icmp6NoTrack(p.ICMPType) {
		return ctInfo{state: parser.CTUntracked}
	}
	if IsICMP(p.Proto) && isICMPError(v6, p.ICMPType) {
		if p.Inner == nil {
			return ctInfo{state: parser.CTInvalid}
		}
		c, dir := ct.find(tupleOf(p.Inner).invert())
		if c != nil && ct.expired(c) {
			c = nil
		}
		if c == nil {
			return ctInfo{state: parser.CTInvalid}
		}
		return ctInfo{conn: c, dir: dir, state: parser.CTRelated}
	}
	t := tupleOf(p)
	k, is4 := key4(&t)
	if c, dir := ct.findKey(&t, k, is4); c != nil && !ct.expired(c) {
		info := ctInfo{conn: c, dir: dir, state: parser.CTEstablished}
		if dir == 0 && c.Status&StatusSeenReply == 0 {
			info.state = parser.CTNew
		}
		if p.Proto == ProtoTCP {
			switch tcpStep(c, dir, p.Flags) {
			case stepInvalid:
				return ctInfo{state: parser.CTInvalid}
			case stepReopen:
				// nf_conntrack_in: the old entry is killed and the
				// packet looked up again, starting a new one.
				ct.remove(c)
				return ct.ctIn(p, nc)
			case stepKill:
				ct.remove(c)
			case stepPass:
				ct.refresh(c, p.Flags)
			}
		} else {
			if dir == 0 && c.Status&StatusSeenReply != 0 {
				c.Status |= StatusAssured
			}
			ct.refresh(c, 0)
		}
		if dir == 1 {
			c.Status |= StatusSeenReply
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
	// Field by field (the entry is copied into the table when it is
	// confirmed: a literal built and copied here too would be one more
	// copy waiting on the stores just made).
	nc.Orig, nc.Reply = t, t.invert()
	nc.Status, nc.Mark, nc.tcpState, nc.tcpFlags, nc.slot = 0, 0, 0, 0, 0
	if is4 {
		// confirm files the entry under its reply tuple too: a cell of the
		// index that nothing has read yet. Ask for it now, while the
		// tables run.
		if rk, ok := key4(&nc.Reply); ok {
			ct.m4.Prefetch(rk)
		}
	}
	c := nc
	if p.Proto == ProtoTCP {
		if p.Flags&parser.FlagSYN != 0 {
			c.tcpState = tcpSynSent
		} else {
			c.tcpState = tcpEstablished // loose pickup of a mid-stream ACK
			c.tcpFlags = tcpIdxACK << tcpLastShift
		}
	}
	c.expires = 0
	ct.refresh(c, p.Flags)
	return ctInfo{conn: c, state: parser.CTNew, fresh: true, natable: true}
}

// tcpConntracks is the kernel's TCP state table, tcp_conntracks in
// net/netfilter/nf_conntrack_proto_tcp.c: the new state by direction,
// packet kind (tcpIndex) and old state.
var tcpConntracks = [2][6][10]uint8{
	{ // ORIGINAL
		//  sNO         sSS          sSR          sES             sFW           sCW           sLA           sTW          sCL          sS2
		{tcpSynSent, tcpSynSent, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpSynSent, tcpSynSent, tcpSynSent2},                     // syn
		{tcpInvalid, tcpInvalid, tcpSynRecv, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpSynRecv},                 // synack
		{tcpInvalid, tcpInvalid, tcpFinWait, tcpFinWait, tcpLastAck, tcpLastAck, tcpLastAck, tcpTimeWait, tcpClose, tcpInvalid},                  // fin
		{tcpEstablished, tcpInvalid, tcpEstablished, tcpEstablished, tcpCloseWait, tcpCloseWait, tcpTimeWait, tcpTimeWait, tcpClose, tcpInvalid}, // ack
		{tcpInvalid, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose},                                   // rst
		{tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid},                 // none
	},
	{ // REPLY
		{tcpInvalid, tcpSynSent2, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpSynSent, tcpInvalid, tcpSynSent2},     // syn
		{tcpInvalid, tcpSynRecv, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpIgnore, tcpSynRecv},              // synack
		{tcpInvalid, tcpInvalid, tcpFinWait, tcpFinWait, tcpLastAck, tcpLastAck, tcpLastAck, tcpTimeWait, tcpClose, tcpInvalid},        // fin
		{tcpInvalid, tcpIgnore, tcpSynRecv, tcpEstablished, tcpCloseWait, tcpCloseWait, tcpTimeWait, tcpTimeWait, tcpClose, tcpIgnore}, // ack
		{tcpInvalid, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose, tcpClose},                         // rst
		{tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid, tcpInvalid},       // none
	},
}

// Packet kinds, get_conntrack_index: the rows of tcpConntracks.
const (
	tcpIdxSYN uint8 = iota
	tcpIdxSYNACK
	tcpIdxFIN
	tcpIdxACK
	tcpIdxRST
	tcpIdxNone
)

func tcpIndex(flags uint8) uint8 {
	switch {
	case flags&parser.FlagRST != 0:
		return tcpIdxRST
	case flags&parser.FlagSYN != 0 && flags&parser.FlagACK != 0:
		return tcpIdxSYNACK
	case flags&parser.FlagSYN != 0:
		return tcpIdxSYN
	case flags&parser.FlagFIN != 0:
		return tcpIdxFIN
	case flags&parser.FlagACK != 0:
		return tcpIdxACK
	}
	return tcpIdxNone
}

// tcpValidFlags is tcp_error's table of valid flag combinations (PSH,
// ECE and CWR are always valid): anything else is INVALID.
func tcpValidFlags(flags uint8) bool {
	const syn, ack, fin, rst, urg = parser.FlagSYN, parser.FlagACK, parser.FlagFIN, parser.FlagRST, parser.FlagURG
	switch flags &^ (parser.FlagPSH | parser.FlagECE | parser.FlagCWR) {
	case syn, syn | urg, syn | ack, rst, rst | ack, fin | ack, fin | ack | urg, ack, ack | urg:
		return true
	}
	return false
}

// What tcpStep tells ctIn to do.
const (
	stepPass    uint8 = iota // the packet has the entry (an ignored packet too)
	stepInvalid              // the packet is INVALID, the entry does not move
	stepReopen               // kill the entry and look the packet up again (-NF_REPEAT)
	stepKill                 // kill the entry; the packet keeps it
)

// tcpStep is nf_conntrack_tcp_packet for a packet of an existing entry,
// without sequence and window tracking (the simulated flows are in
// window): it moves c's state and tells what becomes of the entry and
// the packet. c.Status's SEEN_REPLY is as before the packet.
func tcpStep(c *Conn, dir int, flags uint8) uint8 {
	if !tcpValidFlags(flags) {
		return stepInvalid
	}
	idx := tcpIndex(flags)
	old := c.tcpState
	nw := tcpConntracks[dir][idx][old]
	lastDir := 0
	if c.tcpFlags&tcpLastReply != 0 {
		lastDir = 1
	}
	last := c.tcpFlags >> tcpLastShift
	note := func() {
		c.tcpFlags = c.tcpFlags&(tcpCloseInit|tcpSimOpen|tcpChallengeACK) | idx<<tcpLastShift
		if dir == 1 {
			c.tcpFlags |= tcpLastReply
		}
	}
	switch nw {
	case tcpSynSent:
		if old < tcpTimeWait {
			break
		}
		// RFC 1122 reopening from TIME_WAIT, or an aborted connection
		// started again: the old entry goes, the SYN starts a new one.
		if c.tcpFlags&tcpCloseInit != 0 || (lastDir == dir && last == tcpIdxRST) {
			return stepReopen
		}
		fallthrough
	case tcpIgnore:
		if idx == tcpIdxSYNACK && last == tcpIdxSYN && lastDir != dir {
			// The SYN/ACK answers a SYN that was ignored: back in sync.
			nw = tcpSynRecv
			break
		}
		note()
		if idx == tcpIdxSYN && dir == 0 {
			c.tcpFlags &^= tcpChallengeACK
			if old == tcpLastAck {
				c.tcpFlags |= tcpChallengeACK
			}
		}
		return stepPass
	case tcpInvalid:
		return stepInvalid
	case tcpTimeWait:
		if old == tcpLastAck && idx == tcpIdxACK && lastDir != dir && last == tcpIdxSYN && c.tcpFlags&tcpChallengeACK != 0 {
			c.tcpFlags &^= tcpChallengeACK // an RFC 5961 challenge ACK
			return stepPass
		}
	case tcpSynSent2:
		c.tcpFlags |= tcpSimOpen
	case tcpSynRecv:
		if dir == 1 && idx == tcpIdxACK && c.tcpFlags&tcpSimOpen != 0 {
			nw = tcpEstablished
		}
	}
	note()
	c.tcpState = nw
	if old != nw && nw == tcpFinWait {
		c.tcpFlags |= tcpCloseInit
	}
	if c.Status&StatusSeenReply == 0 {
		if idx == tcpIdxRST {
			return stepKill // only an RST came back: no connection to keep
		}
	} else if (old == tcpSynRecv || old == tcpEstablished) && nw == tcpEstablished {
		c.Status |= StatusAssured
	}
	return stepPass
}

// Default timeouts of the kernel (net/netfilter/nf_conntrack_proto_tcp.c
// tcp_timeouts, nf_conntrack_proto_udp.c udp_timeouts,
// nf_conntrack_proto_icmp.c and _icmpv6.c, nf_conntrack_proto_generic.c;
// the nf_conntrack_*_timeout* sysctls), in seconds.
var tcpTimeouts = [...]int64{
	tcpSynSent:     120,
	tcpSynRecv:     60,
	tcpEstablished: 5 * 24 * 3600,
	tcpFinWait:     120,
	tcpCloseWait:   60,
	tcpLastAck:     30,
	tcpTimeWait:    120,
	tcpClose:       10,
	tcpSynSent2:    120,
}

const (
	tcpTimeoutUnack   = 300 // TCP_CONNTRACK_UNACK (and RETRANS)
	udpTimeout        = 30  // nf_conntrack_udp_timeout: no reply seen yet
	udpTimeoutStream  = 120 // nf_conntrack_udp_timeout_stream
	icmpTimeout       = 30  // nf_conntrack_icmp_timeout, nf_conntrack_icmpv6_timeout
	genericTimeout    = 600 // nf_conntrack_generic_timeout
	nanosecondsPerSec = int64(1e9)
)

// expired reports whether c has timed out at the table's clock; a timed
// out entry is removed, as the kernel's garbage collection would have.
func (ct *Conntrack) expired(c *Conn) bool {
	if ct.now == 0 || c.expires == 0 || ct.now < c.expires {
		return false
	}
	ct.remove(c)
	return true
}

// refresh restarts c's timer for a packet with the TCP flags given, as
// the protocol's packet handler does (nf_ct_refresh_acct), with the
// default timeouts. Not modelled: the TCP retransmission and
// unacknowledged-data timeouts (no sequence numbers), and UDP's rule that
// a flow becomes a stream only two seconds after it started (a replied
// flow gets the stream timeout at once).
func (ct *Conntrack) refresh(c *Conn, flags uint8) {
	if ct.now == 0 {
		return
	}
	var sec int64
	switch c.Orig.Proto {
	case ProtoTCP:
		sec = tcpTimeouts[c.tcpState]
		switch {
		case flags&parser.FlagRST != 0:
			sec = tcpTimeouts[tcpClose]
		case c.Status&StatusSeenReply == 0 && c.tcpState == tcpEstablished:
			sec = tcpTimeoutUnack // a picked-up connection with no answer yet
		}
	case ProtoUDP, ProtoUDPLit:
		sec = udpTimeout
		if c.Status&StatusSeenReply != 0 {
			sec = udpTimeoutStream
		}
	case ProtoICMP, ProtoICMPv6:
		sec = icmpTimeout
	default:
		sec = genericTimeout
	}
	c.expires = ct.now + sec*nanosecondsPerSec
}

// Prefetch starts bringing into the cache the index cell of the tuple of
// two IPv4 addresses whose compact key is k (as Index4.Prefetch), and
// changes nothing. A caller replaying many packets asks for the next
// packet's tuple while it replays the current one.
func (ct *Conntrack) Prefetch(k Key4) { ct.m4.Prefetch(k) }
