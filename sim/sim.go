package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/dfw-project/dfw/parser"
)

// Verdicts and dispositions.
const (
	Accept = "ACCEPT"
	Drop   = "DROP"
	Reject = "REJECT"

	DeliveredLocal = "delivered-local"
	Forwarded      = "forwarded"
	Sent           = "sent"
	Dropped        = "dropped"
	Rejected       = "rejected"
)

// Sim simulates packets through one host's firewall. Its conntrack table
// is carried from one Run to the next: the packets of a flow share it.
type Sim struct {
	Ruleset *parser.Ruleset
	Host    *Host
	CT      *Conntrack
	// Explain records, for each rule that did not match, the first part
	// that failed (Result.Explain).
	Explain bool
	// MaxAlternatives bounds how many may-match rules get their other
	// outcome computed (Result.MayMatch); default 8.
	MaxAlternatives int
	// TraceLast keeps only the last step of each Result.Trace (the rule
	// or policy that gave the verdict, or the last counted rule of an
	// accepted packet), for callers that need no more (a replay summary).
	TraceLast bool
	// Now is the time of the next packet. When set, conntrack entries
	// time out after the kernel's default timeouts (conntrack.go,
	// refresh): a packet that comes after its entry expired starts a
	// new connection. Zero: entries never time out.
	Now time.Time
	// Without, when set, is a rule the simulation passes over as if it
	// were not in its chain: what a packet would get once it is deleted.
	Without *parser.Rule

	ctActive bool
	hasMay   bool
	// fast, when set (Compile), lets a traversal skip the rules of a chain
	// that cannot match the packet (compile.go).
	fast *fastIndex
	// scratch is the traversal state reused by RunReuse.
	scratch *run
}

// New returns a simulator for a ruleset on a host.
func New(rs *parser.Ruleset, h *Host) *Sim {
	if h == nil {
		h = InferHost(rs, nil)
	}
	s := &Sim{Ruleset: rs, Host: h, CT: &Conntrack{}, MaxAlternatives: 8}
	// Conntrack runs in a network namespace only once something needs it:
	// a rule with a conntrack-based match or target. A nat table alone does
	// not switch it on, and without conntrack the nat chains are never
	// traversed (the kernel agreed on both backends: an empty nat table, or
	// nat rules with plain matches, count no nat policy).
	for _, t := range rs.Tables {
		for _, c := range t.Order {
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					switch m.Name {
					case "state", "conntrack", "connmark", "connlimit", "connbytes", "connlabel", "helper", "cluster":
						s.ctActive = true
					}
					if undecidable(m) {
						s.hasMay = true
					}
				}
				if tg := r.Target; tg != nil {
					switch tg.Name {
					case "CONNMARK", "CT", "NOTRACK", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP", "CONNSECMARK":
						s.ctActive = true
					}
				}
			}
		}
	}
	return s
}

// ConntrackActive reports whether the ruleset switches conntrack on: a rule
// that needs connection tracking (KERNEL-NOTES 8). A nat table by itself
// does not.
func (s *Sim) ConntrackActive() bool { return s.ctActive }

// Step is one trace entry: a rule whose counters moved, or a policy.
type Step struct {
	Table, Chain string
	// Rule is the 1-based index in the chain; 0 for a policy.
	Rule   int
	Policy bool
	Goto   bool
	// Target is the target's name; "" for a rule without target.
	Target string
	Pos    parser.Pos
	R      *parser.Rule
}

// Miss is a rule that was evaluated and did not match (with --explain).
type Miss struct {
	Table, Chain string
	Rule         int
	Pos          parser.Pos
	// Option is the first part of the rule that failed, and Col its column.
	Option string
	Col    int
}

// MayMatch is a rule with a match whose outcome cannot be known offline.
// The primary answer takes it as NOT matching; Verdict and Disposition are
// the outcome if it matches.
type MayMatch struct {
	Table, Chain string
	Rule         int
	Pos          parser.Pos
	Match        string
	Target       string
	Verdict      string
	Disposition  string
}

