package parser

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// This file gives the options of a match or target as iptables-save
// prints them (Rule.Spec): the value the kernel holds, not the spelling
// of the input. iptables resolves names when it loads a rule and prints
// numbers back: a service name as its port ("--dport ssh" is "--dport
// 22"), an ICMP type name as TYPE[/CODE], a protocol of conntrack's
// --ctproto as its number, a mark, TOS or DSCP value in hex, MARK's
// forms as --set-xmark VALUE/MASK. Options print in the order of the
// extension's save function, and those that match every packet (a port
// range 0:65535, an empty --tcp-flags mask) are left out. Every rule here
// was read from iptables 1.8.9's iptables-save (nft and legacy print the
// same) after loading the rule; TestKernelSave pins them.
//
// Values come from the typed specs (what the model means) where the
// spec holds them, otherwise from the option as written with the same
// parse functions the builders use; an option whose value does not parse
// prints as written.

// saveMatchName is the name iptables-save prints for a match module.
func saveMatchName(name string) string {
	if name == "icmpv6" {
		return "icmp6"
	}
	return name
}

// optionOrder is the order in which iptables-save prints a module's
// options, where it differs from the order of the module's definition.
var optionOrder = map[string][]string{
	"tcp": {"sport", "dport", "tcp-option", "tcp-flags", "syn"},
	"LOG": {"log-prefix", "log-level", "log-tcp-sequence", "log-tcp-options", "log-ip-options", "log-uid", "log-macdecode"},
}

// sortOptions orders opts as iptables-save prints them: by the order of
// optionOrder, else of the definition; names not there keep their place
// after the known ones.
func sortOptions(module string, defs []optDef, opts []Option) {
	rank := map[string]int{}
	if order, ok := optionOrder[module]; ok {
		for i, n := range order {
			rank[n] = i
		}
	} else {
		for i, d := range defs {
			rank[d.names[0]] = i
		}
	}
	key := func(o Option) int {
		if r, ok := rank[o.Name]; ok {
			return r
		}
		return len(rank)
	}
	sort.SliceStable(opts, func(i, j int) bool { return key(opts[i]) < key(opts[j]) })
}

// fmtRange prints a range as iptables-save does: N, or LO:HI.
func fmtRange(r Range) string {
	if r.Lo == r.Hi {
		return strconv.FormatUint(uint64(r.Lo), 10)
	}
	return fmt.Sprintf("%d:%d", r.Lo, r.Hi)
}

// fmtPorts prints a port list (multiport) as iptables-save does.
func fmtPorts(rs []Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmtRange(r)
	}
	return strings.Join(parts, ",")
}

// fmtICMP prints an ICMP type as libxt_icmp and libxt_icmp6 save it:
// "any" for IPv4's type 255 (which the kernel takes as every type), TYPE
// when every code matches, else TYPE/CODE.
func fmtICMP(m *ICMPMatch) string {
	if !m.V6 && (m.Any || m.Type == 0xff) {
		return "any"
	}
	if m.Code.Lo == 0 && m.Code.Hi == 0xff {
		return strconv.Itoa(int(m.Type))
	}
	if m.Code.Lo == m.Code.Hi {
		return fmt.Sprintf("%d/%d", m.Type, m.Code.Lo)
	}
	return fmt.Sprintf("%d/%d:%d", m.Type, m.Code.Lo, m.Code.Hi)
}

// fmtMark prints a mark match's value as libxt_mark saves it: 0xVALUE,
// with /0xMASK unless the mask is all ones.
func fmtMark(v, m uint32) string {
	if m == 0xffffffff {
		return fmt.Sprintf("0x%x", v)
	}
	return fmt.Sprintf("0x%x/0x%x", v, m)
}

// logLevels are syslog's level names as libxt_LOG's --log-level takes
// them (case-sensitive; "panic" and "error" are its deprecated names, and
// it has no "err" or "warn").
var logLevels = map[string]int{
	"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "error": 3,
	"warning": 4, "notice": 5, "info": 6, "debug": 7,
}

// logLevel reads a --log-level value: a number 0-7 or a name.
func logLevel(s string) (int, bool) {
	if lv, ok := logLevels[s]; ok {
		return lv, true
	}
	v, err := parseUint(s, 7)
	return int(v), err == nil
}

// fullPorts reports whether a port set matches every port (iptables-save
// leaves such an option out).
func fullPorts(ps *PortSet) bool {
	return ps != nil && !ps.Neg && len(ps.Ranges) == 1 && ps.Ranges[0] == Range{0, 65535}
}

