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

// Network is a bridge network given by its subnets: a user-defined one
// (docker network create -o com.docker.network.bridge.name=NAME --subnet
// SUBNET [--ipv6 --subnet SUBNET6]), or docker0 given an IPv6 subnet (the
// daemon's "ipv6": true and "fixed-cidr-v6": SUBNET6).
type Network struct {
	Name    string
	Subnet  string // IPv4 subnet, "" for none (an IPv6-only network)
	Subnet6 string // IPv6 subnet, "" for none
}

// badBridgeName says why name is not taken as the name of a bridge the
// rules name with -i and -o ("" when it is): longer than 15 bytes (the
// kernel's IFNAMSIZ), "." or "..", or a character other than a letter, a
// digit, '.', '_' or '-', or a '-' first. The kernel takes more (it
// refuses '/', ':' and blanks), but in a rule a '+' at the end is a
// wildcard, a '!' a negation, a '-' first an option, and quotes and the
// like need quoting; Docker's own names (docker0, br-<id>, a
// com.docker.network.bridge.name) are of the kind taken here.
func badBridgeName(name string) string {
	switch {
	case len(name) > 15:
		return "is longer than 15 characters (the kernel refuses longer interface names)"
	case name == "." || name == "..":
		return "is not an interface name"
	case name[0] == '-':
		return "begins with '-' (iptables would read it as an option)"
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Sprintf("has %q (expected letters, digits, '.', '_' and '-')", c)
		}
	}
	return ""
}

// ParseNetwork reads NAME=SUBNET[,SUBNET]: one IPv4 subnet, one IPv6
// subnet, or one of each (a dual-stack network), e.g.
// br-app=172.18.0.0/16, br-app=172.18.0.0/16,fd00:18::/64, or
// docker0=fd00::/64 (docker0 keeps its IPv4 subnet, see NewHost).
func ParseNetwork(s string) (Network, error) {
	const want = "want NAME=SUBNET[,SUBNET]: an IPv4 subnet, an IPv6 one, or one of each, e.g. br-app=172.18.0.0/16, br-app=172.18.0.0/16,fd00:18::/64 or docker0=fd00::/64"
	name, subnets, ok := strings.Cut(s, "=")
	if !ok || name == "" || strings.ContainsAny(name, " \t/@,=") {
		return Network{}, fmt.Errorf("network %q: %s", s, want)
	}
	if why := badBridgeName(name); why != "" {
		return Network{}, fmt.Errorf("network %q: bridge name %q %s", s, name, why)
	}
	n := Network{Name: name}
	f := strings.Split(subnets, ",")
	if len(f) > 2 {
		return Network{}, fmt.Errorf("network %q: %d subnets (%s)", s, len(f), want)
	}
	for _, sub := range f {
		p, err := netip.ParsePrefix(sub)
		switch {
		case err != nil || p.Addr().Zone() != "":
			return Network{}, fmt.Errorf("network %q: %q is not a subnet (%s)", s, sub, want)
		case p.Addr().Is4() && p.Bits() > 30:
			return Network{}, fmt.Errorf("network %q: %q is not an IPv4 subnet of at most /30 (a network, a gateway, a container and a broadcast address)", s, sub)
		case p.Addr().Is4() && n.Subnet != "", p.Addr().Is6() && n.Subnet6 != "":
			return Network{}, fmt.Errorf("network %q: two %s subnets (%s)", s, famName(p.Addr()), want)
		case p.Addr().Is6():
			if err := checkSubnet6(p); err != nil {
				return Network{}, fmt.Errorf("network %q: %v", s, err)
			}
			n.Subnet6 = p.Masked().String()
		default:
			n.Subnet = p.Masked().String()
		}
	}
	return n, nil
}

// linkLocal is the prefix of the addresses Linux gives every interface.
var linkLocal = netip.MustParsePrefix("fe80::/64")

