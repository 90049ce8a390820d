package symbolic

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

type verdictKind uint8

const (
	vContinue verdictKind = iota
	vAccept
	vDrop
	vReject
)

type verdict struct {
	kind verdictKind
	with string
}

type frame struct {
	c *parser.Chain
	i int
}

// item is a class in flight inside one table traversal.
type item struct {
	st    *state
	cur   *parser.Chain
	i     int
	stack []frame
}

const maxSteps = 100000

// table traverses one table's built-in chain (sim's table) for a class,
// splitting it at every rule.
func (e *Evaluator) table(st *state, table, chain string) []outcome {
	t := e.RS.Tables[table]
	if t == nil {
		return []outcome{{st, verdict{kind: vAccept}}}
	}
	base := t.Chains[chain]
	if base == nil {
		return []outcome{{st, verdict{kind: vAccept}}}
	}
	var out []outcome
	policy := func(it *item) {
		it.st.trace = it.st.trace.with(sim.Step{Table: table, Chain: base.Name, Policy: true, Target: base.Policy, Pos: base.PolicyPos})
		v := verdict{kind: vAccept}
		if base.Policy == "DROP" {
			v.kind = vDrop
		}
		out = append(out, outcome{it.st, v})
	}
	work := []*item{{st: st, cur: base}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		for {
			if it.st.s.IsEmpty() {
				break
			}
			it.st.steps++
			if it.st.steps&1023 == 0 && !e.budget() {
				return out
			}
			if it.st.steps > maxSteps {
				e.unsupported(it.st, fmt.Sprintf("traversal cut short after %d steps", maxSteps))
				break
			}
			if it.i >= len(it.cur.Rules) {
				if it.cur == base || len(it.stack) == 0 {
					policy(it)
					break
				}
				top := it.stack[len(it.stack)-1]
				it.stack = it.stack[:len(it.stack)-1]
				it.cur, it.i = top.c, top.i
				continue
			}
			rule := it.cur.Rules[it.i]
			if e.Opts.OnlyAccepted && !it.st.curDst.IsValid() && it.st.curDport < 0 && !it.st.natSrc.IsValid() && it.st.natSport < 0 {
				// A run of plain rules that drop or reject: their
				// classes are not built, so the run removes its union
				// in one step.
				if !terminalDrop(rule) {
				} else if r := e.dropRun(it.cur, it.i); r.end > it.i+1 {
					it.st.s = it.st.s.Diff(r.union)
					it.i = r.end
					continue
				}
			}
			must, may, mm := e.match(rule, it.st)
			if !it.st.s.Overlaps(may) {
				it.i++
				continue
			}
			var matched, unc, unmatched pset.Set
			switch {
			case must.Equal(may) && it.st.s.Subset(may):
				matched, unc, unmatched = it.st.s, e.U.Empty(), e.U.Empty()
			case must.Equal(may):
				matched, unc, unmatched = it.st.s.Intersect(may), e.U.Empty(), it.st.s.Diff(may)
			default:
				matched = it.st.s.Intersect(must)
				unc = it.st.s.Intersect(may).Diff(must)
				unmatched = it.st.s.Diff(may)
			}
			step := sim.Step{Table: table, Chain: it.cur.Name, Rule: it.i + 1, Pos: rule.Pos, R: rule}
			if tg := rule.Target; tg != nil {
				step.Target, step.Goto = tg.Name, tg.Goto
			}
			// Branches: the certain match, the uncertain part both ways.
			var branches []*item
			if !unmatched.IsEmpty() || !unc.IsEmpty() {
				// not matched (unc as the simulator's primary answer)
				if !unmatched.IsEmpty() {
					branches = append(branches, &item{st: it.st.clone(unmatched), cur: it.cur, i: it.i + 1, stack: it.stack})
				}
				if !unc.IsEmpty() {
					n := it.st.clone(unc)
					n.mays = append(n.mays, MayRef{Step: step, Match: mm})
					branches = append(branches, &item{st: n, cur: it.cur, i: it.i + 1, stack: it.stack})
					if e.nalt < e.Opts.MaxAlternatives && !it.st.alt {
						e.nalt++
						a := it.st.clone(unc)
						a.mays = append(a.mays, MayRef{Step: step, Match: mm, Taken: true})
						a.alt = true
						if m := e.matched(table, chain, a, it, rule, step, &out); m != nil {
							branches = append(branches, m...)
						}
					}
				}
			}
			if !matched.IsEmpty() {
				m := it.st.clone(matched)
				branches = append(branches, e.matched(table, chain, m, it, rule, step, &out)...)
			}
			if len(branches) == 0 {
				break
			}
			it = branches[0]
			work = append(work, branches[1:]...)
		}
	}
	return out
}

