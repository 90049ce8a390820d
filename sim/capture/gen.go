package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is a capture file format.
type Format int

// Capture file formats.
const (
	Pcap Format = iota
	Pcapng
)

func (f Format) String() string {
	if f == Pcapng {
		return "pcapng"
	}
	return "pcap"
}

// Mix weighs the kinds of flow Generate starts. Zero values take the
// defaults of DefaultMix; set a weight negative to leave a kind out.
type Mix struct {
	// TCP: inbound connections (handshake, data, FIN) to 22, 80, 443,
	// 8080 (published), 5432 and random high ports, some refused with a
	// RST; and outbound connections from the host to port 443.
	TCP float64
	// UDP: DNS and NTP, queries from the host and answered from outside,
	// and queries from outside to the host's port 53 (some answered with
	// ICMP port unreachable).
	UDP float64
	// ICMP: echo requests from outside and their replies, and the host's
	// own pings.
	ICMP float64
	// Stray: a lone ACK or RST from outside, with no connection.
	Stray float64
	// ARP: an ARP request and reply (not IP; left out of raw IP captures).
	ARP float64
	// Frag: a large UDP datagram from outside, in IPv4 fragments.
	Frag float64
	// IPv6: TCP connections to port 443 over IPv6.
	IPv6 float64
}

// DefaultMix is the mix used for zero weights.
var DefaultMix = Mix{TCP: 60, UDP: 15, ICMP: 8, Stray: 5, ARP: 1, Frag: 1, IPv6: 5}

// GenConfig configures Generate.
type GenConfig struct {
	// Packets is the number of frames to write.
	Packets int
	// Seed makes the capture; the same config gives the same bytes.
	Seed uint64
	// LinkType is LinkEthernet (the default when 0), LinkSLL, LinkSLL2 or
	// LinkRaw.
	LinkType uint32
	Format   Format
	Mix      Mix
	// Start is the time of the first packet; zero means 2024-05-01
	// 12:00:00 UTC.
	Start time.Time
}

// The host the generator captures on.
var (
	GenHostAddr   = netip.MustParseAddr("203.0.113.10")
	GenHostAddr6  = netip.MustParseAddr("2001:db8:10::10")
	GenUplink     = "ens33"
	GenUplinkIdx  = uint32(2)
	genHostMAC    = [6]byte{0x00, 0x0c, 0x29, 0x3e, 0x5a, 0x10}
	genGatewayMAC = [6]byte{0x00, 0x50, 0x56, 0xe1, 0x02, 0x01}
)

// gpkt is one packet to build.
type gpkt struct {
	out            bool
	v6             bool
	src, dst       netip.Addr
	proto          uint8
	sport, dport   uint16
	flags          uint8
	seq, ack       uint32
	icmpType, code uint8
	icmpID, icmpSq uint16
	payload        int
	ttl            uint8
	id             uint16
	df             bool
	inner          []byte // ICMP error: the embedded packet
	arp            bool
	ifindex        uint32 // SLL2 and pcapng interface: 0 means the uplink
	ifc            int    // pcapng interface index
}