// checkSubnet6 refuses the IPv6 subnets Docker refuses (the bridge
// driver's validateIPv6Subnet): IPv4-mapped, multicast, or overlapping
// fe80::/64 without being it; and one too small for a gateway and a
// container.
func checkSubnet6(p netip.Prefix) error {
	switch {
	case !p.Addr().Is6() || p.Addr().Is4In6():
		return fmt.Errorf("%q is not an IPv6 subnet Docker accepts (an IPv4-mapped address is not one)", p)
	case p.Addr().IsMulticast():
		return fmt.Errorf("%q is a multicast subnet, which Docker refuses", p)
	case p.Masked() != linkLocal && linkLocal.Overlaps(p):
		return fmt.Errorf("%q overlaps the link-local prefix fe80::/64, which Docker refuses", p)
	case p.Bits() > 126:
		return fmt.Errorf("%q is not an IPv6 subnet of at most /126 (a network, a gateway and a container address)", p)
	}
	return nil
}

func famName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
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
	// Container is the container's IPv4 or IPv6 address, or the name of a
	// network (its first container), or "" for the first container on
	// docker0.
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
// @CONTAINER: a container address (8080:80@172.17.0.3, 8080:80@fd00:18::3)
// or a network name (5432:5432@br-app). It accepts what the docker CLI of
// 20.10, 28 and 29 accepts (go-connections' nat.ParsePortSpec): HOSTIP is
// an IPv4 or IPv6 address, bracketed or not ([::]:8080:80, :::8080:80,
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
	if strings.Contains(ctr, ":") {
		// an IPv6 container address, bracketed or not
		bare := ctr
		if strings.HasPrefix(bare, "[") && strings.HasSuffix(bare, "]") {
			bare = bare[1 : len(bare)-1]
		}
		a, err := netip.ParseAddr(bare)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return bad(strconv.Quote(ctr) + " is neither an address nor a network name")
		}
		ctr = a.String()
	} else if ctr != "" && !strings.Contains(ctr, ".") && strings.ContainsAny(ctr, " \t/") {
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
// each publish's ports added to its container.
//
// A network has an IPv4 subnet, an IPv6 one, or both. docker0 always has
// its IPv4 subnet; a Network named docker0 gives it an IPv6 one (the
// daemon's "ipv6" and "fixed-cidr-v6"), and may only repeat 172.17.0.0/16
// beside it. An IPv6-only network needs Docker 28 or later.
//
// A publish without an address goes to its network's first container,
// started at the network's first free address of each family from .2
// (::2) upward (172.17.0.2 on docker0), as Docker's IPAM allocates them;
// a publish with one address of a dual-stack network starts the container
// with that address, and the first free one of the other family.
//
// Which bindings a publish makes is Docker's addPortMappings: a host
// address of one family binds that family only (0.0.0.0 and :: are every
// address of theirs); no address binds both. A binding maps to the
// container's address of the host address's family, in Ports or Ports6; a
// container without an IPv6 address gets its IPv6 bindings through
// docker-proxy alone (the userland proxy is on), with no rule in iptables
// or ip6tables; one without an IPv4 address gets no IPv4 binding at all.
func NewHost(v Version, publishes []Publish, networks ...Network) (*Host, error) {
	h := &Host{Version: v, Bridges: []Bridge{DefaultBridge}}
	// prefixes[i] are bridge i's subnets, IPv4 then IPv6 (invalid: none).
	prefixes := [][2]netip.Prefix{{netip.MustParsePrefix(DefaultBridge.Subnet)}}
	docker0 := false
	for _, n := range networks {
		var np [2]netip.Prefix
		for k, sub := range []string{n.Subnet, n.Subnet6} {
			if sub == "" {
				continue
			}
			p, err := netip.ParsePrefix(sub)
			if err != nil || p.Addr().Is4() != (k == 0) {
				return nil, fmt.Errorf("network %s: %q is not an %s subnet", n.Name, sub, [2]string{"IPv4", "IPv6"}[k])
			}
			if k == 1 {
				if err := checkSubnet6(p); err != nil {
					return nil, fmt.Errorf("network %s: %v", n.Name, err)
				}
			}
			np[k] = p.Masked()
		}
		switch {
		case !np[0].IsValid() && !np[1].IsValid():
			return nil, fmt.Errorf("network %s has no subnet", n.Name)
		case n.Name == DefaultBridge.Name && docker0:
			return nil, fmt.Errorf("network docker0 given twice (give its IPv6 subnet once: docker0=SUBNET6)")
		case n.Name == DefaultBridge.Name && np[0].IsValid() && np[0] != prefixes[0][0]:
			return nil, fmt.Errorf("network docker0=%s: docker0 is %s here (the daemon's bip and fixed-cidr are not modelled); give docker0 its IPv6 subnet alone, e.g. docker0=fd00::/64", np[0], DefaultBridge.Subnet)
		case n.Name == DefaultBridge.Name && !np[1].IsValid():
			return nil, fmt.Errorf("network docker0=%s: docker0 is there already, with %s; give it an IPv6 subnet, e.g. docker0=fd00::/64", np[0], DefaultBridge.Subnet)
		case !np[0].IsValid() && v == V2010 && n.Name != DefaultBridge.Name:
			return nil, fmt.Errorf("network %s=%s: Docker 20.10 gives every network an IPv4 subnet (IPv6-only networks came with 28.0); give both, NAME=SUBNET4,SUBNET6", n.Name, np[1])
		}
		bi := len(h.Bridges)
		if n.Name == DefaultBridge.Name {
			docker0, bi = true, 0
		} else {
			for _, b := range h.Bridges {
				if b.Name == n.Name {
					return nil, fmt.Errorf("network %s given twice (a dual-stack network takes both subnets in one: %s=SUBNET4,SUBNET6)", n.Name, n.Name)
				}
			}
		}
		for i, b := range h.Bridges {
			for k := range np {
				if i != bi && np[k].IsValid() && prefixes[i][k].IsValid() && prefixes[i][k].Overlaps(np[k]) {
					return nil, fmt.Errorf("network %s (%s) overlaps %s (%s)", n.Name, np[k], b.Name, prefixes[i][k])
				}
			}
		}
		if bi == 0 {
			h.Bridges[0].Subnet6 = np[1].String()
			prefixes[0][1] = np[1]
			continue
		}
		b := Bridge{Name: n.Name}
		if np[0].IsValid() {
			b.Subnet = np[0].String()
		}
		if np[1].IsValid() {
			b.Subnet6 = np[1].String()
		}
		h.Bridges = append(h.Bridges, b)
		prefixes = append(prefixes, np)
	}
	byIP := map[netip.Addr]int{} // container address (either family) -> index
	first := map[int]int{}       // bridge -> its first container
	// free is the first address of bridge b's subnet of family k no
	// container has, from the third (the first two are the network's and
	// the gateway's), the broadcast address of an IPv4 subnet excluded.
	free := func(b, k int) (netip.Addr, error) {
		pf := prefixes[b][k]
		a := pf.Addr().Next().Next()
		for _, taken := byIP[a]; taken; _, taken = byIP[a] {
			a = a.Next()
		}
		if !pf.Contains(a) || k == 0 && !pf.Contains(a.Next()) {
			return netip.Addr{}, fmt.Errorf("network %s is full", h.Bridges[b].Name)
		}
		return a, nil
	}
	// start starts a container on bridge b, with address a if valid.
	start := func(b int, a netip.Addr) (int, error) {
		c := Container{Bridge: b}
		for k := range prefixes[b] {
			if !prefixes[b][k].IsValid() {
				continue
			}
			ip := a
			if !a.IsValid() || a.Is4() != (k == 0) {
				var err error
				if ip, err = free(b, k); err != nil {
					return 0, err
				}
			}
			byIP[ip] = len(h.Containers)
			if k == 0 {
				c.IP = ip.String()
			} else {
				c.IP6 = ip.String()
			}
		}
		h.Containers = append(h.Containers, c)
		if _, ok := first[b]; !ok {
			first[b] = len(h.Containers) - 1
		}
		return len(h.Containers) - 1, nil
	}
	var bound []Publish
	for _, p := range publishes {
		c := -1
		if a, err := netip.ParseAddr(p.Container); err == nil {
			a = a.Unmap()
			k := 0
			if a.Is6() {
				k = 1
			}
			bridge := -1
			for i, pf := range prefixes {
				if pf[k].IsValid() && pf[k].Contains(a) {
					bridge = i
				}
			}
			if bridge < 0 {
				return nil, fmt.Errorf("container %s is on none of the networks (docker0 %s and those given with --network)", a, h.subnets(0))
			}
			pf := prefixes[bridge][k]
			if a == pf.Addr() || a == pf.Addr().Next() {
				return nil, fmt.Errorf("container %s: the first two addresses of %s are the network's and its gateway's", a, pf)
			}
			if k == 0 && !pf.Contains(a.Next()) {
				return nil, fmt.Errorf("container %s: the last address of %s is its broadcast address", a, pf)
			}
			if i, ok := byIP[a]; ok {
				c = i
			} else if c, err = start(bridge, a); err != nil {
				return nil, err
			}
		} else {
			bridge := 0
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
				c = i
			} else if c, err = start(bridge, netip.Addr{}); err != nil {
				return nil, err
			}
		}
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
		ctr := &h.Containers[c]
		var host netip.Addr
		if p.HostIP != "" {
			host, _ = netip.ParseAddr(p.HostIP) // ParsePublish checked it
			host = host.Unmap()
		}
		hostIP := func() string {
			if host.IsUnspecified() || !host.IsValid() {
				return ""
			}
			return host.String()
		}
		// configurePortBindingIPv4: no host address, or an IPv4 one, to
		// the container's IPv4 address if it has one.
		if ctr.IP != "" && (!host.IsValid() || host.Is4()) {
			ctr.Ports = append(ctr.Ports, Port{Proto: proto, Host: p.HostPort, Ctr: p.CtrPort, HostIP: hostIP()})
		}
		// configurePortBindingIPv6: no host address, or an IPv6 one, to
		// the container's IPv6 address; to its IPv4 one, through
		// docker-proxy and no rule (setPerPortIptables), when it has no
		// IPv6 address.
		if ctr.IP6 != "" && (!host.IsValid() || host.Is6()) {
			ctr.Ports6 = append(ctr.Ports6, Port{Proto: proto, Host: p.HostPort, Ctr: p.CtrPort, HostIP: hostIP()})
		}
	}
	return h, nil
}

