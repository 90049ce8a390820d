package sim

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// maxSteps bounds a traversal (the parser refuses loops; this is a guard).
const maxSteps = 100000

type frame struct {
	c *parser.Chain
	// cc is c resolved (compiled simulator), else nil.
	cc *cchain
	i  int
	// cl and ci: the chain's candidate rules for this packet and the
	// position in them (fast path, see compile.go); cl is nil without.
	cl []int32
	ci int
}

// table traverses one table's built-in chain as ipt_do_table does; ti and
// hi are tableIndex(table) and hookIndex(chain).
func (r *run) table(table string, ti int, chain string, hi int) verdict {
	// Compiled: the chains are resolved to pointers (compile.go); else
	// they are looked up by name.
	var t *parser.Table
	var base *parser.Chain
	bc, ok := (*cchain)(nil), false
	if r.s.fast != nil {
		bc, ok = r.s.fast.baseChain(ti, hi)
	}
	if ok {
		if bc == nil {
			return verdict{kind: vAccept}
		}
		base = bc.c
	} else {
		bc = nil
		if t = r.s.Ruleset.Tables[table]; t == nil {
			return verdict{kind: vAccept}
		}
		if base = t.Chains[chain]; base == nil {
			return verdict{kind: vAccept}
		}
	}
	r.stack = r.stack[:0]
	cur, cc, i := base, bc, 0
	cl, ci := r.cands(cc), 0
	policy := func() verdict {
		if r.s.TraceLast {
			r.last.set(table, base, 0, nil, true)
		} else {
			r.res.Trace = append(r.res.Trace, Step{Table: table, Chain: base.Name, Policy: true, Target: base.Policy, Pos: base.PolicyPos})
		}
		if base.Policy == "DROP" {
			return verdict{kind: vDrop}
		}
		return verdict{kind: vAccept}
	}
	// f is the failing part of a rule that did not match, with Explain.
	var f failure
	fp := (*failure)(nil)
	if r.s.Explain {
		fp = &f
	}
	for {
		if cl != nil {
			// Skip the rules the index proved cannot match.
			for ci < len(cl) && int(cl[ci]) < i {
				ci++
			}
			if ci < len(cl) {
				i = int(cl[ci])
			} else {
				i = len(cur.Rules)
			}
		}
		r.steps++
		if r.steps > maxSteps {
			r.assume("traversal cut short after %d steps (a jump loop?)", maxSteps)
			return verdict{kind: vDrop}
		}
		if i >= len(cur.Rules) {
			if cur == base || len(r.stack) == 0 {
				return policy()
			}
			top := r.stack[len(r.stack)-1]
			r.stack = r.stack[:len(r.stack)-1]
			cur, cc, i, cl, ci = top.c, top.cc, top.i, top.cl, top.ci
			continue
		}
		rule := cur.Rules[i]
		if rule == r.s.Without {
			i++
			continue
		}
		res, mm := ruleMatch(rule, &r.e, fp)
		if res == maybe {
			if rule == r.force {
				res = yes
			} else {
				r.noteMay(table, cur.Name, i+1, rule, mm)
				res = no
			}
		}
		if res == no {
			if r.s.Explain && f.what != "" {
				r.res.Explain = append(r.res.Explain, Miss{Table: table, Chain: cur.Name, Rule: i + 1, Pos: rule.Pos, Option: optionText(rule, f), Col: f.pos.Col})
			}
			i++
			continue
		}
		tg := rule.Target
		if r.s.TraceLast {
			r.last.set(table, cur, i, rule, false)
		} else {
			st := Step{Table: table, Chain: cur.Name, Rule: i + 1, Pos: rule.Pos, R: rule}
			if tg != nil {
				st.Target, st.Goto = tg.Name, tg.Goto
			}
			r.res.Trace = append(r.res.Trace, st)
		}
		if tg == nil {
			i++
			continue
		}
		switch tg.Kind {
		case parser.TargetVerdict:
			switch tg.Name {
			case "ACCEPT":
				return verdict{kind: vAccept}
			case "DROP":
				return verdict{kind: vDrop}
			case "RETURN":
				if cur == base || len(r.stack) == 0 {
					return policy()
				}
				top := r.stack[len(r.stack)-1]
				r.stack = r.stack[:len(r.stack)-1]
				cur, cc, i, cl, ci = top.c, top.cc, top.i, top.cl, top.ci
				continue
			default: // QUEUE
				r.assume("%s at %s: no program listens on the queue, the packet is dropped", tg.Name, posLine(rule.Pos))
				return verdict{kind: vDrop}
			}
		case parser.TargetChain:
			var next *parser.Chain
			var nc *cchain
			if cc != nil {
				if nc = cc.jumps[i]; nc != nil {
					next = nc.c
				}
			} else {
				next = t.Chains[tg.Name]
			}
			if next == nil {
				i++
				continue
			}
			if !tg.Goto {
				r.stack = append(r.stack, frame{cur, cc, i + 1, cl, ci})
			}
			cur, cc, i = next, nc, 0
			cl, ci = r.cands(cc), 0
			continue
		}
		if v := r.extension(table, chain, rule); v.kind != vContinue {
			return v
		}
		i++
	}
}

