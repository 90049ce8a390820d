// Package facts builds the input document of dfwlint's Rego policies: the
// rules with their positions, the chain graph, Docker's layout and published
// ports, the host's external interfaces, and the facts of the exact analyses
// (reachability, redundancy, exposure) when an Analyzer provides them.
//
// The document is versioned (Version) and described by the JSON Schema
// policies/input.schema.json. Facts that no analysis computed are absent and
// listed in Analysis.Incomplete, so that a check that needs them stays silent
// instead of guessing.
//
// Indexes are 1-based (rule index in its chain, as iptables-save lists it;
// line and column in the file).
package facts

import "github.com/dfw-project/dfw/parser"

// Version is the version of the input document. It changes when a field
// changes meaning or disappears; new fields do not change it.
const Version = 1

// Document is the input document of the policies.
type Document struct {
	Version int    `json:"version"`
	Family  string `json:"family"` // "ipv4" or "ipv6"
	Files   []File `json:"files"`
	// Commands are the restore commands of every file, in file order: what
	// a file declares, flushes or deletes.
	Commands []Command `json:"commands"`
	Tables   []Table   `json:"tables"`
	Chains   []Chain   `json:"chains"`
	Rules    []Rule    `json:"rules"`
	Docker   Docker    `json:"docker"`
	Host     Host      `json:"host"`
	Config   Config    `json:"config"`
	Analysis Analysis  `json:"analysis"`
	// Peer is set when the ruleset is checked with the other family's
	// ruleset of the same host.
	Peer *Peer `json:"peer,omitempty"`

	// onDemand holds the rules Rule builds when asked, in the order of
	// Rules, when Build left Rules empty (Options.RulesOnDemand).
	onDemand []pendingRule
	b        *builder
	// lb holds the rules of load-balancing groups (loadBalancing).
	lb    map[*parser.Rule]bool
	lbIDs map[string]bool
}

// pendingRule is what a rule of the document is built from.
type pendingRule struct {
	r           *parser.Rule
	id          string
	index       int
	hooks       []string
	lineComment string
}

// NumRules is the number of rules of the document: len(Rules), or the
// number of rules Rule builds on demand.
func (d *Document) NumRules() int {
	if d.onDemand != nil {
		return len(d.onDemand)
	}
	return len(d.Rules)
}

// Rule is the rule at position i (0 <= i < NumRules): Rules[i], or the
// same rule built now.
func (d *Document) Rule(i int) Rule {
	if d.onDemand == nil {
		return d.Rules[i]
	}
	p := &d.onDemand[i]
	r := d.b.rule(p.r, p.index, p.hooks)
	r.LineComment = p.lineComment
	return r
}

// RuleID is Rule(i).ID, without building the rule.
func (d *Document) RuleID(i int) string {
	if d.onDemand == nil {
		return d.Rules[i].ID
	}
	return d.onDemand[i].id
}

// RuleMayMatch is Rule(i).MayMatch, without building the rule.
func (d *Document) RuleMayMatch(i int) bool {
	if d.onDemand == nil {
		return d.Rules[i].MayMatch
	}
	return mayMatch(d.onDemand[i].r)
}

// RuleDecidingMayMatch is Rule(i).MayMatch && !Rule(i).LoadBalancing,
// without building the rule: a may-match rule whose outcome changes more
// than which rule of a load-balancing group a packet takes.
func (d *Document) RuleDecidingMayMatch(i int) bool {
	if d.onDemand == nil {
		return d.Rules[i].MayMatch && !d.Rules[i].LoadBalancing
	}
	r := d.onDemand[i].r
	return mayMatch(r) && !d.lb[r]
}

// RuleSelect is what the selections of a table's rules ask of Rule(i),
// without building the rule: whether it has a destination port condition
// (Dports not empty), a --ctorigdstport one (Ctorigdstport not empty), an
// ACCEPT target, a target that is a user chain (a jump or goto).
func (d *Document) RuleSelect(i int) (dports, ctorigdstport, accept, chain bool) {
	if d.onDemand == nil {
		r := &d.Rules[i]
		t := r.Target
		return len(r.Dports) > 0, len(r.Ctorigdstport) > 0, t != nil && t.Name == "ACCEPT", t != nil && t.Kind == "chain"
	}
	r := d.onDemand[i].r
	dports, ctorigdstport = portConditions(r)
	t := r.Target
	return dports, ctorigdstport, t != nil && t.Name == "ACCEPT", t != nil && t.Kind == parser.TargetChain
}

// RuleTargetUnknown is Rule(i).Target.Unknown (false without a target),
// without building the rule.
func (d *Document) RuleTargetUnknown(i int) bool {
	if d.onDemand == nil {
		return d.Rules[i].Target != nil && d.Rules[i].Target.Unknown
	}
	return targetUnknown(d.onDemand[i].r)
}

