package parser

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// servicesText is the service table iptables resolves names from on the
// Debian systems dfw is checked against (netbase's /etc/services, its tcp,
// udp and sctp entries). It is embedded, not read at run time, so that a
// ruleset means the same on every machine.
//
//go:embed services.txt
var servicesText string

// serviceTable maps "NAME/PROTO" to its port, for every name and alias;
// the first entry wins, as in getservbyname(3).
var serviceTable = sync.OnceValue(func() map[string]uint16 {
	t := map[string]uint16{}
	for _, line := range strings.Split(servicesText, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		port, proto, _ := strings.Cut(f[1], "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			panic("services.txt: bad port in " + line)
		}
		for _, name := range append(f[:1:1], f[2:]...) {
			if _, ok := t[name+"/"+proto]; !ok {
				t[name+"/"+proto] = uint16(n)
			}
		}
	}
	return t
})

// svcTCPorUDP is the protocol of a service name that iptables resolves
// with getaddrinfo(3) and no hints (xtables_getportbyname: udp, dccp and
// conntrack ports, NAT ports): the name's tcp entry, else its udp one.
const svcTCPorUDP = ""

// svcAny resolves a name of any protocol, for printing a value the
// builder has already checked for its protocol (the table gives a name
// the same port in each protocol that has it).
const svcAny = "*"

// servicePort resolves a service name as iptables does for proto: "tcp",
// "udp", "sctp", … as getservbyname(name, proto) (case-sensitive; dccp and
// udplite have no entries), svcTCPorUDP as getaddrinfo(3).
func servicePort(name, proto string) (uint16, bool) {
	t := serviceTable()
	if proto == svcAny {
		for _, pr := range []string{"tcp", "udp", "sctp"} {
			if p, ok := t[name+"/"+pr]; ok {
				return p, true
			}
		}
		return 0, false
	}
	if proto == svcTCPorUDP {
		if p, ok := t[name+"/tcp"]; ok {
			return p, true
		}
		proto = "udp"
	}
	p, ok := t[name+"/"+proto]
	return p, ok
}

// svcProtoOf is the service protocol of a port match module's --sport
// and --dport (see ports and udpPortSet).
func svcProtoOf(module string) string {
	switch module {
	case "tcp", "sctp":
		return module
	}
	return svcTCPorUDP
}

// svcProtoName names a service protocol in messages.
func svcProtoName(proto string) string {
	if proto == svcTCPorUDP {
		return "tcp or udp"
	}
	return proto
}

// protocols maps protocol names to numbers, as /etc/protocols and iptables'
// built-in table do. "icmp6" is in neither: iptables refuses -p icmp6
// (the module is -m icmp6, the protocol ipv6-icmp or icmpv6).
var protocols = map[string]uint8{
	"all": 0, "ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4, "st": 5,
	"tcp": 6, "egp": 8, "igp": 9, "pup": 12, "udp": 17, "hmp": 20, "xns-idp": 22,
	"rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36, "ddp": 37, "idpr-cmtp": 38,
	"ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46,
	"gre": 47, "esp": 50, "ah": 51, "skip": 57, "ipv6-icmp": 58, "icmpv6": 58,
	"ipv6-nonxt": 59, "ipv6-opts": 60, "rspf": 73, "vmtp": 81,
	"eigrp": 88, "ospf": 89, "ospfigp": 89, "ax.25": 93, "ipip": 94, "etherip": 97,
	"encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "isis": 124,
	"sctp": 132, "fc": 133, "mobility-header": 135, "udplite": 136, "mpls-in-ip": 137,
	"manet": 138, "hip": 139, "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143,
	"mh": 135, "ipv6-mh": 135,
}

// protoNames are the names iptables-save prints for protocol numbers:
// iptables 1.8.9 prints tcp, udp, icmp, … from its own table and every
// other number by getprotobynumber(3), whose names are those of
// /etc/protocols (Debian's netbase): 135 prints as mobility-header, not
// mh. A number without a name prints as the number.
var protoNames = map[uint8]string{
	0: "all", 1: "icmp", 2: "igmp", 3: "ggp", 4: "ipencap", 5: "st", 6: "tcp", 8: "egp",
	9: "igp", 12: "pup", 17: "udp", 20: "hmp", 22: "xns-idp", 27: "rdp", 29: "iso-tp4",
	33: "dccp", 36: "xtp", 37: "ddp", 38: "idpr-cmtp", 41: "ipv6", 43: "ipv6-route",
	44: "ipv6-frag", 45: "idrp", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah", 57: "skip",
	58: "ipv6-icmp", 59: "ipv6-nonxt", 60: "ipv6-opts", 73: "rspf", 81: "vmtp",
	88: "eigrp", 89: "ospf", 93: "ax.25", 94: "ipip", 97: "etherip", 98: "encap",
	103: "pim", 108: "ipcomp", 112: "vrrp", 115: "l2tp", 124: "isis", 132: "sctp",
	133: "fc", 135: "mobility-header", 136: "udplite", 137: "mpls-in-ip", 138: "manet",
	139: "hip", 140: "shim6", 141: "wesp", 142: "rohc", 143: "ethernet",
}

