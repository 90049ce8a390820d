package sim

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// tri is a three-valued match outcome.
type tri uint8

const (
	no tri = iota
	yes
	maybe
)

func b2t(b bool) tri {
	if b {
		return yes
	}
	return no
}

// env is what a match sees of a packet at one point of its path.
type env struct {
	p               *Packet
	hook            string
	in, out         string
	physin, physout string
	nfBridge        bool // the packet has br_netfilter info (came through a bridge port)
	ct              *ctInfo
	host            *Host
	// hix is the compiled snapshot of host, or nil.
	hix *hostIndex
}

// failure tells which part of a rule did not match.
type failure struct {
	pos  parser.Pos
	what string
	// m is the match that failed when what is "-m".
	m *parser.Match
}

func ifaceMatch(m *parser.IfaceMatch, dev string) bool {
	var ok bool
	if m.Wildcard {
		ok = strings.HasPrefix(dev, m.Name)
	} else {
		ok = dev == m.Name
	}
	return ok != m.Neg
}

func addrMatch(m *parser.AddrMatch, a netip.Addr) bool {
	if !a.IsValid() || a.Is4() != m.Addr.Is4() {
		return m.Neg
	}
	return parser.MatchesAddr(a, m.Addr, m.Mask) != m.Neg
}

// ruleMatch evaluates a rule's matches. On no, *f (when f is not nil)
// tells the first part that failed; on maybe, mm is the first match whose
// outcome cannot be known.
func ruleMatch(r *parser.Rule, e *env, f *failure) (res tri, mm *parser.Match) {
	p := e.p
	if r.Src != nil && !addrMatch(r.Src, p.Src) {
		return fail(f, r.Src.Pos, "-s", nil)
	}
	if r.Dst != nil && !addrMatch(r.Dst, p.Dst) {
		return fail(f, r.Dst.Pos, "-d", nil)
	}
	if r.In != nil && !ifaceMatch(r.In, e.in) {
		return fail(f, r.In.Pos, "-i", nil)
	}
	if r.Out != nil && !ifaceMatch(r.Out, e.out) {
		return fail(f, r.Out.Pos, "-o", nil)
	}
	if r.Proto != nil && r.Proto.Num != 0 && (r.Proto.Num == p.Proto) == r.Proto.Neg {
		return fail(f, r.Proto.Pos, "-p", nil)
	}
	if r.Proto != nil && r.Proto.Num == 0 && r.Proto.Neg {
		return fail(f, r.Proto.Pos, "-p", nil)
	}
	if r.Fragment != nil && !r.Fragment.Neg {
		// Simulated packets are never non-first fragments.
		return fail(f, r.Fragment.Pos, "-f", nil)
	}
	res = yes
	for _, m := range r.Matches {
		switch evalMatch(m, e) {
		case no:
			return fail(f, m.Pos, "-m", m)
		case maybe:
			if mm == nil {
				mm = m
			}
			res = maybe
		}
	}
	return res, mm
}

// fail notes the failing part in *f (if f is not nil) and returns no.
func fail(f *failure, pos parser.Pos, what string, m *parser.Match) (tri, *parser.Match) {
	if f != nil {
		*f = failure{pos, what, m}
	}
	return no, nil
}

