package parser

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// baseOpt is an option of iptables itself (not of a module).
type baseOpt struct {
	long  string
	short byte
	nargs int // -1: optional argument(s), handled by the command parser
	cmd   Op  // non-zero for commands
}

// baseOpts is iptables' own option table, in getopt order.
var baseOpts = []baseOpt{
	{"append", 'A', 1, OpAppend}, {"check", 'C', 1, OpCheck}, {"delete", 'D', 1, OpDelete},
	{"insert", 'I', 1, OpInsert}, {"replace", 'R', 1, OpReplace}, {"list", 'L', -1, 0},
	{"list-rules", 'S', -1, 0}, {"flush", 'F', -1, OpFlush}, {"zero", 'Z', -1, OpZero},
	{"new-chain", 'N', 1, OpNewChain}, {"delete-chain", 'X', -1, OpDeleteChain},
	{"rename-chain", 'E', 2, OpRename}, {"policy", 'P', 2, OpPolicy},
	{"source", 's', 1, 0}, {"src", 's', 1, 0}, {"destination", 'd', 1, 0}, {"dst", 'd', 1, 0},
	{"protocol", 'p', 1, 0}, {"in-interface", 'i', 1, 0}, {"jump", 'j', 1, 0},
	{"table", 't', 1, 0}, {"match", 'm', 1, 0}, {"numeric", 'n', 0, 0},
	{"out-interface", 'o', 1, 0}, {"verbose", 'v', 0, 0}, {"exact", 'x', 0, 0},
	{"fragment", 'f', 0, 0}, {"version", 'V', 0, 0}, {"help", 'h', 0, 0},
	{"line-numbers", 0, 0, 0}, {"modprobe", 'M', 1, 0}, {"set-counters", 'c', 2, 0},
	{"goto", 'g', 1, 0}, {"ipv4", '4', 0, 0}, {"ipv6", '6', 0, 0}, {"wait", 'w', -1, 0},
	{"wait-interval", 'W', 1, 0},
}

func baseByShort(c byte) *baseOpt { return baseShort[c] }

// baseShort maps a short option letter to the first of iptables' own
// options that has it.
var baseShort = func() (m [256]*baseOpt) {
	for i := range baseOpts {
		if b := &baseOpts[i]; m[b.short] == nil {
			m[b.short] = b
		}
	}
	return m
}()

// ruleParser parses the words of one rule line.
type ruleParser struct {
	fp     *fileParser
	lineNo int
	toks   []token
	i      int
	b      builder

	rule    *Rule
	srcs    []*AddrMatch
	dsts    []*AddrMatch
	neg     bool
	negPos  Pos
	unknown *Match // the last unknown module, which takes unknown options
	skip    bool   // rule for the other family (-4/-6): iptables-restore skips it
	cand    [1]candidate
	// targetAt is how many matches were loaded when -j was read.
	targetAt int
	// defs are the definitions of the rule's matches (nil for an unknown
	// module), tdef that of its extension target.
	defs []*moduleDef
	tdef *targetDef
	errs ErrorList
}

func (rp *ruleParser) pos(t token) Pos { return rp.fp.pos(rp.lineNo, t.col) }

func (rp *ruleParser) errf(pos Pos, sentinel error, format string, args ...any) {
	rp.errs.addFor(rp.fp.f.Family, pos, sentinel, SevError, format, args...)
}

// ruleLine parses a command line:
//
//	line    = [ "[" packets ":" bytes "]" ] command chain [ number ] { option } .
//	option  = [ "!" ] ( "-" letter | "--" name [ "=" value ] ) { value } .
func (p *fileParser) ruleLine(lineNo int, line string) {
	if p.pipe != nil {
		// Remember the line and its context; a worker parses it (see
		// parallel.go).
		p.pipe.add(p, ruleJob{lineNo: lineNo, line: line, rest: p.rest,
			table: p.table, inTable: p.inTable, comment: p.comment})
		return
	}
	if cmd := p.parseRuleLine(lineNo, line); cmd != nil {
		p.emit(cmd)
	}
}

// parseRuleLine parses one command line in the parser's current context
// (table, comment) and returns its command, or nil.
func (p *fileParser) parseRuleLine(lineNo int, line string) *Command {
	var info lineInfo
	p.toks, info = tokenize(line, p.toks)
	rp := &p.rp
	*rp = ruleParser{fp: p, lineNo: lineNo, toks: p.toks, errs: rp.errs[:0], defs: p.matchDefs[:0]}
	rp.b = builder{errs: &rp.errs, family: p.f.Family, a: &p.a}
	cmd := rp.command(line)
	if info.unterminated > 0 {
		msg := "unterminated quote: iptables-restore takes the rest of the line as this value"
		if cmd != nil && len(cmd.Rules) > 0 && cmd.Rules[0].Target == nil {
			msg += ", and the rule loses its target"
		}
		rp.errf(p.pos(lineNo, info.unterminated), ErrSilentChange, "%s (expected a closing '\"')", forFamily(p.f.Family, msg, false))
	}
	p.f.Diags = append(p.f.Diags, rp.errs...)
	for _, e := range rp.errs {
		if e.Severity == SevError {
			p.nerr++
		}
	}
	if cmd == nil || rp.skip {
		return nil
	}
	if !p.inTable {
		p.errf(cmd.Pos, ErrNoTable, "%s outside a table (expected a \"*table\" line before it)", cmd.Op)
		return nil
	}
	cmd.Table = p.table
	cmd.Comment = p.comment
	for _, r := range cmd.Rules {
		r.Table = p.table
	}
	return cmd
}

