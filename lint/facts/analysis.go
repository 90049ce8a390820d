package facts

import (
	"context"

	"github.com/dfw-project/dfw/parser"
)

// Docker is what Docker's rules say about the host.
type Docker struct {
	// Layout is "20.10" (FORWARD holds Docker's jumps), "28"
	// (DOCKER-FORWARD), "unknown" (only DOCKER-USER, or Docker's chains
	// without a recognisable layout) or "none".
	Layout    string      `json:"layout"`
	Bridges   []Bridge    `json:"bridges"`
	Published []Published `json:"published"`
	// Chains are the Docker-owned chains present, as "table/CHAIN".
	Chains []string `json:"chains"`
}

// Bridge is a Docker bridge network.
type Bridge struct {
	Name    string   `json:"name"`
	Subnets []string `json:"subnets"`
}

// Published is one published port: nat DOCKER's DNAT rule.
type Published struct {
	Proto      string `json:"proto"`
	HostPort   int    `json:"host_port"`
	HostPortHi int    `json:"host_port_hi"`
	// HostAddr is the host address of an IP:port binding, "" for all.
	HostAddr      string `json:"host_addr"`
	ContainerAddr string `json:"container_addr"`
	ContainerPort int    `json:"container_port"`
	// ContainerPortHi is the last container port of a range mapping.
	ContainerPortHi int    `json:"container_port_hi"`
	Bridge          string `json:"bridge"` // from "! -i BR"
	DNAT            Ref    `json:"dnat"`
}

// Host is the host model the checks assume.
type Host struct {
	// ExternalInterfaces are the interfaces traffic from outside arrives
	// on: from the configuration, else every interface named in the rules
	// that is not loopback, a bridge, a veth or a tunnel.
	ExternalInterfaces []string `json:"external_interfaces"`
	// Source is "config" or "inferred".
	Source string `json:"source"`
	// Bridges are the bridge interfaces named in the rules.
	Bridges []string `json:"bridges"`
}

// Config is the part of .dfwlint.yaml that policies read.
type Config struct {
	AllowedExposed []Allowed `json:"allowed_exposed"`
}

// Allowed is an exposure the user accepts: proto/ports from sources on an
// interface ("" for any).
type Allowed struct {
	Proto     string   `json:"proto"`
	Ports     [][2]int `json:"ports"`
	Sources   []string `json:"sources"`
	Interface string   `json:"interface"`
}

// Analysis holds the facts of the exact analyses. A nil slice means "not
// computed"; Incomplete says why.
type Analysis struct {
	Reachability []Reach     `json:"reachability,omitempty"`
	Redundant    []Redundant `json:"redundant,omitempty"`
	Exposure     []Exposure  `json:"exposure,omitempty"`
	// Diverted is computed with Exposure (same evaluation).
	Diverted    []Diverted    `json:"diverted,omitempty"`
	Established []Established `json:"established,omitempty"`
	// Outbound is computed after Established, when the ruleset has a
	// rule it is for (dropsWithoutIface).
	Outbound []Outbound `json:"outbound,omitempty"`
	// FamilyGap is computed only when the ruleset is checked with the
	// other family's ruleset of the same host (Document.Peer).
	FamilyGap  []FamilyGap     `json:"family_gap,omitempty"`
	Computed   map[string]bool `json:"computed"`
	Incomplete []Incomplete    `json:"incomplete"`
}

// Analysis names, as in Computed and Incomplete.
const (
	AnalysisReachability = "reachability"
	AnalysisRedundancy   = "redundant"
	AnalysisExposure     = "exposure"
	AnalysisEstablished  = "established"
	AnalysisOutbound     = "outbound"
	AnalysisFamilyGap    = "family_gap"
)

// Reach is the reachability of one rule.
type Reach struct {
	Rule string `json:"rule"` // Rule.ID
	// Position is the rule's position in Document.Rules (0-based).
	Position  int  `json:"position"`
	Reachable bool `json:"reachable"`
	// Covering are the rules that, together, take every packet that could
	// reach the rule before it.
	Covering []Ref `json:"covering"`
	// DependsOnMayMatch is set when the answer holds only if some may-match
	// match (Ref'd in MayMatch) goes one way.
	DependsOnMayMatch bool  `json:"depends_on_may_match"`
	MayMatch          []Ref `json:"may_match"`
	// MayMatchLoadBalancing is set when every rule of MayMatch is a rule
	// of a load-balancing group (Rule.LoadBalancing): whether this rule is
	// reached depends on which of the group's rules a packet took, not on
	// whether one did.
	MayMatchLoadBalancing bool `json:"may_match_load_balancing"`
}

// Redundant is a rule whose removal changes no packet's fate.
type Redundant struct {
	Rule string `json:"rule"`
	// Loc, Table, Chain and Index are the rule's, as in Rule: where a
	// finding about it points, without looking the rule up.
	Loc
	Table string `json:"table"`
	Chain string `json:"chain"`
	Index int    `json:"index"`
	// Position is the rule's position in Document.Rules (0-based).
	Position          int   `json:"position"`
	CoveredBy         []Ref `json:"covered_by"`
	DependsOnMayMatch bool  `json:"depends_on_may_match"`
}

