package kernel

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packet describes one test packet. Zero fields take defaults.
type Packet struct {
	// From is where the packet is injected: Host (locally generated, raw
	// socket) or a leaf (Ext, Ext2, C1, C2, C3; AF_PACKET on its eth0).
	// For a reply or related packet it defaults to where the referenced
	// packet arrived.
	From string
	// Proto is "tcp" (default), "udp" or "icmp" ("icmpv6": ICMPv6; "icmp"
	// with IPv6 addresses means ICMPv6 too). The family is Dst's (for a
	// reply or ICMP error, the referenced packet's).
	Proto string
	// Src defaults to the sender's address (for Host: the address routing
	// would pick for Dst). Dst is required unless ReplyTo/RelatedTo is set.
	Src, Dst netip.Addr
	// Sport defaults to 40000; Dport is required for tcp and udp.
	Sport, Dport uint16
	// Flags are TCP flag letters (F S R P A U E C), default "S"; for a reply
	// "SA" after a bare SYN, else "A".
	Flags string
	// ICMPType and ICMPCode: both zero means echo request (8/0; ICMPv6
	// 128/0), so an unsolicited echo reply cannot be expressed (use
	// ReplyTo). For RelatedTo the default is 3/3 (port unreachable; ICMPv6
	// 1/4).
	ICMPType, ICMPCode uint8
	// TTL (the hop limit for IPv6) defaults to 64; TOS (traffic class) to
	// 0.
	TTL, TOS uint8
	// ReplyTo, when > 0, makes this packet the reply to packet number
	// ReplyTo of the flow (1-based: 1 is the first packet), built from that
	// packet as it was observed on arrival (after NAT) and sent from where
	// it arrived: addresses and ports swapped, TCP seq/ack continuing the
	// connection, echo request answered by echo reply. Non-zero fields
	// above override.
	ReplyTo int
	// RelatedTo, when > 0, makes this packet an ICMP error (default type 3
	// code 3) about packet number RelatedTo (1-based), sent from where it
	// arrived and embedding its IP header and first 8 bytes as seen there.
	RelatedTo int
}

// Header is a packet as the harness sent or observed it.
type Header struct {
	Proto              string // "tcp", "udp", "icmp", "icmpv6" or the protocol number
	Src, Dst           netip.Addr
	Sport, Dport       uint16 // tcp and udp
	Flags              string // tcp, in the order S A F R P U E C
	Seq, Ack           uint32 // tcp
	ICMPType, ICMPCode uint8  // icmp, icmpv6
	ICMPID, ICMPSeq    uint16 // icmp echo
	TTL, TOS           uint8  // IPv6: hop limit, traffic class
	// ID is the IP identification; for IPv6, where the harness marks its
	// packets with the flow label, the flow label when it fits (else 0).
	ID uint16
	// Inner is the embedded packet of an ICMP error, if any.
	Inner *Header
}

// String renders h compactly, e.g. "tcp 203.0.113.7:40000 > 172.17.0.2:80 [S]".
func (h Header) String() string {
	switch h.Proto {
	case "tcp":
		return fmt.Sprintf("tcp %s:%d > %s:%d [%s]", h.Src, h.Sport, h.Dst, h.Dport, h.Flags)
	case "udp":
		return fmt.Sprintf("udp %s:%d > %s:%d", h.Src, h.Sport, h.Dst, h.Dport)
	case "icmp", "icmpv6":
		return fmt.Sprintf("%s %s > %s type %d code %d", h.Proto, h.Src, h.Dst, h.ICMPType, h.ICMPCode)
	}
	return fmt.Sprintf("%s %s > %s", h.Proto, h.Src, h.Dst)
}

// hasPorts reports whether the protocol carries ports.
func (h Header) hasPorts() bool { return h.Proto == "tcp" || h.Proto == "udp" }

var protoNum = map[string]layers.IPProtocol{
	"tcp":    layers.IPProtocolTCP,
	"udp":    layers.IPProtocolUDP,
	"icmp":   layers.IPProtocolICMPv4,
	"icmpv6": layers.IPProtocolICMPv6,
}

const sentinelProto = 253 // IP protocol of sentinel packets (RFC 3692 experimental)

// tcpFlagOrder is the order flags are rendered in.
const tcpFlagOrder = "SAFRPUEC"