// matched applies a matched rule's target to class st (positioned at it)
// and returns the items that continue in the table; terminal outcomes go
// to out.
func (e *Evaluator) matched(table, hook string, st *state, it *item, rule *parser.Rule, step sim.Step, out *[]outcome) []*item {
	st.trace = st.trace.with(step)
	tg := rule.Target
	next := func(s *state) *item { return &item{st: s, cur: it.cur, i: it.i + 1, stack: it.stack} }
	if tg == nil {
		return []*item{next(st)}
	}
	t := e.RS.Tables[table]
	base := t.Chains[hook]
	switch tg.Kind {
	case parser.TargetVerdict:
		switch tg.Name {
		case "ACCEPT":
			*out = append(*out, outcome{st, verdict{kind: vAccept}})
			return nil
		case "DROP":
			*out = append(*out, outcome{st, verdict{kind: vDrop}})
			return nil
		case "RETURN":
			if it.cur == base || len(it.stack) == 0 {
				st.trace = st.trace.with(sim.Step{Table: table, Chain: base.Name, Policy: true, Target: base.Policy, Pos: base.PolicyPos})
				v := verdict{kind: vAccept}
				if base.Policy == "DROP" {
					v.kind = vDrop
				}
				*out = append(*out, outcome{st, v})
				return nil
			}
			top := it.stack[len(it.stack)-1]
			return []*item{{st: st, cur: top.c, i: top.i, stack: it.stack[:len(it.stack)-1]}}
		default: // QUEUE
			st.assumptions = append(st.assumptions, fmt.Sprintf("%s at %s:%d: no program listens on the queue, the packet is dropped", tg.Name, rule.Pos.File, rule.Pos.Line))
			*out = append(*out, outcome{st, verdict{kind: vDrop}})
			return nil
		}
	case parser.TargetChain:
		nc := t.Chains[tg.Name]
		if nc == nil {
			return []*item{next(st)}
		}
		stack := it.stack
		if !tg.Goto {
			stack = append(slices.Clip(it.stack), frame{it.cur, it.i + 1})
		}
		return []*item{{st: st, cur: nc, i: 0, stack: stack}}
	}
	var conts []*item
	for _, o := range e.extension(table, hook, st, rule) {
		if o.v.kind != vContinue {
			*out = append(*out, o)
		} else {
			conts = append(conts, next(o.st))
		}
	}
	return conts
}

// extension applies an extension target (sim's extension).
func (e *Evaluator) extension(table, hook string, st *state, rule *parser.Rule) []outcome {
	u := e.U
	tg := rule.Target
	cont := []outcome{{st, verdict{}}}
	switch s := tg.Spec.(type) {
	case *parser.RejectTarget:
		with := s.With
		if with == "" {
			with = "icmp-port-unreachable"
			if e.v6 {
				with = "icmp6-port-unreachable"
			}
		}
		return []outcome{{st, verdict{kind: vReject, with: with}}}
	case *parser.NATTarget:
		if table != "nat" {
			return cont
		}
		return e.applyNAT(st, s, hook, rule)
	case *parser.MarkTarget:
		if !s.Conn {
			st.mark = (st.mark &^ s.Mask) ^ s.Value
			return cont
		}
		nw, other := split(st.s, u.CTStates(parser.CTNew))
		var res []outcome
		if !other.IsEmpty() {
			res = append(res, outcome{st.clone(other), verdict{}})
		}
		if nw.IsEmpty() {
			return res
		}
		n := st.clone(nw)
		switch s.Op {
		case parser.MarkSet:
			n.ctmark = (n.ctmark &^ s.Mask) ^ s.Value
		case parser.MarkSave:
			n.ctmark = (n.ctmark &^ s.CtMask) ^ (n.mark & s.NfMask)
		case parser.MarkRestore:
			n.mark = (n.mark &^ s.NfMask) ^ (n.ctmark & s.CtMask)
		}
		return append(res, outcome{n, verdict{}})
	case *parser.CTTarget:
		if s.NoTrack && table == "raw" {
			st.untracked = true
			st.s = e.noConn(st.s, parser.CTUntracked)
			st.natBits, st.status = 0, 0
		}
		return cont
	case *parser.NFQueueTarget:
		if s.Bypass {
			st.assumptions = append(st.assumptions, fmt.Sprintf("%s at %s:%d: no program listens on the queue; --queue-bypass accepts the packet", tg.Name, rule.Pos.File, rule.Pos.Line))
			return []outcome{{st, verdict{kind: vAccept}}}
		}
		st.assumptions = append(st.assumptions, fmt.Sprintf("%s at %s:%d: no program listens on the queue, the packet is dropped", tg.Name, rule.Pos.File, rule.Pos.Line))
		return []outcome{{st, verdict{kind: vDrop}}}
	case *parser.UnknownTarget:
		st.assumptions = append(st.assumptions, fmt.Sprintf("unknown target %s at %s:%d taken as non-terminal without effect", tg.Name, rule.Pos.File, rule.Pos.Line))
	}
	return cont
}

