package parser

import (
	"net/netip"
)

// Family is the address family of a ruleset.
type Family uint8

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// Tool is the command of the family's rules: iptables, or ip6tables for
// IPv6 (whose rules ip6tables-restore loads and ip6tables-save dumps).
func (f Family) Tool() string {
	if f == IPv6 {
		return "ip6tables"
	}
	return "iptables"
}

// Table names, in the order iptables-save prints them is not fixed; this is
// the order of their priority on a hook.
var TableNames = []string{"raw", "mangle", "nat", "filter", "security"}

// BuiltinChains lists each table's built-in chains in hook order.
var BuiltinChains = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

// IsBuiltin reports whether chain is a built-in chain of table.
func IsBuiltin(table, chain string) bool {
	for _, c := range BuiltinChains[table] {
		if c == chain {
			return true
		}
	}
	return false
}

// Counters are the packet and byte counters of a rule or a policy.
type Counters struct {
	Packets, Bytes uint64
}

// Ruleset is the in-memory state of one address family's tables, as the
// kernel would hold it after loading files.
type Ruleset struct {
	Family Family
	Tables map[string]*Table
	// Incomplete is set when a dump says that it lacks tables (the
	// "iptables-legacy tables present" warning of iptables-nft-save).
	Incomplete bool
	// Lean is set when the ruleset was loaded with Options.Lean and its
	// rules keep only part of what they say: WriteSave refuses it.
	Lean bool
}

// NewRuleset returns an empty ruleset.
func NewRuleset(f Family) *Ruleset {
	return &Ruleset{Family: f, Tables: map[string]*Table{}}
}

// Table returns the named table, or nil.
func (rs *Ruleset) Table(name string) *Table { return rs.Tables[name] }

// Chain returns the named chain of the named table, or nil.
func (rs *Ruleset) Chain(table, chain string) *Chain {
	if t := rs.Tables[table]; t != nil {
		return t.Chains[chain]
	}
	return nil
}