// File is one input file.
type File struct {
	Name  string `json:"name"`
	Index int    `json:"index"` // 0-based order of application
	// Base is set for a --base file: its rules are facts, but no finding
	// points into it.
	Base bool `json:"base"`
	// Noflush is set when the file is applied as iptables-restore
	// --noflush applies it (every file after the first).
	Noflush bool `json:"noflush"`
}

// Loc is a position: file, 1-based line and column.
type Loc struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Command is one restore command (a ":CHAIN" line, -N, -F, -X, -P, -E, -A…).
type Command struct {
	Loc
	FileIndex int `json:"file_index"`
	// Op is one of table, commit, chain, append, insert, delete, replace,
	// new-chain, delete-chain, flush, zero, policy, rename, check.
	Op      string `json:"op"`
	Table   string `json:"table"`
	Chain   string `json:"chain"` // "" for -F, -X, -Z of the whole table
	Policy  string `json:"policy,omitempty"`
	NewName string `json:"new_name,omitempty"`
	Noflush bool   `json:"noflush"`
	Comment string `json:"comment,omitempty"`
	Text    string `json:"text"`
}

// Table is one table present in the ruleset.
type Table struct {
	Name string `json:"name"`
	Loc
	// Rules is the number of rules of the table; they are
	// Document.Rules[FirstRule:FirstRule+Rules] (the rules are listed
	// table by table, chain by chain), so that a policy can read one
	// table's rules without going over the others.
	Rules     int `json:"rules"`
	FirstRule int `json:"first_rule"`
}

// Ref is a rule that jumps or goes to a chain.
type Ref struct {
	Loc
	Table string `json:"table"`
	Chain string `json:"chain"`
	Index int    `json:"rule"`
	ID    string `json:"id"`
	Goto  bool   `json:"goto"`
}

// Chain is a built-in or user chain.
type Chain struct {
	Loc
	ID      string `json:"id"` // "table/CHAIN"
	Table   string `json:"table"`
	Name    string `json:"name"`
	Builtin bool   `json:"builtin"`
	Policy  string `json:"policy,omitempty"`
	// PolicyLoc is the last ":CHAIN POLICY" or "-P" line that set the
	// policy (absent when no file set it).
	PolicyLoc     *Loc   `json:"policy_loc,omitempty"`
	Comment       string `json:"comment,omitempty"`
	PolicyComment string `json:"policy_comment,omitempty"`
	Rules         int    `json:"rules"`
	// FirstRule is the position of the chain's first rule in
	// Document.Rules (0-based): its rules are the Rules that follow.
	FirstRule    int   `json:"first_rule"`
	ReferencedBy []Ref `json:"referenced_by"`
	// Hooks are the hooks the chain is reached from through jumps and
	// gotos (PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING).
	Hooks []string `json:"hooks"`
	// DockerOwned is set for a chain Docker creates and rewrites.
	DockerOwned bool `json:"docker_owned"`
}

// Ports is a negatable list of inclusive port ranges [lo, hi].
type Ports struct {
	Neg    bool     `json:"neg"`
	Ranges [][2]int `json:"ranges"`
	Column int      `json:"column"`
}

// Addr is a negatable -s/-d (or --ctorigdst) address with its mask.
type Addr struct {
	Neg bool `json:"neg"`
	// CIDR is "a.b.c.d/len", or "addr/mask" for a non-contiguous mask.
	CIDR   string `json:"cidr"`
	Addr   string `json:"addr"`
	Bits   int    `json:"bits"` // -1 for a non-contiguous mask
	Column int    `json:"column"`
}

// Iface is a negatable -i/-o; Wildcard for a trailing '+'.
type Iface struct {
	Neg      bool   `json:"neg"`
	Name     string `json:"name"`
	Wildcard bool   `json:"wildcard"`
	Column   int    `json:"column"`
}

// Proto is a negatable -p.
type Proto struct {
	Neg    bool   `json:"neg"`
	Name   string `json:"name"` // canonical: tcp, udp, icmp, ipv6-icmp, sctp, udplite, all, or the number
	Num    int    `json:"num"`
	Column int    `json:"column"`
}

// States is a negatable set of conntrack states (INVALID, NEW,
// ESTABLISHED, RELATED, UNTRACKED, SNAT, DNAT).
type States struct {
	Neg    bool     `json:"neg"`
	States []string `json:"states"`
	Column int      `json:"column"`
}

// AddrTypes is -m addrtype's --src-type or --dst-type: address types
// (UNSPEC, UNICAST, LOCAL, BROADCAST, ANYCAST, MULTICAST, BLACKHOLE,
// UNREACHABLE, PROHIBIT, THROW, NAT, XRESOLVE), in that order.
type AddrTypes struct {
	Neg    bool     `json:"neg"`
	Types  []string `json:"types"`
	Column int      `json:"column"`
}

