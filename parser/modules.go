package parser

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// optDef describes one option of a module: its long names (the first is
// canonical; every name is its own getopt entry, so abbreviations are
// resolved against all of them), how many arguments it takes and what
// the extension's option table says of it beyond that (flags).
type optDef struct {
	names []string
	nargs int
	flags optFlag
}

// optFlag is a property libxtables checks of one option.
type optFlag uint8

const (
	// optNoInvert: '!' is refused before it (the option lacks
	// XTOPT_INVERT: "option cannot be inverted").
	optNoInvert optFlag = 1 << iota
	// optNonEmpty: an empty value is refused (the entry's .min is 1).
	optNonEmpty
)

// optGroup is a set of options of one extension, by canonical name, of
// which at most one may be given (libxtables' .excl, or the extension's
// final check) unless several is set; with need, one of them must be
// (XTOPT_MAND for a set of one, or the final check's "you must specify").
type optGroup struct {
	names   []string
	need    bool
	several bool
	// also, when set, is an option the group's options need beside
	// them (libxtables' .also: "--every also requires --packet").
	also string
}

// moduleDef is a match module.
type moduleDef struct {
	opts   []optDef
	groups []optGroup
	build  func(b *builder, m *Match) MatchSpec
	index  optIndex // opts by every name
	// flagged: some option has flags checkOpts checks.
	flagged bool
}

// targetDef is an extension target.
type targetDef struct {
	opts    []optDef
	groups  []optGroup
	build   func(b *builder, t *Target) TargetSpec
	index   optIndex // opts by every name
	flagged bool     // as moduleDef's
}

func o(nargs int, names ...string) optDef { return optDef{names: names, nargs: nargs} }

// with returns the option with flags added.
func (d optDef) with(f optFlag) optDef { d.flags |= f; return d }

// oneOf is a group of options at most one of which may be given.
func oneOf(names ...string) optGroup { return optGroup{names: names} }

// needOne is a group of options exactly one of which must be given.
func needOne(names ...string) optGroup { return optGroup{names: names, need: true} }

// needAny is a group of options at least one of which must be given.
func needAny(names ...string) optGroup { return optGroup{names: names, need: true, several: true} }

// alsoNeeds is a group saying that option opt needs option other beside it.
func alsoNeeds(opt, other string) optGroup {
	return optGroup{names: []string{opt}, several: true, also: other}
}

// checkOpts reports what an extension's option table refuses in its
// options (the flags of each, when flagged; its groups): kind and name
// name it ("-m", "recent"; "-j", "NFQUEUE"), pos is where. It runs on
// every rule: it allocates nothing unless it reports.
func (b *builder) checkOpts(kind, name string, pos Pos, opts []Option, index optIndex, flagged bool, groups []optGroup) {
	if !flagged && len(groups) == 0 {
		return
	}
	ext := extName{kind, name}
	for i := range opts {
		if !flagged {
			break
		}
		op := &opts[i]
		d := index[op.Name]
		if d == nil {
			continue
		}
		if op.Neg && d.flags&optNoInvert != 0 {
			b.errf(op.Pos, ErrBadOption, "%s: --%s cannot be inverted: iptables refuses '!' before it (expected --%s without '!')", ext, op.Name, op.Name)
		}
		if d.flags&optNonEmpty != 0 && len(op.Args) > 0 && op.Args[0] == "" {
			b.errf(op.Pos, ErrBadValue, "%s: --%s is empty: iptables refuses it (expected at least 1 character)", ext, op.Name)
		}
	}
	for _, g := range groups {
		var first *Option
		for i := range opts {
			op := &opts[i]
			if !slices.Contains(g.names, op.Name) {
				continue
			}
			if first != nil && first.Name != op.Name && !g.several {
				b.errf(op.Pos, ErrBadOption, "%s: --%s and --%s cannot be used together: iptables refuses the rule (expected only one of %s)",
					ext, first.Name, op.Name, optList(g.names))
			}
			if first == nil {
				first = op
			}
		}
		if first != nil && g.also != "" && !slices.ContainsFunc(opts, func(o Option) bool { return o.Name == g.also }) {
			b.errf(first.Pos, ErrBadOption, "%s: --%s also needs --%s: iptables refuses the rule without it", ext, first.Name, g.also)
		}
		if first == nil && g.need {
			b.errs.addFor(b.family, pos, ErrBadOption, SevError, "%s", forFamily(b.family, needMessage(ext, g), false))
		}
	}
}

// needMessage says that an extension lacks the options of a need group.
func needMessage(ext extName, g optGroup) string {
	if len(g.names) <= 2 {
		return fmt.Sprintf("%s needs %s: iptables refuses the rule without it", ext, optList(g.names))
	}
	return fmt.Sprintf("%s needs one of %s: iptables refuses the rule without one", ext, optList(g.names))
}

// withoutNeeds returns groups without its need groups: a target written
// with no option may be a jump to a user chain of its name (prepare), so
// its mandatory options are checked once that is known.
func withoutNeeds(groups []optGroup) []optGroup {
	if !slices.ContainsFunc(groups, func(g optGroup) bool { return g.need }) {
		return groups
	}
	var out []optGroup
	for _, g := range groups {
		if !g.need {
			out = append(out, g)
		}
	}
	return out
}

// extName prints as "-m recent" or "-j NFQUEUE", only when an error is
// formatted.
type extName struct{ kind, name string }

func (e extName) String() string { return e.kind + " " + e.name }

// optList lists option names as "--a, --b or --c".
func optList(names []string) string {
	var sb strings.Builder
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			sb.WriteString(" or ")
		default:
			sb.WriteString(", ")
		}
		sb.WriteString("--" + n)
	}
	return sb.String()
}

// builder turns raw options into typed specs and reports problems.
type builder struct {
	errs   *ErrorList
	family Family
	rule   *Rule
	a      *arena
}

func (b *builder) errf(pos Pos, sentinel error, format string, args ...any) {
	b.errs.addFor(b.family, pos, sentinel, SevError, format, args...)
}

func (b *builder) warnf(pos Pos, sentinel error, format string, args ...any) {
	b.errs.addFor(b.family, pos, sentinel, SevWarning, format, args...)
}

var portOpts = []optDef{o(1, "sport", "source-port"), o(1, "dport", "destination-port")}

// matchModules lists the match modules dfw knows. Modules whose outcome
// cannot be decided offline build an *OpaqueMatch.
var matchModules map[string]*moduleDef

func init() {
	opaque := func(b *builder, m *Match) MatchSpec { return b.a.opaque.put(OpaqueMatch{}) }
	matchModules = map[string]*moduleDef{
		"tcp": {opts: append(append([]optDef{}, portOpts...), o(2, "tcp-flags"), o(0, "syn"), o(1, "tcp-option")),
			groups: []optGroup{oneOf("syn", "tcp-flags")}, build: buildTCP},
		"udp":       {opts: portOpts, build: buildUDP},
		"sctp":      {opts: append(append([]optDef{}, portOpts...), o(2, "chunk-types")), build: buildSCTP},
		"dccp":      {opts: append(append([]optDef{}, portOpts...), o(1, "dccp-types"), o(1, "dccp-option")), build: buildUDP},
		"multiport": {opts: []optDef{o(1, "sports", "source-ports"), o(1, "dports", "destination-ports"), o(1, "ports")}, build: buildMultiport},
		"icmp":      {opts: []optDef{o(1, "icmp-type")}, build: buildICMP},
		"icmp6":     {opts: []optDef{o(1, "icmpv6-type")}, build: buildICMP},
		"state":     {opts: []optDef{o(1, "state")}, build: buildState},
		"conntrack": {opts: []optDef{o(1, "ctstate"), o(1, "ctproto"), o(1, "ctorigsrc"), o(1, "ctorigdst"),
			o(1, "ctreplsrc"), o(1, "ctrepldst"), o(1, "ctorigsrcport"), o(1, "ctorigdstport"),
			o(1, "ctreplsrcport"), o(1, "ctrepldstport"), o(1, "ctstatus"), o(1, "ctexpire"), o(1, "ctdir")},
			build: buildConntrack},
		"addrtype": {opts: []optDef{o(1, "src-type"), o(1, "dst-type"), o(0, "limit-iface-in"), o(0, "limit-iface-out")},
			groups: []optGroup{needAny("src-type", "dst-type")}, build: buildAddrtype},
		"iprange":  {opts: []optDef{o(1, "src-range"), o(1, "dst-range")}, build: buildIPRange},
		"mac":      {opts: []optDef{o(1, "mac-source")}, build: buildMAC},
		"mark":     {opts: []optDef{o(1, "mark")}, build: buildMark},
		"connmark": {opts: []optDef{o(1, "mark")}, build: buildMark},
		"comment":  {opts: []optDef{o(1, "comment")}, groups: []optGroup{needOne("comment")}, build: buildComment},
		"physdev": {opts: []optDef{o(1, "physdev-in"), o(1, "physdev-out"), o(0, "physdev-is-in"),
			o(0, "physdev-is-out"), o(0, "physdev-is-bridged")},
			groups: []optGroup{needAny("physdev-in", "physdev-out", "physdev-is-in", "physdev-is-out", "physdev-is-bridged")},
			build:  buildPhysdev},
		"set": {opts: []optDef{o(2, "match-set"), o(2, "set"), o(0, "return-nomatch"), o(0, "update-counters"),
			o(0, "update-subcounters"), o(1, "packets-eq"), o(1, "packets-lt"), o(1, "packets-gt"),
			o(1, "bytes-eq"), o(1, "bytes-lt"), o(1, "bytes-gt")}, build: buildSet},
		"pkttype": {opts: []optDef{o(1, "pkt-type")}, build: buildPkttype},
		"length":  {opts: []optDef{o(1, "length")}, build: buildLength},
		"ttl": {opts: []optDef{o(1, "ttl-eq", "ttl"), o(1, "ttl-lt").with(optNoInvert), o(1, "ttl-gt").with(optNoInvert)},
			groups: []optGroup{needOne("ttl-eq", "ttl-lt", "ttl-gt")}, build: buildTTL},
		"hl": {opts: []optDef{o(1, "hl-eq", "hl"), o(1, "hl-lt").with(optNoInvert), o(1, "hl-gt").with(optNoInvert)},
			groups: []optGroup{needOne("hl-eq", "hl-lt", "hl-gt")}, build: buildTTL},
		"tos": {opts: []optDef{o(1, "tos")}, build: buildTOS},
		"dscp": {opts: []optDef{o(1, "dscp"), o(1, "dscp-class")}, groups: []optGroup{needOne("dscp", "dscp-class")},
			build: buildTOS},
		"limit": {opts: []optDef{o(1, "limit").with(optNoInvert), o(1, "limit-burst").with(optNoInvert)}, build: buildLimit},
		"hashlimit": {opts: []optDef{o(1, "hashlimit"), o(1, "hashlimit-upto"), o(1, "hashlimit-above"),
			o(1, "hashlimit-burst"), o(1, "hashlimit-mode"), o(1, "hashlimit-srcmask"), o(1, "hashlimit-dstmask"),
			o(1, "hashlimit-name"), o(1, "hashlimit-htable-size"), o(1, "hashlimit-htable-max"),
			o(1, "hashlimit-htable-expire"), o(1, "hashlimit-htable-gcinterval"), o(0, "hashlimit-rate-match"),
			o(1, "hashlimit-rate-interval")},
			groups: []optGroup{needOne("hashlimit", "hashlimit-upto", "hashlimit-above"), needOne("hashlimit-name")},
			build:  buildHashlimit},
		"recent": {opts: []optDef{o(0, "set"), o(0, "rcheck"), o(0, "update"), o(0, "remove"), o(1, "seconds"),
			o(0, "reap"), o(1, "hitcount"), o(0, "rttl"), o(1, "name"), o(0, "rsource"), o(0, "rdest"), o(1, "mask")},
			groups: []optGroup{needOne("set", "rcheck", "update", "remove"), alsoNeeds("reap", "seconds")}, build: buildRecent},
		"statistic": {opts: []optDef{o(1, "mode"), o(1, "probability"), o(1, "every"), o(1, "packet")},
			groups: []optGroup{needOne("mode"), oneOf("probability", "every"), oneOf("probability", "packet"),
				alsoNeeds("every", "packet"), alsoNeeds("packet", "every")},
			build: buildStatistic},
		"time": {opts: []optDef{o(1, "datestart"), o(1, "datestop"), o(1, "timestart"), o(1, "timestop"),
			o(1, "monthdays"), o(1, "weekdays"), o(0, "kerneltz"), o(0, "localtz"), o(0, "utc"), o(0, "contiguous")},
			// --utc against either name of the kernel's time zone.
			groups: []optGroup{oneOf("utc", "localtz"), oneOf("utc", "kerneltz")},
			build:  buildTime},
		"connlimit": {opts: []optDef{o(1, "connlimit-upto"), o(1, "connlimit-above"), o(1, "connlimit-mask"),
			o(0, "connlimit-saddr"), o(0, "connlimit-daddr")},
			groups: []optGroup{needOne("connlimit-upto", "connlimit-above")}, build: func(b *builder, m *Match) MatchSpec {
				// A prefix length or a mask (plenMask): 33, or a mask
				// not contiguous, is the whole address.
				for i := range m.Options {
					if op := &m.Options[i]; op.Name == "connlimit-mask" {
						if _, _, err := plenMask(arg(op), b.family.bits()); err != nil {
							b.errf(op.Pos, ErrBadValue, "-m connlimit: --connlimit-mask: %v", err)
						}
					}
				}
				return b.a.opaque.put(OpaqueMatch{})
			}},
		"owner": {opts: []optDef{o(1, "uid-owner"), o(1, "gid-owner"), o(0, "socket-exists"), o(0, "suppl-groups").with(optNoInvert),
			o(1, "pid-owner"), o(1, "sid-owner"), o(1, "cmd-owner")}, build: buildOwner},
		"string": {opts: []optDef{o(1, "algo"), o(1, "from"), o(1, "to"), o(1, "string"), o(1, "hex-string"),
			o(0, "icase")}, groups: []optGroup{needOne("algo"), needAny("string", "hex-string")}, build: buildString},
		"u32": {opts: []optDef{o(1, "u32")}, build: buildU32},
		"rt": {opts: []optDef{o(1, "rt-type"), o(1, "rt-segsleft"), o(1, "rt-len"), o(0, "rt-0-res"),
			o(1, "rt-0-addrs"), o(0, "rt-0-not-strict")}, build: buildRT},
		"frag": {opts: []optDef{o(1, "fragid"), o(1, "fraglen"), o(0, "fragres"), o(0, "fragfirst"),
			o(0, "fragmore"), o(0, "fraglast")}, build: opaque},
		"hbh":        {opts: []optDef{o(1, "hbh-len"), o(1, "hbh-opts")}, build: opaque},
		"dst":        {opts: []optDef{o(1, "dst-len"), o(1, "dst-opts")}, build: opaque},
		"ipv6header": {opts: []optDef{o(1, "header"), o(0, "soft")}, build: buildIPv6Header},
		"policy": {opts: []optDef{o(1, "dir"), o(1, "pol"), o(0, "strict"), o(1, "reqid"), o(1, "spi"),
			o(1, "proto"), o(1, "mode"), o(1, "tunnel-src"), o(1, "tunnel-dst"), o(0, "next")},
			groups: []optGroup{needOne("dir"), alsoNeeds("next", "strict")}, build: buildPolicy},
		"nfacct":   {opts: []optDef{o(1, "nfacct-name")}, build: func(*builder, *Match) MatchSpec { return &OpaqueMatch{AlwaysTrue: true} }},
		"rpfilter": {opts: []optDef{o(0, "loose"), o(0, "validmark"), o(0, "accept-local"), o(0, "invert")}, build: opaque},
		"tcpmss":   {opts: []optDef{o(1, "mss")}, build: buildTCPMSSMatch},
		"quota":    {opts: []optDef{o(1, "quota")}, build: opaque},
		"helper":   {opts: []optDef{o(1, "helper")}, build: opaque},
		"realm":    {opts: []optDef{o(1, "realm")}, build: opaque},
		"socket":   {opts: []optDef{o(0, "transparent"), o(0, "nowildcard"), o(0, "restore-skmark")}, build: opaque},
		"cgroup":   {opts: []optDef{o(1, "path"), o(1, "cgroup")}, build: opaque},
		"devgroup": {opts: []optDef{o(1, "src-group"), o(1, "dst-group")}, build: opaque},
		"ecn":      {opts: []optDef{o(0, "ecn-tcp-cwr"), o(0, "ecn-tcp-ece"), o(1, "ecn-ip-ect")}, build: buildECN},
		"esp":      {opts: []optDef{o(1, "espspi")}, build: opaque},
		"ah":       {opts: []optDef{o(1, "ahspi"), o(1, "ahlen"), o(0, "ahres")}, build: buildAH},
		"cpu":      {opts: []optDef{o(1, "cpu")}, build: opaque},
		"bpf":      {opts: []optDef{o(1, "bytecode"), o(1, "object-pinned")}, build: opaque},
		"connbytes": {opts: []optDef{o(1, "connbytes"), o(1, "connbytes-dir"), o(1, "connbytes-mode")},
			groups: []optGroup{needOne("connbytes"), needOne("connbytes-dir"), needOne("connbytes-mode")}, build: buildConnbytes},
		"connlabel": {opts: []optDef{o(1, "label"), o(0, "set")}, build: opaque},
		"ipvs": {opts: []optDef{o(0, "ipvs"), o(1, "vproto"), o(1, "vaddr"), o(1, "vport"), o(1, "vdir"),
			o(1, "vmethod"), o(1, "vportctl")}, build: opaque},
		"mh":      {opts: []optDef{o(1, "mh-type")}, build: buildMH},
		"osf":     {opts: []optDef{o(1, "genre"), o(1, "ttl"), o(1, "log")}, build: opaque},
		"rateest": {opts: []optDef{o(1, "rateest"), o(1, "rateest1"), o(1, "rateest2"), o(0, "rateest-delta"), o(1, "rateest-bps"), o(1, "rateest-pps"), o(1, "rateest-bps1"), o(1, "rateest-bps2"), o(1, "rateest-pps1"), o(1, "rateest-pps2"), o(0, "rateest-lt"), o(0, "rateest-gt"), o(0, "rateest-eq")}, build: opaque},
		"cluster": {opts: []optDef{o(1, "cluster-total-nodes").with(optNoInvert), o(1, "cluster-local-node"), o(1, "cluster-local-nodemask"),
			o(1, "cluster-hash-seed").with(optNoInvert)}, build: buildCluster},
		"ipcomp":    {opts: []optDef{o(1, "ipcompspi"), o(0, "compres")}, build: opaque},
		"condition": {opts: []optDef{o(1, "condition")}, build: opaque},
	}
	matchModules["icmpv6"] = matchModules["icmp6"]
}

