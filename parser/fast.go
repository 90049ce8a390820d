package parser

import "net/netip"

// The fast path of lean loads: most lines of a large ruleset (kube-proxy's,
// Docker's) are "-A" rules of a few shapes, printed by iptables-save (or
// ip6tables-save) in one canonical form. A lean load (Options.Lean) keeps of them only the chain,
// the position, the line, -i, -o and the target; fastRule reads those
// straight from the line for the shapes below, in a third of the time of
// the full parser (tokens, options, modules, typed matches and their
// checks) and the lean copy after it (BenchmarkRuleLine: 280-350 against
// 1,000-1,240 ns a line of a kube-proxy ruleset). Any line that is not in
// exactly such a form, or that could draw a diagnostic, goes to the full
// parser: TestFastRule and FuzzFastRule check, for every line fastRule
// takes, that the full parser and the lean copy give the same command and
// no diagnostic.
//
//	line   = "-A" CHAIN { " " part } " -j " target
//	part   = [ "! " ] ( "-s" | "-d" ) " " ADDR "/" PLEN
//	       | [ "! " ] ( "-i" | "-o" ) " " IFACE
//	       | "-p " ( "tcp" | "udp" )
//	       | "-m comment --comment " QUOTED
//	       | "-m " ( "tcp" | "udp" ) [ " --sport " PORT ] [ " --dport " PORT ]
//	       | "-m statistic --mode random --probability " PROB
//	target = CHAIN | "ACCEPT" | "DROP" | "RETURN"
//	       | "DNAT --to-destination " ( ADDR [ ":" PORT ] | ADDR6 | "[" ADDR6 "]:" PORT )
//	       | "REJECT --reject-with " ICMP-TYPE
//
// with one space between words, addresses of the ruleset's family without
// host bits (IPv4 in dotted decimal, IPv6 in netip's canonical text),
// ports 1-65535 and numbers in decimal without leading zeros, "-p" before
// its "-m", each option and module at most once, and names of letters,
// digits, '-' and '_' (interfaces also '.', and a final '+').

// fastReject is what --reject-with takes in the fast path, by family.
var fastReject = map[Family]map[string]bool{
	IPv4: {
		"icmp-net-unreachable": true, "icmp-host-unreachable": true, "icmp-port-unreachable": true,
		"icmp-proto-unreachable": true, "icmp-net-prohibited": true, "icmp-host-prohibited": true,
		"icmp-admin-prohibited": true,
	},
	IPv6: {
		"icmp6-no-route": true, "icmp6-adm-prohibited": true, "icmp6-addr-unreachable": true,
		"icmp6-port-unreachable": true,
	},
}

// fastScanner reads the words of a line in the fast path's form.
type fastScanner struct {
	line string
	i    int // start of the next word
}

// word returns the next word and its column, or ok false at the end of
// the line, at a byte that is not plain (wordClass), and at two spaces or
// a trailing one.
func (s *fastScanner) word() (w string, col int, ok bool) {
	line, start := s.line, s.i
	j := start
	for j < len(line) && wordClass[line[j]] == plainByte {
		j++
	}
	if j < len(line) && line[j] != ' ' {
		return "", 0, false // a quote, or a byte the fast path leaves
	}
	if j == start || j+1 == len(line) {
		return "", 0, false // the end, two spaces, or a trailing space
	}
	s.i = min(j+1, len(line))
	return line[start:j], start + 1, true
}

// The classes of bytes in the fast path's lines: a line of any other byte
// (a control character, DEL, a byte outside ASCII, a backslash or a
// single quote) goes to the full parser.
const (
	plainByte = iota
	spaceByte
	quoteByte
	otherByte
)

var wordClass = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c < ' ' || c >= 0x7f || c == '\\' || c == '\'':
			t[c] = otherByte
		case c == ' ':
			t[c] = spaceByte
		case c == '"':
			t[c] = quoteByte
		}
	}
	return t
}()

// quoted returns the next word if it is a double-quoted string of plain
// bytes and spaces (wordClass), 1 to 255 bytes long, and the text between
// the quotes.
func (s *fastScanner) quoted() (string, bool) {
	start := s.i
	if start >= len(s.line) || s.line[start] != '"' {
		return "", false
	}
	j := start + 1
	for j < len(s.line) && s.line[j] != '"' {
		if wordClass[s.line[j]] == otherByte {
			return "", false
		}
		j++
	}
	if j == len(s.line) {
		return "", false // no closing quote
	}
	if j == start+1 || j-start-1 > 255 {
		return "", false
	}
	text := s.line[start+1 : j]
	j++ // the closing quote
	if j < len(s.line) {
		if s.line[j] != ' ' || j+1 == len(s.line) {
			return "", false
		}
		j++
	}
	s.i = j
	return text, true
}

// expect reads the next word and reports whether it is w.
func (s *fastScanner) expect(w string) bool {
	got, _, ok := s.word()
	return ok && got == w
}

