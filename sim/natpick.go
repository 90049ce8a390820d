package sim

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// NATPick is the address and port a NAT binding rewrites to, as the
// kernel's get_unique_tuple (nf_nat_core.c) chooses them for the first
// connection to use the range. Addr is invalid and Port 0 when the
// binding keeps them.
type NATPick struct {
	Addr netip.Addr
	Port uint16
	// Random is set when the kernel picks the port at random (SNAT or
	// MASQUERADE to a port range the current port is outside of,
	// --random, --random-fully): Port is then the first of the range.
	Random bool
	// UnsetBase is set for MASQUERADE with a port offset: the kernel
	// counts from a base port it leaves unset, so the port is unknown;
	// Port is then the first of the range.
	UnsetBase bool
}

// PickNAT chooses, for the current tuple curr of a connection, what a NAT
// range maps it to; src selects the source manip (SNAT, MASQUERADE),
// else the destination manip (DNAT, REDIRECT). For MASQUERADE, rg holds
// the address it maps to.
//
//   - An address range maps to the address find_best_ips_proto hashes the
//     tuple's addresses to (jhash2, as a little-endian host computes it;
//     --persistent hashes the source alone).
//   - A port range keeps the current port when it lies in the range (the
//     tuple is taken to be unique, as it is unless another connection
//     already holds it); otherwise a destination manip takes the first
//     port of the range, a source manip a random one.
//   - A port range with an offset (rg.Shift) maps port P to MinPort +
//     (P - BasePort) mod 65536 mod the range's size
//     (NATRange.OffsetPort), whether P lies in the range or not;
//     only a source manip without --random keeps a tuple whose address
//     (when the range has addresses) and port already lie in the range.
func PickNAT(rg parser.NATRange, t *parser.NATTarget, curr Tuple, src bool) NATPick {
	var p NATPick
	if rg.MinAddr.IsValid() {
		p.Addr = bestAddr(rg, t.Persistent, curr)
	}
	if (rg.MinPort == 0 && rg.MaxPort == 0) || !HasPorts(curr.Proto) {
		return p
	}
	lo, hi := rg.MinPort, rg.MaxPort
	if hi < lo {
		lo, hi = hi, lo
	}
	cur := curr.DPort
	if src {
		cur = curr.SPort
	}
	if rg.Shift {
		inRange := lo <= cur && cur <= hi && (!rg.MinAddr.IsValid() || addrIn(curr.Src, rg))
		switch {
		case src && !t.Random && !t.FullyRandom && inRange:
			// get_unique_tuple's first step: the original tuple is kept.
			return NATPick{Port: cur}
		case t.Kind == parser.NATMasquerade:
			p.Port, p.UnsetBase = lo, lo != hi
		default:
			p.Port = rg.OffsetPort(cur)
		}
		return p
	}
	switch {
	case t.Random || t.FullyRandom:
		p.Port, p.Random = lo, lo != hi
	case lo <= cur && cur <= hi:
		p.Port = cur
	case src:
		p.Port, p.Random = lo, lo != hi
	default:
		p.Port = lo
	}
	return p
}

// addrIn reports whether a lies within the range's addresses
// (nf_nat_inet_in_range).
func addrIn(a netip.Addr, rg parser.NATRange) bool {
	max := rg.MaxAddr
	if !max.IsValid() {
		max = rg.MinAddr
	}
	return a.Is4() == rg.MinAddr.Is4() && a.Compare(rg.MinAddr) >= 0 && a.Compare(max) <= 0
}

// bestAddr is find_best_ips_proto: the address of the range the tuple's
// addresses hash to.
func bestAddr(rg parser.NATRange, persistent bool, t Tuple) netip.Addr {
	if rg.MinAddr == rg.MaxAddr || !rg.MaxAddr.IsValid() {
		return rg.MinAddr
	}
	// The words of union nf_inet_addr as a little-endian host loads
	// them (an IPv4 address fills the first of the four), and the
	// range's bounds in host order (ntohl of each word).
	words := func(a netip.Addr) [4]uint32 { return addrWords(a, binary.LittleEndian) }
	be := func(a netip.Addr) [4]uint32 { return addrWords(a, binary.BigEndian) }
	max := 3
	if rg.MinAddr.Is4() {
		max = 0
	}
	src, dst := words(t.Src), words(t.Dst)
	var init uint32
	if !persistent {
		init = dst[max] // ^ zone id 0
	}
	j := jhash2(src[:], init)
	minw, maxw := be(rg.MinAddr), be(rg.MaxAddr)
	var out [4]uint32
	full := false
	for i := 0; i <= max; i++ {
		minip, dist := minw[i], maxw[i]-minw[i]+1
		if full {
			minip, dist = 0, ^uint32(0)
		}
		out[i] = minip + uint32((uint64(j)*uint64(dist))>>32) // reciprocal_scale
		if out[i] != maxw[i] {
			full = true
		}
		if !persistent {
			j ^= dst[i]
		}
	}
	var b [16]byte
	for i := range out {
		binary.BigEndian.PutUint32(b[4*i:], out[i])
	}
	if rg.MinAddr.Is4() {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// addrWords is the four 32-bit words of a's 16 bytes of union
// nf_inet_addr (an IPv4 address in the first four), each read in order.
func addrWords(a netip.Addr, order binary.ByteOrder) [4]uint32 {
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
	} else {
		b = a.As16()
	}
	var w [4]uint32
	for i := range w {
		w[i] = order.Uint32(b[4*i:])
	}
	return w
}

// jhash2 is the kernel's jhash2 (Bob Jenkins' lookup3 over 32-bit words).
func jhash2(k []uint32, initval uint32) uint32 {
	a := 0xdeadbeef + uint32(len(k))<<2 + initval
	b, c := a, a
	for len(k) > 3 {
		a += k[0]
		b += k[1]
		c += k[2]
		a -= c
		a ^= bits.RotateLeft32(c, 4)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 6)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 8)
		b += a
		a -= c
		a ^= bits.RotateLeft32(c, 16)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 19)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 4)
		b += a
		k = k[3:]
	}
	switch len(k) {
	case 3:
		c += k[2]
		fallthrough
	case 2:
		b += k[1]
		fallthrough
	case 1:
		a += k[0]
		c ^= b
		c -= bits.RotateLeft32(b, 14)
		a ^= c
		a -= bits.RotateLeft32(c, 11)
		b ^= a
		b -= bits.RotateLeft32(a, 25)
		c ^= b
		c -= bits.RotateLeft32(b, 16)
		a ^= c
		a -= bits.RotateLeft32(c, 4)
		b ^= a
		b -= bits.RotateLeft32(a, 14)
		c ^= b
		c -= bits.RotateLeft32(b, 24)
	}
	return c
}
