package parser

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file gives the options of a match or target as iptables-save
// prints them (Rule.Spec): the value the kernel holds, not the spelling
// of the input. iptables resolves names when it loads a rule and prints
// numbers back: a service name as its port ("--dport ssh" is "--dport
// 22"), an ICMP type name as TYPE[/CODE], a protocol of conntrack's
// --ctproto as its number, a mark, TOS or DSCP value in hex, MARK's
// forms as --set-xmark VALUE/MASK. Options print in the order of the
// extension's save function, defaults some extensions save are added
// (hashlimit's --hashlimit-burst 5, recent's --name DEFAULT, --mask and
// --rsource, connlimit's --connlimit-mask and --connlimit-saddr), and
// those that match every packet (a tcp or udp port range 0:65535, an
// empty --tcp-flags mask) are left out. Every rule here was read from
// iptables-nft-save 1.8.9 after iptables-nft-restore loaded it;
// TestKernelSave pins them. The legacy backend prints most rules alike,
// but not all: it keeps NFLOG's --nflog-range (nft drops it; dfw drops
// it too), and prints two "-m udp" matches of one rule as two (nft merges
// them into one; dfw prints both). dfw follows nft where they differ,
// except for that merge.
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
	"tcp":       {"sport", "dport", "tcp-option", "tcp-flags", "syn"},
	"string":    {"string", "hex-string", "algo", "from", "to", "icase"},
	"connbytes": {"connbytes", "connbytes-mode", "connbytes-dir"},
	"hashlimit": {"hashlimit", "hashlimit-upto", "hashlimit-above", "hashlimit-burst", "hashlimit-mode",
		"hashlimit-name", "hashlimit-htable-size", "hashlimit-htable-max", "hashlimit-htable-gcinterval",
		"hashlimit-htable-expire", "hashlimit-srcmask", "hashlimit-dstmask", "hashlimit-rate-match",
		"hashlimit-rate-interval"},
	"recent":    {"set", "rcheck", "update", "remove", "seconds", "reap", "hitcount", "rttl", "name", "mask", "rsource", "rdest"},
	"connlimit": {"connlimit-upto", "connlimit-above", "connlimit-mask", "connlimit-saddr", "connlimit-daddr"},
	"owner":     {"socket-exists", "uid-owner", "gid-owner", "suppl-groups"},
	"ecn":       {"ecn-tcp-ece", "ecn-tcp-cwr", "ecn-ip-ect"},
	"physdev":   {"physdev-is-in", "physdev-in", "physdev-is-out", "physdev-out", "physdev-is-bridged"},
	"cluster":   {"cluster-local-nodemask", "cluster-total-nodes", "cluster-hash-seed"},
	"NFLOG":     {"nflog-prefix", "nflog-group", "nflog-size", "nflog-threshold"},
	"LOG":       {"log-prefix", "log-level", "log-tcp-sequence", "log-tcp-options", "log-ip-options", "log-uid", "log-macdecode"},
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

// canonicalMatchOptions returns m's options as iptables-save prints them,
// in a rule of family fam.
func canonicalMatchOptions(m *Match, fam Family) []Option {
	if m.Name == "limit" {
		return limitOptions(m)
	}
	if m.Name == "time" {
		if t, ok := readTimeMatch(m); ok {
			return timeOptions(t)
		}
	}
	if m.Name == "policy" {
		return policyOptions(m)
	}
	out := make([]Option, 0, len(m.Options)+3)
	for _, o := range m.Options {
		if c, keep := canonicalMatchOption(m, o, fam); keep {
			out = append(out, c)
		}
	}
	out = addMatchDefaults(m.Name, fam, out)
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
	// A burst of 0 loads as the default (iptables-nft; the legacy
	// backend's kernel refuses it, buildLimit says so).
	if burst != 5 && burst != 0 {
		out = append(out, Option{Name: "limit-burst", Args: []string{strconv.FormatUint(burst, 10)}})
	}
	return out
}

