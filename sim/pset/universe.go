// Package pset represents sets of packets exactly, as reduced ordered binary
// decision diagrams (BDDs) over the bits of the header and metadata fields
// that iptables rules match, for the analyses of dfw (reachability,
// shadowing, redundancy, exposure, diff) and the symbolic evaluator.
//
// A [Universe] fixes the fields, their widths and the variable order for one
// ruleset (interfaces are enumerated symbols, see [Universe.Ifaces]). A [Set]
// is a set of packets of that universe; sets of different universes must
// not be mixed. A [Point] is one concrete packet. [MatchSet] turns a parsed
// rule into the sets of packets it certainly and possibly matches.
//
// A Universe and its Sets are not safe for concurrent use: every operation
// may add nodes to the universe's store. Nodes are never freed; a universe
// is meant to live for one analysis. docs/packet-sets.md gives the choice of
// representation, the variable order and the measurements behind them.
package pset

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// Field names one dimension of a packet.
type Field uint8

// The fields. Addresses are 32 bits in an IPv4 universe and 128 in an IPv6
// one. Symbol fields (interfaces, ct state, pkttype, address types) are
// encoded as the binary index of a symbol; codes past the last symbol are
// not in any set.
const (
	CTState     Field = iota // conntrack state symbol: NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED
	CTNat                    // 2 bits: 1 = SNAT, 2 = DNAT (the ctstate SNAT/DNAT pseudo-states); 0 without conntrack entry
	CTStatus                 // 4 bits: EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED as in parser.CTStatus; 0 without entry
	CTDir                    // 1 bit: 0 ORIGINAL, 1 REPLY
	InIface                  // symbol: input interface ("" none, for local output)
	OutIface                 // symbol: output interface ("" none, before routing)
	Bridged                  // 1 bit: the packet has bridge (br_netfilter) information
	PhysIn                   // symbol: bridge port the packet entered by ("" none)
	PhysOut                  // symbol: bridge port it leaves by ("" none)
	PktType                  // symbol: unicast (host), broadcast, multicast, otherhost
	SrcType                  // symbol: the address type of the source on this host (addrtype)
	DstType                  // symbol: the address type of the destination on this host
	Fragment                 // 1 bit: a second or further fragment (-f)
	Proto                    // 8 bits: IP protocol (IPv6: the upper-layer protocol)
	Dst                      // destination address
	Dport                    // 16 bits: destination port (TCP, UDP, SCTP, …)
	Src                      // source address
	Sport                    // 16 bits: source port
	ICMPType                 // 8 bits: ICMP or ICMPv6 type
	ICMPCode                 // 8 bits: ICMP or ICMPv6 code
	TCPFlags                 // 8 bits: FIN=1, SYN=2, … CWR=128 as parser.FlagFIN…
	Mark                     // 32 bits: packet mark (nfmark)
	CTMark                   // 32 bits: connection mark
	CTProto                  // 8 bits: protocol of the conntrack original tuple (--ctproto)
	CTOrigDst                // address: original tuple destination (before DNAT)
	CTOrigDport              // 16 bits: original tuple destination port
	CTOrigSrc                // address: original tuple source
	CTOrigSport              // 16 bits: original tuple source port
	CTReplDst                // address: reply tuple destination
	CTReplDport              // 16 bits
	CTReplSrc                // address: reply tuple source
	CTReplSport              // 16 bits
	TTL                      // 8 bits: TTL (IPv4) or hop limit (IPv6)
	Length                   // 16 bits: IP total length (IPv6: payload length + 40)
	TOS                      // 8 bits: the TOS / traffic class byte (DSCP is its upper 6 bits)
	NumFields
)

var fieldNames = [NumFields]string{
	"ctstate", "ctnat", "ctstatus", "ctdir", "in", "out", "bridged", "physin", "physout",
	"pkttype", "srctype", "dsttype", "frag", "proto", "dst", "dport", "src", "sport",
	"icmptype", "icmpcode", "tcpflags", "mark", "ctmark", "ctproto",
	"ctorigdst", "ctorigdport", "ctorigsrc", "ctorigsport",
	"ctrepldst", "ctrepldport", "ctreplsrc", "ctreplsport", "ttl", "len", "tos",
}

