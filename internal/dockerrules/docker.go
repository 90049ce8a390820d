// Package dockerrules models the iptables and ip6tables rules Docker itself
// installs on a host — its bridges, its containers and their published
// ports — for the layouts users run: Docker 20.10, 28 (28.2.2 and later)
// and 29. It prints them as iptables-save text: [Baselines] for `dfwlint
// check --docker`, and [Host.Emit] for the synthetic hosts of internal/gen.
//
// The rule text and order were read off moby/moby's bridge driver and its
// generated rule listings (nothing of moby's code is copied):
//
//   - 20.10 (tag v20.10.12): vendor/github.com/docker/libnetwork/drivers/bridge/
//     setup_ip_tables.go, setup_ip_forwarding.go, iptables/iptables.go,
//     firewall_linux.go (DOCKER-USER with its RETURN).
//   - 28 (tag v28.5.2): libnetwork/drivers/bridge/internal/iptabler/
//     {iptabler,network,port,endpoint}.go and
//     integration/network/bridge/iptablesdoc/generated/{new-daemon,usernet-portmap,usernet-portmap-lo}.md.
//     DOCKER-USER has no RETURN since v28.2.2; the raw-table drops of traffic
//     routed straight to a container exist since v28.2.0.
//   - 29 (tags docker-v29.0.0 to docker-v29.5.1): the same files under
//     daemon/libnetwork/drivers/bridge/internal/iptabler and the same
//     listings: DOCKER-INTERNAL replaces the isolation chains (the DOCKER
//     chain's "! -i BR -o BR -j DROP" rules already isolate bridges), and nat
//     DOCKER has no "-i BR -j RETURN" rules.
//
// IPv6 ([Host.Emit6]). Docker 27 and later run ip6tables by default (the
// daemon's "ip6tables" option, default true): at start the daemon makes in
// ip6tables the same chains as in iptables, with their jumps (iptabler.go
// setupIPChains; libnetwork/firewall_linux.go setupUserChain makes
// DOCKER-USER for each family), whether or not any network has IPv6, the
// nat OUTPUT jump excluding ::1/128 instead of 127.0.0.0/8. A network with
// IPv6 (docker network create --ipv6, or the daemon's "ipv6" and
// "fixed-cidr-v6" for docker0) gets in ip6tables what an IPv4 network gets
// in iptables, and only such a network (network.go configure skips a family
// the network has no subnet of); its containers' IPv6 addresses get the
// raw-table DROP (endpoint.go), and a published port mapped to a container's
// IPv6 address its DNAT to [ADDR]:PORT, which matches "! -s fe80::/10", and
// its ACCEPT (port.go setPerPortNAT, setPerPortForwarding). Which host
// addresses map to which container address is port_mapping_linux.go
// addPortMappings: no host address (or ::) maps every IPv6 address to the
// container's IPv6 address; a container without one is reached from IPv6
// clients through docker-proxy alone (its "6to4" proxy), with no rule in
// either table; 0.0.0.0 and IPv4 addresses map IPv4 only, :: and IPv6
// addresses IPv6 only. Docker turns IPv6 forwarding on, and so sets the
// ip6tables FORWARD policy to DROP, when it creates a network with IPv6
// (setup_ip_forwarding.go setupIPv6Forwarding): with no such network the
// policy is left as it was (ACCEPT here). An IPv6-only network
// (--ipv4=false, Docker 28 and later) has no iptables rules at all.
//
// Docker 20.10 has no ip6tables rules by default: its "ip6tables" option is
// experimental and off unless set (with "experimental": true), and even with
// it on, 20.10 makes no DOCKER-USER chain in ip6tables (firewall_linux.go:
// "TODO IPv6 support"). [Host.Emit6] of a 20.10 host adds nothing: that is
// the default daemon's ip6tables; the experimental option is not modelled.
//
// testdata/docker/README.md and scripts/lib/docker-iptables.sh replay the
// IPv4 commands against the kernel; internal/gen's tests check that Emit
// reproduces those dumps byte for byte. moby's own golden rules for a
// network with IPv6 (iptabler_test.go's testdata, one of which is
// ../shared/corpus/moby-iptabler-golden-nat-ip6.save) are what Emit6 gives
// for the same network.
//
// Default daemon settings are assumed: userland-proxy on, icc on, ip-masq
// on, ip6tables on (28 and 29), iptables (not nftables) firewall backend,
// and Docker turned ip_forward (and, with an IPv6 network, IPv6 forwarding)
// on itself, so the FORWARD policy is DROP. A network's icc and ip-masq can
// be turned off (Bridge.NoICC, Bridge.NoMasquerade) for the layouts moby's
// golden rules show.
package dockerrules

