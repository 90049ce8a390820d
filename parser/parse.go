package parser

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Op is a restore command.
type Op uint8

const (
	OpTable       Op = iota + 1 // *table
	OpCommit                    // COMMIT
	OpChain                     // :CHAIN POLICY [p:b]
	OpAppend                    // -A
	OpInsert                    // -I CHAIN [N]
	OpDelete                    // -D CHAIN rule-spec
	OpDeleteNum                 // -D CHAIN N
	OpReplace                   // -R CHAIN N
	OpNewChain                  // -N
	OpDeleteChain               // -X [CHAIN]
	OpFlush                     // -F [CHAIN]
	OpZero                      // -Z [CHAIN [N]]
	OpPolicy                    // -P CHAIN TARGET
	OpRename                    // -E OLD NEW
	OpCheck                     // -C CHAIN rule-spec (no effect)
)

var opNames = map[Op]string{
	OpTable: "*table", OpCommit: "COMMIT", OpChain: ":chain", OpAppend: "-A", OpInsert: "-I",
	OpDelete: "-D", OpDeleteNum: "-D", OpReplace: "-R", OpNewChain: "-N", OpDeleteChain: "-X",
	OpFlush: "-F", OpZero: "-Z", OpPolicy: "-P", OpRename: "-E", OpCheck: "-C",
}

func (o Op) String() string { return opNames[o] }

// Command is one line of a restore file (or of iptables -S output).
type Command struct {
	Op    Op
	Pos   Pos // position of the command word
	Line  string
	Table string
	Chain string // "" for -F/-X/-Z of the whole table
	// Num is the 1-based rule number of -I, -D N, -R and -Z; 0 when absent.
	Num int
	// Rules is the rule of -A, -I, -R, -D and -C. A rule line whose -s or -d
	// lists several addresses adds one rule per combination, as iptables
	// does.
	Rules    []*Rule
	Policy   string
	Counters *Counters
	NewName  string
	// Comment is the text of a "#" comment line just before this line.
	Comment string
	// detached is set when Rules are lean copies already (a pipe's
	// worker made them, leanCopier).
	detached bool
	// chain, for a chain line that a pipe's worker parsed while the file
	// is streamed, is the chain it declares, made by the worker so that
	// the applier, on the reading goroutine, only has to add it to its
	// table if it is new. The applier takes it once (and clears it).
	chain *Chain
}

// File is the parsed form of one input file.
type File struct {
	Name     string
	Family   Family
	Commands []*Command
	// Diags holds every error and warning, sorted by position.
	Diags ErrorList
	// Incomplete is set when the dump says that tables are missing.
	Incomplete bool
	// Wide holds, by line number, the text of each line that has a byte
	// outside ASCII (a --comment in another script, a name): there a
	// column, which counts bytes, differs from one that counts characters
	// (SARIF's). Nil when every byte is ASCII.
	Wide map[int]string
	// ListRules is set for "iptables -S" input (no table headers).
	ListRules bool
}

// Options control parsing.
type Options struct {
	// Family is the address family; 0 detects it from the header and the
	// addresses (IPv4 when nothing says otherwise).
	Family Family
	// Table is the table of "iptables -S" input, which has no table lines;
	// default "filter".
	Table string
	// Lean asks Load to keep of each rule only its table, chain,
	// position, line, target (name, kind, position, jump), -i and -o, and
	// the matches that only some hooks allow: what the graph checks
	// (Ruleset.Check) and the chains' rule counts need, in a fraction of
	// the memory. Every line is still checked in full and every error and
	// warning reported: the rules of the most common shapes by a fast path
	// (fast.go) that takes only lines the full parser reads without a
	// diagnostic. For callers that want the diagnostics and the
	// ruleset's shape, not its matches (dfwlint parse without --format
	// save). The files keep no chain lines (":CHAIN POLICY"): their
	// chains are in the ruleset. Load keeps whole rules when a file
	// deletes a rule by its spec (-D CHAIN RULE); Ruleset.Lean tells
	// which it did.
	Lean bool
	// Mapped tells that the sources' data may be a mapped file (see
	// internal/mapfile), which faults when the file shrinks while it is
	// read. The caller reads it with debug.SetPanicOnFault(true) and
	// recovers the fault; the goroutines that parse a large file's lines
	// for it hand their faults over to the calling goroutine.
	Mapped bool

	// sequential reads the file on the calling goroutine only; pipeBatch,
	// when set, sends the file through the pipe (parallel.go) whatever its
	// size, in batches of that many lines. Tests compare the two.
	sequential bool
	pipeBatch  int
}

