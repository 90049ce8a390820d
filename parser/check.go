package parser

import (
	"runtime"
	"sort"
	"strings"
)

// Hook is a netfilter hook, named like the built-in chain that sits on it.
type Hook uint8

const (
	HookPrerouting Hook = 1 << iota
	HookInput
	HookForward
	HookOutput
	HookPostrouting
)

var hookByChain = map[string]Hook{
	"PREROUTING": HookPrerouting, "INPUT": HookInput, "FORWARD": HookForward,
	"OUTPUT": HookOutput, "POSTROUTING": HookPostrouting,
}

func (h Hook) String() string {
	var parts []string
	for _, n := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
		if h&hookByChain[n] != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ",")
}

// Hooks returns, for every chain of the table, the hooks it can be reached
// from (through jumps and gotos). A chain nothing reaches has none.
func (t *Table) Hooks() map[string]Hook {
	byChain := t.hooks()
	hooks := make(map[string]Hook, len(byChain))
	for c, h := range byChain {
		hooks[c.Name] = h
	}
	return hooks
}

// hooks is Hooks keyed by chain.
func (t *Table) hooks() map[*Chain]Hook {
	byIdx := t.hookList()
	hooks := make(map[*Chain]Hook, len(t.Order))
	for i, c := range t.Order {
		if byIdx[i] != 0 {
			hooks[c] = byIdx[i]
		}
	}
	return hooks
}

// index numbers the chains in Table.Order for array-based walks.
func (t *Table) index() {
	for i, c := range t.Order {
		c.idx = i
	}
}

// jumps is a table's jumps and gotos to user chains, by index in
// Table.Order: the jumps of chain i are to[start[i]:start[i+1]], in rule
// order. Reading the rules once into arrays spares the walks over the
// graph a pointer chase per rule.
type jumps struct {
	start, to []int32
}

func (t *Table) jumps() *jumps {
	t.index()
	j := &jumps{start: make([]int32, len(t.Order)+1), to: make([]int32, 0, t.NumRules())}
	// The jumps of chains from k on are read on a second goroutine (see
	// split), into an array of their own, and appended.
	k := t.split()
	var rest []int32
	t.inHalves(k,
		func() { j.to = t.readJumps(0, k, j.start, j.to) },
		func() { rest = t.readJumps(k, len(t.Order), j.start, nil) })
	for i := k; i < len(t.Order); i++ {
		j.start[i] += int32(len(j.to))
	}
	j.to = append(j.to, rest...)
	j.start[len(t.Order)] = int32(len(j.to))
	return j
}

// readJumps appends to `to` the jumps of the chains from lo to hi, and sets
// their start in it.
func (t *Table) readJumps(lo, hi int, start, to []int32) []int32 {
	for i := lo; i < hi; i++ {
		start[i] = int32(len(to))
		for _, r := range t.Order[i].Rules {
			if tg := r.Target; tg != nil && tg.Ref != nil {
				to = append(to, int32(tg.Ref.idx))
			}
		}
	}
	return to
}

// via returns the target of the rule of chain c that makes its n-th jump.
func (c *Chain) via(n int) *Target {
	for _, r := range c.Rules {
		if tg := r.Target; tg != nil && tg.Ref != nil {
			if n == 0 {
				return tg
			}
			n--
		}
	}
	return nil
}

// hookList returns the hooks of each chain, by index in Table.Order.
func (t *Table) hookList() []Hook { return t.hookListOf(t.jumps()) }

