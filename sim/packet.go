// Package sim simulates packets through the netfilter path of one host:
// hooks and tables in kernel order, routing, bridging with br_netfilter,
// conntrack and NAT, evaluated over a ruleset loaded by package parser.
package sim

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// IP protocol numbers.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
	ProtoUDPLit uint8 = 136
)

// Packet is one IP packet as it is sent, before the host handles it.
type Packet struct {
	Proto    uint8
	Src, Dst netip.Addr
	// Sport and Dport are the TCP/UDP/SCTP ports; for ICMP echo, Sport
	// carries the echo identifier.
	Sport, Dport uint16
	// Flags are the TCP flags (parser.FlagSYN, …).
	Flags              uint8
	ICMPType, ICMPCode uint8
	TTL, TOS           uint8
	// Len is the IP total length.
	Len  uint16
	Mark uint32
	// In is the ingress interface; Local is set instead for a packet the
	// host generates itself.
	In    string
	Local bool
	// Out, when set, is the egress interface the packet must take (it
	// overrides the routing decision).
	Out string
	// PhysIn is the bridge port the packet entered through (In is then
	// the bridge).
	PhysIn string
	// SrcMAC is the source MAC address, if known (-m mac is "may match"
	// when it is not).
	SrcMAC *[6]byte
	// Inner is the packet embedded in an ICMP error.
	Inner *Packet
	// State, when set, asserts the packet's conntrack state (NEW,
	// ESTABLISHED, RELATED, INVALID, UNTRACKED) instead of deriving it.
	State string
	// CTDir, with State ESTABLISHED or RELATED, is the direction of the
	// packet in its asserted entry: "" or "ORIGINAL" (the entry's original
	// tuple is the packet's own), "REPLY" (the packet answers a connection
	// opened the other way: the original tuple is the packet's inverted,
	// the reply tuple its own). The entry has no NAT either way, unless
	// CTOrigSrc says otherwise.
	CTDir string
	// CTOrigSrc, with State ESTABLISHED or RELATED and CTDir REPLY, is the
	// source the connection was opened from when nat POSTROUTING changed it
	// (MASQUERADE, SNAT) to the packet's destination: the entry's original
	// tuple then starts there and its status has SNAT, so that nat
	// PREROUTING gives the reply its destination back, as conntrack does
	// for the replies of a masqueraded connection. Unset, or equal to Dst:
	// no NAT.
	CTOrigSrc netip.Addr
}

// Is6 reports whether the packet is IPv6.
func (p *Packet) Is6() bool { return p.Dst.Is6() && !p.Dst.Is4In6() }

// HasPorts reports whether the protocol carries ports.
func HasPorts(proto uint8) bool {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoUDPLit, 33:
		return true
	}
	return false
}

// IsICMP reports whether the protocol is ICMP or ICMPv6.
func IsICMP(proto uint8) bool { return proto == ProtoICMP || proto == ProtoICMPv6 }

// isICMPError reports whether an ICMP type is an error message.
func isICMPError(v6 bool, t uint8) bool {
	if v6 {
		return t < 128
	}
	switch t {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// ProtoName names an IP protocol as dfwsim prints it.
func ProtoName(n uint8) string {
	switch n {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoSCTP:
		return "sctp"
	case ProtoUDPLit:
		return "udplite"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	}
	return fmt.Sprint(n)
}

// FlagLetters formats TCP flags as dfwsim's letters (S, A, F, R, P, U, E, C),
// in the order SYN, ACK, FIN, RST, PSH, URG, ECE, CWR.
func FlagLetters(f uint8) string {
	var b strings.Builder
	for _, x := range flagOrder {
		if f&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

var flagOrder = []struct {
	c   byte
	bit uint8
}{
	{'S', parser.FlagSYN}, {'A', parser.FlagACK}, {'F', parser.FlagFIN}, {'R', parser.FlagRST},
	{'P', parser.FlagPSH}, {'U', parser.FlagURG}, {'E', parser.FlagECE}, {'C', parser.FlagCWR},
}

// ParseFlags parses TCP flag letters ("S", "SA", "FA", "" …).
func ParseFlags(s string) (uint8, error) {
	var f uint8
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		ok := false
		for _, x := range flagOrder {
			if x.c == c {
				f |= x.bit
				ok = true
			}
		}
		if !ok {
			return 0, fmt.Errorf("unknown TCP flag %q (letters S A F R P U E C)", string(s[i]))
		}
	}
	return f, nil
}

// HeaderLen is the length of the IP and transport headers for a protocol,
// the default of Packet.Len.
func HeaderLen(proto uint8, v6 bool) uint16 {
	ip := uint16(20)
	if v6 {
		ip = 40
	}
	switch proto {
	case ProtoTCP:
		return ip + 20
	case ProtoUDP, ProtoUDPLit, ProtoICMP, ProtoICMPv6:
		return ip + 8
	case ProtoSCTP:
		return ip + 12
	}
	return ip
}

// String formats the packet in one line, like tcpdump would.
func (p *Packet) String() string {
	var b strings.Builder
	b.WriteString(ProtoName(p.Proto))
	b.WriteByte(' ')
	if HasPorts(p.Proto) {
		fmt.Fprintf(&b, "%s > %s", netip.AddrPortFrom(p.Src, p.Sport), netip.AddrPortFrom(p.Dst, p.Dport))
	} else {
		fmt.Fprintf(&b, "%s > %s", p.Src, p.Dst)
	}
	switch {
	case p.Proto == ProtoTCP:
		fmt.Fprintf(&b, " [%s]", FlagLetters(p.Flags))
	case IsICMP(p.Proto):
		fmt.Fprintf(&b, " type %d code %d", p.ICMPType, p.ICMPCode)
	}
	return b.String()
}
