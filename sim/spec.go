package sim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// SpecForms describes the accepted --pkt forms, for error messages.
const SpecForms = `accepted --pkt forms:
  PROTO:IFACE:DPORT        e.g. tcp:ens33:80 (a TCP SYN from outside to this host's address on IFACE)
  key=value,...            keys: proto in out physin src dst sport dport flags type code ttl tos len mark state mac
                           e.g. proto=tcp,in=ens33,dport=8080  or  proto=udp,in=local,dst=192.0.2.53,dport=53
                           (in=local: the host sends it; in=lo is the host's own too, to 127.0.0.1 by default)
  reply[,key=value...]     the answer to the previous packet, e.g. reply or reply,flags=A
  related[,key=value...]   an ICMP error about the previous packet (port unreachable by default: type=3,code=3; ICMPv6 type=1,code=4)
values may be open: a CIDR (src=10.0.0.0/8), a range (dport=1000-2000) or * (a single-packet flow then gives
                           classes of packets with the same answer; in a longer flow a named
                           representative is simulated)`

// Spec is one parsed --pkt value.
type Spec struct {
	// Kind is "" for a new packet, "reply" or "related".
	Kind string
	// Vals holds the key=value pairs as written (short form translated).
	Vals map[string]string
	// Keys keeps the order the keys were written in.
	Keys []string
}

var specKeys = map[string]bool{
	"proto": true, "in": true, "out": true, "physin": true, "src": true, "dst": true, "sport": true, "dport": true,
	"flags": true, "type": true, "code": true, "ttl": true, "tos": true, "len": true, "mark": true, "state": true, "mac": true,
}

// ParseSpec parses one --pkt value (short form, full form, reply or
// related). Values are checked when the packet is resolved.
func ParseSpec(s string) (*Spec, error) {
	s = strings.TrimSpace(s)
	sp := &Spec{Vals: map[string]string{}}
	if s == "" {
		return nil, fmt.Errorf("empty packet spec")
	}
	if !strings.Contains(s, "=") && strings.Count(s, ":") >= 1 && !strings.HasPrefix(s, "reply") && !strings.HasPrefix(s, "related") {
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%q: short form is PROTO:IFACE:DPORT", s)
		}
		sp.set("proto", parts[0])
		sp.set("in", parts[1])
		if n, err := parseProto(parts[0]); err == nil && HasPorts(n) && (len(parts) == 2 || parts[2] == "") {
			// Not port 0: a short form without its port is a slip.
			return nil, fmt.Errorf("%q: short form is PROTO:IFACE:DPORT: the destination port is missing (e.g. %s:%s:22, or %s:%s:* for every port)", s, parts[0], parts[1], parts[0], parts[1])
		}
		if len(parts) == 3 {
			if p := strings.ToLower(parts[0]); p == "icmp" || p == "icmpv6" {
				sp.set("type", parts[2])
			} else {
				sp.set("dport", parts[2])
			}
		}
		return sp, sp.check()
	}
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if i == 0 && (f == "reply" || f == "related") {
			sp.Kind = f
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q: %q is not key=value", s, f)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !specKeys[k] {
			return nil, fmt.Errorf("%q: unknown key %q", s, k)
		}
		if _, dup := sp.Vals[k]; dup {
			return nil, fmt.Errorf("%q: key %q given twice", s, k)
		}
		sp.set(k, strings.TrimSpace(v))
	}
	return sp, sp.check()
}

func (sp *Spec) set(k, v string) {
	sp.Vals[k] = v
	sp.Keys = append(sp.Keys, k)
}