// fastName reports whether s is a chain name the fast path takes: 1 to 28
// letters, digits, '-' and '_', starting with a letter.
func fastName(s string) bool {
	if len(s) == 0 || len(s) > 28 || nameByte[s[0]] != 1 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if b := nameByte[s[i]]; b == 0 || b == 3 {
			return false
		}
	}
	return true
}

// nameByte is 1 for a letter, 2 for a digit, '-' or '_', 3 for '.' (in
// interface names only) and 0 for any other byte.
var nameByte = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = 1, 1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 2
	}
	t['-'], t['_'], t['.'] = 2, 2, 3
	return t
}()

// fastIface reports whether s is an interface name the fast path takes:
// 1 to 15 letters, digits, '-', '_' and '.', with an optional final '+'.
func fastIface(s string) bool {
	n := len(s)
	if n > 0 && s[n-1] == '+' {
		n--
	}
	if n == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < n; i++ {
		if nameByte[s[i]] == 0 {
			return false
		}
	}
	return true
}

// fastDecimal returns the value of a decimal number without leading zeros
// of at most 5 digits.
func fastDecimal(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 || s[0] == '0' && len(s) > 1 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// fastPort reports whether s is a port from 1 to 65535.
func fastPort(s string) bool {
	n, ok := fastDecimal(s)
	return ok && n >= 1 && n <= 65535
}

// fastIPv4 returns the address of a dotted-decimal IPv4 address whose
// numbers have no leading zeros.
func fastIPv4(s string) (uint32, bool) {
	var a uint32
	for k := range 4 {
		end := 0
		for end < len(s) && s[end] != '.' {
			end++
		}
		n, ok := fastDecimal(s[:end])
		if !ok || n > 255 || (k < 3) != (end < len(s)) {
			return 0, false
		}
		a = a<<8 | uint32(n)
		if end < len(s) {
			end++
		}
		s = s[end:]
	}
	return a, len(s) == 0
}

// fastPrefix reports whether s is ADDR/PLEN of the family with no host
// bits, and whether PLEN is 0.
func fastPrefix(s string, fam Family) (ok, zero bool) {
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			slash = i
			break
		}
	}
	if slash < 0 {
		return false, false
	}
	plen, ok := fastDecimal(s[slash+1:])
	if !ok {
		return false, false
	}
	if fam == IPv6 {
		a, ok := fastIPv6(s[:slash])
		if !ok || plen > 128 || netip.PrefixFrom(a, plen).Masked().Addr() != a {
			return false, false // host bits: not ip6tables-save's form
		}
		return true, plen == 0
	}
	a, ok := fastIPv4(s[:slash])
	if !ok || plen > 32 {
		return false, false
	}
	if plen < 32 && a<<plen != 0 {
		return false, false // host bits: not iptables-save's form
	}
	return true, plen == 0
}

// fastIPv6 returns an IPv6 address written as ip6tables-save writes it
// (netip's canonical text: lower case, the longest run of zeros
// compressed), without a zone.
func fastIPv6(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" || a.String() != s {
		return netip.Addr{}, false
	}
	return a, true
}

// fastAddr reports whether s is an address of the family, as the fast
// path takes it.
func fastAddr(s string, fam Family) bool {
	if fam == IPv6 {
		_, ok := fastIPv6(s)
		return ok
	}
	_, ok := fastIPv4(s)
	return ok
}