// hookListOf returns the hooks of each chain: the union of the hooks of
// the built-in chains that reach it. A chain is walked again only when it
// gains a hook while not waiting to be walked.
func (t *Table) hookListOf(j *jumps) []Hook {
	hooks := make([]Hook, len(t.Order))
	queued := make([]bool, len(t.Order))
	var stack []int32
	for _, n := range BuiltinChains[t.Name] {
		c := t.Chains[n]
		if c == nil {
			continue
		}
		hooks[c.idx] |= hookByChain[n]
		if !queued[c.idx] {
			queued[c.idx] = true
			stack = append(stack, int32(c.idx))
		}
	}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		queued[cur] = false
		h := hooks[cur]
		for _, next := range j.to[j.start[cur]:j.start[cur+1]] {
			if hooks[next]&h != h {
				hooks[next] |= h
				if !queued[next] {
					queued[next] = true
					stack = append(stack, next)
				}
			}
		}
	}
	return hooks
}

// Check reports what a real load refuses although iptables-restore --test
// accepts it: jump loops, targets and matches outside the tables and hooks
// the kernel allows them in.
func (rs *Ruleset) Check() ErrorList {
	var errs ErrorList
	for _, t := range rs.SortedTables() {
		j := t.jumps()
		hooks := t.hookListOf(j)
		checkLoops(rs.Family, t, j, &errs)
		checkRules := func(chains []*Chain, hooks []Hook, errs *ErrorList) {
			for i, c := range chains {
				h := hooks[i]
				for _, r := range c.Rules {
					checkRule(rs.Family, t, c, r, h, errs)
				}
			}
		}
		// A large table's rules are checked on two goroutines: on the
		// 80,000-rule kube-proxy ruleset, reading them once costs some
		// 2 ms of cache misses.
		k := t.split()
		var other ErrorList
		t.inHalves(k,
			func() { checkRules(t.Order[:k], hooks[:k], &errs) },
			func() { checkRules(t.Order[k:], hooks[k:], &other) })
		errs = append(errs, other...)
	}
	errs.Sort()
	return errs
}

// splitMin is the number of rules from which a table's rules are read on
// two goroutines (Check, jumps).
const splitMin = 16 << 10

// split returns the index in t.Order that splits the table's rules in two
// halves, or len(t.Order) when the table is too small to split
// (splitMin) or the machine runs one goroutine at a time.
func (t *Table) split() int {
	n := t.NumRules()
	if n < splitMin || runtime.GOMAXPROCS(0) < 2 {
		return len(t.Order)
	}
	seen := 0
	for i, c := range t.Order {
		if seen >= n/2 {
			return i
		}
		seen += len(c.Rules)
	}
	return len(t.Order)
}

// inHalves runs first, and second unless the table was not split (k, from
// split, is len(t.Order): second then has nothing to do), on a goroutine
// of its own; it returns when both are done.
func (t *Table) inHalves(k int, first, second func()) {
	if k >= len(t.Order) {
		first()
		return
	}
	done := make(chan struct{})
	go func() {
		second()
		close(done)
	}()
	first()
	<-done
}

func checkLoops(fam Family, t *Table, j *jumps, errs *ErrorList) {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(t.Order))
	var stack []int32 // the chains being visited, by index
	reported := map[string]bool{}
	var visit func(ci int32)
	visit = func(ci int32) {
		color[ci] = grey
		stack = append(stack, ci)
		for k := j.start[ci]; k < j.start[ci+1]; k++ {
			switch next := j.to[k]; color[next] {
			case grey:
				tg := t.Order[ci].via(int(k - j.start[ci]))
				i := len(stack) - 1
				for i > 0 && stack[i] != next {
					i--
				}
				var cycle []string
				for _, c := range stack[i:] {
					cycle = append(cycle, t.Order[c].Name)
				}
				cycle = append(cycle, tg.Ref.Name)
				key := canonicalCycle(cycle)
				if !reported[key] {
					reported[key] = true
					errs.addFor(fam, tg.Pos, ErrLoop, SevError, "jump loop in table %s: %s (iptables-restore --test accepts it but the kernel refuses to load it)",
						t.Name, strings.Join(cycle, " → "))
				}
			case white:
				visit(next)
			}
		}
		stack = stack[:len(stack)-1]
		color[ci] = black
	}
	// Walk from the built-in chains only: both backends check for loops
	// from the hooks (legacy's mark_source_chains, nft's validation from
	// the base chains), and load a loop among chains no built-in chain
	// reaches (the kernel oracle loaded "-N A" "-A A -j A" on both).
	for _, n := range BuiltinChains[t.Name] {
		if c := t.Chains[n]; c != nil && color[c.idx] == white {
			visit(int32(c.idx))
		}
	}
}