// tproxyOptions prints TPROXY as libxt_TPROXY saves it: --on-port as a
// number, --on-ip (0.0.0.0 or :: when none was given) and --tproxy-mark
// as VALUE/MASK in hexadecimal (0x0/0x0 when none was given; a value
// alone has the mask 0xffffffff). It reports false when an option does
// not read.
func tproxyOptions(t *Target, fam Family) ([]Option, bool) {
	port, ip, mark := "", "0.0.0.0", "0x0/0x0"
	if fam == IPv6 {
		ip = "::"
	}
	for _, o := range t.Options {
		a := arg(&o)
		switch o.Name {
		case "on-port":
			p, err := parsePort(a, svcTCPorUDP)
			if err != nil {
				return nil, false
			}
			port = strconv.Itoa(int(p))
		case "on-ip":
			addr, err := netip.ParseAddr(a)
			if err != nil {
				return nil, false
			}
			ip = addr.String()
		case "tproxy-mark":
			v, m, err := parseMark(a)
			if err != nil {
				return nil, false
			}
			mark = fmt.Sprintf("0x%x/0x%x", v, m)
		}
	}
	if port == "" {
		return nil, false
	}
	return []Option{{Name: "on-port", Args: []string{port}}, {Name: "on-ip", Args: []string{ip}}, {Name: "tproxy-mark", Args: []string{mark}}}, true
}

// policyOptions prints -m policy as libxt_policy saves it: --dir, --pol
// and --strict first, then each element (--next between them) with its
// --reqid, --spi (in hexadecimal), --proto (by name), --mode, --tunnel-dst
// and --tunnel-src, in that order.
func policyOptions(m *Match) []Option {
	var head []Option
	elems := [][]Option{nil}
	for _, o := range m.Options {
		switch o.Name {
		case "dir", "pol", "strict":
			head = append(head, o)
		case "next":
			elems = append(elems, nil)
		default:
			a := arg(&o)
			switch o.Name {
			case "spi":
				if n, err := parseUint(a, 1<<32-1); err == nil {
					o.Args = []string{fmt.Sprintf("0x%x", n)}
				}
			case "reqid":
				if n, err := parseUint(a, 1<<32-1); err == nil {
					o.Args = []string{strconv.FormatUint(n, 10)}
				}
			case "proto":
				if name, ok := map[string]string{"50": "esp", "51": "ah", "108": "ipcomp"}[a]; ok {
					o.Args = []string{name}
				}
			}
			elems[len(elems)-1] = append(elems[len(elems)-1], o)
		}
	}
	rank := func(order []string) func(a, b Option) int {
		return func(a, b Option) int { return slices.Index(order, a.Name) - slices.Index(order, b.Name) }
	}
	slices.SortStableFunc(head, rank([]string{"dir", "pol", "strict"}))
	out := head
	for i, e := range elems {
		if i > 0 {
			out = append(out, Option{Name: "next"})
		}
		slices.SortStableFunc(e, rank([]string{"reqid", "spi", "proto", "mode", "tunnel-dst", "tunnel-src"}))
		out = append(out, e...)
	}
	return out
}

