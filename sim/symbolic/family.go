package symbolic

import "github.com/dfw-project/dfw/sim/pset"

// This file holds what a comparison of two rulesets of different families
// needs from an evaluator: their packet sets live in different universes,
// so they are compared through port ranges, interface labels and witnesses.

// Martian is the set of source addresses no packet from outside carries
// (loopback, multicast, unspecified, broadcast, the host's own), a set
// over Src.
func (e *Evaluator) Martian() pset.Set { return e.martian() }

// OpenToAll returns the packets of s whose destination port every outside
// source reaches: a packet of s stays when, for every source address that
// is not martian, some packet of s from that source goes to its port.
func (e *Evaluator) OpenToAll(s pset.Set) pset.Set {
	u := e.U
	if s.IsEmpty() {
		return s
	}
	pairs := s.ForgetFields(pset.AllFields &^ pset.FieldSetOf(pset.Src, pset.Dport))
	missing := u.All().Diff(pairs).Diff(e.martian())
	badPorts := missing.ForgetFields(pset.AllFields &^ pset.FieldSetOf(pset.Dport))
	return s.Diff(badPorts)
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
