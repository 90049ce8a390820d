package facts

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dfw-project/dfw/parser"
)

// Options control Build.
type Options struct {
	// Base is how many of the loaded files, at the front, are --base
	// files.
	Base int
	// ExternalInterfaces overrides the inferred external interfaces.
	ExternalInterfaces []string
	// Config is passed to the policies as input.config.
	Config Config
	// Analyzer computes the analysis facts; nil leaves them out (listed
	// as incomplete, "not computed").
	Analyzer Analyzer
	// Peer is the other family's ruleset of the same host, with the names
	// of its checked files; nil for none. With an Analyzer that is a
	// FamilyGapAnalyzer, the document gets analysis.family_gap.
	Peer *PeerRuleset
	// CPUs is how many CPUs the analyses may use: with two or more, the
	// rule analyses and the path analyses run side by side.
	CPUs int
	// RulesOnDemand leaves Document.Rules empty: Document.Rule builds a
	// rule when asked, for a reader that needs few of them.
	RulesOnDemand bool
}

// PeerRuleset is the other family's ruleset of a host.
type PeerRuleset struct {
	Ruleset *parser.Ruleset
	Files   []string
}

// DockerChains are the chains Docker creates and rewrites, by table.
// DOCKER-USER is not among them: it is the user's.
var DockerChains = map[string][]string{
	"filter": {"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-FORWARD",
		"DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-INTERNAL", "DOCKER-INGRESS"},
	"nat": {"DOCKER", "DOCKER-INGRESS"},
}

// IsDockerChain reports whether Docker owns chain in table.
func IsDockerChain(table, chain string) bool {
	for _, c := range DockerChains[table] {
		if c == chain {
			return true
		}
	}
	return false
}

var opNames = map[parser.Op]string{
	parser.OpTable: "table", parser.OpCommit: "commit", parser.OpChain: "chain", parser.OpAppend: "append",
	parser.OpInsert: "insert", parser.OpDelete: "delete", parser.OpDeleteNum: "delete", parser.OpReplace: "replace",
	parser.OpNewChain: "new-chain", parser.OpDeleteChain: "delete-chain", parser.OpFlush: "flush",
	parser.OpZero: "zero", parser.OpPolicy: "policy", parser.OpRename: "rename", parser.OpCheck: "check",
}