// canonicalMatchOptions returns m's options as iptables-save prints them.
func canonicalMatchOptions(m *Match) []Option {
	if m.Name == "limit" {
		return limitOptions(m)
	}
	out := make([]Option, 0, len(m.Options))
	for _, o := range m.Options {
		if c, keep := canonicalMatchOption(m, o); keep {
			out = append(out, c)
		}
	}
	if def := matchModules[m.Name]; def != nil {
		sortOptions(m.Name, def.opts, out)
	}
	return out
}

// limitOptions prints -m limit as libxt_limit saves it: --limit with the
// rate in the largest unit that keeps it whole (3/hour when none was
// given), then --limit-burst unless it is the default 5.
func limitOptions(m *Match) []Option {
	avg, burst := uint32(10000*3600/3), uint64(5)
	for _, o := range m.Options {
		switch o.Name {
		case "limit":
			v, ok, _ := limitRate(arg(&o))
			if !ok {
				return m.Options
			}
			avg = v
		case "limit-burst":
			n, err := parseUint(arg(&o), 10000)
			if err != nil {
				return m.Options
			}
			burst = n
		}
	}
	rates := []struct {
		name string
		mult uint32
	}{{"day", 10000 * 86400}, {"hour", 10000 * 3600}, {"min", 10000 * 60}, {"sec", 10000}}
	i := 1
	for ; i < len(rates); i++ {
		if avg > rates[i].mult || rates[i].mult/avg < rates[i].mult%avg {
			break
		}
	}
	out := []Option{{Name: "limit", Args: []string{fmt.Sprintf("%d/%s", rates[i-1].mult/avg, rates[i-1].name)}}}
	if burst != 5 {
		out = append(out, Option{Name: "limit-burst", Args: []string{strconv.FormatUint(burst, 10)}})
	}
	return out
}

// portsOf returns the spec's port set for a --sport or --dport option.
func portsOf(spec MatchSpec, name string) *PortSet {
	var s, d *PortSet
	switch sp := spec.(type) {
	case *TCPMatch:
		s, d = sp.Sport, sp.Dport
	case *UDPMatch:
		s, d = sp.Sport, sp.Dport
	case *SCTPMatch:
		s, d = sp.Sport, sp.Dport
	case *ConntrackMatch:
		switch name {
		case "ctorigsrcport":
			return sp.OrigSrcPort
		case "ctorigdstport":
			return sp.OrigDstPort
		case "ctreplsrcport":
			return sp.ReplSrcPort
		case "ctrepldstport":
			return sp.ReplDstPort
		}
		return nil
	}
	if name == "sport" {
		return s
	}
	return d
}