// applyNAT binds the NAT of the class (sim's applyNAT and setupNAT): the
// class splits into the packets the binding changes and those it leaves
// as they are.
func (e *Evaluator) applyNAT(st *state, s *parser.NATTarget, hook string, rule *parser.Rule) []outcome {
	u := e.U
	accept := verdict{kind: vAccept}
	src := hook == "POSTROUTING" || hook == "INPUT"
	var rg parser.NATRange
	if len(s.Ranges) > 0 {
		rg = s.Ranges[0]
		if rg.MinAddr != rg.MaxAddr {
			// sim.PickNAT hashes the packet's addresses to one of the
			// range's: not a set operation.
			e.unsupported(st, fmt.Sprintf("NAT to an address range at %s:%d is not evaluated symbolically", rule.Pos.File, rule.Pos.Line))
			return nil
		}
	}
	addr, port := rg.MinAddr, int(rg.MinPort)
	// A port range keeps the packet's port when it lies in the range
	// (sim.PickNAT); the others take its first port, which is the
	// kernel's choice for a destination manip and a random one's stand-in
	// for a source manip. A range with a port offset maps each port to
	// its own (offsetParts).
	lo, hi := int(rg.MinPort), int(rg.MaxPort)
	if hi < lo {
		lo, hi = hi, lo
	}
	port = lo
	if !rg.Shift && lo != hi && (s.Random || s.FullyRandom || src) {
		st.assumptions = append(st.assumptions, fmt.Sprintf("NAT port range %d-%d: the kernel picks a random port for a port outside it (or any, with --random); %d taken", lo, hi, lo))
	}
	switch s.Kind {
	case parser.NATMasquerade:
		a, ok := e.Host.Iface(st.out).Primary(e.v6)
		if !ok && st.out == "lo" && !e.v6 {
			// As sim: the first global address of the interfaces in the
			// model's order (inet_select_addr).
			for _, i := range e.Host.Ifaces {
				if a, ok = i.Primary(false); ok && !a.IsLoopback() {
					break
				}
				ok = false
			}
		}
		if !ok {
			st.assumptions = append(st.assumptions, fmt.Sprintf("MASQUERADE: %s has no address; source kept", st.out))
			return []outcome{{st, accept}}
		}
		addr = a
	case parser.NATRedirect:
		if st.entry.Local || st.in == "" || st.in == "lo" {
			addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			if e.v6 {
				addr = netip.IPv6Loopback()
			}
		} else if a, ok := e.Host.Iface(st.in).Primary(e.v6); ok {
			addr = a
		} else {
			addr = netip.Addr{}
			st.assumptions = append(st.assumptions, fmt.Sprintf("REDIRECT: %s has no address; destination address kept", st.in))
		}
	case parser.NATNetmap:
		if s.Netmap.Bits() != s.Netmap.Addr().BitLen() {
			e.unsupported(st, fmt.Sprintf("NETMAP to a prefix at %s:%d is not evaluated symbolically", rule.Pos.File, rule.Pos.Line))
			return nil
		}
		addr = s.Netmap.Addr()
	}
	if !e.addrOK(addr) {
		addr = netip.Addr{}
	}
	if port == 0 && !addr.IsValid() {
		return []outcome{{st, accept}}
	}
	af, pf := pset.Dst, pset.Dport
	if src {
		af, pf = pset.Src, pset.Sport
	}
	// Which packets does the binding change?
	addrSame := u.All()
	if addr.IsValid() {
		if !src && st.curDst.IsValid() {
			if st.curDst != addr {
				addrSame = u.Empty()
			}
		} else {
			addrSame = u.EqAddr(af, addr)
		}
	}
	// The port: parts of the class, each with the port it takes (-1: its
	// own), the packets that keep their port first.
	parts := []portPart{{u.All(), -1}}
	if port != 0 {
		if rg.Shift {
			var ok bool
			if parts, ok = e.offsetParts(st, s, rg, src, addr, rule); !ok {
				return nil
			}
		} else {
			portSame := u.All()
			keep := lo != hi && !s.Random && !s.FullyRandom
			switch {
			case !src && st.curDport >= 0:
				if st.curDport != port && (!keep || st.curDport < lo || st.curDport > hi) {
					portSame = e.hasPorts.Not()
				}
			case keep:
				portSame = e.hasPorts.Not().Union(u.Range(pf, uint64(lo), uint64(hi)))
			default:
				portSame = e.hasPorts.Not().Union(u.Eq(pf, uint64(port)))
			}
			parts = []portPart{{portSame, -1}, {portSame.Not(), port}}
		}
	}
	var res []outcome
	add := func(s pset.Set, chAddr bool, port int) {
		if s.IsEmpty() {
			return
		}
		n := st.clone(s)
		if chAddr || port >= 0 {
			bit := uint64(2)
			if src {
				bit = 1
			}
			n.natBits |= bit
		}
		if src {
			if chAddr {
				n.natSrc = addr
			}
			if port >= 0 {
				n.natSport = port
			}
		} else {
			if chAddr {
				n.curDst = addr
			}
			if port >= 0 {
				n.curDport = port
			}
		}
		res = append(res, outcome{n, accept})
	}
	// the binding: n != curr; a field "changes" for the packets where it
	// differs, and the reported NAT names only those fields.
	s1, s2 := split(st.s, addrSame)
	for _, x := range []struct {
		s      pset.Set
		chAddr bool
	}{{s1, false}, {s2, true}} {
		rest := x.s
		for _, p := range parts {
			var in pset.Set
			in, rest = split(rest, p.set)
			add(in, x.chAddr, p.port)
		}
	}
	return res
}

// portPart is the packets of a class a NAT binding gives one port: port,
// or their own when port is -1.
type portPart struct {
	set  pset.Set
	port int
}

// maxOffsetPorts bounds the ports a class is split into by a port offset:
// a class per port it maps to. Past it the NAT is not evaluated.
const maxOffsetPorts = 256

