package sim

import (
	"net/netip"

	"github.com/dfw-project/dfw/parser"
)

// hostIndex is the host's IPv4 addresses, broadcast addresses and routes
// as numbers, taken by Compile, so that the per-packet questions about an
// IPv4 address (is it local, a broadcast, which route) are a scan of a few
// words instead of a walk of the interfaces and their prefixes. It answers
// exactly as the Host methods do (the differential tests compare a
// compiled simulator with the reference one); addresses that are not IPv4
// are asked to the Host. It is valid as long as the host's interfaces,
// addresses and routes do not change (bridge ports may: they are not in
// it); Compile again after changing them.
type hostIndex struct {
	h *Host
	// local holds the IPv4 addresses of the interfaces.
	local []uint32
	// bcast holds the broadcast addresses of the IPv4 subnets shorter than
	// /31.
	bcast []uint32
	// routes are the IPv4 connected routes (interface order), then the
	// configured ones, in the order Host.lookup tries them.
	routes []route4
}

type route4 struct {
	net, mask uint32
	bits      int
	rt        route
}

func v4num(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func mask4(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// buildHostIndex snapshots h, or returns nil when some address or route is
// odd enough (an invalid prefix) that the Host methods should answer.
func buildHostIndex(h *Host) *hostIndex {
	if h == nil {
		return nil
	}
	x := &hostIndex{h: h}
	for _, i := range h.Ifaces {
		for _, p := range i.Addrs {
			if !p.IsValid() {
				return nil
			}
			a := p.Addr()
			if !a.Is4() {
				continue
			}
			v := v4num(a)
			x.local = append(x.local, v)
			if p.Bits() < 31 {
				x.bcast = append(x.bcast, v|^uint32(0)>>p.Bits())
			}
			m := mask4(p.Bits())
			x.routes = append(x.routes, route4{net: v & m, mask: m, bits: p.Bits(), rt: route{dev: i.Name, src: a}})
		}
	}
	for _, r := range h.Routes {
		if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
			continue // never contains an IPv4 address
		}
		src, _ := h.Iface(r.Dev).Primary(false)
		m := mask4(r.Dst.Bits())
		x.routes = append(x.routes, route4{net: v4num(r.Dst.Addr()) & m, mask: m, bits: r.Dst.Bits(), rt: route{dev: r.Dev, via: r.Via, src: src}})
	}
	return x
}

// usable reports whether x answers for an address of host h.
func (x *hostIndex) usable(h *Host, a netip.Addr) bool {
	return x != nil && x.h == h && a.Is4()
}

// isLocal is h.IsLocal(a).
func (x *hostIndex) isLocal(h *Host, a netip.Addr) bool {
	if !x.usable(h, a) {
		return h.IsLocal(a)
	}
	v := v4num(a)
	if v>>24 == 127 {
		return true
	}
	for _, l := range x.local {
		if l == v {
			return true
		}
	}
	return false
}

// isBroadcast is h.IsBroadcast(a).
func (x *hostIndex) isBroadcast(h *Host, a netip.Addr) bool {
	if !x.usable(h, a) {
		return h.IsBroadcast(a)
	}
	v := v4num(a)
	if v == 0xffffffff {
		return true
	}
	for _, b := range x.bcast {
		if b == v {
			return true
		}
	}
	return false
}

// lookup is h.lookup(dst).
func (x *hostIndex) lookup(h *Host, dst netip.Addr) (route, bool) {
	if !x.usable(h, dst) {
		return h.lookup(dst)
	}
	v := v4num(dst)
	best, bestBits := -1, -1
	for k := range x.routes {
		r := &x.routes[k]
		if r.bits > bestBits && v&r.mask == r.net {
			best, bestBits = k, r.bits
		}
	}
	if best < 0 {
		return route{}, false
	}
	return x.routes[best].rt, true
}

// addrType is h.AddrType(a, dev).
func (x *hostIndex) addrType(h *Host, a netip.Addr, dev string) parser.AddrType {
	if !x.usable(h, a) || dev != "" {
		return h.AddrType(a, dev)
	}
	if a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return parser.ATBroadcast
	}
	if a.IsMulticast() {
		return parser.ATMulticast
	}
	if x.isLocal(h, a) {
		return parser.ATLocal
	}
	if x.isBroadcast(h, a) {
		return parser.ATBroadcast
	}
	return parser.ATUnicast
}

// hostIx returns the compiled host snapshot, or nil.
func (s *Sim) hostIx() *hostIndex {
	if s.fast == nil {
		return nil
	}
	return s.fast.host
}

// IsLocal reports whether a is one of the host's addresses, as
// s.Host.IsLocal does (from the snapshot Compile takes, when compiled).
func (s *Sim) IsLocal(a netip.Addr) bool {
	return s.hostIx().isLocal(s.Host, a)
}

// isLocal, isBroadcast and lookup ask the host of the run, through the
// snapshot when compiled.
func (r *run) isLocal(a netip.Addr) bool     { return r.e.hix.isLocal(r.s.Host, a) }
func (r *run) isBroadcast(a netip.Addr) bool { return r.e.hix.isBroadcast(r.s.Host, a) }
func (r *run) lookup(dst netip.Addr) (route, bool) {
	return r.e.hix.lookup(r.s.Host, dst)
}