// canonicalMatchOption returns one option of m as iptables-save prints
// it, and false when iptables-save leaves it out.
func canonicalMatchOption(m *Match, o Option) (Option, bool) {
	a := arg(&o)
	set := func(args ...string) (Option, bool) {
		o.Args = args
		return o, true
	}
	switch m.Name {
	case "tcp", "udp", "sctp", "dccp":
		switch o.Name {
		case "sport", "dport":
			ps := portsOf(m.Spec, o.Name)
			if ps == nil || len(ps.Ranges) != 1 {
				r, err := parsePortRange(a, svcProtoOf(m.Name))
				if err != nil {
					return o, true
				}
				ps = &PortSet{Neg: o.Neg, Ranges: []Range{r}}
			}
			if fullPorts(ps) {
				return o, false
			}
			return set(fmtRange(ps.Ranges[0]))
		case "syn", "tcp-flags":
			var mask, comp uint8 = FlagSYN | FlagRST | FlagACK | FlagFIN, FlagSYN
			if o.Name == "tcp-flags" {
				var err1, err2 error
				mask, err1 = parseTCPFlags(o.Args[0])
				comp, err2 = parseTCPFlags(o.Args[1])
				if err1 != nil || err2 != nil {
					return o, true
				}
			}
			if mask == 0 && !o.Neg {
				return o, false
			}
			o.Name = "tcp-flags"
			return set(FormatTCPFlags(mask), FormatTCPFlags(comp))
		case "tcp-option":
			if v, err := parseUint(a, 255); err == nil {
				return set(strconv.FormatUint(v, 10))
			}
		}
	case "multiport":
		if rs, err := parsePortList(a, svcAny); err == nil {
			return set(fmtPorts(rs))
		}
	case "icmp", "icmp6", "icmpv6":
		if im, err := parseICMPType(a, m.Name != "icmp"); err == nil {
			return set(fmtICMP(&im))
		}
	case "state", "conntrack":
		switch o.Name {
		case "state", "ctstate":
			if st, err := parseStates(a, o.Name == "ctstate"); err == nil && st != 0 {
				return set(FormatStates(st))
			}
		case "ctproto":
			// libxt_conntrack saves the protocol as its number.
			if p, err := parseProto(a); err == nil {
				return set(strconv.Itoa(int(p)))
			}
		case "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst":
			if ad, mk, err := parseAddrMask(a, famOfArg(a)); err == nil {
				if MaskLen(mk) == mk.BitLen() {
					return set(ad.String())
				}
				return set(formatAddrMask(ad, mk))
			}
		case "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport":
			if ps := portsOf(m.Spec, o.Name); ps != nil && len(ps.Ranges) == 1 {
				return set(fmtRange(ps.Ranges[0]))
			}
		case "ctstatus":
			if st, err := parseStatus(a); err == nil {
				return set(formatBits(st, statusNames))
			}
		case "ctexpire":
			if r, err := parseNumRange(a, 0xffffffff); err == nil {
				return set(fmtRange(r))
			}
		case "ctdir":
			return set(strings.ToUpper(a))
		}
	case "addrtype":
		if o.Name == "src-type" || o.Name == "dst-type" {
			if t, err := parseAddrTypes(a); err == nil {
				return set(formatBits(t, addrTypeNames))
			}
		}
	case "pkttype":
		if t := strings.ToLower(a); t == "host" {
			return set("unicast")
		} else {
			return set(t)
		}
	case "length":
		if r, err := parseNumRange(a, 65535); err == nil {
			return set(fmtRange(r))
		}
	case "ttl", "hl":
		if v, err := parseUint(a, 255); err == nil {
			return set(strconv.FormatUint(v, 10))
		}
	case "mark", "connmark":
		if v, mk, err := parseMark(a); err == nil {
			return set(fmtMark(v, mk))
		}
	case "mac":
		return set(strings.ToLower(a))
	case "tos", "dscp":
		if s, ok := m.Spec.(*TOSMatch); ok {
			if s.DSCP {
				// --dscp-class saves as the --dscp value it stands for.
				o.Name = "dscp"
				return set(fmt.Sprintf("0x%02x", s.Value))
			}
			return set(fmt.Sprintf("0x%02x/0x%02x", s.Value, s.Mask))
		}
	}
	return o, true
}

// famOfArg is the family of an address option's value (IPv6 when it holds
// a colon).
func famOfArg(s string) Family {
	if strings.Contains(s, ":") {
		return IPv6
	}
	return IPv4
}

// canonicalTargetOptions returns t's options as iptables-save prints
// them.
func canonicalTargetOptions(t *Target) []Option {
	switch s := t.Spec.(type) {
	case *RejectTarget:
		// REJECT always saves its reject type, the default too.
		if s.With != "" {
			return []Option{{Name: "reject-with", Args: []string{s.With}}}
		}
	case *MarkTarget:
		return markTargetOptions(t, s)
	case *NATTarget:
		return natTargetOptions(t, s)
	}
	out := make([]Option, 0, len(t.Options))
	for _, o := range t.Options {
		if c, keep := canonicalTargetOption(t, o); keep {
			out = append(out, c)
		}
	}
	if def := targetDefs[t.Name]; def != nil {
		sortOptions(t.Name, def.opts, out)
	}
	return out
}

// markTargetOptions prints MARK and CONNMARK as libxt_MARK and
// libxt_CONNMARK save them: every way of setting the mark as --set-xmark
// VALUE/MASK, and CONNMARK's --save-mark and --restore-mark with both
// masks.
func markTargetOptions(t *Target, s *MarkTarget) []Option {
	ops := 0
	for _, o := range t.Options {
		switch o.Name {
		case "set-mark", "set-xmark", "and-mark", "or-mark", "xor-mark", "save-mark", "restore-mark":
			ops++
		}
	}
	if ops != 1 {
		// A rule iptables refuses: print it as written.
		return t.Options
	}
	switch s.Op {
	case MarkSave, MarkRestore:
		name := "save-mark"
		if s.Op == MarkRestore {
			name = "restore-mark"
		}
		return []Option{{Name: name},
			{Name: "nfmask", Args: []string{fmt.Sprintf("0x%x", s.NfMask)}},
			{Name: "ctmask", Args: []string{fmt.Sprintf("0x%x", s.CtMask)}}}
	}
	return []Option{{Name: "set-xmark", Args: []string{fmt.Sprintf("0x%x/0x%x", s.Value, s.Mask)}}}
}