// offsetParts splits the class by the port a range with a port offset
// maps it to (sim.PickNAT, parser.NATRange.OffsetPort): the packets that keep their
// port (not port-carrying, a source already in the range, a port mapped
// to itself) first, then one part per port the others take, in port
// order. The ports the class holds are enumerated when they are few;
// otherwise, for a range of few ports, each port's preimage is built as
// the residue class it is (pset.Mod). A class that would take more than
// maxOffsetPorts ports is reported as not evaluated (ok false).
func (e *Evaluator) offsetParts(st *state, s *parser.NATTarget, rg parser.NATRange, src bool, addr netip.Addr, rule *parser.Rule) (parts []portPart, ok bool) {
	u := e.U
	lo, hi := int(rg.MinPort), int(rg.MaxPort)
	if hi < lo {
		lo, hi = hi, lo
	}
	pf := pset.Dport
	if src {
		pf = pset.Sport
	}
	mapped := st.s.Intersect(e.hasPorts)
	if src && !s.Random && !s.FullyRandom {
		// get_unique_tuple's first step: a tuple already in the range
		// (its address too, when the range has addresses) is kept.
		keep := u.Range(pf, uint64(lo), uint64(hi))
		switch {
		case addr.IsValid() && (rg.MinAddr.IsValid() || s.Kind == parser.NATMasquerade):
			keep = keep.Intersect(u.EqAddr(pset.Src, addr))
		case rg.MinAddr.IsValid():
			keep = u.Empty() // an address of the other family
		}
		mapped = mapped.Diff(keep)
	}
	changed := map[int]pset.Set{}
	switch {
	case mapped.IsEmpty():
	case s.Kind == parser.NATMasquerade:
		// The kernel counts from a base it leaves unset: any port of
		// the range; the first is taken, as for a random one.
		st.assumptions = append(st.assumptions, fmt.Sprintf("MASQUERADE --to-ports %d-%d with a base port at %s:%d: the kernel maps the port from a base it leaves unset; %d taken", lo, hi, rule.Pos.File, rule.Pos.Line, lo))
		changed[lo] = mapped.Diff(u.Eq(pf, uint64(lo)))
	case !src && st.curDport >= 0:
		if q := int(rg.OffsetPort(uint16(st.curDport))); q != st.curDport {
			changed[q] = mapped
		}
	default:
		size := hi - lo + 1
		ivs, complete := mapped.Intervals(pf, maxOffsetPorts)
		n := 0
		for _, iv := range ivs {
			n += int(iv[1]-iv[0]) + 1
		}
		switch {
		case complete && n <= maxOffsetPorts:
			for _, iv := range ivs {
				for p := int(iv[0]); p <= int(iv[1]); p++ {
					q := int(rg.OffsetPort(uint16(p)))
					if q == p {
						continue
					}
					if c, ok := changed[q]; ok {
						changed[q] = c.Union(u.Eq(pf, uint64(p)))
					} else {
						changed[q] = u.Eq(pf, uint64(p))
					}
				}
			}
			for q, c := range changed {
				changed[q] = c.Intersect(mapped)
			}
		case size <= maxOffsetPorts:
			// Port p maps to lo + r when (p - base) mod 65536 is r modulo
			// size: p ≡ r + base from the base up, p ≡ r + base - 65536
			// below it, where the u16 difference wraps.
			base := int(rg.BasePort)
			for r := 0; r < size; r++ {
				pre := u.Range(pf, uint64(base), 65535).Intersect(u.Mod(pf, uint64(size), uint64((r+base)%size)))
				if base > 0 {
					below := ((r+base-65536)%size + size) % size
					pre = pre.Union(u.Range(pf, 0, uint64(base-1)).Intersect(u.Mod(pf, uint64(size), uint64(below))))
				}
				if c := mapped.Intersect(pre).Diff(u.Eq(pf, uint64(lo+r))); !c.IsEmpty() {
					changed[lo+r] = c
				}
			}
		default:
			e.unsupported(st, fmt.Sprintf("NAT with a port offset at %s:%d maps its packets to more than %d ports: not evaluated symbolically", rule.Pos.File, rule.Pos.Line, maxOffsetPorts))
			return nil, false
		}
	}
	ports := make([]int, 0, len(changed))
	all := u.Empty()
	for q, c := range changed {
		if !c.IsEmpty() {
			ports = append(ports, q)
			all = all.Union(c)
		}
	}
	slices.Sort(ports)
	parts = append(parts, portPart{all.Not(), -1})
	for _, q := range ports {
		parts = append(parts, portPart{changed[q], q})
	}
	return parts, true
}

// ruleSets caches what a rule's matches give independently of the class.
type ruleSets struct {
	must, may pset.Set // the plain parts, over the packet's current fields
	exact     bool
	mayName   string
	special   []*parser.Match // matches evaluated per class
	trivial   bool            // no special match
	ctx       bool            // depends on the context fields (interfaces, marks, conntrack)
}