// ICMP is -m icmp / icmp6.
type ICMP struct {
	Neg    bool   `json:"neg"`
	Any    bool   `json:"any"`
	Type   int    `json:"type"`
	Code   [2]int `json:"code"`
	Column int    `json:"column"`
}

// Option is one option of a match or target as written.
type Option struct {
	Name   string   `json:"name"`
	Neg    bool     `json:"neg"`
	Args   []string `json:"args"`
	Column int      `json:"column"`
}

// Match is one -m module. The typed essentials are filled for the modules
// that have them.
type Match struct {
	Name     string   `json:"name"`
	Implicit bool     `json:"implicit"`
	Column   int      `json:"column"`
	Options  []Option `json:"options"`
	// MayMatch is set when the outcome cannot be known offline (set,
	// limit, recent, statistic, time, an unknown module…).
	MayMatch bool `json:"may_match"`
	// Unknown is set for a module dfw does not know.
	Unknown bool `json:"unknown"`

	Dports        *Ports  `json:"dports,omitempty"`
	Sports        *Ports  `json:"sports,omitempty"`
	Ports         *Ports  `json:"ports,omitempty"` // multiport --ports
	Ctorigdstport *Ports  `json:"ctorigdstport,omitempty"`
	Ctorigsrcport *Ports  `json:"ctorigsrcport,omitempty"`
	Ctorigdst     *Addr   `json:"ctorigdst,omitempty"`
	Ctorigsrc     *Addr   `json:"ctorigsrc,omitempty"`
	Ctstate       *States `json:"ctstate,omitempty"`
	// SrcType and DstType are -m addrtype's --src-type and --dst-type.
	SrcType *AddrTypes `json:"src_type,omitempty"`
	DstType *AddrTypes `json:"dst_type,omitempty"`
	ICMP    *ICMP      `json:"icmp,omitempty"`
	Comment *string    `json:"comment,omitempty"`
	Set     string     `json:"set,omitempty"`
}

// NATTo is one --to-destination/--to-source range.
type NATTo struct {
	AddrLo string `json:"addr_lo,omitempty"`
	AddrHi string `json:"addr_hi,omitempty"`
	PortLo int    `json:"port_lo,omitempty"`
	PortHi int    `json:"port_hi,omitempty"`
	// PortBase is set for a port offset (PORT-PORT/BASE): port P maps to
	// port_lo + (P - port_base) mod 65536 mod the range's size. It is
	// the base the kernel holds: 0 for SNAT and MASQUERADE, whose base
	// iptables drops.
	PortBase *int `json:"port_base,omitempty"`
}

// Target is what a rule does.
type Target struct {
	Name string `json:"name"`
	// Kind is verdict (ACCEPT, DROP, RETURN, QUEUE), chain (a jump or goto
	// to a user chain) or extension.
	Kind       string   `json:"kind"`
	Goto       bool     `json:"goto"`
	Terminal   bool     `json:"terminal"`
	Column     int      `json:"column"`
	Options    []Option `json:"options"`
	NAT        []NATTo  `json:"nat,omitempty"`
	RejectWith string   `json:"reject_with,omitempty"`
	Unknown    bool     `json:"unknown"`
}

// Rule is one rule of the final ruleset.
type Rule struct {
	Loc
	ID      string  `json:"id"` // "table/CHAIN/index"
	Table   string  `json:"table"`
	Chain   string  `json:"chain"`
	Index   int     `json:"index"`
	Text    string  `json:"text"`   // canonical, as iptables-save prints it
	Source  string  `json:"source"` // the line as written
	Src     *Addr   `json:"src,omitempty"`
	Dst     *Addr   `json:"dst,omitempty"`
	In      *Iface  `json:"in,omitempty"`
	Out     *Iface  `json:"out,omitempty"`
	Proto   *Proto  `json:"proto,omitempty"`
	Matches []Match `json:"matches"`
	Target  *Target `json:"target"`
	// MayMatch is set when one of the matches may match.
	MayMatch bool `json:"may_match"`
	// LoadBalancing is set for a rule of a load-balancing group: a run of
	// rules of its chain that match the same packets, all but the last
	// with a -m statistic match, and send them on to user chains or NAT
	// them (kube-proxy's KUBE-SVC chains). Every packet the group sees
	// takes one of its rules; which one is chance.
	LoadBalancing bool `json:"load_balancing"`
	// Comment joins the texts of the rule's -m comment matches; LineComment
	// is a "#" comment line just before the rule's line.
	Comment     string `json:"comment,omitempty"`
	LineComment string `json:"line_comment,omitempty"`
	// Hooks are the hooks the rule's chain is reached from.
	Hooks []string `json:"hooks"`
	// Rule-level essentials: each list holds every such condition of the
	// rule (all must hold), from any module (tcp, udp, sctp, multiport
	// --dports, conntrack, state).
	Dports        []Ports  `json:"dports"`
	Ctorigdstport []Ports  `json:"ctorigdstport"`
	Ctstate       []States `json:"ctstate"`
}