// Build computes the input document of l's ruleset.
func Build(ctx context.Context, l *parser.Loaded, opts Options) (*Document, error) {
	rs := l.Ruleset
	d := &Document{
		Version:  Version,
		Family:   rs.Family.String(),
		Files:    []File{},
		Commands: []Command{},
		Tables:   []Table{},
		Chains:   make([]Chain, 0, numChains(rs)),
		Config:   opts.Config,
	}
	// The rules (or what builds them) are sized at once: a Rule is
	// large, and growing the list by doubling copied (and had the
	// collector scan) every rule again and again, a third of the
	// document's building on a large ruleset.
	if opts.RulesOnDemand {
		d.onDemand = make([]pendingRule, 0, rs.NumRules())
	} else {
		d.Rules = make([]Rule, 0, rs.NumRules())
	}
	if d.Config.AllowedExposed == nil {
		d.Config.AllowedExposed = []Allowed{}
	}
	lineComment := map[*parser.Rule]string{}
	for i, f := range l.Files {
		d.Files = append(d.Files, File{Name: f.Name, Index: i, Base: i < opts.Base, Noflush: i > 0})
		for _, c := range f.Commands {
			d.Commands = append(d.Commands, Command{
				Loc: loc(c.Pos), FileIndex: i, Op: opNames[c.Op], Table: c.Table, Chain: c.Chain,
				Policy: c.Policy, NewName: c.NewName, Noflush: i > 0, Comment: c.Comment, Text: c.Line,
			})
			for _, r := range c.Rules {
				if c.Comment != "" {
					lineComment[r] = c.Comment
				}
			}
		}
	}
	d.lb, d.lbIDs = loadBalancing(rs)
	d.Docker = dockerFacts(rs)
	d.Host = hostFacts(rs, d.Docker, opts.ExternalInterfaces)
	// The analyses read the ruleset and the host model; the documents
	// of the tables, chains and rules are built on the side (see
	// analyze).
	buildRules := func() {
		b := &builder{d: d, rs: rs}
		d.b = b
		for _, t := range rs.SortedTables() {
			d.Tables = append(d.Tables, Table{Name: t.Name, Loc: loc(t.Pos), Rules: t.NumRules(), FirstRule: d.NumRules()})
			hooks := t.Hooks()
			refs := map[string][]Ref{}
			for _, c := range t.Order {
				for i, r := range c.Rules {
					if tg := r.Target; tg != nil && tg.Kind == parser.TargetChain {
						refs[tg.Name] = append(refs[tg.Name], Ref{Loc: loc(r.Pos), Table: t.Name, Chain: c.Name,
							Index: i + 1, ID: ruleID(t.Name, c.Name, i+1), Goto: tg.Goto})
					}
				}
			}
			for _, c := range t.SortedChains() {
				ch := Chain{
					Loc: loc(c.Pos), ID: t.Name + "/" + c.Name, Table: t.Name, Name: c.Name, Builtin: c.Builtin,
					Policy: c.Policy, Comment: c.Comment, PolicyComment: c.PolicyComment, Rules: len(c.Rules),
					ReferencedBy: refs[c.Name], Hooks: hookNames(hooks[c.Name]), DockerOwned: IsDockerChain(t.Name, c.Name),
					FirstRule: d.NumRules(),
				}
				if !c.Builtin {
					ch.Policy = ""
				}
				if c.PolicyPos.IsValid() {
					pl := loc(c.PolicyPos)
					ch.PolicyLoc = &pl
				}
				if ch.ReferencedBy == nil {
					ch.ReferencedBy = []Ref{}
				}
				d.Chains = append(d.Chains, ch)
				for i, r := range c.Rules {
					if d.onDemand != nil {
						d.onDemand = append(d.onDemand, pendingRule{r: r, id: ruleID(t.Name, c.Name, i+1), index: i + 1,
							hooks: ch.Hooks, lineComment: lineComment[r]})
						continue
					}
					rr := b.rule(r, i+1, ch.Hooks)
					rr.LineComment = lineComment[r]
					d.Rules = append(d.Rules, rr)
				}
			}
		}
	}
	if err := analyze(ctx, rs, d, opts.Analyzer, opts.CPUs, buildRules); err != nil {
		return nil, err
	}
	positions(d)
	markLoadBalancing(d)
	if p := opts.Peer; p != nil && p.Ruleset != nil {
		d.Peer = &Peer{Family: p.Ruleset.Family.String(), Files: append([]string{}, p.Files...)}
		if err := analyzeGap(ctx, rs, d, opts.Analyzer, p); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// analyze runs the analyses, and side, which builds the documents of the
// rules: beside them on two CPUs or more, else first.
func analyze(ctx context.Context, rs *parser.Ruleset, d *Document, an Analyzer, cpus int, side func()) error {
	a := &d.Analysis
	a.Computed = map[string]bool{}
	a.Incomplete = []Incomplete{}
	names := []string{AnalysisReachability, AnalysisRedundancy, AnalysisExposure, AnalysisEstablished, AnalysisOutbound}
	if an == nil || cpus < 2 {
		side()
	}
	if an == nil {
		for _, n := range names {
			a.Computed[n] = false
			a.Incomplete = append(a.Incomplete, Incomplete{Analysis: n, Reason: "not computed"})
		}
		return nil
	}
	// The rule analyses (reachability, then redundancy, from one walk)
	// and the path analyses (exposure, established) share nothing but
	// the ruleset, which they only read: with two CPUs they run side by
	// side, and the documents of the rules are built after the path
	// analyses, which end first on large rulesets (a third goroutine
	// would take turns with the rule analyses, the longest of the
	// three). Their errors and incomplete parts are taken in the order
	// above either way.
	var reach, red, exp, est, outb []Incomplete
	var reachErr, redErr, expErr, estErr, outErr error
	rules := func() {
		if a.Reachability, reach, reachErr = an.Reachability(ctx, rs); reachErr == nil {
			a.Redundant, red, redErr = an.Redundancy(ctx, rs)
		}
	}
	outbound := dropsWithoutIface(rs)
	paths := func() {
		if a.Exposure, a.Diverted, exp, expErr = an.Exposure(ctx, rs, d.Host); expErr == nil {
			if a.Established, est, estErr = an.Established(ctx, rs, d.Host); estErr == nil && outbound {
				a.Outbound, outb, outErr = an.Outbound(ctx, rs, d.Host)
			}
		}
	}
	if cpus >= 2 {
		var wg sync.WaitGroup
		wg.Go(rules)
		paths()
		side()
		wg.Wait()
	} else {
		rules()
		paths()
	}
	for _, e := range []struct {
		name string
		err  error
	}{{"reachability", reachErr}, {"redundancy", redErr}, {"exposure", expErr}, {"established", estErr}, {"outbound", outErr}} {
		if e.err != nil {
			return fmt.Errorf("%s analysis: %w", e.name, e.err)
		}
	}
	for _, inc := range [][]Incomplete{reach, red, exp, est, outb} {
		a.Incomplete = append(a.Incomplete, inc...)
	}
	for _, n := range names {
		a.Computed[n] = true
	}
	// Without a rule it is for, the outbound analysis did not run
	// (dropsWithoutIface): not computed, though nothing stopped it short.
	a.Computed[AnalysisOutbound] = outbound
	if a.Reachability == nil {
		a.Reachability = []Reach{}
	}
	if a.Redundant == nil {
		a.Redundant = []Redundant{}
	}
	if a.Exposure == nil {
		a.Exposure = []Exposure{}
	}
	if a.Diverted == nil {
		a.Diverted = []Diverted{}
	}
	if a.Established == nil {
		a.Established = []Established{}
	}
	if a.Outbound == nil {
		a.Outbound = []Outbound{}
	}
	return nil
}

// dropsWithoutIface reports whether the filter table has a DROP or REJECT
// without -i in DOCKER-USER or in a chain DOCKER-USER reaches through
// jumps none of which has a positive -i: the rules the outbound analysis
// is for (DFW205 asks whether containers' connections meet them). Without
// one it is not run: on a kube-proxy host, whose DOCKER-USER drops
// nothing, the containers' connections through its nat table took as long
// to follow as the exposure analysis.
func dropsWithoutIface(rs *parser.Ruleset) bool {
	t := rs.Table("filter")
	if t == nil {
		return false
	}
	seen := map[*parser.Chain]bool{}
	var walk func(c *parser.Chain) bool
	walk = func(c *parser.Chain) bool {
		if c == nil || seen[c] {
			return false
		}
		seen[c] = true
		for _, r := range c.Rules {
			tg := r.Target
			if tg == nil || r.In != nil && !r.In.Neg {
				continue
			}
			switch {
			case tg.Kind == parser.TargetChain:
				if walk(t.Chains[tg.Name]) {
					return true
				}
			case r.In == nil && (tg.Name == "DROP" || tg.Name == "REJECT"):
				return true
			}
		}
		return false
	}
	return walk(t.Chains["DOCKER-USER"])
}

// positions has each rule fact name its rule by position too, so that a
// policy reads the rule without looking it up by id.
func positions(d *Document) {
	a := &d.Analysis
	if len(a.Reachability) == 0 && len(a.Redundant) == 0 {
		return
	}
	pos := make(map[string]int, d.NumRules())
	for i := range d.NumRules() {
		pos[d.RuleID(i)] = i
	}
	for i := range a.Reachability {
		a.Reachability[i].Position = pos[a.Reachability[i].Rule]
	}
	for i := range a.Redundant {
		a.Redundant[i].Position = pos[a.Redundant[i].Rule]
	}
}

// analyzeGap compares rs with the other family's ruleset.
func analyzeGap(ctx context.Context, rs *parser.Ruleset, d *Document, an Analyzer, p *PeerRuleset) error {
	a := &d.Analysis
	ga, ok := an.(FamilyGapAnalyzer)
	if !ok {
		a.Computed[AnalysisFamilyGap] = false
		a.Incomplete = append(a.Incomplete, Incomplete{Analysis: AnalysisFamilyGap, Reason: "not computed"})
		return nil
	}
	rows, inc, err := ga.FamilyGap(ctx, rs, p.Ruleset, p.Files, d.Host)
	if err != nil {
		return fmt.Errorf("family gap analysis: %w", err)
	}
	a.Incomplete = append(a.Incomplete, inc...)
	a.Computed[AnalysisFamilyGap] = true
	a.FamilyGap = rows
	if a.FamilyGap == nil {
		a.FamilyGap = []FamilyGap{}
	}
	return nil
}

func numChains(rs *parser.Ruleset) int {
	n := 0
	for _, t := range rs.Tables {
		n += len(t.Chains)
	}
	return n
}

func ruleID(table, chain string, index int) string {
	return table + "/" + chain + "/" + strconv.Itoa(index)
}

func loc(p parser.Pos) Loc {
	col := p.Col
	if col == 0 && p.Line > 0 {
		col = 1
	}
	return Loc{File: p.File, Line: p.Line, Column: col}
}

func hookNames(h parser.Hook) []string {
	out := []string{}
	if h != 0 {
		out = append(out, strings.Split(h.String(), ",")...)
	}
	return out
}

type builder struct {
	d  *Document
	rs *parser.Ruleset
}

func (b *builder) rule(r *parser.Rule, index int, hooks []string) Rule {
	out := Rule{
		Loc: loc(r.Pos), ID: ruleID(r.Table, r.Chain, index), Table: r.Table, Chain: r.Chain, Index: index,
		Text: r.String(), Source: r.Line, Hooks: hooks, LoadBalancing: b.d.lb[r],
		Matches: []Match{}, Dports: []Ports{}, Ctorigdstport: []Ports{}, Ctstate: []States{},
	}
	if r.Src != nil {
		out.Src = addr(r.Src.Neg, r.Src.Addr, r.Src.Mask, r.Src.Pos)
	}
	if r.Dst != nil {
		out.Dst = addr(r.Dst.Neg, r.Dst.Addr, r.Dst.Mask, r.Dst.Pos)
	}
	if r.In != nil {
		out.In = &Iface{Neg: r.In.Neg, Name: r.In.Name, Wildcard: r.In.Wildcard, Column: r.In.Pos.Col}
	}
	if r.Out != nil {
		out.Out = &Iface{Neg: r.Out.Neg, Name: r.Out.Name, Wildcard: r.Out.Wildcard, Column: r.Out.Pos.Col}
	}
	if r.Proto != nil {
		out.Proto = &Proto{Neg: r.Proto.Neg, Name: ProtoName(r.Proto.Num), Num: int(r.Proto.Num), Column: r.Proto.Pos.Col}
	}
	var comments []string
	for _, m := range r.Matches {
		mm := Match{Name: m.Name, Implicit: m.Implicit, Column: m.Pos.Col, Options: options(m.Options), MayMatch: m.MayMatch()}
		switch s := m.Spec.(type) {
		case *parser.UnknownMatch:
			mm.Unknown = true
		case *parser.TCPMatch:
			mm.Dports, mm.Sports = ports(s.Dport), ports(s.Sport)
		case *parser.UDPMatch:
			mm.Dports, mm.Sports = ports(s.Dport), ports(s.Sport)
		case *parser.SCTPMatch:
			mm.Dports, mm.Sports = ports(s.Dport), ports(s.Sport)
		case *parser.MultiportMatch:
			mm.Dports, mm.Sports, mm.Ports = ports(s.Dst), ports(s.Src), ports(s.Any)
		case *parser.ConntrackMatch:
			mm.Ctstate = states(s.State)
			mm.Ctorigdstport, mm.Ctorigsrcport = ports(s.OrigDstPort), ports(s.OrigSrcPort)
			if s.OrigDst != nil {
				mm.Ctorigdst = addr(s.OrigDst.Neg, s.OrigDst.Addr, s.OrigDst.Mask, s.OrigDst.Pos)
			}
			if s.OrigSrc != nil {
				mm.Ctorigsrc = addr(s.OrigSrc.Neg, s.OrigSrc.Addr, s.OrigSrc.Mask, s.OrigSrc.Pos)
			}
		case *parser.StateMatch:
			mm.Ctstate = states(s.State)
		case *parser.AddrtypeMatch:
			mm.SrcType, mm.DstType = addrTypes(s.Src), addrTypes(s.Dst)
		case *parser.ICMPMatch:
			mm.ICMP = &ICMP{Neg: s.Neg, Any: s.Any, Type: int(s.Type), Code: [2]int{int(s.Code.Lo), int(s.Code.Hi)}, Column: s.Pos.Col}
		case *parser.CommentMatch:
			t := s.Text
			mm.Comment = &t
			comments = append(comments, t)
		case *parser.SetMatch:
			mm.Set = s.Name
		}
		out.MayMatch = out.MayMatch || mm.MayMatch
		if mm.Dports != nil {
			out.Dports = append(out.Dports, *mm.Dports)
		}
		if mm.Ctorigdstport != nil {
			out.Ctorigdstport = append(out.Ctorigdstport, *mm.Ctorigdstport)
		}
		if mm.Ctstate != nil {
			out.Ctstate = append(out.Ctstate, *mm.Ctstate)
		}
		out.Matches = append(out.Matches, mm)
	}
	out.Comment = strings.Join(comments, "\n")
	if tg := r.Target; tg != nil {
		t := &Target{Name: tg.Name, Goto: tg.Goto, Terminal: tg.Terminal(), Column: tg.Pos.Col, Options: options(tg.Options)}
		switch tg.Kind {
		case parser.TargetVerdict:
			t.Kind = "verdict"
		case parser.TargetChain:
			t.Kind = "chain"
		default:
			t.Kind = "extension"
		}
		switch s := tg.Spec.(type) {
		case *parser.NATTarget:
			for _, nr := range s.Ranges {
				n := NATTo{PortLo: int(nr.MinPort), PortHi: int(nr.MaxPort)}
				if nr.Shift {
					base := int(nr.BasePort)
					n.PortBase = &base
				}
				if nr.MinAddr.IsValid() {
					n.AddrLo = nr.MinAddr.String()
				}
				if nr.MaxAddr.IsValid() {
					n.AddrHi = nr.MaxAddr.String()
				}
				t.NAT = append(t.NAT, n)
			}
		case *parser.RejectTarget:
			t.RejectWith = s.With
		}
		t.Unknown = targetUnknown(r)
		out.Target = t
	}
	return out
}

// portConditions reports whether a rule's Dports and Ctorigdstport (see
// rule) are not empty.
func portConditions(r *parser.Rule) (dports, ctorigdstport bool) {
	for _, m := range r.Matches {
		switch s := m.Spec.(type) {
		case *parser.TCPMatch:
			dports = dports || s.Dport != nil
		case *parser.UDPMatch:
			dports = dports || s.Dport != nil
		case *parser.SCTPMatch:
			dports = dports || s.Dport != nil
		case *parser.MultiportMatch:
			dports = dports || s.Dst != nil
		case *parser.ConntrackMatch:
			ctorigdstport = ctorigdstport || s.OrigDstPort != nil
		}
	}
	return dports, ctorigdstport
}

// mayMatch is a rule's may_match: one of its matches may match.
func mayMatch(r *parser.Rule) bool {
	for _, m := range r.Matches {
		if m.MayMatch() {
			return true
		}
	}
	return false
}

// targetUnknown is a rule's target.unknown: dfw does not know its target.
func targetUnknown(r *parser.Rule) bool {
	if r.Target == nil {
		return false
	}
	_, ok := r.Target.Spec.(*parser.UnknownTarget)
	return ok
}

func options(opts []parser.Option) []Option {
	out := []Option{}
	for _, o := range opts {
		args := o.Args
		if args == nil {
			args = []string{}
		}
		out = append(out, Option{Name: o.Name, Neg: o.Neg, Args: args, Column: o.Pos.Col})
	}
	return out
}

func ports(s *parser.PortSet) *Ports {
	if s == nil {
		return nil
	}
	p := &Ports{Neg: s.Neg, Ranges: [][2]int{}, Column: s.Pos.Col}
	for _, r := range s.Ranges {
		p.Ranges = append(p.Ranges, [2]int{int(r.Lo), int(r.Hi)})
	}
	return p
}

var stateNames = []struct {
	bit  parser.CTState
	name string
}{
	{parser.CTInvalid, "INVALID"}, {parser.CTNew, "NEW"}, {parser.CTEstablished, "ESTABLISHED"},
	{parser.CTRelated, "RELATED"}, {parser.CTUntracked, "UNTRACKED"}, {parser.CTSNAT, "SNAT"}, {parser.CTDNAT, "DNAT"},
}

func states(s *parser.StateSet) *States {
	if s == nil {
		return nil
	}
	out := &States{Neg: s.Neg, States: []string{}, Column: s.Pos.Col}
	for _, n := range stateNames {
		if s.Mask&n.bit != 0 {
			out.States = append(out.States, n.name)
		}
	}
	return out
}

var addrTypeNames = []struct {
	bit  parser.AddrType
	name string
}{
	{parser.ATUnspec, "UNSPEC"}, {parser.ATUnicast, "UNICAST"}, {parser.ATLocal, "LOCAL"},
	{parser.ATBroadcast, "BROADCAST"}, {parser.ATAnycast, "ANYCAST"}, {parser.ATMulticast, "MULTICAST"},
	{parser.ATBlackhole, "BLACKHOLE"}, {parser.ATUnreachable, "UNREACHABLE"}, {parser.ATProhibit, "PROHIBIT"},
	{parser.ATThrow, "THROW"}, {parser.ATNAT, "NAT"}, {parser.ATXResolve, "XRESOLVE"},
}

func addrTypes(s *parser.AddrTypeSet) *AddrTypes {
	if s == nil {
		return nil
	}
	out := &AddrTypes{Neg: s.Neg, Types: []string{}, Column: s.Pos.Col}
	for _, n := range addrTypeNames {
		if s.Mask&n.bit != 0 {
			out.Types = append(out.Types, n.name)
		}
	}
	return out
}

func addr(neg bool, a, mask netip.Addr, pos parser.Pos) *Addr {
	out := &Addr{Neg: neg, Addr: a.String(), Bits: -1, Column: pos.Col}
	if bits, ok := maskBits(mask); ok {
		out.Bits = bits
		out.CIDR = netip.PrefixFrom(a, bits).String()
	} else {
		out.CIDR = a.String() + "/" + mask.String()
	}
	return out
}

func maskBits(mask netip.Addr) (int, bool) {
	if !mask.IsValid() {
		return 0, false
	}
	b := mask.AsSlice()
	n, ended := 0, false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				if ended {
					return 0, false
				}
				n++
			} else {
				ended = true
			}
		}
	}
	return n, true
}