// ipBytes appends the IP packet of g to b.
func (g *gpkt) ipBytes(b []byte) []byte {
	var l4 []byte
	switch g.proto {
	case 6:
		l4 = make([]byte, 20+g.payload)
		binary.BigEndian.PutUint16(l4[0:], g.sport)
		binary.BigEndian.PutUint16(l4[2:], g.dport)
		binary.BigEndian.PutUint32(l4[4:], g.seq)
		binary.BigEndian.PutUint32(l4[8:], g.ack)
		l4[12] = 5 << 4
		l4[13] = g.flags
		binary.BigEndian.PutUint16(l4[14:], 64240)
	case 17:
		l4 = make([]byte, 8+g.payload)
		binary.BigEndian.PutUint16(l4[0:], g.sport)
		binary.BigEndian.PutUint16(l4[2:], g.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	case 1, 58:
		l4 = make([]byte, 8, 8+len(g.inner)+g.payload)
		l4[0], l4[1] = g.icmpType, g.code
		binary.BigEndian.PutUint16(l4[4:], g.icmpID)
		binary.BigEndian.PutUint16(l4[6:], g.icmpSq)
		l4 = append(l4, g.inner...)
		l4 = append(l4, make([]byte, g.payload)...)
	default:
		l4 = make([]byte, g.payload)
	}
	for i := range g.payload {
		l4[len(l4)-g.payload+i] = byte(i*7 + int(g.sport))
	}
	if g.v6 {
		h := make([]byte, 40)
		h[0] = 6 << 4
		binary.BigEndian.PutUint16(h[4:], uint16(len(l4)))
		h[6] = g.proto
		h[7] = g.ttl
		s, d := g.src.As16(), g.dst.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		l4sum(l4, g.proto, s[:], d[:])
		return append(append(b, h...), l4...)
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(h[4:], g.id)
	if g.df {
		h[6] = 0x40
	}
	h[8] = g.ttl
	h[9] = g.proto
	s, d := g.src.As4(), g.dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], ^csum(0, h))
	l4sum(l4, g.proto, s[:], d[:])
	return append(append(b, h...), l4...)
}

func csum(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// l4sum fills the TCP, UDP or ICMPv6 checksum (ICMP's too).
func l4sum(l4 []byte, proto uint8, src, dst []byte) {
	var at int
	switch proto {
	case 6:
		at = 16
	case 17:
		at = 6
	case 1:
		binary.BigEndian.PutUint16(l4[2:], ^csum(0, l4))
		return
	case 58:
		at = 2
	default:
		return
	}
	var sum uint32
	for i := 0; i+1 < len(src); i += 2 {
		sum += uint32(src[i])<<8 | uint32(src[i+1])
		sum += uint32(dst[i])<<8 | uint32(dst[i+1])
	}
	sum += uint32(proto) + uint32(len(l4))
	c := ^csum(sum, l4)
	if c == 0 && proto == 17 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

// frame wraps the IP bytes (or an ARP body) in the link header.
func frame(link uint32, g *gpkt, ip []byte) []byte {
	etype := uint16(etherIPv4)
	if g.arp {
		etype = etherARP
	} else if g.v6 {
		etype = etherIPv6
	}
	srcMAC, dstMAC := genGatewayMAC, genHostMAC
	pkttype := uint16(0)
	if g.out {
		srcMAC, dstMAC = genHostMAC, genGatewayMAC
		pkttype = pktOutgoing
	}
	if g.arp && !g.out {
		dstMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		pkttype = 1 // broadcast
	}
	ifindex := g.ifindex
	if ifindex == 0 {
		ifindex = GenUplinkIdx
	}
	var h []byte
	switch link {
	case LinkEthernet:
		h = make([]byte, 14, 14+len(ip))
		copy(h[0:], dstMAC[:])
		copy(h[6:], srcMAC[:])
		binary.BigEndian.PutUint16(h[12:], etype)
	case LinkSLL:
		h = make([]byte, 16, 16+len(ip))
		binary.BigEndian.PutUint16(h[0:], pkttype)
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], srcMAC[:])
		binary.BigEndian.PutUint16(h[14:], etype)
	case LinkSLL2:
		h = make([]byte, 20, 20+len(ip))
		binary.BigEndian.PutUint16(h[0:], etype)
		binary.BigEndian.PutUint32(h[4:], ifindex)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[10] = byte(pkttype)
		h[11] = 6
		copy(h[12:], srcMAC[:])
	default:
		h = make([]byte, 0, len(ip))
	}
	return append(h, ip...)
}

// arpBody is an ARP request from the gateway for the host (or the host's
// reply).
func arpBody(out bool) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], etherIPv4)
	b[4], b[5] = 6, 4
	gw := netip.MustParseAddr("203.0.113.1").As4()
	host := GenHostAddr.As4()
	if !out {
		binary.BigEndian.PutUint16(b[6:], 1)
		copy(b[8:], genGatewayMAC[:])
		copy(b[14:], gw[:])
		copy(b[24:], host[:])
	} else {
		binary.BigEndian.PutUint16(b[6:], 2)
		copy(b[8:], genHostMAC[:])
		copy(b[14:], host[:])
		copy(b[18:], genGatewayMAC[:])
		copy(b[24:], gw[:])
	}
	return b
}