// protoModule names the module a protocol loads implicitly.
// moduleFamily are the match extensions of one family only: iptables
// has no icmp6 or hl, ip6tables no icmp or ttl (each refuses the rule:
// "Couldn't load match").
var moduleFamily = map[string]Family{
	"icmp": IPv4, "ttl": IPv4, "realm": IPv4,
	"icmp6": IPv6, "hl": IPv6, "frag": IPv6, "mh": IPv6, "rt": IPv6, "hbh": IPv6, "dst": IPv6,
	"ipv6header": IPv6, "eui64": IPv6,
}

// familyHas reports whether module is an extension of family f.
func familyHas(module string, f Family) bool {
	fam, ok := moduleFamily[module]
	return !ok || fam == f
}

func protoModule(num uint8) string {
	switch num {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 132:
		return "sctp"
	case 33:
		return "dccp"
	case 1:
		return "icmp"
	case 58:
		return "icmp6"
	case 135:
		return "mh"
	case 50:
		return "esp"
	case 51:
		return "ah"
	}
	return ""
}

// optArgs returns the single argument of an option.
func arg(op *Option) string {
	if len(op.Args) == 0 {
		return ""
	}
	return op.Args[0]
}

// portSet parses a --sport or --dport value, service names being of
// proto (see servicePort).
func (b *builder) portSet(op *Option, proto string) *PortSet {
	r, err := parsePortRange(arg(op), proto)
	if err != nil {
		b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
		return nil
	}
	return b.portSetOf(op, r)
}

// portSetOf returns the port set of an option with one range.
func (b *builder) portSetOf(op *Option, r Range) *PortSet {
	return b.a.portSets.put(PortSet{Neg: op.Neg, Ranges: append(b.a.ranges.make(1), r), Pos: op.Pos})
}

// ports handles the --sport and --dport options of tcp, udp, sctp and
// dccp; it reports whether op was one of them. libxt_tcp and libxt_sctp
// resolve a service name for their own protocol.
func (b *builder) ports(op *Option, proto string, sport, dport **PortSet) bool {
	switch op.Name {
	case "sport":
		*sport = b.portSet(op, proto)
	case "dport":
		*dport = b.portSet(op, proto)
	default:
		return false
	}
	return true
}

func buildTCP(b *builder, m *Match) MatchSpec {
	s := b.a.tcp.put(TCPMatch{})
	for i := range m.Options {
		op := &m.Options[i]
		if b.ports(op, "tcp", &s.Sport, &s.Dport) {
			continue
		}
		switch op.Name {
		case "syn":
			s.Flags = &TCPFlags{Neg: op.Neg, Mask: FlagSYN | FlagRST | FlagACK | FlagFIN, Comp: FlagSYN, Pos: op.Pos}
		case "tcp-flags":
			mask, err1 := parseTCPFlags(op.Args[0])
			comp, err2 := parseTCPFlags(op.Args[1])
			if err1 != nil || err2 != nil {
				b.errf(op.Pos, ErrBadValue, "--tcp-flags: %v", firstErr(err1, err2))
				continue
			}
			s.Flags = &TCPFlags{Neg: op.Neg, Mask: mask, Comp: comp, Pos: op.Pos}
		case "tcp-option":
			v, err := parseUint(arg(op), 255)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--tcp-option: %v", err)
				continue
			}
			s.Option = &NumMatch{Neg: op.Neg, Range: Range{uint32(v), uint32(v)}, Pos: op.Pos}
		}
	}
	return s
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// udpPortSet parses a udp or dccp port. Unlike tcp and sctp, which
// refuse a port above 65535 and an inverted range such as 60000:29,
// iptables reads these with its generic 32-bit range parser: 70000 loads as
// 4464, and an inverted range loads and never matches, as for conntrack's
// ports (ctPort), which report both. A service name may be of tcp or udp
// (xtables_getportbyname).
func (b *builder) udpPortSet(op *Option) *PortSet {
	if lo, hi, ok := strings.Cut(arg(op), ":"); ok && (lo == "" || hi == "") {
		return b.portSet(op, svcTCPorUDP)
	}
	return b.ctPort(op)
}

// buildLimit checks -m limit's values as libxt_limit and the kernel do;
// the match itself is opaque (its outcome depends on time).
func buildLimit(b *builder, m *Match) MatchSpec {
	avg, burst := uint32(10000*3600/3), uint32(5) // 3/hour, burst 5
	var burstOp *Option
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "limit":
			v, ok, why := limitRate(arg(op))
			if !ok {
				b.errf(op.Pos, ErrBadValue, "--limit: bad rate %q: %s (expected N/second, N/minute, N/hour or N/day, N from 1)", arg(op), why)
				continue
			}
			avg = v
		case "limit-burst":
			n, err := parseUint(arg(op), 10000)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--limit-burst: %q is not a number from 0 to 10000", arg(op))
				continue
			}
			burst, burstOp = uint32(n), op
		}
	}
	// xt_limit (the legacy backend's kernel module) refuses a burst of 0,
	// or one whose credit overflows; iptables-nft translates the match to
	// nftables' own limit, which takes both.
	if limitOverflows(avg, burst) {
		pos := m.Pos
		if burstOp != nil {
			pos = burstOp.Pos
		}
		why := fmt.Sprintf("a burst of %d at this rate overflows its credit", burst)
		if burst == 0 {
			why = "a burst of 0"
		}
		b.warnf(pos, ErrBadValue, "-m limit: iptables-legacy-restore fails to load this rule (the kernel's xt_limit refuses it: %s); iptables-nft loads it", why)
	}
	return &OpaqueMatch{}
}

// rateUnit splits a rate N[/UNIT] into N and the seconds of UNIT, a
// prefix of second, minute, hour or day in any case (1 without a unit),
// as libxt_limit and libxt_hashlimit read it; why says what is wrong.
func rateUnit(s string) (num string, mult uint64, why string) {
	num, unit, slash := strings.Cut(s, "/")
	switch u := strings.ToLower(unit); {
	case !slash:
		return num, 1, ""
	case u == "":
		return num, 0, "no unit after /"
	case strings.HasPrefix("second", u):
		return num, 1, ""
	case strings.HasPrefix("minute", u):
		return num, 60, ""
	case strings.HasPrefix("hour", u):
		return num, 3600, ""
	case strings.HasPrefix("day", u):
		return num, 86400, ""
	}
	return num, 0, "unknown unit"
}

// limitRate parses a --limit rate as libxt_limit does: an integer (atoi:
// leading digits, the rest ignored), then optionally "/" and a prefix of
// second, minute, hour or day (any case). The value is the average
// interval in 1/10000 s; ok is false, with why, for what iptables refuses.
func limitRate(s string) (v uint32, ok bool, why string) {
	num, mult, why := rateUnit(s)
	if why != "" {
		return 0, false, why
	}
	r := uint64(0)
	for _, c := range []byte(num) {
		if c < '0' || c > '9' || r > 1<<32 {
			break
		}
		r = r*10 + uint64(c-'0')
	}
	if r == 0 || r >= 1<<31 {
		return 0, false, "the rate must be a number from 1"
	}
	if 10000*mult/r == 0 {
		return 0, false, "rate too fast (at most 10000/second)"
	}
	return uint32(10000 * mult / r), true, ""
}

// limitOverflows is xt_limit's check (HZ 250, as Debian's kernels): a
// burst of 0, or credits for avg×burst (u32 arithmetic) below those for
// avg.
func limitOverflows(avg, burst uint32) bool {
	const hz, cpj = 250, 128 // CREDITS_PER_JIFFY for HZ 250
	credits := func(u uint32) uint32 {
		if u > 0xFFFFFFFF/(hz*cpj) {
			return (u / 10000) * hz * cpj
		}
		return (u * hz * cpj) / 10000
	}
	return burst == 0 || credits(avg*burst) < credits(avg)
}

func buildUDP(b *builder, m *Match) MatchSpec {
	s := b.a.udp.put(UDPMatch{})
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "sport":
			s.Sport = b.udpPortSet(op)
		case "dport":
			s.Dport = b.udpPortSet(op)
		}
	}
	if m.Name == "dccp" {
		// DCCP types/options are not modelled: the match is opaque beyond ports.
		for _, op := range m.Options {
			if op.Name != "sport" && op.Name != "dport" {
				return &OpaqueMatch{}
			}
		}
	}
	return s
}

func buildSCTP(b *builder, m *Match) MatchSpec {
	s := &SCTPMatch{}
	for i := range m.Options {
		op := &m.Options[i]
		if !b.ports(op, "sctp", &s.Sport, &s.Dport) && op.Name == "chunk-types" {
			s.Chunks = op
			b.checkSCTPChunks(op)
		}
	}
	return s
}