// NAT lists what NAT changed in the packet (only the changed fields are
// valid / non-zero).
type NAT struct {
	Src      netip.Addr
	Sport    uint16
	Dst      netip.Addr
	Dport    uint16
	HasSport bool
	HasDport bool
}

// Empty reports whether nothing changed.
func (n NAT) Empty() bool { return !n.Src.IsValid() && !n.Dst.IsValid() && !n.HasSport && !n.HasDport }

// Result is what happened to one packet.
type Result struct {
	// Packet is the packet as sent (defaults filled in); Final is the
	// packet as it was last handled (after NAT and TTL decrement).
	Packet, Final Packet
	CTState       string
	// Path lists the hooks the packet entered.
	Path        []string
	Verdict     string
	Disposition string
	DroppedIn   string
	RejectWith  string
	// Out is the egress interface (forwarded or sent).
	Out         string
	PhysOut     string
	NAT         NAT
	Trace       []Step
	Assumptions []string
	MayMatch    []MayMatch
	Explain     []Miss
}

type verdictKind uint8

const (
	vContinue verdictKind = iota
	vAccept
	vDrop
	vReject
	vReturn
)

type verdict struct {
	kind verdictKind
	with string
}

// run is the state of one packet's traversal.
type run struct {
	s     *Sim
	ct    *Conntrack
	p     *Packet
	info  ctInfo
	e     env
	res   *Result
	force *parser.Rule
	mays  []mayNote
	steps int
	// looped is set for a local packet coming back in through lo: it
	// keeps its conntrack entry.
	looped    bool
	untracked bool
	// stack is the jump stack of table, kept for reuse.
	stack []frame
	// inner holds the Inner of the packet as it is handled (p points to
	// res.Final).
	inner Packet
	// newConn holds the entry a new connection's packet creates, until
	// it is confirmed (copied into the table).
	newConn Conn
	// last is the last trace step, with Sim.TraceLast.
	last lastStep
}

// lastStep is a trace step as recorded with Sim.TraceLast (made a Step at
// the end of the run).
type lastStep struct {
	table  string
	c      *parser.Chain // nil: no step
	i      int
	r      *parser.Rule
	policy bool
}

// set records a step. Field by field, here and in fill, rather than
// whole structs: a struct literal is built on the stack and then copied,
// and the copy's wide loads stall on the narrow stores just made (this
// runs for every counted rule).
func (l *lastStep) set(table string, c *parser.Chain, i int, r *parser.Rule, policy bool) {
	l.table, l.c, l.i, l.r, l.policy = table, c, i, r, policy
}

// fill writes the step into st, which is zero.
func (l *lastStep) fill(st *Step) {
	st.Table, st.Chain = l.table, l.c.Name
	if l.policy {
		st.Policy, st.Target, st.Pos = true, l.c.Policy, l.c.PolicyPos
		return
	}
	st.Rule, st.Pos, st.R = l.i+1, l.r.Pos, l.r
	if tg := l.r.Target; tg != nil {
		st.Target, st.Goto = tg.Name, tg.Goto
	}
}

type mayNote struct {
	table, chain string
	idx          int
	r            *parser.Rule
	m            *parser.Match
}

// Run simulates one packet and updates the conntrack table.
func (s *Sim) Run(p Packet) *Result {
	res := &Result{}
	s.runMain(&run{}, res, &p)
	return res
}

// RunReuse is Run into a Result that the caller reuses from packet to
// packet: res is overwritten, and its slices (Path, Trace, Assumptions…)
// keep their capacity, so that replaying many packets does not allocate
// for each. res.Final.Inner points into the simulator's own state and is
// valid until the next call.
func (s *Sim) RunReuse(p Packet, res *Result) {
	if s.scratch == nil {
		s.scratch = &run{}
	}
	s.runMain(s.scratch, res, &p)
}

// RunInto is RunReuse with the packet passed by pointer (*p is not
// changed), which spares a replay loop a copy of it for each packet.
func (s *Sim) RunInto(p *Packet, res *Result) {
	if s.scratch == nil {
		s.scratch = &run{}
	}
	s.runMain(s.scratch, res, p)
}