func canonicalCycle(cycle []string) string {
	c := append([]string{}, cycle[:len(cycle)-1]...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

// natHook returns the hooks a NAT target works in.
func natHook(name string) (Hook, bool) {
	switch name {
	case "DNAT", "REDIRECT":
		return HookPrerouting | HookOutput, true
	case "SNAT":
		return HookPostrouting | HookInput, true
	case "MASQUERADE":
		return HookPostrouting, true
	case "NETMAP":
		return HookPrerouting | HookPostrouting | HookOutput | HookInput, true
	}
	return 0, false
}

func checkRule(fam Family, t *Table, c *Chain, r *Rule, h Hook, errs *ErrorList) {
	refused := forFamily(fam, "iptables-restore --test accepts it but the kernel refuses to load it", false)
	if tg := r.Target; tg != nil && tg.Kind == TargetExtension {
		name := tg.Name
		if allowed, ok := natHook(name); ok {
			if t.Name != "nat" {
				errs.addFor(fam, tg.Pos, ErrWrongTable, SevError, "%s in the %s table: it works only in the nat table (%s)", name, t.Name, refused)
			} else if bad := h &^ allowed; bad != 0 {
				errs.addFor(fam, tg.Pos, ErrWrongHook, SevError, "%s in chain %s, which is reached from %s: %s works only in %s (%s)", name, c.Name, bad, name, allowed, refused)
			}
		}
		switch name {
		case "REJECT":
			// The kernel's REJECT (ipt_REJECT, ip6t_REJECT) is valid in
			// the filter table only: a mangle or raw rule fails to load.
			if t.Name != "filter" {
				errs.addFor(fam, tg.Pos, ErrWrongTable, SevError, "REJECT in the %s table: it works only in the filter table (%s)", t.Name, refused)
			} else if bad := h &^ (HookInput | HookForward | HookOutput); bad != 0 {
				errs.addFor(fam, tg.Pos, ErrWrongHook, SevError, "REJECT in chain %s, which is reached from %s: REJECT works only in INPUT, FORWARD and OUTPUT (%s)", c.Name, bad, refused)
			}
		case "CLASSIFY", "SYNPROXY", "TPROXY":
			// The hooks of their xt_target (.hooks), which both backends
			// check, user chains included.
			allowed := map[string]Hook{"CLASSIFY": HookOutput | HookForward | HookPostrouting,
				"SYNPROXY": HookInput | HookForward, "TPROXY": HookPrerouting}[name]
			if bad := h &^ allowed; bad != 0 {
				errs.addFor(fam, tg.Pos, ErrWrongHook, SevError, "%s in chain %s, which is reached from %s: %s works only in %s (%s)", name, c.Name, bad, name, allowed, refused)
			}
			if name == "TPROXY" && t.Name != "mangle" {
				errs.addFor(fam, tg.Pos, ErrWrongTable, SevError, "TPROXY in the %s table: it works only in the mangle table (%s)", t.Name, refused)
			}
		case "CT", "NOTRACK":
			if t.Name != "raw" {
				errs.addFor(fam, tg.Pos, ErrWrongTable, SevError, "%s in the %s table: it works only in the raw table (%s)", name, t.Name, refused)
			}
		case "CHECKSUM", "TCPMSS", "TOS", "DSCP", "TTL", "HL":
			if t.Name != "mangle" && (name == "CHECKSUM" || name == "TOS" || name == "DSCP" || name == "TTL" || name == "HL") {
				errs.addFor(fam, tg.Pos, ErrWrongTable, SevError, "%s in the %s table: it works only in the mangle table (%s)", name, t.Name, refused)
			}
		}
	}
	for _, m := range r.Matches {
		switch s := m.Spec.(type) {
		case *OpaqueMatch:
			switch m.Name {
			case "owner":
				if bad := h &^ (HookOutput | HookPostrouting); bad != 0 {
					errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "-m owner in chain %s, which is reached from %s: owner works only in OUTPUT and POSTROUTING (%s)", c.Name, bad, refused)
				}
			case "rpfilter":
				// xt_rpfilter: the raw and mangle tables, PREROUTING.
				if t.Name != "raw" && t.Name != "mangle" {
					errs.addFor(fam, m.Pos, ErrWrongTable, SevError, "-m rpfilter in the %s table: it works only in the raw and mangle tables (%s)", t.Name, refused)
				} else if bad := h &^ HookPrerouting; bad != 0 {
					errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "-m rpfilter in chain %s, which is reached from %s: rpfilter works only in PREROUTING (%s)", c.Name, bad, refused)
				}
			case "policy":
				// xt_policy: the policy a packet was decapsulated with
				// (--dir in) is unknown where it is sent (OUTPUT,
				// POSTROUTING); the one it will be encapsulated with
				// (--dir out), where it arrives (PREROUTING, INPUT).
				// Its own check refuses it there, which the nft backend
				// runs for built-in chains only: in a user chain,
				// iptables-legacy refuses it and iptables-nft loads it
				// (the kernel oracle saw both), so only a built-in
				// chain is an error on every host.
				for _, o := range m.Options {
					if o.Name != "dir" || !c.Builtin {
						continue
					}
					notIn := map[string]Hook{"in": HookOutput | HookPostrouting, "out": HookPrerouting | HookInput}[arg(&o)]
					if bad := h & notIn; bad != 0 {
						errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "-m policy --dir %s in chain %s, which is reached from %s: the %s policy is not known there (%s)", arg(&o), c.Name, bad, map[string]string{"in": "input", "out": "output"}[arg(&o)], refused)
					}
				}
			}
		case *MACMatch:
			if bad := h &^ (HookPrerouting | HookInput | HookForward); bad != 0 {
				errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "-m mac in chain %s, which is reached from %s: mac works only in PREROUTING, INPUT and FORWARD (%s)", c.Name, bad, refused)
			}
		case *PhysdevMatch:
			out := s.Out != nil || (s.IsOut != nil && !s.IsOut.Neg)
			bridged := s.IsBridged != nil && !s.IsBridged.Neg
			// xt_physdev refuses it only for locally generated packets
			// (the kernel loads it in FORWARD and POSTROUTING, where it
			// matches bridged traffic alone).
			if out && !bridged {
				if bad := h & HookOutput; bad != 0 {
					errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "--physdev-out in chain %s, which is reached from %s: without --physdev-is-bridged it works only in FORWARD and POSTROUTING (%s)", c.Name, bad, refused)
				}
			}
		case *AddrtypeMatch:
			if s.LimitIfaceIn && h&(HookOutput|HookPostrouting) != 0 {
				errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "--limit-iface-in in chain %s, which is reached from %s (%s)", c.Name, h&(HookOutput|HookPostrouting), refused)
			}
			if s.LimitIfaceOut && h&(HookPrerouting|HookInput) != 0 {
				errs.addFor(fam, m.Pos, ErrWrongHook, SevError, "--limit-iface-out in chain %s, which is reached from %s (%s)", c.Name, h&(HookPrerouting|HookInput), refused)
			}
		}
	}
	if c.Builtin {
		if r.In != nil && (c.Name == "OUTPUT" || c.Name == "POSTROUTING") {
			errs.addFor(fam, r.In.Pos, ErrWrongHook, SevError, "-i in %s: packets there have no input interface; iptables refuses it (expected -o)", c.Name)
		}
		if r.Out != nil && (c.Name == "PREROUTING" || c.Name == "INPUT") {
			errs.addFor(fam, r.Out.Pos, ErrWrongHook, SevError, "-o in %s: packets there have no output interface yet; iptables refuses it (expected -i)", c.Name)
		}
	}
}