// check validates the syntax of the values that need no host model.
func (sp *Spec) check() error {
	for _, k := range sp.Keys {
		v := sp.Vals[k]
		var err error
		switch k {
		case "proto":
			_, err = parseProto(v)
		case "sport", "dport":
			_, _, err = parseOpenNum(v, 65535)
		case "type", "code", "ttl", "tos":
			_, _, err = parseOpenNum(v, 255)
		case "len":
			_, _, err = parseOpenNum(v, 65535)
		case "mark":
			if _, perr := strconv.ParseUint(v, 0, 32); perr != nil {
				err = fmt.Errorf("expected a mark 0-0xffffffff (a single value: mark= cannot be open)")
			}
		case "flags":
			_, err = ParseFlags(v)
		case "src", "dst":
			if v != "*" {
				_, _, err = parseOpenAddr(v)
			}
		case "state":
			switch strings.ToUpper(v) {
			case "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED":
			default:
				err = fmt.Errorf("state must be NEW, ESTABLISHED, RELATED, INVALID or UNTRACKED")
			}
		case "mac":
			_, err = parseMAC(v)
		case "in", "out", "physin":
			if v == "" {
				err = fmt.Errorf("empty interface name")
			}
		}
		if err != nil {
			return fmt.Errorf("%s=%s: %v", k, v, err)
		}
	}
	return nil
}

func parseProto(v string) (uint8, error) {
	switch strings.ToLower(v) {
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp":
		return ProtoICMP, nil
	case "icmpv6", "ipv6-icmp", "icmp6":
		return ProtoICMPv6, nil
	case "sctp":
		return ProtoSCTP, nil
	case "udplite":
		return ProtoUDPLit, nil
	case "gre":
		return 47, nil
	case "esp":
		return 50, nil
	case "ah":
		return 51, nil
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown protocol %q (tcp, udp, icmp, icmpv6, sctp, or a number)", v)
	}
	return uint8(n), nil
}

// parseOpenNum parses N, a range A-B (or A:B) or *; open reports a value
// that is not a single number. For a range the low end is returned; for *
// ok is false.
func parseOpenNum(v string, max uint64) (n uint64, open bool, err error) {
	if v == "*" {
		return 0, true, nil
	}
	lo, hi, isRange := strings.Cut(v, "-")
	if !isRange {
		lo, hi, isRange = strings.Cut(v, ":")
	}
	a, err := strconv.ParseUint(lo, 0, 64)
	if err != nil || a > max {
		return 0, false, fmt.Errorf("expected a number 0-%d, a range a-b or *", max)
	}
	if isRange {
		b, err := strconv.ParseUint(hi, 0, 64)
		if err != nil || b > max || b < a {
			return 0, false, fmt.Errorf("expected a number 0-%d, a range a-b or *", max)
		}
		return a, a != b, nil
	}
	return a, false, nil
}

// parseOpenAddr parses an address or a CIDR; for a CIDR the representative
// is its first host address.
func parseOpenAddr(v string) (netip.Addr, bool, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Addr{}, false, fmt.Errorf("expected an address or CIDR")
		}
		p = p.Masked()
		a := p.Addr()
		if p.Bits() < a.BitLen()-1 {
			a = a.Next()
		}
		return a, p.Bits() != a.BitLen(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, false, fmt.Errorf("expected an address or CIDR")
	}
	return a, false, nil
}

func parseMAC(v string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(v, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("expected a MAC address xx:xx:xx:xx:xx:xx")
	}
	for i, p := range parts {
		b, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return m, fmt.Errorf("expected a MAC address xx:xx:xx:xx:xx:xx")
		}
		m[i] = byte(b)
	}
	return m, nil
}

