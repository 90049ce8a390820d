package dockerrules

import (
	"bytes"
	"fmt"
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
	HostIP   string // IPv4 address of an IP:port binding, "" for all
	HostPort int
	CtrPort  int
	Proto    string // tcp or udp
	// Container is the container's IPv4 address, or the name of a network
	// (its first container), or "" for the first container on docker0.
	// A Publish with no ports (HostPort and CtrPort 0) only starts the
	// container: on Docker 28 and 29 it still has its raw-table DROP.
	Container string
}

// ParsePublish reads Docker's -p syntax,
// [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO], optionally followed by
// @CONTAINER: a container address (8080:80@172.17.0.3) or a network name
// (5432:5432@br-app). Port ranges of equal length (8000-8001:80-81) give
// one Publish per port, as Docker maps them. A host port must be given:
// the one Docker would pick at run time is unknown.
func ParsePublish(s string) ([]Publish, error) {
	bad := func(why string) ([]Publish, error) {
		return nil, fmt.Errorf("publish %q: %s (want [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO][@CONTAINER], e.g. 8080:80 or 127.0.0.1:8080:80/tcp@172.17.0.3)", s, why)
	}
	spec, ctr, _ := strings.Cut(s, "@")
	proto := "tcp"
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		proto = spec[i+1:]
		spec = spec[:i]
	}
	if proto != "tcp" && proto != "udp" {
		return bad("protocol " + strconv.Quote(proto) + " is not modelled (tcp or udp)")
	}
	if strings.HasPrefix(spec, "[") || strings.Count(spec, ":") > 2 {
		return bad("IPv6 host addresses are not modelled (the baselines are IPv4 iptables rules)")
	}
	f := strings.Split(spec, ":")
	var hostIP string
	switch len(f) {
	case 1:
		return bad("no host port: Docker would pick one at run time")
	case 3:
		hostIP = f[0]
		f = f[1:]
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return bad(strconv.Quote(hostIP) + " is not an IPv4 address")
		}
		if a.IsUnspecified() {
			hostIP = ""
		}
	}
	if f[0] == "" {
		return bad("no host port: Docker would pick one at run time")
	}
	hlo, hhi, err := portRange(f[0])
	if err != nil {
		return bad(err.Error())
	}
	clo, chi, err := portRange(f[1])
	if err != nil {
		return bad(err.Error())
	}
	if hhi-hlo != chi-clo {
		return bad("the host and container port ranges differ in length")
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

func portRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = port(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = port(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("port range %s runs backwards", s)
		}
	}
	return lo, hi, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number in 1-65535", s)
	}
	return n, nil
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
		// allocated"); a binding on all addresses clashes with every one.
		for _, q := range bound {
			if q.Proto == proto && q.HostPort == p.HostPort && (q.HostIP == "" || p.HostIP == "" || q.HostIP == p.HostIP) {
				return nil, fmt.Errorf("host port %s/%d is published twice", proto, p.HostPort)
			}
		}
		p.Proto = proto
		bound = append(bound, p)
		h.Containers[c].Ports = append(h.Containers[c].Ports, Port{Proto: proto, Host: p.HostPort, Ctr: p.CtrPort, HostIP: p.HostIP})
	}
	return h, nil
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
