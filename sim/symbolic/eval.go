package symbolic

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

// Options are the budgets of one evaluation. Zero values take the
// defaults.
type Options struct {
	// MaxClasses bounds the classes (leaves) of one Eval; default 20000.
	MaxClasses int
	// MaxNodes bounds the BDD nodes of the universe; default 8,000,000
	// (about 100 MB).
	MaxNodes int
	// Timeout bounds the wall time of one analysis; default 10 s.
	Timeout time.Duration
	// OnlyAccepted skips the classes that are dropped or rejected (they
	// are not built, which saves their witness): for analyses that look
	// at accepted packets only (exposure, reachability). Eval's classes
	// then do not partition its input.
	OnlyAccepted bool
	// MaxAlternatives bounds how many classes take a may-match rule as
	// matching (the other outcome of the simulator's MayMatch); default
	// 256. Past it, classes still say they depend on a may-match.
	MaxAlternatives int
	// Nodes, when set, is the number of BDD nodes the universe is made
	// with room for (pset.Options.Nodes). By default the room is in
	// proportion to the ruleset's rules (pset.RulesetOptions), as an
	// analysis that builds every rule's set needs: one that visits a few
	// rules sets it lower, since the unique table of a universe is
	// touched all over as soon as it holds a few thousand nodes.
	Nodes int
}

// Defaults of Options.
const (
	DefaultMaxClasses      = 20000
	DefaultMaxNodes        = 8_000_000
	DefaultTimeout         = 10 * time.Second
	DefaultMaxAlternatives = 256
)