func (rp *ruleParser) next() (token, bool) {
	if rp.i >= len(rp.toks) {
		return token{}, false
	}
	t := rp.toks[rp.i]
	rp.i++
	return t, true
}

func (rp *ruleParser) peek() (token, bool) {
	if rp.i >= len(rp.toks) {
		return token{}, false
	}
	return rp.toks[rp.i], true
}

// isOptionWord reports whether a word starts an option (rather than being a
// value).
func isOptionWord(s string) bool {
	return len(s) >= 2 && s[0] == '-' && !(s[1] >= '0' && s[1] <= '9')
}

func (rp *ruleParser) command(line string) *Command {
	t, ok := rp.next()
	if !ok {
		return nil
	}
	var counters *Counters
	if strings.HasPrefix(t.text, "[") {
		c, err := parseCounters(t.text)
		if err != nil {
			rp.errf(rp.pos(t), ErrSyntax, "%v", err)
		}
		counters = c
		if t, ok = rp.next(); !ok {
			rp.errf(rp.pos(t), ErrSyntax, "counters without a command (expected [packets:bytes] -A CHAIN …)")
			return nil
		}
	}
	cmdTok := t
	var def *baseOpt
	if strings.HasPrefix(t.text, "--") {
		def = rp.resolveBaseCommand(t)
	} else if len(t.text) == 2 && t.text[0] == '-' {
		def = baseByShort(t.text[1])
		if def != nil && def.cmd == 0 {
			def = nil
		}
	}
	if def == nil || def.cmd == 0 {
		if def == nil && !strings.HasPrefix(t.text, "-") {
			rp.errf(rp.pos(t), ErrSyntax, "unexpected %q (expected a command such as -A CHAIN, a \":CHAIN\" line, \"*table\" or COMMIT)", trunc(t.text))
		} else {
			rp.errf(rp.pos(t), ErrSyntax, "unexpected %q (expected a command: -A, -I, -D, -R, -N, -X, -F, -Z, -P or -E)", trunc(t.text))
		}
		return nil
	}
	var cmd *Command
	switch def.cmd {
	case OpAppend, OpInsert, OpReplace, OpCheck:
		// Load forgets these commands once applied (dropRuleCommands):
		// they get a slab of their own.
		if p := rp.fp; p.cmdSlot != nil {
			// Streamed: applied soon and forgotten, so the slot serves
			// again.
			*p.cmdSlot = Command{Op: def.cmd, Pos: rp.pos(cmdTok), Line: line, Counters: counters}
			cmd = p.cmdSlot
		} else {
			cmd = rp.fp.a.cmds.put(Command{Op: def.cmd, Pos: rp.pos(cmdTok), Line: line, Counters: counters})
		}
	default:
		cmd = &Command{Op: def.cmd, Pos: rp.pos(cmdTok), Line: line, Counters: counters}
	}
	chainTok, hasChain := rp.peek()
	if hasChain && !isOptionWord(chainTok.text) {
		rp.i++
		cmd.Chain = chainTok.text
		if !rp.fp.validChainName(cmd.Chain, rp.pos(chainTok)) {
			return nil
		}
	}
	needChain := func() bool {
		if cmd.Chain == "" {
			rp.errf(cmd.Pos, ErrSyntax, "%s needs a chain name", cmdTok.text)
			return false
		}
		return true
	}
	number := func(optional bool) bool {
		t, ok := rp.peek()
		if !ok || isOptionWord(t.text) {
			if !optional {
				rp.errf(cmd.Pos, ErrSyntax, "%s %s needs a rule number", cmdTok.text, cmd.Chain)
			}
			return optional
		}
		n, err := parseUint(t.text, 1<<31)
		if err != nil || n == 0 {
			if optional && cmd.Op != OpDelete {
				rp.errf(rp.pos(t), ErrBadValue, "invalid rule number %q (expected a number from 1)", t.text)
				rp.i++
				return false
			}
			// -D CHAIN takes a rule number when the next word starts
			// with neither '-' nor '!' (as iptables does): "-D INPUT 0"
			// is a bad number, not a rule.
			if cmd.Op == OpDelete && (t.text == "" || t.text[0] == '-' || t.text[0] == '!') {
				return true
			}
			if cmd.Op == OpDelete {
				rp.errf(rp.pos(t), ErrBadValue, "invalid rule number %q (expected a number from 1)", t.text)
				return false
			}
			rp.errf(rp.pos(t), ErrBadValue, "invalid rule number %q (expected a number from 1)", t.text)
			return false
		}
		rp.i++
		cmd.Num = int(n)
		return true
	}
	switch cmd.Op {
	case OpAppend, OpCheck:
		if !needChain() {
			return nil
		}
	case OpInsert:
		if !needChain() || !number(true) {
			return nil
		}
	case OpDelete:
		if !needChain() || !number(true) {
			return nil
		}
		if cmd.Num > 0 {
			cmd.Op = OpDeleteNum
		}
	case OpReplace:
		if !needChain() || !number(false) {
			return nil
		}
	case OpNewChain:
		if !needChain() {
			return nil
		}
		rp.trailing(cmd)
		return cmd
	case OpDeleteChain, OpFlush:
		rp.trailing(cmd)
		return cmd
	case OpZero:
		if cmd.Chain != "" {
			number(true)
		}
		rp.trailing(cmd)
		return cmd
	case OpPolicy:
		if !needChain() {
			return nil
		}
		t, ok := rp.next()
		if !ok {
			rp.errf(cmd.Pos, ErrSyntax, "-P %s needs a policy (expected ACCEPT or DROP)", cmd.Chain)
			return nil
		}
		if t.text != "ACCEPT" && t.text != "DROP" {
			rp.errf(rp.pos(t), ErrBadValue, "bad policy %q (expected ACCEPT or DROP)", t.text)
			return nil
		}
		cmd.Policy = t.text
		rp.trailing(cmd)
		return cmd
	case OpRename:
		if !needChain() {
			return nil
		}
		t, ok := rp.next()
		if !ok {
			rp.errf(cmd.Pos, ErrSyntax, "-E %s needs a new name", cmd.Chain)
			return nil
		}
		if !rp.fp.validChainName(t.text, rp.pos(t)) {
			return nil
		}
		cmd.NewName = t.text
		rp.trailing(cmd)
		return cmd
	}
	// Rule commands: -A, -I, -D spec, -R, -C.
	rp.rule = rp.fp.a.rules.put(Rule{Chain: cmd.Chain, Pos: cmd.Pos, Line: line, Counters: counters, Matches: rp.fp.matchScratch[:0]})
	rp.b.rule = rp.rule
	rp.options()
	if rp.skip {
		return cmd
	}
	rp.finish()
	cmd.Rules = rp.expand()
	return cmd
}

