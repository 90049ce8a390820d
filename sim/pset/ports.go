package pset

import "fmt"

// This file holds what a port offset (NAT's PORT-PORT/BASE) needs of a
// set: the values a numeric field takes in it (Intervals), and the values
// of a field in one residue class (Mod).

// Intervals returns the values of the numeric field f that some packet of
// s has, as maximal intervals [lo, hi] in increasing order (a value no
// well-formed packet carries fills a hole between values of the set but
// never starts an interval of its own, as in Prefixes). At most max
// intervals: complete is false when there are more. The field is at most
// 63 bits wide.
func (s Set) Intervals(f Field, max int) (out [][2]uint64, complete bool) {
	u := s.u
	u.check(f)
	fi := u.fields[f]
	if fi.width > 63 {
		panic(fmt.Sprintf("pset: Intervals of a %d-bit field", fi.width))
	}
	others := u.mask(AllFields &^ FieldSetOf(f))
	q := u.d.existsMask(s.n, others)
	v := u.d.existsMask(u.valid, others)
	complete = true
	var rec func(q, v uint32, bits int32, prefix uint64)
	rec = func(q, v uint32, bits int32, prefix uint64) {
		if !complete || q == bddFalse {
			return
		}
		if q == v || bits == fi.width {
			span := uint64(1) << (fi.width - bits)
			lo := prefix * span
			hi := lo + span - 1
			if n := len(out); n > 0 && out[n-1][1]+1 == lo {
				out[n-1][1] = hi
				return
			}
			if len(out) >= max {
				complete = false
				return
			}
			out = append(out, [2]uint64{lo, hi})
			return
		}
		level := fi.off + bits
		qlo, qhi := u.d.cof(q, level)
		vlo, vhi := u.d.cof(v, level)
		rec(qlo, vlo, bits+1, prefix<<1)
		rec(qhi, vhi, bits+1, prefix<<1|1)
	}
	rec(q, v, 0, 0)
	return out, complete
}

// Mod is the set of packets whose numeric field f is c modulo m: f at
// most 16 bits wide, 1 <= m <= 1<<16, c < m. Its diagram has at most
// width·m nodes of f, one per bit and remainder of the bits above.
func (u *Universe) Mod(f Field, m, c uint64) Set {
	u.check(f)
	fi := u.fields[f]
	if fi.width > 16 || m == 0 || m > 1<<16 || c >= m {
		panic(fmt.Sprintf("pset: Mod(%d, %d) of a %d-bit field", m, c, fi.width))
	}
	// node(j, r) decides the bits from the j-th (most significant first)
	// on, r being the bits above it modulo m.
	memo := make([]map[uint64]uint32, fi.width)
	var node func(j int32, r uint64) uint32
	node = func(j int32, r uint64) uint32 {
		if j == fi.width {
			if r == c {
				return bddTrue
			}
			return bddFalse
		}
		if n, ok := memo[j][r]; ok {
			return n
		}
		w := (uint64(1) << (fi.width - 1 - j)) % m
		n := u.d.mk(fi.off+j, node(j+1, r), node(j+1, (r+w)%m))
		if memo[j] == nil {
			memo[j] = map[uint64]uint32{}
		}
		memo[j][r] = n
		return n
	}
	return u.set(node(0, 0))
}