// Resolve turns a spec into a packet on a host, given the result of the
// previous packet of the flow (for reply and related). It returns the
// assumptions it made (representatives for open values, default addresses).
func (sp *Spec) Resolve(h *Host, prev *Result) (Packet, []string, error) {
	var p Packet
	var as []string
	v := sp.Vals
	has := func(k string) bool { _, ok := v[k]; return ok }
	switch sp.Kind {
	case "reply", "related":
		if prev == nil {
			return p, nil, fmt.Errorf("%s: there is no previous packet in the flow", sp.Kind)
		}
		if sp.Kind == "reply" {
			p = ReplyTo(prev)
			if a := unroutedSender(h, prev, &p); a != "" {
				as = append(as, a)
			}
		} else {
			// Port unreachable, ICMPv6's (1/4) about an IPv6 packet: 3/3
			// is an ICMPv6 time exceeded with a code it does not have.
			typ, code := uint8(3), uint8(3)
			if prev.Final.Is6() {
				typ, code = 1, 4
			}
			if has("type") {
				n, _, _ := parseOpenNum(v["type"], 255)
				typ = uint8(n)
			}
			if has("code") {
				n, _, _ := parseOpenNum(v["code"], 255)
				code = uint8(n)
			}
			p = RelatedTo(prev, typ, code)
			if a := unroutedSender(h, prev, &p); a != "" {
				as = append(as, a)
			}
		}
	default:
		proto := ProtoTCP
		if has("proto") {
			proto, _ = parseProto(v["proto"])
		}
		// In an IPv6 ruleset, icmp without addresses means ICMPv6 (an
		// IPv6 packet does not carry ICMP).
		if proto == ProtoICMP && h.IPv6 && !has("src") && !has("dst") {
			proto = ProtoICMPv6
			as = append(as, "proto icmp taken as icmpv6 (an IPv6 ruleset)")
		}
		p.Proto = proto
		if !has("in") {
			return p, nil, fmt.Errorf("in= is required (an interface name, or local)")
		}
		switch v["in"] {
		case "local":
			p.Local = true
		case "lo":
			// Only the host sends on lo: its packet took OUTPUT, where
			// nat OUTPUT (not PREROUTING, which the kernel does not run
			// again for it) made its NAT, and comes back in on lo to
			// INPUT. Simulated so, as in=local.
			p.Local = true
			if o, ok := v["out"]; ok && o != "lo" {
				return p, nil, fmt.Errorf("in=lo with out=%s: a packet on lo goes to one of this host's addresses, which routing sends out lo (expected no out=, or in=local for a packet the host sends out %s)", o, o)
			}
			as = append(as, "in=lo: a packet on lo is this host's own, simulated from OUTPUT (in=local) and received on lo")
			if !has("dst") {
				p.Dst = netip4(127, 0, 0, 1)
				if h.IPv6 {
					p.Dst = netip.IPv6Loopback()
				}
			}
		default:
			p.In = v["in"]
			if h.Iface(p.In) == nil {
				as = append(as, fmt.Sprintf("interface %s is not in the host model: taken as an uplink without address", p.In))
			}
		}
		if proto == ProtoTCP {
			p.Flags = parser.FlagSYN
		}
		if IsICMP(proto) {
			p.ICMPType = 8
			if proto == ProtoICMPv6 {
				p.ICMPType = 128
			}
		}
		if HasPorts(proto) {
			p.Sport = 40000
		}
	}
	for _, k := range sp.Keys {
		val := v[k]
		switch k {
		case "out":
			p.Out = val
		case "physin":
			p.PhysIn = val
		case "in":
			if sp.Kind != "" {
				if val == "local" || val == "lo" { // lo: see above
					p.Local, p.In = true, ""
				} else {
					p.Local, p.In = false, val
				}
			}
		case "src", "dst":
			if val == "*" {
				continue // defaults below
			}
			a, open, _ := parseOpenAddr(val)
			if open {
				as = append(as, fmt.Sprintf("%s=%s: the representative %s is simulated (open values give classes only in a single-packet flow)", k, val, a))
			}
			if k == "src" {
				p.Src = a
			} else {
				p.Dst = a
			}
		case "sport", "dport", "type", "code", "ttl", "tos", "len":
			max := uint64(65535)
			if k != "sport" && k != "dport" && k != "len" {
				max = 255
			}
			n, open, _ := parseOpenNum(val, max)
			if val == "*" {
				switch k {
				case "sport":
					n = 40000
				case "dport":
					n = 80
				case "ttl":
					n = 64
				}
			}
			if open {
				as = append(as, fmt.Sprintf("%s=%s: the representative %d is simulated (open values give classes only in a single-packet flow)", k, val, n))
			}
			switch k {
			case "sport":
				p.Sport = uint16(n)
			case "dport":
				p.Dport = uint16(n)
			case "type":
				if sp.Kind != "related" {
					p.ICMPType = uint8(n)
				}
			case "code":
				if sp.Kind != "related" {
					p.ICMPCode = uint8(n)
				}
			case "ttl":
				p.TTL = uint8(n)
			case "tos":
				p.TOS = uint8(n)
			case "len":
				p.Len = uint16(n)
			}
		case "flags":
			p.Flags, _ = ParseFlags(val)
		case "mark":
			m, _ := strconv.ParseUint(val, 0, 32)
			p.Mark = uint32(m)
		case "state":
			p.State = strings.ToUpper(val)
		case "mac":
			m, _ := parseMAC(val)
			p.SrcMAC = &m
		}
	}
	// A key the protocol does not have would be silently ignored.
	name := ProtoName(p.Proto)
	for _, k := range []string{"sport", "dport"} {
		if has(k) && !HasPorts(p.Proto) {
			return p, as, fmt.Errorf("%s=: %s has no ports (expected proto=tcp, udp, sctp, dccp or udplite, or no %s=)", k, name, k)
		}
	}
	if has("flags") && p.Proto != ProtoTCP {
		return p, as, fmt.Errorf("flags=: %s has no TCP flags (expected proto=tcp, or no flags=)", name)
	}
	for _, k := range []string{"type", "code"} {
		if has(k) && !IsICMP(p.Proto) && sp.Kind != "related" {
			return p, as, fmt.Errorf("%s=: %s has no ICMP %s (expected proto=icmp or icmpv6, or no %s=)", k, name, k, k)
		}
	}
	if sp.Kind != "" {
		return p, as, nil
	}
	v6 := p.Proto == ProtoICMPv6 || (p.Src.IsValid() && p.Src.Is6()) || (p.Dst.IsValid() && p.Dst.Is6()) ||
		(h.IPv6 && !p.Src.IsValid() && !p.Dst.IsValid())
	if !p.Dst.IsValid() {
		if p.Local {
			return p, as, fmt.Errorf("dst= is required for in=local")
		}
		a, ok := h.Iface(p.In).Primary(v6)
		if !ok {
			return p, as, fmt.Errorf("in=%s: no address of this host on %s to send to; give dst= (or --iface %s=ADDR/LEN)", p.In, p.In, p.In)
		}
		p.Dst = a
		if !containsAssumption(h.Assumptions, a.String()) {
			as = append(as, fmt.Sprintf("dst %s: this host's address on %s", a, p.In))
		}
	}
	if !p.Src.IsValid() && !p.Local {
		src, why := outsideSource(h, p.In, p.Dst)
		p.Src = src
		as = append(as, why)
	}
	return p, as, nil
}