// timeOptions prints -m time as libxt_time saves it: the time of day
// when it is not the whole day (both ends, hh:mm:ss), the days of the
// month and of the week when not all (listed, a negation applied), the
// start date when set, the stop date always (the kernel's default,
// 2038-01-19T03:14:07, too), then --kerneltz and --contiguous.
func timeOptions(t timeMatch) []Option {
	var out []Option
	add := func(name string, args ...string) { out = append(out, Option{Name: name, Args: args}) }
	hms := func(v uint32) string { return fmt.Sprintf("%02d:%02d:%02d", v/3600, v/60%60, v%60) }
	if t.start != 0 || t.stop != 86399 {
		add("timestart", hms(t.start))
		add("timestop", hms(t.stop))
	}
	days := func(mask uint32, names []string) string {
		var ds []string
		for d := 1; d < len(names)+1; d++ {
			if mask&(1<<d) != 0 {
				ds = append(ds, names[d-1])
			}
		}
		return strings.Join(ds, ",")
	}
	if t.monthdays != allMonthdays {
		var names []string
		for d := 1; d <= 31; d++ {
			names = append(names, strconv.Itoa(d))
		}
		add("monthdays", days(t.monthdays, names))
	}
	if t.weekdays != allWeekdays {
		add("weekdays", days(t.weekdays, []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}))
	}
	date := func(v int64) string { return time.Unix(v, 0).UTC().Format("2006-01-02T15:04:05") }
	if t.dateStart != 0 {
		add("datestart", date(t.dateStart))
	}
	add("datestop", date(t.dateStop))
	if t.kernelTZ {
		add("kerneltz")
	}
	if t.contiguous {
		add("contiguous")
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
func canonicalMatchOption(m *Match, o Option, fam Family) (Option, bool) {
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
			if fullPorts(ps) && (m.Name == "tcp" || m.Name == "udp") {
				// libxt_tcp and libxt_udp leave out a range of every
				// port; libxt_sctp and libxt_dccp print it.
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
				// libxt_conntrack saves the address as written, not
				// masked (10.1.2.3/8 stays so), with the mask as a
				// prefix length where it is one.
				if raw, err := netip.ParseAddr(strings.SplitN(a, "/", 2)[0]); err == nil && raw.Is6() == ad.Is6() {
					ad = raw
				}
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
				// NONE is no bit to the kernel: iptables-save prints
				// it only for an empty mask (NONE,ASSURED is ASSURED).
				if st&^CTStatusNone != 0 {
					st &^= CTStatusNone
				}
				return set(formatBits(st, statusNames))
			}
		case "ctexpire":
			if r, err := parseNumRange(a, 0xffffffff); err == nil || errors.Is(err, errEmptyRange) {
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
		if r, err := parseNumRange(a, 65535); err == nil || errors.Is(err, errEmptyRange) {
			return set(fmtRange(r))
		}
	case "mark", "connmark":
		if v, mk, err := parseMark(a); err == nil {
			return set(fmtMark(v, mk))
		}
	case "mac":
		// libxt_mac prints each byte with two lower-case digits.
		if b, err := parseMAC(a); err == nil {
			return set(fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]))
		}
		return set(strings.ToLower(a))
	case "iprange":
		// libxt_iprange prints FROM-TO, a single address too.
		if ir, ok := m.Spec.(*IPRangeMatch); ok {
			r := ir.Src
			if o.Name == "dst-range" {
				r = ir.Dst
			}
			if r != nil && r.Lo.IsValid() && r.Hi.IsValid() {
				return set(r.Lo.String() + "-" + r.Hi.String())
			}
		}
	case "recent":
		switch o.Name {
		case "seconds":
			// libxt_recent prints it with %d: 4294967295 shows as -1.
			if n, err := parseUint(a, 1<<32-1); err == nil {
				return set(strconv.Itoa(int(int32(uint32(n)))))
			}
		case "hitcount":
			if n, err := parseUint(a, 1<<32-1); err == nil {
				if n == 0 {
					return o, false // no count: the default
				}
				return set(strconv.FormatUint(n, 10))
			}
		}
	case "cluster":
		// libxt_cluster saves the local node as its node mask, and the
		// mask and seed in 0x%08x.
		if n, err := parseUint(a, 1<<32-1); err == nil {
			switch o.Name {
			case "cluster-local-node":
				if n >= 1 && n <= 32 {
					o.Name = "cluster-local-nodemask"
					return set(fmt.Sprintf("0x%08x", uint32(1)<<(n-1)))
				}
			case "cluster-local-nodemask", "cluster-hash-seed":
				return set(fmt.Sprintf("0x%08x", n))
			case "cluster-total-nodes":
				return set(strconv.FormatUint(n, 10))
			}
		}
	case "realm", "devgroup":
		// libxt_realm and libxt_devgroup save 0xVALUE[/0xMASK]; a name
		// of rt_realms or group prints as written.
		if v, mk, err := parseMark(a); err == nil {
			return set(fmtMark(v, mk))
		}
	case "statistic":
		if o.Name == "probability" {
			// libxt_statistic keeps lround(P * 2^31) and prints it back
			// with %.11f.
			if p, err := strconv.ParseFloat(a, 64); err == nil && p >= 0 && p <= 1 {
				n := math.Round(p * 0x80000000)
				return set(strconv.FormatFloat(n/0x80000000, 'f', 11, 64))
			}
		}
	case "connbytes":
		if o.Name == "connbytes" {
			// FROM[:TO]; libxt_connbytes prints FROM alone when TO is
			// unbounded, else FROM:TO.
			lo, hi, hasHi := strings.Cut(a, ":")
			if lo == "" {
				lo = "0"
			}
			// Numbers in any base (0x10 is 16).
			l, err1 := parseUint(lo, 1<<64-1)
			if err1 == nil && (!hasHi || hi == "") {
				return set(strconv.FormatUint(l, 10))
			}
			if h, err2 := parseUint(hi, 1<<64-1); err1 == nil && err2 == nil {
				return set(fmt.Sprintf("%d:%d", l, h))
			}
		}
	case "owner":
		if o.Name == "uid-owner" || o.Name == "gid-owner" {
			if s, ok := ownerID(a); ok {
				return set(s)
			}
		}
	case "string":
		// libxt_string keeps the pattern's bytes and saves them as
		// --string when printable, else as one --hex-string block.
		var p []byte
		switch o.Name {
		case "string":
			p = []byte(a)
		case "hex-string":
			var err error
			if p, err = stringPattern(a); err != nil {
				return o, true
			}
		default:
			break
		}
		if p != nil {
			if printablePattern(p) {
				o.Name = "string"
				return set(string(p))
			}
			o.Name = "hex-string"
			return set(fmt.Sprintf("|%x|", p))
		}
	case "ipv6header":
		// libxt_ipv6header keeps a bit a header and prints their names
		// in its table's order.
		if o.Name == "header" {
			bits := map[string]bool{}
			for _, h := range strings.Split(a, ",") {
				c, ok := ipv6HeaderNames[h]
				if !ok {
					return o, true
				}
				bits[c] = true
			}
			var hs []string
			for _, n := range []string{"hop-by-hop", "ipv6-opts", "ipv6-route", "ipv6-frag", "ah", "esp", "ipv6-nonxt", "protocol"} {
				if bits[n] {
					hs = append(hs, n)
				}
			}
			return set(strings.Join(hs, ","))
		}
	case "frag", "rt", "ah", "esp", "mh":
		// An ID range prints as one number when both ends are equal, an
		// open end as 0 or the largest value.
		max := uint64(1<<32 - 1)
		if o.Name == "mh-type" {
			max = 255
		}
		switch o.Name {
		case "fragid", "rt-segsleft", "ahspi", "espspi", "mh-type":
			if lo, hi, ok := strings.Cut(a, ":"); ok {
				if lo == "" {
					lo = "0"
				}
				if hi == "" {
					hi = strconv.FormatUint(max, 10)
				}
				l, err1 := parseUint(lo, max)
				h, err2 := parseUint(hi, max)
				if err1 == nil && err2 == nil {
					if l == h {
						return set(strconv.FormatUint(l, 10))
					}
					return set(fmt.Sprintf("%d:%d", l, h))
				}
			}
		}
	case "connlimit":
		if o.Name == "connlimit-mask" {
			if n, _, err := plenMask(a, fam.bits()); err == nil {
				return set(strconv.Itoa(n))
			}
		}
	case "hashlimit":
		switch o.Name {
		case "hashlimit-htable-gcinterval":
			// The default, 1000 ms, is left out.
			if n, err := parseUint(a, 1<<32-1); err == nil {
				if n == 1000 {
					return o, false
				}
				return set(strconv.FormatUint(n, 10))
			}
		case "hashlimit-srcmask", "hashlimit-dstmask":
			// A length; the whole address, the default, is left out.
			if n, _, err := plenMask(a, fam.bits()); err == nil {
				if n == fam.bits() {
					return o, false
				}
				return set(strconv.Itoa(n))
			}
		case "hashlimit", "hashlimit-upto", "hashlimit-above":
			if s, ok := hashlimitRate(a); ok {
				if o.Name == "hashlimit" {
					o.Name = "hashlimit-upto"
				}
				return set(s)
			}
		case "hashlimit-mode":
			return set(hashlimitMode(a))
		}
	case "u32":
		if s, ok := u32Canonical(a); ok {
			return set(s)
		}
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
	if max, ok := decimalOptions[m.Name+" "+o.Name]; ok {
		if s, ok := decimalValue(a, max); ok {
			return set(s)
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
func canonicalTargetOptions(t *Target, fam Family) []Option {
	if t.Name == "TPROXY" {
		if out, ok := tproxyOptions(t, fam); ok {
			return out
		}
	}
	switch s := t.Spec.(type) {
	case *RejectTarget:
		// REJECT always saves its reject type, the default too.
		if s.With != "" {
			return []Option{{Name: "reject-with", Args: []string{s.With}}}
		}
	case *MarkTarget:
		return markTargetOptions(t, s)
	case *NATTarget:
		out := natTargetOptions(t, s)
		// The flags follow the range, in the order of the definition
		// (--random, --random-fully, --persistent), as libxt_NAT saves
		// them.
		if def := targetDefs[t.Name]; def != nil {
			sortOptions(t.Name, def.opts, out)
		}
		return out
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
		case "to":
			// NETMAP's network, under its mask, with a prefix length
			// (libxt_NETMAP saves 10.1.2.3/255.255.255.0 as 10.1.2.0/24).
			if s.Kind == NATNetmap && s.Netmap.IsValid() {
				o.Args = []string{s.Netmap.String()}
			}
		}
		out = append(out, o)
	}
	return out
}

// natOptionRange reports whether a NAT option's value parses and is kept
// (so that it has its range in the spec, in order).
func natOptionRange(o Option, kind NATKind) (NATRange, error) {
	a := arg(&o)
	if o.Name == "to-ports" {
		p, err := parseNATPorts(a)
		if err == nil && p.shift && kind == NATRedirect {
			err = fmt.Errorf("REDIRECT takes no base port")
		}
		return p.natRange(), err
	}
	fam := famOfArg(a)
	if strings.Count(a, ":") == 1 && !strings.HasPrefix(a, "[") {
		fam = IPv4
	}
	r, _, err := parseNATRange(a, fam)
	return r, err
}

// fmtNATPorts prints a range's ports as iptables-save does: PORT,
// PORT-PORT, PORT-PORT/BASE with a port offset. A range of one port with
// an offset prints as PORT-PORT/BASE, which restores the same rule, where
// iptables-save prints PORT/BASE, which iptables-restore refuses: the
// canonical text must load again.
func fmtNATPorts(r NATRange) string {
	s := strconv.Itoa(int(r.MinPort))
	if r.MaxPort != r.MinPort || r.Shift {
		s += "-" + strconv.Itoa(int(r.MaxPort))
	}
	if r.Shift {
		s += "/" + strconv.Itoa(int(r.BasePort))
	}
	return s
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
	case "NFLOG":
		switch o.Name {
		case "nflog-group":
			// Group 0 is the default, which libxt_NFLOG does not save.
			if n, err := strconv.ParseUint(a, 10, 16); err == nil {
				if n == 0 {
					return o, false
				}
				return set(strconv.FormatUint(n, 10))
			}
		case "nflog-range":
			// The nft backend drops it (the kernel never used it).
			return o, false
		}
	case "CLASSIFY":
		// libxt_CLASSIFY reads MAJOR:MINOR in hex and saves %04x:%04x.
		if maj, min, ok := strings.Cut(a, ":"); ok {
			x, err1 := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(maj), "0x"), 16, 16)
			y, err2 := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(min), "0x"), 16, 16)
			if err1 == nil && err2 == nil {
				return set(fmt.Sprintf("%04x:%04x", x, y))
			}
		}
	}
	if max, ok := decimalOptions[t.Name+" "+o.Name]; ok {
		if s, ok := decimalValue(a, max); ok {
			return set(s)
		}
	}
	return o, true
}

