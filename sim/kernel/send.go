package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Dispositions, as in dfwsim's JSON contract.
const (
	Delivered = "delivered-local" // passed every INPUT hook of the host
	Forwarded = "forwarded"       // routed or bridged through the host
	Sent      = "sent"            // locally generated, left the host
	Dropped   = "dropped"         // vanished in a hook, or in routing between hooks
	Rejected  = "rejected"        // vanished in a hook that answered with an RST or ICMP error
)

// Observation is what the kernel did with one packet.
type Observation struct {
	// Sent is the packet as injected.
	Sent Header
	// Disposition is Delivered, Forwarded, Sent, Dropped or Rejected.
	// A packet from a leaf that arrives in a namespace (or passes the
	// host's last POSTROUTING hook without arriving anywhere within a
	// bounded wait) is Forwarded; one from Host is Sent. A packet from Host
	// to one of its own addresses that passes INPUT is Delivered.
	Disposition string
	// DroppedIn is the hook (PREROUTING, INPUT, FORWARD, OUTPUT,
	// POSTROUTING) that took a Dropped or Rejected packet, or "routing"
	// when it vanished between hooks (no route, martian, TTL exceeded).
	DroppedIn string
	// RejectWith names what a Rejected packet was answered with:
	// "tcp-reset", "icmp-port-unreachable", "icmp-host-prohibited", ...
	RejectWith string
	// KernelReply names the ICMP error the kernel sent for a packet it
	// dropped in routing (e.g. "icmp-time-exceeded"), if any.
	KernelReply string
	// ArrivedIn is the leaf (Ext, C1, ...) the packet arrived in, for
	// Forwarded and Sent; "" if it left the host but nobody received it.
	ArrivedIn string
	// Out is the host's egress interface (at POSTROUTING) when the packet
	// left the host.
	Out string
	// Path lists the hooks the packet entered in the host, in order.
	Path []string
	// Seen is the packet as last seen: on arrival, in INPUT, or in the last
	// hook it entered; i.e. after NAT.
	Seen Header
	// Hits are the counter deltas of `iptables-save -c` across the packet,
	// ordered by table, chain and rule (not in evaluation order).
	Hits []Hit
	// SendError is the error of the local send (From Host), e.g.
	// "operation not permitted" when OUTPUT drops it.
	SendError string
	// Elapsed is the wall time spent on this packet.
	Elapsed time.Duration
}

// Flow is a sequence of packets sharing conntrack state; replies and ICMP
// errors refer to earlier packets of the same flow.
type Flow struct {
	t     *Topology
	recs  []*record
	conns map[tuple]connRef
}

// tuple identifies one direction of a TCP connection.
type tuple struct {
	src, dst     netip.Addr
	sport, dport uint16
}

// tcpConn tracks the next sequence number of each direction.
type tcpConn struct {
	next [2]uint32
	set  [2]bool
}

type connRef struct {
	c   *tcpConn
	dir int
}

// record remembers a sent packet for ReplyTo/RelatedTo.
type record struct {
	sent    Header
	view    *Header // as observed on arrival or in INPUT
	viewRaw []byte
	where   string // leaf it arrived in, Host if delivered locally, "" otherwise
	conn    connRef
}

// Initial sequence numbers of the original and reply directions.
var isn = [2]uint32{1000, 500000}

const (
	defaultSport   = 40000
	defaultICMPID  = 0x1234
	arrivalTimeout = 300 * time.Millisecond
	// sentinelWait only bounds a wait that normally ends within
	// milliseconds: generous, so that a loaded machine (several kernel
	// test packages at once on two CPUs) does not fail a case.
	sentinelWait = 20 * time.Second
	// sentinelResend is how long to wait before sending a sentinel again.
	sentinelResend = 500 * time.Millisecond
)

// NewFlow flushes conntrack and starts a flow.
func (t *Topology) NewFlow() (*Flow, error) {
	if err := t.FlushConntrack(); err != nil {
		return nil, err
	}
	return &Flow{t: t, conns: map[tuple]connRef{}}, nil
}

// Send sends p as a one-packet flow (conntrack is flushed first).
func (t *Topology) Send(p Packet) (Observation, error) {
	f, err := t.NewFlow()
	if err != nil {
		return Observation{}, err
	}
	return f.Send(p)
}