// capWriter writes frames to a pcap or pcapng file.
type capWriter struct {
	pcap *pcapgo.Writer
	ng   *pcapgo.NgWriter
}

// newCapWriter starts a capture of the given link type; for pcapng, one
// interface per name in ifaces (at least one).
func newCapWriter(w io.Writer, f Format, link uint32, ifaces ...string) (*capWriter, error) {
	if f == Pcap {
		pw := pcapgo.NewWriterNanos(w)
		if err := pw.WriteFileHeader(262144, layers.LinkType(link)); err != nil {
			return nil, err
		}
		return &capWriter{pcap: pw}, nil
	}
	if len(ifaces) == 0 {
		return nil, errors.New("pcapng needs an interface")
	}
	intf := pcapgo.NgInterface{Name: ifaces[0], OS: "Linux", LinkType: layers.LinkType(link), SnapLength: 262144, TimestampResolution: 9}
	nw, err := pcapgo.NewNgWriterInterface(w, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "dfw capture generator"}})
	if err != nil {
		return nil, err
	}
	for _, n := range ifaces[1:] {
		intf.Name = n
		if _, err := nw.AddInterface(intf); err != nil {
			return nil, err
		}
	}
	return &capWriter{ng: nw}, nil
}

// write writes one frame, cut to caplen when 0 < caplen < len(data). dir
// is 0 (unknown), 1 (inbound) or 2 (outbound), for pcapng.
func (c *capWriter) write(t time.Time, data []byte, caplen int, ifc int, dir int) error {
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data), InterfaceIndex: ifc}
	if caplen > 0 && caplen < len(data) {
		data = data[:caplen]
		ci.CaptureLength = caplen
	}
	if c.pcap != nil {
		return c.pcap.WritePacket(ci, data)
	}
	var opts pcapgo.NgPacketOptions
	if dir != 0 {
		opts.Flags = &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlag(dir)}
	}
	return c.ng.WritePacketWithOptions(ci, data, opts)
}

func (c *capWriter) flush() error {
	if c.ng != nil {
		return c.ng.Flush()
	}
	return nil
}

// fragment splits an IPv4 packet into fragments of at most mtu bytes.
func fragment(ip []byte, mtu int) [][]byte {
	ihl := int(ip[0]&0x0f) * 4
	payload := ip[ihl:]
	step := (mtu - ihl) &^ 7
	var out [][]byte
	for off := 0; off < len(payload); off += step {
		end := min(off+step, len(payload))
		f := append(append([]byte(nil), ip[:ihl]...), payload[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		fo := uint16(off / 8)
		if end < len(payload) {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], fo)
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], ^csum(0, f[:ihl]))
		out = append(out, f)
	}
	return out
}

// Generate writes a capture of cfg.Packets frames of mixed traffic
// arriving at, and leaving, a Docker host whose uplink ens33 has
// 203.0.113.10 (and 2001:db8:10::10): clients from 198.51.100.0/24,
// 192.0.2.0/24 and a spread of other addresses. Outbound packets (the
// host's and its containers' replies, after masquerading) are marked as
// such where the format can say it: pcapng packet flags, and the cooked
// headers' packet type. pcapng captures of cooked frames name their
// interface "any", as tcpdump -i any does; others name it ens33. The
// cooked v2 interface index of the uplink is GenUplinkIdx.
func Generate(w io.Writer, cfg GenConfig) error {
	link := cfg.LinkType
	if link == 0 {
		link = LinkEthernet
	}
	switch link {
	case LinkEthernet, LinkSLL, LinkSLL2, LinkRaw:
	default:
		return fmt.Errorf("generate: link type %d not supported", link)
	}
	ifname := GenUplink
	if link == LinkSLL || link == LinkSLL2 {
		ifname = "any"
	}
	cw, err := newCapWriter(w, cfg.Format, link, ifname)
	if err != nil {
		return err
	}
	g := newGen(cfg, link)
	var ip []byte
	for n := 0; n < cfg.Packets; {
		p := g.next()
		if p.arp && link == LinkRaw {
			continue
		}
		var frames [][]byte
		if p.arp {
			frames = [][]byte{frame(link, p, arpBody(p.out))}
		} else {
			ip = p.ipBytes(ip[:0])
			if len(ip) > 1500 && !p.v6 {
				for _, f := range fragment(ip, 1500) {
					frames = append(frames, frame(link, p, f))
				}
			} else {
				frames = [][]byte{frame(link, p, ip)}
			}
		}
		dir := 1
		if p.out {
			dir = 2
		}
		for _, f := range frames {
			if n == cfg.Packets {
				break
			}
			g.now = g.now.Add(time.Duration(g.rnd.IntN(200)+1) * time.Microsecond)
			if err := cw.write(g.now, f, 0, 0, dir); err != nil {
				return err
			}
			n++
		}
	}
	return cw.flush()
}

