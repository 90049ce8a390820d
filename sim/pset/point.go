package pset

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// Point is one concrete packet: a value for every field of a Universe.
// Interface fields hold names ("" for no interface); a name the rules never
// mention stands for its class (see Universe.IfaceSymbol). Zero addresses
// (netip.Addr{}) read as the all-zero address.
type Point struct {
	Src, Dst     netip.Addr
	Proto        uint8
	Sport, Dport uint16
	In, Out      string
	// Bridged is set when the packet has bridge information; PhysIn and
	// PhysOut are then its bridge ports ("" for none).
	Bridged         bool
	PhysIn, PhysOut string
	// CTState is exactly one of CTInvalid, CTNew, CTEstablished,
	// CTRelated, CTUntracked, possibly with CTSNAT and CTDNAT (only with a
	// conntrack entry, i.e. not INVALID or UNTRACKED).
	CTState  parser.CTState
	CTStatus parser.CTStatus // EXPECTED … CONFIRMED bits (not CTStatusNone)
	CTReply  bool            // the packet goes in the reply direction
	ICMPType uint8
	ICMPCode uint8
	TCPFlags uint8
	Mark     uint32
	CTMark   uint32
	CTProto  uint8
	// The conntrack tuples (--ctorig*, --ctrepl*).
	CTOrigSrc, CTOrigDst     netip.Addr
	CTOrigSport, CTOrigDport uint16
	CTReplSrc, CTReplDst     netip.Addr
	CTReplSport, CTReplDport uint16
	TTL                      uint8
	Length                   uint16
	TOS                      uint8
	PktType                  string // unicast, broadcast, multicast, otherhost
	SrcType, DstType         parser.AddrType
	Fragment                 bool // second or further fragment
}

type values [NumFields]wide

func b2w(b bool) wide {
	if b {
		return wideOf(1)
	}
	return wide{}
}

func (u *Universe) addrVal(a netip.Addr) wide {
	if !a.IsValid() || a.Is4() != (u.fam == parser.IPv4) {
		return wide{}
	}
	return addrWide(a)
}

// values encodes p; ok is false when a symbol value has no code.
func (u *Universe) values(p *Point) (v values, ok bool) {
	ok = true
	sym := func(f Field, name string) {
		i, found := u.IfaceSymbol(name)
		if !found {
			ok = false
		}
		v[f] = wideOf(uint64(i))
	}
	v[Src], v[Dst] = u.addrVal(p.Src), u.addrVal(p.Dst)
	v[Proto] = wideOf(uint64(p.Proto))
	v[Sport], v[Dport] = wideOf(uint64(p.Sport)), wideOf(uint64(p.Dport))
	sym(InIface, p.In)
	sym(OutIface, p.Out)
	sym(PhysIn, p.PhysIn)
	sym(PhysOut, p.PhysOut)
	v[Bridged] = b2w(p.Bridged)
	st := -1
	for i, s := range ctStateSyms {
		if p.CTState&s != 0 {
			if st >= 0 {
				ok = false
			}
			st = i
		}
	}
	if st < 0 {
		ok = false
		st = 0
	}
	v[CTState] = wideOf(uint64(st))
	var nat uint64
	if p.CTState&parser.CTSNAT != 0 {
		nat |= 1
	}
	if p.CTState&parser.CTDNAT != 0 {
		nat |= 2
	}
	v[CTNat] = wideOf(nat)
	v[CTStatus] = wideOf(uint64(p.CTStatus & 0xf))
	v[CTDir] = b2w(p.CTReply)
	v[ICMPType], v[ICMPCode] = wideOf(uint64(p.ICMPType)), wideOf(uint64(p.ICMPCode))
	v[TCPFlags] = wideOf(uint64(p.TCPFlags))
	v[Mark], v[CTMark] = wideOf(uint64(p.Mark)), wideOf(uint64(p.CTMark))
	v[CTProto] = wideOf(uint64(p.CTProto))
	v[CTOrigSrc], v[CTOrigDst] = u.addrVal(p.CTOrigSrc), u.addrVal(p.CTOrigDst)
	v[CTOrigSport], v[CTOrigDport] = wideOf(uint64(p.CTOrigSport)), wideOf(uint64(p.CTOrigDport))
	v[CTReplSrc], v[CTReplDst] = u.addrVal(p.CTReplSrc), u.addrVal(p.CTReplDst)
	v[CTReplSport], v[CTReplDport] = wideOf(uint64(p.CTReplSport)), wideOf(uint64(p.CTReplDport))
	v[TTL], v[Length], v[TOS] = wideOf(uint64(p.TTL)), wideOf(uint64(p.Length)), wideOf(uint64(p.TOS))
	pt := -1
	for i, s := range pktTypeSyms {
		if s == p.PktType || p.PktType == "host" && s == "unicast" {
			pt = i
		}
	}
	if pt < 0 {
		ok = false
		pt = 0
	}
	v[PktType] = wideOf(uint64(pt))
	at := func(f Field, t parser.AddrType) {
		for i, s := range addrTypes {
			if s == t {
				v[f] = wideOf(uint64(i))
				return
			}
		}
		ok = false
	}
	at(SrcType, p.SrcType)
	at(DstType, p.DstType)
	v[Fragment] = b2w(p.Fragment)
	return v, ok
}

