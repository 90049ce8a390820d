package symbolic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

// IfaceNames lists the interface names a ruleset's rules mention (-i,
// -o, --physdev-in/out), a trailing '+' marking a wildcard: the names
// pset.ForRuleset enumerates.
func IfaceNames(rs *parser.Ruleset) []string {
	var names []string
	for _, m := range rs.Interfaces() {
		names = append(names, m.String())
	}
	return names
}

// Outcome is what happens to a class of packets, for a diff.
type Outcome struct {
	Verdict     string   `json:"verdict"`
	Disposition string   `json:"disposition"`
	Out         string   `json:"out,omitempty"`
	NAT         string   `json:"nat,omitempty"`
	By          *RuleRef `json:"by,omitempty"` // the rule or policy that decided
	MayMatch    bool     `json:"depends_on_may_match,omitempty"`
}

func (o Outcome) key() string {
	return o.Verdict + "|" + o.Disposition + "|" + o.Out + "|" + o.NAT
}

func (o Outcome) String() string {
	s := o.Verdict
	if o.Disposition != "" && !(o.Verdict == sim.Drop && o.Disposition == sim.Dropped) && !(o.Verdict == sim.Reject && o.Disposition == sim.Rejected) {
		s += " (" + o.Disposition
		if o.Out != "" {
			s += " via " + o.Out
		}
		s += ")"
	}
	if o.NAT != "" {
		s += " " + o.NAT
	}
	if o.By != nil {
		s += " by " + o.By.String()
	}
	if o.MayMatch {
		s += " [depends on a may-match]"
	}
	return s
}

// OutcomeOf summarises a class.
func OutcomeOf(c *Class) Outcome {
	o := Outcome{Verdict: c.Verdict, Disposition: c.Disposition, Out: c.Out, MayMatch: len(c.MayMatch) > 0}
	var nat []string
	if c.NAT.Dst.IsValid() {
		nat = append(nat, "dst→"+c.NAT.Dst.String())
	}
	if c.NAT.HasDport {
		nat = append(nat, fmt.Sprintf("dport→%d", c.NAT.Dport))
	}
	if c.NAT.Src.IsValid() {
		nat = append(nat, "src→"+c.NAT.Src.String())
	}
	if c.NAT.HasSport {
		nat = append(nat, fmt.Sprintf("sport→%d", c.NAT.Sport))
	}
	o.NAT = strings.Join(nat, ",")
	if r, ok := decidedBy(c); ok {
		o.By = &r
	}
	return o
}

// decidedBy is the last rule or policy of the trace that gave a verdict
// (ACCEPT, DROP, REJECT, a policy); routing drops have none.
func decidedBy(c *Class) (RuleRef, bool) {
	if c.DroppedIn == "routing" {
		return RuleRef{}, false
	}
	if c.Verdict == sim.Accept {
		r := acceptedBy(c.Trace)
		return r, r.Table != ""
	}
	for i := len(c.Trace) - 1; i >= 0; i-- {
		s := c.Trace[i]
		if s.Policy || s.Target == "DROP" || s.Target == "REJECT" || s.Target == "QUEUE" || s.Target == "NFQUEUE" {
			return RefOf(s), true
		}
	}
	return RuleRef{}, false
}

// DiffRow is a set of packets whose outcome changes.
type DiffRow struct {
	Entry   string      `json:"entry"` // ingress interface, or "local"
	Packets string      `json:"packets"`
	Witness WitnessJSON `json:"witness"`
	Old     Outcome     `json:"old"`
	New     Outcome     `json:"new"`

	Set pset.Set `json:"-"`
}

// DiffOptions configures Diff.
type DiffOptions struct {
	Options
}

// Diff evaluates every first packet, on every ingress interface symbol
// and from the host itself, through both rulesets (on the same host
// model) and returns the packets whose verdict, disposition, egress or
// NAT differ.
func Diff(ctx context.Context, old, new *parser.Ruleset, host *sim.Host, opts DiffOptions) ([]DiffRow, []Incomplete) {
	if host == nil {
		host = sim.InferHost(old, nil)
	}
	names := IfaceNames(new)
	names = append(names, "lo")
	for _, i := range host.Ifaces {
		names = append(names, i.Name)
		for _, p := range i.Ports {
			names = append(names, p.Name)
		}
	}
	u := pset.ForRuleset(old, names...)
	eo := newEvaluatorIn(u, old, host, opts.Options)
	en := newEvaluatorIn(u, new, host, opts.Options)
	var entries []Entry
	for _, i := range u.Ifaces() {
		if i.Name != "" {
			entries = append(entries, Entry{In: i.Name})
		}
	}
	entries = append(entries, Entry{Local: true})
	var rows []DiffRow
	var incs []Incomplete
	for _, ent := range entries {
		co, io := eo.Eval(ctx, AnalysisDiff, ent, eo.FirstPackets())
		cn, in := en.Eval(ctx, AnalysisDiff, ent, en.FirstPackets())
		for _, x := range append(io, in...) {
			x.Reason = fmt.Sprintf("%s: %s", ent, x.Reason)
			incs = append(incs, x)
		}
		rows = append(rows, diffClasses(eo, ent, co, cn)...)
		if len(io)+len(in) > 0 && slices.ContainsFunc(append(io, in...), func(i Incomplete) bool { return i.Budget }) {
			break
		}
	}
	return rows, incs
}