// ProtoName is the canonical name of an IP protocol number.
func ProtoName(n uint8) string {
	switch n {
	case 0:
		return "all"
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "ipv6-icmp"
	case 132:
		return "sctp"
	case 136:
		return "udplite"
	}
	return strconv.Itoa(int(n))
}

// dockerFacts detects Docker's layout, bridges and published ports.
func dockerFacts(rs *parser.Ruleset) Docker {
	dk := Docker{Layout: "none", Bridges: []Bridge{}, Published: []Published{}, Chains: []string{}}
	for _, t := range rs.SortedTables() { // in the order of Document.Chains
		for _, c := range t.SortedChains() {
			if IsDockerChain(t.Name, c.Name) {
				dk.Chains = append(dk.Chains, t.Name+"/"+c.Name)
			}
		}
	}
	filter := rs.Table("filter")
	has := func(t, c string) bool { return rs.Chain(t, c) != nil }
	switch {
	case has("filter", "DOCKER-FORWARD"):
		dk.Layout = "28"
	case has("filter", "DOCKER-ISOLATION-STAGE-1") && has("filter", "DOCKER"):
		dk.Layout = "20.10"
	case len(dk.Chains) > 0 || has("filter", "DOCKER-USER"):
		dk.Layout = "unknown"
	}
	bridges := map[string]*Bridge{}
	var order []string
	bridge := func(name string) *Bridge {
		if b := bridges[name]; b != nil {
			return b
		}
		b := &Bridge{Name: name, Subnets: []string{}}
		bridges[name] = b
		order = append(order, name)
		return b
	}
	// Bridges: filter "-o BR -j DOCKER" (FORWARD in 20.10, DOCKER-BRIDGE in
	// 28), nat DOCKER "-i BR -j RETURN", and the subnets of nat
	// POSTROUTING "-s SUBNET ! -o BR -j MASQUERADE".
	if filter != nil {
		for _, c := range filter.Order {
			if c.Name != "FORWARD" && c.Name != "DOCKER-BRIDGE" {
				continue
			}
			for _, r := range c.Rules {
				if r.Target != nil && r.Target.Name == "DOCKER" && r.Out != nil && !r.Out.Neg && !r.Out.Wildcard {
					bridge(r.Out.Name)
				}
			}
		}
	}
	if c := rs.Chain("nat", "DOCKER"); c != nil {
		for _, r := range c.Rules {
			if r.Target != nil && r.Target.Name == "RETURN" && r.In != nil && !r.In.Neg && !r.In.Wildcard {
				bridge(r.In.Name)
			}
		}
	}
	if c := rs.Chain("nat", "POSTROUTING"); c != nil && dk.Layout != "none" {
		for _, r := range c.Rules {
			if r.Target == nil || r.Target.Name != "MASQUERADE" || r.Src == nil || r.Src.Neg || r.Out == nil || !r.Out.Neg || r.Dst != nil {
				continue
			}
			if b := bridges[r.Out.Name]; b != nil {
				a := addr(false, r.Src.Addr, r.Src.Mask, r.Src.Pos)
				b.Subnets = append(b.Subnets, a.CIDR)
			}
		}
	}
	for _, n := range order {
		dk.Bridges = append(dk.Bridges, *bridges[n])
	}
	// Published ports: DNAT rules of nat DOCKER, reached from PREROUTING.
	if t := rs.Table("nat"); t != nil {
		if c := t.Chains["DOCKER"]; c != nil {
			for i, r := range c.Rules {
				if p, ok := published(r); ok {
					p.DNAT = Ref{Loc: loc(r.Pos), Table: "nat", Chain: "DOCKER", Index: i + 1, ID: ruleID("nat", "DOCKER", i+1)}
					dk.Published = append(dk.Published, p)
				}
			}
		}
	}
	return dk
}