import (
	"fmt"
	"net/netip"
)

// Version is a Docker rule layout.
type Version int

const (
	V2010 Version = iota // Docker 20.10
	V28                  // Docker 28.2.2 and later 28.x
	V29                  // Docker 29.x
)

func (v Version) String() string {
	switch v {
	case V2010:
		return "20.10"
	case V28:
		return "28"
	case V29:
		return "29"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

// Bridge is a bridge network.
type Bridge struct {
	Name string // docker0, br-app
	// Subnet is the IPv4 subnet (172.17.0.0/16), "" for an IPv6-only
	// network (--ipv4=false, Docker 28 and later).
	Subnet string
	// Subnet6 is the IPv6 subnet (fd00:1::/64), "" for a network without
	// IPv6.
	Subnet6 string
	// NoICC and NoMasquerade turn off the network's inter-container
	// communication and masquerading (the network options
	// com.docker.network.bridge.enable_icc and enable_ip_masquerade set to
	// false; for docker0 the daemon's "icc" and "ip-masq").
	NoICC, NoMasquerade bool
}

// Port is one published port of a container address.
type Port struct {
	Proto string // tcp or udp
	Host  int    // host port
	Ctr   int    // container port
	// HostIP is the host address of an IP:port binding, of the family of
	// the container address the port is published to; "" for every
	// address of that family.
	HostIP string
}

// Container is a container attached to one bridge.
type Container struct {
	Bridge int    // index into Host.Bridges
	IP     string // IPv4 address (172.17.0.2), "" on an IPv6-only network
	IP6    string // IPv6 address (fd00:1::2), "" on a network without IPv6
	Ports  []Port // published to IP (iptables rules)
	Ports6 []Port // published to IP6 (ip6tables rules)
}

// Host is the Docker part of a host: its bridges in creation order and its
// containers in start order.
type Host struct {
	Version    Version
	Bridges    []Bridge
	Containers []Container
}

// Sink receives rules; *Ruleset is one.
type Sink interface {
	Chain(table, chain string)
	Policy(table, chain, policy string)
	Append(table, chain, rule string)
}

// Emit adds Docker's iptables (IPv4) rules to s. Rules other parts of the
// host put in DOCKER-USER must be added before (they sit above a 20.10
// RETURN).
func (d *Host) Emit(s Sink) { d.emit(s, d.family(false)) }

// Emit6 adds Docker's ip6tables rules to s: on 28 and 29 the daemon's
// chains, and the rules of the networks with IPv6 and of their containers'
// IPv6 addresses; on 20.10 nothing (ip6tables is off by default there).
func (d *Host) Emit6(s Sink) {
	if d.Version == V2010 {
		return
	}
	d.emit(s, d.family(true))
}

func (d *Host) emit(s Sink, v *view) {
	switch d.Version {
	case V2010:
		v.emit2010(s)
	case V28, V29:
		v.emit28(s, d.Version == V29)
	default:
		panic("dockerrules: unknown version " + d.Version.String())
	}
}

// view is one family's part of a host: the bridges with a subnet of that
// family, and the containers with an address of it, their ports those
// published to that address.
type view struct {
	v6         bool
	bridges    []Bridge    // Subnet is the family's subnet
	containers []Container // Bridge indexes bridges; IP and Ports are the family's
}

func (d *Host) family(v6 bool) *view {
	v := &view{v6: v6}
	index := map[int]int{} // d.Bridges index -> v.bridges index
	for i, b := range d.Bridges {
		if v6 {
			b.Subnet = b.Subnet6
		}
		b.Subnet6 = ""
		if b.Subnet == "" {
			continue
		}
		index[i] = len(v.bridges)
		v.bridges = append(v.bridges, b)
	}
	for _, c := range d.Containers {
		if v6 {
			c.IP, c.Ports = c.IP6, c.Ports6
		}
		c.IP6, c.Ports6 = "", nil
		bi, ok := index[c.Bridge]
		if !ok || c.IP == "" {
			continue
		}
		c.Bridge = bi
		v.containers = append(v.containers, c)
	}
	return v
}

func portMatch(proto string, port int) string {
	return fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, port)
}

// host is an address as iptables-save prints it: with its prefix length.
func (v *view) host(ip string) string {
	if v.v6 {
		return ip + "/128"
	}
	return ip + "/32"
}

// hostIP is the destination match of a port bound to one host address.
func (v *view) hostIP(p Port) string {
	if p.HostIP == "" {
		return ""
	}
	return "-d " + v.host(p.HostIP) + " "
}

// dnatTo is a DNAT target's address and port.
func (v *view) dnatTo(ip string, port int) string {
	if v.v6 {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func isLoopback(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is4() && a.IsLoopback()
}

// natCommon is the nat table. hairpin: the per-port MASQUERADE of 20.10;
// bridgeReturn: nat DOCKER's "-i BR -j RETURN" (20.10 and 28, for a bridge
// that masquerades).
func (v *view) natCommon(s Sink, hairpin, bridgeReturn bool) {
	s.Append("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j DOCKER")
	if v.v6 {
		s.Append("nat", "OUTPUT", "! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER")
	} else {
		s.Append("nat", "OUTPUT", "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER")
	}
	s.Chain("nat", "DOCKER")
	for i := len(v.bridges) - 1; i >= 0; i-- {
		if b := v.bridges[i]; !b.NoMasquerade {
			s.Append("nat", "POSTROUTING", fmt.Sprintf("-s %s ! -o %s -j MASQUERADE", b.Subnet, b.Name))
		}
	}
	if hairpin {
		for _, c := range v.containers {
			for _, p := range c.Ports {
				s.Append("nat", "POSTROUTING", fmt.Sprintf("-s %s -d %s %s -j MASQUERADE", v.host(c.IP), v.host(c.IP), portMatch(p.Proto, p.Ctr)))
			}
		}
	}
	if bridgeReturn {
		for i := len(v.bridges) - 1; i >= 0; i-- {
			if b := v.bridges[i]; !b.NoMasquerade {
				s.Append("nat", "DOCKER", fmt.Sprintf("-i %s -j RETURN", b.Name))
			}
		}
	}
	// port.go setPerPortNAT: an IPv6 DNAT also matches "! -s fe80::/10",
	// which iptables-save prints first.
	linkLocal := ""
	if v.v6 {
		linkLocal = "! -s fe80::/10 "
	}
	for _, c := range v.containers {
		br := v.bridges[c.Bridge].Name
		for _, p := range c.Ports {
			s.Append("nat", "DOCKER", fmt.Sprintf("%s%s! -i %s %s -j DNAT --to-destination %s", linkLocal, v.hostIP(p), br, portMatch(p.Proto, p.Host), v.dnatTo(c.IP, p.Ctr)))
		}
	}
}

func (v *view) acceptRule(c Container, p Port) string {
	br := v.bridges[c.Bridge].Name
	return fmt.Sprintf("-d %s ! -i %s -o %s %s -j ACCEPT", v.host(c.IP), br, br, portMatch(p.Proto, p.Ctr))
}

func (v *view) emit2010(s Sink) {
	s.Policy("filter", "FORWARD", "DROP")
	for _, c := range []string{"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"} {
		s.Chain("filter", c)
	}
	s.Append("filter", "FORWARD", "-j DOCKER-USER")
	s.Append("filter", "FORWARD", "-j DOCKER-ISOLATION-STAGE-1")
	// setupIPTablesInternal and ProgramChain insert each bridge's rules at
	// the top of FORWARD (newest bridge first); setIcc with icc off
	// appends its DROP at the end instead of inserting an ACCEPT.
	for i := len(v.bridges) - 1; i >= 0; i-- {
		b := v.bridges[i]
		s.Append("filter", "FORWARD", "-o "+b.Name+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
		s.Append("filter", "FORWARD", "-o "+b.Name+" -j DOCKER")
		s.Append("filter", "FORWARD", "-i "+b.Name+" ! -o "+b.Name+" -j ACCEPT")
		if !b.NoICC {
			s.Append("filter", "FORWARD", "-i "+b.Name+" -o "+b.Name+" -j ACCEPT")
		}
	}
	for _, b := range v.bridges {
		if b.NoICC {
			s.Append("filter", "FORWARD", "-i "+b.Name+" -o "+b.Name+" -j DROP")
		}
	}
	for _, c := range v.containers {
		for _, p := range c.Ports {
			s.Append("filter", "DOCKER", v.acceptRule(c, p))
		}
	}
	for i := len(v.bridges) - 1; i >= 0; i-- {
		br := v.bridges[i].Name
		s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+br+" ! -o "+br+" -j DOCKER-ISOLATION-STAGE-2")
	}
	s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-j RETURN")
	for i := len(v.bridges) - 1; i >= 0; i-- {
		s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+v.bridges[i].Name+" -j DROP")
	}
	s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-j RETURN")
	s.Append("filter", "DOCKER-USER", "-j RETURN")
	v.natCommon(s, true, true)
}

// emit28 is Docker 28.2.2+ and, with v29, Docker 29.
func (v *view) emit28(s Sink, v29 bool) {
	for _, c := range v.containers {
		br := v.bridges[c.Bridge].Name
		// endpoint.go filterDirectAccess, when the container joins
		s.Append("raw", "PREROUTING", fmt.Sprintf("-d %s ! -i %s -j DROP", v.host(c.IP), br))
		// port.go filterPortMappedOnLoopback, when its ports are mapped
		// (IPv4 only: an IPv6 loopback address is not routable)
		for _, p := range c.Ports {
			if !v.v6 && isLoopback(p.HostIP) {
				s.Append("raw", "PREROUTING", fmt.Sprintf("-d %s ! -i lo %s -j DROP", v.host(p.HostIP), portMatch(p.Proto, p.Host)))
			}
		}
	}
	// IPv4 forwarding is turned on by the daemon (an IPv4 network always
	// exists: docker0); IPv6 forwarding by the first network with IPv6.
	if !v.v6 || len(v.bridges) > 0 {
		s.Policy("filter", "FORWARD", "DROP")
	}
	chains := []string{"DOCKER", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-FORWARD", "DOCKER-USER"}
	middle := "DOCKER-ISOLATION-STAGE-1"
	if v29 {
		middle = "DOCKER-INTERNAL"
		chains = append(chains, "DOCKER-INTERNAL")
	} else {
		chains = append(chains, "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2")
	}
	for _, c := range chains {
		s.Chain("filter", c)
	}
	s.Append("filter", "FORWARD", "-j DOCKER-USER")
	s.Append("filter", "FORWARD", "-j DOCKER-FORWARD")
	for i := len(v.containers) - 1; i >= 0; i-- { // inserted at the top: newest first
		c := v.containers[i]
		for j := len(c.Ports) - 1; j >= 0; j-- {
			s.Append("filter", "DOCKER", v.acceptRule(c, c.Ports[j]))
		}
	}
	for _, b := range v.bridges {
		s.Append("filter", "DOCKER", "! -i "+b.Name+" -o "+b.Name+" -j DROP")
	}
	for _, b := range v.bridges {
		s.Append("filter", "DOCKER-BRIDGE", "-o "+b.Name+" -j DOCKER")
	}
	for _, b := range v.bridges {
		s.Append("filter", "DOCKER-CT", "-o "+b.Name+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	s.Append("filter", "DOCKER-FORWARD", "-j DOCKER-CT")
	s.Append("filter", "DOCKER-FORWARD", "-j "+middle)
	s.Append("filter", "DOCKER-FORWARD", "-j DOCKER-BRIDGE")
	// network.go setupNonInternalNetworkRules: with icc, one ACCEPT of what
	// leaves the bridge; without, setIcc's DROP of what stays on it, then
	// an ACCEPT of what leaves it.
	for _, b := range v.bridges {
		if b.NoICC {
			s.Append("filter", "DOCKER-FORWARD", "-i "+b.Name+" -o "+b.Name+" -j DROP")
			s.Append("filter", "DOCKER-FORWARD", "-i "+b.Name+" ! -o "+b.Name+" -j ACCEPT")
		} else {
			s.Append("filter", "DOCKER-FORWARD", "-i "+b.Name+" -j ACCEPT")
		}
	}
	if !v29 {
		for _, b := range v.bridges {
			s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+b.Name+" ! -o "+b.Name+" -j DOCKER-ISOLATION-STAGE-2")
		}
		for i := len(v.bridges) - 1; i >= 0; i-- {
			s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+v.bridges[i].Name+" -j DROP")
		}
	}
	v.natCommon(s, false, !v29)
}
