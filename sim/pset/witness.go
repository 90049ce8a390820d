package pset

import (
	"net/netip"
)

// Witness returns one packet of s, or false if s is empty.
//
// The choice is deterministic and "nice": fields are fixed one after the
// other in variable order, each to the first of its preferred values that
// leaves the rest of the set non-empty:
//
//   - src 203.0.113.7 and dst 198.51.100.10 (IPv6: 2001:db8::7 and
//     2001:db8::10), else the smallest unicast-looking address of the set
//     (IPv4 1.0.0.0–223.255.255.255 with a last byte other than 0 and 255;
//     IPv6 in 2000::/3 with last 16 bits not zero), else the smallest
//     address with such last bits in any range (an IPv6 ULA: not the
//     subnet-router anycast address), else the smallest non-zero address,
//     else 0;
//   - proto tcp, udp, icmp (icmpv6), else the smallest; dport 80, 443, 22,
//     else the smallest non-zero port; sport 40000, else the smallest of
//     1024–65535, else the smallest non-zero;
//   - ICMP type 8 (echo request; ICMPv6 128) for ICMP, code 0; TCP flags SYN,
//     else ACK; TTL 64; length that of the bare headers of the protocol (40
//     for TCP, 28 for UDP and ICMP; IPv6 60 and 48);
//   - the conntrack tuples equal to the packet's (orig src = src, orig dst =
//     dst…, reply src = dst…, ctproto = proto), as for a connection without
//     NAT;
//   - no bridge ports; otherwise the smallest code: ct state NEW first, then
//     ESTABLISHED, RELATED, INVALID, UNTRACKED; pkttype unicast; address
//     type UNICAST, then LOCAL; interfaces the named ones (sorted) first,
//     then the Other symbols, "no interface" last; marks, TOS, status and
//     flags bits 0.
func (s Set) Witness() (Point, bool) {
	if s.n == bddFalse {
		return Point{}, false
	}
	u := s.u
	var v values
	n := s.n
	for _, f := range u.order {
		n = u.pick(n, f, &v)
	}
	return u.point(&v), true
}

func (u *Universe) pick(n uint32, f Field, v *values) uint32 {
	for _, w := range u.exactPrefs(f, v) {
		if m := u.walk(n, f, w); m != bddFalse {
			v[f] = w
			return m
		}
	}
	for _, c := range u.prefs[f] {
		if w, m, ok := u.minIn(n, f, c); ok {
			v[f] = w
			return m
		}
	}
	w, m, _ := u.minIn(n, f, bddTrue)
	v[f] = w
	return m
}

// walk follows value w of field f down from n and returns the node reached
// below the field (bddFalse if w is not allowed).
func (u *Universe) walk(n uint32, f Field, w wide) uint32 {
	fi := u.fields[f]
	for l := fi.off; l < fi.off+fi.width && n != bddFalse; l++ {
		lo, hi := u.d.cof(n, l)
		if w.bit(fi.width - 1 - (l - fi.off)) {
			n = hi
		} else {
			n = lo
		}
	}
	return n
}

type minKey struct {
	n, c uint32
	l    int32
}

// minIn finds the smallest value w of field f such that w is in c (a BDD
// over f's variables only) and n allows w; it returns the node below the
// field.
func (u *Universe) minIn(n uint32, f Field, c uint32) (wide, uint32, bool) {
	fi := u.fields[f]
	end := fi.off + fi.width
	var w wide
	var dead map[minKey]bool
	var rec func(n, c uint32, l int32) (uint32, bool)
	rec = func(n, c uint32, l int32) (uint32, bool) {
		if n == bddFalse || c == bddFalse {
			return 0, false
		}
		if l == end {
			return n, true
		}
		k := minKey{n, c, l}
		if dead[k] {
			return 0, false
		}
		n0, n1 := u.d.cof(n, l)
		c0, c1 := u.d.cof(c, l)
		if r, ok := rec(n0, c0, l+1); ok {
			return r, true
		}
		if r, ok := rec(n1, c1, l+1); ok {
			w.setBit(end - 1 - l)
			return r, true
		}
		if dead == nil {
			dead = map[minKey]bool{}
		}
		dead[k] = true
		return 0, false
	}
	r, ok := rec(n, c, fi.off)
	return w, r, ok
}

func (u *Universe) v4(a, b, c, d byte) wide {
	return addrWide(netip.AddrFrom4([4]byte{a, b, c, d}))
}