// runMain runs *p (not changed) into res.
func (s *Sim) runMain(r *run, res *Result, p *Packet) {
	var snap *Conntrack
	if s.hasMay && s.MaxAlternatives > 0 {
		snap = s.CT.clone()
	}
	s.runWith(r, res, p, s.CT, nil)
	max := s.MaxAlternatives
	for i, m := range r.mays {
		if i >= max {
			r.res.Assumptions = append(r.res.Assumptions, fmt.Sprintf("%d more may-match rules not explored", len(r.mays)-max))
			break
		}
		alt := s.run(*p, snap.clone(), m.r)
		tg := ""
		if m.r.Target != nil {
			tg = m.r.Target.Name
		}
		r.res.MayMatch = append(r.res.MayMatch, MayMatch{Table: m.table, Chain: m.chain, Rule: m.idx, Pos: m.r.Pos,
			Match: m.m.Name, Target: tg, Verdict: alt.res.Verdict, Disposition: alt.res.Disposition})
	}
}

func (s *Sim) run(p Packet, ct *Conntrack, force *parser.Rule) *run {
	r := &run{}
	s.runWith(r, &Result{}, &p, ct, force)
	return r
}

// runWith simulates *p (not changed: its defaults are filled in
// res.Packet) with the traversal state r and the result res, both reset
// first (their slices keep their capacity).
func (s *Sim) runWith(r *run, res *Result, in *Packet, ct *Conntrack, force *parser.Rule) {
	res.Packet = *in
	p := &res.Packet
	fillDefaults(p, s.Host, s.hostIx())
	// Field by field rather than whole structs: NAT is set at the end;
	// inner and newConn are written before they are read. (A new field
	// of Result or run must be reset here.)
	res.CTState, res.Verdict, res.Disposition, res.DroppedIn, res.RejectWith, res.Out, res.PhysOut = "", "", "", "", "", "", ""
	res.Path, res.Trace, res.Assumptions, res.MayMatch, res.Explain = res.Path[:0], res.Trace[:0], res.Assumptions[:0], res.MayMatch[:0], res.Explain[:0]
	r.s, r.ct, r.force, r.res = s, ct, force, res
	ct.now = 0
	if !s.Now.IsZero() {
		ct.now = s.Now.UnixNano()
	}
	r.info = ctInfo{}
	r.mays, r.stack = r.mays[:0], r.stack[:0]
	r.steps, r.looped, r.untracked = 0, false, false
	r.last.c = nil
	// The packet is handled in place in res.Final (its Inner in r.inner).
	res.Final = *p
	if p.Inner != nil {
		r.inner = *p.Inner
		res.Final.Inner = &r.inner
	}
	r.p = &res.Final
	r.e = env{p: r.p, host: s.Host, hix: s.hostIx(), ct: &r.info}
	r.res.Assumptions = append(r.res.Assumptions, s.Host.Assumptions...)
	if p.Local {
		r.output()
	} else {
		r.input()
	}
	if r.last.c != nil {
		r.res.Trace = append(r.res.Trace, Step{})
		r.last.fill(&r.res.Trace[len(r.res.Trace)-1])
	}
	r.res.NAT = natDiff(&r.res.Packet, r.p)
	if r.res.CTState == "" {
		r.res.CTState = stateName(r.info.state)
		if !s.ctActive && p.State == "" {
			r.res.CTState = "NONE"
		}
	}
}

func natDiff(a, b *Packet) NAT {
	var n NAT
	if a.Src != b.Src {
		n.Src = b.Src
	}
	if a.Dst != b.Dst {
		n.Dst = b.Dst
	}
	if HasPorts(a.Proto) {
		if a.Sport != b.Sport {
			n.Sport, n.HasSport = b.Sport, true
		}
		if a.Dport != b.Dport {
			n.Dport, n.HasDport = b.Dport, true
		}
	}
	return n
}