type group struct {
	o   Outcome
	set pset.Set
}

func groups(e *Evaluator, cs []Class) []*group {
	m := map[string]*group{}
	var out []*group
	for i := range cs {
		c := &cs[i]
		if c.Alternative {
			continue
		}
		o := OutcomeOf(c)
		k := o.key()
		if o.By != nil {
			k += "|" + o.By.String()
		}
		a := e.Arrival(c)
		if g, ok := m[k]; ok {
			g.set = g.set.Union(a)
			g.o.MayMatch = g.o.MayMatch || o.MayMatch
			continue
		}
		g := &group{o: o, set: a}
		m[k] = g
		out = append(out, g)
	}
	return out
}

func diffClasses(e *Evaluator, ent Entry, old, new []Class) []DiffRow {
	var rows []DiffRow
	gn := groups(e, new)
	for _, a := range groups(e, old) {
		for _, b := range gn {
			if a.o.key() == b.o.key() || !a.set.Overlaps(b.set) {
				continue
			}
			s := a.set.Intersect(b.set)
			r := DiffRow{Entry: ent.String(), Packets: Describe(e, s), Old: a.o, New: b.o, Set: s}
			if w, ok := s.Witness(); ok {
				r.Witness = WitnessOf(e.packetOf(w, ent))
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// Describe summarises a set of packets: protocols, ports, sources and
// destinations.
func Describe(e *Evaluator, s pset.Set) string {
	u := e.U
	var parts []string
	protos := project(s, pset.Proto)
	var names []string
	all := true
	for _, p := range []uint8{sim.ProtoTCP, sim.ProtoUDP, sim.ProtoICMP, sim.ProtoICMPv6, sim.ProtoSCTP} {
		if protos.Overlaps(u.Eq(pset.Proto, uint64(p))) {
			names = append(names, sim.ProtoName(p))
		}
	}
	if !protos.Equal(project(u.All(), pset.Proto)) {
		all = false
		rest := protos
		for _, p := range []uint8{sim.ProtoTCP, sim.ProtoUDP, sim.ProtoICMP, sim.ProtoICMPv6, sim.ProtoSCTP} {
			rest = rest.Diff(u.Eq(pset.Proto, uint64(p)))
		}
		if !rest.IsEmpty() {
			names = append(names, "other protocols")
		}
	}
	if all {
		parts = append(parts, "any protocol")
	} else {
		parts = append(parts, strings.Join(names, "/"))
	}
	if s.Subset(e.hasPorts) {
		if pr := PortRanges(s, pset.Dport); !(len(pr) == 1 && pr[0] == [2]int{0, 65535}) {
			parts = append(parts, "dport "+FormatRanges(pr))
		}
	}
	if src := AddrSummary(s, pset.Src, u.Empty()); src[0] != "any" {
		parts = append(parts, "from "+strings.Join(src, ","))
	}
	if dst := AddrSummary(s, pset.Dst, u.Empty()); dst[0] != "any" {
		parts = append(parts, "to "+strings.Join(dst, ","))
	}
	return strings.Join(parts, " ")
}

// WriteDiff prints a diff in text.
func WriteDiff(w io.Writer, rows []DiffRow, incs []Incomplete) error {
	for _, r := range rows {
		fmt.Fprintf(w, "%s: %s\n  old: %s\n  new: %s\n  e.g. %s\n", r.Entry, r.Packets, r.Old, r.New, witnessText(r.Witness))
	}
	if len(rows) == 0 && len(incs) == 0 {
		fmt.Fprintln(w, "no change: every packet gets the same verdict, disposition and NAT")
	}
	for _, i := range incs {
		fmt.Fprintf(w, "INCOMPLETE %s\n", i)
	}
	return nil
}

func witnessText(w WitnessJSON) string {
	var b strings.Builder
	fmt.Fprintf(&b, "proto=%s,in=%s,src=%s,dst=%s", w.Proto, w.In, w.Src, w.Dst)
	if w.Dport != 0 || w.Sport != 0 {
		fmt.Fprintf(&b, ",sport=%d,dport=%d", w.Sport, w.Dport)
	}
	if w.Flags != "" {
		fmt.Fprintf(&b, ",flags=%s", w.Flags)
	}
	if w.Type != nil {
		fmt.Fprintf(&b, ",type=%d", *w.Type)
	}
	return b.String()
}

// WriteDiffJSON prints a diff as {"changes":[…],"incomplete":[…]}.
func WriteDiffJSON(w io.Writer, rows []DiffRow, incs []Incomplete) error {
	if rows == nil {
		rows = []DiffRow{}
	}
	if incs == nil {
		incs = []Incomplete{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Changes    []DiffRow    `json:"changes"`
		Incomplete []Incomplete `json:"incomplete"`
	}{rows, incs})
}
