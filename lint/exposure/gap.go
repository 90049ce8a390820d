package exposure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
	"github.com/dfw-project/dfw/sim/symbolic"
)

// The comparison of a host's two families (IPv4 and IPv6 rulesets) runs
// the exposure analysis on both, over the same interfaces: the interface
// names either ruleset mentions, so that "eth0" of one is "eth0" of the
// other and the interfaces neither names are "(unnamed)" on both. The two
// rulesets' packet sets live in different universes (32- and 128-bit
// addresses); they meet through destination ports, which both have.
//
// A port is open to all on a family when every outside source (every
// address that is not martian or the host's own) can open a connection to
// it, open to some when only some can, and closed when none can. A gap is a
// port that is open more widely on one family than on the other. Where
// the connection ends does not matter to the outside, so a port is
// compared per interface and protocol alone: a port published with DNAT
// over IPv4 (kind container) and routed to the container over IPv6 (kind
// forward, as Docker's routed IPv6 networks do) is open on both.

// gapSide is one family's exposure, ready for the comparison.
type gapSide struct {
	rs    *parser.Ruleset
	host  *sim.Host
	e     *symbolic.Evaluator
	opts  symbolic.Options
	names map[string]string // interface label -> name to evaluate
	rows  []symbolic.ExposureRow
	inc   []symbolic.Incomplete
	// judge evaluates single ports with every class kept (the exposure
	// evaluator keeps only the accepted ones); made when first needed.
	judge *symbolic.Evaluator
}

// gapKey groups the rows compared together.
type gapKey struct {
	iface, proto string
}

func keyOf(r *symbolic.ExposureRow) gapKey {
	return gapKey{r.Interface, r.Proto}
}

func newGapSide(ctx context.Context, rs *parser.Ruleset, host facts.Host, extra []string, opts symbolic.Options, all []*parser.Ruleset) *gapSide {
	s := &gapSide{rs: rs, host: sim.InferHost(rs, nil), opts: opts, names: map[string]string{}}
	ext := external(host)
	o := opts
	o.OnlyAccepted = true
	s.e = symbolic.NewEvaluator(rs, s.host, o, append(append([]string{}, ext...), extra...)...)
	if ext != nil {
		for _, n := range ext {
			s.names[n] = n
		}
	} else {
		for _, x := range symbolic.DefaultExternal(s.e.U, s.host) {
			s.names[x.Label] = x.Name
		}
	}
	rows, inc := s.e.Exposure(ctx, ext)
	var labels []string
	for _, r := range rows {
		labels = append(labels, r.Interface)
	}
	drop := assumedOnly(host, labels, all...)
	for _, r := range rows {
		// IPv6 has no counterpart of a connection to 127.0.0.0/8
		// (DFW201 reports those).
		if drop[r.Interface] || r.Loopback || (r.Proto != "tcp" && r.Proto != "udp") {
			continue
		}
		s.rows = append(s.rows, r)
	}
	s.inc = inc
	return s
}

func protoNum(p string) uint8 {
	if p == "udp" {
		return sim.ProtoUDP
	}
	return sim.ProtoTCP
}

// portsOf returns the destination ports of s as a set over Dport alone.
func portsOf(s pset.Set) pset.Set {
	return s.ForgetFields(pset.AllFields &^ pset.FieldSetOf(pset.Dport))
}

// portRangeSet is the set over Dport of the given ranges.
func portRangeSet(u *pset.Universe, rgs [][2]int) pset.Set {
	s := u.Empty()
	for _, rg := range rgs {
		s = s.Union(u.Range(pset.Dport, uint64(rg[0]), uint64(rg[1])))
	}
	return s
}

// openness is what one family accepts for one key: the ports open to some
// source and the ports open to all, as ranges (comparable across
// universes).
type openness struct {
	some, all [][2]int
}

// open computes the openness of every key; certain keeps the rows that
// do not depend on a may-match (what a finding may claim is open) — the
// other side counts every row (what it may claim is closed).
func (s *gapSide) open(certain bool) (map[gapKey]openness, map[gapKey]pset.Set) {
	union := map[gapKey]pset.Set{}
	for i := range s.rows {
		r := &s.rows[i]
		if certain && r.DependsOnMay {
			continue
		}
		k := keyOf(r)
		if u, ok := union[k]; ok {
			union[k] = u.Union(r.Set)
		} else {
			union[k] = r.Set
		}
	}
	out := map[gapKey]openness{}
	for k, u := range union {
		out[k] = openness{
			some: symbolic.PortRanges(u, pset.Dport),
			all:  symbolic.PortRanges(s.e.OpenToAll(u), pset.Dport),
		}
	}
	return out, union
}