func (f Field) String() string {
	if f < NumFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

type fieldKind uint8

const (
	kindNum fieldKind = iota
	kindAddr
	kindSym
)

func (f Field) kind() fieldKind {
	switch f {
	case Src, Dst, CTOrigSrc, CTOrigDst, CTReplSrc, CTReplDst:
		return kindAddr
	case CTState, InIface, OutIface, PhysIn, PhysOut, PktType, SrcType, DstType:
		return kindSym
	}
	return kindNum
}

// Symbol tables of the fixed symbol fields, in code order. The first symbol
// is the most typical (the witness prefers small codes).
var (
	ctStateSyms = []parser.CTState{parser.CTNew, parser.CTEstablished, parser.CTRelated, parser.CTInvalid, parser.CTUntracked}
	ctStateName = []string{"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}
	pktTypeSyms = []string{"unicast", "broadcast", "multicast", "otherhost"}
	addrTypes   = []parser.AddrType{parser.ATUnicast, parser.ATLocal, parser.ATBroadcast, parser.ATMulticast,
		parser.ATAnycast, parser.ATUnspec, parser.ATBlackhole, parser.ATUnreachable, parser.ATProhibit,
		parser.ATThrow, parser.ATNAT, parser.ATXResolve}
	addrTypeName = []string{"UNICAST", "LOCAL", "BROADCAST", "MULTICAST", "ANYCAST", "UNSPEC",
		"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"}
)

// Iface is one symbol of the interface fields (in, out, physin, physout).
type Iface struct {
	// Name is the interface name the symbol stands for: a name the rules
	// (or the host model) mention, or, for an Other symbol, a fresh name
	// chosen as its representative; "" is "no interface".
	Name string
	// Other is set for a symbol that stands for every interface the rules
	// never name whose longest wildcard prefix mentioned by the rules is
	// Prefix ("" when no wildcard prefix applies).
	Other  bool
	Prefix string
}

func (i Iface) String() string {
	switch {
	case i.Name == "" && !i.Other:
		return "(none)"
	case i.Other && i.Prefix == "":
		return i.Name + "(other)"
	case i.Other:
		return i.Name + "(other " + i.Prefix + "+)"
	}
	return i.Name
}

type fieldInfo struct {
	off, width int32 // first variable (level) and number of bits
	nsym       int   // symbol count for symbol fields
}

// Universe fixes the fields, their bit widths and the variable order of the
// packet sets of one ruleset. Build it with [New] or [ForRuleset].
type Universe struct {
	fam    parser.Family
	d      *bdd
	fields [NumFields]fieldInfo
	// order is the variable order, as fields, top first.
	order  []Field
	ifaces []Iface
	// concrete maps named interfaces and "" (none) to their symbol.
	concrete map[string]int
	// classes maps a wildcard prefix ("" for none) to its Other symbol.
	classes map[string]int
	wild    []string // wildcard prefixes, longest first
	// lvlField maps a BDD level to its field.
	lvlField []Field
	valid    uint32 // every well-formed packet; every Set is a subset
	prefs    [NumFields][]uint32
	// masks are the level masks of ForgetFields, by field set.
	masks map[FieldSet]*levelMask
	// vnodes are the nodes of valid, validFields the fields they test.
	vnodes      map[uint32]bool
	validFields FieldSet
	// marks has a bit for each node a walk has seen, marked lists
	// those nodes (visit).
	marks  []uint64
	marked []uint32
}

// Options configures [New].
type Options struct {
	Family parser.Family
	// Ifaces are interface names to enumerate; a trailing '+' marks a
	// wildcard prefix. [ForRuleset] fills it from the rules.
	Ifaces []string
	// Order, when set, puts these fields at the top of the variable
	// order, in this order; the others follow in the default order. It
	// changes the cost of the operations, never their results (but
	// Witness fixes fields in variable order).
	Order []Field
	// Nodes, when set, is the number of nodes the universe is expected
	// to hold: room for them is made at once, which spares the growing
	// of the node store step by step.
	Nodes int
}

// defaultOrder is the variable order, top first. Small, often-tested fields
// come first; the address and port fields that distinguish most rules sit
// together (dst, dport, src, sport, as kube-proxy's rules test dst then
// dport); rarely-tested metadata comes last. See docs/packet-sets.md.
var defaultOrder = []Field{
	Proto, Dst, Dport, Src, Sport, ICMPType, ICMPCode, TCPFlags, Fragment,
	InIface, OutIface, CTState, CTNat, CTStatus, CTDir, Bridged, PhysIn, PhysOut,
	PktType, SrcType, DstType, Mark, CTMark, CTProto,
	CTOrigDst, CTOrigDport, CTOrigSrc, CTOrigSport, CTReplDst, CTReplDport, CTReplSrc, CTReplSport,
	TTL, Length, TOS,
}

// maxIfaceName is IFNAMSIZ-1.
const maxIfaceName = 15

// ForRuleset builds the universe of a ruleset: its family, and every
// interface name and wildcard that its rules (-i, -o, --physdev-in/out)
// mention, plus extra names (the host model's interfaces; a trailing '+'
// marks a wildcard).
func ForRuleset(rs *parser.Ruleset, extra ...string) *Universe {
	return New(RulesetOptions(rs, extra...))
}

// RulesetOptions are the options ForRuleset uses: the family and the
// interface names of rs, plus extra.
func RulesetOptions(rs *parser.Ruleset, extra ...string) Options {
	names := append([]string(nil), extra...)
	for _, m := range rs.Interfaces() {
		names = append(names, m.String())
	}
	per := nodesPerRule
	if rs.Family == parser.IPv6 {
		per *= 8 // addresses of 128 bits
	}
	return Options{Family: rs.Family, Ifaces: names, Nodes: min(per*rs.NumRules(), maxNodesHint)}
}

// nodesPerRule is the number of nodes per rule RulesetOptions tells New
// to expect, up to maxNodesHint; the unique table is made for that many
// (up to 2^22 entries, past which it grows as the store fills). The
// analyses were seen to build 40 nodes per rule on the 80,000 rules of a
// kube-proxy ruleset (3.4 million), 110 on the 23,000 of a country block
// and 1,200 on the 2,600 of an IPv6 firewall with /128 addresses (3
// million). Growing the table as the store fills rehashes every node each
// time: on that IPv6 firewall, half the last-level cache misses of its
// analyses (cachegrind) were the growing. The nodes are stored in chunks
// made as they fill, so the hint holds no room for nodes.
const (
	nodesPerRule = 128
	maxNodesHint = 4 << 20
)

// New builds a universe. The interface symbols are, in code order: every
// concrete name of opts.Ifaces (sorted), then one Other symbol for each
// wildcard prefix p (sorted) standing for the unnamed interfaces whose
// longest mentioned wildcard prefix is p, then one Other symbol for the
// unnamed interfaces that no wildcard covers, then "" (no interface).
func New(opts Options) *Universe {
	u := &Universe{fam: opts.Family, concrete: map[string]int{}, classes: map[string]int{}}
	if u.fam != parser.IPv6 {
		u.fam = parser.IPv4
	}
	u.buildIfaces(opts.Ifaces)
	aw := int32(32)
	if u.fam == parser.IPv6 {
		aw = 128
	}
	symBits := func(n int) int32 {
		b := int32(1)
		for 1<<b < n {
			b++
		}
		return b
	}
	for f := Field(0); f < NumFields; f++ {
		fi := &u.fields[f]
		switch f.kind() {
		case kindAddr:
			fi.width = aw
		case kindSym:
			switch f {
			case CTState:
				fi.nsym = len(ctStateSyms)
			case PktType:
				fi.nsym = len(pktTypeSyms)
			case SrcType, DstType:
				fi.nsym = len(addrTypes)
			default:
				fi.nsym = len(u.ifaces)
			}
			fi.width = symBits(fi.nsym)
		default:
			switch f {
			case CTNat:
				fi.width = 2
			case CTStatus:
				fi.width = 4
			case CTDir, Bridged, Fragment:
				fi.width = 1
			case Dport, Sport, CTOrigDport, CTOrigSport, CTReplDport, CTReplSport, Length:
				fi.width = 16
			case Mark, CTMark:
				fi.width = 32
			default:
				fi.width = 8
			}
		}
	}
	u.order = defaultOrder
	if len(opts.Order) > 0 {
		var seen FieldSet
		u.order = nil
		for _, f := range append(append([]Field(nil), opts.Order...), defaultOrder...) {
			if f < NumFields && !seen.Has(f) {
				seen = seen.With(f)
				u.order = append(u.order, f)
			}
		}
	}
	var off int32
	for _, f := range u.order {
		u.fields[f].off = off
		off += u.fields[f].width
		for range u.fields[f].width {
			u.lvlField = append(u.lvlField, f)
		}
	}
	u.d = newBDD(int(off), opts.Nodes)
	u.valid = bddTrue
	for f := Field(0); f < NumFields; f++ {
		if fi := u.fields[f]; fi.nsym > 0 && fi.nsym < 1<<fi.width {
			u.valid = u.d.and(u.valid, u.rangeBDD(f, wide{}, wideOf(uint64(fi.nsym-1))))
		}
	}
	// No conntrack entry (INVALID, UNTRACKED): no NAT or status bits.
	noCT := u.d.or(u.eqBDD(CTState, wideOf(3)), u.eqBDD(CTState, wideOf(4)))
	u.valid = u.d.diff(u.valid, u.d.and(noCT, u.d.diff(bddTrue, u.d.and(u.eqBDD(CTNat, wide{}), u.eqBDD(CTStatus, wide{})))))
	// Without bridge information there are no bridge ports.
	none := wideOf(uint64(u.concrete[""]))
	notBridged := u.eqBDD(Bridged, wide{})
	u.valid = u.d.diff(u.valid, u.d.and(notBridged, u.d.diff(bddTrue, u.d.and(u.eqBDD(PhysIn, none), u.eqBDD(PhysOut, none)))))
	u.validNodes() // and validFields
	u.initPrefs()
	return u
}

func (u *Universe) buildIfaces(names []string) {
	conc := map[string]bool{}
	wild := map[string]bool{}
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, "+"); ok {
			wild[p] = true
		} else if n != "" {
			conc[n] = true
		}
	}
	for n := range conc {
		u.ifaces = append(u.ifaces, Iface{Name: n})
	}
	sort.Slice(u.ifaces, func(i, j int) bool { return u.ifaces[i].Name < u.ifaces[j].Name })
	for p := range wild {
		u.wild = append(u.wild, p)
	}
	sort.Slice(u.wild, func(i, j int) bool {
		if len(u.wild[i]) != len(u.wild[j]) {
			return len(u.wild[i]) > len(u.wild[j])
		}
		return u.wild[i] < u.wild[j]
	})
	prefixes := append([]string(nil), u.wild...)
	sort.Strings(prefixes)
	if !wild[""] {
		prefixes = append(prefixes, "")
	} else {
		// "" is a wildcard ("-i +"): its class is the generic one; keep
		// it last.
		prefixes = append(prefixes[1:], "")
	}
	for _, p := range prefixes {
		if rep, ok := u.representative(p, conc); ok {
			u.ifaces = append(u.ifaces, Iface{Name: rep, Other: true, Prefix: p})
		}
	}
	u.ifaces = append(u.ifaces, Iface{Name: ""})
	for i, s := range u.ifaces {
		if s.Other {
			u.classes[s.Prefix] = i
		} else {
			u.concrete[s.Name] = i
		}
	}
}