func buildMultiport(b *builder, m *Match) MatchSpec {
	s := &MultiportMatch{}
	n := 0
	// libxt_multiport resolves a service name for the rule's protocol
	// (getservbyname(3)): a udp-only name does not load with -p tcp, and
	// dccp and udplite have no names.
	svc := svcTCPorUDP
	if p := b.rule.Proto; p != nil && !p.Neg && multiportProto(p.Num) {
		svc = protoName(p.Num)
	}
	for i := range m.Options {
		op := &m.Options[i]
		ranges, err := parsePortList(arg(op), svc)
		if err != nil {
			b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
			continue
		}
		ps := &PortSet{Neg: op.Neg, Ranges: ranges, Pos: op.Pos}
		n++
		switch op.Name {
		case "sports":
			s.Src = ps
		case "dports":
			s.Dst = ps
		case "ports":
			s.Any = ps
		}
	}
	if n > 1 {
		b.errf(m.Pos, ErrBadOption, "multiport takes only one of --sports, --dports, --ports")
	}
	if n == 0 && len(b.errs.Errors()) == 0 {
		b.errf(m.Pos, ErrBadOption, "multiport needs --sports, --dports or --ports")
	}
	if p := b.rule.Proto; p == nil || p.Neg || !multiportProto(p.Num) {
		b.errf(m.Pos, ErrBadOption, "multiport needs -p tcp, udp, udplite, sctp or dccp")
	} else if first := firstOpt(m.Options); first != nil && b.protoBefore(first.Pos) == nil {
		b.errf(p.Pos, ErrBadOption, "-p %s comes after multiport's --%s: iptables reads the protocol when it parses --%s and refuses the rule (expected -p before -m multiport)", p.Name, first.Name, first.Name)
	}
	return s
}

// mandatory are the options an extension refuses to go without
// (libxtables' XTOPT_MAND, or the final check's "you must specify"):
// needOne for one of a set, needAny for at least one.
func mandatory() {
	all := func(d *moduleDef) []string {
		var names []string
		for _, o := range d.opts {
			names = append(names, o.names[0])
		}
		return names
	}
	for name, g := range map[string]optGroup{
		"pkttype": needOne("pkt-type"), "length": needOne("length"), "tos": needOne("tos"),
		"icmp": needOne("icmp-type"), "icmp6": needOne("icmpv6-type"), "ipv6header": needOne("header"),
		"helper": needOne("helper"), "realm": needOne("realm"),
		"quota": needOne("quota"), "cpu": needOne("cpu"), "u32": needOne("u32"),
		"iprange": needAny("src-range", "dst-range"), "devgroup": needAny("src-group", "dst-group"),
		"cgroup": needOne("path", "cgroup"),
	} {
		matchModules[name].groups = append(matchModules[name].groups, g)
	}
	// libxt_cluster: the number of nodes and the seed are mandatory, and
	// the local node is given one way.
	matchModules["cluster"].groups = append(matchModules["cluster"].groups,
		needOne("cluster-total-nodes"), needOne("cluster-hash-seed"), needOne("cluster-local-node", "cluster-local-nodemask"))
	ct := matchModules["conntrack"]
	ct.groups = append(ct.groups, needAny(all(ct)...))
	for name, gs := range map[string][]optGroup{
		"TOS":       {needOne("set-tos", "and-tos", "or-tos", "xor-tos")},
		"DSCP":      {needOne("set-dscp", "set-dscp-class")},
		"TTL":       {needOne("ttl-set", "ttl-dec", "ttl-inc")},
		"HL":        {needOne("hl-set", "hl-dec", "hl-inc")},
		"CLASSIFY":  {needOne("set-class")},
		"AUDIT":     {needOne("type")},
		"CHECKSUM":  {needOne("checksum-fill")},
		"IDLETIMER": {needOne("label"), needOne("timeout")},
		"TEE":       {needOne("gateway")},
		"NFQUEUE":   {alsoNeeds("queue-cpu-fanout", "queue-balance")},
	} {
		targetDefs[name].groups = append(targetDefs[name].groups, gs...)
	}
}

// firstOpt returns the first option, or nil.
func firstOpt(opts []Option) *Option {
	if len(opts) == 0 {
		return nil
	}
	return &opts[0]
}

// protoBefore returns the rule's -p when it comes before pos on the line:
// the extensions that read it while they parse their options (multiport's
// ports, the NAT targets' ports) see only a -p given earlier.
func (b *builder) protoBefore(pos Pos) *ProtoMatch {
	if p := b.rule.Proto; p != nil && p.Pos.Line == pos.Line && p.Pos.Col < pos.Col {
		return p
	}
	return nil
}

func multiportProto(n uint8) bool {
	return n == 6 || n == 17 || n == 136 || n == 132 || n == 33
}

func buildICMP(b *builder, m *Match) MatchSpec {
	v6 := m.Name != "icmp"
	for i := range m.Options {
		op := &m.Options[i]
		im, err := parseICMPType(arg(op), v6)
		if err != nil {
			b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
			return &ICMPMatch{V6: v6, Any: true, Code: Range{0, 255}}
		}
		im.Neg = op.Neg
		im.Pos = op.Pos
		return &im
	}
	// "-m icmp" without a type matches every ICMP packet.
	return &ICMPMatch{V6: v6, Any: true, Code: Range{0, 255}, Pos: m.Pos}
}

func (b *builder) states(op *Option, ctOnly bool) *StateSet {
	st, err := parseStates(arg(op), ctOnly)
	if err != nil {
		b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
		return nil
	}
	return b.a.stateSets.put(StateSet{Neg: op.Neg, Mask: st, Pos: op.Pos})
}

func buildState(b *builder, m *Match) MatchSpec {
	s := &StateMatch{}
	for i := range m.Options {
		s.State = b.states(&m.Options[i], false)
	}
	if len(m.Options) == 0 {
		b.errf(m.Pos, ErrBadOption, "state needs --state")
	}
	return s
}

func (b *builder) addrSel(op *Option) *AddrSel {
	a, mk, err := parseAddrMask(arg(op), b.family)
	if err != nil {
		b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
		return nil
	}
	return &AddrSel{Neg: op.Neg, Addr: a, Mask: mk, Pos: op.Pos}
}

func buildConntrack(b *builder, m *Match) MatchSpec {
	s := b.a.conntrack.put(ConntrackMatch{})
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "ctstate":
			s.State = b.states(op, true)
		case "ctproto":
			p, err := parseProto(arg(op))
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--ctproto: %v", err)
				continue
			}
			s.Proto = &ProtoMatch{Neg: op.Neg, Num: p, Name: strings.ToLower(arg(op)), Pos: op.Pos}
		case "ctorigsrc":
			s.OrigSrc = b.addrSel(op)
		case "ctorigdst":
			s.OrigDst = b.addrSel(op)
		case "ctreplsrc":
			s.ReplSrc = b.addrSel(op)
		case "ctrepldst":
			s.ReplDst = b.addrSel(op)
		case "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport":
			ps := b.ctPort(op)
			switch op.Name {
			case "ctorigsrcport":
				s.OrigSrcPort = ps
			case "ctorigdstport":
				s.OrigDstPort = ps
			case "ctreplsrcport":
				s.ReplSrcPort = ps
			default:
				s.ReplDstPort = ps
			}
		case "ctstatus":
			st, err := parseStatus(arg(op))
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--ctstatus: %v", err)
				continue
			}
			s.Status = &StatusSet{Neg: op.Neg, Mask: st, Pos: op.Pos}
		case "ctexpire":
			r, err := parseNumRange(arg(op), 0xffffffff)
			if !b.numRangeOK(op, err) {
				continue
			}
			s.Expire = &NumMatch{Neg: op.Neg, Range: r, Pos: op.Pos}
		case "ctdir":
			switch strings.ToUpper(arg(op)) {
			case "ORIGINAL", "REPLY":
				s.Dir = strings.ToUpper(arg(op))
			default:
				b.errf(op.Pos, ErrBadValue, "--ctdir: %q is not ORIGINAL or REPLY", arg(op))
			}
		}
	}
	return s
}

// ctPort parses a conntrack port (or range). iptables reads it with a
// 32-bit parser and stores 16 bits, so 70000 silently becomes 4464, and
// keeps an empty range such as 80:70 that then never matches: both are
// reported.
func (b *builder) ctPort(op *Option) *PortSet {
	s := arg(op)
	lo, hi, isRange := strings.Cut(s, ":")
	parse := func(x string) (uint32, bool) {
		if p, err := parsePort(x, svcTCPorUDP); err == nil {
			return uint32(p), true
		}
		v, err := strconv.ParseUint(x, 10, 32) // decimal, as xtables' port-range type
		if err != nil || x[0] == '+' {
			b.errf(op.Pos, ErrBadValue, "--%s: invalid port %q (expected 0-65535 or LOW:HIGH)", op.Name, x)
			return 0, false
		}
		b.errf(op.Pos, ErrSilentChange, "--%s: port %d is out of range: iptables loads it as %d (expected 0-65535)", op.Name, v, v&0xffff)
		return uint32(v & 0xffff), true
	}
	r := Range{}
	var ok bool
	if r.Lo, ok = parse(lo); !ok {
		return nil
	}
	r.Hi = r.Lo
	if isRange {
		if r.Hi, ok = parse(hi); !ok {
			return nil
		}
		if r.Lo > r.Hi {
			b.errf(op.Pos, ErrSilentChange, "--%s: empty port range %q: iptables loads it but it never matches (expected LOW:HIGH with LOW <= HIGH)", op.Name, s)
		}
	}
	return b.portSetOf(op, r)
}

func buildAddrtype(b *builder, m *Match) MatchSpec {
	s := b.a.addrtypes.put(AddrtypeMatch{})
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "src-type", "dst-type":
			t, err := parseAddrTypes(arg(op))
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
				continue
			}
			set := b.a.atSets.put(AddrTypeSet{Neg: op.Neg, Mask: t, Pos: op.Pos})
			if op.Name == "src-type" {
				s.Src = set
			} else {
				s.Dst = set
			}
		case "limit-iface-in":
			s.LimitIfaceIn = true
		case "limit-iface-out":
			s.LimitIfaceOut = true
		}
	}
	return s
}

func buildIPRange(b *builder, m *Match) MatchSpec {
	s := &IPRangeMatch{}
	for i := range m.Options {
		op := &m.Options[i]
		lo, hi, isRange := strings.Cut(arg(op), "-")
		if !isRange {
			hi = lo
		}
		l, err1 := netip.ParseAddr(lo)
		h, err2 := netip.ParseAddr(hi)
		if err1 != nil || err2 != nil || l.Is6() != (b.family == IPv6) || h.Is6() != (b.family == IPv6) {
			b.errf(op.Pos, ErrBadValue, "--%s: invalid range %q (expected FROM-TO with %s addresses)", op.Name, arg(op), b.family)
			continue
		}
		if l.Compare(h) > 0 {
			// libxt_iprange warns "range ... is reversed and will never
			// match" and loads it: no address matches, every address
			// does with '!'.
			what := "no address"
			if op.Neg {
				what = "every address"
			}
			b.errf(op.Pos, ErrSilentChange, "--%s: range %q is reversed: iptables loads it and it matches %s (expected FROM-TO with FROM <= TO)", op.Name, arg(op), what)
		}
		r := &AddrRange{Neg: op.Neg, Lo: l, Hi: h, Pos: op.Pos}
		if op.Name == "src-range" {
			s.Src = r
		} else {
			s.Dst = r
		}
	}
	return s
}

func buildMAC(b *builder, m *Match) MatchSpec {
	s := &MACMatch{}
	for i := range m.Options {
		op := &m.Options[i]
		mac, err := parseMAC(arg(op))
		if err != nil {
			b.errf(op.Pos, ErrBadValue, "--mac-source: %v", err)
			continue
		}
		*s = MACMatch{Neg: op.Neg, MAC: mac, Pos: op.Pos}
	}
	return s
}

func buildMark(b *builder, m *Match) MatchSpec {
	s := b.a.marks.put(MarkMatch{Conn: m.Name == "connmark", Mask: 0xffffffff})
	for i := range m.Options {
		op := &m.Options[i]
		v, mk, err := parseMark(arg(op))
		if err != nil {
			b.errf(op.Pos, ErrBadValue, "--mark: %v", err)
			continue
		}
		s.Neg, s.Value, s.Mask, s.Pos = op.Neg, v, mk, op.Pos
	}
	return s
}

func buildComment(b *builder, m *Match) MatchSpec {
	s := b.a.comments.put(CommentMatch{})
	for i := range m.Options {
		op := &m.Options[i]
		s.Text = arg(op)
		// libxt_comment copies at most 255 bytes and loads the rule.
		if len(s.Text) > 255 {
			b.errf(op.Pos, ErrSilentChange, "--comment: comment is %d bytes long: iptables loads only its first 255 bytes", len(s.Text))
			s.Text = s.Text[:255]
		}
	}
	return s
}

func buildPhysdev(b *builder, m *Match) MatchSpec {
	s := &PhysdevMatch{}
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "physdev-in", "physdev-out":
			im := b.a.ifaces.put(ifaceMatch(arg(op), op.Neg, op.Pos))
			if op.Name == "physdev-in" {
				s.In = im
			} else {
				s.Out = im
			}
		case "physdev-is-in":
			s.IsIn = &Flag{Neg: op.Neg, Pos: op.Pos}
		case "physdev-is-out":
			s.IsOut = &Flag{Neg: op.Neg, Pos: op.Pos}
		case "physdev-is-bridged":
			s.IsBridged = &Flag{Neg: op.Neg, Pos: op.Pos}
		}
	}
	return s
}