// SendFlow flushes conntrack and sends pkts in order as one flow. On error
// it returns the observations made so far.
func (t *Topology) SendFlow(pkts []Packet) ([]Observation, error) {
	f, err := t.NewFlow()
	if err != nil {
		return nil, err
	}
	obs := make([]Observation, 0, len(pkts))
	for i, p := range pkts {
		o, err := f.Send(p)
		if err != nil {
			return obs, fmt.Errorf("packet %d of flow: %w", i+1, err)
		}
		obs = append(obs, o)
	}
	return obs, nil
}

// resolved is a Packet with every default filled in.
type resolved struct {
	from string
	w    wire
	conn connRef
}

func (f *Flow) ref(n int, what string) (*record, error) {
	if n < 1 || n > len(f.recs) {
		return nil, fmt.Errorf("%s=%d does not name an earlier packet of this flow (1..%d)", what, n, len(f.recs))
	}
	return f.recs[n-1], nil
}

// resolve fills in defaults, replies and TCP sequence numbers.
func (f *Flow) resolve(p Packet) (resolved, error) {
	var r resolved
	w := wire{ttl: 64, tos: p.TOS, icmpID: defaultICMPID, icmpSeq: 1}
	if p.TTL != 0 {
		w.ttl = p.TTL
	}
	if p.ReplyTo > 0 && p.RelatedTo > 0 {
		return r, errors.New("ReplyTo and RelatedTo are exclusive")
	}
	switch {
	case p.ReplyTo > 0 || p.RelatedTo > 0:
		n, what := p.ReplyTo, "ReplyTo"
		if p.RelatedTo > 0 {
			n, what = p.RelatedTo, "RelatedTo"
		}
		rec, err := f.ref(n, what)
		if err != nil {
			return r, err
		}
		base := rec.sent
		if rec.view != nil {
			base = *rec.view
		}
		r.from = p.From
		if r.from == "" {
			if rec.where == "" {
				return r, fmt.Errorf("%s=%d: that packet neither arrived anywhere nor was delivered locally; set From", what, n)
			}
			r.from = rec.where
		}
		w.src, w.dst = base.Dst, base.Src
		if p.ReplyTo > 0 {
			w.proto = base.Proto
			w.sport, w.dport = base.Dport, base.Sport
			if base.Proto == "tcp" {
				w.flags = "A"
				if strings.Contains(base.Flags, "S") && !strings.Contains(base.Flags, "A") {
					w.flags = "SA"
				}
			}
			if base.Proto == "icmp" || base.Proto == "icmpv6" {
				w.icmpType, w.icmpCode = base.ICMPType, base.ICMPCode
				switch {
				case base.Proto == "icmp" && base.ICMPType == 8:
					w.icmpType, w.icmpCode = 0, 0
				case base.Proto == "icmpv6" && base.ICMPType == 128:
					w.icmpType, w.icmpCode = 129, 0
				}
				w.icmpID, w.icmpSeq = base.ICMPID, base.ICMPSeq
			}
			if rec.conn.c != nil {
				r.conn = connRef{rec.conn.c, 1 - rec.conn.dir}
			}
		} else {
			raw := rec.viewRaw
			switch {
			case base.Dst.Is6():
				// ICMPv6 destination unreachable, port unreachable,
				// embedding the header and 8 bytes as for IPv4 (what
				// conntrack reads; the simulator's length of an error).
				w.proto = "icmpv6"
				w.icmpType, w.icmpCode = 1, 4
				if len(raw) < 40 {
					return r, fmt.Errorf("RelatedTo=%d: no observed packet to embed", n)
				}
				w.embed = append([]byte(nil), raw[:min(40+8, len(raw))]...)
			default:
				w.proto = "icmp"
				w.icmpType, w.icmpCode = 3, 3
				if len(raw) < 20 {
					return r, fmt.Errorf("RelatedTo=%d: no observed packet to embed", n)
				}
				l := int(raw[0]&0x0f)*4 + 8
				w.embed = append([]byte(nil), raw[:min(l, len(raw))]...)
			}
			w.icmpID, w.icmpSeq = 0, 0
		}
		if p.Proto == "icmp" && w.proto == "icmpv6" {
			p.Proto = w.proto
		}
		if p.Proto != "" && p.Proto != w.proto {
			return r, fmt.Errorf("%s=%d: Proto %q conflicts with the derived %q", what, n, p.Proto, w.proto)
		}
		if p.Src.IsValid() {
			w.src = p.Src
		}
		if p.Dst.IsValid() {
			w.dst = p.Dst
		}
		if p.Sport != 0 {
			w.sport = p.Sport
		}
		if p.Dport != 0 {
			w.dport = p.Dport
		}
		if p.ICMPType != 0 || p.ICMPCode != 0 {
			w.icmpType, w.icmpCode = p.ICMPType, p.ICMPCode
		}
	default:
		r.from = p.From
		if r.from == "" {
			return r, errors.New("packet needs From (host, ext, ext2, c1, c2, c3)")
		}
		w.proto = p.Proto
		if w.proto == "" {
			w.proto = "tcp"
		}
		if !p.Dst.IsValid() {
			return r, errors.New("packet needs Dst")
		}
		w.dst = p.Dst
		w.src = p.Src
		if !w.src.IsValid() {
			if r.from == Host {
				w.src = hostSourceFor(w.dst)
			} else if l := leafByName(r.from); l != nil {
				w.src = l.src(w.dst)
			}
		}
		if w.proto == "icmp" && w.dst.Is6() {
			w.proto = "icmpv6"
		}
		switch w.proto {
		case "tcp", "udp":
			w.sport = p.Sport
			if w.sport == 0 {
				w.sport = defaultSport
			}
			w.dport = p.Dport
			if w.dport == 0 {
				return r, fmt.Errorf("%s packet needs Dport", w.proto)
			}
			w.flags = "S"
		case "icmp", "icmpv6":
			w.icmpType, w.icmpCode = 8, 0
			if w.proto == "icmpv6" {
				w.icmpType = 128
			}
			if p.ICMPType != 0 || p.ICMPCode != 0 {
				w.icmpType, w.icmpCode = p.ICMPType, p.ICMPCode
			}
		default:
			return r, fmt.Errorf("unknown Proto %q (want tcp, udp, icmp or icmpv6)", w.proto)
		}
	}
	if r.from != Host && leafByName(r.from) == nil {
		return r, fmt.Errorf("unknown From %q (want host, ext, ext2, c1, c2, c3)", r.from)
	}
	if w.src.Is4() != w.dst.Is4() || w.src.Is4In6() || w.dst.Is4In6() || !w.src.IsValid() || !w.dst.IsValid() {
		return r, fmt.Errorf("addresses must be both IPv4 or both IPv6 (src %v, dst %v)", w.src, w.dst)
	}
	if (w.proto == "icmpv6") != w.dst.Is6() && (w.proto == "icmp" || w.proto == "icmpv6") {
		return r, fmt.Errorf("%s packet to %v: ICMP is for IPv4, ICMPv6 for IPv6", w.proto, w.dst)
	}
	if w.proto == "tcp" {
		if p.Flags != "" {
			w.flags = p.Flags
		}
		fl, err := normFlags(w.flags)
		if err != nil {
			return r, err
		}
		w.flags = fl
		key := tuple{w.src, w.dst, w.sport, w.dport}
		if r.conn.c == nil {
			if c, ok := f.conns[key]; ok {
				r.conn = c
			} else {
				r.conn = connRef{&tcpConn{}, 0}
			}
		}
		f.conns[key] = r.conn
		c, d := r.conn.c, r.conn.dir
		w.seq = isn[d]
		if c.set[d] {
			w.seq = c.next[d]
		}
		if strings.Contains(w.flags, "A") {
			w.ack = isn[1-d] + 1
			if c.set[1-d] {
				w.ack = c.next[1-d]
			}
		}
	}
	r.w = w
	return r, nil
}

