package dockerrules

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultBridge is the daemon's default network.
var DefaultBridge = Bridge{Name: "docker0", Subnet: "172.17.0.0/16"}

// ParseVersion reads a Docker version: "20.10" (or 20.10.x), "28" (28.x
// from 28.2.2; 28.0.0 to 28.2.1 still end DOCKER-USER with a RETURN and are
// refused) or "29" (29.x).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	num := func(i int) int {
		if i >= len(parts) {
			return -1
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return -2
		}
		return n
	}
	if len(parts) <= 3 && num(0) >= 0 && num(1) != -2 && num(2) != -2 {
		switch major, minor, patch := num(0), num(1), num(2); {
		case major == 20 && (minor == 10 || minor == -1):
			return V2010, nil
		case major == 28 && minor == -1,
			major == 28 && (minor > 2 || minor == 2 && (patch == -1 || patch >= 2)):
			return V28, nil
		case major == 28:
			return 0, fmt.Errorf("Docker %s is not modelled: 28.0.0 to 28.2.1 end DOCKER-USER with a RETURN rule that 28.2.2 dropped; the models are 20.10, 28 (28.2.2 and later) and 29", s)
		case major == 29:
			return V29, nil
		}
	}
	return 0, fmt.Errorf("Docker %q is not modelled: the models are 20.10, 28 (28.2.2 and later) and 29", s)
}

// Network is a user-defined bridge network (docker network create
// -o com.docker.network.bridge.name=NAME --subnet SUBNET).
type Network struct {
	Name   string
	Subnet string
}

// ParseNetwork reads NAME=SUBNET, e.g. br-app=172.18.0.0/16.
func ParseNetwork(s string) (Network, error) {
	name, subnet, ok := strings.Cut(s, "=")
	if !ok || name == "" || strings.ContainsAny(name, " \t/@") {
		return Network{}, fmt.Errorf("network %q: want NAME=SUBNET, e.g. br-app=172.18.0.0/16", s)
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return Network{}, fmt.Errorf("network %q: %q is not an IPv4 subnet of at most /30", s, subnet)
	}
	return Network{Name: name, Subnet: p.Masked().String()}, nil
}

// Publish is one published port, as docker run -p gives it.
type Publish struct {
	// HostIP is the host address of an IP:port binding as given, in its
	// canonical form: "" when none is given (every IPv4 address, and every
	// IPv6 one through docker-proxy), 0.0.0.0 (every IPv4 address), :: (every
	// IPv6 address), or one IPv4 or IPv6 address. An IPv4-mapped IPv6
	// address is the IPv4 address, as Docker unmaps it.
	HostIP   string
	HostPort int
	CtrPort  int
	Proto    string // tcp or udp
	// Container is the container's IPv4 address, or the name of a network
	// (its first container), or "" for the first container on docker0.
	// A Publish with no ports (HostPort and CtrPort 0) only starts the
	// container: on Docker 28 and 29 it still has its raw-table DROP.
	Container string
}

// IPv6 reports whether p binds an IPv6 host address only.
func (p Publish) IPv6() bool {
	a, err := netip.ParseAddr(p.HostIP)
	return err == nil && a.Unmap().Is6()
}

