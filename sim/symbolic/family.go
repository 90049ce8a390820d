package symbolic

import (
	"net/netip"

	"github.com/dfw-project/dfw/sim/pset"
)

// This file holds what a comparison of two rulesets of different families
// needs from an evaluator: their packet sets live in different universes,
// so they are compared through port ranges, interface labels and witnesses.

// Martian is the set of source addresses no packet from outside carries
// (loopback, multicast, unspecified, broadcast, the host's own), a set
// over Src.
func (e *Evaluator) Martian() pset.Set { return e.martian() }

// The whole Internet. A source restriction still means "any source",
// the whole Internet, when what it leaves out is only:
//   - sources no packet from outside carries (Martian);
//   - on IPv4, 0.0.0.0/8 and the reserved 240.0.0.0/4 (RFC 6890: not
//     forwarded on the Internet), which a bogon filter drops beside the
//     private networks: their sixteenth of the address space is no part
//     of the Internet a restriction could leave out;
//   - on IPv6, every address outside the global unicast space 2000::/3
//     (RFC 4291 2.4, RFC 3587): link-local fe80::/10, unique local
//     fc00::/7, the documentation and transition prefixes outside it
//     never reach the host from the Internet, so "-s 2000::/3" and
//     "! -s fe80::/10" accept the whole Internet;
//   - a small part of the rest, at most 1/64 of it (four /8s of IPv4, a
//     /9 of global unicast IPv6): a fail2ban ban list, the private
//     networks, Tailscale's spoofed 100.64.0.0/10.
// AnySource decides it for one set of sources (the exposure facts'
// any_source, which lib.any_source reads), OpenToAll port by port
// (DFW305): one definition for both.

// globalUnicast is IPv6's global unicast space, the Internet's.
var globalUnicast = netip.MustParsePrefix("2000::/3")

// notInternet4 are IPv4's blocks outside the Internet that routing
// does not drop (RFC 6890).
var notInternet4 = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("240.0.0.0/4")}

// smallShare is the largest share of the Internet a restriction may
// leave out and still mean "any source".
const smallShare = 1.0 / 64

// internet is the set over Src of the sources that stand for the
// Internet: not martian, not in notInternet4 on IPv4, global unicast on
// IPv6.
func (e *Evaluator) internet() pset.Set {
	s := e.U.All().Diff(e.martian())
	if e.v6 {
		return s.Intersect(e.U.CIDR(pset.Src, globalUnicast))
	}
	for _, p := range notInternet4 {
		s = s.Diff(e.U.CIDR(pset.Src, p))
	}
	return s
}

// NotInternet is the set over Src of the sources that are no part of the
// Internet (the complement of internet): the summaries of sources may
// count them in or out, as they do martians.
func (e *Evaluator) NotInternet() pset.Set { return e.U.All().Diff(e.internet()) }

// AnySource reports whether the sources of s (its other fields aside)
// stand for the whole Internet: every address of it but a small part.
func (e *Evaluator) AnySource(s pset.Set) bool {
	return e.anySources(project(s, pset.Src))
}

// anySources is AnySource for a set over Src alone.
func (e *Evaluator) anySources(src pset.Set) bool {
	net := e.internet()
	left := net.Diff(src)
	if left.IsEmpty() {
		return true
	}
	return left.CountValues(pset.Src) <= smallShare*net.CountValues(pset.Src)
}

// OpenToAll returns the packets of s whose destination port the whole
// Internet reaches: a packet of s stays when the sources from which some
// packet of s goes to its port stand for the whole Internet (AnySource).
func (e *Evaluator) OpenToAll(s pset.Set) pset.Set {
	u := e.U
	if s.IsEmpty() {
		return s
	}
	pairs := s.ForgetFields(pset.AllFields &^ pset.FieldSetOf(pset.Src, pset.Dport))
	bad := u.Empty()
	// Ports are split until every port of a range has the same sources.
	var rec func(lo, hi uint64)
	rec = func(lo, hi uint64) {
		in := pairs.Intersect(u.Range(pset.Dport, lo, hi))
		if in.IsEmpty() {
			return
		}
		src, ports := project(in, pset.Src), project(in, pset.Dport)
		if lo == hi || src.Intersect(ports).Equal(in) {
			if !e.anySources(src) {
				bad = bad.Union(ports)
			}
			return
		}
		mid := lo + (hi-lo)/2
		rec(lo, mid)
		rec(mid+1, hi)
	}
	rec(0, 1<<u.Width(pset.Dport)-1)
	return s.Diff(bad)
}

// WitnessIn returns a packet of s as it arrives on interface in.
func (e *Evaluator) WitnessIn(s pset.Set, in string) (WitnessJSON, bool) {
	w, ok := s.Witness()
	if !ok {
		return WitnessJSON{}, false
	}
	return WitnessOf(e.packetOf(w, Entry{In: in})), true
}

// HostDestinations is the part of ExposedDestinations that is the host's
// own addresses: where a connection to the host, or to a port published
// with DNAT, is sent. The rest is the bridges' subnets, reached by routing.
func (e *Evaluator) HostDestinations() pset.Set {
	return e.ExposedDestinations().Intersect(e.local)
}