// subnets names bridge i's subnets.
func (h *Host) subnets(i int) string {
	b := h.Bridges[i]
	switch {
	case b.Subnet == "":
		return b.Subnet6
	case b.Subnet6 == "":
		return b.Subnet
	}
	return b.Subnet + "," + b.Subnet6
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
// order), the iptables rules Docker of the given version (see
// ParseVersion) installs on a host with the given published ports and
// networks (see NewHost).
func Baseline(version string, publishes []Publish, networks ...Network) ([]byte, error) {
	v4, _, err := Baselines(version, publishes, networks...)
	return v4, err
}

// Baselines is Baseline for both families: the iptables rules (v4) and the
// ip6tables rules (v6, ip6tables-nft-save's text). v6 is empty for 20.10,
// whose daemon makes no ip6tables rules by default.
func Baselines(version string, publishes []Publish, networks ...Network) (v4, v6 []byte, err error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, nil, err
	}
	h, err := NewHost(v, publishes, networks...)
	if err != nil {
		return nil, nil, err
	}
	print := func(emit func(Sink)) ([]byte, error) {
		rs := NewRuleset()
		emit(rs)
		var b bytes.Buffer
		if _, err := rs.WriteTo(&b); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	if v4, err = print(h.Emit); err != nil {
		return nil, nil, err
	}
	if v6, err = print(h.Emit6); err != nil {
		return nil, nil, err
	}
	return v4, v6, nil
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