// natTargetOptions prints the NAT targets' ranges with numeric ports
// (ADDR[-ADDR][:PORT[-PORT]], IPv6 addresses in brackets before a port;
// --to-ports PORT[-PORT]), and their flags as written.
func natTargetOptions(t *Target, s *NATTarget) []Option {
	out := make([]Option, 0, len(t.Options))
	ri := 0
	for _, o := range t.Options {
		switch o.Name {
		case "to-destination", "to-source", "to-ports":
			if _, err := natOptionRange(o, s.Kind); err != nil || ri >= len(s.Ranges) {
				out = append(out, o)
				continue
			}
			r := s.Ranges[ri]
			ri++
			if o.Name == "to-ports" {
				o.Args = []string{fmtNATPorts(r)}
			} else {
				o.Args = []string{fmtNATRange(r)}
			}
		}
		out = append(out, o)
	}
	return out
}

// natOptionRange reports whether a NAT option's value parses (so that it
// has its range in the spec, in order).
func natOptionRange(o Option, kind NATKind) (NATRange, error) {
	a := arg(&o)
	if o.Name == "to-ports" {
		pr, err := parseNATPorts(a)
		return NATRange{MinPort: uint16(pr.Lo), MaxPort: uint16(pr.Hi)}, err
	}
	fam := famOfArg(a)
	if strings.Count(a, ":") == 1 && !strings.HasPrefix(a, "[") {
		fam = IPv4
	}
	return parseNATRange(a, fam)
}

func fmtNATPorts(r NATRange) string {
	if r.MinPort == r.MaxPort {
		return strconv.Itoa(int(r.MinPort))
	}
	return fmt.Sprintf("%d-%d", r.MinPort, r.MaxPort)
}

func fmtNATRange(r NATRange) string {
	var b strings.Builder
	hasPort := r.MinPort != 0 || r.MaxPort != 0
	if r.MinAddr.IsValid() {
		v6 := r.MinAddr.Is6()
		if v6 && hasPort {
			b.WriteByte('[')
		}
		b.WriteString(r.MinAddr.String())
		if r.MaxAddr.IsValid() && r.MaxAddr != r.MinAddr {
			b.WriteByte('-')
			b.WriteString(r.MaxAddr.String())
		}
		if v6 && hasPort {
			b.WriteByte(']')
		}
	}
	if hasPort {
		b.WriteByte(':')
		b.WriteString(fmtNATPorts(r))
	}
	return b.String()
}

// canonicalTargetOption returns one option of an extension target as
// iptables-save prints it, and false when it leaves it out.
func canonicalTargetOption(t *Target, o Option) (Option, bool) {
	a := arg(&o)
	set := func(args ...string) (Option, bool) {
		o.Args = args
		return o, true
	}
	switch t.Name {
	case "LOG":
		if o.Name == "log-level" {
			lv, ok := logLevel(a)
			if !ok {
				return o, true
			}
			if lv == 4 {
				// The default level: LOG saves no --log-level.
				return o, false
			}
			return set(strconv.Itoa(lv))
		}
	case "TOS":
		// libxt_TOS saves every form as --set-tos VALUE/MASK (a name
		// sets its value under the mask 0x3f).
		var v, mk uint32
		switch o.Name {
		case "set-tos":
			if n, ok := tosNames[strings.ToLower(a)]; ok {
				v, mk = uint32(n), 0x3f
			} else {
				var err error
				if v, mk, err = parseMark(a); err != nil || v > 0xff || mk > 0xff && strings.Contains(a, "/") {
					return o, true
				}
				if !strings.Contains(a, "/") {
					mk = 0xff
				}
			}
		case "and-tos", "or-tos", "xor-tos":
			n, err := parseUint(a, 0xff)
			if err != nil {
				return o, true
			}
			switch o.Name {
			case "and-tos":
				v, mk = 0, ^uint32(n)&0xff
			case "or-tos":
				v, mk = uint32(n), uint32(n)
			default:
				v, mk = uint32(n), 0
			}
		default:
			return o, true
		}
		o.Name = "set-tos"
		return set(fmt.Sprintf("0x%02x/0x%02x", v, mk))
	case "DSCP":
		var v uint8
		switch o.Name {
		case "set-dscp":
			n, err := parseUint(a, 63)
			if err != nil {
				return o, true
			}
			v = uint8(n)
		case "set-dscp-class":
			n, ok := dscpClasses[strings.ToLower(a)]
			if !ok {
				return o, true
			}
			v = n
		}
		o.Name = "set-dscp"
		return set(fmt.Sprintf("0x%02x", v))
	case "TTL", "HL", "TCPMSS":
		if len(o.Args) == 1 {
			if n, err := parseUint(a, 0xffff); err == nil {
				return set(strconv.FormatUint(n, 10))
			}
		}
	}
	return o, true
}