// decidedBy is the rule or policy of s that drops or rejects a new
// connection of proto to port arriving on the interface labelled iface,
// sent where a connection of kind is (the host's own address for "host"
// and "container", a bridge's subnet for "forward"): a port Docker
// publishes is closed by the rule that drops connections to the host's
// address, not by Docker's raw rule against packets sent straight to the
// container. Any destination when none of that kind is dropped.
func (s *gapSide) decidedBy(ctx context.Context, iface, kind, proto string, port int) (symbolic.RuleRef, bool) {
	name, ok := s.names[iface]
	if !ok {
		return symbolic.RuleRef{}, false
	}
	if s.judge == nil {
		s.judge = symbolic.NewEvaluator(s.rs, s.host, s.opts, s.ifaceNames()...)
	}
	e := s.judge
	u := e.U
	set := e.NewConnections(e.ExposedDestinations().Diff(e.LoopbackDestinations())).Diff(e.Martian()).
		Intersect(u.Eq(pset.Proto, uint64(protoNum(proto)))).Intersect(u.Eq(pset.Dport, uint64(port)))
	classes, _ := e.Eval(ctx, symbolic.AnalysisExposure, symbolic.Entry{In: name}, set)
	host := e.HostDestinations()
	for _, pass := range []bool{true, false} {
		for i := range classes {
			c := &classes[i]
			if c.Verdict == sim.Accept || !c.Certain() {
				continue
			}
			if pass && !ofKind(c.Set, host, kind) {
				continue
			}
			if r, ok := decided(c); ok {
				return r, true
			}
		}
	}
	return symbolic.RuleRef{}, false
}

// ofKind reports whether the class set s holds connections of kind: to
// the host's addresses host, or elsewhere for "forward".
func ofKind(s, host pset.Set, kind string) bool {
	if kind == "forward" {
		return !s.Diff(host).IsEmpty()
	}
	return s.Overlaps(host)
}

// ifaceNames returns the interface names of s's labels, in label order.
func (s *gapSide) ifaceNames() []string {
	labels := make([]string, 0, len(s.names))
	for l := range s.names {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = s.names[l]
	}
	return out
}

// shut reports whether s accepts no new connection from outside to any
// tcp or udp port, on any interface, may-match rules counted as
// accepting: the family is not served. The ports of its own address
// configuration (familyOnly: a DHCPv6 client's) serve nothing.
func (s *gapSide) shut() bool {
	u := s.e.U
	for i := range s.rows {
		r := &s.rows[i]
		set := r.Set
		if r.Proto == "udp" {
			set = set.Diff(portRangeSet(u, familyOnly[s.rs.Family]))
		}
		if !set.IsEmpty() {
			return false
		}
	}
	return true
}