// trailing reports words after a command that takes no more.
func (rp *ruleParser) trailing(cmd *Command) {
	if t, ok := rp.next(); ok {
		rp.errf(rp.pos(t), ErrSyntax, "unexpected %q after %s (expected end of line)", trunc(t.text), cmd.Op)
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func (rp *ruleParser) resolveBaseCommand(t token) *baseOpt {
	name, _, _ := strings.Cut(t.text[2:], "=")
	var found *baseOpt
	for i := range baseOpts {
		b := &baseOpts[i]
		if b.long == name {
			return b
		}
		if strings.HasPrefix(b.long, name) && name != "" {
			if found != nil && found.short != b.short {
				return nil
			}
			found = b
		}
	}
	return found
}

// candidate is one owner of a long option name.
type candidate struct {
	base   *baseOpt
	match  *Match
	target *Target
	def    *optDef
	name   string
}

// options parses the option words of a rule.
func (rp *ruleParser) options() {
	for {
		t, ok := rp.next()
		if !ok {
			break
		}
		switch {
		case t.text == "!" && !t.quoted:
			if rp.neg {
				rp.errf(rp.pos(t), ErrSyntax, "multiple '!' (expected one '!' before an option)")
			}
			rp.neg, rp.negPos = true, rp.pos(t)
		case strings.HasPrefix(t.text, "--") && len(t.text) > 2 && !t.quoted:
			rp.longOption(t)
		case len(t.text) >= 2 && t.text[0] == '-' && !t.quoted:
			rp.shortOption(t)
		default:
			rp.errf(rp.pos(t), ErrSyntax, "unexpected value %q (expected an option; is an option missing before it?)", trunc(t.text))
		}
		if rp.skip {
			return
		}
	}
	if rp.neg {
		rp.errf(rp.negPos, ErrSyntax, "'!' at the end of the line (expected an option after it)")
	}
}

func (rp *ruleParser) takeNeg(p Pos) bool {
	n := rp.neg
	rp.neg = false
	return n
}

// values takes n argument words after an option. An old-style "!" among
// them (-s ! ADDR) is taken as negation and reported: iptables 1.8 refuses
// it.
func (rp *ruleParser) values(prefix, name string, t token, n int, attached *string, keep bool) ([]string, bool, bool) {
	size := n
	if attached != nil && size < 1 {
		size = 1
	}
	// The values of an option that the rule keeps go to the arena; those
	// of iptables' own options (-s, -j, …) are read once, from scratch.
	var out []string
	if keep {
		out = rp.fp.a.strs.make(size)
	} else {
		if cap(rp.fp.argScratch) < size {
			rp.fp.argScratch = make([]string, 0, size)
		}
		out = rp.fp.argScratch[:0]
	}
	oldNeg := false
	if attached != nil {
		out = append(out, *attached)
		n--
	}
	for len(out) < n+boolInt(attached != nil) {
		v, ok := rp.peek()
		if !ok {
			rp.errf(rp.pos(t), ErrSyntax, "option %s%s needs %s", prefix, name, plural(n, "value"))
			return out, oldNeg, false
		}
		if v.text == "!" && !v.quoted && len(out) == 0 {
			rp.i++
			oldNeg = true
			opt := prefix + name
			rp.errf(rp.pos(v), ErrSyntax, "old-style negation \"%s ! VALUE\": iptables 1.8 refuses it (expected \"! %s VALUE\")", opt, opt)
			continue
		}
		// getopt gives an option's first argument the next word whatever
		// it looks like ("-i -A" names the interface "-A"); the further
		// arguments that extensions read themselves may not start with '-'.
		if len(out) > 0 && isOptionWord(v.text) && !v.quoted {
			rp.errf(rp.pos(t), ErrSyntax, "option %s%s needs %s, found option %q", prefix, name, plural(n, "value"), v.text)
			return out, oldNeg, false
		}
		rp.i++
		out = append(out, v.text)
	}
	return out, oldNeg, true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func plural(n int, s string) string {
	if n == 1 {
		return "a " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

func (rp *ruleParser) shortOption(t token) {
	c := t.text[1]
	def := baseByShort(c)
	if def == nil {
		rp.errf(rp.pos(t), ErrUnknownOption, "unknown option %q", t.text)
		return
	}
	var attached *string
	if len(t.text) > 2 {
		if def.nargs == 0 {
			rp.errf(rp.pos(t), ErrUnknownOption, "unknown option %q", t.text)
			return
		}
		a := t.text[2:]
		attached = &a
	}
	rp.base(def, t, attached)
}

func (rp *ruleParser) longOption(t token) {
	name, val, hasVal := strings.Cut(t.text[2:], "=")
	var attached *string
	if hasVal {
		attached = &val
	}
	cands := rp.candidates(name)
	if len(cands) == 0 {
		// iptables loads the protocol's module for an option it does not
		// know when -p names a protocol ("-p tcp --dport 22").
		if pr := rp.rule.Proto; pr != nil && !pr.Neg {
			if mod := protoModule(pr.Num); mod != "" && !rp.loaded(mod) && familyHas(mod, rp.fp.f.Family) {
				// getopt then resolves the option, abbreviated or not,
				// against the module's options too.
				if def := matchModules[mod]; def != nil && hasOptPrefix(def.opts, name) {
					rp.addMatch(Match{Name: mod, Implicit: true, Pos: rp.pos(t)}, def)
					cands = rp.candidates(name)
				}
			}
		}
	}
	if len(cands) == 0 {
		if rp.unknown != nil {
			rp.unknownOption(rp.unknown, nil, t, name, attached)
			return
		}
		// An option no module and no target dfw knows takes: kept on a
		// target dfw does not know (its own, presumably), refused after
		// one it knows, whose options iptables would read it against.
		if tg := rp.rule.Target; tg != nil && tg.Spec == nil && tg.Kind != TargetVerdict && (tg.Kind != TargetExtension || rp.tdef == nil) {
			rp.unknownOption(nil, tg, t, name, attached)
			return
		}
		rp.errf(rp.pos(t), ErrUnknownOption, "unknown option %q%s", "--"+name, rp.optionHint(name))
		rp.skipValues()
		rp.neg = false
		return
	}
	if len(cands) > 1 {
		var names []string
		for _, c := range cands {
			names = append(names, "--"+c.name)
		}
		rp.errf(rp.pos(t), ErrBadOption, "option %q is ambiguous (possibilities: %s)", "--"+name, strings.Join(names, " "))
		rp.skipValues()
		rp.neg = false
		return
	}
	c := cands[0]
	switch {
	case c.base != nil:
		rp.base(c.base, t, attached)
	default:
		neg := rp.takeNeg(rp.pos(t))
		vals, oldNeg, ok := rp.values("--", c.name, t, c.def.nargs, attached, true)
		if !ok {
			return
		}
		if hasVal && c.def.nargs == 0 {
			rp.errf(rp.pos(t), ErrSyntax, "option --%s takes no value", c.name)
		}
		op := Option{Name: c.def.names[0], Neg: neg || oldNeg, Args: vals, Pos: rp.pos(t)}
		if neg && oldNeg {
			rp.errf(rp.pos(t), ErrSyntax, "multiple '!' for --%s", c.name)
		}
		if c.match != nil {
			prevs := c.match.Options
			if c.match.Name == "policy" {
				// -m policy's --next starts the next policy element,
				// whose options are its own.
				for i := len(prevs) - 1; i >= 0; i-- {
					if prevs[i].Name == "next" {
						prevs = prevs[i+1:]
						break
					}
				}
			}
			for _, prev := range prevs {
				if prev.Name == op.Name && op.Name != "to-destination" && op.Name != "to-source" {
					rp.errf(rp.pos(t), ErrBadOption, "option --%s given twice for -m %s", c.name, c.match.Name)
				}
			}
			c.match.Options = append(c.match.Options, op)
		} else {
			c.target.Options = append(c.target.Options, op)
		}
	}
}

// optionHint explains an unknown option where a common mistake explains it.
func (rp *ruleParser) optionHint(name string) string {
	for mod, def := range map[string]*moduleDef{"tcp": matchModules["tcp"], "udp": matchModules["udp"]} {
		if lookupOpt(def.opts, name) != nil {
			if rp.rule.Proto == nil {
				return fmt.Sprintf(" (--%s needs -p tcp, -p udp or -p sctp before it, or -m multiport)", name)
			}
			if p := rp.rule.Proto; !p.Neg && p.Num == 136 {
				return forFamily(rp.fp.f.Family, fmt.Sprintf(" (iptables has no udplite port match: it refuses --%s after -p udplite; use -m multiport --sports or --dports)", name), false)
			}
			_ = mod
		}
	}
	return " (is a -m MODULE missing before it?)"
}

func (rp *ruleParser) skipValues() {
	for {
		v, ok := rp.peek()
		if !ok || (isOptionWord(v.text) && !v.quoted) || (v.text == "!" && !v.quoted) {
			return
		}
		rp.i++
	}
}

// unknownOption attaches an option to an unknown module or target, with
// every following word that is not an option as its arguments.
func (rp *ruleParser) unknownOption(m *Match, tg *Target, t token, name string, attached *string) {
	op := Option{Name: name, Neg: rp.takeNeg(rp.pos(t)), Pos: rp.pos(t)}
	if attached != nil {
		op.Args = append(op.Args, *attached)
	}
	for {
		v, ok := rp.peek()
		if !ok || (isOptionWord(v.text) && !v.quoted) || (v.text == "!" && !v.quoted) {
			break
		}
		rp.i++
		op.Args = append(op.Args, v.text)
	}
	if m != nil {
		m.Options = append(m.Options, op)
	} else {
		tg.Options = append(tg.Options, op)
	}
}

func (rp *ruleParser) loaded(mod string) bool {
	for _, m := range rp.rule.Matches {
		if m.Name == mod {
			return true
		}
	}
	return false
}

// hasOptPrefix reports whether name is one of the options or the
// beginning of one.
func hasOptPrefix(opts []optDef, name string) bool {
	for i := range opts {
		for _, n := range opts[i].names {
			if strings.HasPrefix(n, name) {
				return true
			}
		}
	}
	return false
}

func lookupOpt(opts []optDef, name string) *optDef {
	for i := range opts {
		for _, n := range opts[i].names {
			if n == name {
				return &opts[i]
			}
		}
	}
	return nil
}

// baseByFirst lists iptables' own options by the first letter of their
// long name, for baseLong.
var baseByFirst = func() (m [256][]*baseOpt) {
	for i := range baseOpts {
		b := &baseOpts[i]
		m[b.long[0]] = append(m[b.long[0]], b)
	}
	return m
}()

// baseLong returns iptables' own option whose long name is name, or nil.
func baseLong(name string) *baseOpt {
	if name == "" {
		return nil
	}
	for _, b := range baseByFirst[name[0]] {
		if b.long == name {
			return b
		}
	}
	return nil
}

// optIndex maps every long name of a module's options to its definition.
type optIndex map[string]*optDef

func indexOpts(opts []optDef) (index optIndex, flagged bool) {
	index = optIndex{}
	for i := range opts {
		for _, n := range opts[i].names {
			index[n] = &opts[i]
		}
		flagged = flagged || opts[i].flags != 0
	}
	return index, flagged
}

func init() {
	for _, def := range matchModules {
		def.index, def.flagged = indexOpts(def.opts)
	}
	for _, def := range targetDefs {
		def.index, def.flagged = indexOpts(def.opts)
	}
}

// candidates resolves a long option name as getopt_long does over the
// merged option table (iptables' own options, then each loaded module's,
// then the target's): an exact name wins, else a unique prefix. The common
// case, an exact name, allocates nothing but the one-element result.
func (rp *ruleParser) candidates(name string) []candidate {
	if c, ok := rp.exact(name); ok {
		rp.cand[0] = c
		return rp.cand[:1]
	}
	var all []candidate
	for i := range baseOpts {
		all = append(all, candidate{base: &baseOpts[i], name: baseOpts[i].long})
	}
	for _, m := range rp.rule.Matches {
		def := matchModules[m.Name]
		if def == nil {
			continue
		}
		for i := range def.opts {
			for _, n := range def.opts[i].names {
				all = append(all, candidate{match: m, def: &def.opts[i], name: n})
			}
		}
	}
	if tg := rp.rule.Target; tg != nil && tg.Kind == TargetExtension {
		if def := targetDefs[tg.Name]; def != nil {
			for i := range def.opts {
				for _, n := range def.opts[i].names {
					all = append(all, candidate{target: tg, def: &def.opts[i], name: n})
				}
			}
		}
	}
	var out []candidate
	for _, c := range all {
		if strings.HasPrefix(c.name, name) {
			dup := false
			for _, o := range out {
				if o.same(c) {
					dup = true
				}
			}
			if !dup {
				out = append(out, c)
			}
		}
	}
	return out
}

// exact finds an option whose full name is name, in getopt's order:
// iptables' own options, then the modules from the most recently loaded to
// the first (xtables merges a new module's options before the older ones, so
// "-m mark --mark 1 -m connmark --mark 2" gives the second --mark to
// connmark). The target counts as loaded when -j is read.
func (rp *ruleParser) exact(name string) (candidate, bool) {
	if b := baseLong(name); b != nil {
		return candidate{base: b, name: name}, true
	}
	ms := rp.rule.Matches
	tg := rp.rule.Target
	for i := len(ms); i >= 0; i-- {
		if tg != nil && tg.Kind == TargetExtension && rp.targetAt == i {
			if d := rp.tdef.index[name]; d != nil {
				return candidate{target: tg, def: d, name: name}, true
			}
		}
		if i == 0 {
			break
		}
		if def := rp.defs[i-1]; def != nil {
			if d := def.index[name]; d != nil {
				return candidate{match: ms[i-1], def: d, name: name}, true
			}
		}
	}
	return candidate{}, false
}

// same reports whether two candidates are the same getopt entry (e.g.
// --source and --src, or --dport and --destination-port of one module).
func (c candidate) same(d candidate) bool {
	switch {
	case c.base != nil && d.base != nil:
		return c.base.short == d.base.short && c.base.short != 0
	case c.match != nil && d.match != nil:
		return c.match == d.match && c.def == d.def
	case c.target != nil && d.target != nil:
		return c.def == d.def
	}
	return false
}

// base handles one of iptables' own options.
func (rp *ruleParser) base(def *baseOpt, t token, attached *string) {
	pos := rp.pos(t)
	if def.cmd != 0 || def.nargs < 0 {
		rp.errf(pos, ErrSyntax, "a second command %q on the line (expected one command per line)", t.text)
		rp.skipValues()
		return
	}
	neg := rp.takeNeg(pos)
	nargs := def.nargs
	vals, oldNeg, ok := rp.values("", t.text, t, nargs, attached, false)
	if !ok {
		return
	}
	neg = neg || oldNeg
	v := ""
	if len(vals) > 0 {
		v = vals[0]
	}
	r := rp.rule
	negErr := func() {
		if neg {
			rp.errf(pos, ErrSyntax, "%s cannot be negated", t.text)
		}
	}
	switch def.short {
	case 's', 'd':
		if (def.short == 's' && rp.srcs != nil) || (def.short == 'd' && rp.dsts != nil) {
			rp.errf(pos, ErrBadOption, "option %s given twice", t.text)
			return
		}
		if neg && strings.IndexByte(v, ',') >= 0 {
			rp.errf(pos, ErrBadOption, "! cannot be used with a list of addresses in %s", t.text)
		}
		// A non-nil list, empty when no address is good, tells that the
		// option was given.
		list := rp.fp.srcBuf[:0]
		if def.short == 'd' {
			list = rp.fp.dstBuf[:0]
		}
		if list == nil {
			list = make([]*AddrMatch, 0, 4)
		}
		for rest, more := v, true; more; {
			var part string
			part, rest, more = strings.Cut(rest, ",")
			a, m, err := parseAddrMask(part, rp.fp.f.Family)
			if err != nil {
				sentinel := ErrBadValue
				for _, e := range []error{ErrHostname, ErrFamily} {
					if errors.Is(err, e) {
						sentinel = e
					}
				}
				rp.errf(pos, sentinel, "%s: %v", t.text, err)
				continue
			}
			if neg && MaskLen(m) == 0 {
				rp.errf(pos, ErrSilentChange, "\"! %s %s\" matches no packet: iptables-restore --test accepts it but the kernel refuses to load it", t.text, v)
			}
			list = append(list, rp.fp.a.addrs.put(AddrMatch{Neg: neg, Addr: a, Mask: m, Pos: pos}))
		}
		if def.short == 's' {
			rp.srcs, rp.fp.srcBuf = list, list
		} else {
			rp.dsts, rp.fp.dstBuf = list, list
		}
	case 'i', 'o':
		if (def.short == 'i' && r.In != nil) || (def.short == 'o' && r.Out != nil) {
			rp.errf(pos, ErrBadOption, "option %s given twice", t.text)
			return
		}
		if len(v) > 15 {
			rp.errf(pos, ErrBadValue, "interface name %q is longer than 15 characters", v)
		}
		if strings.ContainsAny(v, "/ ") {
			// iptables warns the same and loads the rule, which then
			// matches no interface.
			rp.fp.warnf(pos, ErrBadValue, "interface name %q: the kernel allows no '/' or ' ' in an interface's name, so this never names one (iptables: \"weird character in interface\")", v)
		}
		im := rp.fp.a.ifaces.put(ifaceMatch(v, neg, pos))
		if def.short == 'i' {
			r.In = im
		} else {
			r.Out = im
		}
	case 'p':
		if r.Proto != nil {
			rp.errf(pos, ErrBadOption, "option %s given twice", t.text)
			return
		}
		n, err := parseProto(v)
		if err != nil {
			rp.errf(pos, ErrBadValue, "%s: %v", t.text, err)
			return
		}
		if n == 0 && neg {
			rp.errf(pos, ErrBadValue, "\"! -p all\" matches no packet (iptables refuses it)")
		}
		// The kernel loads both: they match only packets of the other
		// family's ICMP carried over this one, which real traffic does not
		// hold.
		if rp.fp.f.Family == IPv6 && n == 1 {
			rp.fp.warnf(pos, ErrFamily, "-p %s in an IPv6 ruleset matches no ICMPv6 packet (expected -p ipv6-icmp)", v)
		}
		if rp.fp.f.Family == IPv4 && n == 58 {
			rp.fp.warnf(pos, ErrFamily, "-p %s in an IPv4 ruleset matches no ICMP packet (expected -p icmp)", v)
		}
		r.Proto = rp.fp.a.protos.put(ProtoMatch{Neg: neg, Num: n, Name: strings.ToLower(v), Pos: pos})
	case 'f':
		if rp.fp.f.Family == IPv6 {
			rp.errf(pos, ErrFamily, "-f is not available in ip6tables (expected -m frag)")
		}
		r.Fragment = &Flag{Neg: neg, Pos: pos}
	case 'm':
		negErr()
		rp.loadMatch(v, pos)
	case 'j', 'g':
		negErr()
		if r.Target != nil {
			rp.errf(pos, ErrBadOption, "a second target %q (expected one -j or -g)", v)
			return
		}
		rp.setTarget(v, def.short == 'g', pos)
	case 'c':
		negErr()
		pk, err1 := parseUint(vals[0], 1<<63)
		by, err2 := parseUint(vals[1], 1<<63)
		if err1 != nil || err2 != nil {
			rp.errf(pos, ErrBadValue, "-c: bad counters %q %q (expected PACKETS BYTES)", vals[0], vals[1])
			return
		}
		r.SetCounter = &Counters{Packets: pk, Bytes: by}
	case '4':
		if rp.fp.f.Family == IPv6 {
			rp.skip = true
			rp.fp.warnf(pos, ErrFamily, "rule marked -4 in an IPv6 ruleset: ip6tables-restore skips it")
		}
	case '6':
		if rp.fp.f.Family == IPv4 {
			rp.skip = true
			rp.fp.warnf(pos, ErrFamily, "rule marked -6 in an IPv4 ruleset: iptables-restore skips it")
		}
	case 't':
		rp.errf(pos, ErrSyntax, "-t in a restore file (the table comes from the \"*table\" line)")
	default:
		rp.errf(pos, ErrSyntax, "option %s has no place in a rule", t.text)
	}
}

func ifaceMatch(v string, neg bool, pos Pos) IfaceMatch {
	im := IfaceMatch{Neg: neg, Name: v, Pos: pos}
	if strings.HasSuffix(v, "+") {
		im.Wildcard = true
		im.Name = strings.TrimSuffix(v, "+")
	}
	return im
}

func parseProto(v string) (uint8, error) {
	if n, ok := protocols[strings.ToLower(v)]; ok {
		return n, nil
	}
	if n, err := parseUint(v, 255); err == nil {
		return uint8(n), nil
	}
	if strings.EqualFold(v, "icmp6") {
		return 0, fmt.Errorf("unknown protocol %q: iptables refuses it (expected ipv6-icmp, icmpv6 or 58; icmp6 names the match module, -m icmp6)", v)
	}
	return 0, fmt.Errorf("unknown protocol %q (expected a name such as tcp, udp, icmp, or a number 0-255)", v)
}

func (rp *ruleParser) loadMatch(name string, pos Pos) {
	lname := strings.ToLower(name)
	m := Match{Name: lname, Pos: pos}
	if !validModuleName(name) {
		// iptables cannot load such a module and refuses the rule; it
		// would not print back either.
		rp.errf(pos, ErrUnknownMatch, "no match module can be named %q: iptables refuses the rule (expected a module name such as tcp or conntrack)", name)
		return
	}
	def := matchModules[lname]
	if name != lname && def != nil {
		// Extensions are found by file name: "Couldn't load match
		// `TCP'" (the kernel oracle; -p TCP is read without case).
		rp.errf(pos, ErrUnknownMatch, "-m %s: iptables refuses it: match names are case-sensitive (expected -m %s)", name, lname)
		return
	}
	if lname == "udplite" {
		// The kernel has a udplite match, but iptables has no extension
		// for it: "Couldn't load match".
		rp.errf(pos, ErrUnknownMatch, "-m udplite: iptables has no udplite match and refuses the rule (expected -p udplite -m multiport --sports, --dports or --ports for its ports)")
		return
	}
	if fam, ok := moduleFamily[lname]; ok && def != nil && fam != rp.fp.f.Family {
		// Each family's iptables has its own extensions: "Couldn't load
		// match".
		tool, other := "iptables", "ip6tables"
		if rp.fp.f.Family == IPv6 {
			tool, other = other, tool
		}
		rp.errf(pos, ErrFamily, "-m %s is a match of %s: %s refuses the rule (expected %s rules, read with --%s, or a match of this family)", name, other, tool, other, strings.ToLower(fam.String()))
		// Its options are kept with it, as an unknown module's are, rather
		// than reported again one by one.
		m.Spec = &UnknownMatch{}
		rp.unknown = rp.addMatch(m, nil)
		return
	}
	if def == nil {
		rp.fp.warnf(pos, ErrUnknownMatch, "unknown match module %q: kept as written; its outcome is taken as unknown (may match)", name)
		m.Spec = &UnknownMatch{}
		rp.unknown = rp.addMatch(m, nil)
		return
	} else if rp.loaded(lname) && lname != "comment" && lname != "set" && lname != "recent" && lname != "mark" && lname != "connmark" && lname != "conntrack" && lname != "u32" && lname != "string" {
		// A module can be loaded twice; options then go to the latest.
		rp.fp.warnf(pos, ErrBadOption, "match module %q loaded twice on one rule", name)
	}
	rp.addMatch(m, def)
}

// addMatch appends a match to the rule. Its options go to a scratch slice
// of the parser until finish copies them.
func (rp *ruleParser) addMatch(m Match, def *moduleDef) *Match {
	p := rp.fp
	rp.defs = append(rp.defs, def)
	k := len(rp.rule.Matches)
	if k == len(p.optScratch) {
		p.optScratch = append(p.optScratch, nil)
	}
	m.Options = p.optScratch[k][:0]
	pm := p.a.matches.put(m)
	rp.rule.Matches = append(rp.rule.Matches, pm)
	return pm
}

// validModuleName reports whether name can name an extension: letters,
// digits, '_', '-' and '.', not starting with '-'.
func validModuleName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// verdicts are the standard targets.
var verdicts = map[string]bool{"ACCEPT": true, "DROP": true, "RETURN": true, "QUEUE": true}

// isVerdict reports whether name is a standard target (verdicts).
func isVerdict(name string) bool {
	switch name {
	case "ACCEPT", "DROP", "RETURN", "QUEUE":
		return true
	}
	return false
}

// setTargetDef looks the extension target name up and reports whether it
// is known.
func (rp *ruleParser) setTargetDef(name string) bool {
	rp.tdef = nil
	if len(name) <= maxTargetName { // longer names are chains: no lookup
		rp.tdef = targetDefs[name]
	}
	return rp.tdef != nil
}

// maxTargetName is the length of the longest extension target's name.
var maxTargetName int

func init() {
	for name := range targetDefs {
		maxTargetName = max(maxTargetName, len(name))
	}
}

func (rp *ruleParser) setTarget(name string, isGoto bool, pos Pos) {
	if name == "" {
		rp.errf(pos, ErrSyntax, "-%c \"\": invalid target name (too short): iptables refuses the rule (expected a target such as ACCEPT or a chain name)",
			map[bool]byte{true: 'g', false: 'j'}[isGoto])
		return
	}
	tg := rp.fp.a.targets.put(Target{Name: name, Goto: isGoto, Pos: pos, Options: rp.fp.targetScratch[:0]})
	switch {
	case isVerdict(name):
		tg.Kind = TargetVerdict
		if isGoto {
			rp.errf(pos, ErrBadOption, "-g %s: goto needs a user chain (expected -j %s)", name, name)
			tg.Goto = false
		}
	case !isGoto && rp.setTargetDef(name):
		tg.Kind = TargetExtension
	default:
		// A user chain, or an extension dfw does not know: decided when the
		// rule is applied and the chains are known.
		tg.Kind = TargetChain
	}
	rp.rule.Target = tg
	rp.targetAt = len(rp.rule.Matches)
	if tg.Kind == TargetChain {
		// Unknown options after -j go to the target, as iptables-save
		// prints a target's options after it: the most recent unknown
		// extension takes them.
		rp.unknown = nil
	}
}

// finish builds the typed specs of a parsed rule and checks what iptables
// checks.
func (rp *ruleParser) finish() {
	r := rp.rule
	b := &rp.b
	p := rp.fp
	// The slices that grew in scratch space get their own, exact copies
	// (nil when empty, as before any option was read).
	p.matchScratch = r.Matches[:0]
	r.Matches = p.a.matchPtrs.clone(r.Matches)
	for k, m := range r.Matches {
		p.optScratch[k] = m.Options[:0]
		m.Options = p.a.options.clone(m.Options)
	}
	if tg := r.Target; tg != nil {
		p.targetScratch = tg.Options[:0]
		tg.Options = p.a.options.clone(tg.Options)
	}
	p.matchDefs = rp.defs[:0]
	for k, m := range r.Matches {
		if m.Spec != nil {
			continue // unknown module
		}
		def := rp.defs[k]
		b.checkOpts("-m", m.Name, m.Pos, m.Options, def.index, def.flagged, def.groups)
		m.Spec = def.build(b, m)
		rp.checkMatchProto(m)
	}
	if tg := r.Target; tg != nil && tg.Kind == TargetExtension {
		groups := rp.tdef.groups
		if len(tg.Options) == 0 {
			groups = withoutNeeds(groups) // see applier.prepare
		}
		b.checkOpts("-j", tg.Name, tg.Pos, tg.Options, rp.tdef.index, rp.tdef.flagged, groups)
		tg.Spec = rp.tdef.build(b, tg)
	}
}

// checkMatchProto reports protocol modules used without their protocol: the
// kernel refuses to load them.
func (rp *ruleParser) checkMatchProto(m *Match) {
	var n uint8
	switch m.Name {
	case "tcp":
		n = 6
	case "udp":
		n = 17
	case "sctp":
		n = 132
	case "icmp":
		n = 1
	case "icmp6", "icmpv6":
		n = 58
	case "dccp":
		n = 33
	case "esp":
		n = 50
	case "ah":
		// ip6tables' ah matches the AH extension header, whatever -p.
		if rp.b.family == IPv6 {
			return
		}
		n = 51
	case "tcpmss":
		n = 6
	case "mh":
		n = 135
	case "ecn":
		// Its TCP options only (--ecn-tcp-cwr, --ecn-tcp-ece).
		if !slices.ContainsFunc(m.Options, func(o Option) bool { return strings.HasPrefix(o.Name, "ecn-tcp") }) {
			return
		}
		n = 6
	default:
		return
	}
	p := rp.rule.Proto
	if p == nil || p.Neg || p.Num != n {
		what := "-p " + protoName(n)
		rp.errf(m.Pos, ErrBadOption, "-m %s needs %s before it: the kernel refuses the rule otherwise", m.Name, what)
	}
}

// expand makes one rule per combination of -s and -d addresses.
func (rp *ruleParser) expand() []*Rule {
	srcs, dsts := rp.srcs, rp.dsts
	if len(srcs) <= 1 && len(dsts) <= 1 {
		r := rp.rule
		if len(srcs) == 1 {
			r.Src = srcs[0]
		}
		if len(dsts) == 1 {
			r.Dst = dsts[0]
		}
		if rp.fp.ruleSlot != nil {
			return append(rp.fp.ruleSlot[:0], r)
		}
		return append(rp.fp.a.rulePtrs.make(1), r)
	}
	if srcs == nil || len(srcs) == 0 {
		srcs = []*AddrMatch{nil}
	}
	if dsts == nil || len(dsts) == 0 {
		dsts = []*AddrMatch{nil}
	}
	var out []*Rule
	for _, s := range srcs {
		for _, d := range dsts {
			r := *rp.rule
			r.Src, r.Dst = s, d
			out = append(out, &r)
		}
	}
	return out
}
