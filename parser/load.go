package parser

import "strings"

// Source is one input file.
type Source struct {
	Name string
	Data []byte
}

// Loaded is the result of loading files into one ruleset.
type Loaded struct {
	Ruleset *Ruleset
	Files   []*File
	// Diags holds every file's parse diagnostics, the apply errors and the
	// graph errors, sorted by position.
	Diags ErrorList
}

// Load parses the sources and applies them in order into one ruleset: the
// first as iptables-restore does, the others as iptables-restore --noflush
// does. The family is opts.Family, else the first file's.
//
// To bound memory on large rulesets, each command is applied as soon as it
// is read, and the files in Loaded keep only the commands that do not add
// rules (tables, chain lines, -N, -X, -F, -Z, -P, -E, -D, COMMIT): the rules
// themselves are in the ruleset, each with its position and line. The
// result is what parsing each file (Parse) and then applying it (Apply)
// gives. With opts.Lean the rules keep only part of themselves (see
// Options.Lean).
func Load(srcs []Source, opts Options) *Loaded {
	if l := loadFiles(srcs, opts, true); l != nil {
		return l
	}
	return loadFiles(srcs, opts, false)
}

// loadFiles is Load. With stream set, each command is applied as soon as it is
// read, so that the commands that add rules are never all held at once;
// it returns nil when a file cannot be read that way (an iptables -L
// listing, whose lines read so far are dropped), and Load then loads the
// files again, parsing each before applying it.
func loadFiles(srcs []Source, opts Options, stream bool) *Loaded {
	l := &Loaded{}
	for i, s := range srcs {
		var f *File
		var errs ErrorList
		if stream {
			st := &streamApply{rs: l.Ruleset, noflush: i > 0, lean: opts.Lean}
			f = parse(s.Name, s.Data, opts, st)
			if st.failed || st.a != nil && st.a.gaveUp {
				return nil
			}
			l.Ruleset = st.rs
			if l.Ruleset == nil {
				l.Ruleset = NewRuleset(f.Family)
			}
			if f.Incomplete {
				l.Ruleset.Incomplete = true
			}
			if st.a != nil {
				errs = st.a.errs
			}
		} else {
			f = Parse(s.Name, s.Data, opts)
			if i == 0 {
				l.Ruleset = NewRuleset(f.Family)
			}
			errs = l.Ruleset.Apply(f, i > 0)
			f.dropRuleCommands()
		}
		if i == 0 {
			opts.Family = f.Family
		}
		l.Files = append(l.Files, f)
		l.Diags = append(l.Diags, f.Diags...)
		l.Diags = append(l.Diags, errs...)
	}
	if l.Ruleset == nil {
		l.Ruleset = NewRuleset(IPv4)
	}
	l.Ruleset.Lean = stream && opts.Lean
	l.Diags = append(l.Diags, l.Ruleset.Check()...)
	l.Diags.Sort()
	return l
}

// streamApply applies a file's commands to a ruleset while it is parsed.
type streamApply struct {
	rs      *Ruleset // nil before the first file: made with its family
	noflush bool
	lean    bool // Options.Lean
	a       *applier
	failed  bool
}

// start is called once the file's family is known, before its first
// command.
func (st *streamApply) start(f *File) {
	if st.rs == nil {
		st.rs = NewRuleset(f.Family)
	}
	st.a = &applier{rs: st.rs, file: f, noflush: st.noflush, lean: st.lean}
}

// rulesAhead counts the lines right after the current one that append a
// rule to chain ("-A CHAIN ..."), to size the chain's array of rules.
func (p *fileParser) rulesAhead(chain string) int {
	n := 0
	for rest := p.rest; len(rest) >= 4+len(chain) && rest[:3] == "-A " && rest[3:3+len(chain)] == chain && rest[3+len(chain)] == ' '; n++ {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			return n + 1
		}
		rest = rest[i+1:]
	}
	return n
}

// emit adds a command to the file, or applies it when streaming, after the
// commands of the rule lines before it.
func (p *fileParser) emit(c *Command) {
	if p.pipe != nil {
		p.pipe.drain(p)
	}
	p.emitNow(c)
}

// emitNow is emit, for a command whose turn has come.
func (p *fileParser) emitNow(c *Command) {
	if st := p.stream; st != nil {
		st.a.apply(c)
		switch c.Op {
		case OpAppend, OpInsert, OpReplace, OpCheck:
			return // as dropRuleCommands does
		case OpChain:
			if st.lean {
				return // see Options.Lean
			}
		}
	}
	p.f.Commands = append(p.f.Commands, c)
}

// dropRuleCommands forgets the commands that added rules (-A, -I, -R, -C)
// once they are applied.
func (f *File) dropRuleCommands() {
	kept := f.Commands[:0]
	for _, c := range f.Commands {
		switch c.Op {
		case OpAppend, OpInsert, OpReplace, OpCheck:
			continue
		}
		kept = append(kept, c)
	}
	clear(f.Commands[len(kept):])
	f.Commands = kept
}