// FamilyGap lists the tcp and udp ports that rs opens to outside more
// widely than peer, the other family's ruleset of the same host, does
// (facts.FamilyGapAnalyzer). When either analysis is cut short there are
// no rows, only the Incomplete entries: a gap is claimed only on both
// families' full answers.
func FamilyGap(ctx context.Context, rs, peer *parser.Ruleset, peerFiles []string, host facts.Host, opts symbolic.Options) ([]facts.FamilyGap, []facts.Incomplete, error) {
	if rs.Family == peer.Family {
		return nil, nil, fmt.Errorf("family gap: both rulesets are %s", rs.Family)
	}
	names := append(symbolic.IfaceNames(rs), symbolic.IfaceNames(peer)...)
	all := []*parser.Ruleset{rs, peer}
	mine := newGapSide(ctx, rs, host, names, opts, all)
	theirs := newGapSide(ctx, peer, host, names, opts, all)
	var incs []facts.Incomplete
	for _, side := range []*gapSide{mine, theirs} {
		for _, i := range side.inc {
			incs = append(incs, facts.Incomplete{Analysis: facts.AnalysisFamilyGap,
				Reason: fmt.Sprintf("%s: %s", side.rs.Family, i.Reason), Budget: i.Budget})
		}
	}
	if len(incs) > 0 || ctx.Err() != nil {
		return nil, incs, ctx.Err()
	}
	peerShut := theirs.shut()
	myOpen, myUnion := mine.open(true)
	peerOpen, _ := theirs.open(false)
	u := mine.e.U
	out := []facts.FamilyGap{}
	for i := range mine.rows {
		r := &mine.rows[i]
		if r.DependsOnMay {
			continue
		}
		k := keyOf(r)
		mo, po := myOpen[k], peerOpen[k]
		allHere := portsOf(mine.e.OpenToAll(myUnion[k]))
		someHere := portRangeSet(u, mo.some)
		someThere, allThere := portRangeSet(u, po.some), portRangeSet(u, po.all)
		gaps := []struct {
			ports      pset.Set
			open, peer string
		}{
			{allHere.Diff(someThere), "all", "none"},
			{allHere.Intersect(someThere).Diff(allThere), "all", "some"},
			{someHere.Diff(allHere).Diff(someThere), "some", "none"},
		}
		for _, g := range gaps {
			sub := r.Set.Intersect(g.ports)
			if r.Proto == "udp" {
				sub = sub.Diff(portRangeSet(u, familyOnly[rs.Family]))
			}
			if sub.IsEmpty() {
				continue
			}
			row := facts.FamilyGap{
				Interface: r.Interface, Kind: r.Kind, Proto: r.Proto,
				Ports:  symbolic.PortRanges(sub, pset.Dport),
				Family: rs.Family.String(), Open: g.open,
				Sources:    symbolic.AddrSummary(sub, pset.Src, mine.e.NotInternet()),
				PeerFamily: peer.Family.String(), PeerFiles: append([]string{}, peerFiles...), PeerOpen: g.peer,
				PeerShut:   peerShut,
				AcceptedBy: ref(rs, r.AcceptedBy), Policy: r.AcceptedBy.Policy, Path: []facts.Ref{},
			}
			if row.PeerFiles == nil {
				row.PeerFiles = []string{}
			}
			row.PortsText = portsText(row.Ports)
			if w, ok := mine.e.WitnessIn(sub, mine.names[r.Interface]); ok {
				row.Witness = packet(w)
			}
			for _, p := range r.Path {
				row.Path = append(row.Path, ref(rs, p))
			}
			if d, ok := theirs.decidedBy(ctx, r.Interface, r.Kind, r.Proto, row.Witness.Dport); ok {
				rf := ref(peer, d)
				row.PeerDecidedBy, row.PeerPolicy = &rf, d.Policy
			}
			out = append(out, row)
		}
	}
	slices.SortStableFunc(out, func(a, b facts.FamilyGap) int {
		return strings.Compare(gapSortKey(a), gapSortKey(b))
	})
	return mergeInterfaces(out), nil, ctx.Err()
}

// mergeInterfaces makes one row of the rows that differ by their
// interface alone (the same rule opens the same ports on several
// uplinks): Interfaces lists them, Interface is the first.
func mergeInterfaces(rows []facts.FamilyGap) []facts.FamilyGap {
	key := func(g *facts.FamilyGap) string {
		return fmt.Sprintf("%s:%d:%d|%s|%s|%s|%s|%s|%v", g.AcceptedBy.File, g.AcceptedBy.Line, g.AcceptedBy.Column,
			g.Kind, g.Proto, g.PortsText, g.Open, g.PeerOpen, g.Sources)
	}
	at := map[string]int{}
	out := rows[:0]
	for _, g := range rows {
		k := key(&g)
		if i, ok := at[k]; ok {
			out[i].Interfaces = append(out[i].Interfaces, g.Interface)
			continue
		}
		at[k] = len(out)
		g.Interfaces = []string{g.Interface}
		out = append(out, g)
	}
	for i := range out {
		// "(unnamed)" last: the named interfaces read first.
		slices.SortStableFunc(out[i].Interfaces, func(a, b string) int {
			ua, ub := strings.HasSuffix(a, unnamedLabel), strings.HasSuffix(b, unnamedLabel)
			switch {
			case ua && !ub:
				return 1
			case ub && !ua:
				return -1
			}
			return strings.Compare(a, b)
		})
		out[i].Interface = out[i].Interfaces[0]
	}
	return out
}

// familyOnly are the ports of a service that has a counterpart of its own
// on the other family: DHCP (udp 67, 68) and DHCPv6 (udp 546, 547). One
// open without the other is not a gap.
var familyOnly = map[parser.Family][][2]int{
	parser.IPv4: {{67, 68}},
	parser.IPv6: {{546, 547}},
}

func gapSortKey(g facts.FamilyGap) string {
	return fmt.Sprintf("%s|%s|%s|%05d|%s", g.Interface, g.Kind, g.Proto, g.Ports[0][0], g.Open)
}

// portsText writes port ranges as "22", "8000-8100, 9000"; past
// maxRanges ranges, the first ones and how many there are.
func portsText(rgs [][2]int) string {
	const maxRanges = 6
	var parts []string
	for i, rg := range rgs {
		if i == maxRanges {
			parts = append(parts, fmt.Sprintf("… (%d ranges in all, up to %d)", len(rgs), rgs[len(rgs)-1][1]))
			break
		}
		if rg[0] == rg[1] {
			parts = append(parts, fmt.Sprint(rg[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", rg[0], rg[1]))
		}
	}
	return strings.Join(parts, ", ")
}
