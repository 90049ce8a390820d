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
	may = u.All()
	exact := true
	add := func(s Set, ok bool) {
		may = may.Intersect(s)
		exact = exact && ok
	}
	if r.Src != nil {
		add(u.addrMatch(Src, r.Src.Addr, r.Src.Mask, r.Src.Neg))
	}
	if r.Dst != nil {
		add(u.addrMatch(Dst, r.Dst.Addr, r.Dst.Mask, r.Dst.Neg))
	}
	if r.In != nil {
		add(neg(u.IfaceMatch(InIface, r.In.Name, r.In.Wildcard), r.In.Neg), true)
	}
	if r.Out != nil {
		add(neg(u.IfaceMatch(OutIface, r.Out.Name, r.Out.Wildcard), r.Out.Neg), true)
	}
	if r.Proto != nil {
		add(u.proto(Proto, r.Proto), true)
	}
	if r.Fragment != nil {
		add(neg(u.Eq(Fragment, 1), r.Fragment.Neg), true)
	}
	for _, m := range r.Matches {
		if may.IsEmpty() {
			break
		}
		add(MatchOf(u, m))
	}
	if !exact {
		return u.Empty(), may
	}
	return may, may
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
