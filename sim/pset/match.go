package pset

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// MatchSet returns the packets that rule r's matches certainly match (must)
// and those they possibly match (may); must ⊆ may.
//
// When every part of the rule is exact, must == may. A part whose outcome
// cannot be known from the packet fields (see MatchOf: -m set, unknown
// modules, opaque modules such as limit or recent, and the few options dfw
// does not model) leaves its fields unconstrained in may and makes must
// empty: an analysis that reasons with must never calls a rule unreachable
// or redundant because of such a match, and one that reasons with may never
// misses a packet the rule could match. The target is not considered.
func MatchSet(u *Universe, r *parser.Rule) (must, may Set) {
	c := u.conj()
	exact := true
	if r.Src != nil {
		exact = c.addr(Src, r.Src.Addr, r.Src.Mask, r.Src.Neg) && exact
	}
	if r.Dst != nil {
		exact = c.addr(Dst, r.Dst.Addr, r.Dst.Mask, r.Dst.Neg) && exact
	}
	if r.In != nil {
		c.set(neg(u.IfaceMatch(InIface, r.In.Name, r.In.Wildcard), r.In.Neg))
	}
	if r.Out != nil {
		c.set(neg(u.IfaceMatch(OutIface, r.Out.Name, r.Out.Wildcard), r.Out.Neg))
	}
	if r.Proto != nil {
		c.proto(r.Proto)
	}
	if r.Fragment != nil {
		c.field(Fragment, u.eqBDD(Fragment, wideOf(1)), r.Fragment.Neg)
	}
	for _, m := range r.Matches {
		if c.empty() {
			break
		}
		if ok, done := c.match(m); done {
			exact = exact && ok
			continue
		}
		s, ok := MatchOf(u, m)
		c.set(s)
		exact = exact && ok
	}
	may = c.result()
	if !exact {
		return u.Empty(), may
	}
	return may, may
}

// conj builds the conjunction of a rule's parts for MatchSet. A part that
// tests one field lying above every variable of valid (protocol, addresses,
// ports, ICMP type and code, TCP flags, fragment, in the default order) is
// kept as a BDD over that field's variables alone; result composes those
// bottom-up on top of the other parts, each node built once. Intersecting
// the parts one by one gives the same set, but every step rebuilds (or
// looks up) every node of the set so far: on large rulesets that was most
// of the cost of MatchSet.
type conj struct {
	u    *Universe
	raw  [NumFields]uint32 // bddTrue: the field is not tested
	rest Set               // the other parts
	none bool              // a part is empty
	// bits are the parts "f & mask == value" (negated: !=) not yet built,
	// which result builds on their leaf directly.
	bits [NumFields]bitsPart
}

type bitsPart struct {
	mask, value wide
	neg, set    bool
}

func (u *Universe) conj() *conj {
	c := &conj{u: u, rest: u.All()}
	for f := range c.raw {
		c.raw[f] = bddTrue
	}
	return c
}

func (c *conj) empty() bool { return c.none || c.rest.IsEmpty() }

// upper reports whether every variable of f lies above valid's first.
func (c *conj) upper(f Field) bool {
	fi := c.u.fields[f]
	return fi.off+fi.width <= c.u.d.level(c.u.valid)
}

// field adds the part "f in n" (or, with negate, "f not in n"), where n is
// a BDD over the variables of f alone.
func (c *conj) field(f Field, n uint32, negate bool) {
	d := c.u.d
	if negate {
		n = d.diff(bddTrue, n)
	}
	if !c.upper(f) {
		c.set(c.u.set(n))
		return
	}
	if b := &c.bits[f]; b.set {
		// A second part on f: build the first.
		b.set = false
		if b.neg {
			c.raw[f] = d.and(c.raw[f], c.u.bitsOff(f, b.mask, b.value, bddTrue))
		} else {
			c.raw[f] = d.and(c.raw[f], c.u.bitsOn(f, b.mask, b.value, bddTrue))
		}
	}
	c.raw[f] = d.and(c.raw[f], n)
	if c.raw[f] == bddFalse {
		c.none = true
	}
}

func (c *conj) set(s Set) { c.rest = c.rest.Intersect(s) }

func (c *conj) addr(f Field, a, mask netip.Addr, negate bool) bool {
	if !c.u.addrOK(a) || !c.u.addrOK(mask) {
		return false
	}
	if c.upper(f) && !c.bits[f].set && c.raw[f] == bddTrue {
		c.bits[f] = bitsPart{mask: addrWide(mask), value: addrWide(a), neg: negate, set: true}
		return true
	}
	c.field(f, c.u.bitsBDD(f, addrWide(mask), addrWide(a)), negate)
	return true
}