func (u *Universe) exactPrefs(f Field, v *values) []wide {
	v6 := u.fam != 4
	icmp := uint64(1)
	if v6 {
		icmp = 58
	}
	switch f {
	case Src:
		if v6 {
			return []wide{addrWide(netip.MustParseAddr("2001:db8::7"))}
		}
		return []wide{u.v4(203, 0, 113, 7)}
	case Dst:
		if v6 {
			return []wide{addrWide(netip.MustParseAddr("2001:db8::10"))}
		}
		return []wide{u.v4(198, 51, 100, 10)}
	case Proto:
		return []wide{wideOf(6), wideOf(17), wideOf(icmp)}
	case Sport:
		return []wide{wideOf(40000)}
	case Dport:
		return []wide{wideOf(80), wideOf(443), wideOf(22)}
	case ICMPType:
		switch v[Proto].lo {
		case 1:
			return []wide{wideOf(8)}
		case 58:
			return []wide{wideOf(128)}
		}
	case TCPFlags:
		return []wide{wideOf(0x02), wideOf(0x10)}
	case TTL:
		return []wide{wideOf(64)}
	case Length:
		var l uint64
		switch v[Proto].lo {
		case 6:
			l = 40
		case 17, 1, 58:
			l = 28
		default:
			l = 20
		}
		if v6 {
			l += 20
		}
		return []wide{wideOf(l)}
	case PhysIn, PhysOut:
		return []wide{wideOf(uint64(u.concrete[""]))}
	case CTProto:
		return []wide{v[Proto]}
	case CTOrigSrc, CTReplDst:
		return []wide{v[Src]}
	case CTOrigDst, CTReplSrc:
		return []wide{v[Dst]}
	case CTOrigSport, CTReplDport:
		return []wide{v[Sport]}
	case CTOrigDport, CTReplSport:
		return []wide{v[Dport]}
	}
	return nil
}

// initPrefs builds the constraint preferences of the witness (per field,
// BDDs over that field's variables only).
func (u *Universe) initPrefs() {
	var nice, nonzero uint32
	for _, f := range []Field{Src, Dst, CTOrigSrc, CTOrigDst, CTReplSrc, CTReplDst} {
		w := u.fields[f].width
		if u.fam == 4 {
			nice = u.rangeBDD(f, u.v4(1, 0, 0, 0), u.v4(223, 255, 255, 255))
			nice = u.d.diff(nice, u.bitsBDD(f, wideOf(0xff), wide{}))
			nice = u.d.diff(nice, u.bitsBDD(f, wideOf(0xff), wideOf(0xff)))
		} else {
			nice = u.bitsBDD(f, wide{hi: 0xe000 << 48}, wide{hi: 0x2000 << 48})
			nice = u.d.diff(nice, u.bitsBDD(f, wideOf(0xffff), wide{}))
		}
		// A host's address in any range: for a subnet outside the nice
		// range (an IPv6 ULA, say), not its first address (IPv6's
		// subnet-router anycast, which the router answers itself) nor
		// IPv4's broadcast.
		var host uint32
		if u.fam == 4 {
			host = u.d.diff(bddTrue, u.bitsBDD(f, wideOf(0xff), wide{}))
			host = u.d.diff(host, u.bitsBDD(f, wideOf(0xff), wideOf(0xff)))
		} else {
			host = u.d.diff(bddTrue, u.bitsBDD(f, wideOf(0xffff), wide{}))
		}
		nonzero = u.rangeBDD(f, wideOf(1), maxOf(w))
		u.prefs[f] = []uint32{nice, host, nonzero}
	}
	port := func(f Field, lo uint64) uint32 { return u.rangeBDD(f, wideOf(lo), wideOf(65535)) }
	u.prefs[Sport] = []uint32{port(Sport, 1024), port(Sport, 1)}
	for _, f := range []Field{Dport, CTOrigSport, CTOrigDport, CTReplSport, CTReplDport} {
		u.prefs[f] = []uint32{port(f, 1)}
	}
	u.prefs[TTL] = []uint32{u.rangeBDD(TTL, wideOf(1), wideOf(255))}
	minLen := uint64(20)
	if u.fam != 4 {
		minLen = 40
	}
	u.prefs[Length] = []uint32{u.rangeBDD(Length, wideOf(minLen), wideOf(65535))}
}