// SortedTables returns the tables present in canonical order (TableNames).
func (rs *Ruleset) SortedTables() []*Table {
	var out []*Table
	for _, n := range TableNames {
		if t := rs.Tables[n]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

// Interfaces returns the interfaces the rules name (-i, -o and physdev),
// in table, chain and rule order, with repetitions; a wildcard keeps its
// Wildcard flag.
func (rs *Ruleset) Interfaces() []*IfaceMatch {
	var out []*IfaceMatch
	add := func(m *IfaceMatch) {
		if m != nil {
			out = append(out, m)
		}
	}
	for _, t := range rs.SortedTables() {
		for _, c := range t.Order {
			for _, r := range c.Rules {
				add(r.In)
				add(r.Out)
				for _, m := range r.Matches {
					if p, ok := m.Spec.(*PhysdevMatch); ok {
						add(p.In)
						add(p.Out)
					}
				}
			}
		}
	}
	return out
}

// NumRules counts the rules of every table.
func (rs *Ruleset) NumRules() int {
	n := 0
	for _, t := range rs.Tables {
		n += t.NumRules()
	}
	return n
}

// Table is one netfilter table.
type Table struct {
	Name   string
	Chains map[string]*Chain
	// Order is the chains in the order they were declared (built-in chains
	// first, in hook order).
	Order []*Chain
	// Pos is the last "*table" line that opened the table.
	Pos Pos
}

// NumRules counts the table's rules.
func (t *Table) NumRules() int {
	n := 0
	for _, c := range t.Order {
		n += len(c.Rules)
	}
	return n
}

// Chain is a built-in or user-defined chain.
type Chain struct {
	Table   string
	Name    string
	Builtin bool
	// Policy is ACCEPT or DROP for a built-in chain, "" for a user chain.
	Policy   string
	Counters Counters
	Rules    []*Rule
	// Pos is where the chain was declared (":CHAIN" or "-N"); for a
	// built-in chain not declared in any file, the "*table" line.
	Pos Pos
	// PolicyPos is the last ":CHAIN POLICY" or "-P" line that set the policy.
	PolicyPos Pos
	// Comment holds a "# dfwlint:ignore …" style comment on the line just
	// before the declaration, if any.
	Comment string
	// PolicyComment is the same for the line just before PolicyPos.
	PolicyComment string

	idx int // index in Table.Order during a graph walk
}

// Rule is one rule. Its addressing options (-s, -d, -i, -o, -p, -f) are
// fields; every "-m" module and the target are typed where dfw knows them.
type Rule struct {
	Table string
	Chain string
	// Pos is the position of the command that added the rule (-A, -I, -R).
	Pos Pos
	// Line is the original text of the line, without line terminator.
	Line     string
	Counters *Counters

	Src, Dst   *AddrMatch
	In, Out    *IfaceMatch
	Proto      *ProtoMatch
	Fragment   *Flag // -f: second and further fragments
	Matches    []*Match
	Target     *Target // nil when the rule has no target
	SetCounter *Counters
}

// Flag is a negatable option without value.
type Flag struct {
	Neg bool
	Pos Pos
}

// AddrMatch is -s or -d: an address with a mask, which need not be
// contiguous (iptables accepts 10.0.0.0/255.0.255.0).
type AddrMatch struct {
	Neg  bool
	Addr netip.Addr
	Mask netip.Addr
	Pos  Pos
}

// IfaceMatch is -i or -o. Wildcard is set for a trailing '+', which then is
// not part of Name.
type IfaceMatch struct {
	Neg      bool
	Name     string
	Wildcard bool
	Pos      Pos
}

// ProtoMatch is -p. Num is the IP protocol number; 0 means "all".
type ProtoMatch struct {
	Neg  bool
	Num  uint8
	Name string // as written, lower case
	Pos  Pos
}

// Option is one command-line option as written, with its canonical
// (unabbreviated, long) name and its arguments.
type Option struct {
	Name string // canonical long name, without dashes
	Neg  bool
	Args []string
	Pos  Pos
}

// Match is one "-m NAME" module with its options. Spec holds the typed
// form; it is an *UnknownMatch for modules dfw does not know.
type Match struct {
	Name string
	// Implicit is set when the module was loaded by a protocol option
	// without "-m" (e.g. "-p tcp --dport 22").
	Implicit bool
	Pos      Pos
	Options  []Option
	Spec     MatchSpec
}

// MatchSpec is the typed content of a match.
type MatchSpec interface{ matchSpec() }

// Target is what a rule does when it matches: a standard verdict, a jump or
// goto to a user chain, or an extension target.
type Target struct {
	Name string
	Kind TargetKind
	// Goto is set for "-g".
	Goto    bool
	Pos     Pos
	Options []Option
	Spec    TargetSpec
	// Ref is the user chain a jump or goto enters, resolved when the rule
	// is applied to a ruleset (nil for other targets).
	Ref *Chain
}

// TargetKind classifies a target.
type TargetKind uint8

const (
	// TargetVerdict is ACCEPT, DROP, RETURN or QUEUE.
	TargetVerdict TargetKind = iota
	// TargetChain is a jump or goto to a user chain.
	TargetChain
	// TargetExtension is an extension target (REJECT, DNAT, LOG, …).
	TargetExtension
)

// Terminal reports whether a matching rule with this target ends the
// traversal of the current chain (a verdict, RETURN, or a terminal
// extension). Jumps to user chains are not terminal.
func (t *Target) Terminal() bool {
	if t == nil {
		return false
	}
	switch t.Kind {
	case TargetVerdict:
		return true
	case TargetChain:
		return false
	}
	if s, ok := t.Spec.(interface{ terminal() bool }); ok {
		return s.terminal()
	}
	return false
}

// TargetSpec is the typed content of an extension target.
type TargetSpec interface{ targetSpec() }

// Range is an inclusive range of small integers (ports, ICMP codes, lengths,
// TTLs).
type Range struct{ Lo, Hi uint32 }

// Contains reports whether v lies in r.
func (r Range) Contains(v uint32) bool { return v >= r.Lo && v <= r.Hi }

// PortSet is a negatable list of port ranges.
type PortSet struct {
	Neg    bool
	Ranges []Range
	Pos    Pos
}

// Contains reports whether port p lies in the set, honouring negation.
func (s *PortSet) Contains(p uint16) bool {
	in := false
	for _, r := range s.Ranges {
		if r.Contains(uint32(p)) {
			in = true
			break
		}
	}
	return in != s.Neg
}

// ---- typed matches ----

// TCPMatch is "-m tcp".
type TCPMatch struct {
	Sport, Dport *PortSet
	Flags        *TCPFlags
	Option       *NumMatch // --tcp-option
}

// TCPFlags is --tcp-flags MASK COMP (and --syn = SYN,RST,ACK,FIN SYN).
type TCPFlags struct {
	Neg        bool
	Mask, Comp uint8
	Pos        Pos
}

// TCP flag bits as in the TCP header.
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// UDPMatch is "-m udp" (also the ports of -m dccp).
type UDPMatch struct {
	Sport, Dport *PortSet
}

// SCTPMatch is "-m sctp"; chunk types are kept raw.
type SCTPMatch struct {
	Sport, Dport *PortSet
	Chunks       *Option
}

// MultiportMatch is "-m multiport": exactly one of Src, Dst, Any is set.
type MultiportMatch struct {
	Src, Dst, Any *PortSet
}

// NumMatch is a negatable number (or range) match.
type NumMatch struct {
	Neg   bool
	Range Range
	Pos   Pos
}

// ICMPMatch is "-m icmp" or "-m icmp6"/"icmpv6": a type, optionally a code
// range. Any matches every type ("any").
type ICMPMatch struct {
	V6   bool
	Neg  bool
	Any  bool
	Type uint8
	Code Range // 0-255 when no code was given
	Pos  Pos
}

// CTState bits for state and conntrack matches.
type CTState uint16

const (
	CTInvalid CTState = 1 << iota
	CTNew
	CTEstablished
	CTRelated
	CTUntracked
	CTSNAT
	CTDNAT
)

// StateSet is a negatable set of conntrack states.
type StateSet struct {
	Neg  bool
	Mask CTState
	Pos  Pos
}

// StateMatch is "-m state --state".
type StateMatch struct {
	State *StateSet
}

// CTStatus bits for --ctstatus.
type CTStatus uint8

const (
	CTStatusExpected CTStatus = 1 << iota
	CTStatusSeenReply
	CTStatusAssured
	CTStatusConfirmed
	CTStatusNone // "NONE": no status bit set
)

// AddrSel is a negatable address/mask, as in conntrack's --ctorigsrc.
type AddrSel struct {
	Neg  bool
	Addr netip.Addr
	Mask netip.Addr
	Pos  Pos
}

// ConntrackMatch is "-m conntrack".
type ConntrackMatch struct {
	State                                              *StateSet
	Proto                                              *ProtoMatch
	OrigSrc, OrigDst, ReplSrc, ReplDst                 *AddrSel
	OrigSrcPort, OrigDstPort, ReplSrcPort, ReplDstPort *PortSet
	Status                                             *StatusSet
	// Dir is "ORIGINAL" or "REPLY", "" when absent.
	Dir    string
	Expire *NumMatch
}

// StatusSet is a negatable set of conntrack status bits.
type StatusSet struct {
	Neg  bool
	Mask CTStatus
	Pos  Pos
}

// AddrType bits for "-m addrtype".
type AddrType uint16

const (
	ATUnspec AddrType = 1 << iota
	ATUnicast
	ATLocal
	ATBroadcast
	ATAnycast
	ATMulticast
	ATBlackhole
	ATUnreachable
	ATProhibit
	ATThrow
	ATNAT
	ATXResolve
)

// AddrTypeSet is a negatable set of address types.
type AddrTypeSet struct {
	Neg  bool
	Mask AddrType
	Pos  Pos
}

// AddrtypeMatch is "-m addrtype".
type AddrtypeMatch struct {
	Src, Dst                    *AddrTypeSet
	LimitIfaceIn, LimitIfaceOut bool
}

// IPRangeMatch is "-m iprange".
type IPRangeMatch struct {
	Src, Dst *AddrRange
}

// AddrRange is a negatable inclusive address range.
type AddrRange struct {
	Neg    bool
	Lo, Hi netip.Addr
	Pos    Pos
}

// MACMatch is "-m mac --mac-source".
type MACMatch struct {
	Neg bool
	MAC [6]byte
	Pos Pos
}

// MarkMatch is "-m mark" and "-m connmark": (value & mask) == Value.
type MarkMatch struct {
	Conn        bool
	Neg         bool
	Value, Mask uint32
	Pos         Pos
}

// CommentMatch is "-m comment". It always matches.
type CommentMatch struct {
	Text string
}

// PhysdevMatch is "-m physdev".
type PhysdevMatch struct {
	In, Out                *IfaceMatch
	IsIn, IsOut, IsBridged *Flag
}

// SetMatch is "-m set --match-set NAME FLAGS". Its outcome depends on the
// set's contents, which a dump does not hold.
type SetMatch struct {
	Neg   bool
	Name  string
	Flags []string // "src", "dst" per dimension
	Pos   Pos
}

// PkttypeMatch is "-m pkttype --pkt-type unicast|broadcast|multicast".
type PkttypeMatch struct {
	Neg  bool
	Type string
	Pos  Pos
}

// LengthMatch is "-m length --length".
type LengthMatch struct {
	Length NumMatch
}

// TTLMatch is "-m ttl" or "-m hl": Op is "eq", "lt" or "gt".
type TTLMatch struct {
	HL    bool
	Op    string
	Neg   bool
	Value uint8
	Pos   Pos
}

// TOSMatch is "-m tos" (value/mask) and "-m dscp" (DSCP value, or class).
type TOSMatch struct {
	DSCP        bool
	Neg         bool
	Value, Mask uint8
	Pos         Pos
}

// UnknownMatch is a module dfw does not know: its options are kept raw.
type UnknownMatch struct{}

// OpaqueMatch is a known module whose outcome cannot be decided from the
// rules and the packet alone (limit, hashlimit, recent, statistic, time,
// connlimit, string, u32, owner outside its context, quota, …). AlwaysTrue is
// set for modules that match every packet that reaches them (nfacct).
type OpaqueMatch struct {
	AlwaysTrue bool
}

// MayMatch reports whether a match's outcome cannot be known offline.
func (m *Match) MayMatch() bool {
	switch s := m.Spec.(type) {
	case *OpaqueMatch:
		return !s.AlwaysTrue
	case *SetMatch, *UnknownMatch:
		return true
	}
	return false
}

func (*TCPMatch) matchSpec()       {}
func (*UDPMatch) matchSpec()       {}
func (*SCTPMatch) matchSpec()      {}
func (*MultiportMatch) matchSpec() {}
func (*ICMPMatch) matchSpec()      {}
func (*StateMatch) matchSpec()     {}
func (*ConntrackMatch) matchSpec() {}
func (*AddrtypeMatch) matchSpec()  {}
func (*IPRangeMatch) matchSpec()   {}
func (*MACMatch) matchSpec()       {}
func (*MarkMatch) matchSpec()      {}
func (*CommentMatch) matchSpec()   {}
func (*PhysdevMatch) matchSpec()   {}
func (*SetMatch) matchSpec()       {}
func (*PkttypeMatch) matchSpec()   {}
func (*LengthMatch) matchSpec()    {}
func (*TTLMatch) matchSpec()       {}
func (*TOSMatch) matchSpec()       {}
func (*UnknownMatch) matchSpec()   {}
func (*OpaqueMatch) matchSpec()    {}

// ---- typed targets ----

// RejectTarget is REJECT.
type RejectTarget struct {
	// With is the canonical --reject-with value (icmp-port-unreachable
	// by default for IPv4, icmp6-port-unreachable for IPv6).
	With string
}

// NATKind names the NAT targets.
type NATKind uint8

const (
	NATDNAT NATKind = iota + 1
	NATSNAT
	NATMasquerade
	NATRedirect
	NATNetmap
)

// NATRange is one --to-destination/--to-source value: an address range
// and/or a port range. A zero Addr means "keep the address".
type NATRange struct {
	MinAddr, MaxAddr netip.Addr
	MinPort, MaxPort uint16
	// Shift is set for PORT-PORT/BASE, the kernel's port offset
	// (NF_NAT_RANGE_PROTO_OFFSET): the port P being rewritten becomes
	// MinPort + (P - BasePort) mod 65536 mod (MaxPort - MinPort + 1),
	// or the next free port after it. BasePort is what the kernel holds:
	// DNAT's as written; 0 for SNAT, whose base iptables drops (the
	// kernel then counts from 0); 0 for MASQUERADE too, whose base the
	// kernel leaves unset (the port it picks is unknown).
	Shift    bool
	BasePort uint16
}

// OffsetPort is the port a range with a port offset maps port p to
// (nf_nat_l4proto_unique_tuple with NF_NAT_RANGE_PROTO_OFFSET): MinPort +
// (p - BasePort) mod 65536 mod the range's size. The difference wraps as
// the kernel's u16 does: below the base, p is 65536 - BasePort + p past
// it, not counted backwards.
func (r NATRange) OffsetPort(p uint16) uint16 {
	lo, hi := r.MinPort, r.MaxPort
	if hi < lo {
		lo, hi = hi, lo
	}
	return lo + uint16(uint32(p-r.BasePort)%(uint32(hi)-uint32(lo)+1))
}

// NATTarget is DNAT, SNAT, MASQUERADE, REDIRECT or NETMAP.
type NATTarget struct {
	Kind   NATKind
	Ranges []NATRange
	// Netmap is NETMAP's --to prefix.
	Netmap      netip.Prefix
	Random      bool
	Persistent  bool
	FullyRandom bool
}

// MarkOp is how MARK or CONNMARK changes a mark.
type MarkOp uint8

const (
	// MarkSet: mark = (mark &^ Mask) ^ Value (--set-xmark; --set-mark is
	// Value with Mask = Value|Mask as iptables translates it).
	MarkSet MarkOp = iota
	// MarkSave copies the packet mark into the connection mark (CONNMARK).
	MarkSave
	// MarkRestore copies the connection mark into the packet mark (CONNMARK).
	MarkRestore
)

// MarkTarget is MARK (Conn false) or CONNMARK (Conn true).
// For MarkSet: new = (old &^ Mask) ^ Value.
// For MarkSave: ctmark = (ctmark &^ CtMask) ^ (nfmark & NfMask).
// For MarkRestore: nfmark = (nfmark &^ NfMask) ^ (ctmark & CtMask).
type MarkTarget struct {
	Conn           bool
	Op             MarkOp
	Value, Mask    uint32
	NfMask, CtMask uint32
}

// CTTarget is CT (NoTrack when --notrack) and NOTRACK.
type CTTarget struct {
	NoTrack bool
}

// NFQueueTarget is NFQUEUE and QUEUE. Bypass is --queue-bypass (the packet
// is accepted when no program listens).
type NFQueueTarget struct {
	Bypass bool
}

// ContinueTarget is a non-terminal extension whose effect on the verdict is
// nil (LOG, NFLOG, ULOG, AUDIT, TRACE, TCPMSS, CHECKSUM, CLASSIFY, TOS, DSCP,
// TTL, HL, SET, …).
type ContinueTarget struct{}

// UnknownTarget is an extension target dfw does not know.
type UnknownTarget struct{}

func (*RejectTarget) targetSpec()   {}
func (*NATTarget) targetSpec()      {}
func (*MarkTarget) targetSpec()     {}
func (*CTTarget) targetSpec()       {}
func (*NFQueueTarget) targetSpec()  {}
func (*ContinueTarget) targetSpec() {}
func (*UnknownTarget) targetSpec()  {}

func (*RejectTarget) terminal() bool  { return true }
func (*NATTarget) terminal() bool     { return true }
func (*NFQueueTarget) terminal() bool { return true }