func published(r *parser.Rule) (Published, bool) {
	var p Published
	tg := r.Target
	if tg == nil || tg.Name != "DNAT" || r.Proto == nil || r.Proto.Neg {
		return p, false
	}
	s, ok := tg.Spec.(*parser.NATTarget)
	if !ok || len(s.Ranges) != 1 || !s.Ranges[0].MinAddr.IsValid() {
		return p, false
	}
	var dport *parser.PortSet
	for _, m := range r.Matches {
		switch ms := m.Spec.(type) {
		case *parser.TCPMatch:
			dport = ms.Dport
		case *parser.UDPMatch:
			dport = ms.Dport
		case *parser.SCTPMatch:
			dport = ms.Dport
		}
	}
	if dport == nil || dport.Neg || len(dport.Ranges) != 1 {
		return p, false
	}
	nr := s.Ranges[0]
	p.Proto = ProtoName(r.Proto.Num)
	p.HostPort, p.HostPortHi = int(dport.Ranges[0].Lo), int(dport.Ranges[0].Hi)
	if r.Dst != nil && !r.Dst.Neg {
		if bits, ok := maskBits(r.Dst.Mask); ok && bits == r.Dst.Addr.BitLen() {
			p.HostAddr = r.Dst.Addr.String()
		}
	}
	p.ContainerAddr = nr.MinAddr.String()
	p.ContainerPort, p.ContainerPortHi = int(nr.MinPort), int(nr.MaxPort)
	if nr.Shift && nr.MaxPort > nr.MinPort {
		// The host ports map to the container's by their offset from the
		// base: the first and last host ports give the ends, when the
		// mapping does not wrap between them.
		lo := nr.OffsetPort(uint16(p.HostPort))
		hi := nr.OffsetPort(uint16(p.HostPortHi))
		if int(hi)-int(lo) == p.HostPortHi-p.HostPort {
			p.ContainerPort, p.ContainerPortHi = int(lo), int(hi)
		}
	}
	if p.ContainerPort == 0 {
		p.ContainerPort, p.ContainerPortHi = p.HostPort, p.HostPortHi
	}
	if p.ContainerPortHi == 0 {
		p.ContainerPortHi = p.ContainerPort
	}
	if r.In != nil && r.In.Neg {
		p.Bridge = r.In.Name
	}
	return p, true
}