// undecidable reports whether evalMatch can answer maybe for m, for some
// packet: the one account of what the simulator cannot decide offline. New
// reads it to know whether a ruleset has may-match rules (whose other
// outcome needs the conntrack table as it was before the packet), so it
// must hold wherever evalMatch returns maybe; it lists the specs evalMatch
// always decides, and anything else (a spec added later included) counts
// as undecidable. This is wider than parser.Match.MayMatch, which names the
// matches no analysis can see into: the simulator cannot tell a source MAC
// a packet does not carry, an SCTP packet's chunk types, or an entry's
// remaining lifetime either.
func undecidable(m *parser.Match) bool {
	switch s := m.Spec.(type) {
	case *parser.SCTPMatch:
		return s.Chunks != nil // chunk types: simulated packets carry none
	case *parser.ConntrackMatch:
		return s.Expire != nil // --ctexpire: the entry's remaining lifetime
	case *parser.MACMatch:
		return true // a packet given without mac=
	case *parser.OpaqueMatch:
		return !s.AlwaysTrue
	case *parser.TCPMatch, *parser.UDPMatch, *parser.MultiportMatch, *parser.ICMPMatch,
		*parser.StateMatch, *parser.AddrtypeMatch, *parser.IPRangeMatch, *parser.MarkMatch,
		*parser.CommentMatch, *parser.PhysdevMatch, *parser.PkttypeMatch, *parser.LengthMatch,
		*parser.TTLMatch, *parser.TOSMatch:
		return false
	}
	return true
}

// evalMatch evaluates one match on a packet. It answers maybe only for a
// match that undecidable reports.
func evalMatch(m *parser.Match, e *env) tri {
	p := e.p
	switch s := m.Spec.(type) {
	case *parser.TCPMatch:
		if p.Proto != ProtoTCP {
			return no
		}
		if s.Sport != nil && !s.Sport.Contains(p.Sport) {
			return no
		}
		if s.Dport != nil && !s.Dport.Contains(p.Dport) {
			return no
		}
		if s.Flags != nil && ((p.Flags&s.Flags.Mask == s.Flags.Comp) == s.Flags.Neg) {
			return no
		}
		if s.Option != nil && !s.Option.Neg {
			return no // simulated segments carry no TCP options
		}
		return yes
	case *parser.UDPMatch:
		if p.Proto != ProtoUDP && p.Proto != ProtoUDPLit {
			return no
		}
		if s.Sport != nil && !s.Sport.Contains(p.Sport) {
			return no
		}
		if s.Dport != nil && !s.Dport.Contains(p.Dport) {
			return no
		}
		return yes
	case *parser.SCTPMatch:
		if p.Proto != ProtoSCTP {
			return no
		}
		if s.Sport != nil && !s.Sport.Contains(p.Sport) {
			return no
		}
		if s.Dport != nil && !s.Dport.Contains(p.Dport) {
			return no
		}
		if s.Chunks != nil {
			return maybe
		}
		return yes
	case *parser.MultiportMatch:
		if !HasPorts(p.Proto) {
			return no
		}
		in := func(ps *parser.PortSet, v uint16) bool {
			for _, r := range ps.Ranges {
				if r.Contains(uint32(v)) {
					return true
				}
			}
			return false
		}
		switch {
		case s.Src != nil:
			return b2t(in(s.Src, p.Sport) != s.Src.Neg)
		case s.Dst != nil:
			return b2t(in(s.Dst, p.Dport) != s.Dst.Neg)
		case s.Any != nil:
			return b2t((in(s.Any, p.Sport) || in(s.Any, p.Dport)) != s.Any.Neg)
		}
		return yes
	case *parser.ICMPMatch:
		want := ProtoICMP
		if s.V6 {
			want = ProtoICMPv6
		}
		if p.Proto != want {
			return no
		}
		if s.Any {
			return b2t(!s.Neg)
		}
		return b2t((p.ICMPType == s.Type && s.Code.Contains(uint32(p.ICMPCode))) != s.Neg)
	case *parser.StateMatch:
		if s.State == nil {
			return yes
		}
		return b2t((e.ct.stateBits()&s.State.Mask != 0) != s.State.Neg)
	case *parser.ConntrackMatch:
		return conntrackMatch(s, e)
	case *parser.AddrtypeMatch:
		// addrtype_mt_v1 restricts the source and the destination to
		// the same device: the input one with --limit-iface-in, the
		// output one with --limit-iface-out.
		if s.Src != nil {
			dev := ""
			switch {
			case s.LimitIfaceIn:
				dev = e.in
			case s.LimitIfaceOut:
				dev = e.out
			}
			if (e.hix.addrType(e.host, p.Src, dev)&s.Src.Mask != 0) == s.Src.Neg {
				return no
			}
		}
		if s.Dst != nil {
			dev := ""
			switch {
			case s.LimitIfaceIn:
				dev = e.in
			case s.LimitIfaceOut:
				dev = e.out
			}
			if (e.hix.addrType(e.host, p.Dst, dev)&s.Dst.Mask != 0) == s.Dst.Neg {
				return no
			}
		}
		return yes
	case *parser.IPRangeMatch:
		inR := func(r *parser.AddrRange, a netip.Addr) bool {
			ok := a.Is4() == r.Lo.Is4() && r.Lo.Compare(a) <= 0 && a.Compare(r.Hi) <= 0
			return ok != r.Neg
		}
		if s.Src != nil && !inR(s.Src, p.Src) {
			return no
		}
		if s.Dst != nil && !inR(s.Dst, p.Dst) {
			return no
		}
		return yes
	case *parser.MACMatch:
		if p.SrcMAC == nil {
			if p.Local {
				return b2t(s.Neg)
			}
			return maybe
		}
		return b2t((*p.SrcMAC == s.MAC) != s.Neg)
	case *parser.MarkMatch:
		v := p.Mark
		if s.Conn {
			if e.ct.conn == nil {
				return no
			}
			v = e.ct.conn.Mark
		}
		return b2t((v&s.Mask == s.Value) != s.Neg)
	case *parser.CommentMatch:
		return yes
	case *parser.PhysdevMatch:
		return physdevMatch(s, e)
	case *parser.PkttypeMatch:
		t := "unicast"
		switch {
		case p.Dst.IsMulticast():
			t = "multicast"
		case e.hix.isBroadcast(e.host, p.Dst):
			t = "broadcast"
		}
		return b2t((t == strings.ToLower(s.Type)) != s.Neg)
	case *parser.LengthMatch:
		return b2t(s.Length.Range.Contains(uint32(p.Len)) != s.Length.Neg)
	case *parser.TTLMatch:
		var ok bool
		switch s.Op {
		case "lt":
			ok = p.TTL < s.Value
		case "gt":
			ok = p.TTL > s.Value
		default:
			ok = p.TTL == s.Value
		}
		return b2t(ok != s.Neg)
	case *parser.TOSMatch:
		if s.DSCP {
			return b2t((p.TOS>>2 == s.Value) != s.Neg)
		}
		return b2t((p.TOS&s.Mask == s.Value&s.Mask) != s.Neg)
	case *parser.OpaqueMatch:
		if s.AlwaysTrue {
			return yes
		}
		return maybe
	case *parser.SetMatch, *parser.UnknownMatch:
		return maybe
	}
	return maybe
}

