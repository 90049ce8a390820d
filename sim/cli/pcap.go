package cli

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/term"

	"github.com/dfw-project/dfw/internal/populate"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/capture"
)

// replayOptions are the flags of a capture replay.
type replayOptions struct {
	path      string
	in        string
	ifnames   map[uint32]string
	format    string
	quiet     bool
	maxFlows  int
	reference bool
}

// How an outbound frame of the capture was replayed.
const (
	outReply   = iota // as the answer to a replayed incoming packet
	outLocal          // as a packet the host generated
	outLeaving        // not replayed: it is a replayed packet leaving
	outDropped        // not replayed: it answers a packet the ruleset dropped
	numOut
)

// wkey is a packet's tuple as seen on the wire. For ICMP queries sport is
// the identifier and dport type<<8; for ICMP errors and other protocols
// only the addresses count. It holds no pointer (nor do the flows that
// keep wkeys: the GC does not scan the flow table).
type wkey struct {
	src, dst     waddr
	sport, dport uint16
	proto        uint8
	// sbits and dbits are the bit lengths of src and dst (see waddr).
	sbits, dbits uint8
}

// waddr is an address as a value without pointer: its 128 bits (IPv4
// mapped). Its bit length (0 invalid, 32, 128), which tells 192.0.2.1 from
// ::ffff:192.0.2.1, is kept beside it by the struct that holds it (in a
// byte of its own, a waddr would take 24 bytes instead of 16, and the
// flows hold four). Captured addresses have no zone.
type waddr struct {
	hi, lo uint64
}