func (e *Evaluator) ruleSetsOf(r *parser.Rule) *ruleSets {
	if rs, ok := e.rules[r]; ok {
		return rs
	}
	rc := *r
	rc.Matches = nil
	out := &ruleSets{}
	for _, m := range r.Matches {
		switch s := m.Spec.(type) {
		case *parser.ConntrackMatch:
			if s.Proto != nil || s.OrigSrc != nil || s.OrigDst != nil || s.ReplSrc != nil || s.ReplDst != nil ||
				s.OrigSrcPort != nil || s.OrigDstPort != nil || s.ReplSrcPort != nil || s.ReplDstPort != nil ||
				s.Status != nil || s.Dir != "" || s.Expire != nil {
				out.special = append(out.special, m)
				continue
			}
		case *parser.AddrtypeMatch, *parser.PkttypeMatch, *parser.TTLMatch:
			out.special = append(out.special, m)
			continue
		}
		if m.Spec == nil || m.MayMatch() {
			if out.mayName == "" {
				out.mayName = m.Name
			}
		}
		if _, ok := pset.MatchOf(e.U, m); !ok && out.mayName == "" {
			out.mayName = m.Name
		}
		rc.Matches = append(rc.Matches, m)
	}
	out.ctx = r.In != nil || r.Out != nil
	for _, m := range r.Matches {
		switch m.Spec.(type) {
		case *parser.MarkMatch, *parser.ConntrackMatch, *parser.StateMatch, *parser.PhysdevMatch:
			out.ctx = true
		}
	}
	out.must, out.may = pset.MatchSet(e.U, &rc)
	out.exact = out.must.Equal(out.may)
	if !out.exact && out.mayName == "" {
		out.mayName = "?"
	}
	out.trivial = len(out.special) == 0
	e.rules[r] = out
	return out
}

// match returns the packets (as they arrived, in the class's context) that
// rule r certainly and possibly matches, and the name of a may-match match.
func (e *Evaluator) match(r *parser.Rule, st *state) (must, may pset.Set, mayName string) {
	rs := e.ruleSetsOf(r)
	if quickMiss(r, st) {
		return e.U.Empty(), e.U.Empty(), ""
	}
	if rs.trivial && !rs.ctx && !st.curDst.IsValid() && st.curDport < 0 && !st.natSrc.IsValid() && st.natSport < 0 {
		return rs.must, rs.may, rs.mayName
	}
	may = rs.may
	exact := rs.exact
	mayName = rs.mayName
	may = e.subst(may, st)
	for _, m := range rs.special {
		if may.IsEmpty() {
			break
		}
		s, ok := e.special(m, st)
		may = may.Intersect(s)
		if !ok {
			exact = false
			if mayName == "" {
				mayName = m.Name
			}
		}
	}
	if rs.ctx {
		may = e.withCtx(may, st)
	}
	if !exact {
		return e.U.Empty(), may, mayName
	}
	return may, may, ""
}

// dropRun is a run of consecutive rules of a chain that drop or reject
// and whose sets depend on nothing of the class's context.
type dropRun struct {
	end   int // one past the last rule of the run
	union pset.Set
}

type runKey struct {
	c *parser.Chain
	i int
}

func terminalDrop(r *parser.Rule) bool {
	if r.Target == nil {
		return false
	}
	if r.Target.Kind == parser.TargetVerdict {
		return r.Target.Name == "DROP"
	}
	_, ok := r.Target.Spec.(*parser.RejectTarget)
	return ok
}

func (e *Evaluator) dropRun(c *parser.Chain, i int) dropRun {
	if e.runs == nil {
		e.runs = map[runKey]dropRun{}
	}
	if r, ok := e.runs[runKey{c, i}]; ok {
		return r
	}
	r := dropRun{end: i, union: e.U.Empty()}
	for j := i; j < len(c.Rules); j++ {
		rule := c.Rules[j]
		if !terminalDrop(rule) {
			break
		}
		rs := e.ruleSetsOf(rule)
		if !rs.trivial || rs.ctx || !rs.exact {
			break
		}
		r.union = r.union.Union(rs.may)
		r.end = j + 1
	}
	e.runs[runKey{c, i}] = r
	return r
}

// ctxKey identifies the context constants of a class.
type ctxKey struct {
	in, out, physin, physout string
	bridged                  bool
	nat                      uint64
	status                   parser.CTStatus
	mark, ctmark             uint32
	reply                    bool
}

// withCtx resolves a rule's set against the class's context constants:
// the packets that match it with these interfaces, marks and conntrack
// status (the context fields are then free).
func (e *Evaluator) withCtx(m pset.Set, st *state) pset.Set {
	reply := st.entry.Reply && st.entry.State != 0
	k := ctxKey{st.in, st.out, st.physin, st.physout, st.nfBridge, st.natBits, st.status, st.mark, st.ctmark, reply}
	c, ok := e.ctxSets[k]
	if !ok {
		u := e.U
		b := uint64(0)
		if st.nfBridge {
			b = 1
		}
		dir := uint64(0)
		if reply {
			dir = 1
		}
		c = u.Iface(pset.InIface, st.in).Intersect(u.Iface(pset.OutIface, st.out)).
			Intersect(u.Iface(pset.PhysIn, st.physin)).Intersect(u.Iface(pset.PhysOut, st.physout)).
			Intersect(u.Eq(pset.Bridged, b)).Intersect(u.Eq(pset.CTNat, st.natBits)).
			Intersect(u.Eq(pset.CTStatus, uint64(st.status))).Intersect(u.Eq(pset.CTDir, dir)).
			Intersect(u.Eq(pset.Mark, uint64(st.mark))).Intersect(u.Eq(pset.CTMark, uint64(st.ctmark)))
		e.ctxSets[k] = c
	}
	return forgetAll(m.Intersect(c), ctxForget)
}

var ctxForget = []pset.Field{pset.Bridged, pset.PhysIn, pset.PhysOut, pset.InIface, pset.OutIface,
	pset.CTNat, pset.CTStatus, pset.CTDir, pset.Mark, pset.CTMark}