type flow interface {
	// step returns the next packet and whether the flow is done after it.
	step(g *gen) (*gpkt, bool)
}

type gen struct {
	rnd      *rand.Rand
	mix      [7]float64
	mixSum   float64
	active   []flow
	now      time.Time
	internet []netip.Addr
	ipid     uint16
	link     uint32
}

func newGen(cfg GenConfig, link uint32) *gen {
	g := &gen{rnd: rand.New(rand.NewPCG(cfg.Seed, 0x64667773696d)), link: link}
	g.now = cfg.Start
	if g.now.IsZero() {
		g.now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	}
	m := cfg.Mix
	d := DefaultMix
	ws := [7]float64{m.TCP, m.UDP, m.ICMP, m.Stray, m.ARP, m.Frag, m.IPv6}
	ds := [7]float64{d.TCP, d.UDP, d.ICMP, d.Stray, d.ARP, d.Frag, d.IPv6}
	for i, w := range ws {
		switch {
		case w == 0:
			w = ds[i]
		case w < 0:
			w = 0
		}
		g.mix[i] = w
		g.mixSum += w
	}
	for range 2000 {
		var a [4]byte
		for {
			a = [4]byte{byte(1 + g.rnd.IntN(223)), byte(g.rnd.IntN(256)), byte(g.rnd.IntN(256)), byte(1 + g.rnd.IntN(254))}
			if a[0] != 10 && a[0] != 127 && a[0] != 172 && a[0] != 192 && a[0] != 198 && a[0] != 203 && a[0] != 100 && a[0] != 169 {
				break
			}
		}
		g.internet = append(g.internet, netip.AddrFrom4(a))
	}
	return g
}

func (g *gen) client() netip.Addr {
	switch g.rnd.IntN(4) {
	case 0:
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + g.rnd.IntN(254))})
	case 1:
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + g.rnd.IntN(254))})
	}
	return g.internet[g.rnd.IntN(len(g.internet))]
}

func (g *gen) ephemeral() uint16 { return uint16(32768 + g.rnd.IntN(28232)) }

func (g *gen) id() uint16 { g.ipid++; return g.ipid }

func (g *gen) next() *gpkt {
	for len(g.active) < 64 {
		g.active = append(g.active, g.newFlow())
	}
	i := g.rnd.IntN(len(g.active))
	p, done := g.active[i].step(g)
	if done {
		g.active[i] = g.newFlow()
	}
	if p.ttl == 0 {
		p.ttl = 64
		if !p.out {
			p.ttl = uint8(40 + g.rnd.IntN(20))
		}
	}
	if p.id == 0 && !p.v6 {
		p.id = g.id()
	}
	return p
}

func (g *gen) newFlow() flow {
	x := g.rnd.Float64() * g.mixSum
	kind := 0
	for ; kind < len(g.mix)-1; kind++ {
		if x < g.mix[kind] {
			break
		}
		x -= g.mix[kind]
	}
	switch kind {
	case 0:
		return g.newTCP(false)
	case 1:
		return g.newUDP()
	case 2:
		return &icmpFlow{peer: g.client(), id: uint16(g.rnd.IntN(65536)), n: 1 + g.rnd.IntN(4), fromHost: g.rnd.IntN(4) == 0}
	case 3:
		return &strayFlow{}
	case 4:
		return &arpFlow{}
	case 5:
		return &fragFlow{peer: g.client(), sport: g.ephemeral()}
	default:
		return g.newTCP(true)
	}
}