func buildSet(b *builder, m *Match) MatchSpec {
	s := &SetMatch{}
	for i := range m.Options {
		op := &m.Options[i]
		if op.Name == "match-set" || op.Name == "set" {
			s.Neg, s.Name, s.Pos = op.Neg, op.Args[0], op.Pos
			s.Flags = strings.Split(op.Args[1], ",")
			for _, f := range s.Flags {
				if f != "src" && f != "dst" {
					b.errf(op.Pos, ErrBadValue, "--match-set: flag %q is not src or dst", f)
				}
			}
		}
	}
	if s.Name == "" {
		b.errf(m.Pos, ErrBadOption, "set needs --match-set NAME src|dst")
	}
	return s
}

func buildPkttype(b *builder, m *Match) MatchSpec {
	s := &PkttypeMatch{}
	for _, op := range m.Options {
		t := strings.ToLower(arg(&op))
		switch t {
		case "unicast", "broadcast", "multicast", "host", "otherhost":
			if t == "host" {
				t = "unicast"
			}
			*s = PkttypeMatch{Neg: op.Neg, Type: t, Pos: op.Pos}
		default:
			b.errf(op.Pos, ErrBadValue, "--pkt-type: %q is not unicast, broadcast or multicast", arg(&op))
		}
	}
	return s
}

// numRangeOK reports a parseNumRange error of op and whether the range
// is to be kept: an empty range (LO above HI) loads, and is reported as
// never matching (always, with '!').
func (b *builder) numRangeOK(op *Option, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errEmptyRange):
		what := "never matches"
		if op.Neg {
			what = "always matches"
		}
		b.errf(op.Pos, ErrSilentChange, "--%s: %v: iptables loads it but it %s (expected LOW:HIGH with LOW <= HIGH)", op.Name, err, what)
		return true
	}
	b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
	return false
}

func buildLength(b *builder, m *Match) MatchSpec {
	s := &LengthMatch{}
	for _, op := range m.Options {
		r, err := parseNumRange(arg(&op), 65535)
		if !b.numRangeOK(&op, err) {
			continue
		}
		s.Length = NumMatch{Neg: op.Neg, Range: r, Pos: op.Pos}
	}
	return s
}

func buildTTL(b *builder, m *Match) MatchSpec {
	s := &TTLMatch{HL: m.Name == "hl"}
	for _, op := range m.Options {
		v, err := parseUint(arg(&op), 255)
		if err != nil {
			b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
			continue
		}
		s.Op = op.Name[len(op.Name)-2:]
		s.Neg, s.Value, s.Pos = op.Neg, uint8(v), op.Pos
	}
	if s.Op == "" {
		s.Op = "eq" // reported by the module's option group
	}
	return s
}

var tosNames = map[string]uint8{
	"minimize-delay": 0x10, "maximize-throughput": 0x08, "maximize-reliability": 0x04,
	"minimize-cost": 0x02, "normal-service": 0x00,
}

var dscpClasses = map[string]uint8{
	"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56,
	"af11": 10, "af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22,
	"af31": 26, "af32": 28, "af33": 30, "af41": 34, "af42": 36, "af43": 38,
	"ef": 46, "be": 0,
}

func buildTOS(b *builder, m *Match) MatchSpec {
	s := &TOSMatch{DSCP: m.Name == "dscp", Mask: 0xff}
	for _, op := range m.Options {
		a := arg(&op)
		s.Neg, s.Pos = op.Neg, op.Pos
		switch op.Name {
		case "tos":
			if v, ok := tosNames[strings.ToLower(a)]; ok {
				s.Value, s.Mask = v, 0x3f
				continue
			}
			v, mk, err := parseMark(a)
			if err != nil || v > 255 || (strings.Contains(a, "/") && mk > 255) {
				b.errf(op.Pos, ErrBadValue, "--tos: invalid value %q (expected a name or VALUE[/MASK] up to 0xff)", a)
				continue
			}
			s.Value = uint8(v)
			if strings.Contains(a, "/") {
				s.Mask = uint8(mk)
			}
		case "dscp":
			v, err := parseUint(a, 63)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--dscp: %v (expected 0-63)", err)
				continue
			}
			s.Value = uint8(v)
		case "dscp-class":
			v, ok := dscpClasses[strings.ToLower(a)]
			if !ok {
				b.errf(op.Pos, ErrBadValue, "--dscp-class: unknown class %q (expected e.g. EF, AF41, CS1)", a)
				continue
			}
			s.Value = v
		}
	}
	return s
}

// hashlimitModes are the fields --hashlimit-mode takes, comma-separated.
var hashlimitModes = []string{"srcip", "srcport", "dstip", "dstport"}

// buildHashlimit checks --hashlimit-mode as libxt_hashlimit does
// (case-sensitive names; an empty item, as in "srcip,", is skipped); the
// match itself is opaque (its outcome depends on time).
func buildHashlimit(b *builder, m *Match) MatchSpec {
	bits := uint64(32)
	if b.family == IPv6 {
		bits = 128
	}
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "hashlimit-srcmask", "hashlimit-dstmask":
			// A prefix length or a contiguous mask (plenMask); the
			// kernel refuses more than the address's bits.
			if _, contiguous, err := plenMask(arg(op), int(bits)); err != nil || !contiguous {
				b.errf(op.Pos, ErrBadValue, "-m hashlimit: --%s %q: the kernel refuses it (expected a prefix length 0-%d or a mask of contiguous bits)", op.Name, arg(op), bits)
			}
			continue
		case "hashlimit-burst":
			// libxt_hashlimit takes 1 to 1,000,000 packets; a rate in
			// bytes takes a size instead.
			if !slices.ContainsFunc(m.Options, func(o Option) bool {
				return strings.HasPrefix(o.Name, "hashlimit") && strings.Contains(strings.ToLower(arg(&o)), "b/")
			}) {
				b.uintIn(op, 1, 1000000, "-m hashlimit", "iptables refuses it")
			}
			continue
		}
		if op.Name != "hashlimit-mode" {
			continue
		}
		for _, f := range strings.Split(arg(op), ",") {
			if f != "" && !slices.Contains(hashlimitModes, f) {
				b.errf(op.Pos, ErrBadValue, "--hashlimit-mode: unknown mode %q: iptables refuses it (expected srcip, srcport, dstip or dstport, separated by commas)", f)
				break
			}
		}
	}
	return &OpaqueMatch{}
}

// buildNFQueue checks NFQUEUE's queue numbers as libxt_NFQUEUE does: each
// 0-65535, and --queue-balance a range LOW:HIGH with LOW below HIGH.
func buildNFQueue(b *builder, t *Target) TargetSpec {
	q := &NFQueueTarget{}
	for i := range t.Options {
		op := &t.Options[i]
		switch op.Name {
		case "queue-bypass":
			q.Bypass = true
		case "queue-num":
			if _, err := parseUint(arg(op), 65535); err != nil {
				b.errf(op.Pos, ErrBadValue, "--queue-num: %v (expected a queue number 0-65535)", err)
			}
		case "queue-balance":
			lo, hi, ok := strings.Cut(arg(op), ":")
			l, err1 := parseUint(lo, 65535)
			h, err2 := parseUint(hi, 65535)
			switch {
			case !ok:
				b.errf(op.Pos, ErrBadValue, "--queue-balance: %q is no range: iptables refuses it (expected LOW:HIGH, queue numbers 0-65535)", arg(op))
			case err1 != nil || err2 != nil:
				b.errf(op.Pos, ErrBadValue, "--queue-balance: %v (expected LOW:HIGH, queue numbers 0-65535)", firstErr(err1, err2))
			case l >= h:
				b.errf(op.Pos, ErrBadValue, "--queue-balance: %d is not below %d: iptables refuses it (expected LOW:HIGH with LOW below HIGH)", l, h)
			}
		}
	}
	return q
}

func buildRecent(b *builder, m *Match) MatchSpec {
	// xt_recent refuses the options that qualify a check (--seconds,
	// --hitcount, --rttl, --reap) with --set or --remove, which record
	// and check nothing; libxt_recent itself refuses --rttl there.
	var record *Option
	for i := range m.Options {
		op := &m.Options[i]
		// Values as libxt_recent and xt_recent take them (the kernel
		// oracle: --seconds 0 and a --hitcount of 65536 are refused, as
		// is an empty --name).
		switch a := arg(op); op.Name {
		case "seconds":
			if n, err := parseUint(a, 1<<32-1); err != nil || n == 0 {
				b.errf(op.Pos, ErrBadValue, "-m recent: --seconds %q: iptables refuses it (expected a number of seconds from 1 to 4294967295)", a)
			}
		case "hitcount":
			if n, err := parseUint(a, 1<<32-1); err != nil {
				b.errf(op.Pos, ErrBadValue, "-m recent: --hitcount %q: iptables refuses it (expected a number from 0 to 65535)", a)
			} else if n > 65535 {
				b.errf(op.Pos, ErrBadValue, "-m recent: --hitcount %d: the kernel refuses it (xt_recent keeps at most 65535 timestamps an address; expected 0 to 65535)", n)
			}
		case "name":
			if a == "" {
				b.errf(op.Pos, ErrBadValue, "-m recent: --name \"\": the kernel refuses an empty list name (expected a name, or no --name for DEFAULT)")
			}
		}
		switch op.Name {
		case "set", "remove":
			record = op
		case "seconds", "hitcount", "rttl", "reap":
			if record != nil {
				b.errf(op.Pos, ErrBadOption, "-m recent: --%s with --%s: the kernel refuses it (it qualifies --rcheck or --update only)", op.Name, record.Name)
			}
		}
	}
	if record != nil {
		for i := range m.Options {
			op := &m.Options[i]
			if op.Pos.Col < record.Pos.Col && (op.Name == "seconds" || op.Name == "hitcount" || op.Name == "rttl" || op.Name == "reap") {
				b.errf(op.Pos, ErrBadOption, "-m recent: --%s with --%s: the kernel refuses it (it qualifies --rcheck or --update only)", op.Name, record.Name)
			}
		}
	}
	// "--set" and "--remove" alone always match (they only record);
	// rcheck/update depend on the table's state.
	for _, op := range m.Options {
		if op.Name == "rcheck" || op.Name == "update" {
			return &OpaqueMatch{}
		}
	}
	return &OpaqueMatch{AlwaysTrue: true}
}

// oneWord checks that an option's value is one of words, compared as the
// extension does (case-sensitive), and reports it otherwise.
func (b *builder) oneWord(ext string, op *Option, words ...string) bool {
	if slices.Contains(words, arg(op)) {
		return true
	}
	b.errf(op.Pos, ErrBadValue, "-m %s: --%s %q: iptables refuses it (expected %s; the value is case-sensitive)", ext, op.Name, arg(op), strings.Join(words, ", "))
	return false
}