func (c *conj) proto(p *parser.ProtoMatch) {
	if p.Num == 0 { // "all"
		if p.Neg {
			c.none = true
		}
		return
	}
	c.field(Proto, c.u.eqBDD(Proto, wideOf(uint64(p.Num))), p.Neg)
}

func (c *conj) ports(f Field, ps *parser.PortSet) {
	c.field(f, c.u.portsBDD(f, ps), false)
}

// portMatch adds the parts of a tcp, udp or sctp match's ports.
func (c *conj) portMatch(sport, dport *parser.PortSet) {
	c.first()
	if sport != nil {
		c.ports(Sport, sport)
	}
	if dport != nil {
		c.ports(Dport, dport)
	}
}

// first is the part "not a second or further fragment" of the port, flag
// and ICMP matches.
func (c *conj) first() { c.field(Fragment, c.u.eqBDD(Fragment, wideOf(0)), false) }

// match adds the parts of the matches whose parts test one field each, as
// MatchOf computes them; done is false for the others (the caller takes
// MatchOf's set).
func (c *conj) match(m *parser.Match) (exact, done bool) {
	u := c.u
	switch s := m.Spec.(type) {
	case *parser.CommentMatch:
		return true, true
	case *parser.TCPMatch:
		c.portMatch(s.Sport, s.Dport)
		if s.Flags != nil {
			c.field(TCPFlags, u.bitsBDD(TCPFlags, wideOf(uint64(s.Flags.Mask)), wideOf(uint64(s.Flags.Comp))), s.Flags.Neg)
		}
		return s.Option == nil, true
	case *parser.UDPMatch:
		c.portMatch(s.Sport, s.Dport)
		return true, true
	case *parser.SCTPMatch:
		c.portMatch(s.Sport, s.Dport)
		return s.Chunks == nil, true
	case *parser.MultiportMatch:
		switch {
		case s.Src != nil:
			c.first()
			c.ports(Sport, s.Src)
			return true, true
		case s.Dst != nil:
			c.first()
			c.ports(Dport, s.Dst)
			return true, true
		case s.Any == nil:
			c.first()
			return true, true
		}
	case *parser.ICMPMatch:
		switch {
		case s.Any && s.Neg:
			c.none = true
			return true, true
		case s.Any:
			c.first()
			return true, true
		case !s.Neg:
			c.first()
			c.field(ICMPType, u.eqBDD(ICMPType, wideOf(uint64(s.Type))), false)
			c.field(ICMPCode, u.rangeBDD(ICMPCode, wideOf(uint64(s.Code.Lo)), wideOf(uint64(s.Code.Hi))), false)
			return true, true
		}
	}
	return false, false
}

// result is the conjunction of the parts.
func (c *conj) result() Set {
	u, d := c.u, c.u.d
	if c.empty() {
		return u.Empty()
	}
	// Compose the one-field parts bottom-up on leaf: on the other parts
	// when those test only variables below them, else on valid, and
	// intersect.
	leaf := c.rest.n
	lowest := int32(-1) // the last variable of the lowest one-field part
	for f := range c.raw {
		if c.raw[f] != bddTrue || c.bits[f].set {
			fi := u.fields[f]
			lowest = max(lowest, fi.off+fi.width-1)
		}
	}
	if lowest < 0 {
		return c.rest
	}
	split := d.level(leaf) > lowest
	if !split {
		leaf = u.valid
	}
	r := leaf
	for i := len(u.order) - 1; i >= 0; i-- {
		f := u.order[i]
		switch b := &c.bits[f]; {
		case b.set && b.neg:
			r = u.bitsOff(f, b.mask, b.value, r)
		case b.set:
			r = u.bitsOn(f, b.mask, b.value, r)
		case c.raw[f] != bddTrue:
			r = d.compose(c.raw[f], r)
		}
	}
	if !split {
		r = d.and(r, c.rest.n)
	}
	return Set{u, r}
}