// hostFacts infers the external interfaces.
func hostFacts(rs *parser.Ruleset, dk Docker, override []string) Host {
	h := Host{ExternalInterfaces: []string{}, Source: "inferred", Bridges: []string{}}
	isBridge := map[string]bool{}
	for _, b := range dk.Bridges {
		isBridge[b.Name] = true
	}
	seen := map[string]bool{}
	add := func(m *parser.IfaceMatch) {
		if m == nil {
			return
		}
		name := m.Name
		if m.Wildcard {
			name += "+"
		}
		if seen[name] {
			return
		}
		seen[name] = true
		switch {
		case isBridge[m.Name] || IsBridgeName(m.Name):
			h.Bridges = append(h.Bridges, name)
		case !IsInternalName(m.Name):
			h.ExternalInterfaces = append(h.ExternalInterfaces, name)
		}
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				add(r.In)
				add(r.Out)
			}
		}
	}
	sort.Strings(h.ExternalInterfaces)
	sort.Strings(h.Bridges)
	if len(override) > 0 {
		h.ExternalInterfaces = append([]string{}, override...)
		h.Source = "config"
	}
	return h
}

// IsBridgeName reports whether name is a Docker bridge by its name.
func IsBridgeName(name string) bool {
	return name == "docker0" || strings.HasPrefix(name, "br-") || name == "docker_gwbridge"
}

// IsInternalName reports whether an interface name is loopback, a bridge, a
// veth or a tunnel: never an external interface by inference.
func IsInternalName(name string) bool {
	if name == "lo" || name == "" || IsBridgeName(name) {
		return true
	}
	for _, p := range []string{"veth", "tun", "tap", "wg", "tailscale", "zt", "vxlan", "flannel", "cni", "cali", "weave", "virbr", "lxc", "lxdbr", "kube-", "cilium", "gre", "ipip", "sit", "ip6tnl", "nebula", "vti"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