func (r *run) noteMay(table, chain string, idx int, rule *parser.Rule, m *parser.Match) {
	for _, n := range r.mays {
		if n.r == rule {
			return
		}
	}
	r.mays = append(r.mays, mayNote{table: table, chain: chain, idx: idx, r: rule, m: m})
}

// extension applies an extension target.
func (r *run) extension(table, hook string, rule *parser.Rule) verdict {
	tg := rule.Target
	switch s := tg.Spec.(type) {
	case *parser.RejectTarget:
		with := s.With
		if with == "" {
			with = "icmp-port-unreachable"
			if r.p.Is6() {
				with = "icmp6-port-unreachable"
			}
		}
		return verdict{kind: vReject, with: with}
	case *parser.NATTarget:
		if table != "nat" {
			return verdict{}
		}
		r.applyNAT(s, hook)
		return verdict{kind: vAccept}
	case *parser.MarkTarget:
		c := r.info.conn
		switch {
		case !s.Conn:
			r.p.Mark = (r.p.Mark &^ s.Mask) ^ s.Value
		case c == nil:
		case s.Op == parser.MarkSet:
			c.Mark = (c.Mark &^ s.Mask) ^ s.Value
		case s.Op == parser.MarkSave:
			c.Mark = (c.Mark &^ s.CtMask) ^ (r.p.Mark & s.NfMask)
		case s.Op == parser.MarkRestore:
			r.p.Mark = (r.p.Mark &^ s.NfMask) ^ (c.Mark & s.CtMask)
		}
		return verdict{}
	case *parser.CTTarget:
		if s.NoTrack && table == "raw" {
			r.untracked = true
			r.info = ctInfo{state: parser.CTUntracked}
		}
		return verdict{}
	case *parser.NFQueueTarget:
		if s.Bypass {
			r.assume("%s at %s: no program listens on the queue; --queue-bypass accepts the packet", tg.Name, posLine(rule.Pos))
			return verdict{kind: vAccept}
		}
		r.assume("%s at %s: no program listens on the queue, the packet is dropped", tg.Name, posLine(rule.Pos))
		return verdict{kind: vDrop}
	case *parser.UnknownTarget:
		r.assume("unknown target %s at %s taken as non-terminal without effect", tg.Name, posLine(rule.Pos))
	}
	return verdict{}
}

// applyNAT binds the connection's NAT for the current (first) packet.
func (r *run) applyNAT(s *parser.NATTarget, hook string) {
	c := r.info.conn
	if c == nil {
		return
	}
	src := hook == "POSTROUTING" || hook == "INPUT"
	var rg parser.NATRange
	if len(s.Ranges) > 0 {
		rg = s.Ranges[0]
	}
	v6 := r.p.Is6()
	var addr netip.Addr
	switch s.Kind {
	case parser.NATMasquerade:
		a, ok := r.s.Host.Iface(r.e.out).Primary(v6)
		if !ok && r.e.out == "lo" && !v6 {
			// lo's own address is host-scoped: the kernel takes the first
			// global one of the interfaces in device order
			// (inet_select_addr), here the model's order.
			for _, i := range r.s.Host.Ifaces {
				if a, ok = i.Primary(false); ok && !a.IsLoopback() {
					break
				}
				ok = false
			}
		}
		if !ok {
			r.assume("MASQUERADE: %s has no address; source kept", r.e.out)
			return
		}
		// nf_nat_masquerade_ipv4/6: the range is the one address.
		rg.MinAddr, rg.MaxAddr = a, a
	case parser.NATRedirect:
		if r.p.Local || r.e.in == "" || r.e.in == "lo" {
			addr = netip4(127, 0, 0, 1)
			if v6 {
				addr = ipv6Loopback
			}
		} else if a, ok := r.s.Host.Iface(r.e.in).Primary(v6); ok {
			addr = a
		} else {
			r.assume("REDIRECT: %s has no address; destination address kept", r.e.in)
		}
	case parser.NATNetmap:
		var a = r.p.Dst
		if src {
			a = r.p.Src
		}
		addr = netmapAddr(a, s.Netmap)
	}
	pick := PickNAT(rg, s, c.Reply.invert(), src)
	switch {
	case pick.Random:
		r.assume("NAT port range %d-%d: the kernel picks a random port; %d taken", rg.MinPort, rg.MaxPort, pick.Port)
	case pick.UnsetBase:
		r.assume("MASQUERADE --to-ports %d-%d with a base port: the kernel maps the port from a base it leaves unset; %d taken", rg.MinPort, rg.MaxPort, pick.Port)
	}
	if s.Kind != parser.NATRedirect && s.Kind != parser.NATNetmap {
		addr = pick.Addr
	}
	setupNAT(c, src, addr, pick.Port)
}