// longestWild returns the longest mentioned wildcard prefix of name, and
// whether there is one.
func (u *Universe) longestWild(name string) (string, bool) {
	for _, p := range u.wild { // longest first
		if strings.HasPrefix(name, p) {
			return p, true
		}
	}
	return "", false
}

// representative picks a fresh interface name, not named by the rules, whose
// longest wildcard prefix is exactly p: p followed by a number when that
// works, else p itself or p followed by letters. For p == "" the candidates
// are "other0", "other1", …
func (u *Universe) representative(p string, conc map[string]bool) (string, bool) {
	ok := func(c string) bool {
		if c == "" || conc[c] || len(c) > maxIfaceName {
			return false
		}
		lw, has := u.longestWild(c)
		if p == "" {
			return !has || lw == ""
		}
		return has && lw == p
	}
	bases := []string{p}
	if p == "" {
		bases = []string{"other", "ext", "x", "z"}
	}
	for _, b := range bases {
		for i := 0; i < 100; i++ {
			if c := b + strconv.Itoa(i); ok(c) {
				return c, true
			}
		}
	}
	if ok(p) {
		return p, true
	}
	for _, a := range "abcdefghijklmnopqrstuvwxyz_-." {
		for _, b := range "abcdefghijklmnopqrstuvwxyz" {
			if c := p + string(a) + string(b); ok(c) {
				return c, true
			}
		}
	}
	return "", false
}