// maxLine is the longest line iptables-restore reads in one piece.
const maxLine = 10239

// Parse parses iptables-save output, iptables-restore input or iptables -S
// output.
//
//	file    = { line } .
//	line    = comment | "*" table | ":" chain policy [ counters ] | "COMMIT"
//	        | [ counters ] command { option } | blank .
//
// It never stops at the first error: every line is parsed and all problems
// are in File.Diags (at most MaxErrors errors).
//
// The parsed file refers to src (a rule's Line is a view of it): src must not
// be modified afterwards.
func Parse(name string, src []byte, opts Options) *File {
	return parse(name, src, opts, nil)
}

func parse(name string, src []byte, opts Options, st *streamApply) *File {
	p := &fileParser{f: &File{Name: name}, opts: opts, stream: st, sequential: opts.sequential}
	if st != nil {
		p.cmdSlot, p.ruleSlot = &p.ruleCmd, &p.ruleBuf
		p.leanChains = st.lean
	}
	p.run(src)
	if p.redo && st == nil {
		p = &fileParser{f: &File{Name: name}, opts: opts, sequential: true}
		p.run(src)
	}
	p.f.Diags.Sort()
	return p.f
}

type fileParser struct {
	f       *File
	opts    Options
	table   string
	tabPos  Pos
	inTable bool
	comment string
	crSeen  bool
	stopped bool
	nerr    int // errors so far (an upper bound: recounted near the limit)
	rp      ruleParser
	pipe    *pipe // non-nil: rule lines are parsed by workers (parallel.go)
	// stream, when set, applies each command as soon as it is read (see
	// Load); File.Commands then keeps only the commands that add no rule.
	stream *streamApply
	// ruleCmd and ruleBuf hold the command of a rule line while it is
	// streamed. cmdSlot and ruleSlot, when set, are where the command of
	// a rule line that adds rules, and its one rule, are put instead of
	// allocating them: ruleCmd and ruleBuf when streaming sequentially, a
	// batch's slots in a worker of the pipe.
	ruleCmd  Command
	ruleBuf  [1]*Rule
	cmdSlot  *Command
	ruleSlot *[1]*Rule
	// rest is the text after the current line.
	rest string
	// sequential turns parallel parsing off; redo is set when a parallel
	// parse found too many errors and the file must be read sequentially
	// (when not streaming; see pipe).
	sequential, redo bool
	// wide is set when the file holds a byte outside ASCII (else every
	// line is valid UTF-8).
	wide bool
	// leanChains is set in a lean load (Options.Lean) that streams: the
	// commands of chain lines are applied and not kept, and use cmdSlot.
	leanChains bool
	toks       []token

	// a allocates the rules and their parts; the scratch slices are reused
	// from line to line while a rule is read, and its final slices are
	// copied into a with their exact lengths.
	a              arena
	matchScratch   []*Match
	optScratch     [][]Option
	targetScratch  []Option
	srcBuf, dstBuf []*AddrMatch
	argScratch     []string
	matchDefs      []*moduleDef
}

func (p *fileParser) pos(line, col int) Pos { return Pos{File: p.f.Name, Line: line, Col: col} }

func (p *fileParser) errf(pos Pos, sentinel error, format string, args ...any) {
	p.f.Diags.addFor(p.f.Family, pos, sentinel, SevError, format, args...)
	p.nerr++
}

func (p *fileParser) warnf(pos Pos, sentinel error, format string, args ...any) {
	p.f.Diags.addFor(p.f.Family, pos, sentinel, SevWarning, format, args...)
}

// tooMany reports, at the line where reading stops, that the file has too
// many errors.
func (p *fileParser) tooMany(lineNo int) bool {
	if p.nerr < MaxErrors {
		return false // nerr counts every error added, so there are fewer
	}
	n := len(p.f.Diags.Errors())
	if n >= MaxErrors {
		p.errf(p.pos(lineNo, 1), ErrTooManyErrors, "too many errors (%d); stopped reading at this line", n)
		return true
	}
	return false
}