// waddrOf returns a as a waddr, and its bit length. (As16 maps an IPv4
// address as waddr does, and keeps waddrOf small enough to be inlined.)
func waddrOf(a netip.Addr) (waddr, uint8) {
	b := a.As16()
	return waddr{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, uint8(a.BitLen())
}

// addr returns the address of w with the given bit length.
func (w waddr) addr(bits uint8) netip.Addr {
	switch bits {
	case 0:
		return netip.Addr{}
	case 32:
		return netip.AddrFrom4([4]byte{byte(w.lo >> 24), byte(w.lo >> 16), byte(w.lo >> 8), byte(w.lo)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], w.hi)
	binary.BigEndian.PutUint64(b[8:], w.lo)
	return netip.AddrFrom16(b)
}

// compareAddr orders (w, wbits) and (o, obits) as netip.Addr.Compare: by
// bit length, then address.
func compareAddr(w waddr, wbits uint8, o waddr, obits uint8) int {
	switch {
	case wbits != obits:
		return cmp.Compare(wbits, obits)
	case w.hi != o.hi:
		return cmp.Compare(w.hi, o.hi)
	}
	return cmp.Compare(w.lo, o.lo)
}

// v4 returns the IPv4 address as a number.
func (w *waddr) v4() uint32 { return uint32(w.lo) }

func (k wkey) invert() wkey {
	r := wkey{proto: k.proto, src: k.dst, dst: k.src, sport: k.dport, dport: k.sport, sbits: k.dbits, dbits: k.sbits}
	if sim.IsICMP(k.proto) {
		r.sport = k.sport
		t := uint8(k.dport >> 8)
		if inv, ok := icmpInverse[t]; ok {
			t = inv
		}
		r.dport = uint16(t) << 8
	}
	return r
}

// canonize is k = k.canon(), in place: the replay computes a key for
// every packet, and returning the 56-byte key by value copies it through
// memory, where the copy's wide loads wait on the narrow stores just made.
func (k *wkey) canonize() {
	c := compareAddr(k.src, k.sbits, k.dst, k.dbits)
	switch {
	case c > 0 || (c == 0 && k.sport > k.dport):
		k.src, k.dst, k.sbits, k.dbits = k.dst, k.src, k.dbits, k.sbits
		if sim.IsICMP(k.proto) {
			t := uint8(k.dport >> 8)
			if inv, ok := icmpInverse[t]; ok {
				t = inv
			}
			k.dport = uint16(t) << 8
		} else {
			k.sport, k.dport = k.dport, k.sport
		}
	case c == 0 && k.sport == k.dport:
		if i := k.invert(); i.dport < k.dport {
			*k = i // same ends: an ICMP query and its answer
		}
	}
}

// canon orders the two ends, so that both directions share a key.
func (k wkey) canon() wkey {
	c := compareAddr(k.src, k.sbits, k.dst, k.dbits)
	if c > 0 || (c == 0 && k.sport > k.dport) {
		return k.invert()
	}
	if c == 0 && k.sport == k.dport {
		if i := k.invert(); i.dport < k.dport {
			return i // same ends: an ICMP query and its answer
		}
	}
	return k
}

// flowTable maps the canonical wire tuples of the replay's connections to
// their flows. Flows live in a slab of fixed-size chunks (stable
// addresses); the index holds slot numbers, no pointers, and keys tuples of
// two IPv4 addresses by a compact 16-byte key.
type flowTable struct {
	m4   sim.Index4
	m    map[wkey]uint32
	slab [][]flow
	n    uint32
}

const flowChunk = 1024

func fkeyOf(k *wkey) (sim.Key4, bool) {
	if k.sbits != 32 || k.dbits != 32 {
		return sim.Key4{}, false
	}
	return sim.Key4{Src: k.src.v4(), Dst: k.dst.v4(), Ports: uint32(k.sport)<<16 | uint32(k.dport), Proto: uint32(k.proto)}, true
}

func (ft *flowTable) slot(i uint32) *flow {
	i--
	return &ft.slab[i/flowChunk][i%flowChunk]
}

// get returns the flow of *k, or nil.
func (ft *flowTable) get(k *wkey) *flow {
	var i uint32
	if k4, ok := fkeyOf(k); ok {
		i = ft.m4.Get(k4)
	} else {
		i = ft.m[*k]
	}
	if i == 0 {
		return nil
	}
	return ft.slot(i)
}

// add stores a new flow under *k and returns it (to be filled in).
func (ft *flowTable) add(k *wkey) *flow {
	if ft.n%flowChunk == 0 {
		ch := make([]flow, flowChunk)
		// Filled in order from here: one call for its pages rather than
		// a fault for each.
		populate.Write(unsafe.Pointer(unsafe.SliceData(ch)), unsafe.Sizeof(ch[0])*flowChunk)
		ft.slab = append(ft.slab, ch)
	}
	ft.n++
	f := ft.slot(ft.n)
	f.slot = ft.n
	ft.put(k, f)
	return f
}

// put files f (a flow of the table) under *k too.
func (ft *flowTable) put(k *wkey, f *flow) {
	if k4, ok := fkeyOf(k); ok {
		ft.m4.Set(k4, f.slot)
		return
	}
	if ft.m == nil {
		ft.m = map[wkey]uint32{}
	}
	ft.m[*k] = f.slot
}

var icmpInverse = map[uint8]uint8{
	8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
	128: 129, 129: 128, 130: 131, 131: 130,
}

func keyOf(p *sim.Packet) wkey {
	var k wkey
	setKey(&k, p)
	return k
}

// setKey sets *k to keyOf(p), in place (see canonize).
func setKey(k *wkey, p *sim.Packet) {
	k.proto = p.Proto
	k.src, k.sbits = waddrOf(p.Src)
	k.dst, k.dbits = waddrOf(p.Dst)
	switch {
	case sim.HasPorts(p.Proto):
		k.sport, k.dport = p.Sport, p.Dport
	case sim.IsICMP(p.Proto) && !isICMPErr(p):
		k.sport, k.dport = p.Sport, uint16(p.ICMPType)<<8
	default:
		k.sport, k.dport = 0, 0
	}
}

func isICMPErr(p *sim.Packet) bool { return isICMPErrType(p.Proto, p.ICMPType) }

// isICMPErrType reports whether proto is ICMP or ICMPv6 and typ one of
// its errors.
func isICMPErrType(proto, typ uint8) bool {
	if !sim.IsICMP(proto) {
		return false
	}
	if proto == sim.ProtoICMPv6 {
		return typ < 128
	}
	switch typ {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// cpkt is a packet's header fields without pointer: what sim.ReplyTo and
// sim.RelatedTo read of a Result's Final, and what Packet.String prints
// (In, Out, PhysIn, Local, State and Inner are left out).
type cpkt struct {
	src, dst                waddr
	sbits, dbits            uint8 // see waddr
	mark                    uint32
	sport, dport, len       uint16
	mac                     [6]byte
	proto, flags, typ, code uint8
	ttl, tos                uint8
	hasMAC                  bool
}

// wirePorts are the ports of keyOf(c's packet).
func (c *cpkt) wirePorts() (sport, dport uint16) {
	switch {
	case sim.HasPorts(c.proto):
		return c.sport, c.dport
	case sim.IsICMP(c.proto) && !isICMPErrType(c.proto, c.typ):
		return c.sport, uint16(c.typ) << 8
	}
	return 0, 0
}

// wire sets *k to keyOf(c's packet): a flow keeps its first packet, not
// also its tuple on the wire.
func (c *cpkt) wire(k *wkey) {
	k.proto, k.src, k.dst, k.sbits, k.dbits = c.proto, c.src, c.dst, c.sbits, c.dbits
	k.sport, k.dport = c.wirePorts()
}

// isWire reports whether *k is keyOf(c's packet).
func (c *cpkt) isWire(k *wkey) bool {
	if k.proto != c.proto || k.src != c.src || k.dst != c.dst || k.sbits != c.sbits || k.dbits != c.dbits {
		return false
	}
	sp, dp := c.wirePorts()
	return k.sport == sp && k.dport == dp
}

// packPkt packs p into *c. Field by field (not a cpkt literal copied in):
// the copy's wide loads would stall on the narrow stores just made, for
// every packet.
func packPkt(c *cpkt, p *sim.Packet) {
	c.src, c.sbits = waddrOf(p.Src)
	c.dst, c.dbits = waddrOf(p.Dst)
	c.sport, c.dport, c.len, c.mark = p.Sport, p.Dport, p.Len, p.Mark
	c.proto, c.flags, c.typ, c.code, c.ttl, c.tos = p.Proto, p.Flags, p.ICMPType, p.ICMPCode, p.TTL, p.TOS
	c.mac, c.hasMAC = [6]byte{}, false
	if p.SrcMAC != nil {
		c.mac, c.hasMAC = *p.SrcMAC, true
	}
}

// fill sets *p to c.packet(), field by field (no packet built and copied
// in: see canonize).
func (c *cpkt) fill(p *sim.Packet) {
	p.Proto, p.Src, p.Dst, p.Sport, p.Dport, p.Flags = c.proto, c.src.addr(c.sbits), c.dst.addr(c.dbits), c.sport, c.dport, c.flags
	p.ICMPType, p.ICMPCode, p.TTL, p.TOS, p.Len, p.Mark = c.typ, c.code, c.ttl, c.tos, c.len, c.mark
	p.In, p.Local, p.Out, p.PhysIn, p.SrcMAC, p.Inner, p.State = "", false, "", "", nil, nil, ""
	if c.hasMAC {
		m := c.mac
		p.SrcMAC = &m
	}
}

func (c *cpkt) packet() sim.Packet {
	p := sim.Packet{Proto: c.proto, Src: c.src.addr(c.sbits), Dst: c.dst.addr(c.dbits), Sport: c.sport, Dport: c.dport, Flags: c.flags,
		ICMPType: c.typ, ICMPCode: c.code, TTL: c.ttl, TOS: c.tos, Len: c.len, Mark: c.mark}
	if c.hasMAC {
		m := c.mac
		p.SrcMAC = &m
	}
	return p
}

// prev is what a reply needs of the last packet of a flow in its first
// direction (sim.ReplyTo and sim.RelatedTo read these fields); its strings
// are in the flow's flowStrs.
type prev struct {
	final                  cpkt
	pktLocal, valid, isNew bool
}

// flowNames are the strings of a flow, interned (replayer.intern) so that
// the flows hold no pointer: interface names and the disposition of the
// last packet (prev), and leftOut (0: "").
type flowNames struct {
	out, physOut, disp, pktIn, pktPhysIn uint16
	leftOut                              uint16
}

// intern returns the number of a name (an interface, a disposition), one
// of a few: found by a scan of names (names[0] is ""), or in nameIdx past
// the first 16.
func (rp *replayer) intern(s string) uint16 {
	if s == "" {
		return 0
	}
	for i, n := range rp.names {
		if n == s {
			return uint16(i)
		}
	}
	if i, ok := rp.nameIdx[s]; ok {
		return i
	}
	if len(rp.names) >= 1<<16-1 {
		panic("dfwsim --pcap: more than 65535 interface names")
	}
	i := uint16(len(rp.names))
	if len(rp.names) < 16 {
		rp.names = append(rp.names, s)
		return i
	}
	if rp.nameIdx == nil {
		rp.nameIdx = map[string]uint16{}
	}
	rp.nameIdx[s] = i
	rp.names = append(rp.names, s)
	return i
}

// reintern sets *id to the number of s, and interns s only if *id does
// not already name it (a flow's next packet usually has the strings of
// the one before).
func (rp *replayer) reintern(id *uint16, s string) {
	n := rp.names[*id]
	if sameString(n, s) {
		return // the same string (most are constants or the host's names)
	}
	if n != s {
		*id = rp.intern(s)
	}
}

// sameString reports whether a and b are the same string in memory (not
// only equal).
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// result fills r with what sim.ReplyTo and sim.RelatedTo read of the
// result f's last packet was taken from.
func (rp *replayer) result(r *sim.Result, f *flow) {
	// Field by field: r is the replayer's scratch, and its other fields
	// stay zero.
	nm, names := &f.nm, rp.names
	f.last.final.fill(&r.Final)
	r.Out, r.PhysOut, r.Disposition = names[nm.out], names[nm.physOut], names[nm.disp]
	r.Packet.In, r.Packet.PhysIn, r.Packet.Local = names[nm.pktIn], names[nm.pktPhysIn], f.last.pktLocal
}

// flow is what the replay knows of one connection. It holds no pointer:
// the flows are most of the replay's heap, and the GC need not scan them.
type flow struct {
	first uint64 // frame number of its first packet
	pkt   cpkt   // its first packet (pkt.wire: its tuple on the wire)
	last  prev
	// lastLeft is the last replayed packet of the flow that left the
	// host (forwarded or sent), as it left (and flowStrs.leftOut its
	// interface).
	lastLeft wkey
	// leftFiled: the table has a flow under lastLeft's canonical tuple.
	leftFiled bool
	nm        flowNames
	local     bool // the host opened it (its first packet was outbound)
	verdicts  [3]bool
	dropped   bool
	slot      uint32 // in the flow table
}

type groupKey struct {
	file         string
	line         int
	table, chain string
	rule         int
	routing      bool
}

type dropGroup struct {
	key     groupKey
	step    sim.Step
	routing bool
	flows   []*flow
	nflows  int
	packets uint64
}

// replayer holds the state of one capture replay.
type replayer struct {
	o       replayOptions
	s       *sim.Sim
	host    *sim.Host
	flows   flowTable
	nflows  int
	packets [3]uint64
	vflows  [3]uint64
	outs    [numOut]uint64
	groups  map[groupKey]*dropGroup
	order   []*dropGroup
	dflt    string
	unnamed map[string]bool
	vlans   map[vlanKey]string
	warn    []string
	// noDir: the capture gives no directions (Ethernet or raw IP); a frame
	// from one of the host's addresses is then taken as outbound.
	noDir    bool
	guessed  uint64
	family   parser.Family
	otherFam uint64
	res      sim.Result
	pkt      sim.Packet // the packet being replayed
	inner    sim.Packet
	k, ck    wkey // its wire tuple, and its flow's
	// names holds the interned strings of the flows (intern); why, the
	// reason routing dropped a flow, by flow slot.
	names   []string
	nameIdx map[string]uint16
	prevRes sim.Result // scratch for outbound
	why     map[uint32]string
	jw      *bufio.Writer
	enc     *json.Encoder
}

func verdictIndex(v string) int {
	switch v {
	case sim.Accept:
		return 0
	case sim.Drop:
		return 1
	}
	return 2
}

var verdictNames = [3]string{sim.Accept, sim.Drop, sim.Reject}

// replayCapture replays a capture through s and writes the summary (or
// JSON Lines). Exit 2 only when the file cannot be read.
func replayCapture(o replayOptions, s *sim.Sim, host *sim.Host, stdout, stderr io.Writer) int {
	f, err := os.Open(o.path)
	if err != nil {
		fmt.Fprintf(stderr, "dfwsim: --pcap: %v\n", err)
		return ExitUsage
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	rd, err := capture.Open(f, capture.Options{Iface: o.in, IfIndexNames: o.ifnames})
	if err != nil {
		fmt.Fprintf(stderr, "dfwsim: --pcap %s: %v\n", o.path, err)
		return ExitUsage
	}
	s.MaxAlternatives = 0 // exploring may-match alternatives copies conntrack for each packet
	// The summary needs only the step that dropped a flow (the last one);
	// JSON Lines print the whole trace.
	s.TraceLast = o.format != "json"
	if o.reference {
		s.Decompile()
	} else {
		s.Compile()
	}
	rp := &replayer{o: o, s: s, host: host, groups: map[groupKey]*dropGroup{}, unnamed: map[string]bool{}, names: []string{""}}
	rp.dflt = o.in
	if rp.dflt == "" {
		for _, i := range host.Ifaces {
			if !i.Bridge && i.Name != "lo" {
				rp.dflt = i.Name
				break
			}
		}
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	if o.format == "json" {
		rp.jw = w
		rp.enc = json.NewEncoder(w)
		rp.enc.SetEscapeHTML(false)
	}
	var bar *progress
	if !o.quiet && isTerminal(stderr) {
		bar = &progress{w: stderr, size: size, start: time.Now()}
	}
	rp.family = s.Ruleset.Family
	switch rd.LinkType() {
	case capture.LinkSLL, capture.LinkSLL2:
	default:
		rp.noDir = true
	}
	// The next packet is read before the current one is replayed, so that
	// the index cells its lookups will read are on their way to the cache
	// (prefetch): on a large capture the flow and conntrack tables outgrow
	// the caches. The two packets are swapped by pointer (Inner points
	// into its own Packet).
	var bufs [2]capture.Packet
	cp, next := &bufs[0], &bufs[1]
	status := ExitOK
	err = rd.Next(cp)
	for n := 0; ; n++ {
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfwsim: --pcap %s: %v\n", o.path, err)
			status = ExitUsage
			break
		}
		nerr := rd.Next(next)
		if nerr == nil {
			rp.prefetch(next)
		}
		rp.packet(cp)
		if bar != nil && n&4095 == 0 {
			bar.update(rd.Offset(), rd.Stats().Frames)
		}
		cp, next, err = next, cp, nerr
	}
	if bar != nil {
		bar.done()
	}
	st := rd.Stats()
	if o.format == "json" {
		for _, l := range rp.warnings(st) {
			fmt.Fprintf(stderr, "dfwsim: warning: %s: %s\n", o.path, l)
		}
		return status
	}
	rp.summary(w, st)
	return status
}

// ifaceOf names the ingress interface of a captured packet.
func (rp *replayer) ifaceOf(cp *capture.Packet) string {
	name := cp.Iface
	if cp.IfIndex != 0 && name == "if"+strconv.FormatUint(uint64(cp.IfIndex), 10) {
		if _, ok := rp.o.ifnames[cp.IfIndex]; !ok && rp.host.Iface(name) == nil {
			if !rp.unnamed[name] {
				rp.unnamed[name] = true
				rp.warn = append(rp.warn, fmt.Sprintf("interface index %d has no name in the capture: taken as %s (name it with --ifname %d=NAME)", cp.IfIndex, rp.dflt, cp.IfIndex))
			}
			return rp.dflt
		}
	}
	if name == "" {
		if !rp.unnamed[""] {
			rp.unnamed[""] = true
			rp.warn = append(rp.warn, fmt.Sprintf("the capture does not name the interface: packets taken as arriving on %s (set it with --in)", rp.dflt))
		}
		return rp.dflt
	}
	return name
}

type vlanKey struct {
	iface string
	vlan  [capture.MaxVLAN]uint16
	n     uint8
}

// vlanIface names the interface a VLAN-tagged frame captured on iface
// arrives on: the kernel hands it to the VLAN device of its ID (of each
// tag in turn, for stacked tags), which is the -i iptables sees, and drops
// it when there is none; such a device is named so by convention (ip link
// add link ens33 name ens33.100 type vlan id 100).
func (rp *replayer) vlanIface(iface string, cp *capture.Packet) string {
	k := vlanKey{iface: iface, vlan: cp.VLAN, n: cp.NVLAN}
	if name, ok := rp.vlans[k]; ok {
		return name
	}
	name := iface
	for _, id := range cp.VLAN[:cp.NVLAN] {
		name += "." + strconv.Itoa(int(id))
	}
	if rp.vlans == nil {
		rp.vlans = map[vlanKey]string{}
	}
	rp.vlans[k] = name
	rp.warn = append(rp.warn, fmt.Sprintf("VLAN-tagged frames captured on %s taken as arriving on %s, the VLAN device the kernel hands them to (a rule's -i %s does not see them)", iface, name, iface))
	return name
}

// toSim sets *p to the simulator's packet of cp, arriving on in. Field
// by field, every field (see canonize).
func toSim(p *sim.Packet, cp *capture.Packet, in string) {
	p.Proto, p.Src, p.Dst, p.Sport, p.Dport, p.Flags = cp.Proto, cp.Src, cp.Dst, cp.Sport, cp.Dport, cp.TCPFlags
	p.ICMPType, p.ICMPCode, p.TTL, p.TOS, p.Len, p.Mark = cp.ICMPType, cp.ICMPCode, cp.TTL, cp.TOS, cp.Len, 0
	p.In, p.Local, p.Out, p.PhysIn, p.SrcMAC, p.Inner, p.State = in, false, "", "", nil, nil, ""
	if sim.IsICMP(cp.Proto) {
		p.Sport = cp.ICMPID
	}
}

func innerOf(h *capture.Header) sim.Packet {
	in := sim.Packet{Proto: h.Proto, Src: h.Src, Dst: h.Dst, Sport: h.Sport, Dport: h.Dport, ICMPType: h.ICMPType, ICMPCode: h.ICMPCode}
	if sim.IsICMP(h.Proto) {
		in.Sport = h.ICMPID
	}
	return in
}

// prefetch starts loading the flow table's and the conntrack table's
// cells that replaying cp will look up first. It changes nothing.
func (rp *replayer) prefetch(cp *capture.Packet) {
	if rp.family == parser.IPv6 {
		return
	}
	if ct, fl, ok := prefetchKeys(cp); ok {
		rp.s.CT.Prefetch(ct)
		rp.flows.m4.Prefetch(fl)
	}
}

// prefetchKeys returns, for a TCP, UDP, SCTP… or ICMP query packet
// between IPv4 addresses (the bulk of a capture), the key of
// the tuple conntrack looks up for it when it comes in, and the key of
// its flow: the wire tuple with its ends ordered (wkey.canon).
func prefetchKeys(cp *capture.Packet) (ct, flow sim.Key4, ok bool) {
	if cp.Family != 4 || cp.Inner != nil || !cp.Src.Is4() || !cp.Dst.Is4() {
		return sim.Key4{}, sim.Key4{}, false
	}
	if !sim.HasPorts(cp.Proto) {
		if !sim.IsICMP(cp.Proto) || isICMPErrType(cp.Proto, cp.ICMPType) {
			return sim.Key4{}, sim.Key4{}, false
		}
		// An ICMP query or answer: its keys as the replay makes them
		// (setKey, canonize), the identifier as the source port.
		var k wkey
		k.proto = cp.Proto
		k.src, k.sbits = waddrOf(cp.Src)
		k.dst, k.dbits = waddrOf(cp.Dst)
		k.sport, k.dport = cp.ICMPID, uint16(cp.ICMPType)<<8
		ct, _ = fkeyOf(&k)
		k.canonize()
		flow, _ = fkeyOf(&k)
		return ct, flow, true
	}
	s, d := cp.Src.As4(), cp.Dst.As4()
	ct = sim.Key4{Src: binary.BigEndian.Uint32(s[:]), Dst: binary.BigEndian.Uint32(d[:]), Ports: uint32(cp.Sport)<<16 | uint32(cp.Dport), Proto: uint32(cp.Proto)}
	flow = ct
	if ct.Src > ct.Dst || (ct.Src == ct.Dst && cp.Sport > cp.Dport) {
		flow.Src, flow.Dst, flow.Ports = ct.Dst, ct.Src, uint32(cp.Dport)<<16|uint32(cp.Sport)
	}
	return ct, flow, true
}

// packet replays one captured packet.
func (rp *replayer) packet(cp *capture.Packet) {
	if (cp.Family == 6) != (rp.family == parser.IPv6) {
		rp.otherFam++
		return
	}
	if rp.noDir {
		if cp.Outbound {
			rp.noDir = false // the capture does give directions
		} else if rp.s.IsLocal(cp.Src) && !cp.Src.IsLoopback() {
			cp.Outbound = true
			rp.guessed++
		}
	}
	in := cp.Iface
	if cp.IfIndex != 0 || in == "" {
		in = rp.ifaceOf(cp)
	}
	if cp.NVLAN != 0 {
		in = rp.vlanIface(in, cp)
	}
	p := &rp.pkt
	toSim(p, cp, in)
	if cp.Inner != nil {
		rp.inner = innerOf(cp.Inner)
		p.Inner = &rp.inner
	}
	// The keys are built in place, in the replayer (see canonize).
	k, ck := &rp.k, &rp.ck
	setKey(k, p)
	if p.Inner != nil {
		setKey(ck, p.Inner) // an ICMP error belongs to the flow it is about
	} else {
		*ck = *k
	}
	ck.canonize()
	f := rp.flows.get(ck)
	if cp.Outbound {
		kind := rp.outbound(f, *k, in, p)
		rp.outs[kind]++
		if kind == outLeaving || kind == outDropped {
			return
		}
	}
	if f == nil {
		rp.nflows++
		f = rp.flows.add(ck)
		f.first, f.local = cp.Num, p.Local
		packPkt(&f.pkt, p)
	}
	rp.s.Now = cp.Time
	rp.s.RunInto(p, &rp.res)
	res := &rp.res
	vi := verdictIndex(res.Verdict)
	rp.packets[vi]++
	if !f.verdicts[vi] {
		f.verdicts[vi] = true
		rp.vflows[vi]++
	}
	if vi != 0 && !f.dropped {
		f.dropped = true
		rp.dropped(f, res)
	}
	if f.pkt.isWire(k) || (p.Inner == nil && !cp.Outbound && !f.last.valid) {
		packPkt(&f.last.final, &res.Final)
		f.last.pktLocal, f.last.valid, f.last.isNew = res.Packet.Local, true, false
		nm, names := &f.nm, rp.names
		// Most packets have the strings of the flow's packet before:
		// reintern only those that differ (sameString, inlined).
		if !sameString(names[nm.out], res.Out) {
			rp.reintern(&nm.out, res.Out)
		}
		if !sameString(names[nm.physOut], res.PhysOut) {
			rp.reintern(&nm.physOut, res.PhysOut)
		}
		if !sameString(names[nm.disp], res.Disposition) {
			rp.reintern(&nm.disp, res.Disposition)
		}
		if !sameString(names[nm.pktIn], res.Packet.In) {
			rp.reintern(&nm.pktIn, res.Packet.In)
		}
		if !sameString(names[nm.pktPhysIn], res.Packet.PhysIn) {
			rp.reintern(&nm.pktPhysIn, res.Packet.PhysIn)
		}
	}
	if !cp.Outbound && (res.Disposition == sim.Forwarded || res.Disposition == sim.Sent) {
		rp.reintern(&f.nm.leftOut, res.Out)
		fc := &rp.k // k is not used further
		if setKey(fc, &res.Final); *fc != f.lastLeft || !f.leftFiled {
			f.lastLeft = *fc
			if fc.canonize(); *fc != *ck {
				if rp.flows.get(fc) == nil {
					rp.flows.put(fc, f) // the connection after NAT
				}
			}
			// Flows are never taken out of the table: the tuple stays
			// filed, and the lookup need not be made again while the
			// packets leave with it.
			f.leftFiled = true
		}
	}
	if rp.enc != nil {
		j := toJSON(res)
		_ = rp.enc.Encode(jsonFrame{Frame: cp.Num, jsonResult: j})
	}
}

type jsonFrame struct {
	Frame uint64 `json:"frame"`
	jsonResult
}

// outbound decides how an outbound frame is replayed.
func (rp *replayer) outbound(f *flow, k wkey, iface string, p *sim.Packet) int {
	if f == nil {
		p.Local, p.In = true, ""
		return outLocal
	}
	nm := &f.nm
	var orig wkey // the flow's first tuple on the wire, when needed
	if nm.leftOut != 0 && k == f.lastLeft && iface == rp.names[nm.leftOut] {
		nm.leftOut = 0 // one copy for each replayed packet
		return outLeaving
	}
	if !f.local && f.last.valid {
		if p.Inner != nil {
			if ik := keyOf(p.Inner); f.pkt.isWire(&ik) {
				if d := rp.names[nm.disp]; d == sim.Dropped || d == sim.Rejected {
					return outDropped
				}
				prevRes := &rp.prevRes
				rp.result(prevRes, f)
				q := sim.RelatedTo(prevRes, p.ICMPType, p.ICMPCode)
				q.TOS, q.Len = p.TOS, p.Len
				*p = q
				return outReply
			}
		} else if f.pkt.wire(&orig); k == orig.invert() {
			if d := rp.names[nm.disp]; d == sim.Dropped || d == sim.Rejected {
				return outDropped
			}
			prevRes := &rp.prevRes
			rp.result(prevRes, f)
			q := sim.ReplyTo(prevRes)
			q.Flags, q.ICMPType, q.ICMPCode = p.Flags, p.ICMPType, p.ICMPCode
			q.TOS, q.Len, q.TTL = p.TOS, p.Len, p.TTL
			if !q.Local && q.TTL < 255 {
				q.TTL++ // it was routed once before the capture saw it
			}
			*p = q
			return outReply
		}
	}
	p.Local, p.In = true, ""
	return outLocal
}

// dropped files a flow under the rule that first dropped or rejected it.
func (rp *replayer) dropped(f *flow, res *sim.Result) {
	var key groupKey
	var st sim.Step
	routing := false
	if res.DroppedIn == "routing" || len(res.Trace) == 0 {
		routing = true
		key.routing = true
	} else {
		st = res.Trace[len(res.Trace)-1]
		key = groupKey{file: st.Pos.File, line: st.Pos.Line, table: st.Table, chain: st.Chain, rule: st.Rule}
	}
	g := rp.groups[key]
	if g == nil {
		g = &dropGroup{key: key, step: st, routing: routing}
		rp.groups[key] = g
		rp.order = append(rp.order, g)
	}
	g.nflows++
	if rp.o.maxFlows <= 0 || len(g.flows) < rp.o.maxFlows {
		g.flows = append(g.flows, f)
	}
	if routing && len(g.flows) > 0 && g.flows[len(g.flows)-1] == f {
		for _, a := range res.Assumptions {
			if strings.HasPrefix(a, "routing drops the packet: ") {
				if rp.why == nil {
					rp.why = map[uint32]string{}
				}
				rp.why[f.slot] = strings.TrimPrefix(a, "routing drops the packet: ")
			}
		}
	}
}

func (rp *replayer) warnings(st *capture.Stats) []string {
	return append(append([]string{}, rp.warn...), st.Warnings()...)
}

func (rp *replayer) summary(w io.Writer, st *capture.Stats) {
	replayed := rp.packets[0] + rp.packets[1] + rp.packets[2]
	fmt.Fprintf(w, "capture %s: %d frames, %d packets replayed", rp.o.path, st.Frames, replayed)
	if n := st.TotalSkipped(); n > 0 {
		fmt.Fprintf(w, ", %d frames skipped", n)
	}
	if st.Reassembled > 0 {
		fmt.Fprintf(w, ", %d datagrams reassembled from %d fragments", st.Reassembled, st.Reassembled+st.Merged)
	}
	fmt.Fprintln(w)
	if rp.otherFam > 0 {
		fam, other := "IPv4", "IPv6"
		if rp.family == parser.IPv6 {
			fam, other = "IPv6", "IPv4"
		}
		fmt.Fprintf(w, "%d %s packets not replayed: the ruleset is %s\n", rp.otherFam, other, fam)
	}
	if nout := rp.outs[0] + rp.outs[1] + rp.outs[2] + rp.outs[3]; nout > 0 {
		fmt.Fprintf(w, "outbound: %d packets", nout)
		if rp.guessed > 0 {
			fmt.Fprintf(w, " (%d taken as outbound for their source, one of this host's addresses: the capture gives no direction)", rp.guessed)
		}
		fmt.Fprintf(w, ": %d replayed as replies, %d as sent by this host, %d not replayed (seen leaving after a replayed packet), %d not replayed (answers to packets the ruleset dropped)\n",
			rp.outs[outReply], rp.outs[outLocal], rp.outs[outLeaving], rp.outs[outDropped])
	}
	fmt.Fprintf(w, "\n%-8s %10s %8s\n", "verdict", "packets", "flows")
	for i, v := range verdictNames {
		fmt.Fprintf(w, "%-8s %10d %8d\n", v, rp.packets[i], rp.vflows[i])
	}
	fmt.Fprintf(w, "(%d flows; a flow counts under each verdict its packets got)\n", rp.nflows)
	if len(rp.order) > 0 {
		fmt.Fprintf(w, "\ndropped or rejected flows, by the first rule that dropped them:\n")
		groups := append([]*dropGroup{}, rp.order...)
		sort.SliceStable(groups, func(i, j int) bool { return groups[i].nflows > groups[j].nflows })
		for _, g := range groups {
			switch {
			case g.routing:
				fmt.Fprintf(w, "  routing (no rule): %d flow%s\n", g.nflows, plural(g.nflows))
			case g.step.Policy:
				fmt.Fprintf(w, "  %s:%d  %s/%s policy %s: %d flow%s\n", g.step.Pos.File, g.step.Pos.Line, g.step.Table, g.step.Chain, g.step.Target, g.nflows, plural(g.nflows))
			default:
				rule := ""
				if g.step.R != nil {
					rule = "  " + g.step.R.String()
				}
				fmt.Fprintf(w, "  %s:%d  %s/%s#%d%s: %d flow%s\n", g.step.Pos.File, g.step.Pos.Line, g.step.Table, g.step.Chain, g.step.Rule, rule, g.nflows, plural(g.nflows))
			}
			for _, f := range g.flows {
				why := ""
				if w := rp.why[f.slot]; w != "" {
					why = " — " + w
				}
				pp := f.pkt.packet()
				fmt.Fprintf(w, "    packet %d: %s%s\n", f.first, pp.String(), why)
			}
			if more := g.nflows - len(g.flows); more > 0 {
				fmt.Fprintf(w, "    … %d more (--max-flows 0 lists all)\n", more)
			}
		}
	}
	if ws := rp.warnings(st); len(ws) > 0 {
		fmt.Fprintf(w, "\nwarnings:\n")
		for _, l := range ws {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is a one-line progress bar on a terminal.
type progress struct {
	w     io.Writer
	size  int64
	start time.Time
	last  time.Time
	shown bool
}

func (p *progress) update(read int64, frames uint64) {
	now := time.Now()
	if now.Sub(p.start) < 500*time.Millisecond || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	rate := float64(frames) / now.Sub(p.start).Seconds()
	if p.size <= 0 {
		fmt.Fprintf(p.w, "\r%d frames, %.0f frames/s ", frames, rate)
		return
	}
	frac := min(float64(read)/float64(p.size), 1)
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d frames, %.0f frames/s ", strings.Repeat("#", n), strings.Repeat(" ", width-n), frac*100, frames, rate)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 79))
	}
}

// replayGCStart is the heap size at which a replay lets the collector
// start (deferGC).
const replayGCStart = 256 << 20

// deferGC keeps the garbage collector from running until the heap reaches
// replayGCStart, then paces it at GOGC=400, and returns the function that
// gives back the previous settings. The heap of a replay with a summary
// is mostly the conntrack and flow tables, which stay live to the end and
// only grow: on the million-frame capture (60 MB) the collections of the
// usual pacing scan them for almost nothing to free. (JSON Lines make
// garbage for every packet: not for them.) GOGC or GOMEMLIMIT, when set,
// are kept.
func deferGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	oldPct, oldLimit := debug.SetGCPercent(-1), debug.SetMemoryLimit(replayGCStart)
	var mu sync.Mutex
	done := false
	// The first collection (when the heap reaches the limit) frees this
	// sentinel, and its cleanup sets the pacing for the rest of the replay:
	// past replayGCStart the heap grows as with GOGC=400, rather than the
	// collector running without pause to stay under the limit.
	runtime.AddCleanup(new([64]byte), func(struct{}) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			debug.SetGCPercent(400)
			debug.SetMemoryLimit(math.MaxInt64)
		}
	}, struct{}{})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done = true
		debug.SetGCPercent(oldPct)
		debug.SetMemoryLimit(oldLimit)
	}
}

// replayMain loads the ruleset and replays the capture.
func replayMain(o replayOptions, files, ifaces []string, brnf bool, stdin io.Reader, stdout, stderr io.Writer) int {
	if o.format == "json" {
		// JSON Lines make garbage for every packet: collect, less often
		// (the tables only grow).
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	} else {
		defer deferGC()()
	}
	given, l, code := loadRules(files, ifaces, nil, nil, stdin, stderr)
	if l == nil {
		return code
	}
	// The interfaces the replay names are part of the host.
	for _, n := range append([]string{o.in}, mapValues(o.ifnames)...) {
		if n != "" && n != "lo" {
			if _, ok := given[n]; !ok {
				given[n] = nil
			}
		}
	}
	host := sim.InferHost(l.Ruleset, given)
	host.BrNetfilter = brnf
	return replayCapture(o, sim.New(l.Ruleset, host), host, stdout, stderr)
}

func mapValues(m map[uint32]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