// fastProbability reports whether s is "0." and 1 to 15 digits.
func fastProbability(s string) bool {
	if len(s) < 3 || len(s) > 17 || s[0] != '0' || s[1] != '.' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fastRule returns the command of a rule line in the fast path's form,
// with its one rule already a lean copy (Command.detached) in lc's memory
// and the target's options, which only the applier reads, in p's arena; or
// nil when the line is not in that form. cmd and rule are the line's slots.
func (p *fileParser) fastRule(lineNo int, line string, lc *leanCopier, cmd *Command, rule *[1]*Rule) *Command {
	if !p.inTable || p.f.Family != IPv4 && p.f.Family != IPv6 || len(line) < 6 || line[:3] != "-A " {
		return nil
	}
	s := fastScanner{line: line, i: 3}
	chain, _, ok := s.word()
	if !ok || !fastName(chain) {
		return nil
	}
	var (
		src, dst, neg, comment, stat bool
		sport, dport, portsOK        bool
		in, out                      IfaceMatch // Pos.Line 0: not given
		proto, module                string
	)
	for {
		w, col, ok := s.word()
		if !ok {
			return nil // a rule without a target, or not in the form
		}
		if w == "!" {
			if neg {
				return nil
			}
			neg = true
			continue
		}
		if neg && w != "-s" && w != "-d" && w != "-i" && w != "-o" {
			return nil
		}
		// The port options come right after their module ("-m tcp").
		afterModule := portsOK
		portsOK = false
		switch w {
		case "-s", "-d":
			v, _, ok := s.word()
			if !ok || w == "-s" && src || w == "-d" && dst {
				return nil
			}
			if ok, zero := fastPrefix(v, p.f.Family); !ok || neg && zero {
				return nil
			}
			if w == "-s" {
				src = true
			} else {
				dst = true
			}
		case "-i", "-o":
			v, _, ok := s.word()
			if !ok || !fastIface(v) || w == "-i" && in.Pos.Line != 0 || w == "-o" && out.Pos.Line != 0 {
				return nil
			}
			if w == "-i" {
				in = ifaceMatch(v, neg, p.pos(lineNo, col))
			} else {
				out = ifaceMatch(v, neg, p.pos(lineNo, col))
			}
		case "-p":
			v, _, ok := s.word()
			if !ok || proto != "" || v != "tcp" && v != "udp" {
				return nil
			}
			proto = v
		case "-m":
			v, _, ok := s.word()
			if !ok {
				return nil
			}
			switch v {
			case "comment":
				if comment || !s.expect("--comment") {
					return nil
				}
				if _, ok := s.quoted(); !ok {
					return nil
				}
				comment = true
			case "tcp", "udp":
				if v != proto || module != "" {
					return nil
				}
				module, portsOK = v, true
			case "statistic":
				if stat || !s.expect("--mode") || !s.expect("random") || !s.expect("--probability") {
					return nil
				}
				if v, _, ok := s.word(); !ok || !fastProbability(v) {
					return nil
				}
				stat = true
			default:
				return nil
			}
		case "--sport":
			v, _, ok := s.word()
			if !ok || !afterModule || sport || dport || !fastPort(v) {
				return nil
			}
			sport, portsOK = true, true
		case "--dport":
			v, _, ok := s.word()
			if !ok || !afterModule || dport || !fastPort(v) {
				return nil
			}
			dport = true
		case "-j":
			return p.fastTarget(&s, lineNo, line, chain, col, proto, in, out, lc, cmd, rule)
		default:
			return nil
		}
		neg = false
	}
}

// fastTarget reads the target of a line in the fast path (after "-j") and
// makes the command.
func (p *fileParser) fastTarget(s *fastScanner, lineNo int, line, chain string, col int, proto string, in, out IfaceMatch, lc *leanCopier, cmd *Command, rule *[1]*Rule) *Command {
	name, _, ok := s.word()
	if !ok {
		return nil
	}
	tg := Target{Name: name, Pos: p.pos(lineNo, col)}
	switch {
	case name == "ACCEPT" || name == "DROP" || name == "RETURN":
		tg.Kind = TargetVerdict
	case name == "DNAT":
		oc := s.i + 1
		if !s.expect("--to-destination") {
			return nil
		}
		v, _, ok := s.word()
		if !ok {
			return nil
		}
		addr, port, ok := fastDNAT(v, p.f.Family)
		if !ok || !fastAddr(addr, p.f.Family) || port != "" && (proto == "" || !fastPort(port)) {
			return nil
		}
		tg.Kind = TargetExtension
		tg.Options = p.fastOption("to-destination", v, p.pos(lineNo, oc))
	case name == "REJECT":
		oc := s.i + 1
		if !s.expect("--reject-with") {
			return nil
		}
		v, _, ok := s.word()
		if !ok || !fastReject[p.f.Family][v] {
			return nil
		}
		tg.Kind = TargetExtension
		tg.Options = p.fastOption("reject-with", v, p.pos(lineNo, oc))
	case fastName(name) && !isVerdict(name) && (len(name) > maxTargetName || targetDefs[name] == nil):
		tg.Kind = TargetChain
	default:
		return nil
	}
	if s.i < len(line) {
		return nil // more after the target
	}
	pos := p.pos(lineNo, 1)
	r := lc.rules.put(Rule{Table: p.table, Chain: chain, Pos: pos, Line: line})
	if in.Pos.Line != 0 {
		r.In = lc.ifaces.put(in)
	}
	if out.Pos.Line != 0 {
		r.Out = lc.ifaces.put(out)
	}
	r.Target = lc.targets.put(tg)
	*cmd = Command{Op: OpAppend, Pos: pos, Line: line, Table: p.table, Chain: chain, Comment: p.comment, detached: true}
	rule[0] = r
	cmd.Rules = rule[:]
	return cmd
}

// fastDNAT splits DNAT's --to-destination into its address and port (""
// when it has none): ADDR[:PORT] for IPv4, ADDR or [ADDR]:PORT for IPv6.
func fastDNAT(v string, fam Family) (addr, port string, ok bool) {
	if fam == IPv6 {
		if v == "" || v[0] != '[' {
			return v, "", true
		}
		for i := 1; i < len(v); i++ {
			if v[i] == ']' {
				if i+2 >= len(v) || v[i+1] != ':' {
					return "", "", false
				}
				return v[1:i], v[i+2:], true
			}
		}
		return "", "", false
	}
	for i := 0; i < len(v); i++ {
		if v[i] == ':' {
			if i+1 == len(v) {
				return "", "", false
			}
			return v[:i], v[i+1:], true
		}
	}
	return v, "", true
}

// fastOption returns a target's one option, in the arena.
func (p *fileParser) fastOption(name, value string, pos Pos) []Option {
	o := p.a.options.make(1)
	return append(o, Option{Name: name, Args: append(p.a.strs.make(1), value), Pos: pos})
}