// protoName gives the name iptables-save prints for a protocol number.
func protoName(n uint8) string {
	if s, ok := protoNames[n]; ok {
		return s
	}
	return strconv.Itoa(int(n))
}

// parseUint parses an unsigned integer as xtables_strtoui does: strtoul
// in base 0 (decimal, 0x hex, 0 octal; no 0b or 0o prefix, no digit
// separators), after optional blanks and a '+', never a '-', within max.
func parseUint(s string, max uint64) (uint64, error) {
	return parseUintBase(s, 0, max)
}

// parseUintBase is parseUint in a given base (10 for the option types
// xtables reads in decimal).
func parseUintBase(s string, base int, max uint64) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	d := strings.TrimLeft(s, " \t\n\v\f\r")
	d = strings.TrimPrefix(d, "+")
	if d == "" || strings.ContainsAny(d, "_+-") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if base == 0 && len(d) > 1 && d[0] == '0' && (d[1] == 'b' || d[1] == 'B' || d[1] == 'o' || d[1] == 'O') {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseUint(d, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v > max {
		return 0, fmt.Errorf("%s is out of range (at most %d)", s, max)
	}
	return v, nil
}

// xtNumber reads the number at the start of s as xtables_strtoui does
// when it is given an end pointer (libxt_NAT's ports): blanks and a '+'
// before it (a '-' refuses it), then strtoul's base 0 (0x followed by a
// hex digit: hexadecimal; a leading 0: octal; else decimal) over the
// longest run of digits; rest is what follows. ok is false when no digit
// was read or the value lies outside [min, max].
func xtNumber(s string, min, max uint64) (v uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	if i < len(s) && s[i] == '+' {
		i++
	}
	base, digit := uint64(10), func(c byte) (uint64, bool) { return uint64(c - '0'), c >= '0' && c <= '9' }
	switch {
	case i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && isHexDigit(s[i+2]):
		i += 2
		base, digit = 16, func(c byte) (uint64, bool) {
			switch {
			case c >= '0' && c <= '9':
				return uint64(c - '0'), true
			case c >= 'a' && c <= 'f':
				return uint64(c-'a') + 10, true
			case c >= 'A' && c <= 'F':
				return uint64(c-'A') + 10, true
			}
			return 0, false
		}
	case i < len(s) && s[i] == '0':
		base, digit = 8, func(c byte) (uint64, bool) { return uint64(c - '0'), c >= '0' && c <= '7' }
	}
	start, over := i, false
	for ; i < len(s); i++ {
		d, isDigit := digit(s[i])
		if !isDigit {
			break
		}
		if v > (1<<64-1-d)/base {
			over = true // strtoul's ERANGE
		}
		v = v*base + d
	}
	if i == start || over || v < min || v > max {
		return 0, s, false
	}
	return v, s[i:], true
}

// parsePort parses a port number or a service name of proto (see
// servicePort).
//
// A number is read as xtables reads it: where a name is looked up for a
// protocol (tcp, sctp, multiport: xtables_parse_port), with base 0 as
// strtoul does, so 010 is 8 and 0x10 is 16; where it is looked up for tcp
// or udp (udp, dccp, conntrack: the port-range option type), in decimal.
func parsePort(s, proto string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	base := 0
	if proto == svcTCPorUDP {
		base = 10
	}
	// A number first, as xtables tries it: "+80" is port 80.
	if v, err := parseUintBase(s, base, 65535); err == nil {
		return uint16(v), nil
	}
	if p, ok := servicePort(s, proto); ok {
		return p, nil
	}
	if c := strings.TrimLeft(s, " \t+"); c == "" || (c[0] >= '0' && c[0] <= '9') {
		return 0, fmt.Errorf("invalid port %q (expected 0-65535 or a service name)", s)
	}
	return 0, fmt.Errorf("unknown service name %q for %s: iptables refuses it (expected a port number 0-65535 or a name /etc/services lists for %s)", s, svcProtoName(proto), svcProtoName(proto))
}

// parsePortRange parses "P", "LO:HI", ":HI" or "LO:", names being of
// proto.
func parsePortRange(s, proto string) (Range, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	if !isRange {
		p, err := parsePort(s, proto)
		return Range{uint32(p), uint32(p)}, err
	}
	r := Range{0, 65535}
	if lo != "" {
		p, err := parsePort(lo, proto)
		if err != nil {
			return r, err
		}
		r.Lo = uint32(p)
	}
	if hi != "" {
		p, err := parsePort(hi, proto)
		if err != nil {
			return r, err
		}
		r.Hi = uint32(p)
	}
	if r.Lo > r.Hi {
		return r, fmt.Errorf("invalid port range %q: %d is greater than %d (expected LOW:HIGH)", s, r.Lo, r.Hi)
	}
	return r, nil
}

// parsePortList parses multiport's "P[,P|LO:HI]…" (at most 15 ports, a range
// counting two), names being of proto.
func parsePortList(s, proto string) ([]Range, error) {
	var out []Range
	n := 0
	for _, part := range strings.Split(s, ",") {
		// libxt_multiport reads both ends of a range: "80:" and ":80"
		// are refused ("invalid port/service `'"), where --dport takes
		// them.
		if lo, hi, ok := strings.Cut(part, ":"); ok && (lo == "" || hi == "") {
			return nil, fmt.Errorf("invalid port range %q: multiport needs both ends, LOW:HIGH", part)
		}
		r, err := parsePortRange(part, proto)
		if err != nil {
			return nil, err
		}
		if strings.Contains(part, ":") && r.Lo >= r.Hi {
			return nil, fmt.Errorf("invalid port range %q: multiport needs LOW:HIGH with LOW below HIGH (write a single port as %d)", part, r.Lo)
		}
		out = append(out, r)
		n++
		if strings.Contains(part, ":") {
			n++
		}
	}
	if n > 15 {
		return nil, fmt.Errorf("too many ports in %q (multiport takes at most 15, a range counting as two)", s)
	}
	return out, nil
}

// parseAddrMask parses "ADDR", "ADDR/LEN" or "ADDR/MASK" for the family. The
// address is returned masked, as the kernel stores it.
func parseAddrMask(s string, fam Family) (addr, mask netip.Addr, err error) {
	a, m, hasMask := strings.Cut(s, "/")
	addr, err = netip.ParseAddr(a)
	if err != nil && fam != IPv6 {
		if v4, ok := xtablesIPv4(a, false); ok {
			addr, err = v4, nil
		} else if v4, ok := inetAton(a); ok {
			// What xtables' own reading refuses, it asks getaddrinfo,
			// which reads a number as inet_aton does: 16909060 and
			// 0x01020304 are 1.2.3.4, 1.2.300 is 1.2.1.44 (the kernel
			// oracle saw iptables-save print them so).
			addr, err = v4, nil
		}
	}
	if err != nil {
		if looksLikeHostname(a) {
			return addr, mask, fmt.Errorf("%w: %q (dfw does not resolve names; write the address)", ErrHostname, a)
		}
		return addr, mask, fmt.Errorf("invalid address %q (expected an %s address, optionally with /LEN or /MASK)", a, fam)
	}
	if addr.Zone() != "" {
		// netip takes fe80::1%eth0; iptables looks it up as a host name.
		return addr, mask, fmt.Errorf("invalid address %q: iptables takes no %%zone (expected an %s address, optionally with /LEN or /MASK)", a, fam)
	}
	if fam == IPv4 {
		addr = addr.Unmap()
	}
	if (fam == IPv6) != addr.Is6() {
		return addr, mask, fmt.Errorf("%w: %q is an %s address in an %s ruleset", ErrFamily, a, famOf(addr), fam)
	}
	bits := addr.BitLen()
	// xtables reads a mask with a dot (IPv4) or a colon (IPv6) as an
	// address, anything else as a prefix length by xtables_strtoui: /010
	// is /8, /08 is refused.
	switch {
	case !hasMask:
		mask = prefixMask(bits, bits)
	case bits == 32 && strings.Contains(m, "."), bits == 128 && strings.Contains(m, ":"):
		var ok bool
		if bits == 32 {
			mask, ok = xtablesIPv4(m, true)
		} else {
			mask, err = netip.ParseAddr(m)
			ok = err == nil && mask.Is6()
		}
		if !ok {
			return addr, mask, fmt.Errorf("invalid mask %q (expected a prefix length 0-%d or a dotted mask)", m, bits)
		}
	default:
		n, e := parseUint(m, 1<<32)
		if e != nil {
			return addr, mask, fmt.Errorf("invalid mask %q (expected a prefix length 0-%d or a dotted mask)", m, bits)
		}
		if n > uint64(bits) {
			return addr, mask, fmt.Errorf("invalid prefix length /%s (expected 0-%d)", m, bits)
		}
		mask = prefixMask(int(n), bits)
	}
	return andAddr(addr, mask), mask, nil
}

// xtablesIPv4 reads an IPv4 address as xtables' numeric_to_ipaddr does:
// each part a number 0-255 by xtables_strtoui (010 is 8, 0x0a is 10, 08
// is refused). An address of one to three parts is completed with zeros
// ("autocomplete, this is a network address"): "0" is 0.0.0.0, "10"
// 10.0.0.0, "192.168" 192.168.0.0, so "-s 0/0" and "-d 10/8" load. A mask
// needs all four parts.
func xtablesIPv4(s string, isMask bool) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || (isMask && len(parts) != 4) {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		n, err := parseUint(p, 255)
		if err != nil {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

func famOf(a netip.Addr) Family {
	if a.Is6() {
		return IPv6
	}
	return IPv4
}

func looksLikeHostname(s string) bool {
	if s == "" || strings.ContainsAny(s, ":") {
		return false
	}
	hasLetter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			hasLetter = true
		case c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return hasLetter
}

// prefixMask returns the mask address for a prefix length.
func prefixMask(n, bits int) netip.Addr {
	var b [16]byte
	for i := 0; i < n; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if bits == 32 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// andAddr returns a & m (both of one family).
func andAddr(a, m netip.Addr) netip.Addr {
	if a.Is4() {
		ab, mb := a.As4(), m.As4()
		for i := range ab {
			ab[i] &= mb[i]
		}
		return netip.AddrFrom4(ab)
	}
	ab, mb := a.As16(), m.As16()
	for i := range ab {
		ab[i] &= mb[i]
	}
	return netip.AddrFrom16(ab)
}

// MaskLen returns the prefix length of a contiguous mask, or -1.
func MaskLen(m netip.Addr) int {
	var b []byte
	if m.Is4() {
		a := m.As4()
		b = a[:]
	} else {
		a := m.As16()
		b = a[:]
	}
	n := 0
	seenZero := false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				if seenZero {
					return -1
				}
				n++
			} else {
				seenZero = true
			}
		}
	}
	return n
}

// MatchesAddr reports whether a lies in addr/mask.
func MatchesAddr(a, addr, mask netip.Addr) bool {
	if a.BitLen() != addr.BitLen() {
		return false
	}
	return andAddr(a, mask) == addr
}

// formatAddrMask prints addr/mask as iptables-save does: /LEN for a
// contiguous mask, else the dotted mask.
func formatAddrMask(addr, mask netip.Addr) string {
	if n := MaskLen(mask); n >= 0 {
		return fmt.Sprintf("%s/%d", addr, n)
	}
	return addr.String() + "/" + mask.String()
}

// bitName names one bit of a flag set (conntrack states, statuses, address
// types, TCP flags), in the order iptables-save prints them.
type bitName[T ~uint8 | ~uint16] struct {
	name string
	bit  T
}

// parseBits parses a comma-separated list of names (case-insensitive) into
// a bit set; allowed filters the names this option accepts. With prefix,
// a name may be abbreviated, the first name of the list it abbreviates
// winning, as the conntrack, state and addrtype extensions read them
// (strncasecmp over the length given: --ctstate EST,REL is
// ESTABLISHED,RELATED, --dst-type B is BROADCAST); an empty name is
// refused either way.
func parseBits[T ~uint8 | ~uint16](s string, names []bitName[T], prefix bool, allowed func(T) bool, what, expected string) (T, error) {
	var m T
	for _, part := range strings.Split(s, ",") {
		found := false
		for _, n := range names {
			same := strings.EqualFold(part, n.name)
			if prefix && !same {
				same = part != "" && len(part) < len(n.name) && strings.EqualFold(n.name[:len(part)], part)
			}
			if same && (allowed == nil || allowed(n.bit)) {
				m |= n.bit
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("bad %s %q (expected %s)", what, part, expected)
		}
	}
	return m, nil
}

// formatBits prints a bit set as a comma-separated list of names.
func formatBits[T ~uint8 | ~uint16](m T, names []bitName[T]) string {
	var parts []string
	for _, n := range names {
		if m&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

var stateNames = []bitName[CTState]{
	{"INVALID", CTInvalid}, {"NEW", CTNew}, {"RELATED", CTRelated},
	{"ESTABLISHED", CTEstablished}, {"UNTRACKED", CTUntracked},
	{"SNAT", CTSNAT}, {"DNAT", CTDNAT},
}

func parseStates(s string, ctOnly bool) (CTState, error) {
	want := "INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED"
	allowed := func(b CTState) bool { return b != CTSNAT && b != CTDNAT }
	if ctOnly {
		want += ", SNAT, DNAT"
		allowed = nil
	}
	return parseBits(s, stateNames, true, allowed, "state", "a comma-separated list of "+want)
}

// FormatStates prints a state mask as iptables-save does.
func FormatStates(m CTState) string { return formatBits(m, stateNames) }

var statusNames = []bitName[CTStatus]{
	{"NONE", CTStatusNone}, {"EXPECTED", CTStatusExpected}, {"SEEN_REPLY", CTStatusSeenReply},
	{"ASSURED", CTStatusAssured}, {"CONFIRMED", CTStatusConfirmed},
}

func parseStatus(s string) (CTStatus, error) {
	return parseBits(s, statusNames, true, nil, "status", "NONE, EXPECTED, SEEN_REPLY, ASSURED or CONFIRMED")
}

var addrTypeNames = []bitName[AddrType]{
	{"UNSPEC", ATUnspec}, {"UNICAST", ATUnicast}, {"LOCAL", ATLocal},
	{"BROADCAST", ATBroadcast}, {"ANYCAST", ATAnycast}, {"MULTICAST", ATMulticast},
	{"BLACKHOLE", ATBlackhole}, {"UNREACHABLE", ATUnreachable}, {"PROHIBIT", ATProhibit},
	{"THROW", ATThrow}, {"NAT", ATNAT}, {"XRESOLVE", ATXResolve},
}

func parseAddrTypes(s string) (AddrType, error) {
	return parseBits(s, addrTypeNames, true, nil, "address type", "UNICAST, LOCAL, BROADCAST, MULTICAST, …")
}

var tcpFlagNames = []bitName[uint8]{
	{"FIN", FlagFIN}, {"SYN", FlagSYN}, {"RST", FlagRST}, {"PSH", FlagPSH},
	{"ACK", FlagACK}, {"URG", FlagURG}, {"ECE", FlagECE}, {"CWR", FlagCWR},
}

func parseTCPFlags(s string) (uint8, error) {
	switch strings.ToUpper(s) {
	case "ALL":
		// libxt_tcp's ALL is FIN,SYN,RST,PSH,ACK,URG (0x3f): the ECN
		// bits are not in it.
		return 0x3f, nil
	case "NONE":
		return 0, nil
	}
	// libxt_tcp has no names for ECE and CWR: it refuses them.
	noECN := func(f uint8) bool { return f&(FlagECE|FlagCWR) == 0 }
	return parseBits(s, tcpFlagNames, false, noECN, "TCP flag", "FIN, SYN, RST, PSH, ACK, URG, ALL or NONE; iptables has no ECE or CWR")
}

// FormatTCPFlags prints a flag mask as iptables-save does.
func FormatTCPFlags(m uint8) string {
	if m == 0 {
		return "NONE"
	}
	return formatBits(m, tcpFlagNames)
}

// icmpName is a name of an ICMP type (and code range) as the ip(6)tables
// extension lists it.
type icmpName struct {
	name        string
	typ, lo, hi int
}

// icmpTypes are libxt_icmp's names, in its order: an abbreviation is
// looked up in it (lookupICMP).
var icmpTypes = []icmpName{
	{"any", 255, 0, 255},
	{"echo-reply", 0, 0, 255}, {"pong", 0, 0, 255},
	{"destination-unreachable", 3, 0, 255}, {"network-unreachable", 3, 0, 0},
	{"host-unreachable", 3, 1, 1}, {"protocol-unreachable", 3, 2, 2},
	{"port-unreachable", 3, 3, 3}, {"fragmentation-needed", 3, 4, 4},
	{"source-route-failed", 3, 5, 5}, {"network-unknown", 3, 6, 6},
	{"host-unknown", 3, 7, 7}, {"network-prohibited", 3, 9, 9},
	{"host-prohibited", 3, 10, 10}, {"TOS-network-unreachable", 3, 11, 11},
	{"TOS-host-unreachable", 3, 12, 12}, {"communication-prohibited", 3, 13, 13},
	{"host-precedence-violation", 3, 14, 14}, {"precedence-cutoff", 3, 15, 15},
	{"source-quench", 4, 0, 255}, {"redirect", 5, 0, 255},
	{"network-redirect", 5, 0, 0}, {"host-redirect", 5, 1, 1},
	{"TOS-network-redirect", 5, 2, 2}, {"TOS-host-redirect", 5, 3, 3},
	{"echo-request", 8, 0, 255}, {"ping", 8, 0, 255},
	{"router-advertisement", 9, 0, 255}, {"router-solicitation", 10, 0, 255},
	{"time-exceeded", 11, 0, 255}, {"ttl-exceeded", 11, 0, 255},
	{"ttl-zero-during-transit", 11, 0, 0}, {"ttl-zero-during-reassembly", 11, 1, 1},
	{"parameter-problem", 12, 0, 255}, {"ip-header-bad", 12, 0, 0},
	{"required-option-missing", 12, 1, 1}, {"timestamp-request", 13, 0, 255},
	{"timestamp-reply", 14, 0, 255}, {"address-mask-request", 17, 0, 255},
	{"address-mask-reply", 18, 0, 255},
}

// icmp6Types are libip6t_icmp6's names, in its order: it has none for the
// MLD types (130-132), which take numbers.
var icmp6Types = []icmpName{
	{"destination-unreachable", 1, 0, 255}, {"no-route", 1, 0, 0},
	{"communication-prohibited", 1, 1, 1}, {"beyond-scope", 1, 2, 2},
	{"address-unreachable", 1, 3, 3}, {"port-unreachable", 1, 4, 4},
	{"failed-policy", 1, 5, 5}, {"reject-route", 1, 6, 6},
	{"packet-too-big", 2, 0, 255}, {"time-exceeded", 3, 0, 255},
	{"ttl-exceeded", 3, 0, 255}, {"ttl-zero-during-transit", 3, 0, 0},
	{"ttl-zero-during-reassembly", 3, 1, 1}, {"parameter-problem", 4, 0, 255},
	{"bad-header", 4, 0, 0}, {"unknown-header-type", 4, 1, 1},
	{"unknown-option", 4, 2, 2}, {"echo-request", 128, 0, 255},
	{"ping", 128, 0, 255}, {"echo-reply", 129, 0, 255},
	{"pong", 129, 0, 255}, {"router-solicitation", 133, 0, 255},
	{"router-advertisement", 134, 0, 255}, {"neighbour-solicitation", 135, 0, 255},
	{"neighbor-solicitation", 135, 0, 255}, {"neighbour-advertisement", 136, 0, 255},
	{"neighbor-advertisement", 136, 0, 255}, {"redirect", 137, 0, 255},
}

// lookupICMP finds the name s abbreviates, as ip(6)tables does: a
// case-insensitive prefix of exactly one name of the table ("echo-req" is
// echo-request; "echo" is refused, as it abbreviates echo-reply and
// echo-request). It returns the names s abbreviates when there are several.
func lookupICMP(table []icmpName, s string) (icmpName, []string, bool) {
	var found icmpName
	var names []string
	for _, n := range table {
		if len(s) <= len(n.name) && strings.EqualFold(n.name[:len(s)], s) {
			found = n
			names = append(names, n.name)
		}
	}
	return found, names, len(names) == 1
}

// parseICMPType parses "any" (IPv4 only), a name, "T" or "T/C". In IPv4,
// type 255 is "any": the kernel's icmp match takes every ICMP packet for
// it, whatever the code.
func parseICMPType(s string, v6 bool) (m ICMPMatch, err error) {
	m.V6 = v6
	table, kind := icmpTypes, "ICMP"
	if v6 {
		table, kind = icmp6Types, "ICMPv6"
	}
	switch n, names, ok := lookupICMP(table, s); {
	case ok && !v6 && n.typ == 255:
		m.Any = true
		m.Code = Range{0, 255}
		return m, nil
	case ok:
		m.Type = uint8(n.typ)
		m.Code = Range{uint32(n.lo), uint32(n.hi)}
		return m, nil
	case len(names) > 1:
		return m, fmt.Errorf("ambiguous %s type %q: it abbreviates %s; %s refuses it (expected one of them written out)",
			kind, s, strings.Join(names, ", "), map[bool]string{false: "iptables", true: "ip6tables"}[v6])
	}
	// Numbers in base 0, as xtables_strtoui reads them: 010 is 8, 0x8
	// is 8, 08 is refused.
	t, c, hasCode := strings.Cut(s, "/")
	tv, err := strconv.ParseUint(t, 0, 8)
	if err != nil {
		hint := ""
		if v6 {
			switch l := strings.ToLower(s); {
			case l == "any":
				hint = "; ip6tables has no \"any\": leave --icmpv6-type out to match every type"
			case strings.HasPrefix(l, "mld-"):
				hint = "; ip6tables has no names for the MLD types: write 130, 131 or 132"
			}
			return m, fmt.Errorf("unknown ICMPv6 type %q: ip6tables refuses it (expected a name such as echo-request, a number 0-255, or TYPE/CODE%s)", s, hint)
		}
		return m, fmt.Errorf("invalid ICMP type %q (expected a name such as echo-request, a number 0-255, or TYPE/CODE)", s)
	}
	m.Type = uint8(tv)
	m.Code = Range{0, 255}
	if hasCode {
		cv, err := strconv.ParseUint(c, 0, 8)
		if err != nil {
			return m, fmt.Errorf("invalid ICMP code in %q (expected 0-255)", s)
		}
		m.Code = Range{uint32(cv), uint32(cv)}
	}
	if !v6 && m.Type == 0xff {
		m.Any = true
		m.Code = Range{0, 255}
	}
	return m, nil
}

// parseMark parses "VALUE[/MASK]".
func parseMark(s string) (value, mask uint32, err error) {
	v, m, hasMask := strings.Cut(s, "/")
	vv, err := parseUint(v, 0xffffffff)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid mark %q: %v (expected VALUE[/MASK])", s, err)
	}
	mask = 0xffffffff
	if hasMask {
		mv, err := parseUint(m, 0xffffffff)
		if err != nil {
			return 0, 0, fmt.Errorf("invalid mask in %q: %v (expected VALUE[/MASK])", s, err)
		}
		mask = uint32(mv)
	}
	return uint32(vv), mask, nil
}

// parseMAC parses "XX:XX:XX:XX:XX:XX".
func parseMAC(s string) (mac [6]byte, err error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, fmt.Errorf("invalid MAC address %q (expected XX:XX:XX:XX:XX:XX)", s)
	}
	for i, p := range parts {
		v, e := strconv.ParseUint(p, 16, 8)
		if e != nil || len(p) == 0 || len(p) > 2 {
			return mac, fmt.Errorf("invalid MAC address %q (expected XX:XX:XX:XX:XX:XX)", s)
		}
		mac[i] = byte(v)
	}
	return mac, nil
}

// errEmptyRange is parseNumRange's error for LO:HI with LO above HI, which
// xtables' range types keep (the range then holds no value); the range is
// returned with it.
var errEmptyRange = errors.New("empty range")

// parseNumRange parses "N" or "LO:HI" within max.
func parseNumRange(s string, max uint64) (Range, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	if !isRange {
		v, err := parseUint(s, max)
		return Range{uint32(v), uint32(v)}, err
	}
	r := Range{0, uint32(max)}
	if lo != "" {
		v, err := parseUint(lo, max)
		if err != nil {
			return r, err
		}
		r.Lo = uint32(v)
	}
	if hi != "" {
		v, err := parseUint(hi, max)
		if err != nil {
			return r, err
		}
		r.Hi = uint32(v)
	}
	if r.Lo > r.Hi {
		return r, fmt.Errorf("%w %q: %d is greater than %d", errEmptyRange, s, r.Lo, r.Hi)
	}
	return r, nil
}

// parseNetmapTo reads NETMAP's --to ADDR[/MASK] as libxt_NETMAP does (an
// xtables host/mask option), which is not the grammar of -s and -d: the
// mask is a prefix length (0-32 or 0-128, read as xtables_strtoui reads
// a number: /010 is /8, leading blanks allowed), else a mask address
// (IPv4 as inet_aton reads one: /255 is 0.0.0.255, /4294967040 is
// 255.255.255.0; IPv6 as inet_pton); a mask whose bits are not
// contiguous counts as the whole address (/255.0.255.0, /33 and /1.2 load
// as /32). The network is the address under the mask: 10.1.2.3/24 is
// 10.1.2.0/24, as iptables-save shows it. The kernel oracle saw all of it
// on both backends.
func parseNetmapTo(s string, fam Family) (netip.Prefix, error) {
	a, m, hasMask := strings.Cut(s, "/")
	addr, _, err := parseAddrMask(a, fam)
	if err != nil {
		return netip.Prefix{}, err
	}
	bits := addr.BitLen()
	plen := bits
	if hasMask {
		n, _, err := plenMask(m, bits)
		if err != nil {
			return netip.Prefix{}, err
		}
		plen = n
	}
	return netip.PrefixFrom(addr, plen).Masked(), nil
}

// plenMask reads a prefix length as xtables reads one where a mask may
// stand instead (NETMAP's --to, --connlimit-mask, --hashlimit-srcmask):
// a number as xtables_strtoui reads it, from 0 to bits, else a mask
// address (IPv4 as inet_aton reads it, IPv6 as inet_pton), whose length
// it is. A mask whose bits are not contiguous gives bits, and contiguous
// false: NETMAP and connlimit take the whole address then, the kernel
// refuses it for hashlimit.
func plenMask(s string, bits int) (plen int, contiguous bool, err error) {
	if n, err := parseUint(s, uint64(bits)); err == nil {
		return int(n), true, nil
	}
	var mask netip.Addr
	ok := false
	if bits == 32 {
		mask, ok = inetAton(s)
	} else if x, err := netip.ParseAddr(s); err == nil && x.Is6() && x.Zone() == "" {
		mask, ok = x, true
	}
	if !ok {
		return 0, false, fmt.Errorf("invalid mask %q (expected a prefix length 0-%d or a mask; iptables: neither a valid network mask nor valid CIDR)", s, bits)
	}
	if n := MaskLen(mask); n >= 0 {
		return n, true, nil
	}
	return bits, false, nil
}

// inetAton reads an IPv4 address as inet_aton does, without trailing
// text: one to four parts, each decimal, octal (0…) or hexadecimal (0x…),
// the last filling the bytes left (a: 32 bits, a.b: b 24 bits, a.b.c: c
// 16 bits).
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		if p == "" || p[0] < '0' || p[0] > '9' {
			return netip.Addr{}, false
		}
		max := uint64(255)
		if i == len(parts)-1 {
			max = 1<<(8*(5-len(parts))) - 1
		}
		n, err := strconv.ParseUint(p, 0, 64)
		if err != nil || n > max || (len(p) > 1 && p[0] == '0' && (p[1] == 'b' || p[1] == 'B' || p[1] == 'o' || p[1] == 'O')) {
			return netip.Addr{}, false
		}
		if i == len(parts)-1 {
			v = v<<(8*(5-len(parts))) | n
		} else {
			v = v<<8 | n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// bits is the length of the family's addresses.
func (f Family) bits() int {
	if f == IPv6 {
		return 128
	}
	return 32
}

// stringPattern reads -m string's --hex-string as libxt_string does: "|"
// opens and closes blocks of hexadecimal byte values (spaces between them
// allowed), a backslash outside a block takes the next character as it
// is, and the character right after a "|" is data whatever it is. Patterns
// of more than 128 bytes are refused, as iptables refuses them.
func stringPattern(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("an empty pattern (expected at least one character)")
	}
	var out []byte
	hex, literal := false, false
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && !hex:
			literal = true
		case s[i] == '\\':
			return nil, fmt.Errorf("a backslash inside a |hex| block (iptables: \"Cannot include literals in hex data\")")
		case s[i] == '|':
			if hex {
				hex = false
			} else {
				hex = true
				for i+1 < len(s) && s[i+1] == ' ' {
					i++
				}
			}
			if i+1 >= len(s) {
				return checkPattern(out)
			}
			i++
		}
		switch {
		case literal:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("a backslash at the end (iptables: \"Bad literal placement at end of string\")")
			}
			out = append(out, s[i+1])
			i += 2
			literal = false
		case hex:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("an odd number of hex digits")
			}
			if i+2 >= len(s) {
				return nil, fmt.Errorf("a |hex| block not closed, or an odd number of digits in it (iptables: \"Invalid hex block\")")
			}
			if !isHex(s[i]) || !isHex(s[i+1]) {
				return nil, fmt.Errorf("%q in a |hex| block (expected hexadecimal digits)", s[i:i+2])
			}
			v, _ := strconv.ParseUint(s[i:i+2], 16, 8)
			out = append(out, byte(v))
			if s[i+2] == ' ' {
				i += 3
			} else {
				i += 2
			}
		default:
			out = append(out, s[i])
			i++
		}
		if len(out) > 128 {
			break
		}
	}
	return checkPattern(out)
}

func checkPattern(p []byte) ([]byte, error) {
	if len(p) == 0 {
		// --hex-string "|": the kernel refuses an empty pattern.
		return nil, fmt.Errorf("an empty pattern (expected at least one byte)")
	}
	if len(p) > 128 {
		return nil, fmt.Errorf("a pattern of more than 128 bytes (iptables: \"STRING too long\")")
	}
	return p, nil
}

// printablePattern reports whether libxt_string saves p as --string:
// every byte printable ASCII, and the last not a backslash.
func printablePattern(p []byte) bool {
	for _, c := range p {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(p) > 0 && p[len(p)-1] != '\\'
}