// MatchOf returns the set of packets one "-m" match matches, and whether
// that set is exact. When it is not, the set is the sound over-approximation
// (every packet the match could match), usually everything: the match is a
// "may match". Inexact: -m set, unknown modules, opaque modules (limit,
// hashlimit, recent, statistic, time, connlimit, string, u32, owner, …),
// --tcp-option, SCTP --chunk-types, mac, conntrack --ctexpire and
// --ctstatus NONE, addrtype with --limit-iface-in/out.
func MatchOf(u *Universe, m *parser.Match) (Set, bool) {
	all := u.All()
	// The port, flag and ICMP matches never match a non-first fragment.
	first := func() Set { return u.Eq(Fragment, 0) }
	switch s := m.Spec.(type) {
	case *parser.CommentMatch:
		return all, true
	case *parser.OpaqueMatch:
		return all, s.AlwaysTrue
	case *parser.SetMatch, *parser.UnknownMatch, *parser.MACMatch, nil:
		return all, false
	case *parser.TCPMatch:
		r := first()
		if s.Sport != nil {
			r = r.Intersect(u.Ports(Sport, s.Sport))
		}
		if s.Dport != nil {
			r = r.Intersect(u.Ports(Dport, s.Dport))
		}
		if s.Flags != nil {
			r = r.Intersect(neg(u.Bits(TCPFlags, uint64(s.Flags.Mask), uint64(s.Flags.Comp)), s.Flags.Neg))
		}
		return r, s.Option == nil
	case *parser.UDPMatch:
		r := first()
		if s.Sport != nil {
			r = r.Intersect(u.Ports(Sport, s.Sport))
		}
		if s.Dport != nil {
			r = r.Intersect(u.Ports(Dport, s.Dport))
		}
		return r, true
	case *parser.SCTPMatch:
		r := first()
		if s.Sport != nil {
			r = r.Intersect(u.Ports(Sport, s.Sport))
		}
		if s.Dport != nil {
			r = r.Intersect(u.Ports(Dport, s.Dport))
		}
		return r, s.Chunks == nil
	case *parser.MultiportMatch:
		r := first()
		switch {
		case s.Src != nil:
			r = r.Intersect(u.Ports(Sport, s.Src))
		case s.Dst != nil:
			r = r.Intersect(u.Ports(Dport, s.Dst))
		case s.Any != nil:
			pos := *s.Any
			pos.Neg = false
			either := u.Ports(Sport, &pos).Union(u.Ports(Dport, &pos))
			r = r.Intersect(neg(either, s.Any.Neg))
		}
		return r, true
	case *parser.ICMPMatch:
		t := all
		if !s.Any {
			t = u.Eq(ICMPType, uint64(s.Type)).Intersect(u.Range(ICMPCode, uint64(s.Code.Lo), uint64(s.Code.Hi)))
		}
		return first().Intersect(neg(t, s.Neg)), true
	case *parser.StateMatch:
		if s.State == nil {
			return all, true
		}
		base := parser.CTInvalid | parser.CTNew | parser.CTEstablished | parser.CTRelated | parser.CTUntracked
		return neg(u.CTStates(s.State.Mask&base), s.State.Neg), true
	case *parser.ConntrackMatch:
		return u.conntrack(s)
	case *parser.AddrtypeMatch:
		r := all
		if s.Src != nil {
			r = r.Intersect(neg(u.AddrTypes(SrcType, s.Src.Mask), s.Src.Neg))
		}
		if s.Dst != nil {
			r = r.Intersect(neg(u.AddrTypes(DstType, s.Dst.Mask), s.Dst.Neg))
		}
		if s.LimitIfaceIn || s.LimitIfaceOut {
			// The type is then that of the address on one interface
			// only, which the symbolic type does not capture.
			return all, false
		}
		return r, true
	case *parser.IPRangeMatch:
		r, ok := all, true
		for _, x := range []struct {
			f  Field
			ar *parser.AddrRange
		}{{Src, s.Src}, {Dst, s.Dst}} {
			if x.ar == nil {
				continue
			}
			if !u.addrOK(x.ar.Lo) || !u.addrOK(x.ar.Hi) {
				ok = false
				continue
			}
			r = r.Intersect(neg(u.AddrRange(x.f, x.ar.Lo, x.ar.Hi), x.ar.Neg))
		}
		return r, ok
	case *parser.MarkMatch:
		f := Mark
		if s.Conn {
			f = CTMark
		}
		r := neg(u.Bits(f, uint64(s.Mask), uint64(s.Value)), s.Neg)
		if s.Conn {
			// connmark does not match a packet without conntrack entry,
			// negated or not.
			r = r.Intersect(u.hasCT())
		}
		return r, true
	case *parser.PhysdevMatch:
		return u.physdev(s), true
	case *parser.PkttypeMatch:
		return neg(u.PktTypes(s.Type), s.Neg), true
	case *parser.LengthMatch:
		return neg(u.Range(Length, uint64(s.Length.Range.Lo), uint64(s.Length.Range.Hi)), s.Length.Neg), true
	case *parser.TTLMatch:
		var r Set
		v := uint64(s.Value)
		switch s.Op {
		case "lt":
			r = u.Empty()
			if v > 0 {
				r = u.Range(TTL, 0, v-1)
			}
		case "gt":
			r = u.Range(TTL, v+1, 255)
		default:
			r = u.Eq(TTL, v)
		}
		return neg(r, s.Neg), true
	case *parser.TOSMatch:
		if s.DSCP {
			return neg(u.Bits(TOS, 0xfc, uint64(s.Value)<<2), s.Neg), true
		}
		return neg(u.Bits(TOS, uint64(s.Mask), uint64(s.Value)), s.Neg), true
	}
	return all, false
}

