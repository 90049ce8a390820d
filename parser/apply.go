package parser

import "slices"

// Apply applies a parsed file to the ruleset the way iptables-restore does:
// without noflush every table the file names is emptied first (all rules
// flushed, user chains deleted, policies kept); with noflush
// (iptables-restore --noflush) rules are added to what is there, a ":CHAIN"
// line for an existing user chain flushes it, and a built-in chain keeps its
// rules and takes the new policy. -N, -X, -F, -E, -P, -D, -R, -I, -Z act as
// the iptables command of that name.
//
// Apply keeps going after an error: a failing command is skipped and
// reported, and the rest is applied, so that later analyses see everything
// that was good. Call Check after the last file for the graph errors that a
// real load reports at COMMIT.
func (rs *Ruleset) Apply(f *File, noflush bool) ErrorList {
	if f.Incomplete {
		rs.Incomplete = true
	}
	a := &applier{rs: rs, file: f, noflush: noflush}
	for _, c := range f.Commands {
		a.apply(c)
	}
	a.errs.Sort()
	return a.errs
}

type applier struct {
	rs      *Ruleset
	file    *File
	noflush bool
	table   *Table
	errs    ErrorList
	// recent holds chains of the current table found by name since the
	// last command that could add, delete or rename a chain: the rules of
	// a dump come chain by chain, and many jump to the same few chains.
	recent [4]*Chain
	next   int
	// cursor is the index in Table.Order after the chain found last by
	// ruleChain.
	cursor int
	// chainHint is how many chains the next table created will hold, when
	// known.
	chainHint int
	// rulesAhead, when set, tells how many of the lines that follow the
	// current one append to the named chain too (see fileParser.rulesAhead).
	rulesAhead func(chain string) int
	// lean keeps of each rule added only what the graph checks read
	// (detach, Options.Lean); gaveUp is set at a command that needs whole
	// rules (-D with a rule spec): Load then loads again without lean.
	lean   bool
	gaveUp bool
	copier leanCopier
}

// chain returns the named chain of the current table, or nil.
func (a *applier) chain(name string) *Chain {
	for _, c := range a.recent {
		if c != nil && sameName(c.Name, name) {
			return c
		}
	}
	c := a.table.Chains[name]
	if c != nil {
		a.remember(c)
	}
	return c
}

// sameName is a == b for chain names, which tells most different names
// of one length (kube-proxy's are all 25 bytes long, and differ at the
// end) apart by their last byte, before comparing the rest.
func sameName(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || a[len(a)-1] == b[len(b)-1]) && a == b
}

func (a *applier) remember(c *Chain) {
	a.recent[a.next] = c
	a.next = (a.next + 1) % len(a.recent)
}

// ruleChain returns the chain a rule command adds to, or nil. A dump lists
// the rules chain by chain in the order it declares the chains: the chain
// after the previous one (skipping a few without rules) is tried before
// the map.
func (a *applier) ruleChain(name string) *Chain {
	for _, c := range a.recent {
		if c != nil && sameName(c.Name, name) {
			return c
		}
	}
	t := a.table
	for j := a.cursor; j < len(t.Order) && j < a.cursor+4; j++ {
		if c := t.Order[j]; sameName(c.Name, name) {
			a.cursor = j + 1
			a.remember(c)
			return c
		}
	}
	c := a.chain(name)
	if c != nil && c.idx < len(t.Order) && t.Order[c.idx] == c {
		a.cursor = c.idx + 1
	}
	return c
}

func (a *applier) errf(pos Pos, sentinel error, format string, args ...any) {
	a.errs.addFor(a.rs.Family, pos, sentinel, SevError, format, args...)
}

// ensureTable returns the table, creating it with its built-in chains.
func (rs *Ruleset) ensureTable(name string, pos Pos, hint int) *Table {
	t := rs.Tables[name]
	if t == nil {
		n := len(BuiltinChains[name]) + hint
		t = &Table{Name: name, Chains: make(map[string]*Chain, n), Order: make([]*Chain, 0, n), Pos: pos}
		for _, c := range BuiltinChains[name] {
			ch := &Chain{Table: name, Name: c, Builtin: true, Policy: "ACCEPT", Pos: pos, idx: len(t.Order)}
			t.Chains[c] = ch
			t.Order = append(t.Order, ch)
		}
		rs.Tables[name] = t
	}
	return t
}

func (t *Table) flushAll() {
	// In place: the array keeps the capacity a new table was given.
	keep := t.Order[:0]
	for _, c := range t.Order {
		if c.Builtin {
			c.Rules = nil
			keep = append(keep, c)
		} else {
			delete(t.Chains, c.Name)
		}
	}
	clear(t.Order[len(keep):])
	t.Order = keep
}