// buildStatistic checks what libxt_statistic checks: the mode, a
// probability between 0 and 1 for random, --every N >= 1 and --packet
// below N for nth.
func buildStatistic(b *builder, m *Match) MatchSpec {
	var mode, every, packet *Option
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "mode":
			if b.oneWord("statistic", op, "random", "nth") {
				mode = op
			}
		case "probability":
			// strtod: decimal or hexadecimal, as ParseFloat reads them.
			if p, err := strconv.ParseFloat(arg(op), 64); err != nil || !(p >= 0 && p <= 1) {
				b.errf(op.Pos, ErrBadValue, "-m statistic: --probability %q: iptables refuses it (expected a number from 0 to 1)", arg(op))
			}
		case "every":
			every = op
		case "packet":
			packet = op
		}
	}
	n, nOK := uint64(0), false
	if every != nil {
		v, err := parseUintBase(arg(every), 0, 0xffffffff)
		if err != nil || v == 0 {
			b.errf(every.Pos, ErrBadValue, "-m statistic: --every %q: iptables refuses it (expected 1-4294967295)", arg(every))
		} else {
			n, nOK = v, true
		}
	}
	if packet != nil {
		v, err := parseUintBase(arg(packet), 0, 0xffffffff)
		switch {
		case err != nil:
			b.errf(packet.Pos, ErrBadValue, "-m statistic: --packet %q: iptables refuses it (expected 0-4294967295)", arg(packet))
		case nOK && v >= n:
			b.errf(packet.Pos, ErrBadValue, "-m statistic: --packet %d with --every %d: iptables refuses it (expected 0 to %d)", v, n, n-1)
		}
	}
	if mode != nil {
		switch {
		case arg(mode) == "random" && !slices.ContainsFunc(m.Options, func(o Option) bool { return o.Name == "probability" }):
			b.errf(mode.Pos, ErrBadOption, "-m statistic --mode random needs --probability: iptables refuses the rule without it")
		case arg(mode) == "nth" && every == nil:
			b.errf(mode.Pos, ErrBadOption, "-m statistic --mode nth needs --every and --packet: iptables refuses the rule without them")
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildTime checks --weekdays as libxt_time reads it: numbers 1 (Monday)
// to 7, or names of which it compares the first two letters,
// case-sensitive (Mo, Mon and Monday; not mon or M).
func buildTime(b *builder, m *Match) MatchSpec {
	// libxt_time refuses --contiguous unless the time of day wraps
	// around midnight (--timestop before --timestart).
	if t, ok := readTimeMatch(m); ok && t.contiguous && t.start < t.stop {
		for i := range m.Options {
			if op := &m.Options[i]; op.Name == "contiguous" {
				b.errf(op.Pos, ErrBadOption, "-m time: --contiguous with a --timestop after --timestart: iptables refuses it (\"--contiguous only makes sense when stoptime is smaller than starttime\")")
			}
		}
	}
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "timestart", "timestop":
			if !validDaytime(arg(op)) {
				b.errf(op.Pos, ErrBadValue, "-m time: --%s %q: iptables refuses it (expected hh:mm[:ss], 00:00 to 23:59:59)", op.Name, arg(op))
			}
			continue
		case "datestart", "datestop":
			if !validTimeDate(arg(op)) {
				b.errf(op.Pos, ErrBadValue, "-m time: --%s %q: iptables refuses it (expected YYYY[-MM[-DD[Thh[:mm[:ss]]]]] of a year from 1970 to 2038)", op.Name, arg(op))
			}
			continue
		case "monthdays":
			for _, d := range strings.Split(arg(op), ",") {
				v, err := strconv.ParseUint(d, 10, 8)
				switch {
				case d == "":
				case err != nil || v > 31:
					b.errf(op.Pos, ErrBadValue, "-m time: --monthdays: %q is not a day of the month: iptables refuses it (expected 1-31)", d)
				case v == 0:
					// Bit 0 of the mask, which no day has.
					b.errf(op.Pos, ErrSilentChange, "-m time: --monthdays: day 0: iptables loads it as no day of the month, so it matches on no day (expected 1-31)")
				default:
					continue
				}
				break
			}
			continue
		case "weekdays":
		default:
			continue
		}
		for _, day := range strings.Split(arg(op), ",") {
			if day == "" {
				continue
			}
			if day[0] >= '0' && day[0] <= '9' {
				switch v, err := strconv.ParseUint(day, 10, 32); {
				case err != nil || v == 0:
					b.errf(op.Pos, ErrBadValue, "-m time: --weekdays: day %q: iptables refuses it (expected 1 (Monday) to 7, or Mon to Sun)", day)
				case v > 7:
					// libxt_time sets bit v of the mask, which no day
					// has: the rule loads and the day matches nothing.
					b.errf(op.Pos, ErrSilentChange, "-m time: --weekdays: day %q: iptables loads it as no day of the week, so it matches on no day (expected 1 (Monday) to 7)", day)
				}
				continue
			}
			if len(day) < 2 || !slices.Contains([]string{"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}, day[:2]) {
				b.errf(op.Pos, ErrBadValue, "-m time: --weekdays: day %q: iptables refuses it (expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, read by their first two letters, case-sensitive; or 1-7)", day)
			}
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// timeMatch is -m time as libxt_time stores it.
type timeMatch struct {
	start, stop          uint32 // seconds of the day
	monthdays, weekdays  uint32 // bit d for day d
	dateStart, dateStop  int64  // Unix seconds
	kernelTZ, contiguous bool
}

const (
	allMonthdays = 0xfffffffe // days 1-31
	allWeekdays  = 0xfe       // days 1 (Monday) to 7
	// timeDateStop is the --datestop the kernel gives back by default
	// (2038-01-19T03:14:07: 2^31-1 seconds).
	timeDateStop = 1<<31 - 1
)

// readTimeMatch reads m's options as libxt_time does (in order: --utc,
// --localtz and --kerneltz set the time zone, the last one winning), or
// reports false when one does not read.
func readTimeMatch(m *Match) (timeMatch, bool) {
	t := timeMatch{stop: 86399, monthdays: allMonthdays, weekdays: allWeekdays, dateStop: timeDateStop}
	for i := range m.Options {
		op := &m.Options[i]
		a := arg(op)
		switch op.Name {
		case "timestart", "timestop":
			if !validDaytime(a) {
				return t, false
			}
			var v uint32
			parts := strings.Split(a, ":")
			for k, p := range []uint32{3600, 60, 1} {
				if k < len(parts) {
					n, _ := strconv.ParseUint(parts[k], 10, 32)
					v += uint32(n) * p
				}
			}
			if op.Name == "timestart" {
				t.start = v
			} else {
				t.stop = v
			}
		case "datestart", "datestop":
			d, ok := timeDate(a)
			if !ok {
				return t, false
			}
			if op.Name == "datestart" {
				t.dateStart = d
			} else {
				t.dateStop = d
			}
		case "monthdays", "weekdays":
			var mask uint32
			for _, d := range strings.Split(a, ",") {
				if d == "" {
					continue
				}
				if op.Name == "weekdays" && (d[0] < '0' || d[0] > '9') {
					i := slices.Index([]string{"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}, d[:min(2, len(d))])
					if i < 0 {
						return t, false
					}
					mask |= 1 << (i + 1)
					continue
				}
				v, err := strconv.ParseUint(d, 10, 32)
				if err != nil || v > 31 {
					return t, false
				}
				mask |= 1 << v
			}
			all := uint32(allMonthdays)
			if op.Name == "weekdays" {
				all = allWeekdays
			}
			if op.Neg {
				mask = ^mask & all
			}
			if op.Name == "monthdays" {
				t.monthdays = mask
			} else {
				t.weekdays = mask
			}
		case "kerneltz", "localtz":
			t.kernelTZ = true
		case "utc":
			t.kernelTZ = false
		case "contiguous":
			t.contiguous = true
		}
	}
	return t, true
}

// timeDate reads a --datestart or --datestop as libxt_time does:
// YYYY[-MM[-DD[Thh[:mm[:ss]]]]], in UTC.
func timeDate(s string) (int64, bool) {
	for _, l := range []string{"2006", "2006-01", "2006-01-02", "2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1970 || t.Year() > 2038 {
				return 0, false
			}
			return t.Unix(), true
		}
	}
	return 0, false
}

// validDaytime reports whether s is a time of day as libxt_time reads
// it: hh:mm[:ss], hours below 24, minutes and seconds below 60.
func validDaytime(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil || p == "" || (i == 0 && v > 23) || (i > 0 && v > 59) {
			return false
		}
	}
	return true
}

// validTimeDate reports whether s is a date as libxt_time reads it:
// YYYY[-MM[-DD[Thh[:mm[:ss]]]]], of a year from 1970 to 2038.
func validTimeDate(s string) bool {
	layouts := []string{"2006", "2006-01", "2006-01-02", "2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Year() >= 1970 && t.Year() <= 2038
		}
	}
	return false
}

// buildString checks --algo: the kernel knows the text search algorithms
// bm and kmp, by those names.
func buildString(b *builder, m *Match) MatchSpec {
	var from, to *Option
	for i := range m.Options {
		switch op := &m.Options[i]; op.Name {
		case "algo":
			b.oneWord("string", op, "bm", "kmp")
		case "hex-string":
			if _, err := stringPattern(arg(op)); err != nil {
				b.errf(op.Pos, ErrBadValue, "-m string: --hex-string %q: iptables refuses it: %v", arg(op), err)
			}
		case "string":
			if _, err := checkPattern([]byte(arg(op))); err != nil || arg(op) == "" {
				b.errf(op.Pos, ErrBadValue, "-m string: --string: iptables refuses an empty pattern, or one of more than 128 bytes (this one has %d)", len(arg(op)))
			}
		case "from":
			from = op
		case "to":
			to = op
		}
	}
	if from != nil && to != nil {
		f, err1 := parseUintBase(arg(from), 0, 0xffff)
		t, err2 := parseUintBase(arg(to), 0, 0xffff)
		if err1 == nil && err2 == nil && f > t {
			b.errf(to.Pos, ErrBadValue, "-m string: --from %d is past --to %d: the kernel refuses it (expected --from <= --to)", f, t)
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildCT checks CT's zones (an ID up to 65535, or "mark" for the
// direction options) and that a --helper has a protocol to look its
// helper up by (the kernel refuses one without -p: the oracle saw it).
func buildCT(b *builder, t *Target) TargetSpec {
	s := &CTTarget{}
	for i := range t.Options {
		op := &t.Options[i]
		a := arg(op)
		switch op.Name {
		case "notrack":
			s.NoTrack = true
		case "zone", "zone-orig", "zone-reply":
			if a == "mark" {
				continue
			}
			if n, err := parseUint(a, 1<<32-1); err != nil || n > 65535 {
				b.errf(op.Pos, ErrBadValue, "-j CT: --%s %q: iptables refuses it (expected a zone ID from 0 to 65535, or mark)", op.Name, a)
			}
		case "helper":
			if p := b.rule.Proto; p == nil || p.Neg || p.Num == 0 {
				b.errf(op.Pos, ErrBadOption, "-j CT --helper %s without a protocol: the kernel refuses it (expected -p tcp or -p udp, as the helper's)", a)
			}
		}
	}
	return s
}

// buildCluster checks -m cluster's numbers as libxt_cluster does: the
// number of nodes and the local node (or node mask) from 1 to 32, the
// local node no higher than the number of nodes, the seed a 32-bit
// number. Which packets a node takes depends on a hash of their
// connection: the match is opaque.
func buildCluster(b *builder, m *Match) MatchSpec {
	var total, local uint64
	var localOp *Option
	for i := range m.Options {
		op := &m.Options[i]
		a := arg(op)
		switch op.Name {
		case "cluster-total-nodes", "cluster-local-node", "cluster-local-nodemask":
			n, err := parseUint(a, 1<<32-1)
			if err != nil || n < 1 || n > 32 {
				b.errf(op.Pos, ErrBadValue, "-m cluster: --%s %q: iptables refuses it (expected a number from 1 to 32)", op.Name, a)
				continue
			}
			switch op.Name {
			case "cluster-total-nodes":
				total = n
			case "cluster-local-node":
				local, localOp = n, op
			}
		case "cluster-hash-seed":
			if _, err := parseUint(a, 1<<32-1); err != nil {
				b.errf(op.Pos, ErrBadValue, "-m cluster: --cluster-hash-seed %q: iptables refuses it (expected a 32-bit number)", a)
			}
		}
	}
	if total > 0 && localOp != nil && local > total {
		b.errf(localOp.Pos, ErrBadValue, "-m cluster: --cluster-local-node %d is above --cluster-total-nodes %d: iptables refuses it", local, total)
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildConnbytes checks the words libxt_connbytes takes.
func buildConnbytes(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		switch op := &m.Options[i]; op.Name {
		case "connbytes-dir":
			b.oneWord("connbytes", op, "original", "reply", "both")
		case "connbytes-mode":
			b.oneWord("connbytes", op, "packets", "bytes", "avgpkt")
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildPolicy checks the words and the combinations libxt_policy
// refuses; checkRule checks the hooks of --dir.
func buildPolicy(b *builder, m *Match) MatchSpec {
	var pol, strict *Option
	// Each element (--next starts one) with --tunnel-src or --tunnel-dst
	// needs --mode tunnel.
	var tunnelOpt *Option
	tunnel := false
	element := func() {
		if tunnelOpt != nil && !tunnel {
			b.errf(tunnelOpt.Pos, ErrBadOption, "-m policy: --%s without --mode tunnel: iptables refuses it (expected --mode tunnel in the same element)", tunnelOpt.Name)
		}
		tunnelOpt, tunnel = nil, false
	}
	defer element()
	for i := range m.Options {
		switch op := &m.Options[i]; op.Name {
		case "next":
			element()
		case "tunnel-src", "tunnel-dst":
			if tunnelOpt == nil {
				tunnelOpt = op
			}
		case "dir":
			b.oneWord("policy", op, "in", "out")
		case "pol":
			if b.oneWord("policy", op, "ipsec", "none") {
				pol = op
			}
		case "strict":
			strict = op
		case "mode":
			b.oneWord("policy", op, "tunnel", "transport")
			tunnel = arg(op) == "tunnel"
		case "proto":
			// A protocol name (getprotobyname, lower case) or number,
			// which must be AH, ESP or IPComp.
			switch v := arg(op); v {
			case "ah", "esp", "ipcomp", "51", "50", "108":
			default:
				b.errf(op.Pos, ErrBadValue, "-m policy: --proto %q: iptables refuses it (expected ah, esp or ipcomp, or 51, 50 or 108)", v)
			}
		}
	}
	if pol != nil && strict != nil && arg(pol) == "none" {
		b.errf(strict.Pos, ErrBadOption, "-m policy: --strict with --pol none: iptables refuses it (expected --pol ipsec, or no --strict)")
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// uintIn checks that an option's value is a number from lo to hi, read
// in base 0 as libxtables reads numbers, and reports it otherwise (who
// refuses it: iptables, or the kernel's check).
func (b *builder) uintIn(op *Option, lo, hi uint64, ext, who string) (uint64, bool) {
	v, err := parseUintBase(arg(op), 0, hi)
	if err != nil || v < lo {
		b.errf(op.Pos, ErrBadValue, "%s: --%s %q: %s (expected %d-%d)", ext, op.Name, arg(op), forFamily(b.family, who, false), lo, hi)
		return 0, false
	}
	return v, true
}

// numRange parses LO<sep>HI, or a single value, as numbers in base up
// to max; ok is false when either is no such number.
func numRange(s, sep string, base int, max uint64) (lo, hi uint64, ok bool) {
	l, h, isRange := strings.Cut(s, sep)
	if !isRange {
		h = l
	}
	lo, err1 := parseUintBase(l, base, max)
	hi, err2 := parseUintBase(h, base, max)
	return lo, hi, err1 == nil && err2 == nil
}

// reversedRange reports a numeric range whose first value is above its
// last (who refuses it: iptables, or the kernel's check); values that are
// no numbers (names) are left to the extension's own checks.
func (b *builder) reversedRange(ext string, op *Option, sep string, base int, max uint64, who string) {
	if lo, hi, ok := numRange(arg(op), sep, base, max); ok && lo > hi {
		b.errf(op.Pos, ErrBadValue, "%s: --%s %q: the range is reversed: %s refuses it (expected LOW%sHIGH with LOW <= HIGH)", ext, op.Name, arg(op), forFamily(b.family, who, false), sep)
	}
}

// buildOwner checks the ranges of --uid-owner and --gid-owner: the
// kernel refuses one whose first id is above its last.
func buildOwner(b *builder, m *Match) MatchSpec {
	gid := false
	for i := range m.Options {
		op := &m.Options[i]
		switch op.Name {
		case "uid-owner", "gid-owner":
			b.reversedRange("-m owner", op, "-", 10, 0xffffffff, "the kernel")
			gid = gid || op.Name == "gid-owner"
		case "suppl-groups":
			// libxt_owner reads the options in order, and refuses this
			// one unless --gid-owner came before it.
			if !gid {
				b.errf(op.Pos, ErrBadOption, "-m owner: --suppl-groups before --gid-owner: iptables refuses it (\"you need to use --gid-owner first\"; expected --gid-owner GID --suppl-groups)")
			}
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildTCPMSSMatch checks --mss: a value or range of 0-65535, not
// reversed.
func buildTCPMSSMatch(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		op := &m.Options[i]
		if _, _, ok := numRange(arg(op), ":", 0, 65535); !ok {
			b.errf(op.Pos, ErrBadValue, "-m tcpmss: --mss %q: iptables refuses it (expected VALUE or MIN:MAX, 0-65535)", arg(op))
			continue
		}
		b.reversedRange("-m tcpmss", op, ":", 0, 65535, "iptables")
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildECN checks --ecn-ip-ect (0-3); its TCP options need -p tcp
// (checkMatchProto).
func buildECN(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		if op := &m.Options[i]; op.Name == "ecn-ip-ect" {
			b.uintIn(op, 0, 3, "-m ecn", "iptables refuses it")
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildTCPMSS checks what the TCPMSS target needs: -p tcp (the kernel
// refuses it otherwise) and an MSS of 0-65535.
func buildTCPMSS(b *builder, t *Target) TargetSpec {
	if p := b.rule.Proto; p == nil || p.Neg || p.Num != 6 {
		b.errf(t.Pos, ErrBadOption, "-j TCPMSS needs -p tcp: the kernel refuses the rule otherwise")
	}
	for i := range t.Options {
		if op := &t.Options[i]; op.Name == "set-mss" {
			b.uintIn(op, 0, 65535, "-j TCPMSS", "iptables refuses it")
		}
	}
	return &ContinueTarget{}
}

// ipv6Headers are the names libip6t_ipv6header takes (case-sensitive),
// with the numbers of the same headers.
var ipv6Headers = []string{"hop", "hop-by-hop", "dst", "ipv6-opts", "route", "ipv6-route", "frag", "ipv6-frag",
	"auth", "ah", "esp", "none", "ipv6-nonxt", "prot", "protocol", "0", "60", "43", "44", "51", "50", "59", "255"}

func buildIPv6Header(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		op := &m.Options[i]
		if op.Name != "header" {
			continue
		}
		for _, h := range strings.Split(arg(op), ",") {
			if !slices.Contains(ipv6Headers, h) {
				b.errf(op.Pos, ErrBadValue, "-m ipv6header: --header: unknown header %q: ip6tables refuses it (expected hop, dst, route, frag, auth, esp, none or prot, case-sensitive)", h)
				break
			}
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildAH: ip6tables' ah takes --ahlen and --ahres besides --ahspi,
// iptables' only --ahspi.
func buildAH(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		if op := &m.Options[i]; op.Name != "ahspi" && b.family == IPv4 {
			b.errf(op.Pos, ErrUnknownOption, "-m ah: --%s is ip6tables' only: iptables refuses it (expected --ahspi)", op.Name)
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildRT: libip6t_rt takes --rt-0-addrs only after --rt-type 0.
func buildRT(b *builder, m *Match) MatchSpec {
	type0 := false
	for i := range m.Options {
		switch op := &m.Options[i]; op.Name {
		case "rt-type":
			v, err := parseUintBase(arg(op), 0, 255)
			type0 = err == nil && v == 0
		case "rt-0-addrs":
			if !type0 {
				b.errf(op.Pos, ErrBadOption, "-m rt: --rt-0-addrs needs --rt-type 0 before it: ip6tables refuses it otherwise")
			}
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildMH checks that an --mh-type range is not reversed.
func buildMH(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		b.reversedRange("-m mh", &m.Options[i], ":", 10, 255, "ip6tables")
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// buildU32 checks --u32's syntax as libxt_u32 parses it.
func buildU32(b *builder, m *Match) MatchSpec {
	for i := range m.Options {
		op := &m.Options[i]
		if at, msg := checkU32(arg(op)); msg != "" {
			b.errf(op.Pos, ErrBadValue, "-m u32: --u32 %q: at char %d: %s: iptables refuses it", arg(op), at, msg)
		}
	}
	return b.a.opaque.put(OpaqueMatch{})
}

// u32Max is libxt_u32's bound on the numbers of a location, the values
// of a test and the tests (XT_U32_MAXSIZE).
const u32Max = 10

// checkU32 reads tests "LOCATION=VALUE[:VALUE][,...]" joined by "&&",
// a location being numbers joined by &, <<, >> and @, numbers as strtoul
// reads them in base 0, blanks anywhere between; it returns the offset
// and description of the first error (msg "" when there is none).
func checkU32(s string) (at int, msg string) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	num := func() bool {
		skip()
		start := i
		switch {
		case i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && isHexDigit(s[i+2]):
			for i += 2; i < len(s) && isHexDigit(s[i]); i++ {
			}
		case i < len(s) && s[i] == '0':
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '7'; i++ {
			}
		default:
			for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			}
		}
		if i == start {
			return false
		}
		_, err := strconv.ParseUint(s[start:i], 0, 32)
		return err == nil
	}
	for tests := 1; ; tests++ {
		skip()
		switch {
		case i >= len(s):
			return i, "abrupt end of input after location specifier"
		case s[i] == '=':
			return i, "location spec missing"
		}
		for nums := 1; ; nums++ {
			if start := i; !num() {
				return start, "not a number or out of range"
			}
			if nums > u32Max {
				return i, "too many operators"
			}
			skip()
			if i >= len(s) {
				return i, "abrupt end of input after location specifier"
			}
			c := s[i]
			if c == '=' {
				i++
				break
			}
			switch {
			case c == '&' || c == '@':
				i++
			case c == '<' || c == '>':
				if i+1 >= len(s) || s[i+1] != c {
					return i + 1, fmt.Sprintf("a second '%c' was expected", c)
				}
				i += 2
			default:
				return i, "expected an operator (&, <<, >>, @) or ="
			}
		}
		for vals := 1; ; vals++ {
			skip()
			if i >= len(s) && vals == 1 {
				return i, "test ended with no value specified"
			}
			if start := i; !num() {
				return start, "not a number or out of range"
			}
			skip()
			if i < len(s) && s[i] == ':' {
				i++
				if start := i; !num() {
					return start, "not a number or out of range"
				}
				skip()
			}
			if i < len(s) && s[i] == ',' {
				if vals == u32Max {
					return i, `too many ","s`
				}
				i++
				continue
			}
			break
		}
		skip()
		if i >= len(s) {
			return 0, ""
		}
		if s[i] != '&' || i+1 >= len(s) || s[i+1] != '&' {
			return i, `expected "," or "&&"`
		}
		if tests == u32Max {
			return i, `too many "&&"s`
		}
		i += 2
	}
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// buildTOSTarget checks -j TOS's values: a TOS name or VALUE[/MASK] up
// to 0xff (a number past it is read as an unknown name).
func buildTOSTarget(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		op := &t.Options[i]
		a := arg(op)
		if _, ok := tosNames[strings.ToLower(a)]; ok && op.Name == "set-tos" {
			continue
		}
		v, mk, err := parseMark(a)
		if err != nil || v > 255 || (strings.Contains(a, "/") && mk > 255) {
			b.errf(op.Pos, ErrBadValue, "-j TOS: --%s %q: iptables refuses it (expected a TOS name or VALUE[/MASK] up to 0xff)", op.Name, a)
		}
	}
	return &ContinueTarget{}
}

// buildDSCPTarget checks --set-dscp (0-63) and --set-dscp-class.
func buildDSCPTarget(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		switch op := &t.Options[i]; op.Name {
		case "set-dscp":
			b.uintIn(op, 0, 63, "-j DSCP", "iptables refuses it")
		case "set-dscp-class":
			if _, ok := dscpClasses[strings.ToLower(arg(op))]; !ok {
				b.errf(op.Pos, ErrBadValue, "-j DSCP: --set-dscp-class %q: iptables refuses it (expected a class such as EF, AF41 or CS1)", arg(op))
			}
		}
	}
	return &ContinueTarget{}
}

// buildTTLTarget checks -j TTL's and -j HL's values: --ttl-set 0-255,
// --ttl-dec and --ttl-inc 1-255 (and the same for hl).
func buildTTLTarget(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		op := &t.Options[i]
		if strings.HasSuffix(op.Name, "-set") {
			b.uintIn(op, 0, 255, "-j "+t.Name, "iptables refuses it")
		} else {
			b.uintIn(op, 1, 255, "-j "+t.Name, "iptables refuses it")
		}
	}
	return &ContinueTarget{}
}

// buildClassify checks --set-class MAJOR:MINOR, two hexadecimal numbers
// of 16 bits.
func buildClassify(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		op := &t.Options[i]
		ma, mi, ok := strings.Cut(arg(op), ":")
		_, err1 := strconv.ParseUint(ma, 16, 16)
		_, err2 := strconv.ParseUint(mi, 16, 16)
		if !ok || err1 != nil || err2 != nil {
			b.errf(op.Pos, ErrBadValue, "-j CLASSIFY: --set-class %q: iptables refuses it (expected MAJOR:MINOR in hexadecimal)", arg(op))
		}
	}
	return &ContinueTarget{}
}

// buildAudit checks --type: accept, drop or reject (any case).
func buildAudit(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		op := &t.Options[i]
		switch strings.ToLower(arg(op)) {
		case "accept", "drop", "reject":
		default:
			b.errf(op.Pos, ErrBadValue, "-j AUDIT: --type %q: iptables refuses it (expected accept, drop or reject)", arg(op))
		}
	}
	return &ContinueTarget{}
}

// buildNFLOG checks --nflog-group: 0-65535.
func buildNFLOG(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		if op := &t.Options[i]; op.Name == "nflog-group" {
			b.uintIn(op, 0, 65535, "-j NFLOG", "iptables refuses it")
		}
	}
	return &ContinueTarget{}
}

// sctpChunkFlags are the chunk types libxt_sctp knows, each with the
// flags it takes (DATA:IUBE, ABORT:T; a lower-case flag means unset).
var sctpChunkFlags = map[string]string{
	"DATA": "IUBE", "INIT": "", "INIT_ACK": "", "SACK": "", "HEARTBEAT": "", "HEARTBEAT_ACK": "",
	"ABORT": "T", "SHUTDOWN": "", "SHUTDOWN_ACK": "", "ERROR": "", "COOKIE_ECHO": "", "COOKIE_ACK": "",
	"ECN_ECNE": "", "ECN_CWR": "", "SHUTDOWN_COMPLETE": "T", "I_DATA": "IUBE", "RE_CONFIG": "",
	"PAD": "", "ASCONF": "", "ASCONF_ACK": "", "FORWARD_TSN": "", "I_FORWARD_TSN": "",
}

// checkSCTPChunks checks --chunk-types MATCH CHUNK[:FLAGS],... as
// libxt_sctp parses it: MATCH is all, any or only, chunk names and flags
// are case-insensitive, ALL and NONE stand alone.
func (b *builder) checkSCTPChunks(op *Option) {
	if len(op.Args) < 2 {
		return
	}
	switch strings.ToLower(op.Args[0]) {
	case "all", "any", "only":
	default:
		b.errf(op.Pos, ErrBadValue, "--chunk-types: match type %q: iptables refuses it (expected all, any or only)", op.Args[0])
		return
	}
	list := op.Args[1]
	if strings.EqualFold(list, "ALL") || strings.EqualFold(list, "NONE") {
		return
	}
	for _, c := range strings.Split(list, ",") {
		name, flags, _ := strings.Cut(c, ":")
		valid, ok := sctpChunkFlags[strings.ToUpper(name)]
		if !ok {
			b.errf(op.Pos, ErrBadValue, "--chunk-types: unknown chunk type %q: iptables refuses it (expected DATA, INIT, ABORT, … or ALL or NONE)", name)
			continue
		}
		for _, f := range flags {
			if !strings.ContainsRune(valid, unicode.ToUpper(f)) {
				b.errf(op.Pos, ErrBadValue, "--chunk-types: flag %q of chunk %s: iptables refuses it (expected %s)", string(f), strings.ToUpper(name), map[bool]string{true: "no flag", false: "one of " + valid}[valid == ""])
				break
			}
		}
	}
}

// ---- targets ----

var targetDefs map[string]*targetDef

func init() {
	cont := func(*builder, *Target) TargetSpec { return &ContinueTarget{} }
	targetDefs = map[string]*targetDef{
		"REJECT":     {opts: []optDef{o(1, "reject-with")}, build: buildReject},
		"DNAT":       {opts: []optDef{o(1, "to-destination"), o(0, "random"), o(0, "persistent")}, build: buildNAT},
		"SNAT":       {opts: []optDef{o(1, "to-source"), o(0, "random"), o(0, "random-fully"), o(0, "persistent")}, build: buildNAT},
		"MASQUERADE": {opts: []optDef{o(1, "to-ports"), o(0, "random"), o(0, "random-fully")}, build: buildNAT},
		"REDIRECT":   {opts: []optDef{o(1, "to-ports"), o(0, "random")}, build: buildNAT},
		"NETMAP":     {opts: []optDef{o(1, "to")}, build: buildNAT},
		"MARK": {opts: []optDef{o(1, "set-mark"), o(1, "set-xmark"), o(1, "and-mark"), o(1, "or-mark"), o(1, "xor-mark")},
			build: buildMarkTarget},
		"CONNMARK": {opts: []optDef{o(1, "set-mark"), o(1, "set-xmark"), o(0, "save-mark"), o(0, "restore-mark"),
			o(1, "and-mark"), o(1, "or-mark"), o(1, "xor-mark"), o(1, "mask"), o(1, "nfmask"), o(1, "ctmask"),
			o(1, "left-shift-mark"), o(1, "right-shift-mark")},
			build: buildMarkTarget},
		"CT": {opts: []optDef{o(0, "notrack"), o(1, "helper"), o(1, "ctevents"), o(1, "expevents"), o(1, "zone"),
			o(1, "zone-orig"), o(1, "zone-reply"), o(1, "timeout")},
			build: buildCT},
		"NOTRACK": {build: func(*builder, *Target) TargetSpec { return &CTTarget{NoTrack: true} }},
		"LOG": {opts: []optDef{o(1, "log-level"), o(1, "log-prefix").with(optNonEmpty), o(0, "log-tcp-sequence"), o(0, "log-tcp-options"),
			o(0, "log-ip-options"), o(0, "log-uid"), o(0, "log-macdecode")}, build: buildLog},
		"NFLOG": {opts: []optDef{o(1, "nflog-group"), o(1, "nflog-prefix").with(optNonEmpty), o(1, "nflog-range"), o(1, "nflog-threshold"),
			o(1, "nflog-size")}, build: buildNFLOG},
		"ULOG":  {opts: []optDef{o(1, "ulog-nlgroup"), o(1, "ulog-prefix"), o(1, "ulog-cprange"), o(1, "ulog-qthreshold")}, build: cont},
		"AUDIT": {opts: []optDef{o(1, "type")}, build: buildAudit},
		"TRACE": {build: cont},
		"NFQUEUE": {opts: []optDef{o(1, "queue-num"), o(1, "queue-balance"), o(0, "queue-bypass"), o(0, "fail-open"),
			o(0, "queue-cpu-fanout")},
			groups: []optGroup{oneOf("queue-num", "queue-balance")}, build: buildNFQueue},
		"TCPMSS": {opts: []optDef{o(1, "set-mss"), o(0, "clamp-mss-to-pmtu")},
			groups: []optGroup{needAny("set-mss", "clamp-mss-to-pmtu")}, build: buildTCPMSS},
		"CHECKSUM":    {opts: []optDef{o(0, "checksum-fill")}, build: cont},
		"CLASSIFY":    {opts: []optDef{o(1, "set-class")}, build: buildClassify},
		"TOS":         {opts: []optDef{o(1, "set-tos"), o(1, "and-tos"), o(1, "or-tos"), o(1, "xor-tos")}, build: buildTOSTarget},
		"DSCP":        {opts: []optDef{o(1, "set-dscp"), o(1, "set-dscp-class")}, build: buildDSCPTarget},
		"TTL":         {opts: []optDef{o(1, "ttl-set"), o(1, "ttl-dec"), o(1, "ttl-inc")}, build: buildTTLTarget},
		"HL":          {opts: []optDef{o(1, "hl-set"), o(1, "hl-dec"), o(1, "hl-inc")}, build: buildTTLTarget},
		"SET":         {opts: []optDef{o(2, "add-set"), o(2, "del-set"), o(2, "map-set"), o(0, "exist"), o(1, "timeout"), o(0, "map-mark"), o(0, "map-prio"), o(0, "map-queue")}, build: cont},
		"TEE":         {opts: []optDef{o(1, "gateway"), o(1, "oif")}, build: cont},
		"SECMARK":     {opts: []optDef{o(1, "selctx")}, build: cont},
		"CONNSECMARK": {opts: []optDef{o(0, "save"), o(0, "restore")}, build: cont},
		"IDLETIMER":   {opts: []optDef{o(1, "timeout"), o(1, "label"), o(0, "alarm")}, build: cont},
		"LED":         {opts: []optDef{o(1, "led-trigger-id"), o(1, "led-delay"), o(0, "led-always-blink")}, build: cont},
		"RATEEST":     {opts: []optDef{o(1, "rateest-name"), o(1, "rateest-interval"), o(1, "rateest-ewmalog")}, build: cont},
		"TPROXY": {opts: []optDef{o(1, "on-port"), o(1, "on-ip"), o(1, "tproxy-mark")}, build: func(b *builder, t *Target) TargetSpec {
			// xt_TPROXY: "Can be used only with -p tcp or -p udp".
			if p := b.rule.Proto; p == nil || p.Neg || (p.Num != 6 && p.Num != 17) {
				b.errf(t.Pos, ErrBadOption, "-j TPROXY needs -p tcp or -p udp: the kernel refuses the rule otherwise")
			}
			for i := range t.Options {
				op := &t.Options[i]
				a := arg(op)
				switch op.Name {
				case "on-port":
					// A decimal number or a service name ("0x50 does not
					// resolve to anything").
					if _, err := parsePort(a, svcTCPorUDP); err != nil {
						b.errf(op.Pos, ErrBadValue, "-j TPROXY --on-port %q: iptables refuses it (expected a port 0-65535, in decimal, or a service name)", a)
					}
				case "tproxy-mark":
					if _, _, err := parseMark(a); err != nil {
						b.errf(op.Pos, ErrBadValue, "-j TPROXY --tproxy-mark %q: iptables refuses it (expected VALUE[/MASK], 32-bit numbers)", a)
					}
				}
			}
			return &UnknownTarget{}
		}},
		"SYNPROXY": {opts: []optDef{o(1, "mss"), o(1, "wscale"), o(0, "sack-perm"), o(0, "timestamp"), o(0, "ecn")}, build: func(b *builder, t *Target) TargetSpec {
			if p := b.rule.Proto; p == nil || p.Neg || p.Num != 6 {
				b.errf(t.Pos, ErrBadOption, "-j SYNPROXY needs -p tcp: the kernel refuses the rule otherwise")
			}
			return &UnknownTarget{}
		}},
		"CONNSECMARK_": {build: cont},
	}
	delete(targetDefs, "CONNSECMARK_")
	mandatory()
}

// rejectName is a --reject-with value: its name, the alias the extension
// also takes, and the target's canonical name.
type rejectName struct{ name, alias string }

// rejectWith and rejectWith6 are libipt_REJECT's and libip6t_REJECT's
// tables, in their order: a value is looked up as those extensions do
// (lookupReject).
var rejectWith = []rejectName{
	{"icmp-net-unreachable", "net-unreach"},
	{"icmp-host-unreachable", "host-unreach"},
	{"icmp-proto-unreachable", "proto-unreach"},
	{"icmp-port-unreachable", "port-unreach"},
	{"icmp-net-prohibited", "net-prohib"},
	{"icmp-host-prohibited", "host-prohib"},
	{"tcp-reset", "tcp-rst"},
	{"icmp-admin-prohibited", "admin-prohib"},
}

var rejectWith6 = []rejectName{
	{"icmp6-no-route", "no-route"},
	{"icmp6-adm-prohibited", "adm-prohibited"},
	{"icmp6-addr-unreachable", "addr-unreach"},
	{"icmp6-port-unreachable", "port-unreach"},
	{"tcp-reset", "tcp-reset"}, // libip6t_REJECT has no tcp-rst
	{"icmp6-policy-fail", "policy-fail"},
	{"icmp6-reject-route", "reject-route"},
}

// lookupReject returns the canonical name of the first entry of the table
// whose name or alias s is a case-insensitive prefix of: the REJECT
// extensions take any abbreviation, the first match winning ("icmp-host"
// is icmp-host-unreachable, "icmp-p" icmp-proto-unreachable).
func lookupReject(table []rejectName, s string) (string, bool) {
	prefix := func(name string) bool { return len(s) <= len(name) && strings.EqualFold(name[:len(s)], s) }
	for _, r := range table {
		if prefix(r.name) || prefix(r.alias) {
			return r.name, true
		}
	}
	return "", false
}

// buildLog checks --log-level as libxt_LOG does: a number 0-7 or one of
// its names, case-sensitive (no "err", "warn", "WARNING").
func buildLog(b *builder, t *Target) TargetSpec {
	for i := range t.Options {
		op := &t.Options[i]
		// libxt_LOG keeps at most 29 bytes of the prefix and loads the
		// rule (iptables-save then shows the 29).
		if a := arg(op); op.Name == "log-prefix" && len(a) > 29 {
			b.errf(op.Pos, ErrSilentChange, "--log-prefix: prefix is %d bytes long: iptables loads only its first 29 bytes", len(a))
		}
		if op.Name == "log-level" {
			if _, ok := logLevel(arg(op)); !ok {
				b.errf(op.Pos, ErrBadValue, "--log-level: unknown log level %q: iptables refuses it (expected 0-7 or emerg, alert, crit, error, warning, notice, info, debug)", arg(op))
			}
		}
	}
	return &ContinueTarget{}
}

func buildReject(b *builder, t *Target) TargetSpec {
	table := rejectWith
	s := b.a.reject.put(RejectTarget{With: "icmp-port-unreachable"})
	expected := "icmp-port-unreachable, icmp-host-prohibited, tcp-reset"
	if b.family == IPv6 {
		table = rejectWith6
		s.With = "icmp6-port-unreachable"
		expected = "icmp6-port-unreachable, icmp6-adm-prohibited, tcp-reset; ip6tables has no tcp-rst"
	}
	for i := range t.Options {
		op := &t.Options[i]
		w, ok := lookupReject(table, arg(op))
		if !ok {
			b.errf(op.Pos, ErrBadValue, "--reject-with: unknown reject type %q (expected e.g. %s)", arg(op), expected)
			continue
		}
		s.With = w
		if w == "tcp-reset" {
			if p := b.rule.Proto; p == nil || p.Neg || p.Num != 6 {
				b.errf(op.Pos, ErrWrongTable, "--reject-with tcp-reset needs -p tcp: iptables-restore --test accepts it but the kernel refuses to load it")
			}
		}
	}
	return s
}

func buildNAT(b *builder, t *Target) TargetSpec {
	s := b.a.nat.put(NATTarget{})
	switch t.Name {
	case "DNAT":
		s.Kind = NATDNAT
	case "SNAT":
		s.Kind = NATSNAT
	case "MASQUERADE":
		s.Kind = NATMasquerade
	case "REDIRECT":
		s.Kind = NATRedirect
	case "NETMAP":
		s.Kind = NATNetmap
	}
	badRange := false // a --to-destination or --to-source already reported
	icmpIDs := false  // a port range applies to ICMP identifiers too
	var given *Option // the range option already read
	for i := range t.Options {
		op := &t.Options[i]
		a := arg(op)
		switch op.Name {
		case "to-destination", "to-source", "to-ports":
			if given != nil && given.Name == op.Name {
				// libxt_NAT's options are not XTOPT_MULTI: "option
				// --to-destination can only be used once".
				b.errf(op.Pos, ErrBadOption, "-j %s: --%s given twice (first at column %d): iptables refuses it (expected one --%s)", t.Name, op.Name, given.Pos.Col, op.Name)
				badRange = true
				continue
			}
			given = op
			var r NATRange
			var ignored []string
			var err error
			if op.Name == "to-ports" {
				var np natPorts
				np, err = parseNATPorts(a)
				r, ignored = np.natRange(), np.ignored
			} else {
				r, ignored, err = parseNATRange(a, b.family)
			}
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
				badRange = true
				continue
			}
			for _, why := range ignored {
				b.errf(op.Pos, ErrSilentChange, "--%s %s: %s", op.Name, a, forFamily(b.family, why, true))
			}
			if r.MinPort != 0 || r.MaxPort != 0 {
				p := b.rule.Proto
				switch {
				case p == nil:
					b.errf(op.Pos, ErrBadOption, "--%s: a port needs -p tcp, udp, sctp or dccp before -j %s: iptables refuses it without -p", op.Name, t.Name)
				case !natPortProto(p.Num) && p.Num != ProtoNumICMP:
					neg := ""
					if p.Neg {
						neg = "! "
					}
					b.errf(op.Pos, ErrBadOption, "--%s: a port needs -p tcp, udp, sctp or dccp: iptables refuses it with %s-p %s", op.Name, neg, p.Name)
				case b.protoBefore(op.Pos) == nil:
					b.errf(p.Pos, ErrBadOption, "-p %s comes after --%s: iptables reads the protocol when it parses the port and refuses the rule (expected -p before -j %s)", p.Name, op.Name, t.Name)
				case p.Neg || p.Num == ProtoNumICMP:
					// libxt_NAT reads -p's number, not its '!', and takes
					// icmp: the kernel then maps ICMP query identifiers
					// into the range.
					icmpIDs = true
				}
			}
			if r.Shift {
				// Only DNAT has a revision that carries the base port
				// (nf_nat_range2): libxt_NAT sends SNAT and MASQUERADE
				// the offset flag without it, and refuses REDIRECT's.
				switch s.Kind {
				case NATSNAT:
					b.errf(op.Pos, ErrSilentChange, "--to-source %s: iptables loads SNAT without its base port %d: the kernel then maps source port P to %d + P mod %d, as from base 0 (iptables-save shows /0; only DNAT keeps its base port)", a, r.BasePort, r.MinPort, int(r.MaxPort)-int(r.MinPort)+1)
					r.BasePort = 0
				case NATMasquerade:
					b.errf(op.Pos, ErrSilentChange, "--to-ports %s: iptables loads MASQUERADE without its base port %d, and the kernel maps ports from a base it leaves unset: which port of %d-%d a connection gets is unknown (iptables-save shows /0; only DNAT keeps its base port)", a, r.BasePort, r.MinPort, r.MaxPort)
					r.BasePort = 0
				case NATRedirect:
					b.errf(op.Pos, ErrBadValue, "--to-ports %s: iptables refuses a base port with REDIRECT (\"Shifted portmap ranges not supported\"; only DNAT takes one): expected PORT or PORT-PORT", a)
					badRange = true
					continue
				}
			}
			if s.Ranges == nil {
				s.Ranges = b.a.natRanges.make(1)
			}
			s.Ranges = append(s.Ranges, r)
		case "to":
			p, err := parseNetmapTo(a, b.family)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--to %s: %v", a, err)
				continue
			}
			s.Netmap = p
		case "random":
			s.Random = true
		case "random-fully":
			s.FullyRandom = true
		case "persistent":
			s.Persistent = true
		}
	}
	switch {
	case (s.Kind == NATDNAT || s.Kind == NATSNAT) && len(s.Ranges) == 0 && !badRange:
		b.errf(t.Pos, ErrBadOption, "%s needs --%s", t.Name, map[NATKind]string{NATDNAT: "to-destination", NATSNAT: "to-source"}[s.Kind])
	case s.Kind == NATNetmap && !s.Netmap.IsValid():
		if !slices.ContainsFunc(t.Options, func(o Option) bool { return o.Name == "to" }) {
			b.errf(t.Pos, ErrBadOption, "NETMAP needs --to ADDR/LEN")
		}
	}
	if icmpIDs {
		b.warnf(t.Pos, ErrUnknownTarget, "-j %s with a port, for ICMP too (-p icmp or a negated -p): the kernel maps ICMP query identifiers into the port range, which dfw does not model; the target's effect is taken as unknown", t.Name)
		return &UnknownTarget{}
	}
	return s
}

// ProtoNumICMP is the protocol number libxt_NAT takes a port range with
// besides tcp, udp, sctp and dccp: the range then holds ICMP identifiers.
const ProtoNumICMP = 1

// natPortProto reports whether libxt_NAT takes a port with -p n (besides
// icmp): tcp, udp, sctp and dccp, not udplite.
func natPortProto(n uint8) bool { return n == 6 || n == 17 || n == 132 || n == 33 }

// parseNATRange parses a --to-destination or --to-source value as
// libxt_NAT's parse_to (iptables 1.8.9) does:
//
//	value   = [ addrs ] [ ":" ports ]
//	addrs   = ADDR [ "-" ADDR ]            IPv6 in brackets when ports follow
//	ports   = see parseNATPorts
//
// Without brackets, the first ':' starts the ports unless another ':'
// follows it (then the whole value is an IPv6 address); ":PORTS" and
// "[]:PORTS" keep the address. IPv4 takes no brackets. Text between ']'
// and ':' is ignored by iptables: it is returned in ignored, described.
func parseNATRange(s string, fam Family) (r NATRange, ignored []string, err error) {
	const expected = "expected ADDR[-ADDR][:PORT[-PORT[/BASE]]], an IPv6 address in brackets before a port"
	addrPart, portPart, hasPort, noAddr := s, "", false, false
	if open := strings.IndexByte(s, '['); open >= 0 {
		if fam == IPv4 {
			return r, nil, fmt.Errorf("invalid address %q: iptables refuses brackets in an IPv4 value (%s)", s, expected)
		}
		end := strings.IndexByte(s[open+1:], ']')
		if end < 0 {
			return r, nil, fmt.Errorf("invalid address %q: no ']' after '[' (%s)", s, expected)
		}
		if open > 0 {
			ignored = append(ignored, fmt.Sprintf("iptables ignores %q before '['", s[:open]))
		}
		addrPart = s[open+1 : open+1+end]
		after := s[open+1+end+1:]
		colon := strings.IndexByte(after, ':')
		if colon < 0 && after != "" || colon > 0 {
			junk := after
			if colon > 0 {
				junk = after[:colon]
			}
			ignored = append(ignored, fmt.Sprintf("iptables ignores %q after ']'", junk))
		}
		if colon >= 0 {
			portPart, hasPort = after[colon+1:], true
			noAddr = open == 0 && end == 0 && colon == 0 // "[]:PORTS"
		}
	} else if colon := strings.IndexByte(s, ':'); colon >= 0 {
		if strings.IndexByte(s[colon+1:], ':') < 0 {
			addrPart, portPart, hasPort, noAddr = s[:colon], s[colon+1:], true, colon == 0
		} else if fam == IPv4 {
			// iptables reads it as one address and refuses it ("Bad IP
			// address"): most likely the ports were written LO:HI.
			return r, nil, fmt.Errorf("invalid port range %q: iptables refuses PORT:PORT here (expected PORT or PORT-PORT)", s[colon+1:])
		}
	}
	if hasPort {
		np, err := parseNATPorts(portPart)
		if err != nil {
			return r, nil, err
		}
		ignored = append(ignored, np.ignored...)
		r = np.natRange()
		if noAddr {
			return r, ignored, nil
		}
	}
	lo, hi, isRange := strings.Cut(addrPart, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := netip.ParseAddr(lo)
	h, err2 := netip.ParseAddr(hi)
	if err1 != nil || err2 != nil || l.Zone() != "" || h.Zone() != "" {
		if err1 != nil && looksLikeHostname(lo) {
			return r, nil, fmt.Errorf("%w: %q (dfw does not resolve names)", ErrHostname, lo)
		}
		return r, nil, fmt.Errorf("invalid address %q: iptables refuses it (%s)", addrPart, expected)
	}
	if l.Is6() != (fam == IPv6) || h.Is6() != (fam == IPv6) {
		return r, nil, fmt.Errorf("%w: %q is not an %s address", ErrFamily, addrPart, fam)
	}
	r.MinAddr, r.MaxAddr = l, h
	return r, ignored, nil
}

// natPorts is the port part of a NAT target's value as libxt_NAT reads it.
type natPorts struct {
	lo, hi uint16
	// shift is set for PORT-PORT/BASE, the base being base.
	shift bool
	base  uint16
	// ignored describes what iptables ignores after the base port.
	ignored []string
}

func (p natPorts) natRange() NATRange {
	return NATRange{MinPort: p.lo, MaxPort: p.hi, Shift: p.shift, BasePort: p.base}
}

// parseNATPorts parses the ports of --to-destination, --to-source and
// --to-ports as libxt_NAT's parse_ports (iptables 1.8.9) does:
//
//	ports = PORT [ "-" NUMBER [ "/" BASE ] ]
//
// A number is read as strtoul reads it in base 0 (010 is 8, 0x10 is 16),
// after optional blanks and a '+'. PORT alone may be a service name;
// the end of a range is a number only, at least PORT; BASE is a number
// 1-65535 or a service name, and iptables ignores whatever follows its
// number. ":" in a range is refused ("use dash").
func parseNATPorts(s string) (natPorts, error) {
	var p natPorts
	v, rest, ok := xtNumber(s, 0, 65535)
	if !ok {
		if port, found := servicePort(s, svcTCPorUDP); found {
			p.lo, p.hi = port, port
			return p, nil
		}
		switch lo, _, isRange := strings.Cut(s, "-"); {
		case s == "":
			return p, fmt.Errorf("empty port (expected PORT, PORT-PORT or PORT-PORT/BASE)")
		case isRange:
			return p, fmt.Errorf("invalid port range %q: %q is not a port number: iptables refuses it (expected PORT-PORT with numbers 0-65535; a service name is taken only alone)", s, lo)
		case startsNumber(s):
			return p, fmt.Errorf("invalid port %q: iptables refuses it (expected a port number 0-65535 or a service name)", s)
		}
		return p, fmt.Errorf("unknown service name %q: iptables refuses it (expected a port number 0-65535 or a name /etc/services lists)", s)
	}
	p.lo, p.hi = uint16(v), uint16(v)
	switch {
	case rest == "":
		return p, nil
	case rest[0] == ':':
		return p, fmt.Errorf("invalid port range %q: iptables refuses PORT:PORT here (expected PORT or PORT-PORT)", s)
	case rest[0] == '/':
		return p, fmt.Errorf("invalid port %q: iptables refuses a base port after a single port (expected PORT-PORT/BASE; for one port write %d-%d%s, although iptables-save prints it as %s)", s, v, v, rest, s)
	case rest[0] != '-':
		return p, fmt.Errorf("invalid port %q: iptables refuses %q after the port (expected PORT, PORT-PORT or PORT-PORT/BASE)", s, rest)
	}
	hiText := rest[1:]
	hv, rest, ok := xtNumber(hiText, 0, 65535)
	if !ok {
		x, _, _ := strings.Cut(hiText, "/")
		return p, fmt.Errorf("invalid port range %q: %q is not a port number: iptables refuses it (expected PORT-PORT with numbers 0-65535; a service name is taken only alone)", s, x)
	}
	if hv < v {
		return p, fmt.Errorf("invalid port range %q: %d is greater than %d (expected LOW-HIGH)", s, v, hv)
	}
	p.hi = uint16(hv)
	switch {
	case rest == "":
		return p, nil
	case rest[0] != '/':
		return p, fmt.Errorf("invalid port range %q: iptables refuses %q after it (expected PORT-PORT or PORT-PORT/BASE)", s, rest)
	}
	baseText := rest[1:]
	bv, rest, ok := xtNumber(baseText, 1, 65535)
	if !ok {
		port, found := servicePort(baseText, svcTCPorUDP)
		if !found || port == 0 {
			hint := ""
			if _, after, isZero := xtNumber(baseText, 0, 0); isZero && after == "" {
				hint = "; iptables-save prints /0 for SNAT and MASQUERADE, which drop the base port, and iptables-restore refuses that"
			}
			return p, fmt.Errorf("invalid base port %q in %q: iptables refuses it (expected a port number 1-65535 or a service name%s)", baseText, s, hint)
		}
		bv, rest = uint64(port), ""
	}
	p.shift, p.base = true, uint16(bv)
	if rest != "" {
		p.ignored = append(p.ignored, fmt.Sprintf("iptables ignores %q after the base port %d", rest, bv))
	}
	return p, nil
}

// startsNumber reports whether s, after blanks and a sign, starts with a
// digit.
func startsNumber(s string) bool {
	c := strings.TrimLeft(s, " \t\n\v\f\r+-")
	return c != "" && c[0] >= '0' && c[0] <= '9'
}

func buildMarkTarget(b *builder, t *Target) TargetSpec {
	s := b.a.markTgts.put(MarkTarget{Conn: t.Name == "CONNMARK", NfMask: 0xffffffff, CtMask: 0xffffffff})
	ops := 0
	// libxt_CONNMARK takes --mask (both masks) or --nfmask and --ctmask,
	// not both forms.
	var maskOp *Option
	for i := range t.Options {
		op := &t.Options[i]
		a := arg(op)
		switch op.Name {
		case "set-mark", "set-xmark", "and-mark", "or-mark", "xor-mark":
			ops++
			v, m, err := parseMark(a)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
				continue
			}
			hasMask := strings.Contains(a, "/")
			s.Op = MarkSet
			switch op.Name {
			case "set-xmark":
				s.Value, s.Mask = v, m
				if !hasMask {
					s.Mask = 0xffffffff
				}
			case "set-mark":
				// --set-mark V/M is --set-xmark V/(V|M); without a mask, V/0xffffffff.
				if hasMask {
					s.Value, s.Mask = v, v|m
				} else {
					s.Value, s.Mask = v, 0xffffffff
				}
			case "and-mark":
				s.Value, s.Mask = 0, ^v
			case "or-mark":
				s.Value, s.Mask = v, v
			case "xor-mark":
				s.Value, s.Mask = v, 0
			}
		case "save-mark":
			ops++
			s.Op = MarkSave
		case "restore-mark":
			ops++
			s.Op = MarkRestore
		case "mask":
			if maskOp != nil {
				b.errf(op.Pos, ErrBadOption, "--mask cannot be given with --%s: %s refuses the rule (expected --mask, or --nfmask and --ctmask)", maskOp.Name, t.Name)
			}
			maskOp = op
			v, err := parseUint(a, 0xffffffff)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--mask: %v", err)
				continue
			}
			s.NfMask, s.CtMask = uint32(v), uint32(v)
		case "nfmask", "ctmask":
			if maskOp != nil && maskOp.Name == "mask" {
				b.errf(op.Pos, ErrBadOption, "--%s cannot be given with --mask: %s refuses the rule (expected --mask, or --nfmask and --ctmask)", op.Name, t.Name)
			} else if maskOp == nil {
				maskOp = op
			}
			v, err := parseUint(a, 0xffffffff)
			if err != nil {
				b.errf(op.Pos, ErrBadValue, "--%s: %v", op.Name, err)
				continue
			}
			if op.Name == "nfmask" {
				s.NfMask = uint32(v)
			} else {
				s.CtMask = uint32(v)
			}
		}
	}
	if ops != 1 {
		b.errf(t.Pos, ErrBadOption, "%s needs exactly one of --set-mark, --set-xmark, --and-mark, --or-mark, --xor-mark%s", t.Name,
			map[bool]string{true: ", --save-mark, --restore-mark", false: ""}[s.Conn])
	}
	for i := range t.Options {
		if op := &t.Options[i]; op.Name == "left-shift-mark" || op.Name == "right-shift-mark" {
			// CONNMARK revision 2 shifts the mark it copies: dfw does not
			// model the shift, so the target's effect is taken as unknown
			// (the simulator says so) rather than as a plain copy.
			b.uintIn(op, 0, 31, "-j CONNMARK", "iptables refuses it")
			return &UnknownTarget{}
		}
	}
	return s
}
