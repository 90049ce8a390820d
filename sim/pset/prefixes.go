package pset

import "net/netip"

// Prefixes returns the values of the address field f (Src, Dst) that some
// packet of s has, as CIDR prefixes in address order, each as large as
// the set allows (a prefix is listed when every address of it that a
// well-formed packet can carry is in the set; addresses no well-formed
// packet carries fill holes but never make a prefix of their own). At
// most max prefixes: complete is false when there are more.
//
// It walks the set's projection on f and the projection of the
// well-formed packets side by side, bit by bit from the most significant:
// below a prefix, the set holds every valid address exactly when both
// projections are the same node (the diagram is canonical), and none when
// the set's is false. No node is made beyond the two projections.
func (s Set) Prefixes(f Field, max int) (out []netip.Prefix, complete bool) {
	u := s.u
	fi := u.fields[f]
	if fi.width != 32 && fi.width != 128 {
		panic("pset: Prefixes of a field that is not an address")
	}
	others := u.mask(AllFields &^ FieldSetOf(f))
	q := u.d.existsMask(s.n, others)
	v := u.d.existsMask(u.valid, others)
	var addr [16]byte
	complete = true
	var rec func(q, v uint32, bits int32)
	rec = func(q, v uint32, bits int32) {
		if !complete || q == bddFalse {
			return
		}
		if q == v || bits == fi.width {
			if len(out) >= max {
				complete = false
				return
			}
			out = append(out, prefixOf(addr, fi.width, bits))
			return
		}
		level := fi.off + bits
		qlo, qhi := u.d.cof(q, level)
		vlo, vhi := u.d.cof(v, level)
		byteIdx, bit := bits/8, byte(1)<<(7-bits%8)
		if fi.width == 32 {
			byteIdx += 12
		}
		rec(qlo, vlo, bits+1)
		addr[byteIdx] |= bit
		rec(qhi, vhi, bits+1)
		addr[byteIdx] &^= bit
	}
	rec(q, v, 0)
	return out, complete
}

func prefixOf(addr [16]byte, width, bits int32) netip.Prefix {
	if width == 32 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(addr[12:])), int(bits))
	}
	return netip.PrefixFrom(netip.AddrFrom16(addr), int(bits))
}