// addMatchDefaults adds the options a match's save function prints when
// the rule left them out: hashlimit's --hashlimit-burst 5, recent's
// --name DEFAULT, --mask of all ones and --rsource, connlimit's
// --connlimit-mask of the full address and --connlimit-saddr.
func addMatchDefaults(module string, fam Family, out []Option) []Option {
	has := func(names ...string) bool {
		for _, o := range out {
			for _, n := range names {
				if o.Name == n {
					return true
				}
			}
		}
		return false
	}
	add := func(name string, args ...string) {
		out = append(out, Option{Name: name, Args: args})
	}
	bits := 32
	if fam == IPv6 {
		bits = 128
	}
	switch module {
	case "hashlimit":
		// A rate in bytes (1mb/s) has a burst of its own, which
		// libxt_hashlimit leaves out as it leaves out the default 5 of a
		// rate in packets.
		bytes := false
		for _, o := range out {
			if (o.Name == "hashlimit-upto" || o.Name == "hashlimit-above") && len(o.Args) == 1 && strings.Contains(o.Args[0], "b/") {
				bytes = true
			}
		}
		if !has("hashlimit-burst") && !bytes {
			add("hashlimit-burst", "5")
		}
	case "recent":
		if !has("name") {
			add("name", "DEFAULT")
		}
		if !has("mask") {
			add("mask", prefixMask(bits, bits).String())
		}
		if !has("rsource", "rdest") {
			add("rsource")
		}
	case "connlimit":
		if !has("connlimit-mask") {
			add("connlimit-mask", strconv.Itoa(bits))
		}
		if !has("connlimit-saddr", "connlimit-daddr") {
			add("connlimit-saddr")
		}
	}
	return out
}

