package parser

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
// To bound memory on large rulesets, the files in Loaded keep only the
// commands that do not add rules (tables, chain lines, -N, -X, -F, -Z, -P,
// -E, -D, COMMIT): the rules themselves are in the ruleset, each with its
// position and line.
func Load(srcs []Source, opts Options) *Loaded {
	l := &Loaded{}
	for i, s := range srcs {
		f := Parse(s.Name, s.Data, opts)
		if i == 0 {
			opts.Family = f.Family
			l.Ruleset = NewRuleset(f.Family)
		}
		l.Files = append(l.Files, f)
		l.Diags = append(l.Diags, f.Diags...)
		l.Diags = append(l.Diags, l.Ruleset.Apply(f, i > 0)...)
		f.dropRuleCommands()
	}
	if l.Ruleset == nil {
		l.Ruleset = NewRuleset(IPv4)
	}
	l.Diags = append(l.Diags, l.Ruleset.Check()...)
	l.Diags.Sort()
	return l
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