func (c *ctInfo) stateBits() parser.CTState {
	b := c.state
	if c.conn != nil {
		if c.conn.Status&StatusSrcNAT != 0 {
			b |= parser.CTSNAT
		}
		if c.conn.Status&StatusDstNAT != 0 {
			b |= parser.CTDNAT
		}
	}
	return b
}

func selAddr(s *parser.AddrSel, a netip.Addr) bool {
	ok := a.IsValid() && a.Is4() == s.Addr.Is4() && parser.MatchesAddr(a, s.Addr, s.Mask)
	return ok != s.Neg
}

func conntrackMatch(s *parser.ConntrackMatch, e *env) tri {
	if s.State != nil && (e.ct.stateBits()&s.State.Mask != 0) == s.State.Neg {
		return no
	}
	c := e.ct.conn
	if c == nil {
		// xt_conntrack without an entry: the match holds exactly when it
		// tests a state (which passed above); its other options are not
		// looked at.
		return b2t(s.State != nil)
	}
	if s.Dir != "" && (s.Dir == "ORIGINAL") != (e.ct.dir == 0) {
		return no
	}
	if s.Proto != nil && (c.Orig.Proto == s.Proto.Num) == s.Proto.Neg {
		return no
	}
	for _, x := range []struct {
		sel *parser.AddrSel
		a   netip.Addr
	}{{s.OrigSrc, c.Orig.Src}, {s.OrigDst, c.Orig.Dst}, {s.ReplSrc, c.Reply.Src}, {s.ReplDst, c.Reply.Dst}} {
		if x.sel != nil && !selAddr(x.sel, x.a) {
			return no
		}
	}
	for _, x := range []struct {
		ps *parser.PortSet
		v  uint16
	}{{s.OrigSrcPort, c.Orig.SPort}, {s.OrigDstPort, c.Orig.DPort}, {s.ReplSrcPort, c.Reply.SPort}, {s.ReplDstPort, c.Reply.DPort}} {
		if x.ps != nil && !x.ps.Contains(x.v) {
			return no
		}
	}
	if s.Status != nil {
		var st parser.CTStatus
		if c.Status&StatusExpected != 0 {
			st |= parser.CTStatusExpected
		}
		if c.Status&StatusSeenReply != 0 {
			st |= parser.CTStatusSeenReply
		}
		if c.Status&StatusAssured != 0 {
			st |= parser.CTStatusAssured
		}
		if c.Status&StatusConfirmed != 0 {
			st |= parser.CTStatusConfirmed
		}
		mask := s.Status.Mask &^ parser.CTStatusNone
		if (mask&st != 0) == s.Status.Neg {
			return no
		}
	}
	if s.Expire != nil {
		return maybe
	}
	return yes
}