func (u *Universe) point(v *values) Point {
	ifn := func(f Field) string { return u.ifaces[v[f].lo].Name }
	st := ctStateSyms[v[CTState].lo]
	if v[CTNat].lo&1 != 0 {
		st |= parser.CTSNAT
	}
	if v[CTNat].lo&2 != 0 {
		st |= parser.CTDNAT
	}
	return Point{
		Src: u.wideAddr(v[Src]), Dst: u.wideAddr(v[Dst]),
		Proto: uint8(v[Proto].lo), Sport: uint16(v[Sport].lo), Dport: uint16(v[Dport].lo),
		In: ifn(InIface), Out: ifn(OutIface),
		Bridged: v[Bridged].lo != 0, PhysIn: ifn(PhysIn), PhysOut: ifn(PhysOut),
		CTState: st, CTStatus: parser.CTStatus(v[CTStatus].lo), CTReply: v[CTDir].lo != 0,
		ICMPType: uint8(v[ICMPType].lo), ICMPCode: uint8(v[ICMPCode].lo), TCPFlags: uint8(v[TCPFlags].lo),
		Mark: uint32(v[Mark].lo), CTMark: uint32(v[CTMark].lo), CTProto: uint8(v[CTProto].lo),
		CTOrigSrc: u.wideAddr(v[CTOrigSrc]), CTOrigDst: u.wideAddr(v[CTOrigDst]),
		CTOrigSport: uint16(v[CTOrigSport].lo), CTOrigDport: uint16(v[CTOrigDport].lo),
		CTReplSrc: u.wideAddr(v[CTReplSrc]), CTReplDst: u.wideAddr(v[CTReplDst]),
		CTReplSport: uint16(v[CTReplSport].lo), CTReplDport: uint16(v[CTReplDport].lo),
		TTL: uint8(v[TTL].lo), Length: uint16(v[Length].lo), TOS: uint8(v[TOS].lo),
		PktType: pktTypeSyms[v[PktType].lo], SrcType: addrTypes[v[SrcType].lo], DstType: addrTypes[v[DstType].lo],
		Fragment: v[Fragment].lo != 0,
	}
}

// Contains reports whether the packet p is in s. A point that the universe
// cannot encode (two ct states, an unknown pkttype…) is in no set.
func Contains(s Set, p Point) bool {
	u := s.u
	v, ok := u.values(&p)
	if !ok {
		return false
	}
	return u.containsVals(s.n, &v)
}

func (u *Universe) containsVals(n uint32, v *values) bool {
	for n > bddTrue {
		nd := u.d.node(n)
		f := u.lvlField[nd.level]
		fi := &u.fields[f]
		if v[f].bit(fi.width - 1 - (nd.level - fi.off)) {
			n = nd.hi
		} else {
			n = nd.lo
		}
	}
	return n == bddTrue
}

// PointSet is the set holding only p (empty if p cannot be encoded or is
// not well-formed).
func (u *Universe) PointSet(p Point) Set {
	v, ok := u.values(&p)
	if !ok {
		return u.Empty()
	}
	r := bddTrue
	for i := len(u.order) - 1; i >= 0; i-- {
		f := u.order[i]
		fi := u.fields[f]
		for j := fi.width - 1; j >= 0; j-- {
			if v[f].bit(fi.width - 1 - j) {
				r = u.d.mk(fi.off+j, bddFalse, r)
			} else {
				r = u.d.mk(fi.off+j, r, bddFalse)
			}
		}
	}
	return u.set(r)
}