// DetectFamily tells the family of a ruleset from its header and its -s/-d
// values, as Parse does when Options.Family is 0; 0 when nothing tells.
func DetectFamily(src []byte) Family { return detectFamily(src) }

// detectFamily looks at the header and at -s/-d values; 0 when nothing
// tells.
func detectFamily(src []byte) Family {
	head := src
	if len(head) > 4096 {
		head = head[:4096]
	}
	if bytes.Contains(head, []byte("ip6tables-save")) || bytes.Contains(head, []byte("ip6tables-restore")) ||
		bytes.Contains(head, []byte("# Generated by ip6tables-")) {
		return IPv6
	}
	// iptables-save's own header (iptables-save, iptables-nft-save,
	// iptables-legacy-save) says IPv4: an IPv6 address in it is an error,
	// not a sign of IPv6.
	if bytes.HasPrefix(head, []byte("# Generated by iptables-")) || bytes.Contains(head, []byte("\n# Generated by iptables-")) {
		return IPv4
	}
	// Count address-looking values after -s/-d.
	v4, v6 := 0, 0
	for rest := src; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		if len(line) == 0 || line[0] == '#' || !bytes.Contains(line, []byte(" -")) {
			continue
		}
		fields := bytes.Fields(line)
		for i := 0; i+1 < len(fields); i++ {
			f := string(fields[i])
			if f == "-s" || f == "-d" || f == "--source" || f == "--destination" || f == "--to-destination" || f == "--to-source" {
				v := string(fields[i+1])
				if v == "!" && i+2 < len(fields) {
					v = string(fields[i+2])
				}
				a, _, _ := strings.Cut(v, "/")
				a, _, _ = strings.Cut(a, ",")
				if ip, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
					if ip.Is4() {
						v4++
					} else {
						v6++
					}
				} else if ap, err := netip.ParseAddrPort(a); err == nil {
					if ap.Addr().Is4() {
						v4++
					} else {
						v6++
					}
				}
			}
			if f == "--icmpv6-type" || strings.EqualFold(f, "icmpv6") || strings.EqualFold(f, "ipv6-icmp") {
				v6++
			}
			if (f == "-p" || f == "--protocol") && string(fields[i+1]) == "58" ||
				len(f) > 2 && f[0] == '-' && f[1] == 'p' && isICMPv6Proto(f[2:]) {
				v6++ // -p 58, -picmpv6 (as getopt reads it)
			}
			if (f == "-m" || f == "--match") && moduleFamily[string(fields[i+1])] == IPv6 {
				v6++ // an ip6tables match (-m hl, -m frag…)
			}
		}
		if v4+v6 > 50 {
			break
		}
	}
	switch {
	case v6 > v4:
		return IPv6
	case v4 > 0:
		return IPv4
	}
	return 0 // nothing tells
}

// isICMPv6Proto reports whether a -p value names ICMPv6, as the canonical
// text writes it or otherwise (protocol names are case-insensitive).
func isICMPv6Proto(v string) bool {
	return strings.EqualFold(v, "icmpv6") || strings.EqualFold(v, "ipv6-icmp") || v == "58"
}

func isBinary(src []byte) bool {
	n := len(src)
	if n > 8192 {
		n = 8192
	}
	bad := 0
	for i := 0; i < n; {
		r, size := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			bad++
		case r < 0x20 && r != '\n' && r != '\r' && r != '\t':
			bad++
		}
		i += size
	}
	return n > 0 && bad*10 > n
}