// ownerID prints an owner match's --uid-owner or --gid-owner as
// libxt_owner saves it: ID or ID-ID, in decimal, one number when both
// ends are equal. Numbers are read in base 0 (010 is 8). Of the names only
// root is turned into its number (0 on every system); other names resolve
// through the host's passwd and group databases when the rule loads, which
// dfw does not read: they print as written.
func ownerID(s string) (string, bool) {
	num := func(x string) (uint64, bool) {
		if x == "root" {
			return 0, true
		}
		v, err := strconv.ParseUint(x, 0, 32)
		return v, err == nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	l, ok := num(lo)
	if !ok {
		return "", false
	}
	h := l
	if isRange {
		if h, ok = num(hi); !ok {
			return "", false
		}
	}
	if l == h {
		return strconv.FormatUint(l, 10), true
	}
	return fmt.Sprintf("%d-%d", l, h), true
}

// hashlimitRate prints a hashlimit rate (N[/UNIT], per second without a
// unit) as libxt_hashlimit saves it: in the largest unit that keeps it
// whole, as libxt_limit does, at hashlimit's scale of 10^6. Byte rates
// (kb/s, …) print as written.
func hashlimitRate(s string) (string, bool) {
	const scale = 1000000
	num, mult, why := rateUnit(s)
	if why != "" {
		return "", false
	}
	r, err := strconv.ParseUint(num, 10, 32)
	if err != nil || r == 0 || scale*mult/r == 0 {
		return "", false
	}
	avg := scale * mult / r
	rates := []struct {
		name string
		mult uint64
	}{{"day", scale * 86400}, {"hour", scale * 3600}, {"min", scale * 60}, {"sec", scale}}
	i := 1
	for ; i < len(rates); i++ {
		if avg > rates[i].mult || rates[i].mult/avg < rates[i].mult%avg {
			break
		}
	}
	return fmt.Sprintf("%d/%s", rates[i-1].mult/avg, rates[i-1].name), true
}

// hashlimitMode orders --hashlimit-mode's fields as libxt_hashlimit saves
// them: srcip, srcport, dstip, dstport.
func hashlimitMode(s string) string {
	var out []string
	for _, f := range []string{"srcip", "srcport", "dstip", "dstport"} {
		for _, g := range strings.Split(s, ",") {
			if g == f {
				out = append(out, f)
				break
			}
		}
	}
	if len(out) != len(strings.Split(s, ",")) {
		return s
	}
	return strings.Join(out, ",")
}

// u32Canonical prints a u32 expression as libxt_u32 saves it: every
// number in hex (0x…), a range whose ends are equal as one number, no
// blanks. It returns false for what it cannot read.
func u32Canonical(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	var b strings.Builder
	num := func(x string) (string, bool) {
		v, err := strconv.ParseUint(x, 0, 32)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("0x%x", v), true
	}
	for i, test := range strings.Split(s, "&&") {
		if i > 0 {
			b.WriteString("&&")
		}
		loc, vals, ok := strings.Cut(test, "=")
		if !ok {
			return "", false
		}
		// The location: a number, then operators & << >> @ each with a
		// number.
		j := 0
		for j < len(loc) {
			k := j
			for k < len(loc) && strings.IndexByte("&<>@", loc[k]) < 0 {
				k++
			}
			if k == j {
				return "", false
			}
			n, ok := num(loc[j:k])
			if !ok {
				return "", false
			}
			b.WriteString(n)
			if k == len(loc) {
				break
			}
			op := loc[k : k+1]
			if loc[k] == '<' || loc[k] == '>' {
				if k+1 >= len(loc) || loc[k+1] != loc[k] {
					return "", false
				}
				op = loc[k : k+2]
			}
			b.WriteString(op)
			j = k + len(op)
			if j == len(loc) {
				return "", false
			}
		}
		b.WriteByte('=')
		for vi, v := range strings.Split(vals, ",") {
			if vi > 0 {
				b.WriteByte(',')
			}
			lo, hi, isRange := strings.Cut(v, ":")
			l, ok := num(lo)
			if !ok {
				return "", false
			}
			b.WriteString(l)
			if isRange {
				h, ok := num(hi)
				if !ok {
					return "", false
				}
				if h != l {
					b.WriteString(":" + h)
				}
			}
		}
	}
	return b.String(), true
}

// ipv6HeaderNames maps the names and numbers -m ipv6header takes to the
// names libxt_ipv6header prints.
var ipv6HeaderNames = map[string]string{
	"hop": "hop-by-hop", "hop-by-hop": "hop-by-hop", "0": "hop-by-hop",
	"dst": "ipv6-opts", "ipv6-opts": "ipv6-opts", "60": "ipv6-opts",
	"route": "ipv6-route", "ipv6-route": "ipv6-route", "43": "ipv6-route",
	"frag": "ipv6-frag", "ipv6-frag": "ipv6-frag", "44": "ipv6-frag",
	"auth": "ah", "ah": "ah", "51": "ah",
	"esp": "esp", "50": "esp",
	"none": "ipv6-nonxt", "ipv6-nonxt": "ipv6-nonxt", "59": "ipv6-nonxt",
	"prot": "protocol", "protocol": "protocol", "255": "protocol",
}

// decimalOptions are the options whose numbers (or LOW:HIGH ranges, where
// the option takes one) iptables reads in any base (010 is 8, 0x10 is 16)
// and saves in decimal, by "module option", with their largest value.
var decimalOptions = map[string]uint64{
	"cpu cpu": 1<<32 - 1, "quota quota": 1<<64 - 1, "tcpmss mss": 65535,
	"connlimit connlimit-above": 1<<32 - 1, "connlimit connlimit-upto": 1<<32 - 1,
	"statistic every": 1<<32 - 1, "statistic packet": 1<<32 - 1,
	"hashlimit hashlimit-burst": 1<<32 - 1,
	"NFLOG nflog-group":         65535, "NFLOG nflog-size": 1<<32 - 1, "NFLOG nflog-threshold": 65535,
	"NFQUEUE queue-num": 65535, "CT zone": 65535, "CT zone-orig": 65535, "CT zone-reply": 65535,
	"ttl ttl-eq": 255, "ttl ttl-lt": 255, "ttl ttl-gt": 255, "hl hl-eq": 255, "hl hl-lt": 255, "hl hl-gt": 255,
	"TTL ttl-set": 255, "TTL ttl-dec": 255, "TTL ttl-inc": 255, "HL hl-set": 255, "HL hl-dec": 255, "HL hl-inc": 255,
	"TCPMSS set-mss": 65535,
}

// decimalValue prints a number, or a LOW:HIGH range, read in any base, in
// decimal; false when it does not read (it then prints as written).
func decimalValue(s string, max uint64) (string, bool) {
	lo, hi, isRange := strings.Cut(s, ":")
	l, err := parseUint(lo, max)
	if err != nil {
		return "", false
	}
	if !isRange {
		return strconv.FormatUint(l, 10), true
	}
	if hi == "" {
		return strconv.FormatUint(l, 10) + ":", true
	}
	h, err := parseUint(hi, max)
	if err != nil {
		return "", false
	}
	return strconv.FormatUint(l, 10) + ":" + strconv.FormatUint(h, 10), true
}