func (o Options) withDefaults() Options {
	if o.MaxClasses <= 0 {
		o.MaxClasses = DefaultMaxClasses
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxAlternatives <= 0 {
		o.MaxAlternatives = DefaultMaxAlternatives
	}
	return o
}

// Incomplete says that an analysis was cut short (by a budget, or by a
// construct the evaluator does not model) and did not cover every packet.
type Incomplete struct {
	Analysis string `json:"analysis"`
	Reason   string `json:"reason"`
	// Budget is set when a budget (classes, nodes, time) was hit.
	Budget bool `json:"budget"`
}

func (i Incomplete) String() string { return i.Analysis + ": " + i.Reason }

// Entry is where the packets of an evaluation come from.
type Entry struct {
	// In is the ingress interface; Local is set instead for packets the
	// host generates.
	In    string
	Local bool
	// Mark is the packet mark on arrival (0 normally).
	Mark uint32
	// State, when set (parser.CTEstablished or CTRelated), asserts the
	// packets' conntrack state as dfwsim's state= does: an entry without
	// NAT whose original tuple is the packet's own. 0: first packets.
	State parser.CTState
	// Reply, with State, makes the packets replies (sim.Packet.CTDir
	// "REPLY"): their entry's original tuple is the packet's inverted,
	// its reply tuple the packet's own, and --ctdir is REPLY.
	Reply bool
}

func (e Entry) String() string {
	s := e.In
	if e.Local {
		s = "local"
	}
	if e.Reply {
		s += " (replies)"
	}
	return s
}

// MayRef is a may-match rule a class depends on.
type MayRef struct {
	Step  sim.Step
	Match string
	// Taken is set when the class takes the rule as matching (the
	// simulator's primary answer takes it as not matching).
	Taken bool
}

// Class is a set of packets that get the same answer.
type Class struct {
	Entry Entry
	// Set holds the packets (their fields as they arrived, before NAT);
	// its ctstate field is the conntrack state conntrack gave them (NEW,
	// INVALID, UNTRACKED), the other context fields are free.
	// Evaluator.Arrival gives the set as Eval's input saw it.
	Set pset.Set
	// Witness is a packet of Set, ready for sim.Sim.Run. For the replies
	// of a connection whose first packet got source NAT (Entry.Reply), Set
	// holds them with the destination nat PREROUTING gives them back,
	// while the witness is sent to the NAT address, with that destination
	// as its CTOrigSrc (PointOf maps it back).
	Witness     sim.Packet
	Verdict     string
	Disposition string
	DroppedIn   string
	RejectWith  string
	// Out is the egress interface (as sim.Result.Out).
	Out   string
	Path  []string
	Trace []sim.Step
	// NAT is what NAT changed (the same for every packet of the class).
	// The destination nat PREROUTING gives back to the replies of a
	// source-NATed connection (see Witness) is each packet's own, and is
	// not in it.
	NAT sim.NAT
	// MayMatch lists the may-match rules the answer depends on; a class
	// with any is not certain.
	MayMatch []MayRef
	// Alternative is set when some MayMatch entry is Taken: the class is
	// an outcome the simulator gives as MayMatch alternative, not as its
	// primary answer.
	Alternative bool
	// Assumptions made for this class beyond the host model's.
	Assumptions []string
}

// Certain reports whether the answer depends on no may-match rule.
func (c *Class) Certain() bool { return len(c.MayMatch) == 0 }

// Evaluator evaluates sets of first packets over one ruleset and host. It
// is not safe for concurrent use (its universe is not).
type Evaluator struct {
	RS   *parser.Ruleset
	Host *sim.Host
	U    *pset.Universe
	Opts Options

	ctActive bool
	v6       bool
	rules    map[*parser.Rule]*ruleSets
	names    []string // the extra interface names of the universe
	runs     map[runKey]dropRun
	rt       *routingSets
	// startSets caches the context of each entry on arrival.
	startSets map[Entry]pset.Set
	ctxSets   map[ctxKey]pset.Set
	rct       pset.Set // NEW/INVALID classification of a first packet
	hasPorts  pset.Set
	icmp      pset.Set
	routes    []routeRegion
	local     pset.Set // host addresses (dst field), loopback included
	bcast     pset.Set // broadcast addresses (dst field)
	mcast     pset.Set

	// per Eval
	ctx      context.Context
	deadline time.Time
	analysis string
	classes  []Class
	nalt     int
	stop     *Incomplete
	unsup    map[string]bool
	// diverted, when set, collects the certain classes that a DNAT sends
	// away from the host before INPUT (routeInput).
	diverted *[]diverted
}

// diverted is a set of packets addressed to the host on arrival that a
// DNAT of PREROUTING gave another, non-local destination: routing sends
// them on, and they never reach INPUT, whatever FORWARD then does.
type diverted struct {
	s     pset.Set
	trace []sim.Step
	to    netip.Addr
	dport int // -1: unchanged
}

type routeRegion struct {
	set pset.Set // over Dst
	dev string
}

// NewEvaluator prepares an evaluator. extraIfaces are interface names to
// give their own symbol (the host model's interfaces always get one).
func NewEvaluator(rs *parser.Ruleset, host *sim.Host, opts Options, extraIfaces ...string) *Evaluator {
	if host == nil {
		host = sim.InferHost(rs, nil)
	}
	names := append([]string(nil), extraIfaces...)
	names = append(names, "lo")
	for _, i := range host.Ifaces {
		names = append(names, i.Name)
		for _, p := range i.Ports {
			names = append(names, p.Name)
		}
	}
	for _, r := range host.Routes {
		names = append(names, r.Dev)
	}
	e := newEvaluatorIn(universeFor(rs, names, opts), rs, host, opts)
	e.names = names
	return e
}

// universeFor makes the universe of rs and the interface names, with the
// room opts asks for.
func universeFor(rs *parser.Ruleset, names []string, opts Options) *pset.Universe {
	uo := pset.RulesetOptions(rs, names...)
	if opts.Nodes > 0 {
		uo.Nodes = opts.Nodes
	}
	return pset.New(uo)
}

// newEvaluatorIn prepares an evaluator over a given universe (which must
// enumerate every interface the ruleset names), so that two rulesets'
// classes can be compared.
func newEvaluatorIn(u *pset.Universe, rs *parser.Ruleset, host *sim.Host, opts Options) *Evaluator {
	e := &Evaluator{RS: rs, Host: host, U: u, Opts: opts.withDefaults(),
		rules: map[*parser.Rule]*ruleSets{}, startSets: map[Entry]pset.Set{}, ctxSets: map[ctxKey]pset.Set{}}
	e.ctActive = sim.New(rs, host).ConntrackActive()
	e.v6 = rs.Family == parser.IPv6
	e.prepare()
	return e
}

func (e *Evaluator) prepare() {
	u := e.U
	protos := func(ps ...uint8) pset.Set {
		s := u.Empty()
		for _, p := range ps {
			s = s.Union(u.Eq(pset.Proto, uint64(p)))
		}
		return s
	}
	e.hasPorts = protos(sim.ProtoTCP, sim.ProtoUDP, sim.ProtoSCTP, sim.ProtoUDPLit, 33)
	e.icmp = protos(sim.ProtoICMP, sim.ProtoICMPv6)
	// A first packet is NEW unless conntrack refuses to start a
	// connection with it (sim/conntrack.go ctIn).
	tcp := u.Eq(pset.Proto, uint64(sim.ProtoTCP))
	S, A, R, F := uint64(parser.FlagSYN), uint64(parser.FlagACK), uint64(parser.FlagRST), uint64(parser.FlagFIN)
	tcpNew := u.Bits(pset.TCPFlags, S|A|R|F, S).Union(u.Bits(pset.TCPFlags, S|R|F, 0).Intersect(u.Bits(pset.TCPFlags, A, A)))
	newTypes := []uint64{8, 13, 15, 17}
	if e.v6 {
		newTypes = []uint64{128, 139}
	}
	icmpNew := u.Empty()
	for _, t := range newTypes {
		icmpNew = icmpNew.Union(u.Eq(pset.ICMPType, t))
	}
	isNew := tcp.Intersect(tcpNew).Union(e.icmp.Intersect(icmpNew)).Union(tcp.Union(e.icmp).Not())
	e.rct = isNew.Intersect(u.CTStates(parser.CTNew)).Union(isNew.Not().Intersect(u.CTStates(parser.CTInvalid)))
	if e.v6 {
		// MLD and neighbour discovery are UNTRACKED (sim/conntrack.go
		// icmp6NoTrack).
		noTrack := u.Empty()
		for _, t := range []uint64{130, 131, 132, 133, 134, 135, 136, 143} {
			noTrack = noTrack.Union(u.Eq(pset.ICMPType, t))
		}
		noTrack = e.icmp.Intersect(noTrack)
		e.rct = noTrack.Intersect(u.CTStates(parser.CTUntracked)).Union(noTrack.Not().Intersect(e.rct))
	}

	// Address classes of the host model (over Dst; sets over Src are
	// built the same way on demand).
	e.local = e.localSet(pset.Dst, "")
	e.bcast = e.bcastSet(pset.Dst, "")
	if e.v6 {
		e.mcast = u.CIDR(pset.Dst, netip.MustParsePrefix("ff00::/8"))
	} else {
		e.mcast = u.CIDR(pset.Dst, netip.MustParsePrefix("224.0.0.0/4"))
	}
	// Routing regions: most specific first, interfaces before routes on
	// ties (as sim's lookup).
	type rt struct {
		p   netip.Prefix
		dev string
	}
	var rts []rt
	for _, i := range e.Host.Ifaces {
		for _, p := range i.Addrs {
			if p.Addr().Is6() == e.v6 {
				rts = append(rts, rt{p.Masked(), i.Name})
			}
		}
	}
	for _, r := range e.Host.Routes {
		if r.Dst.Addr().Is6() == e.v6 {
			rts = append(rts, rt{r.Dst.Masked(), r.Dev})
		}
	}
	slices.SortStableFunc(rts, func(a, b rt) int { return b.p.Bits() - a.p.Bits() })
	rest := u.All()
	for _, r := range rts {
		s := rest.Intersect(u.CIDR(pset.Dst, r.p))
		if s.IsEmpty() {
			continue
		}
		rest = rest.Diff(s)
		e.routes = append(e.routes, routeRegion{s, r.dev})
	}
}

func (e *Evaluator) addrOK(a netip.Addr) bool { return a.IsValid() && a.Is6() == e.v6 && !a.Is4In6() }

// localSet is the set of host addresses in field f (dev "" every
// interface, loopback included; else that interface's).
func (e *Evaluator) localSet(f pset.Field, dev string) pset.Set {
	u := e.U
	s := u.Empty()
	lo := netip.MustParsePrefix("127.0.0.0/8")
	if e.v6 {
		lo = netip.MustParsePrefix("::1/128")
	}
	if dev == "" || dev == "lo" {
		s = u.CIDR(f, lo)
		if dev == "lo" {
			return s
		}
	}
	for _, i := range e.Host.Ifaces {
		if dev != "" && i.Name != dev {
			continue
		}
		for _, p := range i.Addrs {
			if e.addrOK(p.Addr()) {
				s = s.Union(u.EqAddr(f, p.Addr()))
			}
		}
	}
	return s
}

// bcastSet is Host.IsBroadcast over field f.
func (e *Evaluator) bcastSet(f pset.Field, dev string) pset.Set {
	u := e.U
	if e.v6 {
		return u.Empty()
	}
	s := u.EqAddr(f, netip.AddrFrom4([4]byte{255, 255, 255, 255}))
	for _, i := range e.Host.Ifaces {
		if dev != "" && i.Name != dev {
			continue
		}
		for _, p := range i.Addrs {
			if p.Addr().Is4() && p.Bits() < 31 {
				s = s.Union(u.EqAddr(f, lastAddr(p)))
			}
		}
	}
	return s
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}

// budget checks the budgets; false means stop.
func (e *Evaluator) budget() bool {
	if e.stop != nil {
		return false
	}
	switch {
	case e.ctx != nil && e.ctx.Err() != nil:
		e.stop = &Incomplete{Analysis: e.analysis, Reason: "cancelled: " + e.ctx.Err().Error(), Budget: true}
	case time.Now().After(e.deadline):
		e.stop = &Incomplete{Analysis: e.analysis, Reason: fmt.Sprintf("time budget of %s hit", e.Opts.Timeout), Budget: true}
	case e.U.NodeCount() > e.Opts.MaxNodes:
		e.stop = &Incomplete{Analysis: e.analysis, Reason: fmt.Sprintf("node budget of %d BDD nodes hit", e.Opts.MaxNodes), Budget: true}
	case len(e.classes) >= e.Opts.MaxClasses:
		e.stop = &Incomplete{Analysis: e.analysis, Reason: fmt.Sprintf("class budget of %d classes hit", e.Opts.MaxClasses), Budget: true}
	}
	return e.stop == nil
}

// Eval evaluates the packets of s arriving at entry. s is over the
// packet's fields as it arrives; the fields of the packet's context
// (interfaces, conntrack, marks, address types) are set by Eval. analysis
// names the analysis for Incomplete. The classes partition s (all of it,
// unless an Incomplete is returned).
func (e *Evaluator) Eval(ctx context.Context, analysis string, entry Entry, s pset.Set) ([]Class, []Incomplete) {
	e.ctx, e.analysis = ctx, analysis
	e.deadline = time.Now().Add(e.Opts.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(e.deadline) {
		e.deadline = dl
	}
	e.classes, e.stop, e.unsup, e.nalt = nil, nil, map[string]bool{}, 0
	st := e.start(entry, s)
	if !st.s.IsEmpty() {
		if entry.Local {
			e.output(st)
		} else {
			e.input(st)
		}
	}
	var inc []Incomplete
	if e.stop != nil {
		inc = append(inc, *e.stop)
	}
	for r := range e.unsup {
		inc = append(inc, Incomplete{Analysis: analysis, Reason: r})
	}
	slices.SortFunc(inc, func(a, b Incomplete) int {
		if a.Reason < b.Reason {
			return -1
		}
		if a.Reason > b.Reason {
			return 1
		}
		return 0
	})
	out := e.classes
	e.classes = nil
	return out, inc
}

// FirstPackets is the set of well-formed first packets as the simulator
// sends them: not a fragment, a TTL of at least 1 (the simulator reads 0 as
// "default"), a length of at least the IP header; the context fields are
// free (Eval sets them).
func (e *Evaluator) FirstPackets() pset.Set {
	u := e.U
	return u.Eq(pset.Fragment, 0).Intersect(u.Range(pset.TTL, 1, 255)).Intersect(u.Range(pset.Length, 1, 65535))
}

// state is one symbolic packet class in flight.
type state struct {
	s     pset.Set
	entry Entry
	in    string // current input interface name ("" none)
	out   string // current output interface name ("" before routing)
	// res fields
	resOut string
	path   []string
	trace  *trace
	mays   []MayRef
	alt    bool
	// NAT context: curDst valid when DNAT changed the destination (for
	// every packet of the class); curDport >= 0 when it changed the port.
	curDst           netip.Addr
	curDport         int
	natSrc           netip.Addr
	natSport         int
	dstDone, srcDone bool
	mark, ctmark     uint32
	natBits          uint64 // CTNat: 1 SNAT, 2 DNAT
	// replyDst, for the replies of an entry with source NAT, is its reply
	// tuple's destination (the NAT address); unSNAT is set until nat
	// PREROUTING gives them back their connection's original source.
	replyDst          netip.Addr
	unSNAT            bool
	status            parser.CTStatus
	untracked, looped bool
	ttlDec            bool
	nfBridge          bool
	physin, physout   string
	steps             int
	assumptions       []string
}

// trace is the trace of a class: a list shared with the classes it was
// split from, so that a step added to one class copies none of the steps
// before it (a class's trace was copied at each split, then grown).
type trace struct {
	step sim.Step
	prev *trace
	n    int // steps up to this one
}

// with returns t followed by step.
func (t *trace) with(step sim.Step) *trace {
	n := 1
	if t != nil {
		n = t.n + 1
	}
	return &trace{step: step, prev: t, n: n}
}

// steps returns the steps of t in order (nil for none).
func (t *trace) steps() []sim.Step {
	if t == nil {
		return nil
	}
	out := make([]sim.Step, t.n)
	for i := t.n - 1; t != nil; i, t = i-1, t.prev {
		out[i] = t.step
	}
	return out
}

func (st *state) clone(s pset.Set) *state {
	n := *st
	n.s = s
	n.path = slices.Clip(st.path)
	n.mays = slices.Clip(st.mays)
	n.assumptions = slices.Clip(st.assumptions)
	return &n
}

func (e *Evaluator) sym(f pset.Field, name string) pset.Set { return e.U.Iface(f, name) }

func (e *Evaluator) setField(s pset.Set, f pset.Field, v uint64) pset.Set {
	return s.Forget(f).Intersect(e.U.Eq(f, v))
}

func (e *Evaluator) setIface(s pset.Set, f pset.Field, name string) pset.Set {
	return s.Forget(f).Intersect(e.sym(f, name))
}

func (e *Evaluator) start(entry Entry, s pset.Set) *state {
	u := e.U
	st := &state{entry: entry, curDport: -1, natSport: -1, mark: entry.Mark}
	in := entry.In
	if entry.Local {
		in = ""
	}
	st.in = in
	s = s.Intersect(u.Eq(pset.Fragment, 0))
	for _, f := range []pset.Field{pset.InIface, pset.OutIface, pset.PhysIn, pset.PhysOut} {
		s = s.Forget(f)
	}
	for _, f := range []pset.Field{pset.CTNat, pset.CTStatus, pset.CTDir, pset.Bridged, pset.Mark, pset.CTMark} {
		s = s.Forget(f)
	}
	s = s.Forget(pset.CTState).Intersect(u.CTStates(parser.CTInvalid))
	for _, f := range []pset.Field{pset.PktType, pset.SrcType, pset.DstType, pset.CTProto,
		pset.CTOrigSrc, pset.CTOrigDst, pset.CTOrigSport, pset.CTOrigDport,
		pset.CTReplSrc, pset.CTReplDst, pset.CTReplSport, pset.CTReplDport} {
		s = s.Forget(f)
	}
	st.s = s
	return st
}

// leaf records a class.
func (e *Evaluator) leaf(st *state, verdict, disp, droppedIn, with string) {
	if st.s.IsEmpty() || !e.budget() || (e.Opts.OnlyAccepted && verdict != sim.Accept) {
		return
	}
	c := Class{Entry: st.entry, Set: st.s, Verdict: verdict, Disposition: disp, DroppedIn: droppedIn,
		RejectWith: with, Out: st.resOut, Path: st.path, Trace: st.trace.steps(), MayMatch: st.mays,
		Alternative: st.alt, Assumptions: st.assumptions}
	if st.curDst.IsValid() && st.curDst != st.replyDst {
		// (A reply still sent to the NAT address is as it arrived.)
		c.NAT.Dst = st.curDst
	}
	if st.curDport >= 0 {
		c.NAT.Dport, c.NAT.HasDport = uint16(st.curDport), true
	}
	if st.natSrc.IsValid() {
		c.NAT.Src = st.natSrc
	}
	if st.natSport >= 0 {
		c.NAT.Sport, c.NAT.HasSport = uint16(st.natSport), true
	}
	if p, ok := st.s.Witness(); ok {
		c.Witness = e.packetOf(p, st.entry)
		if st.entry.Reply && st.replyDst.IsValid() {
			// A reply of a connection whose first packet got source NAT:
			// sent to the NAT address, un-SNATed to the set's destination.
			c.Witness.CTOrigSrc, c.Witness.Dst = c.Witness.Dst, st.replyDst
		}
	}
	e.classes = append(e.classes, c)
}

// ctxFields are the fields Eval sets from the packet's context. The order
// matters: Forget keeps sets well-formed, so the fields a well-formedness
// rule ties to another (NAT and status bits to the state, ports to bridge
// info) are forgotten first.
var ctxFields = []pset.Field{pset.InIface, pset.OutIface, pset.PhysIn, pset.PhysOut, pset.Bridged,
	pset.CTNat, pset.CTStatus, pset.CTState, pset.CTDir, pset.Mark, pset.CTMark}

// Arrival is a class's set as Eval's input saw it (ctstate as before
// conntrack), to compare with or intersect input sets.
func (e *Evaluator) Arrival(c *Class) pset.Set { return e.arrival(c.Set, c.Entry) }

// arrival projects a set in flight onto the packet as it arrived: the
// context fields take their values on arrival.
func (e *Evaluator) arrival(s pset.Set, entry Entry) pset.Set {
	s = forgetAll(s, append([]pset.Field{pset.CTState}, ctxForget...))
	a, ok := e.startSets[entry]
	if !ok {
		a = e.start(entry, e.U.All()).s
		e.startSets[entry] = a
	}
	return s.Intersect(a)
}

// PointOf is the point of a concrete packet as it arrives at entry, for
// pset.Contains on a Class's Set.
func PointOf(p sim.Packet, entry Entry) pset.Point {
	pt := pset.Point{Src: p.Src, Dst: p.Dst, Proto: p.Proto, Sport: p.Sport, Dport: p.Dport,
		CTState: parser.CTInvalid, ICMPType: p.ICMPType, ICMPCode: p.ICMPCode, TCPFlags: p.Flags,
		Mark: entry.Mark, TTL: p.TTL, Length: p.Len, TOS: p.TOS, PktType: "unicast",
		SrcType: parser.ATUnicast, DstType: parser.ATUnicast, CTProto: p.Proto}
	if !entry.Local {
		pt.In = entry.In
	}
	if entry.Reply && p.CTOrigSrc.IsValid() {
		pt.Dst = p.CTOrigSrc // the set's coordinates: after un-SNAT
	}
	return pt
}

// packetOf turns a witness point into a packet for the simulator.
func (e *Evaluator) packetOf(p pset.Point, entry Entry) sim.Packet {
	pk := sim.Packet{Proto: p.Proto, Src: p.Src, Dst: p.Dst, TTL: p.TTL, TOS: p.TOS, Len: p.Length, Mark: entry.Mark}
	if entry.Local {
		pk.Local = true
	} else {
		pk.In = entry.In
	}
	switch entry.State {
	case parser.CTEstablished:
		pk.State = "ESTABLISHED"
	case parser.CTRelated:
		pk.State = "RELATED"
	}
	if entry.State != 0 && entry.Reply {
		pk.CTDir = "REPLY"
	}
	switch {
	case sim.HasPorts(p.Proto):
		pk.Sport, pk.Dport = p.Sport, p.Dport
	case sim.IsICMP(p.Proto):
		pk.Sport = p.Sport
		pk.ICMPType, pk.ICMPCode = p.ICMPType, p.ICMPCode
	}
	if p.Proto == sim.ProtoTCP {
		pk.Flags = p.TCPFlags
	}
	return pk
}

// split returns s∩t and s\t.
func split(s, t pset.Set) (in, out pset.Set) {
	if !s.Overlaps(t) {
		return s.Universe().Empty(), s
	}
	return s.Intersect(t), s.Diff(t)
}

// ---- the path (mirrors sim/path.go) ----

func (e *Evaluator) input(st *state) {
	h := e.Host
	if ifc := h.Iface(st.in); ifc != nil && ifc.Bridge {
		e.bridgeInput(st, ifc)
		return
	}
	e.hookTables(st, "PREROUTING", e.routeInput)
}

func (e *Evaluator) unsupported(st *state, why string) {
	e.unsup[why] = true
}

// bridgeInput handles packets arriving on a bridge: routed packets (to
// the host, or to a destination off the bridge's subnets) are followed;
// frames bridged between two ports of the bridge are reported as not
// covered.
func (e *Evaluator) bridgeInput(st *state, br *sim.Iface) {
	u := e.U
	// The bridge port is the one the source lives behind, else the first
	// port (sim.input).
	var parts []*state
	rest := st.s
	for _, pt := range br.Ports {
		ps := u.Empty()
		for _, a := range pt.Addrs {
			if e.addrOK(a) {
				ps = ps.Union(u.EqAddr(pset.Src, a))
			}
		}
		in, out := split(rest, ps)
		rest = out
		if !in.IsEmpty() {
			n := st.clone(in)
			n.physin = pt.Name
			parts = append(parts, n)
		}
	}
	if !rest.IsEmpty() {
		n := st.clone(rest)
		if len(br.Ports) > 0 {
			n.physin = br.Ports[0].Name
		} else {
			n.physin = st.in + "-port"
		}
		n.assumptions = append(n.assumptions, fmt.Sprintf("%s taken as the bridge port the packet entered %s through", n.physin, st.in))
		parts = append(parts, n)
	}
	for _, p := range parts {
		p.nfBridge = true
		// Frames for a machine of the bridge's own subnets are bridged.
		sub := u.Empty()
		for _, a := range br.Addrs {
			if a.Addr().Is6() == e.v6 {
				sub = sub.Union(u.CIDR(pset.Dst, a.Masked()))
			}
		}
		sub = sub.Diff(e.local).Diff(e.bcast).Diff(e.mcast)
		self := u.Empty()
		if pt := br.Port(p.physin); pt != nil {
			for _, a := range pt.Addrs {
				if e.addrOK(a) {
					self = self.Union(u.EqAddr(pset.Dst, a))
				}
			}
		}
		bridged, routed := split(p.s, sub.Diff(self))
		if !bridged.IsEmpty() {
			b := p.clone(bridged)
			if !e.Host.BrNetfilter {
				b.resOut = br.Name
				b.assumptions = append(b.assumptions, "br_netfilter off: bridged traffic does not cross "+e.RS.Family.Tool())
				e.leaf(b, sim.Accept, sim.Forwarded, "", "")
			} else {
				e.hookTables(b, "PREROUTING", func(q *state) { e.afterBridgedPre(q, br) })
			}
		}
		if !routed.IsEmpty() {
			e.hookTables(p.clone(routed), "PREROUTING", e.routeInput)
		}
	}
}

// afterBridgedPre follows a frame bridged with br_netfilter on, after
// PREROUTING (sim's bridged): DNAT may have made it routed; else it goes
// through FORWARD (in and out the bridge) and POSTROUTING.
func (e *Evaluator) afterBridgedPre(q *state, br *sim.Iface) {
	u := e.U
	if q.curDst.IsValid() {
		a := q.curDst
		still := !e.Host.IsLocal(a) && !e.Host.IsBroadcast(a) && !a.IsMulticast()
		in := false
		for _, pf := range br.Addrs {
			if pf.Masked().Contains(a) {
				in = true
			}
		}
		if pt := br.PortFor(a); pt != nil && pt.Name == q.physin {
			in = false
		}
		if !still || !in {
			e.routeInput(q) // DNAT made it routed (br_nf_pre_routing_finish)
			return
		}
	}
	// The port each destination lives behind; an address without port
	// gets the port sim.Host.ensurePort would create.
	nports := 0
	for _, i := range e.Host.Ifaces {
		nports += len(i.Ports)
	}
	fresh := fmt.Sprintf("veth%d", nports)
	type part struct {
		st   *state
		port string
	}
	var parts []part
	if q.curDst.IsValid() {
		name := fresh
		if pt := br.PortFor(q.curDst); pt != nil {
			name = pt.Name
		}
		parts = append(parts, part{q, name})
	} else {
		rest := q.s
		for _, pt := range br.Ports {
			ps := u.Empty()
			for _, a := range pt.Addrs {
				if e.addrOK(a) {
					ps = ps.Union(u.EqAddr(pset.Dst, a))
				}
			}
			in, out := split(rest, ps)
			rest = out
			if !in.IsEmpty() {
				parts = append(parts, part{q.clone(in), pt.Name})
			}
		}
		if !rest.IsEmpty() {
			n := q.clone(rest)
			n.assumptions = append(n.assumptions, fmt.Sprintf("a destination without a known port taken as a machine behind a new port %s of bridge %s", fresh, br.Name))
			parts = append(parts, part{n, fresh})
		}
	}
	for _, x := range parts {
		n := x.st
		n.in, n.out, n.physout = br.Name, br.Name, x.port
		n.resOut = br.Name
		e.hookTables(n, "FORWARD", func(r *state) {
			r.in = ""
			e.hookTables(r, "POSTROUTING", func(t *state) { e.leaf(t, sim.Accept, sim.Forwarded, "", "") })
		})
	}
}

// martian is the set of sources routing drops (over Src).
func (e *Evaluator) martian() pset.Set {
	if e.rt == nil {
		e.routingSets()
	}
	return e.rt.martian
}

// routingSets are the address sets of the routing decision, built once.
type routingSets struct {
	martian, lo, mcastDrop, local pset.Set
}

func (e *Evaluator) routingSets() {
	u := e.U
	var lo, allMC pset.Set
	if e.v6 {
		lo = u.EqAddr(pset.Dst, netip.IPv6Loopback())
		allMC = u.EqAddr(pset.Dst, netip.MustParseAddr("ff02::1"))
	} else {
		lo = u.CIDR(pset.Dst, netip.MustParsePrefix("127.0.0.0/8"))
		allMC = u.EqAddr(pset.Dst, netip.AddrFrom4([4]byte{224, 0, 0, 1}))
	}
	e.rt = &routingSets{martian: e.martianSet(), lo: lo, mcastDrop: e.mcast.Diff(allMC), local: e.local.Union(e.bcast).Union(allMC)}
}

func (e *Evaluator) martianSet() pset.Set {
	u := e.U
	var s pset.Set
	if e.v6 {
		s = u.EqAddr(pset.Src, netip.IPv6Loopback()).Union(u.CIDR(pset.Src, netip.MustParsePrefix("ff00::/8")))
		s = s.Union(u.EqAddr(pset.Src, netip.IPv6Unspecified()))
	} else {
		s = u.CIDR(pset.Src, netip.MustParsePrefix("127.0.0.0/8")).Union(u.CIDR(pset.Src, netip.MustParsePrefix("224.0.0.0/4"))).
			Union(u.EqAddr(pset.Src, netip.IPv4Unspecified()))
	}
	if e.v6 {
		// IPv6 routing does not check the source against the host's own
		// addresses (sim's martianSource).
		return s
	}
	return s.Union(e.bcastSet(pset.Src, "")).Union(e.localSet(pset.Src, ""))
}

// dstIs splits a state's set by a property of the current destination
// given as a set over Dst.
func (e *Evaluator) dstIs(st *state, set pset.Set) (in, out pset.Set) {
	if st.curDst.IsValid() {
		if e.containsAddr(set, st.curDst) {
			return st.s, e.U.Empty()
		}
		return e.U.Empty(), st.s
	}
	return split(st.s, set)
}

// containsAddr reports whether addr is in a set over Dst alone.
func (e *Evaluator) containsAddr(set pset.Set, a netip.Addr) bool {
	return set.Overlaps(e.U.EqAddr(pset.Dst, a))
}

func (e *Evaluator) routeInput(st *state) {
	drop := func(s pset.Set, why string) {
		if s.IsEmpty() {
			return
		}
		n := st.clone(s)
		n.assumptions = append(n.assumptions, "routing drops the packet: "+why)
		e.leaf(n, sim.Drop, sim.Dropped, "routing", "")
	}
	if e.rt == nil {
		e.routingSets()
	}
	if st.in != "lo" {
		m, rest := split(st.s, e.martian())
		drop(m, "martian source")
		st.s = rest
	}
	if st.s.IsEmpty() {
		return
	}
	rt := e.rt
	if e.diverted != nil && st.curDst.IsValid() && len(st.mays) == 0 && !e.containsAddr(rt.local, st.curDst) {
		*e.diverted = append(*e.diverted, diverted{s: st.s, trace: st.trace.steps(), to: st.curDst, dport: st.curDport})
	}
	if st.in != "lo" {
		m, rest := e.dstIs(st, rt.lo)
		drop(m, "martian destination")
		st.s = rest
	}
	m, rest := e.dstIs(st, rt.mcastDrop)
	drop(m, "multicast group not joined")
	st.s = rest
	loc, fwd := e.dstIs(st, rt.local)
	if !loc.IsEmpty() {
		n := st.clone(loc)
		e.hookTables(n, "INPUT", func(n *state) { e.leaf(n, sim.Accept, sim.DeliveredLocal, "", "") })
	}
	if fwd.IsEmpty() {
		return
	}
	st.s = fwd
	for _, r := range e.routes {
		in, rest := e.dstIs(st, r.set)
		st.s = rest
		if !in.IsEmpty() {
			e.forward(st.clone(in), r.dev)
		}
		if st.s.IsEmpty() {
			return
		}
	}
	drop(st.s, "no route")
}

func (e *Evaluator) forward(st *state, out string) {
	u := e.U
	rebridged := false
	if br := e.Host.Iface(out); br != nil && br.Bridge && st.nfBridge && out == st.in && st.curDst.IsValid() {
		rebridged = true
		if pt := br.PortFor(st.curDst); pt != nil && pt.Name == st.physin {
			n := st.clone(st.s)
			n.assumptions = append(n.assumptions, "routing drops the packet: the bridge does not send a frame back out of the port it came in through")
			e.leaf(n, sim.Drop, sim.Dropped, "routing", "")
			return
		}
	}
	if !rebridged {
		low, ok := split(st.s, u.Range(pset.TTL, 0, 1))
		if !low.IsEmpty() {
			n := st.clone(low)
			n.assumptions = append(n.assumptions, "routing drops the packet: TTL exceeded")
			e.leaf(n, sim.Drop, sim.Dropped, "routing", "")
		}
		if ok.IsEmpty() {
			return
		}
		st.s = ok
		st.ttlDec = true
	}
	st.out, st.resOut = out, out
	e.hookTables(st, "FORWARD", func(n *state) { e.postrouting(n, out) })
}

func (e *Evaluator) postrouting(st *state, out string) {
	st.out = out
	disp := sim.Forwarded
	if st.entry.Local {
		disp = sim.Sent
	}
	e.hookTables(st, "POSTROUTING", func(n *state) { e.leaf(n, sim.Accept, disp, "", "") })
}

func (e *Evaluator) output(st *state) {
	toLo := e.local.Diff(e.bcast).Diff(e.mcast)
	lo, rest := split(st.s, toLo)
	var parts []*state
	if !lo.IsEmpty() {
		n := st.clone(lo)
		n.out = "lo"
		parts = append(parts, n)
	}
	for _, r := range e.routes {
		in, r2 := split(rest, r.set)
		rest = r2
		if !in.IsEmpty() {
			n := st.clone(in)
			n.out = r.dev
			parts = append(parts, n)
		}
	}
	if !rest.IsEmpty() {
		n := st.clone(rest)
		n.assumptions = append(n.assumptions, "no route: the local send fails")
		e.leaf(n, sim.Drop, sim.Dropped, "routing", "")
	}
	for _, p := range parts {
		e.hookTables(p, "OUTPUT", e.afterOutput)
	}
}

func (e *Evaluator) afterOutput(st *state) {
	out := st.out
	if st.curDst.IsValid() {
		// Rerouted after DNAT.
		if e.Host.IsLocal(st.curDst) {
			out = "lo"
		} else if dev, ok := e.lookup(st.curDst); ok {
			out = dev
		}
	}
	if out != "lo" {
		st.resOut = out
		e.postrouting(st, out)
		return
	}
	st.out = "lo"
	e.hookTables(st, "POSTROUTING", func(n *state) {
		// confirmed; back in through lo
		nw, other := split(n.s, e.U.CTStates(parser.CTNew))
		var parts []*state
		if !nw.IsEmpty() {
			a := n.clone(nw)
			a.status |= parser.CTStatusConfirmed
			parts = append(parts, a)
		}
		if !other.IsEmpty() {
			parts = append(parts, n.clone(other))
		}
		for _, p := range parts {
			p.looped = true
			p.in, p.out = "lo", ""
			p.physin, p.nfBridge = "", false
			e.hookTables(p, "PREROUTING", func(q *state) {
				e.hookTables(q, "INPUT", func(r *state) { e.leaf(r, sim.Accept, sim.DeliveredLocal, "", "") })
			})
		}
	})
}

// statusOf returns the CTStatus constant of a set (0 when free).
func (e *Evaluator) statusOf(s pset.Set) uint64 {
	if p, ok := s.Witness(); ok {
		return uint64(p.CTStatus)
	}
	return 0
}

func (e *Evaluator) lookup(a netip.Addr) (string, bool) {
	for _, r := range e.routes {
		if e.containsAddr(r.set, a) {
			return r.dev, true
		}
	}
	return "", false
}

// finish records a dropped or rejected class.
func (e *Evaluator) finish(st *state, v verdict, hook string) {
	if v.kind == vDrop {
		e.leaf(st, sim.Drop, sim.Dropped, hook, "")
		return
	}
	u := e.U
	silent := u.Empty()
	why := map[string]pset.Set{}
	bm := e.bcast.Union(e.mcast)
	var s1 pset.Set
	if st.curDst.IsValid() {
		if e.containsAddr(bm, st.curDst) {
			s1 = u.All()
		} else {
			s1 = u.Empty()
		}
	} else {
		s1 = bm
	}
	why["a broadcast or multicast"] = s1
	errTypes := u.Empty()
	if e.v6 {
		errTypes = u.Range(pset.ICMPType, 0, 127)
	} else {
		for _, t := range []uint64{3, 4, 5, 11, 12} {
			errTypes = errTypes.Union(u.Eq(pset.ICMPType, t))
		}
	}
	icmpErr := e.icmp.Intersect(errTypes)
	tcp := u.Eq(pset.Proto, uint64(sim.ProtoTCP))
	var order []string
	order = append(order, "a broadcast or multicast")
	icmpErrName := "an ICMP error"
	if e.v6 {
		icmpErrName = "an ICMPv6 error"
	}
	order = append(order, icmpErrName)
	why[icmpErrName] = icmpErr
	if v.with == "tcp-reset" {
		why["a tcp-reset of a non-TCP packet"] = tcp.Not()
		why["a tcp-reset of an RST"] = tcp.Intersect(u.Bits(pset.TCPFlags, uint64(parser.FlagRST), uint64(parser.FlagRST)))
		order = append(order, "a tcp-reset of a non-TCP packet", "a tcp-reset of an RST")
	}
	rest := st.s
	for _, k := range order {
		in, r := split(rest, why[k])
		rest = r
		silent = silent.Union(in)
		if !in.IsEmpty() {
			n := st.clone(in)
			n.assumptions = append(n.assumptions, "REJECT sends nothing back for "+k+": the packet is only dropped")
			e.leaf(n, sim.Reject, sim.Dropped, hook, "")
		}
	}
	if !rest.IsEmpty() {
		e.leaf(st.clone(rest), sim.Reject, sim.Rejected, hook, v.with)
	}
}

// hookTables runs the tables of a hook in priority order (sim's
// hookTables) and calls next for every class that gets through.
func (e *Evaluator) hookTables(st *state, hook string, next func(*state)) {
	if !e.budget() || st.s.IsEmpty() {
		return
	}
	st.path = append(slices.Clip(st.path), hook)
	type step struct {
		table string
		nat   bool
	}
	var order []step
	switch hook {
	case "PREROUTING":
		order = []step{{"raw", false}, {"ct", false}, {"mangle", false}, {"nat", true}}
	case "OUTPUT":
		order = []step{{"raw", false}, {"ct", false}, {"mangle", false}, {"nat", true}, {"filter", false}, {"security", false}}
	case "INPUT":
		order = []step{{"mangle", false}, {"filter", false}, {"security", false}, {"nat", true}}
	case "FORWARD":
		order = []step{{"mangle", false}, {"filter", false}, {"security", false}}
	case "POSTROUTING":
		order = []step{{"mangle", false}, {"nat", true}}
	}
	states := []*state{st}
	if hook == "PREROUTING" && !st.looped && st.entry.Reply && st.entry.State != 0 {
		// The replies of a source-NATed connection arrive to the NAT
		// address: raw and mangle see it, nat PREROUTING un-SNATs.
		states = e.replySNAT(st)
	}
	for _, stp := range order {
		var next []*state
		for _, s := range states {
			switch {
			case stp.table == "ct":
				if s.looped {
					next = append(next, s)
					continue
				}
				next = append(next, e.conntrackIn(s)...)
				continue
			case stp.nat:
				src := hook == "INPUT" || hook == "POSTROUTING"
				for _, o := range e.natHook(s, hook, src) {
					if o.v.kind == vDrop || o.v.kind == vReject {
						e.finish(o.st, o.v, hook)
					} else {
						next = append(next, o.st)
					}
				}
				continue
			}
			if e.RS.Tables[stp.table] == nil {
				next = append(next, s)
				continue
			}
			if stp.table == "raw" && !s.looped {
				s.s = e.noConn(s.s, parser.CTInvalid)
				s.natBits, s.status = 0, 0
				s.untracked = false
			}
			for _, o := range e.table(s, stp.table, hook) {
				if o.v.kind == vDrop || o.v.kind == vReject {
					e.finish(o.st, o.v, hook)
				} else {
					next = append(next, o.st)
				}
			}
		}
		states = next
	}
	for _, s := range states {
		if !s.s.IsEmpty() {
			next(s)
		}
	}
}

// noConn sets the state of packets without conntrack entry (INVALID or
// UNTRACKED): no NAT or status bits.
func (e *Evaluator) noConn(s pset.Set, state parser.CTState) pset.Set {
	return s.Forget(pset.CTState).Intersect(e.U.CTStates(state))
}

// The replies of an asserted entry (Entry.Reply) were split by the source
// NAT their connection's first packet got (replySNAT, at PREROUTING's
// start): those with one have status SNAT and arrive to the NAT address
// (curDst) until nat PREROUTING un-SNATs them.
func (e *Evaluator) conntrackIn(st *state) []*state {
	u := e.U
	st.natBits, st.status = 0, 0
	s := st.s.Forget(pset.CTState)
	switch {
	case !e.ctActive:
		// (replySNAT made no NAT address then.)
		st.s = s.Intersect(u.CTStates(parser.CTInvalid))
	case st.untracked:
		// Not tied to its entry: nothing un-SNATs it.
		st.s = s.Intersect(u.CTStates(parser.CTUntracked))
		st.unSNAT = false
	case st.entry.State == parser.CTEstablished || st.entry.State == parser.CTRelated:
		st.s = s.Intersect(u.CTStates(st.entry.State))
		st.status = parser.CTStatusSeenReply | parser.CTStatusAssured | parser.CTStatusConfirmed
		if st.entry.Reply && st.replyDst.IsValid() {
			st.natBits |= 1
		}
	default:
		st.s = s.Intersect(e.rct)
	}
	return []*state{st}
}

type outcome struct {
	st *state
	v  verdict
}

// natHook runs the nat chain of a hook for the first packets of their
// connection (state NEW, that manip not done yet).
func (e *Evaluator) natHook(st *state, hook string, src bool) []outcome {
	if !src && st.unSNAT {
		st.curDst, st.unSNAT = netip.Addr{}, false
	}
	done := st.dstDone
	if src {
		done = st.srcDone
	}
	if done || !e.ctActive {
		return []outcome{{st, verdict{}}}
	}
	nw, other := split(st.s, e.U.CTStates(parser.CTNew))
	var out []outcome
	if !other.IsEmpty() {
		out = append(out, outcome{st.clone(other), verdict{}})
	}
	if nw.IsEmpty() {
		return out
	}
	n := st.clone(nw)
	if src {
		n.srcDone = true
	} else {
		n.dstDone = true
	}
	if e.RS.Tables["nat"] == nil {
		return append(out, outcome{n, verdict{}})
	}
	return append(out, e.table(n, "nat", hook)...)
}

// replySNAT splits the replies of an asserted entry arriving on st.in by
// the source NAT nat POSTROUTING gave their connection's first packet:
// the packet inverted (from the reply's destination to its source, out
// through st.in). MASQUERADE takes st.in's address, SNAT its first
// address, as the nat table does for a first packet (applyNAT). The rules
// of that chain are read for their addresses, output interface and
// protocol; a rule with other matches, or a jump, is taken as not
// matching (an assumption of the class).
func (e *Evaluator) replySNAT(st *state) []*state {
	u := e.U
	c := e.RS.Tables["nat"]
	if c == nil || c.Chains["POSTROUTING"] == nil || !e.ctActive {
		return []*state{st}
	}
	var out []*state
	rest := st.s
	for _, r := range c.Chains["POSTROUTING"].Rules {
		if rest.IsEmpty() {
			break
		}
		t := ""
		if r.Target != nil {
			t = r.Target.Name
		}
		m := u.All()
		// The first packet's source is the reply's destination, its
		// destination the reply's source, its output interface st.in.
		if r.Src != nil || r.Dst != nil || r.Proto != nil {
			m, _ = pset.MatchSet(u, &parser.Rule{Src: r.Dst, Dst: r.Src, Proto: r.Proto})
		}
		if r.Out != nil && u.Iface(pset.InIface, st.in).Intersect(neg(u.IfaceMatch(pset.InIface, r.Out.Name, r.Out.Wildcard), r.Out.Neg)).IsEmpty() {
			m = u.Empty()
		}
		if r.In != nil || r.Fragment != nil {
			m = u.Empty()
		}
		if len(r.Matches) > 0 || (t != "MASQUERADE" && t != "SNAT" && t != "ACCEPT" && t != "RETURN" && t != "DROP" && t != "" && t != "LOG") {
			if rest.Overlaps(m) {
				st.assumptions = append(st.assumptions, fmt.Sprintf("replies' NAT: the rule at %s of nat POSTROUTING taken as not matching their connections' first packets", fmt.Sprintf("%s:%d", r.Pos.File, r.Pos.Line)))
			}
			continue
		}
		if t == "" || t == "LOG" {
			continue
		}
		hit, left := split(rest, m)
		rest = left
		if hit.IsEmpty() {
			continue
		}
		n := st.clone(hit)
		var addr netip.Addr
		if ns, ok := r.Target.Spec.(*parser.NATTarget); ok {
			if ns.Kind == parser.NATMasquerade {
				addr, _ = e.Host.Iface(st.in).Primary(e.v6)
			} else if len(ns.Ranges) > 0 && ns.Ranges[0].MinAddr.IsValid() {
				addr = ns.Ranges[0].MinAddr
			}
		}
		if addr.IsValid() {
			// Replies to the NAT address itself are no replies of a
			// connection NAT changed (its source was already that).
			same, diff := split(hit, u.EqAddr(pset.Dst, addr))
			if !same.IsEmpty() {
				out = append(out, st.clone(same))
			}
			if diff.IsEmpty() {
				continue
			}
			n = st.clone(diff)
			n.replyDst, n.curDst, n.unSNAT = addr, addr, true
		}
		out = append(out, n)
	}
	if !rest.IsEmpty() {
		out = append(out, st.clone(rest))
	}
	return out
}