func (p *fileParser) run(src []byte) {
	f := p.f
	if len(bytes.TrimSpace(src)) == 0 {
		f.Family = p.opts.Family
		if f.Family == 0 {
			f.Family = IPv4
		}
		p.errf(p.pos(1, 1), ErrSyntax, "file is empty (expected iptables-save output or iptables-restore input)")
		return
	}
	if isBinary(src) {
		f.Family = IPv4
		p.errf(p.pos(1, 1), ErrSyntax, "binary data, not iptables rules (expected iptables-save output or iptables-restore input)")
		return
	}
	detected := detectFamily(src)
	f.Family = p.opts.Family
	if f.Family == 0 {
		f.Family = detected
		if f.Family == 0 {
			f.Family = IPv4
		}
	} else if detected != 0 && detected != f.Family {
		why := "its addresses"
		if head := src[:min(len(src), 4096)]; bytes.Contains(head, []byte("tables-save")) || bytes.Contains(head, []byte("# Generated by ip")) {
			why = "its header"
		}
		p.errf(p.pos(1, 1), ErrFamily, "this looks like an %s dump (from %s) but is read as %s (expected %s rules; check --ipv6 or the file given)",
			detected, why, f.Family, f.Family)
	}
	if p.stream != nil {
		p.stream.start(f)
		p.stream.a.rulesAhead = p.rulesAhead
	}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		p.errf(p.pos(1, 1), ErrSyntax, "file starts with a UTF-8 byte order mark: iptables-restore refuses it (expected plain text; remove the BOM)")
		src = src[3:]
	}
	// iptables -S output has no table lines.
	hasTable := len(src) > 0 && src[0] == '*' || bytes.Contains(src, []byte("\n*"))
	if !hasTable {
		f.ListRules = true
		p.table = p.opts.Table
		if p.table == "" {
			p.table = "filter"
		}
		p.inTable = true
		p.tabPos = p.pos(1, 1)
		p.emit(&Command{Op: OpTable, Pos: p.tabPos, Table: p.table})
	}
	// Lines, tokens and the rules' Line fields are views of src itself, not
	// of a copy: on a 12 MB ruleset the copy alone cost 12 MB of peak
	// memory. Parse documents that src must not change afterwards.
	text := unsafe.String(unsafe.SliceData(src), len(src))
	if lines := p.opts.pipeBatch; lines > 0 && !p.sequential {
		p.startPipe(lines)
		defer p.pipe.stop(p)
	} else if !p.sequential && len(src) >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
		p.startPipe(batchLines)
		defer p.pipe.stop(p)
	}
	wide := !isASCII(text)
	p.wide = wide
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		if wide && !isASCII(line) {
			if f.Wide == nil {
				f.Wide = map[int]string{}
			}
			f.Wide[lineNo] = line
		}
		if p.stopped || p.tooMany(lineNo) {
			return
		}
		p.rest = text
		p.line(lineNo, line)
	}
	if f.ListRules {
		p.emit(&Command{Op: OpCommit, Pos: p.pos(lineNo, 1), Table: p.table})
	} else if p.inTable {
		p.errf(p.tabPos, ErrNoCommit, "table %s is never committed: the file ends without COMMIT (truncated?); iptables-restore loads nothing of it", p.table)
	}
}