// normFlags validates TCP flag letters and returns them in canonical order.
func normFlags(f string) (string, error) {
	f = strings.ToUpper(f)
	for _, c := range f {
		if !strings.ContainsRune(tcpFlagOrder, c) {
			return "", fmt.Errorf("unknown TCP flag %q in %q", c, f)
		}
	}
	var b strings.Builder
	for _, c := range tcpFlagOrder {
		if strings.ContainsRune(f, c) {
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

// wire is everything needed to build one IPv4 or IPv6 packet (the family
// of dst).
type wire struct {
	proto              string
	src, dst           netip.Addr
	sport, dport       uint16
	flags              string
	seq, ack           uint32
	icmpType, icmpCode uint8
	icmpID, icmpSeq    uint16
	embed              []byte // ICMP error body
	ttl, tos           uint8
	id                 uint16 // IPv4 identification; IPv6 flow label
}

// buildIP serialises w into an IPv4 or IPv6 packet (the family of w.dst).
func buildIP(w wire) ([]byte, error) {
	if w.dst.Is6() {
		return buildIPv6(w)
	}
	return buildIPv4(w)
}

// buildIPv6 serialises w into an IPv6 packet with correct checksums; the
// flow label carries w.id, so that the packet can be recognised on
// arrival and inside an ICMPv6 error.
func buildIPv6(w wire) ([]byte, error) {
	ip := &layers.IPv6{
		Version:      6,
		TrafficClass: w.tos,
		FlowLabel:    uint32(w.id),
		HopLimit:     w.ttl,
		SrcIP:        net.IP(w.src.AsSlice()),
		DstIP:        net.IP(w.dst.AsSlice()),
		NextHeader:   protoNum[w.proto],
	}
	var ls []gopacket.SerializableLayer
	switch w.proto {
	case "tcp", "udp":
		l4, err := portLayer(w, ip)
		if err != nil {
			return nil, err
		}
		ls = []gopacket.SerializableLayer{ip, l4}
	case "icmpv6":
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(w.icmpType, w.icmpCode)}
		if err := ic.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		// The message body after type, code and checksum: identifier and
		// sequence number of an echo, else 4 unused bytes (an error) and
		// the embedded packet.
		body := make([]byte, 4, 4+len(w.embed))
		if w.embed == nil {
			binary.BigEndian.PutUint16(body, w.icmpID)
			binary.BigEndian.PutUint16(body[2:], w.icmpSeq)
		}
		body = append(body, w.embed...)
		ls = []gopacket.SerializableLayer{ip, ic, gopacket.Payload(body)}
	default:
		return nil, fmt.Errorf("unknown IPv6 protocol %q (want tcp, udp or icmpv6)", w.proto)
	}
	return serialize(w.proto, ls)
}

// portLayer is the TCP or UDP header of w, its checksum over ip's
// pseudo-header.
func portLayer(w wire, ip gopacket.NetworkLayer) (gopacket.SerializableLayer, error) {
	if w.proto == "tcp" {
		t := tcpLayer(w)
		return t, t.SetNetworkLayerForChecksum(ip)
	}
	u := &layers.UDP{SrcPort: layers.UDPPort(w.sport), DstPort: layers.UDPPort(w.dport)}
	return u, u.SetNetworkLayerForChecksum(ip)
}

// serialize writes the layers of a packet, lengths and checksums computed.
func serialize(proto string, ls []gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ls...); err != nil {
		return nil, fmt.Errorf("build %s packet: %w", proto, err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// tcpLayer is the TCP header of w.
func tcpLayer(w wire) *layers.TCP {
	return &layers.TCP{
		SrcPort: layers.TCPPort(w.sport), DstPort: layers.TCPPort(w.dport),
		Seq: w.seq, Ack: w.ack, Window: 64240,
		FIN: strings.Contains(w.flags, "F"), SYN: strings.Contains(w.flags, "S"),
		RST: strings.Contains(w.flags, "R"), PSH: strings.Contains(w.flags, "P"),
		ACK: strings.Contains(w.flags, "A"), URG: strings.Contains(w.flags, "U"),
		ECE: strings.Contains(w.flags, "E"), CWR: strings.Contains(w.flags, "C"),
	}
}

var serializeOpts = gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}

// buildIPv4 serialises w into an IPv4 packet with correct checksums.
func buildIPv4(w wire) ([]byte, error) {
	ip := &layers.IPv4{
		Version:  4,
		IHL:      5,
		TOS:      w.tos,
		Id:       w.id,
		Flags:    layers.IPv4DontFragment,
		TTL:      w.ttl,
		SrcIP:    net.IP(w.src.AsSlice()),
		DstIP:    net.IP(w.dst.AsSlice()),
		Protocol: protoNum[w.proto],
	}
	var ls []gopacket.SerializableLayer
	switch w.proto {
	case "tcp", "udp":
		l4, err := portLayer(w, ip)
		if err != nil {
			return nil, err
		}
		ls = []gopacket.SerializableLayer{ip, l4}
	case "icmp":
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(w.icmpType, w.icmpCode),
			Id: w.icmpID, Seq: w.icmpSeq}
		ls = []gopacket.SerializableLayer{ip, ic}
		if w.embed != nil {
			ls = append(ls, gopacket.Payload(w.embed))
		}
	default:
		return nil, fmt.Errorf("unknown protocol %q (want tcp, udp or icmp)", w.proto)
	}
	return serialize(w.proto, ls)
}

// buildSentinel returns an IPv4 packet of protocol 253 carrying seq.
func buildSentinel(src, dst netip.Addr, seq uint32) ([]byte, error) {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: sentinelProto,
		SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ip, gopacket.Payload(be32(seq))); err != nil {
		return nil, fmt.Errorf("build sentinel: %w", err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// buildFrame wraps an IPv4 or IPv6 packet in an Ethernet header.
func buildFrame(dst, src net.HardwareAddr, ipPkt []byte) ([]byte, error) {
	et := layers.EthernetTypeIPv4
	if len(ipPkt) > 0 && ipPkt[0]>>4 == 6 {
		et = layers.EthernetTypeIPv6
	}
	eth := &layers.Ethernet{DstMAC: dst, SrcMAC: src, EthernetType: et}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, gopacket.Payload(ipPkt)); err != nil {
		return nil, fmt.Errorf("build frame: %w", err)
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// parseIP decodes an IPv4 or IPv6 packet (parseIPv4, parseIPv6).
func parseIP(b []byte) (h Header, ok bool) {
	if len(b) > 0 && b[0]>>4 == 6 {
		return parseIPv6(b)
	}
	return parseIPv4(b)
}

// parseIPv6 decodes the headers the harness cares about, for a packet
// without extension headers (the harness sends none). ok is false for
// anything that is not a well-formed IPv6 packet.
func parseIPv6(b []byte) (h Header, ok bool) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return h, false
	}
	vtf := binary.BigEndian.Uint32(b)
	h.TOS = uint8(vtf >> 20)
	if fl := vtf & 0xfffff; fl <= 0xffff {
		h.ID = uint16(fl)
	}
	h.TTL = b[7]
	h.Src = netip.AddrFrom16([16]byte(b[8:24]))
	h.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	l4 := b[40:]
	switch b[6] {
	case 6, 17:
		parseL4(&h, b[6], l4)
	case 58:
		h.Proto = "icmpv6"
		if len(l4) >= 8 {
			h.ICMPType, h.ICMPCode = l4[0], l4[1]
			switch {
			case h.ICMPType == 128 || h.ICMPType == 129:
				h.ICMPID = binary.BigEndian.Uint16(l4[4:])
				h.ICMPSeq = binary.BigEndian.Uint16(l4[6:])
			case h.ICMPType < 128:
				if in, ok := parseIPv6(l4[8:]); ok {
					h.Inner = &in
				}
			}
		}
	default:
		h.Proto = fmt.Sprint(b[6])
	}
	return h, true
}

// parseL4 decodes a TCP or UDP header (or, in an ICMP error, its first
// bytes) into h.
func parseL4(h *Header, proto byte, l4 []byte) {
	switch proto {
	case 6:
		h.Proto = "tcp"
		// An ICMP error may embed only the first 8 bytes: ports and seq.
		if len(l4) >= 8 {
			h.Sport = binary.BigEndian.Uint16(l4)
			h.Dport = binary.BigEndian.Uint16(l4[2:])
			h.Seq = binary.BigEndian.Uint32(l4[4:])
		}
		if len(l4) >= 14 {
			h.Ack = binary.BigEndian.Uint32(l4[8:])
			h.Flags = flagString(l4[13])
		}
	case 17:
		h.Proto = "udp"
		if len(l4) >= 4 {
			h.Sport = binary.BigEndian.Uint16(l4)
			h.Dport = binary.BigEndian.Uint16(l4[2:])
		}
	}
}

// parseIPv4 decodes the headers the harness cares about. ok is false for
// anything that is not a well-formed IPv4 packet.
func parseIPv4(b []byte) (h Header, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return h, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return h, false
	}
	h.TOS = b[1]
	h.ID = binary.BigEndian.Uint16(b[4:])
	h.TTL = b[8]
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	l4 := b[ihl:]
	switch b[9] {
	case 6, 17:
		parseL4(&h, b[9], l4)
	case 1:
		h.Proto = "icmp"
		if len(l4) >= 8 {
			h.ICMPType, h.ICMPCode = l4[0], l4[1]
			switch h.ICMPType {
			case 0, 8, 13, 14:
				h.ICMPID = binary.BigEndian.Uint16(l4[4:])
				h.ICMPSeq = binary.BigEndian.Uint16(l4[6:])
			case 3, 4, 5, 11, 12:
				if in, ok := parseIPv4(l4[8:]); ok {
					h.Inner = &in
				}
			}
		}
	default:
		h.Proto = fmt.Sprint(b[9])
	}
	return h, true
}

// tcpFlagBits are the header bits of the letters of tcpFlagOrder.
var tcpFlagBits = [len(tcpFlagOrder)]byte{0x02, 0x10, 0x01, 0x04, 0x08, 0x20, 0x40, 0x80}

func flagString(bits byte) string {
	var b strings.Builder
	for i := range len(tcpFlagOrder) {
		if bits&tcpFlagBits[i] != 0 {
			b.WriteByte(tcpFlagOrder[i])
		}
	}
	return b.String()
}