// Send injects p and observes what the kernel does with it.
func (f *Flow) Send(p Packet) (Observation, error) {
	t := f.t
	if t.w == nil {
		return Observation{}, errors.New("kernel: topology is closed")
	}
	start := time.Now()
	r, err := f.resolve(p)
	if err != nil {
		return Observation{}, fmt.Errorf("kernel: %w", err)
	}
	t.ident++
	if t.ident < 0x100 || t.ident > 0xfeff {
		t.ident = 0x100
	}
	r.w.id = t.ident
	pkt, err := buildIP(r.w)
	if err != nil {
		return Observation{}, fmt.Errorf("kernel: %w", err)
	}
	sent, _ := parseIP(pkt)
	obs := Observation{Sent: sent}

	before := t.lastSave
	if before == nil {
		if before, err = t.Save(); err != nil {
			return obs, err
		}
	}
	var events []logEvent
	var arrivals []arrival
	err = t.w.do(func() error {
		// Quiesce: forget anything left over.
		if _, err := t.nfl.drain(); err != nil {
			return err
		}
		t.readCaptures()
		if r.from == Host {
			var err error
			if r.w.dst.Is6() {
				err = unix.Sendto(t.raw6FD, pkt, 0, &unix.SockaddrInet6{Addr: r.w.dst.As16()})
			} else {
				err = unix.Sendto(t.rawFD, pkt, 0, &unix.SockaddrInet4{Addr: r.w.dst.As4()})
			}
			if err != nil {
				obs.SendError = err.Error()
			}
		} else {
			l := leafByName(r.from)
			frame, err := buildFrame(l.dstMAC(r.w.dst), l.mac, pkt)
			if err != nil {
				return err
			}
			if _, err := unix.Write(t.caps[r.from], frame); err != nil {
				return fmt.Errorf("inject on %s: %w", r.from, err)
			}
		}
		// Two sentinels down the same path: when the first is logged, every
		// hook the test packet went through has run; when the second is,
		// whatever it queued to a leaf has been received there.
		for range 2 {
			evs, err := t.sentinel(r.from)
			events = append(events, evs...)
			if err != nil {
				return err
			}
		}
		arrivals = t.readCaptures()
		return nil
	})
	if err != nil {
		return obs, fmt.Errorf("kernel: %w", err)
	}

	var test, resp []logEvent
	for _, e := range events {
		switch {
		case e.prefix == "SENT":
		case e.prefix == "resp":
			resp = append(resp, e)
		default:
			if h, ok := parseIP(e.payload); ok && h.ID == sent.ID && h.Proto == sent.Proto && obsHook[e.prefix[:len(e.prefix)-1]] != "" {
				test = append(test, e)
			}
		}
	}
	points := make([]string, len(test))
	for i, e := range test {
		points[i] = e.prefix
	}
	mine := func(as []arrival) []arrival {
		var out []arrival
		for _, a := range as {
			if a.hdr.ID == sent.ID && a.hdr.Proto == sent.Proto {
				out = append(out, a)
			}
		}
		return out
	}
	got := mine(arrivals)
	var leftVia string
	for _, e := range test {
		if e.prefix == "post1" {
			leftVia = t.ifnames[e.outdev]
		}
	}
	if len(got) == 0 && !slices.Contains(points, "in1") && leftVia != "" && leftVia != "lo" {
		// It left the host: give a slow path (e.g. a deferred transmit) a
		// bounded chance to arrive.
		deadline := time.Now().Add(arrivalTimeout)
		for len(got) == 0 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
			var more []arrival
			_ = t.w.do(func() error { more = t.readCaptures(); return nil })
			arrivals = append(arrivals, more...)
			got = mine(more)
		}
	}

	rec := &record{sent: sent, conn: r.conn}
	for _, e := range test {
		if h := obsHook[e.prefix[:len(e.prefix)-1]]; strings.HasSuffix(e.prefix, "0") {
			obs.Path = append(obs.Path, h)
		}
	}
	obs.Out = leftVia
	switch {
	case len(got) > 0:
		obs.Disposition = Forwarded
		if r.from == Host {
			obs.Disposition = Sent
		}
		obs.ArrivedIn = got[0].leaf
		h := got[0].hdr
		rec.view, rec.viewRaw, rec.where = &h, got[0].raw, got[0].leaf
	case slices.Contains(points, "in1"):
		obs.Disposition = Delivered
		for _, e := range test {
			if e.prefix == "in1" {
				h, _ := parseIP(e.payload)
				rec.view, rec.viewRaw = &h, e.payload
			}
		}
		rec.where = Host
	case slices.Contains(points, "post1") && leftVia != "lo":
		// (A packet sent to one of the host's own addresses leaves through
		// lo and comes back to PREROUTING and INPUT: it is delivered only if
		// it passes INPUT, handled above; else it was dropped on the way.)
		obs.Disposition = Forwarded
		if r.from == Host {
			obs.Disposition = Sent
		}
	default:
		obs.Disposition = Dropped
		last := ""
		if len(points) > 0 {
			last = points[len(points)-1]
		}
		switch {
		case last == "" && obs.SendError != "":
			obs.DroppedIn = "routing"
		case last == "":
			return obs, fmt.Errorf("kernel: packet %s from %s was never seen by the host", sent, r.from)
		case strings.HasSuffix(last, "0"):
			obs.DroppedIn = obsHook[last[:len(last)-1]]
		default:
			obs.DroppedIn = "routing"
		}
		if why := rejection(sent, resp, arrivals, r.from); why != "" {
			if strings.HasSuffix(last, "0") {
				obs.Disposition = Rejected
				obs.RejectWith = why
			} else {
				obs.KernelReply = why
			}
		}
	}
	switch {
	case rec.view != nil:
		obs.Seen = *rec.view
	case len(test) > 0:
		obs.Seen, _ = parseIP(test[len(test)-1].payload)
	default:
		obs.Seen = sent
	}

	after, err := t.Save()
	if err != nil {
		return obs, err
	}
	t.lastSave = after
	if obs.Hits, err = counterDeltas(before, after); err != nil {
		save, _ := t.backend.cmds(t.family)
		return obs, fmt.Errorf("kernel: %s -c output: %w", save, err)
	}

	// Continue the TCP connection only if the segment got through (a
	// dropped one would be retransmitted with the same sequence number).
	if c := r.conn.c; c != nil {
		switch obs.Disposition {
		case Forwarded, Sent, Delivered:
			d := r.conn.dir
			n := r.w.seq
			if strings.Contains(r.w.flags, "S") {
				n++
			}
			if strings.Contains(r.w.flags, "F") {
				n++
			}
			c.next[d], c.set[d] = n, true
		}
		if rec.view != nil {
			v := rec.view
			f.conns[tuple{v.Dst, v.Src, v.Dport, v.Sport}] = connRef{c, 1 - r.conn.dir}
		}
	}
	f.recs = append(f.recs, rec)
	obs.Elapsed = time.Since(start)
	return obs, nil
}