// isASCII reports whether every byte of s is below 0x80, eight bytes at
// a time (the loads combine into one): it runs over a whole file.
func isASCII(s string) bool {
	for len(s) >= 32 {
		b := unsafe.Slice(unsafe.StringData(s), 32)
		v := binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		if v&0x8080808080808080 != 0 {
			return false
		}
		s = s[32:]
	}
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if v&0x8080808080808080 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (p *fileParser) line(lineNo int, raw string) {
	if i := strings.IndexByte(raw, 0); i >= 0 {
		p.errf(p.pos(lineNo, i+1), ErrSilentChange, "NUL byte: iptables-restore ends the line here and ignores the rest (expected text)")
		raw = raw[:i]
	}
	if len(raw) > maxLine {
		p.errf(p.pos(lineNo, maxLine+1), ErrSyntax, "line is %d bytes long: iptables-restore reads at most %d bytes of a line", len(raw), maxLine)
		// Keep going with the whole line, so that a long comment is still read.
	}
	hadCR := false
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
		hadCR = true
	}
	line := raw
	trimmed := line
	for trimmed != "" && (trimmed[0] == ' ' || trimmed[0] == '\t') {
		trimmed = trimmed[1:]
	}
	if trimmed == "" {
		p.comment = ""
		switch {
		case hadCR && !p.crSeen:
			p.crSeen = true
			p.errf(p.pos(lineNo, len(raw)+1), ErrSyntax, "line ends with a carriage return (CRLF line endings): iptables-restore refuses it (expected LF line endings; convert with dos2unix)")
		case line != "":
			// iptables-restore skips only a line that is empty: a line of
			// blanks is a command without words ("no command specified").
			p.errf(p.pos(lineNo, 1), ErrSyntax, "line holds only blanks: iptables-restore refuses it (expected an empty line)")
		}
		return
	}
	if hadCR && !p.crSeen && line[0] != '#' {
		p.crSeen = true
		p.errf(p.pos(lineNo, len(raw)+1), ErrSyntax, "line ends with a carriage return (CRLF line endings): iptables-restore refuses it (expected LF line endings; convert with dos2unix)")
	}
	if p.wide && !utf8.ValidString(line) && line[0] != '#' {
		p.warnf(p.pos(lineNo, 1), ErrSyntax, "line is not valid UTF-8")
	}
	switch {
	case line[0] == '#':
		if strings.HasPrefix(line, "# Warning: iptables-legacy tables present") || strings.HasPrefix(line, "# Warning: ip6tables-legacy tables present") {
			p.f.Incomplete = true
			p.warnf(p.pos(lineNo, 1), ErrIncompleteDump, "the dump is incomplete: iptables-legacy tables are present and not in it (dump them with iptables-legacy-save too)")
		}
		p.comment = strings.TrimSpace(line[1:])
		return
	case strings.HasPrefix(line, "Chain ") && (strings.Contains(line, "(policy") || strings.Contains(line, "references)")):
		p.errf(p.pos(lineNo, 1), ErrListing, "this is \"iptables -L\" output, which loses rule details; give the output of iptables-save (or iptables -S) instead")
		p.stop()
		return
	case line[0] == '*':
		p.tableLine(lineNo, line)
	case line == "COMMIT" || strings.HasPrefix(line, "COMMIT") && strings.TrimRight(line, " \t") == "COMMIT":
		if line != "COMMIT" {
			p.errf(p.pos(lineNo, 7), ErrSyntax, "trailing blanks after COMMIT: iptables-restore refuses the line (\"Bad argument `COMMIT'\"; expected COMMIT alone)")
		}
		if !p.inTable || p.f.ListRules {
			p.errf(p.pos(lineNo, 1), ErrNoTable, "COMMIT outside a table (expected a \"*table\" line before it)")
		} else {
			p.emit(&Command{Op: OpCommit, Pos: p.pos(lineNo, 1), Line: line, Table: p.table})
			p.inTable = false
		}
	case line[0] == ':':
		p.chainLine(lineNo, line)
	default:
		p.ruleLine(lineNo, line)
	}
	p.comment = ""
}

// stop ends reading of the file: what follows a listing is not rules.
func (p *fileParser) stop() {
	if p.stream != nil {
		// The commands read so far are forgotten, but they were applied
		// already: Load starts again without streaming.
		p.stream.failed = true
	}
	p.stopped = true
	p.f.Commands = nil
	p.inTable = false
	p.f.ListRules = false
}

func (p *fileParser) tableLine(lineNo int, line string) {
	name := strings.TrimRight(line[1:], " \t")
	if i := strings.IndexAny(name, " \t"); i >= 0 {
		name = name[:i]
	}
	pos := p.pos(lineNo, 1)
	if p.f.ListRules {
		p.errf(pos, ErrSyntax, "table line in iptables -S input")
		return
	}
	if p.inTable {
		p.errf(pos, ErrNoCommit, "table %s opened before table %s was committed (expected COMMIT first)", name, p.table)
	}
	if _, ok := BuiltinChains[name]; !ok {
		p.errf(p.pos(lineNo, 2), ErrUnknownTable, "unknown table %q (expected filter, nat, mangle, raw or security)", name)
	}
	p.table, p.tabPos, p.inTable = name, pos, true
	if p.stream != nil {
		// Size the table for its chain lines (a table of a kube-proxy
		// dump has tens of thousands): counting them is cheaper than
		// growing the table's map step by step.
		// iptables-save prints them right after the table's line: the
		// count stops at the first other line, so as not to read the
		// whole table here, while the workers wait.
		n := 0
		for rest := p.rest; len(rest) > 0 && rest[0] == ':'; n++ {
			i := strings.IndexByte(rest, '\n')
			if i < 0 {
				n++
				break
			}
			rest = rest[i+1:]
		}
		p.stream.a.chainHint = n
		if !p.leanChains {
			// File.Commands keeps the chain lines (and COMMIT).
			p.f.Commands = slices.Grow(p.f.Commands, n+2)
		}
	}
	p.emit(&Command{Op: OpTable, Pos: pos, Line: line, Table: name, Comment: p.comment})
}