// forgetAll forgets fields. Forget keeps sets well-formed, so forgetting
// a field that a well-formedness rule ties to another (bridge ports to
// bridge info, NAT and status bits to the conntrack state) can leave it
// constrained by the other; a second pass frees it.
func forgetAll(s pset.Set, fs []pset.Field) pset.Set {
	for _, f := range fs {
		s = s.Forget(f)
	}
	for _, f := range fs {
		switch f {
		case pset.CTNat, pset.CTStatus, pset.CTState, pset.Bridged, pset.PhysIn, pset.PhysOut:
			s = s.Forget(f)
		}
	}
	return s
}

// quickMiss tells, from the rule's text alone, that a class whose
// destination NAT made constant cannot match it.
func quickMiss(r *parser.Rule, st *state) bool {
	if st.curDst.IsValid() && r.Dst != nil && r.Dst.Addr.Is4() == st.curDst.Is4() &&
		parser.MatchesAddr(st.curDst, r.Dst.Addr, r.Dst.Mask) == r.Dst.Neg {
		return true
	}
	if st.curDport >= 0 {
		for _, m := range r.Matches {
			var ps *parser.PortSet
			switch s := m.Spec.(type) {
			case *parser.TCPMatch:
				ps = s.Dport
			case *parser.UDPMatch:
				ps = s.Dport
			}
			if ps != nil && !ps.Contains(uint16(st.curDport)) {
				return true
			}
		}
	}
	return false
}

// subst rewrites a set over current fields into one over the packet as it
// arrived, for the class's NAT: the destination is then a constant.
func (e *Evaluator) subst(s pset.Set, st *state) pset.Set {
	u := e.U
	if st.curDst.IsValid() {
		s = s.Intersect(u.EqAddr(pset.Dst, st.curDst)).Forget(pset.Dst)
	}
	if st.curDport >= 0 {
		// Only port-carrying packets had their port changed.
		p := s.Intersect(e.hasPorts)
		p = p.Intersect(u.Eq(pset.Dport, uint64(st.curDport))).Forget(pset.Dport).Intersect(e.hasPorts)
		s = s.Diff(e.hasPorts).Union(p)
	}
	if st.natSrc.IsValid() {
		s = s.Intersect(u.EqAddr(pset.Src, st.natSrc)).Forget(pset.Src)
	}
	if st.natSport >= 0 {
		p := s.Intersect(e.hasPorts)
		p = p.Intersect(u.Eq(pset.Sport, uint64(st.natSport))).Forget(pset.Sport).Intersect(e.hasPorts)
		s = s.Diff(e.hasPorts).Union(p)
	}
	return s
}

// curAddr is the set of packets whose current address in field f (Src or
// Dst) lies in the set sel (a set over f).
func (e *Evaluator) curAddr(f pset.Field, sel pset.Set, st *state) pset.Set {
	if f == pset.Dst && st.curDst.IsValid() {
		if sel.Overlaps(e.U.EqAddr(pset.Dst, st.curDst)) {
			return e.U.All()
		}
		return e.U.Empty()
	}
	if f == pset.Src && st.natSrc.IsValid() {
		if sel.Overlaps(e.U.EqAddr(pset.Src, st.natSrc)) {
			return e.U.All()
		}
		return e.U.Empty()
	}
	return sel
}