// Family is the universe's address family.
func (u *Universe) Family() parser.Family { return u.fam }

// Width is the number of bits of field f.
func (u *Universe) Width(f Field) int { return int(u.fields[f].width) }

// Order returns the variable order, as fields, top first.
func (u *Universe) Order() []Field { return append([]Field(nil), u.order...) }

// Ifaces returns the interface symbols in code order.
func (u *Universe) Ifaces() []Iface { return append([]Iface(nil), u.ifaces...) }

// IfaceSymbol returns the symbol index that stands for interface name: its
// own symbol when the rules name it, else the Other symbol of its longest
// mentioned wildcard prefix, else the generic Other symbol; "" is the
// symbol for no interface. ok is false only when name cannot be
// represented (a class without representative, see New).
func (u *Universe) IfaceSymbol(name string) (int, bool) {
	if i, ok := u.concrete[name]; ok {
		return i, true
	}
	p, _ := u.longestWild(name)
	i, ok := u.classes[p]
	return i, ok
}

// NodeCount is the number of BDD nodes the universe holds (they are never
// freed).
func (u *Universe) NodeCount() int { return u.d.numNodes() }

// Steps is the number of set-operation steps done so far (one per
// operation on a pair of nodes not found in the cache): a measure of work
// that does not depend on the machine.
func (u *Universe) Steps() int { return u.d.steps }

func (u *Universe) check(f Field) {
	if f >= NumFields {
		panic(fmt.Sprintf("pset: no field %d", f))
	}
}
