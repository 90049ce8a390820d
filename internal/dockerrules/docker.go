// Package dockerrules models the iptables rules Docker itself installs on a
// host — its bridges, its containers and their published ports — for the
// layouts users run: Docker 20.10, 28 (28.2.2 and later) and 29. It prints
// them as iptables-save text: [Baseline] for `dfwlint check --docker`, and
// [Host.Emit] for the synthetic hosts of internal/gen.
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
// testdata/docker/README.md and scripts/lib/docker-iptables.sh replay the
// same commands against the kernel; internal/gen's tests check that Emit
// reproduces those dumps byte for byte.
//
// Default daemon settings are assumed: userland-proxy on, icc on, ip-masq
// on, iptables (not nftables) firewall backend, and Docker turned ip_forward
// on itself, so the FORWARD policy is DROP.
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
	Name   string // docker0, br-app
	Subnet string // 172.17.0.0/16
}

// Port is one published port.
type Port struct {
	Proto  string // tcp or udp
	Host   int    // host port
	Ctr    int    // container port
	HostIP string // IPv4 address of an IP:port binding, "" for every address
}

// Container is a container attached to one bridge.
type Container struct {
	Bridge int    // index into Host.Bridges
	IP     string // 172.17.0.2
	Ports  []Port
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

// Emit adds Docker's rules to s. Rules other parts of the host put in
// DOCKER-USER must be added before (they sit above a 20.10 RETURN).
func (d *Host) Emit(s Sink) {
	switch d.Version {
	case V2010:
		d.emit2010(s)
	case V28, V29:
		d.emit28(s)
	default:
		panic("dockerrules: unknown version " + d.Version.String())
	}
}

func portMatch(proto string, port int) string {
	return fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, port)
}

func hostIP(p Port) string {
	if p.HostIP == "" {
		return ""
	}
	return "-d " + p.HostIP + "/32 "
}

func isLoopback(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is4() && a.IsLoopback()
}

func (d *Host) natCommon(s Sink, hairpin, bridgeReturn bool) {
	s.Append("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j DOCKER")
	s.Append("nat", "OUTPUT", "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER")
	s.Chain("nat", "DOCKER")
	for i := len(d.Bridges) - 1; i >= 0; i-- {
		b := d.Bridges[i]
		s.Append("nat", "POSTROUTING", fmt.Sprintf("-s %s ! -o %s -j MASQUERADE", b.Subnet, b.Name))
	}
	if hairpin {
		for _, c := range d.Containers {
			for _, p := range c.Ports {
				s.Append("nat", "POSTROUTING", fmt.Sprintf("-s %s/32 -d %s/32 %s -j MASQUERADE", c.IP, c.IP, portMatch(p.Proto, p.Ctr)))
			}
		}
	}
	if bridgeReturn {
		for i := len(d.Bridges) - 1; i >= 0; i-- {
			s.Append("nat", "DOCKER", fmt.Sprintf("-i %s -j RETURN", d.Bridges[i].Name))
		}
	}
	for _, c := range d.Containers {
		br := d.Bridges[c.Bridge].Name
		for _, p := range c.Ports {
			s.Append("nat", "DOCKER", fmt.Sprintf("%s! -i %s %s -j DNAT --to-destination %s:%d", hostIP(p), br, portMatch(p.Proto, p.Host), c.IP, p.Ctr))
		}
	}
}

func (d *Host) acceptRule(c Container, p Port) string {
	br := d.Bridges[c.Bridge].Name
	return fmt.Sprintf("-d %s/32 ! -i %s -o %s %s -j ACCEPT", c.IP, br, br, portMatch(p.Proto, p.Ctr))
}

func (d *Host) emit2010(s Sink) {
	s.Policy("filter", "FORWARD", "DROP")
	for _, c := range []string{"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"} {
		s.Chain("filter", c)
	}
	s.Append("filter", "FORWARD", "-j DOCKER-USER")
	s.Append("filter", "FORWARD", "-j DOCKER-ISOLATION-STAGE-1")
	for i := len(d.Bridges) - 1; i >= 0; i-- {
		br := d.Bridges[i].Name
		s.Append("filter", "FORWARD", "-o "+br+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
		s.Append("filter", "FORWARD", "-o "+br+" -j DOCKER")
		s.Append("filter", "FORWARD", "-i "+br+" ! -o "+br+" -j ACCEPT")
		s.Append("filter", "FORWARD", "-i "+br+" -o "+br+" -j ACCEPT")
	}
	for _, c := range d.Containers {
		for _, p := range c.Ports {
			s.Append("filter", "DOCKER", d.acceptRule(c, p))
		}
	}
	for i := len(d.Bridges) - 1; i >= 0; i-- {
		br := d.Bridges[i].Name
		s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+br+" ! -o "+br+" -j DOCKER-ISOLATION-STAGE-2")
	}
	s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-j RETURN")
	for i := len(d.Bridges) - 1; i >= 0; i-- {
		s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+d.Bridges[i].Name+" -j DROP")
	}
	s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-j RETURN")
	s.Append("filter", "DOCKER-USER", "-j RETURN")
	d.natCommon(s, true, true)
}

// emit28 is Docker 28.2.2+ and, with d.Version V29, Docker 29.
func (d *Host) emit28(s Sink) {
	v29 := d.Version == V29
	for _, c := range d.Containers {
		br := d.Bridges[c.Bridge].Name
		// endpoint.go filterDirectAccess, when the container joins
		s.Append("raw", "PREROUTING", fmt.Sprintf("-d %s/32 ! -i %s -j DROP", c.IP, br))
		// port.go filterPortMappedOnLoopback, when its ports are mapped
		for _, p := range c.Ports {
			if isLoopback(p.HostIP) {
				s.Append("raw", "PREROUTING", fmt.Sprintf("-d %s/32 ! -i lo %s -j DROP", p.HostIP, portMatch(p.Proto, p.Host)))
			}
		}
	}
	s.Policy("filter", "FORWARD", "DROP")
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
	for i := len(d.Containers) - 1; i >= 0; i-- { // inserted at the top: newest first
		c := d.Containers[i]
		for j := len(c.Ports) - 1; j >= 0; j-- {
			s.Append("filter", "DOCKER", d.acceptRule(c, c.Ports[j]))
		}
	}
	for _, b := range d.Bridges {
		s.Append("filter", "DOCKER", "! -i "+b.Name+" -o "+b.Name+" -j DROP")
	}
	for _, b := range d.Bridges {
		s.Append("filter", "DOCKER-BRIDGE", "-o "+b.Name+" -j DOCKER")
	}
	for _, b := range d.Bridges {
		s.Append("filter", "DOCKER-CT", "-o "+b.Name+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	s.Append("filter", "DOCKER-FORWARD", "-j DOCKER-CT")
	s.Append("filter", "DOCKER-FORWARD", "-j "+middle)
	s.Append("filter", "DOCKER-FORWARD", "-j DOCKER-BRIDGE")
	for _, b := range d.Bridges {
		s.Append("filter", "DOCKER-FORWARD", "-i "+b.Name+" -j ACCEPT")
	}
	if !v29 {
		for _, b := range d.Bridges {
			s.Append("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+b.Name+" ! -o "+b.Name+" -j DOCKER-ISOLATION-STAGE-2")
		}
		for i := len(d.Bridges) - 1; i >= 0; i-- {
			s.Append("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+d.Bridges[i].Name+" -j DROP")
		}
	}
	d.natCommon(s, false, !v29)
}