// tcpFlow is a TCP connection seen on the uplink.
type tcpFlow struct {
	v6            bool
	client        netip.Addr // the remote end
	cport, sport  uint16     // remote port, host port
	fromHost      bool       // the host opened it
	refused       bool
	rounds, state int
	cseq, sseq    uint32
}

func (g *gen) newTCP(v6 bool) *tcpFlow {
	f := &tcpFlow{v6: v6, cseq: g.rnd.Uint32(), sseq: g.rnd.Uint32(), rounds: g.rnd.IntN(6)}
	if v6 {
		f.client = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, byte(g.rnd.IntN(256)), 15: byte(1 + g.rnd.IntN(254))})
		f.cport, f.sport = g.ephemeral(), 443
		return f
	}
	f.client = g.client()
	if g.rnd.IntN(6) == 0 {
		f.fromHost = true
		f.client = g.internet[g.rnd.IntN(len(g.internet))]
		f.sport, f.cport = g.ephemeral(), 443
		return f
	}
	f.cport = g.ephemeral()
	ports := []uint16{22, 80, 443, 443, 443, 8080, 8080, 5432}
	if g.rnd.IntN(8) == 0 {
		f.sport = uint16(1024 + g.rnd.IntN(60000))
		f.refused = true
	} else {
		f.sport = ports[g.rnd.IntN(len(ports))]
		f.refused = f.sport == 5432 && g.rnd.IntN(2) == 0
	}
	return f
}

// pkt builds a packet of the flow; fromClient says the remote end sent it.
func (f *tcpFlow) pkt(fromClient bool, flags uint8, payload int) *gpkt {
	host := GenHostAddr
	if f.v6 {
		host = GenHostAddr6
	}
	if f.fromHost {
		fromClient = !fromClient // the host's packets are outbound
	}
	p := &gpkt{v6: f.v6, proto: 6, flags: flags, payload: payload}
	if fromClient {
		p.src, p.dst, p.sport, p.dport = f.client, host, f.cport, f.sport
		p.seq, p.ack = f.cseq, f.sseq
		f.cseq += uint32(payload)
	} else {
		p.src, p.dst, p.sport, p.dport = host, f.client, f.sport, f.cport
		p.seq, p.ack = f.sseq, f.cseq
		f.sseq += uint32(payload)
		p.out = true
		p.df = true
	}
	if flags&ACK == 0 {
		p.ack = 0
	}
	if flags&(SYN|FIN) != 0 {
		if fromClient {
			f.cseq++
		} else {
			f.sseq++
		}
	}
	return p
}

func (f *tcpFlow) step(g *gen) (*gpkt, bool) {
	// Packets from the opener are "client" packets.
	opener := true
	f.state++
	switch {
	case f.state == 1:
		return f.pkt(opener, SYN, 0), false
	case f.state == 2 && f.refused:
		return f.pkt(!opener, RST|ACK, 0), true
	case f.state == 2:
		return f.pkt(!opener, SYN|ACK, 0), false
	case f.state == 3:
		return f.pkt(opener, ACK, 0), f.rounds == 0 && g.rnd.IntN(3) == 0 // some never close
	}
	r := f.state - 4
	if r < 2*f.rounds {
		if r%2 == 0 {
			return f.pkt(opener, PSH|ACK, 1+g.rnd.IntN(500)), false
		}
		return f.pkt(!opener, PSH|ACK, g.rnd.IntN(1449)), false
	}
	switch r - 2*f.rounds {
	case 0:
		if g.rnd.IntN(10) == 0 {
			return f.pkt(opener, RST|ACK, 0), true
		}
		return f.pkt(opener, FIN|ACK, 0), false
	case 1:
		return f.pkt(!opener, FIN|ACK, 0), false
	}
	return f.pkt(opener, ACK, 0), true
}