func (p *fileParser) chainLine(lineNo int, line string) {
	if p.pipe != nil {
		// A kube-proxy dump declares tens of thousands of chains: a
		// worker parses their lines too, as it does rule lines.
		p.pipe.add(p, ruleJob{lineNo: lineNo, line: line, chain: true,
			table: p.table, inTable: p.inTable, comment: p.comment})
		return
	}
	if cmd := p.parseChainLine(lineNo, line); cmd != nil {
		p.emit(cmd)
	}
}

// parseChainLine parses a ":CHAIN POLICY [packets:bytes]" line in the
// parser's current context (table, comment) and returns its command, or
// nil.
func (p *fileParser) parseChainLine(lineNo int, line string) *Command {
	pos := p.pos(lineNo, 1)
	if !p.inTable {
		p.errf(pos, ErrNoTable, "chain line outside a table (expected a \"*table\" line before it)")
		return nil
	}
	p.toks, _ = tokenize(line[1:], p.toks)
	toks := p.toks
	if len(toks) == 0 || toks[0].col != 1 {
		p.errf(p.pos(lineNo, 2), ErrSyntax, "missing chain name after ':' (expected :CHAIN POLICY [packets:bytes])")
		return nil
	}
	var cmd *Command
	if p.leanChains && p.cmdSlot != nil {
		// A lean load keeps no chain line (emitNow): its command can
		// live in the slot of the line, which serves again.
		cmd = p.cmdSlot
	} else {
		cmd = new(Command)
	}
	*cmd = Command{Op: OpChain, Pos: pos, Line: line, Table: p.table, Chain: toks[0].text, Comment: p.comment}
	if !p.validChainName(cmd.Chain, p.pos(lineNo, 2)) {
		return nil
	}
	if len(toks) < 2 {
		p.errf(p.pos(lineNo, len(line)+1), ErrSyntax, "missing policy after chain %s (expected ACCEPT, DROP or -)", cmd.Chain)
		return nil
	}
	cmd.Policy = toks[1].text
	polPos := p.pos(lineNo, toks[1].col+1)
	builtin := IsBuiltin(p.table, cmd.Chain)
	_, knownTable := BuiltinChains[p.table]
	switch {
	case cmd.Policy == "-":
		if builtin {
			cmd.Policy = ""
		}
	case !knownTable:
		// The unknown table is reported on its "*table" line already.
		cmd.Policy = ""
	case !builtin:
		p.errf(polPos, ErrBuiltinChain, "policy %s on user chain %s: only built-in chains have a policy (expected -)", cmd.Policy, cmd.Chain)
		cmd.Policy = ""
	case cmd.Policy != "ACCEPT" && cmd.Policy != "DROP":
		p.errf(polPos, ErrBadValue, "bad policy %q for chain %s (expected ACCEPT or DROP)", cmd.Policy, cmd.Chain)
		cmd.Policy = ""
	}
	if len(toks) >= 3 {
		// iptables-restore loads a chain line whatever follows its
		// policy (both backends, bad counters and extra words alike):
		// a warning, not an error.
		c, err := parseCounters(toks[2].text)
		if err != nil {
			p.warnf(p.pos(lineNo, toks[2].col+1), ErrSyntax, "%v; iptables-restore ignores them", err)
		}
		cmd.Counters = c
		if len(toks) > 3 {
			p.warnf(p.pos(lineNo, toks[3].col+1), ErrSyntax, "unexpected %q after the counters of chain %s; iptables-restore ignores it", toks[3].text, cmd.Chain)
		}
	}
	return cmd
}

func (p *fileParser) validChainName(name string, pos Pos) bool {
	switch {
	case name == "":
		p.errf(pos, ErrSyntax, "empty chain name")
	case len(name) > 28:
		p.errf(pos, ErrBadValue, "chain name %q is %d characters long (iptables allows at most 28)", name, len(name))
	case name[0] == '-' || name[0] == '!':
		p.errf(pos, ErrBadValue, "chain name %q may not start with %q", name, name[0])
	default:
		return true
	}
	return false
}

// parseCounters parses "[packets:bytes]".
func parseCounters(s string) (*Counters, error) {
	if len(s) < 5 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("bad counters %q (expected [packets:bytes])", s)
	}
	ps, bs, ok := strings.Cut(s[1:len(s)-1], ":")
	pk, err1 := strconv.ParseUint(ps, 10, 64)
	by, err2 := strconv.ParseUint(bs, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad counters %q (expected [packets:bytes])", s)
	}
	return &Counters{Packets: pk, Bytes: by}, nil
}