var obsHook = map[string]string{
	"pre": "PREROUTING", "in": "INPUT", "fwd": "FORWARD", "out": "OUTPUT", "post": "POSTROUTING",
}

// rejectICMP6 names the codes of ICMPv6 destination unreachable as
// ip6tables' --reject-with does.
var rejectICMP6 = map[uint8]string{
	0: "icmp6-no-route", 1: "icmp6-adm-prohibited", 3: "icmp6-addr-unreachable",
	4: "icmp6-port-unreachable", 5: "icmp6-policy-fail", 6: "icmp6-reject-route",
}

var rejectICMP = map[uint8]string{
	0: "icmp-net-unreachable", 1: "icmp-host-unreachable", 2: "icmp-proto-unreachable",
	3: "icmp-port-unreachable", 9: "icmp-net-prohibited", 10: "icmp-host-prohibited",
	13: "icmp-admin-prohibited",
}

// rejection finds an answer the kernel generated for sent: a TCP RST or an
// ICMP error embedding it, either logged (and suppressed) in OUTPUT or sent
// straight back to the sender's leaf (bridged tcp-reset).
func rejection(sent Header, resp []logEvent, arrivals []arrival, from string) string {
	var cands []Header
	for _, e := range resp {
		if h, ok := parseIP(e.payload); ok {
			cands = append(cands, h)
		}
	}
	for _, a := range arrivals {
		if a.leaf == from {
			cands = append(cands, a.hdr)
		}
	}
	for _, q := range cands {
		switch {
		case q.Proto == "tcp" && sent.Proto == "tcp" && strings.Contains(q.Flags, "R") &&
			q.Dst == sent.Src && q.Dport == sent.Sport:
			return "tcp-reset"
		case q.Proto == "icmp" && q.Inner != nil && q.Inner.ID == sent.ID && q.Inner.Proto == sent.Proto:
			switch q.ICMPType {
			case 3:
				if s, ok := rejectICMP[q.ICMPCode]; ok {
					return s
				}
				return fmt.Sprintf("icmp-unreachable-code-%d", q.ICMPCode)
			case 11:
				return "icmp-time-exceeded"
			case 12:
				return "icmp-parameter-problem"
			default:
				return fmt.Sprintf("icmp-type-%d", q.ICMPType)
			}
		case q.Proto == "icmpv6" && q.Inner != nil && q.Inner.ID == sent.ID && q.Inner.Proto == sent.Proto:
			switch q.ICMPType {
			case 1:
				if s, ok := rejectICMP6[q.ICMPCode]; ok {
					return s
				}
				return fmt.Sprintf("icmp6-unreachable-code-%d", q.ICMPCode)
			case 3:
				return "icmp6-time-exceeded"
			case 4:
				return "icmp6-parameter-problem"
			default:
				return fmt.Sprintf("icmp6-type-%d", q.ICMPType)
			}
		}
	}
	return ""
}