func neg(s Set, n bool) Set {
	if n {
		return s.Not()
	}
	return s
}

func (u *Universe) addrOK(a netip.Addr) bool {
	return a.IsValid() && a.Is4() == (u.fam == parser.IPv4)
}

func (u *Universe) addrMatch(f Field, a, mask netip.Addr, n bool) (Set, bool) {
	if !u.addrOK(a) || !u.addrOK(mask) {
		return u.All(), false
	}
	return neg(u.Prefix(f, a, mask), n), true
}

func (u *Universe) proto(f Field, p *parser.ProtoMatch) Set {
	if p.Num == 0 { // "all"
		return neg(u.All(), p.Neg)
	}
	return neg(u.Eq(f, uint64(p.Num)), p.Neg)
}

// hasCT is the packets with a conntrack entry (NEW, ESTABLISHED, RELATED).
func (u *Universe) hasCT() Set {
	return u.CTStates(parser.CTNew | parser.CTEstablished | parser.CTRelated)
}

// conntrack follows xt_conntrack's conntrack_mt: the state test (with
// SNAT/DNAT only for packets with an entry), then, for a packet without
// entry, a match iff --ctstate was given; else every other option.
func (u *Universe) conntrack(c *parser.ConntrackMatch) (Set, bool) {
	all := u.All()
	exact := true
	rest := all
	and := func(s Set) { rest = rest.Intersect(s) }
	switch c.Dir {
	case "ORIGINAL":
		and(u.Eq(CTDir, 0))
	case "REPLY":
		and(u.Eq(CTDir, 1))
	}
	if c.Proto != nil {
		and(u.proto(CTProto, c.Proto))
	}
	for _, x := range []struct {
		f Field
		a *parser.AddrSel
	}{{CTOrigSrc, c.OrigSrc}, {CTOrigDst, c.OrigDst}, {CTReplSrc, c.ReplSrc}, {CTReplDst, c.ReplDst}} {
		if x.a != nil {
			s, ok := u.addrMatch(x.f, x.a.Addr, x.a.Mask, x.a.Neg)
			and(s)
			exact = exact && ok
		}
	}
	for _, x := range []struct {
		f Field
		p *parser.PortSet
	}{{CTOrigSport, c.OrigSrcPort}, {CTOrigDport, c.OrigDstPort}, {CTReplSport, c.ReplSrcPort}, {CTReplDport, c.ReplDstPort}} {
		if x.p != nil {
			and(u.Ports(x.f, x.p))
		}
	}
	if c.Status != nil {
		if c.Status.Mask&parser.CTStatusNone != 0 {
			exact = false
		} else {
			any := u.Bits(CTStatus, uint64(c.Status.Mask&0xf), 0).Not()
			and(neg(any, c.Status.Neg))
		}
	}
	if c.Expire != nil {
		exact = false
	}
	if c.State == nil {
		return u.hasCT().Intersect(rest), exact
	}
	st := neg(u.CTStates(c.State.Mask), c.State.Neg)
	return st.Intersect(u.hasCT().Not().Union(rest)), exact
}

// physdev follows xt_physdev's physdev_mt: without bridge information the
// match holds iff every option given is negated; with it, --physdev-in is
// skipped when there is no input port, --physdev-out fails when there is no
// output port, negated or not.
func (u *Universe) physdev(p *parser.PhysdevMatch) Set {
	none := u.Iface(PhysIn, "")
	noneOut := u.Iface(PhysOut, "")
	allInv := true
	r := u.Eq(Bridged, 1)
	if p.IsBridged != nil {
		allInv = allInv && p.IsBridged.Neg
		r = r.Intersect(neg(noneOut.Not(), p.IsBridged.Neg))
	}
	if p.IsIn != nil {
		allInv = allInv && p.IsIn.Neg
		r = r.Intersect(neg(none.Not(), p.IsIn.Neg))
	}
	if p.IsOut != nil {
		allInv = allInv && p.IsOut.Neg
		r = r.Intersect(neg(noneOut.Not(), p.IsOut.Neg))
	}
	if p.In != nil {
		allInv = allInv && p.In.Neg
		m := neg(u.IfaceMatch(PhysIn, p.In.Name, p.In.Wildcard), p.In.Neg)
		r = r.Intersect(none.Union(m))
	}
	if p.Out != nil {
		allInv = allInv && p.Out.Neg
		m := neg(u.IfaceMatch(PhysOut, p.Out.Name, p.Out.Wildcard), p.Out.Neg)
		r = r.Intersect(noneOut.Not().Intersect(m))
	}
	if allInv {
		r = r.Union(u.Eq(Bridged, 0))
	}
	return r
}