func containsAssumption(as []string, s string) bool {
	for _, a := range as {
		if strings.Contains(a, s) {
			return true
		}
	}
	return false
}

// outsideSource picks a representative source for a packet arriving on
// in: a machine behind a bridge port, a neighbour on the uplink's subnet,
// else a documentation address.
func outsideSource(h *Host, in string, dst netip.Addr) (netip.Addr, string) {
	ifc := h.Iface(in)
	if ifc != nil && ifc.Bridge {
		for _, pt := range ifc.Ports {
			for _, a := range pt.Addrs {
				if a.Is4() == dst.Is4() {
					return a, fmt.Sprintf("src %s taken as the sender (a machine behind %s port %s)", a, in, pt.Name)
				}
			}
		}
	}
	if ifc != nil {
		for _, pf := range ifc.Addrs {
			if pf.Addr().Is4() != dst.Is4() || pf.Bits() > 29 {
				continue
			}
			a := pf.Masked().Addr()
			for i := 0; i < 7; i++ {
				a = a.Next()
			}
			if h.IsLocal(a) {
				a = a.Next()
			}
			if ifc.Bridge {
				return a, fmt.Sprintf("src %s taken as a representative sender on %s", a, in)
			}
			return a, fmt.Sprintf("src %s taken as a representative outside source arriving on %s", a, in)
		}
	}
	a := netip.MustParseAddr("192.0.2.7")
	if dst.Is6() {
		a = netip.MustParseAddr("2001:db8::7")
	}
	return a, fmt.Sprintf("src %s taken as a representative outside source", a)
}