// fillDefaults completes a packet: TTL, length, source and destination.
func fillDefaults(p *Packet, h *Host, x *hostIndex) {
	if p.TTL == 0 {
		p.TTL = 64
	}
	if p.Len == 0 {
		p.Len = HeaderLen(p.Proto, p.Is6())
		if p.Inner != nil {
			p.Len += HeaderLen(p.Inner.Proto, p.Is6()) - HeaderLen(p.Inner.Proto, p.Is6()) + 28
		}
	}
	if p.Local && !p.Src.IsValid() && p.Dst.IsValid() {
		switch {
		case x.isLocal(h, p.Dst):
			p.Src = p.Dst
		default:
			if rt, ok := x.lookup(h, p.Dst); ok {
				p.Src = rt.src
			}
		}
	}
}

func (r *run) assume(format string, args ...any) {
	r.res.Assumptions = append(r.res.Assumptions, fmt.Sprintf(format, args...))
}

func (r *run) finish(v verdict, hook string) {
	switch v.kind {
	case vDrop:
		r.res.Verdict, r.res.Disposition, r.res.DroppedIn = Drop, Dropped, hook
	case vReject:
		r.res.Verdict, r.res.DroppedIn = Reject, hook
		if why := r.rejectSilent(v.with); why != "" {
			r.res.Disposition = Dropped
			r.assume("REJECT sends nothing back for %s: the packet is only dropped", why)
		} else {
			r.res.Disposition, r.res.RejectWith = Rejected, v.with
		}
	}
	r.discard()
}

// rejectSilent tells why REJECT sends nothing (KERNEL-NOTES 13), or "".
func (r *run) rejectSilent(with string) string {
	p := r.p
	switch {
	case p.Dst.IsMulticast() || r.isBroadcast(p.Dst):
		return "a broadcast or multicast"
	case IsICMP(p.Proto) && isICMPError(p.Is6(), p.ICMPType):
		if p.Is6() {
			return "an ICMPv6 error"
		}
		return "an ICMP error"
	case with == "tcp-reset" && p.Proto != ProtoTCP:
		return "a tcp-reset of a non-TCP packet"
	case with == "tcp-reset" && p.Flags&parser.FlagRST != 0:
		return "a tcp-reset of an RST"
	}
	return ""
}

// discard forgets an unconfirmed entry of a packet that did not make it.
func (r *run) discard() {
	r.info.fresh = false
}

func (r *run) confirm() {
	if r.info.fresh && r.info.conn != nil {
		r.info.conn = r.ct.confirm(r.info.conn)
		r.info.fresh = false
	}
}

func (r *run) enter(hook string) {
	r.res.Path = append(r.res.Path, hook)
	r.e.hook = hook
}

// conntrackIn classifies the packet (after raw).
func (r *run) conntrackIn(untracked bool) {
	p := r.p
	switch {
	case !r.s.ctActive:
		r.info = ctInfo{state: parser.CTInvalid}
	case untracked:
		r.info = ctInfo{state: parser.CTUntracked}
	case p.State != "":
		r.info = r.asserted(p.State)
	default:
		r.info = r.ct.ctIn(p, &r.newConn)
	}
	r.res.CTState = stateName(r.info.state)
	if !r.s.ctActive && p.State == "" {
		r.res.CTState = "NONE"
	}
}

func (r *run) asserted(st string) ctInfo {
	t := tupleOf(r.p)
	switch st {
	case "NEW":
		info := r.ct.ctIn(r.p, &r.newConn)
		if info.state != parser.CTNew {
			r.newConn = Conn{Orig: t, Reply: t.invert()}
			info = ctInfo{conn: &r.newConn, state: parser.CTNew, fresh: true}
		}
		return info
	case "ESTABLISHED", "RELATED":
		c := &Conn{Orig: t, Reply: t.invert(), Status: StatusSeenReply | StatusAssured | StatusConfirmed | statusSrcNATDone | statusDstNATDone}
		dir := 0
		snat := false
		if r.p.CTDir == "REPLY" {
			c.Orig, c.Reply, dir = t.invert(), t, 1
			if o := r.p.CTOrigSrc; o.IsValid() && o != t.Dst {
				c.Orig.Src, snat = o, true
				c.Status |= StatusSrcNAT
			}
		}
		s := parser.CTEstablished
		if st == "RELATED" {
			s = parser.CTRelated
		}
		switch {
		case snat:
			r.assume("conntrack state %s asserted: a reply, of an entry whose original source %s was changed to %s by source NAT", st, c.Orig.Src, t.Dst)
		case dir == 1:
			r.assume("conntrack state %s asserted: a reply, of an entry without NAT taken for it", st)
		default:
			r.assume("conntrack state %s asserted: an entry without NAT taken for it", st)
		}
		return ctInfo{conn: c, dir: dir, state: s}
	case "UNTRACKED":
		return ctInfo{state: parser.CTUntracked}
	}
	return ctInfo{state: parser.CTInvalid}
}

