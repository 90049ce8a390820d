package sim

import "net/netip"

func netip4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

var ipv6Loopback = netip.IPv6Loopback()

// netmapAddr keeps a's host part and takes the network part of to.
func netmapAddr(a netip.Addr, to netip.Prefix) netip.Addr {
	if a.Is4() != to.Addr().Is4() {
		return a
	}
	ab := a.AsSlice()
	tb := to.Masked().Addr().AsSlice()
	bits := to.Bits()
	for i := range ab {
		for j := 0; j < 8; j++ {
			if i*8+j < bits {
				m := byte(1 << (7 - j))
				ab[i] = ab[i]&^m | tb[i]&m
			}
		}
	}
	out, _ := netip.AddrFromSlice(ab)
	return out
}