// udpFlow is a query and its answer.
type udpFlow struct {
	peer         netip.Addr
	hostPort     uint16
	peerPort     uint16
	fromHost     bool
	unreachable  bool
	state        int
	query, reply []byte
}

func (g *gen) newUDP() *udpFlow {
	f := &udpFlow{}
	switch g.rnd.IntN(4) {
	case 0, 1: // the host (or a container, masqueraded) asks a resolver
		f.fromHost = true
		f.peer = []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("9.9.9.9")}[g.rnd.IntN(3)]
		f.hostPort, f.peerPort = g.ephemeral(), 53
	case 2: // NTP
		f.fromHost = true
		f.peer = g.internet[g.rnd.IntN(len(g.internet))]
		f.hostPort, f.peerPort = 123, 123
	default: // someone asks the host's port 53
		f.peer = g.client()
		f.hostPort, f.peerPort = 53, g.ephemeral()
		f.unreachable = g.rnd.IntN(3) == 0
	}
	return f
}

func (f *udpFlow) step(g *gen) (*gpkt, bool) {
	f.state++
	toHost := &gpkt{proto: 17, src: f.peer, dst: GenHostAddr, sport: f.peerPort, dport: f.hostPort}
	fromHost := &gpkt{proto: 17, src: GenHostAddr, dst: f.peer, sport: f.hostPort, dport: f.peerPort, out: true}
	size := 48
	if f.hostPort != 123 {
		size = 30 + g.rnd.IntN(200)
	}
	if f.state == 1 {
		if f.fromHost {
			fromHost.payload = size
			return fromHost, false
		}
		toHost.payload = size
		if f.unreachable {
			f.query = toHost.ipBytes(nil)
		}
		return toHost, false
	}
	if f.unreachable {
		n := min(len(f.query), 28+8)
		return &gpkt{proto: 1, src: GenHostAddr, dst: f.peer, icmpType: 3, code: 3, inner: f.query[:n], out: true, ttl: 64}, true
	}
	if f.fromHost {
		toHost.payload = size + 40
		return toHost, true
	}
	fromHost.payload = size + 40
	return fromHost, true
}

type icmpFlow struct {
	peer     netip.Addr
	id       uint16
	n, state int
	fromHost bool
}

func (f *icmpFlow) step(g *gen) (*gpkt, bool) {
	seq := uint16(f.state/2 + 1)
	req := f.state%2 == 0
	f.state++
	p := &gpkt{proto: 1, icmpID: f.id, icmpSq: seq, payload: 56}
	in := req != f.fromHost // request from outside, or reply to the host's ping
	if in {
		p.src, p.dst = f.peer, GenHostAddr
	} else {
		p.src, p.dst, p.out = GenHostAddr, f.peer, true
	}
	if req {
		p.icmpType = 8
	}
	if !req && g.rnd.IntN(20) == 0 {
		return p, true // lost the rest
	}
	return p, f.state == 2*f.n
}

type strayFlow struct{}

func (strayFlow) step(g *gen) (*gpkt, bool) {
	p := &gpkt{proto: 6, src: g.client(), dst: GenHostAddr, sport: g.ephemeral(), seq: g.rnd.Uint32(), ack: g.rnd.Uint32()}
	if g.rnd.IntN(2) == 0 {
		p.flags, p.dport = ACK, []uint16{80, 443, 8080}[g.rnd.IntN(3)]
	} else {
		p.flags, p.dport = RST, uint16(1+g.rnd.IntN(65535))
		p.ack = 0
	}
	return p, true
}

type arpFlow struct{ state int }

func (f *arpFlow) step(g *gen) (*gpkt, bool) {
	f.state++
	return &gpkt{arp: true, out: f.state == 2}, f.state == 2
}

// fragFlow is one large UDP datagram from outside (an EDNS answer to a
// container's query, say), which leaves the generator as fragments.
type fragFlow struct {
	peer  netip.Addr
	sport uint16
}

func (f *fragFlow) step(g *gen) (*gpkt, bool) {
	return &gpkt{proto: 17, src: f.peer, dst: GenHostAddr, sport: 53, dport: f.sport, payload: 1600 + g.rnd.IntN(2500)}, true
}