// Exposure is one class of new connections from outside that the ruleset
// accepts on an external interface.
type Exposure struct {
	Interface string `json:"interface"`
	// Kind is "host" (delivered locally), "container" (DNAT-ed to a
	// published port) or "forward" (routed without DNAT).
	Kind    string   `json:"kind"`
	Proto   string   `json:"proto"`
	Ports   [][2]int `json:"ports"` // destination ports as the packet arrives
	Sources []string `json:"sources"`
	// AnySource is set when Sources stand for the whole Internet: every
	// outside address but a small part (at most 1/64 of it: a ban list,
	// the private networks), on IPv6 every global unicast address
	// (2000::/3) but such a part. lib.any_source reads it.
	AnySource bool `json:"any_source"`
	// Loopback is set when the connections are addressed to IPv4's
	// loopback network 127.0.0.0/8: no router forwards such a packet, so
	// only the machines on the interface's link can send it, and a DNAT
	// of PREROUTING (Docker's -p 127.0.0.1:8080:80 before Docker 28)
	// sends it on before routing drops it as martian. Then AnySource is
	// false, and the exposure holds only what the same connections to the
	// host's other addresses do not.
	Loopback bool `json:"loopback,omitempty"`
	// Container is set for kind container.
	Container *Published `json:"container,omitempty"`
	Witness   Packet     `json:"witness"`
	// AcceptedBy is the rule, or the policy, that accepted the witness.
	AcceptedBy Ref   `json:"accepted_by"`
	Policy     bool  `json:"policy"`
	Path       []Ref `json:"path"`
	// DependsOnMayMatch is set when the exposure holds only if a may-match
	// match goes one way.
	DependsOnMayMatch bool `json:"depends_on_may_match"`
}

// Diverted is a set of new connections from outside, addressed to the
// host, that a DNAT of PREROUTING sends to another machine or a container
// (a published port, a NodePort, the user's own DNAT): routing forwards
// them, so they never reach INPUT, whether FORWARD then accepts them (an
// Exposure of kind "container") or drops them. One per interface,
// protocol, DNAT rule and destination; only those that depend on no
// may-match rule.
type Diverted struct {
	Interface string   `json:"interface"`
	Proto     string   `json:"proto"`
	Ports     [][2]int `json:"ports"` // destination ports as the packet arrives
	Sources   []string `json:"sources"`
	AnySource bool     `json:"any_source"` // as in Exposure
	// To is the destination after DNAT: an address, or address:port.
	To      string `json:"to"`
	DNAT    Ref    `json:"dnat"`
	Witness Packet `json:"witness"`
}

// FamilyGap is a set of tcp or udp ports that this ruleset opens to
// outside more widely than the other family's ruleset of the same host
// does (Document.Peer): open to every source here and closed or open only
// to some sources there, or open to some sources here and closed there.
// One row per interface, kind, protocol, accepting rule and gap.
type FamilyGap struct {
	// Interfaces are the external interfaces on which the same rule opens
	// the same ports (named ones first); Interface is the first of them.
	Interface  string   `json:"interface"`
	Interfaces []string `json:"interfaces"`
	// Kind is "host", "container" or "forward", as in Exposure.
	Kind  string   `json:"kind"`
	Proto string   `json:"proto"`
	Ports [][2]int `json:"ports"` // destination ports as the packet arrives
	// PortsText is Ports written as a list ("22", "8000-8100, 9000").
	PortsText string `json:"ports_text"`
	Family    string `json:"family"` // this ruleset's: "ipv4" or "ipv6"
	// Open is "all" when every outside source reaches these ports here,
	// "some" when only Sources do.
	Open    string   `json:"open"`
	Sources []string `json:"sources"`
	// PeerFamily is the other ruleset's family, PeerFiles its checked
	// files; PeerOpen is "none" when it accepts no new connection to these
	// ports on this interface, "some" when it accepts some sources only.
	PeerFamily string   `json:"peer_family"`
	PeerFiles  []string `json:"peer_files"`
	PeerOpen   string   `json:"peer_open"`
	// PeerShut is set when the other ruleset accepts no new connection
	// from outside to any tcp or udp port on any interface (the ports of
	// its own address configuration, DHCP or DHCPv6, aside): that family
	// is not served, on purpose, rather than left with a port out.
	PeerShut bool `json:"peer_shut"`
	// PeerDecidedBy is the rule or policy of the other ruleset that drops
	// or rejects a new connection to the witness's port there (nil when
	// no rule does, e.g. the packet is not routed).
	PeerDecidedBy *Ref   `json:"peer_decided_by,omitempty"`
	PeerPolicy    bool   `json:"peer_policy"`
	Witness       Packet `json:"witness"`
	AcceptedBy    Ref    `json:"accepted_by"`
	Policy        bool   `json:"policy"`
	Path          []Ref  `json:"path"`
}