func (t *Table) addChain(name string, pos Pos, comment string) *Chain {
	return t.insertChain(&Chain{Table: t.Name, Name: name, Pos: pos, Comment: comment})
}

// insertChain adds a new user chain to the table.
func (t *Table) insertChain(c *Chain) *Chain {
	c.idx = len(t.Order)
	t.Chains[c.Name] = c
	t.Order = append(t.Order, c)
	return c
}

func (t *Table) removeChain(name string) {
	delete(t.Chains, name)
	for i, c := range t.Order {
		if c.Name == name {
			t.Order = append(t.Order[:i], t.Order[i+1:]...)
			return
		}
	}
}

// references returns the rules of the table that jump or go to chain.
func (t *Table) references(chain string) []*Rule {
	var out []*Rule
	for _, c := range t.Order {
		for _, r := range c.Rules {
			if r.Target != nil && r.Target.Kind == TargetChain && r.Target.Name == chain {
				out = append(out, r)
			}
		}
	}
	return out
}

func (a *applier) apply(c *Command) {
	switch c.Op {
	case OpAppend, OpInsert, OpReplace, OpDelete, OpDeleteNum, OpCheck:
	default:
		a.recent = [4]*Chain{}
		a.cursor = 0
	}
	if c.Op == OpTable {
		if _, ok := BuiltinChains[c.Table]; !ok {
			a.table = nil
			return
		}
		a.table = a.rs.ensureTable(c.Table, c.Pos, a.chainHint)
		a.chainHint = 0
		a.table.Pos = c.Pos
		if !a.noflush {
			a.table.flushAll()
		}
		return
	}
	t := a.table
	if t == nil {
		return // unknown table: already reported by the parser
	}
	chain := func() *Chain {
		ch := a.ruleChain(c.Chain)
		if ch == nil {
			a.errf(c.Pos, ErrUnknownChain, "chain %s does not exist in table %s (expected a \":%s - [0:0]\" line or -N %s before this line)", c.Chain, t.Name, c.Chain, c.Chain)
		}
		return ch
	}
	switch c.Op {
	case OpCommit:
		a.table = nil
	case OpChain:
		// The chain a worker made for the line serves once: a file's
		// commands applied again (Ruleset.Apply) make chains of their own.
		pre := c.chain
		c.chain = nil
		ch := t.Chains[c.Chain]
		switch {
		case ch != nil && ch.Builtin:
			if c.Policy != "" {
				ch.Policy, ch.PolicyPos, ch.PolicyComment = c.Policy, c.Pos, c.Comment
			}
			if c.Counters != nil {
				ch.Counters = *c.Counters
			}
			if !ch.Pos.IsValid() || ch.Pos == t.Pos || ch.Pos.File != c.Pos.File {
				ch.Pos = c.Pos
			}
		case ch != nil && a.noflush:
			ch.Rules = nil
			ch.Pos, ch.Comment = c.Pos, c.Comment
		case ch != nil:
			a.errf(c.Pos, ErrChainExists, "chain %s is declared twice in table %s (first at line %d)", c.Chain, t.Name, ch.Pos.Line)
		default:
			if IsBuiltin(t.Name, c.Chain) {
				return
			}
			// iptables-restore accepts a ":CHAIN" line named like a
			// target (the kernel oracle loads ":CLASSIFY - [0:0]" on both
			// backends); only "-N" refuses it.
			if pre != nil && pre.Table == t.Name {
				t.insertChain(pre)
			} else {
				t.addChain(c.Chain, c.Pos, c.Comment)
			}
		}
	case OpNewChain:
		if ch := t.Chains[c.Chain]; ch != nil {
			a.errf(c.Pos, ErrChainExists, "-N %s: chain already exists", c.Chain)
			return
		}
		a.checkNewChainName(c)
		t.addChain(c.Chain, c.Pos, c.Comment)
	case OpDeleteChain:
		a.deleteChains(c)
	case OpFlush:
		if c.Chain == "" {
			for _, ch := range t.Order {
				ch.Rules = nil
			}
		} else if ch := chain(); ch != nil {
			ch.Rules = nil
		}
	case OpZero:
		if c.Chain != "" {
			if ch := chain(); ch != nil && c.Num > len(ch.Rules) {
				a.errf(c.Pos, ErrRuleNotFound, "-Z %s %d: the chain has only %d rules", c.Chain, c.Num, len(ch.Rules))
			}
		}
	case OpPolicy:
		ch := chain()
		if ch == nil {
			return
		}
		if !ch.Builtin {
			a.errf(c.Pos, ErrBuiltinChain, "-P %s: only built-in chains have a policy", c.Chain)
			return
		}
		ch.Policy, ch.PolicyPos, ch.PolicyComment = c.Policy, c.Pos, c.Comment
	case OpRename:
		ch := chain()
		if ch == nil {
			return
		}
		if ch.Builtin {
			a.errf(c.Pos, ErrBuiltinChain, "-E %s: a built-in chain cannot be renamed", c.Chain)
			return
		}
		if t.Chains[c.NewName] != nil || IsBuiltin(t.Name, c.NewName) {
			a.errf(c.Pos, ErrChainExists, "-E %s %s: chain %s already exists", c.Chain, c.NewName, c.NewName)
			return
		}
		for _, r := range t.references(c.Chain) {
			nt := *r.Target
			nt.Name = c.NewName
			r.Target = &nt
		}
		delete(t.Chains, c.Chain)
		ch.Name = c.NewName
		for _, r := range ch.Rules {
			r.Chain = c.NewName
		}
		t.Chains[c.NewName] = ch
	case OpAppend, OpInsert, OpReplace:
		ch := chain()
		if ch == nil {
			return
		}
		rules := a.prepare(c, t, ch)
		if rules == nil {
			return
		}
		if a.lean {
			for i, r := range rules {
				if c.detached {
					leanApplied(r)
				} else {
					rules[i] = a.copier.detach(r)
					leanApplied(rules[i])
				}
			}
		}
		switch c.Op {
		case OpAppend:
			if cap(ch.Rules) == 0 && a.rulesAhead != nil {
				// A dump lists a chain's rules together: the chain gets
				// an array of the right size at once.
				ch.Rules = make([]*Rule, 0, len(rules)+a.rulesAhead(ch.Name))
			}
			ch.Rules = append(ch.Rules, rules...)
		case OpInsert:
			at := c.Num
			if at == 0 {
				at = 1
			}
			if at > len(ch.Rules)+1 {
				a.errf(c.Pos, ErrRuleNotFound, "-I %s %d: index of insertion too big (the chain has %d rules)", c.Chain, at, len(ch.Rules))
				return
			}
			n := append([]*Rule{}, ch.Rules[:at-1]...)
			n = append(n, rules...)
			ch.Rules = append(n, ch.Rules[at-1:]...)
		case OpReplace:
			if c.Num > len(ch.Rules) {
				a.errf(c.Pos, ErrRuleNotFound, "-R %s %d: no rule %d (the chain has %d rules)", c.Chain, c.Num, c.Num, len(ch.Rules))
				return
			}
			if len(rules) != 1 {
				a.errf(c.Pos, ErrBadOption, "-R %s %d: the rule expands to %d rules (a list in -s or -d); replace takes one", c.Chain, c.Num, len(rules))
				return
			}
			ch.Rules[c.Num-1] = rules[0]
		}
	case OpDeleteNum:
		ch := chain()
		if ch == nil {
			return
		}
		if c.Num > len(ch.Rules) {
			a.errf(c.Pos, ErrRuleNotFound, "-D %s %d: no rule %d (the chain has %d rules)", c.Chain, c.Num, c.Num, len(ch.Rules))
			return
		}
		ch.Rules = append(ch.Rules[:c.Num-1:c.Num-1], ch.Rules[c.Num:]...)
	case OpDelete:
		if a.lean {
			// The rules of the chain lack what Spec compares.
			a.gaveUp = true
			return
		}
		ch := chain()
		if ch == nil {
			return
		}
		rules := a.prepare(c, t, ch)
		for _, want := range rules {
			key := want.Spec()
			found := false
			for i, r := range ch.Rules {
				if r.Spec() == key {
					ch.Rules = append(ch.Rules[:i:i], ch.Rules[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				a.errf(c.Pos, ErrRuleNotFound, "-D %s: no such rule in the chain (does a matching rule exist in %s?)", c.Chain, c.Chain)
			}
		}
	case OpCheck:
		// iptables-restore fails at a -C whose rule is not in the chain
		// ("Bad rule (does a matching rule exist in that chain?)").
		if a.lean {
			a.gaveUp = true // the chain's rules lack what Spec compares
			return
		}
		ch := chain()
		if ch == nil {
			return
		}
		for _, want := range a.prepare(c, t, ch) {
			key := want.Spec()
			if !slices.ContainsFunc(ch.Rules, func(r *Rule) bool { return r.Spec() == key }) {
				a.errf(c.Pos, ErrRuleNotFound, "-C %s: no such rule in the chain: iptables-restore fails here (expected a rule that exists, or -A to add it)", c.Chain)
			}
		}
	}
}

func (a *applier) checkNewChainName(c *Command) {
	if verdicts[c.Chain] || targetDefs[c.Chain] != nil {
		a.errf(c.Pos, ErrBadValue, "chain name %s is the name of a target (choose another name)", c.Chain)
	}
}

func (a *applier) deleteChains(c *Command) {
	t := a.table
	var names []string
	if c.Chain == "" {
		for _, ch := range t.Order {
			if !ch.Builtin {
				names = append(names, ch.Name)
			}
		}
	} else {
		ch := t.Chains[c.Chain]
		switch {
		case ch == nil:
			a.errf(c.Pos, ErrUnknownChain, "-X %s: chain does not exist in table %s", c.Chain, t.Name)
			return
		case ch.Builtin:
			a.errf(c.Pos, ErrBuiltinChain, "-X %s: a built-in chain cannot be deleted", c.Chain)
			return
		}
		names = []string{c.Chain}
	}
	del := map[string]bool{}
	for _, n := range names {
		del[n] = true
	}
	for _, n := range names {
		ch := t.Chains[n]
		if len(ch.Rules) > 0 {
			a.errf(c.Pos, ErrChainInUse, "-X: chain %s is not empty (%d rules; flush it with -F first)", n, len(ch.Rules))
			delete(del, n)
			continue
		}
		for _, r := range t.references(n) {
			if !del[r.Chain] || len(t.Chains[r.Chain].Rules) > 0 {
				a.errf(c.Pos, ErrChainInUse, "-X: chain %s is still used by a rule of %s (%s)", n, r.Chain, r.Pos)
				delete(del, n)
				break
			}
		}
	}
	for n := range del {
		t.removeChain(n)
	}
}

// prepare resolves the targets of a command's rules against the table's
// chains, as iptables does when it reads the line: a name that is a chain is
// a jump, else an extension target.
func (a *applier) prepare(c *Command, t *Table, ch *Chain) []*Rule {
	out := c.Rules[:0:0]
	if len(c.Rules) == 1 {
		out = c.Rules[:0:1] // reuse the command's array: no allocation
	}
	for _, r := range c.Rules {
		r.Table, r.Chain = t.Name, ch.Name
		if tg := r.Target; tg != nil && tg.Kind == TargetExtension && len(tg.Options) == 0 {
			// A user chain named like a target wins over the target: the
			// kernel oracle saw "-j CLASSIFY" jump to chain CLASSIFY.
			if uc := a.chain(tg.Name); uc != nil && !uc.Builtin {
				nt := *tg
				nt.Kind, nt.Spec = TargetChain, nil
				r.Target = &nt
			} else if def := targetDefs[tg.Name]; def != nil {
				// The extension it is lacks its mandatory options
				// (checkOpts leaves them to this point).
				for _, g := range def.groups {
					if g.need {
						a.errs.addFor(a.rs.Family, tg.Pos, ErrBadOption, SevError, "%s", forFamily(a.rs.Family, needMessage(extName{"-j", tg.Name}, g), false))
					}
				}
			}
		}
		if tg := r.Target; tg != nil && tg.Kind == TargetExtension && tg.Name == "TCPMSS" && ch.Builtin && (ch.Name == "INPUT" || ch.Name == "PREROUTING") &&
			slices.ContainsFunc(tg.Options, func(o Option) bool { return o.Name == "clamp-mss-to-pmtu" }) {
			// xt_TCPMSS's own check, which the nft backend runs for
			// built-in chains only (as for -m policy --dir).
			a.errf(tg.Pos, ErrWrongHook, "-j TCPMSS --clamp-mss-to-pmtu in %s: the path MTU is known only in FORWARD, OUTPUT and POSTROUTING; iptables-restore --test accepts it but the kernel refuses to load it", ch.Name)
		}
		if tg := r.Target; tg != nil && tg.Kind == TargetChain {
			target := a.chain(tg.Name)
			switch {
			case target != nil && target.Builtin:
				a.errf(tg.Pos, ErrBadOption, "-j %s: cannot jump to a built-in chain", tg.Name)
				continue
			case target != nil && len(tg.Options) > 0:
				// A jump is the standard target, which has no options:
				// iptables refuses the rule.
				a.errf(tg.Options[0].Pos, ErrUnknownOption, "unknown option %q: -j %s jumps to chain %s, which takes no options",
					"--"+tg.Options[0].Name, tg.Name, tg.Name)
				continue
			case target != nil:
				// A jump to an existing user chain.
				tg.Ref = target
			case len(tg.Options) > 0 && !tg.Goto:
				nt := *tg
				nt.Kind = TargetExtension
				nt.Spec = &UnknownTarget{}
				r.Target = &nt
				a.errs.addFor(a.rs.Family, tg.Pos, ErrUnknownTarget, SevWarning, "unknown target %q: kept as written; its effect is taken as unknown", tg.Name)
			default:
				a.errf(tg.Pos, ErrUnknownChain, "%s %s: no chain %s in table %s (expected a target such as ACCEPT or DROP, or a chain declared before this line)",
					map[bool]string{true: "-g", false: "-j"}[tg.Goto], tg.Name, tg.Name, t.Name)
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