func physdevMatch(s *parser.PhysdevMatch, e *env) tri {
	if !e.nfBridge {
		for _, f := range []*parser.Flag{s.IsBridged, s.IsIn, s.IsOut} {
			if f != nil && !f.Neg {
				return no
			}
		}
		if (s.In != nil && !s.In.Neg) || (s.Out != nil && !s.Out.Neg) {
			return no
		}
		return yes
	}
	if s.IsBridged != nil && (e.physout != "") == s.IsBridged.Neg {
		return no
	}
	if s.IsIn != nil && (e.physin != "") == s.IsIn.Neg {
		return no
	}
	if s.IsOut != nil && (e.physout != "") == s.IsOut.Neg {
		return no
	}
	if s.In != nil && e.physin != "" && !ifaceMatch(s.In, e.physin) {
		return no
	}
	if s.Out != nil {
		if e.physout == "" {
			return no
		}
		if !ifaceMatch(s.Out, e.physout) {
			return no
		}
	}
	return yes
}

// optionText prints the part of a rule that a failure names.
func optionText(r *parser.Rule, f failure) string {
	switch f.what {
	case "-s":
		return fmt.Sprintf("%s-s %s", neg(r.Src.Neg), maskString(r.Src.Addr, r.Src.Mask))
	case "-d":
		return fmt.Sprintf("%s-d %s", neg(r.Dst.Neg), maskString(r.Dst.Addr, r.Dst.Mask))
	case "-i":
		return fmt.Sprintf("%s-i %s", neg(r.In.Neg), r.In.String())
	case "-o":
		return fmt.Sprintf("%s-o %s", neg(r.Out.Neg), r.Out.String())
	case "-p":
		return fmt.Sprintf("%s-p %s", neg(r.Proto.Neg), r.Proto.Name)
	case "-f":
		return "-f"
	}
	for _, m := range r.Matches {
		if m.Pos == f.pos {
			parts := []string{"-m " + m.Name}
			for _, o := range m.Options {
				parts = append(parts, neg(o.Neg)+o.String())
			}
			return strings.Join(parts, " ")
		}
	}
	if f.m != nil {
		return "-m " + f.m.Name
	}
	return f.what
}

func neg(b bool) string {
	if b {
		return "! "
	}
	return ""
}

func maskString(a, m netip.Addr) string {
	if n := parser.MaskLen(m); n >= 0 {
		return fmt.Sprintf("%s/%d", a, n)
	}
	return a.String() + "/" + m.String()
}