// special evaluates a match whose set depends on the class's context.
func (e *Evaluator) special(m *parser.Match, st *state) (pset.Set, bool) {
	u := e.U
	switch s := m.Spec.(type) {
	case *parser.ConntrackMatch:
		return e.conntrack(s, st)
	case *parser.AddrtypeMatch:
		r := u.All()
		// addrtype_mt_v1 restricts the source and the destination to
		// the same device: the input one with --limit-iface-in, the
		// output one with --limit-iface-out.
		if s.Src != nil {
			dev := ""
			switch {
			case s.LimitIfaceIn:
				dev = st.in
			case s.LimitIfaceOut:
				dev = st.out
			}
			r = r.Intersect(neg(e.addrTypes(pset.Src, s.Src.Mask, dev, st), s.Src.Neg))
		}
		if s.Dst != nil {
			dev := ""
			switch {
			case s.LimitIfaceIn:
				dev = st.in
			case s.LimitIfaceOut:
				dev = st.out
			}
			r = r.Intersect(neg(e.addrTypes(pset.Dst, s.Dst.Mask, dev, st), s.Dst.Neg))
		}
		return r, true
	case *parser.PkttypeMatch:
		var t pset.Set
		switch lower(s.Type) {
		case "multicast":
			t = e.curAddr(pset.Dst, e.mcast, st)
		case "broadcast":
			t = e.curAddr(pset.Dst, e.bcast.Diff(e.mcast), st)
		case "unicast", "host":
			if lower(s.Type) == "host" {
				t = u.Empty()
			} else {
				t = e.curAddr(pset.Dst, e.mcast.Union(e.bcast), st).Not()
			}
		default:
			t = u.Empty()
		}
		return neg(t, s.Neg), true
	case *parser.TTLMatch:
		d := uint64(0)
		if st.ttlDec {
			d = 1
		}
		v := uint64(s.Value)
		var r pset.Set
		switch s.Op {
		case "lt": // ttl-d < v
			r = u.Empty()
			if v+d > 0 {
				r = u.Range(pset.TTL, 0, min(v+d-1, 255))
			}
		case "gt": // ttl-d > v
			if v+d+1 <= 255 {
				r = u.Range(pset.TTL, v+d+1, 255)
			} else {
				r = u.Empty()
			}
		default:
			if v+d <= 255 {
				r = u.Eq(pset.TTL, v+d)
			} else {
				r = u.Empty()
			}
		}
		return neg(r, s.Neg), true
	}
	return pset.MatchOf(u, m)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// addrSel is the set of packets whose field f a conntrack address option
// (--ctorigsrc and the like) takes; an address of the other family takes
// none (all, negated).
func (e *Evaluator) addrSel(f pset.Field, a *parser.AddrSel) pset.Set {
	u := e.U
	if !e.addrOK(a.Addr) || !e.addrOK(a.Mask) {
		if a.Neg {
			return u.All()
		}
		return u.Empty()
	}
	return neg(u.Prefix(f, a.Addr, a.Mask), a.Neg)
}

func neg(s pset.Set, n bool) pset.Set {
	if n {
		return s.Not()
	}
	return s
}

// addrTypes is Host.AddrType(addr, dev) & mask != 0 over the current
// address of field f.
func (e *Evaluator) addrTypes(f pset.Field, mask parser.AddrType, dev string, st *state) pset.Set {
	u := e.U
	if f == pset.Dst && st.curDst.IsValid() {
		if e.Host.AddrType(st.curDst, dev)&mask != 0 {
			return u.All()
		}
		return u.Empty()
	}
	if f == pset.Src && st.natSrc.IsValid() {
		if e.Host.AddrType(st.natSrc, dev)&mask != 0 {
			return u.All()
		}
		return u.Empty()
	}
	rest := u.All()
	r := u.Empty()
	take := func(s pset.Set, t parser.AddrType) {
		in := rest.Intersect(s)
		rest = rest.Diff(s)
		if t&mask != 0 {
			r = r.Union(in)
		}
	}
	if !e.v6 {
		take(u.EqAddr(f, netip.IPv4Unspecified()).Union(u.EqAddr(f, netip.AddrFrom4([4]byte{255, 255, 255, 255}))), parser.ATBroadcast)
		take(u.CIDR(f, netip.MustParsePrefix("224.0.0.0/4")), parser.ATMulticast)
	} else {
		take(u.CIDR(f, netip.MustParsePrefix("ff00::/8")), parser.ATMulticast)
	}
	local := parser.ATLocal
	if e.v6 {
		local |= parser.ATUnicast // as Host.AddrType
	}
	take(e.localSet(f, dev), local)
	take(e.bcastSet(f, dev), parser.ATBroadcast)
	if e.v6 {
		take(u.EqAddr(f, netip.IPv6Unspecified()), parser.ATUnspec)
	}
	take(rest, parser.ATUnicast)
	return r
}

// conntrack is xt_conntrack (sim's conntrackMatch) for a first packet or
// one of an asserted entry: the entry's original tuple is the packet's own
// before NAT, its reply tuple the inverse of the packet after DNAT; for
// the replies of an entry without NAT (Entry.Reply), the original tuple is
// the packet's inverted and the reply tuple its own.
func (e *Evaluator) conntrack(c *parser.ConntrackMatch, st *state) (pset.Set, bool) {
	if st.entry.Reply && st.entry.State != 0 {
		return e.conntrackReply(c, st)
	}
	u := e.U
	exact := true
	rest := u.All()
	and := func(s pset.Set) { rest = rest.Intersect(s) }
	if c.Dir == "REPLY" {
		and(u.Empty())
	}
	if c.Proto != nil {
		var p pset.Set
		if c.Proto.Num == 0 {
			p = u.All()
		} else {
			p = u.Eq(pset.Proto, uint64(c.Proto.Num))
		}
		and(neg(p, c.Proto.Neg))
	}
	sel := e.addrSel
	if c.OrigSrc != nil {
		and(sel(pset.Src, c.OrigSrc))
	}
	if c.OrigDst != nil {
		and(sel(pset.Dst, c.OrigDst))
	}
	if c.ReplSrc != nil { // the destination after DNAT
		and(e.curAddr(pset.Dst, sel(pset.Dst, c.ReplSrc), st))
	}
	if c.ReplDst != nil { // the source after SNAT
		and(e.curAddr(pset.Src, sel(pset.Src, c.ReplDst), st))
	}
	// Ports of the tuples: port protocols use the ports; ICMP the
	// identifier (sport) and type<<8; other protocols 0.
	icmpPorts := func(ps *parser.PortSet, inverse bool) pset.Set { return icmpTypePorts(u, ps, inverse) }
	other := e.hasPorts.Union(e.icmp).Not()
	zero := func(ps *parser.PortSet) pset.Set {
		if ps.Contains(0) {
			return other
		}
		return u.Empty()
	}
	if ps := c.OrigSrcPort; ps != nil {
		and(e.hasPorts.Union(e.icmp).Intersect(u.Ports(pset.Sport, ps)).Union(zero(ps)))
	}
	if ps := c.OrigDstPort; ps != nil {
		and(e.hasPorts.Intersect(u.Ports(pset.Dport, ps)).Union(e.icmp.Intersect(icmpPorts(ps, false))).Union(zero(ps)))
	}
	if ps := c.ReplSrcPort; ps != nil {
		var p pset.Set
		if st.curDport >= 0 {
			p = u.Empty()
			if ps.Contains(uint16(st.curDport)) {
				p = u.All()
			}
		} else {
			p = u.Ports(pset.Dport, ps)
		}
		and(e.hasPorts.Intersect(p).Union(e.icmp.Intersect(u.Ports(pset.Sport, ps))).Union(zero(ps)))
	}
	if ps := c.ReplDstPort; ps != nil {
		var p pset.Set
		if st.natSport >= 0 {
			p = u.Empty()
			if ps.Contains(uint16(st.natSport)) {
				p = u.All()
			}
		} else {
			p = u.Ports(pset.Sport, ps)
		}
		and(e.hasPorts.Intersect(p).Union(e.icmp.Intersect(icmpPorts(ps, true))).Union(zero(ps)))
	}
	return e.conntrackRest(c, rest, exact)
}

// conntrackRest adds to rest, the packets the tuple options of c accept,
// the options that do not depend on the direction (--ctstatus,
// --ctexpire) and the state test.
func (e *Evaluator) conntrackRest(c *parser.ConntrackMatch, rest pset.Set, exact bool) (pset.Set, bool) {
	u := e.U
	hasCT := u.CTStates(parser.CTNew | parser.CTEstablished | parser.CTRelated)
	if c.Status != nil {
		mask := uint64(c.Status.Mask &^ parser.CTStatusNone & 0xf)
		any := u.Bits(pset.CTStatus, mask, 0).Not()
		if mask == 0 {
			any = u.Empty()
		}
		rest = rest.Intersect(neg(any, c.Status.Neg))
	}
	if c.Expire != nil {
		exact = false
	}
	if c.State == nil {
		return hasCT.Intersect(rest), exact
	}
	stt := neg(u.CTStates(c.State.Mask), c.State.Neg)
	return stt.Intersect(hasCT.Not().Union(rest)), exact
}

// conntrackReply is xt_conntrack for the replies of an asserted entry
// without NAT, as sim gives them (sim.Packet.CTDir "REPLY"): the direction
// is REPLY, the original tuple is the packet's inverted (source and
// destination swapped, ports too; an ICMP query's type is its request's)
// and the reply tuple is the packet's own.
//
// For the replies of an entry with source NAT (st.replyDst), the reply
// tuple's destination is the NAT address and the original tuple's source
// the packet's destination after un-SNAT (the set's Dst).
func (e *Evaluator) conntrackReply(c *parser.ConntrackMatch, st *state) (pset.Set, bool) {
	u := e.U
	rest := u.All()
	and := func(s pset.Set) { rest = rest.Intersect(s) }
	if c.Dir == "ORIGINAL" {
		and(u.Empty())
	}
	if c.Proto != nil {
		p := u.All()
		if c.Proto.Num != 0 {
			p = u.Eq(pset.Proto, uint64(c.Proto.Num))
		}
		and(neg(p, c.Proto.Neg))
	}
	sel := e.addrSel
	for _, x := range []struct {
		a *parser.AddrSel
		f pset.Field
	}{{c.OrigSrc, pset.Dst}, {c.OrigDst, pset.Src}, {c.ReplSrc, pset.Src}, {c.ReplDst, pset.Dst}} {
		if x.a == nil {
			continue
		}
		if x.a == c.ReplDst && st.replyDst.IsValid() {
			if !sel(pset.Dst, x.a).Overlaps(u.EqAddr(pset.Dst, st.replyDst)) {
				and(u.Empty())
			}
			continue
		}
		and(sel(x.f, x.a))
	}
	other := e.hasPorts.Union(e.icmp).Not()
	// port is a port of a tuple: f for port protocols, the echo
	// identifier (sport) for ICMP, 0 for the other protocols. typ, for
	// the destination ports, gives ICMP its type<<8 instead (inverted for
	// the original tuple).
	port := func(ps *parser.PortSet, f pset.Field, typ, inverse bool) pset.Set {
		icmp := u.Ports(pset.Sport, ps)
		if typ {
			icmp = icmpTypePorts(u, ps, inverse)
		}
		s := e.hasPorts.Intersect(u.Ports(f, ps)).Union(e.icmp.Intersect(icmp))
		if ps.Contains(0) {
			s = s.Union(other)
		}
		return s
	}
	if ps := c.OrigSrcPort; ps != nil {
		and(port(ps, pset.Dport, false, false))
	}
	if ps := c.OrigDstPort; ps != nil {
		and(port(ps, pset.Sport, true, true))
	}
	if ps := c.ReplSrcPort; ps != nil {
		and(port(ps, pset.Sport, false, false))
	}
	if ps := c.ReplDstPort; ps != nil {
		and(port(ps, pset.Dport, true, false))
	}
	return e.conntrackRest(c, rest, true)
}

// icmpTypePorts is the ICMP packets whose tuple's destination port (the
// type<<8, of the inverted tuple when inverse) is in ps.
func icmpTypePorts(u *pset.Universe, ps *parser.PortSet, inverse bool) pset.Set {
	r := u.Empty()
	for t := 0; t < 256; t++ {
		tt := uint8(t)
		if inverse {
			if inv, ok := icmpInverse[tt]; ok {
				tt = inv
			}
		}
		if ps.Contains(uint16(tt) << 8) {
			r = r.Union(u.Eq(pset.ICMPType, uint64(t)))
		}
	}
	return r
}

var icmpInverse = map[uint8]uint8{
	8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
	128: 129, 129: 128, 139: 140, 140: 139,
}