// ParsePublish reads Docker's -p syntax,
// [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO], optionally followed by
// @CONTAINER: a container address (8080:80@172.17.0.3) or a network name
// (5432:5432@br-app). It accepts what the docker CLI of 20.10, 28 and 29
// accepts (go-connections' nat.ParsePortSpec): HOSTIP is an IPv4 or IPv6
// address, bracketed or not ([::]:8080:80, :::8080:80,
// [2001:db8::1]:8080:80); PROTO is tcp or udp in any case, tcp when left
// out. Port ranges of equal length (8000-8001:80-81) give one Publish per
// port, as Docker maps them. A host port must be given: the one Docker
// would pick at run time (-p 80, -p 0:80, -p 8000-8009:80) is unknown.
func ParsePublish(s string) ([]Publish, error) {
	bad := func(why string) ([]Publish, error) {
		return nil, fmt.Errorf("publish %q: %s (want [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO][@CONTAINER], e.g. 8080:80, 127.0.0.1:8080:80/tcp@172.17.0.3 or [::1]:8080:80)", s, why)
	}
	spec, ctr, _ := strings.Cut(s, "@")
	// nat.ParsePortSpec: the fields are split at every colon; the last two
	// are the ports, the rest (colons and all) the host address.
	f := strings.Split(spec, ":")
	hostIP, hostPorts, ctrPorts := "", "", f[len(f)-1]
	if len(f) >= 2 {
		hostPorts = f[len(f)-2]
		hostIP = strings.Join(f[:len(f)-2], ":")
	}
	// The protocol follows the container port's first slash.
	ctrPorts, proto, hasProto := strings.Cut(ctrPorts, "/")
	if !hasProto || proto == "" {
		proto = "tcp"
	}
	switch proto = strings.ToLower(proto); proto {
	case "tcp", "udp":
	case "sctp":
		return bad("protocol sctp is not modelled (tcp or udp)")
	default:
		return bad("protocol " + strconv.Quote(proto) + " is not tcp, udp or sctp")
	}
	if strings.HasPrefix(hostIP, "[") {
		h, _, err := net.SplitHostPort(hostIP + ":")
		if err != nil {
			return bad(strconv.Quote(hostIP) + " is not a bracketed address")
		}
		hostIP = h // "[]" is no address, as for Docker
	}
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || a.Zone() != "" {
			why := strconv.Quote(hostIP) + " is not an IPv4 or IPv6 address"
			if strings.Contains(hostIP, ":") && a.Zone() == "" {
				why += " (an IPv6 address may go in brackets: [::]:8080:80)"
			}
			return bad(why)
		}
		hostIP = a.Unmap().String()
	}
	if len(f) == 1 || hostPorts == "" {
		return bad("no host port: Docker would pick one at run time")
	}
	clo, chi, err := portRange(ctrPorts)
	if err != nil {
		return bad(err.Error())
	}
	hlo, hhi, err := portRange(hostPorts)
	if err != nil {
		return bad(err.Error())
	}
	if hhi-hlo != chi-clo {
		if chi == clo {
			return bad("a host port range for one container port: Docker would pick a host port in it at run time")
		}
		return bad("the host and container port ranges differ in length")
	}
	if hlo == 0 {
		return bad("host port 0: Docker would pick one at run time")
	}
	if clo == 0 {
		return bad("container port 0 is not modelled")
	}
	if ctr != "" && !strings.Contains(ctr, ".") && strings.ContainsAny(ctr, " \t/:") {
		return bad(strconv.Quote(ctr) + " is neither an address nor a network name")
	}
	var out []Publish
	for i := 0; i <= hhi-hlo; i++ {
		out = append(out, Publish{HostIP: hostIP, HostPort: hlo + i, CtrPort: clo + i, Proto: proto, Container: ctr})
	}
	return out, nil
}

// portRange reads PORT or LO-HI as nat.ParsePortRange does: decimal digits
// only, 0 to 65535, and of a range only the first two fields (80-81-90 is
// 80-81).
func portRange(s string) (lo, hi int, err error) {
	f := strings.Split(s, "-")
	if lo, err = port(f[0]); err != nil {
		return 0, 0, err
	}
	hi = lo
	if len(f) > 1 {
		if hi, err = port(f[1]); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("port range %s runs backwards", s)
		}
	}
	return lo, hi, nil
}

func port(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number in 0-65535", s)
	}
	return int(n), nil
}

// NewHost lays out a Docker host: docker0 (172.17.0.0/16) then networks, in
// that creation order; containers in the order publishes first name them,
// each publish's ports added to its container. A publish without an
// address goes to its network's first container, started at the network's
// first free address from .2 upward (172.17.0.2 on docker0).
func NewHost(v Version, publishes []Publish, networks ...Network) (*Host, error) {
	h := &Host{Version: v, Bridges: []Bridge{DefaultBridge}}
	prefixes := []netip.Prefix{netip.MustParsePrefix(DefaultBridge.Subnet)}
	for _, n := range networks {
		for i, b := range h.Bridges {
			if b.Name == n.Name {
				return nil, fmt.Errorf("network %s given twice", n.Name)
			}
			if p := netip.MustParsePrefix(n.Subnet); prefixes[i].Overlaps(p) {
				return nil, fmt.Errorf("network %s (%s) overlaps %s (%s)", n.Name, n.Subnet, b.Name, b.Subnet)
			}
		}
		p, err := netip.ParsePrefix(n.Subnet)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("network %s: %q is not an IPv4 subnet", n.Name, n.Subnet)
		}
		h.Bridges = append(h.Bridges, Bridge{Name: n.Name, Subnet: p.Masked().String()})
		prefixes = append(prefixes, p.Masked())
	}
	byIP := map[string]int{} // container address -> index
	first := map[int]int{}   // bridge -> its first container
	var bound []Publish
	add := func(bridge int, ip string) int {
		if i, ok := byIP[ip]; ok {
			return i
		}
		h.Containers = append(h.Containers, Container{Bridge: bridge, IP: ip})
		byIP[ip] = len(h.Containers) - 1
		if _, ok := first[bridge]; !ok {
			first[bridge] = len(h.Containers) - 1
		}
		return len(h.Containers) - 1
	}
	for _, p := range publishes {
		bridge, ip := -1, ""
		if a, err := netip.ParseAddr(p.Container); err == nil {
			for i, pf := range prefixes {
				if pf.Contains(a) {
					bridge, ip = i, a.String()
				}
			}
			if bridge < 0 {
				return nil, fmt.Errorf("container %s is on none of the networks (docker0 172.17.0.0/16 and those given with --network)", a)
			}
			if a == prefixes[bridge].Addr() || a == prefixes[bridge].Addr().Next() {
				return nil, fmt.Errorf("container %s: the first two addresses of %s are the network's and its gateway's", a, prefixes[bridge])
			}
		} else {
			bridge = 0
			if p.Container != "" {
				bridge = -1
				for i, b := range h.Bridges {
					if b.Name == p.Container {
						bridge = i
					}
				}
				if bridge < 0 {
					return nil, fmt.Errorf("publish %d:%d@%s: no network or address %q (networks: docker0 and those given with --network)", p.HostPort, p.CtrPort, p.Container, p.Container)
				}
			}
			if i, ok := first[bridge]; ok {
				ip = h.Containers[i].IP
			} else {
				a := prefixes[bridge].Addr().Next().Next()
				for _, taken := byIP[a.String()]; taken; _, taken = byIP[a.String()] {
					a = a.Next()
				}
				if !prefixes[bridge].Contains(a) {
					return nil, fmt.Errorf("network %s is full", h.Bridges[bridge].Name)
				}
				ip = a.String()
			}
		}
		c := add(bridge, ip)
		if p.HostPort == 0 && p.CtrPort == 0 {
			continue
		}
		proto := p.Proto
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("publish %d:%d/%s: protocol not modelled (tcp or udp)", p.HostPort, p.CtrPort, proto)
		}
		// Docker refuses a host port bound twice ("port is already
		// allocated").
		for _, q := range bound {
			if q.Proto == proto && q.HostPort == p.HostPort && bindingsOverlap(q.HostIP, p.HostIP) {
				return nil, fmt.Errorf("host port %s/%d is published twice", proto, p.HostPort)
			}
		}
		p.Proto = proto
		bound = append(bound, p)
		if p.IPv6() {
			// An IPv6 host address maps nothing in iptables: the
			// containers here have IPv4 addresses only, and Docker
			// (20.10's validatePortBindingIPv4, 28's and 29's
			// configurePortBindingIPv4 and setPerPortIptables) leaves the
			// host-IPv6-to-container-IPv4 binding to docker-proxy, with no
			// rule in iptables or ip6tables.
			continue
		}
		hostIP := p.HostIP
		if hostIP == "0.0.0.0" {
			hostIP = ""
		}
		h.Containers[c].Ports = append(h.Containers[c].Ports, Port{Proto: proto, Host: p.HostPort, Ctr: p.CtrPort, HostIP: hostIP})
	}
	return h, nil
}