// leanCopier makes the lean copies of rules (Options.Lean) in memory of
// its own. The applier has one; so has each worker of a pipe, which copies
// the rules it parses before the applier takes them (Command.detached).
type leanCopier struct {
	rules     slab[Rule]
	targets   slab[Target]
	ifaces    slab[IfaceMatch]
	matchPtrs slab[*Match]
}

// detach returns the lean copy of a rule (Options.Lean): what checkRule,
// the applier and the graph read of it, so that the rule's parts can be
// dropped or their memory used again. Keep it in step with checkRule;
// TestLeanSame compares lean loads with whole ones.
//
// The copy keeps the target's options, which the applier reads (a jump
// takes none); they still lie in the memory of the rule's parts, so the
// applier drops them (leanApplied) before that memory serves again.
func (lc *leanCopier) detach(r *Rule) *Rule {
	n := lc.rules.put(Rule{Table: r.Table, Chain: r.Chain, Pos: r.Pos, Line: r.Line})
	if r.In != nil {
		n.In = lc.ifaces.put(*r.In)
	}
	if r.Out != nil {
		n.Out = lc.ifaces.put(*r.Out)
	}
	if tg := r.Target; tg != nil {
		n.Target = lc.targets.put(Target{Name: tg.Name, Kind: tg.Kind, Goto: tg.Goto, Pos: tg.Pos, Options: tg.Options, Ref: tg.Ref})
	}
	for _, m := range r.Matches {
		var spec MatchSpec
		switch s := m.Spec.(type) {
		case *OpaqueMatch:
			switch m.Name {
			case "owner", "rpfilter":
				spec = &OpaqueMatch{AlwaysTrue: s.AlwaysTrue}
			case "policy":
				// checkRule reads its --dir.
				for _, o := range m.Options {
					if o.Name == "dir" {
						dir := []Option{{Name: o.Name, Neg: o.Neg, Args: []string{arg(&o)}, Pos: o.Pos}}
						if n.Matches == nil {
							n.Matches = lc.matchPtrs.make(len(r.Matches))
						}
						n.Matches = append(n.Matches, &Match{Name: m.Name, Implicit: m.Implicit, Pos: m.Pos, Options: dir, Spec: &OpaqueMatch{AlwaysTrue: s.AlwaysTrue}})
					}
				}
			}
		case *MACMatch:
			spec = &MACMatch{Neg: s.Neg, MAC: s.MAC, Pos: s.Pos}
		case *PhysdevMatch:
			spec = &PhysdevMatch{In: clonePtr(s.In), Out: clonePtr(s.Out), IsIn: clonePtr(s.IsIn), IsOut: clonePtr(s.IsOut), IsBridged: clonePtr(s.IsBridged)}
		case *AddrtypeMatch:
			spec = &AddrtypeMatch{Src: clonePtr(s.Src), Dst: clonePtr(s.Dst), LimitIfaceIn: s.LimitIfaceIn, LimitIfaceOut: s.LimitIfaceOut}
		}
		if spec != nil {
			if n.Matches == nil {
				n.Matches = lc.matchPtrs.make(len(r.Matches))
			}
			n.Matches = append(n.Matches, &Match{Name: m.Name, Implicit: m.Implicit, Pos: m.Pos, Spec: spec})
		}
	}
	return n
}

// leanApplied drops of a lean rule the target's options, once the
// applier has read them (see detach).
func leanApplied(r *Rule) {
	if tg := r.Target; tg != nil {
		tg.Options, tg.Spec = nil, nil
	}
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