// arrival is a frame captured on a leaf's eth0.
type arrival struct {
	leaf string
	hdr  Header
	raw  []byte // IP packet
}

// readCaptures drains every leaf's capture socket (worker thread).
func (t *Topology) readCaptures() []arrival {
	var out []arrival
	buf := make([]byte, 65536)
	for _, l := range leaves {
		fd := t.caps[l.name]
		for {
			n, from, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if err != nil {
				break // EAGAIN: drained
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			if n < 34 || !(buf[12] == 0x08 && buf[13] == 0x00 || buf[12] == 0x86 && buf[13] == 0xdd) {
				continue
			}
			raw := append([]byte(nil), buf[14:n]...)
			h, ok := parseIP(raw)
			if !ok {
				continue
			}
			out = append(out, arrival{leaf: l.name, hdr: h, raw: raw})
		}
	}
	return out
}

// sentinel sends a sentinel packet down from's path into the host and waits
// until the observer logs it; it returns every event read meanwhile. It
// must run on the worker thread. Sentinels are IPv4 after an IPv6 test
// packet too: what they rely on is the per-CPU backlog the packet and they
// share (same sender, same veth or lo, same pinned CPU), not the family.
func (t *Topology) sentinel(from string) ([]logEvent, error) {
	t.sentinelSeq++
	seq := t.sentinelSeq
	var fd int
	var frame []byte
	if from == Host {
		lo := netip.MustParseAddr("127.0.0.1")
		pkt, err := buildSentinel(lo, lo, seq)
		if err != nil {
			return nil, err
		}
		zero := make([]byte, 6)
		if frame, err = buildFrame(zero, zero, pkt); err != nil {
			return nil, err
		}
		fd = t.loFD
	} else {
		l := leafByName(from)
		pkt, err := buildSentinel(l.addr.Addr(), l.gw, seq)
		if err != nil {
			return nil, err
		}
		if frame, err = buildFrame(l.gwMAC(), l.mac, pkt); err != nil {
			return nil, err
		}
		fd = t.caps[from]
	}
	send := func() error {
		if _, err := unix.Write(fd, frame); err != nil {
			return fmt.Errorf("sentinel from %s: %w", from, err)
		}
		return nil
	}
	isMine := func(e logEvent) bool {
		if e.prefix != "SENT" || len(e.payload) < 24 {
			return false
		}
		ihl := int(e.payload[0]&0x0f) * 4
		return len(e.payload) >= ihl+4 && e.payload[9] == sentinelProto &&
			uint32(e.payload[ihl])<<24|uint32(e.payload[ihl+1])<<16|uint32(e.payload[ihl+2])<<8|uint32(e.payload[ihl+3]) == seq
	}
	if err := send(); err != nil {
		return nil, err
	}
	var all []logEvent
	deadline := time.Now().Add(sentinelWait)
	for {
		events, found, err := t.nfl.waitFor(isMine, min(sentinelResend, time.Until(deadline)))
		all = append(all, events...)
		if err != nil || found {
			return all, err
		}
		if time.Until(deadline) <= 0 {
			return all, fmt.Errorf("sentinel %d from %s not observed within %v (harness broken?)", seq, from, sentinelWait)
		}
		// A frame can be lost right after the topology is (re)built, before
		// a new bridge port forwards: send the same sentinel again (it is
		// recognised by its number, and the observer drops it).
		if err := send(); err != nil {
			return all, err
		}
	}
}