// bindingsOverlap reports whether two host addresses of Publish.HostIP
// share an address: no address given binds every IPv4 and every IPv6
// address (IPv6 through docker-proxy), 0.0.0.0 every IPv4 one and :: every
// IPv6 one.
func bindingsOverlap(x, y string) bool {
	if x == "" || y == "" {
		return true
	}
	a, errA := netip.ParseAddr(x)
	b, errB := netip.ParseAddr(y)
	if errA != nil || errB != nil {
		return x == y
	}
	a, b = a.Unmap(), b.Unmap()
	return a.Is4() == b.Is4() && (a.IsUnspecified() || b.IsUnspecified() || a == b)
}

// Baseline returns, as iptables-save text (iptables-nft-save's table
// order), the rules Docker of the given version (see ParseVersion) installs
// on a host with the given published ports and networks (see NewHost).
func Baseline(version string, publishes []Publish, networks ...Network) ([]byte, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	h, err := NewHost(v, publishes, networks...)
	if err != nil {
		return nil, err
	}
	rs := NewRuleset()
	h.Emit(rs)
	var b bytes.Buffer
	if _, err := rs.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Describe names the Docker layout of a ruleset from the chains it has
// (has reports whether table/chain exists) and the last rule of
// DOCKER-USER (its target, "" when empty): e.g. "28.x (DOCKER-FORWARD,
// DOCKER-CT, DOCKER-BRIDGE)". It returns "" when no Docker chain is there.
func Describe(has func(table, chain string) bool, dockerUserLast string) string {
	switch {
	case has("filter", "DOCKER-FORWARD") && has("filter", "DOCKER-INTERNAL") && !has("filter", "DOCKER-ISOLATION-STAGE-1"):
		return "29.x (DOCKER-FORWARD, DOCKER-INTERNAL, no isolation chains)"
	case has("filter", "DOCKER-FORWARD"):
		if dockerUserLast == "RETURN" {
			return "28.x (DOCKER-FORWARD, DOCKER-CT, DOCKER-BRIDGE; DOCKER-USER ends in RETURN: 28.0.0-28.2.1, or a RETURN of the user's)"
		}
		return "28.x (DOCKER-FORWARD, DOCKER-CT, DOCKER-BRIDGE)"
	case has("filter", "DOCKER-ISOLATION-STAGE-1") && has("filter", "DOCKER"):
		return "20.10 (DOCKER-USER, DOCKER-ISOLATION-STAGE-1/2, DOCKER in FORWARD)"
	case has("filter", "DOCKER") || has("nat", "DOCKER") || has("filter", "DOCKER-USER"):
		return "unknown (Docker's chains without a layout dfw knows)"
	}
	return ""
}