// Peer is the ruleset of the other family on the same host, checked with
// this one (dfwlint check --ipv6 FILE, or an ip6tables dump among the
// FILEs).
type Peer struct {
	Family string   `json:"family"`
	Files  []string `json:"files"`
}

// Established is the fate of the replies to connections the host or its
// containers open, per hook and interface.
type Established struct {
	Hook      string `json:"hook"` // INPUT or FORWARD
	Interface string `json:"interface"`
	Verdict   string `json:"verdict"`
	Witness   Packet `json:"witness"`
	DroppedBy *Ref   `json:"dropped_by,omitempty"`
	Policy    bool   `json:"policy"`
}

// The destinations of Outbound.To.
const (
	OutboundOutside = "outside"
	OutboundBridge  = "bridge"
)

// Outbound is a rule (or policy) that drops or rejects new connections
// the containers of a Docker bridge open to the outside (To
// OutboundOutside), or to the other containers of the same bridge
// (OutboundBridge: with br_netfilter, bridged frames cross FORWARD; only a
// rule whose deletion lets them through), with one such connection as
// witness.
type Outbound struct {
	Bridge    string `json:"bridge"`
	To        string `json:"to"`
	Verdict   string `json:"verdict"`
	Witness   Packet `json:"witness"`
	DroppedBy *Ref   `json:"dropped_by"`
	Policy    bool   `json:"policy"`
}

// Packet is a witness packet, with dfwsim's field names.
type Packet struct {
	Proto string `json:"proto"`
	In    string `json:"in,omitempty"`
	Out   string `json:"out,omitempty"`
	Src   string `json:"src,omitempty"`
	Dst   string `json:"dst,omitempty"`
	Sport int    `json:"sport,omitempty"`
	Dport int    `json:"dport,omitempty"`
	Flags string `json:"flags,omitempty"`
	State string `json:"state,omitempty"`
}

// Incomplete says that an analysis did not give all its facts.
type Incomplete struct {
	Analysis string `json:"analysis"`
	Reason   string `json:"reason"`
	// Budget is set when the analysis stopped at its budget (a DFW902
	// finding); unset for an analysis that was not run at all.
	Budget bool `json:"budget"`
	Loc    *Loc `json:"loc,omitempty"`
}

// Query is one question a policy asks through a custom built-in function.
type Query struct {
	Interface string `json:"interface"`
	Proto     string `json:"proto"`
	Port      int    `json:"port"`
	Src       string `json:"src,omitempty"`
}

// Answer to a Query. Known is false when the analysis cannot tell.
type Answer struct {
	Known     bool    `json:"known"`
	Reachable bool    `json:"reachable"`
	Witness   *Packet `json:"witness,omitempty"`
	// AcceptedBy is the rule or policy that accepts the witness.
	AcceptedBy *Ref   `json:"accepted_by,omitempty"`
	Path       []Ref  `json:"path,omitempty"`
	Kind       string `json:"kind,omitempty"` // host, container, forward
}

// Analyzer is implemented by the analysis layer (packet sets over the
// symbolic evaluator). Each method may return partial results with an
// Incomplete entry when it hit its budget; an error aborts the check run.
// Every method must be safe for concurrent use and honour ctx.
type Analyzer interface {
	// Reachability tells for every rule of rs whether some packet reaches
	// it, and which earlier rules cover it when none does.
	Reachability(ctx context.Context, rs *parser.Ruleset) ([]Reach, []Incomplete, error)
	// Redundancy lists the rules whose removal changes no packet's fate.
	Redundancy(ctx context.Context, rs *parser.Ruleset) ([]Redundant, []Incomplete, error)
	// Exposure lists the new connections from outside accepted on each of
	// host.ExternalInterfaces, to the host and (after DNAT) to containers,
	// with a witness packet and the accepting rule; and the new
	// connections to the host that a DNAT sends away before INPUT.
	Exposure(ctx context.Context, rs *parser.Ruleset, host Host) ([]Exposure, []Diverted, []Incomplete, error)
	// Established tells the fate of replies to connections the host and
	// its containers open, per hook and external interface.
	Established(ctx context.Context, rs *parser.Ruleset, host Host) ([]Established, []Incomplete, error)
	// Outbound lists the rules that drop new connections the containers
	// of each Docker bridge open to the outside.
	Outbound(ctx context.Context, rs *parser.Ruleset, host Host) ([]Outbound, []Incomplete, error)
	// Reachable answers one question (is proto/port reachable from iface?).
	Reachable(ctx context.Context, rs *parser.Ruleset, host Host, q Query) (Answer, error)
}

// FamilyGapAnalyzer is an Analyzer that also compares a ruleset with the
// other family's ruleset of the same host.
type FamilyGapAnalyzer interface {
	// FamilyGap lists the ports rs opens to outside more widely than peer
	// does (see FamilyGap); peerFiles name peer's checked files.
	FamilyGap(ctx context.Context, rs, peer *parser.Ruleset, peerFiles []string, host Host) ([]FamilyGap, []Incomplete, error)
}