// natHook runs the nat table (src: the source-manip hooks INPUT and
// POSTROUTING) and applies the connection's binding to the packet.
func (r *run) natHook(chain string, hi int, src bool) verdict {
	c := r.info.conn
	if c == nil {
		return verdict{}
	}
	done := statusDstNATDone
	if src {
		done = statusSrcNATDone
	}
	if r.info.state == parser.CTNew && c.Status&done == 0 {
		c.Status |= done
		if r.hasTable("nat", tNat) {
			if v := r.table("nat", tNat, chain, hi); v.kind == vDrop || v.kind == vReject {
				return v
			}
		}
	}
	if r.info.state != parser.CTInvalid && r.info.state != parser.CTUntracked {
		manip(c, r.info.dir, src, r.p)
	}
	return verdict{}
}

type hookStep struct {
	table string
	ti    int // tableIndex(table)
	nat   bool
}

// The tables of each hook (hookIndex), in priority order ("ct" is
// conntrack).
var hookOrder = [numHooks][]hookStep{
	hPrerouting:  {{"raw", tRaw, false}, {"ct", -1, false}, {"mangle", tMangle, false}, {"nat", tNat, true}},
	hOutput:      {{"raw", tRaw, false}, {"ct", -1, false}, {"mangle", tMangle, false}, {"nat", tNat, true}, {"filter", tFilter, false}, {"security", tSecurity, false}},
	hInput:       {{"mangle", tMangle, false}, {"filter", tFilter, false}, {"security", tSecurity, false}, {"nat", tNat, true}},
	hForward:     {{"mangle", tMangle, false}, {"filter", tFilter, false}, {"security", tSecurity, false}},
	hPostrouting: {{"mangle", tMangle, false}, {"nat", tNat, true}},
}

// hookNames names the hooks (hookIndex).
var hookNames = [numHooks]string{hPrerouting: "PREROUTING", hInput: "INPUT", hForward: "FORWARD", hOutput: "OUTPUT", hPostrouting: "POSTROUTING"}

// hasTable reports whether the ruleset has the table (ti: its
// tableIndex), from the compiled index when there is one.
func (r *run) hasTable(name string, ti int) bool {
	if f := r.s.fast; f != nil {
		return f.has[ti]
	}
	return r.s.Ruleset.Tables[name] != nil
}

// hookTables runs the tables registered on hook hi (hookIndex), in
// priority order. The nat position is handled by natHook. A compiled
// simulator walks only the steps of the tables the ruleset has
// (fastIndex.order).
func (r *run) hookTables(hi int) verdict {
	hook := hookNames[hi]
	r.enter(hook)
	order := hookOrder[hi]
	if f := r.s.fast; f != nil {
		order = f.order[hi]
	}
	for k := range order {
		st := &order[k]
		var v verdict
		switch {
		case st.ti < 0: // conntrack
			if !r.looped {
				r.conntrackIn(r.untracked)
			}
			continue
		case st.nat:
			v = r.natHook(hook, hi, hi == hInput || hi == hPostrouting)
		default:
			if !r.hasTable(st.table, st.ti) {
				continue
			}
			if st.ti == tRaw && !r.looped {
				// raw runs before conntrack: the packet has no entry yet,
				// so its state is INVALID (UNTRACKED once NOTRACK ran). A
				// packet looped back through lo keeps the entry it got in
				// OUTPUT.
				r.info = ctInfo{state: parser.CTInvalid}
			}
			v = r.table(st.table, st.ti, hook, hi)
		}
		if v.kind == vDrop || v.kind == vReject {
			return v
		}
	}
	return verdict{kind: vAccept}
}
