package sim

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// Host is the model of the machine whose firewall is simulated.
type Host struct {
	Ifaces []*Iface
	// Routes are extra routes; every interface address also gives a
	// connected route.
	Routes []Route
	// BrNetfilter is bridge-nf-call-iptables: bridged traffic between the
	// ports of one bridge crosses iptables.
	BrNetfilter bool
	// Assumptions lists every inference made to build the model.
	Assumptions []string
	// IPv6 is set for the model of an IPv6 ruleset: a packet given
	// without addresses is an IPv6 packet.
	IPv6 bool
}

// Iface is a network interface of the host. A bridge lists its ports.
type Iface struct {
	Name   string
	Addrs  []netip.Prefix
	Bridge bool
	Ports  []*Port
}

// Port is a bridge port and the addresses of the machines behind it.
type Port struct {
	Name  string
	Addrs []netip.Addr
}

// Route is a route of the main table: Dst via Via (zero when on-link)
// out of Dev.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
	Dev string
}

// NewHost returns a host with only a loopback interface and br_netfilter on.
func NewHost() *Host {
	return &Host{BrNetfilter: true}
}

// Iface returns the named interface, or nil.
func (h *Host) Iface(name string) *Iface {
	for _, i := range h.Ifaces {
		if i.Name == name {
			return i
		}
	}
	return nil
}

// AddIface adds (or returns) an interface.
func (h *Host) AddIface(name string) *Iface {
	if i := h.Iface(name); i != nil {
		return i
	}
	i := &Iface{Name: name}
	h.Ifaces = append(h.Ifaces, i)
	return i
}

// Primary returns the first address of the interface of the given family.
func (i *Iface) Primary(v6 bool) (netip.Addr, bool) {
	if i == nil {
		return netip.Addr{}, false
	}
	for _, p := range i.Addrs {
		if p.Addr().Is6() == v6 {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

// Port returns the bridge port with that name, or nil.
func (i *Iface) Port(name string) *Port {
	for _, p := range i.Ports {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// PortFor returns the port behind which addr lives, or nil.
func (i *Iface) PortFor(addr netip.Addr) *Port {
	for _, p := range i.Ports {
		for _, a := range p.Addrs {
			if a == addr {
				return p
			}
		}
	}
	return nil
}

// ensurePort returns the port for addr, creating one named vethN.
func (h *Host) ensurePort(br *Iface, addr netip.Addr) *Port {
	if p := br.PortFor(addr); p != nil {
		return p
	}
	n := 0
	for _, i := range h.Ifaces {
		n += len(i.Ports)
	}
	p := &Port{Name: fmt.Sprintf("veth%d", n), Addrs: []netip.Addr{addr}}
	br.Ports = append(br.Ports, p)
	h.Assumptions = append(h.Assumptions, fmt.Sprintf("%s taken as a machine behind port %s of bridge %s", addr, p.Name, br.Name))
	return p
}

// IsLocal reports whether a is one of the host's addresses (loopback
// included).
func (h *Host) IsLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, i := range h.Ifaces {
		for _, p := range i.Addrs {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// localOn reports whether a is an address of the named interface.
func (h *Host) localOn(a netip.Addr, dev string) bool {
	if dev == "lo" {
		return a.IsLoopback()
	}
	i := h.Iface(dev)
	if i == nil {
		return false
	}
	for _, p := range i.Addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// IsBroadcast reports whether a is the limited broadcast or the broadcast
// address of one of the host's IPv4 subnets.
func (h *Host) IsBroadcast(a netip.Addr) bool { return h.broadcastOn(a, "") }

// broadcastOn is IsBroadcast restricted to the subnets of the named
// interface (all of them for dev ""), as the kernel's inet_dev_addr_type:
// the local table's broadcast route of a subnet is on its device.
func (h *Host) broadcastOn(a netip.Addr, dev string) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if v == 0xffffffff {
		return true
	}
	for _, i := range h.Ifaces {
		if dev != "" && i.Name != dev {
			continue
		}
		for _, p := range i.Addrs {
			// v is the last address of p (lastAddr, in numbers).
			if pa := p.Addr(); pa.Is4() && p.Bits() < 31 {
				x := pa.As4()
				if (uint32(x[0])<<24|uint32(x[1])<<16|uint32(x[2])<<8|uint32(x[3]))|^uint32(0)>>p.Bits() == v {
					return true
				}
			}
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if bits := p.Bits(); bits < 32 {
		v |= ^uint32(0) >> bits
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// AddrType returns the addrtype (RTN_*) of an address as the kernel's
// inet_addr_type would, optionally restricted to an interface (dev "").
func (h *Host) AddrType(a netip.Addr, dev string) parser.AddrType {
	if a.Is4() {
		if a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return parser.ATBroadcast
		}
	}
	if a.IsMulticast() {
		return parser.ATMulticast
	}
	local := parser.ATLocal
	if a.Is6() {
		// ip6tables' addrtype (match_type6) takes every non-multicast
		// IPv6 address but :: as UNICAST, the host's own too.
		local |= parser.ATUnicast
	}
	if dev != "" {
		if h.localOn(a, dev) {
			return local
		}
	} else if h.IsLocal(a) {
		return local
	}
	if h.broadcastOn(a, dev) {
		return parser.ATBroadcast
	}
	if a.Is6() && a.IsUnspecified() {
		return parser.ATUnspec
	}
	return parser.ATUnicast
}

// route is the result of a route lookup.
type route struct {
	dev string
	via netip.Addr
	src netip.Addr
}

// lookup finds the route for dst: the most specific connected or
// configured route.
func (h *Host) lookup(dst netip.Addr) (route, bool) {
	best, bestBits := route{}, -1
	for _, i := range h.Ifaces {
		for _, p := range i.Addrs {
			if p.Addr().Is6() != dst.Is6() {
				continue
			}
			// Contains ignores the host bits of p, as Masked().Contains would.
			if p.Bits() > bestBits && p.Contains(dst) {
				best, bestBits = route{dev: i.Name, src: p.Addr()}, p.Bits()
			}
		}
	}
	for _, r := range h.Routes {
		if r.Dst.Addr().Is6() != dst.Is6() {
			continue
		}
		if r.Dst.Contains(dst) && r.Dst.Bits() > bestBits {
			src, _ := h.Iface(r.Dev).Primary(dst.Is6())
			best, bestBits = route{dev: r.Dev, via: r.Via, src: src}, r.Dst.Bits()
		}
	}
	return best, bestBits >= 0
}

// Uplinks are interfaces that are neither bridges nor loopback.
func (h *Host) uplinks() []*Iface {
	var out []*Iface
	for _, i := range h.Ifaces {
		if !i.Bridge && i.Name != "lo" {
			out = append(out, i)
		}
	}
	return out
}

// docAddrs are the documentation networks handed to uplinks without a
// given address, in order.
var docAddrs = []string{"203.0.113.10/24", "198.51.100.10/24", "192.0.2.10/24"}

// docAddrs6 are their IPv6 counterparts (2001:db8::/32), for IPv6 rulesets.
var docAddrs6 = []string{"2001:db8:0:1::10/64", "2001:db8:0:2::10/64", "2001:db8:0:3::10/64"}

// InferHost builds the host model: the interfaces given (name → prefix),
// then what Docker's rules make plain: bridges and their subnets from
// MASQUERADE rules, containers from DNAT and DOCKER-chain rules, uplinks
// from interface names in rules. Every inference is recorded in
// Host.Assumptions.
func InferHost(rs *parser.Ruleset, given map[string][]netip.Prefix) *Host {
	h := NewHost()
	names := make([]string, 0, len(given))
	for n := range given {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		i := h.AddIface(n)
		i.Addrs = append(i.Addrs, given[n]...)
		if isBridgeName(n) {
			i.Bridge = true
		}
	}
	if rs == nil {
		rs = parser.NewRuleset(parser.IPv4)
	}
	var rules []*parser.Rule
	for _, t := range rs.SortedTables() {
		for _, c := range t.Order {
			rules = append(rules, c.Rules...)
		}
	}
	// Bridges from "-s NET ! -o BR -j MASQUERADE".
	for _, r := range rules {
		if r.Table != "nat" || r.Target == nil || r.Target.Name != "MASQUERADE" {
			continue
		}
		if r.Src == nil || r.Src.Neg || r.Out == nil || !r.Out.Neg || r.Out.Wildcard {
			continue
		}
		bits := parser.MaskLen(r.Src.Mask)
		if bits <= 0 || bits >= r.Src.Addr.BitLen()-1 {
			continue
		}
		br := h.Iface(r.Out.Name)
		if br != nil && len(br.Addrs) > 0 {
			br.Bridge = true
			continue
		}
		br = h.AddIface(r.Out.Name)
		br.Bridge = true
		pfx := netip.PrefixFrom(r.Src.Addr, bits).Masked()
		gw := pfx.Addr().Next()
		br.Addrs = append(br.Addrs, netip.PrefixFrom(gw, bits))
		h.Assumptions = append(h.Assumptions, fmt.Sprintf("%s taken as %s from the MASQUERADE rule at %s", br.Name, netip.PrefixFrom(gw, bits), posLine(r.Pos)))
	}
	// Interface names used in rules.
	seen := map[string]bool{}
	var ruleIfaces []string
	for _, r := range rules {
		for _, m := range []*parser.IfaceMatch{r.In, r.Out} {
			if m == nil || m.Wildcard || m.Name == "" || m.Name == "lo" || seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			ruleIfaces = append(ruleIfaces, m.Name)
		}
	}
	for _, n := range ruleIfaces {
		if h.Iface(n) != nil {
			continue
		}
		i := h.AddIface(n)
		if isBridgeName(n) {
			i.Bridge = true
			h.Assumptions = append(h.Assumptions, fmt.Sprintf("%s taken as a bridge without address (named in a rule)", n))
		}
	}
	// Uplinks without an address get a documentation address.
	h.docAddresses(docAddrs, false)
	if len(h.uplinks()) == 0 {
		i := h.AddIface("eth0")
		p := netip.MustParsePrefix(docAddrs[0])
		i.Addrs = append(i.Addrs, p)
		h.Assumptions = append(h.Assumptions, fmt.Sprintf("no uplink named in the rules: eth0 taken as the uplink, %s as this host's address on it", p))
	}
	// An IPv6 ruleset's uplinks get an IPv6 documentation address too,
	// and the first of them the default route: without them no packet
	// from outside would be for this host.
	if rs.Family == parser.IPv6 {
		h.IPv6 = true
		h.docAddresses(docAddrs6, true)
		h.defaultRoute(true)
	}
	// Default route via the first uplink with an IPv4 address.
	h.defaultRoute(false)
	// Containers from DNAT targets and DOCKER-chain rules.
	for _, r := range rules {
		var addrs []netip.Addr
		if t := r.Target; t != nil {
			if s, ok := t.Spec.(*parser.NATTarget); ok && s.Kind == parser.NATDNAT {
				for _, rg := range s.Ranges {
					if rg.MinAddr.IsValid() {
						addrs = append(addrs, rg.MinAddr)
					}
				}
			}
		}
		if r.Chain == "DOCKER" && r.Table == "filter" && r.Dst != nil && !r.Dst.Neg && parser.MaskLen(r.Dst.Mask) == 32 {
			addrs = append(addrs, r.Dst.Addr)
		}
		for _, a := range addrs {
			rt, ok := h.lookup(a)
			if !ok {
				continue
			}
			if br := h.Iface(rt.dev); br != nil && br.Bridge && !h.IsLocal(a) {
				h.ensurePort(br, a)
			}
		}
	}
	return h
}

// docAddresses gives each uplink without an address of the family one of
// addrs (documentation networks), in order, skipping those already the
// host's.
func (h *Host) docAddresses(addrs []string, v6 bool) {
	k := 0
	for _, i := range h.uplinks() {
		if _, ok := i.Primary(v6); ok {
			continue
		}
		for k < len(addrs) && h.IsLocal(netip.MustParsePrefix(addrs[k]).Addr()) {
			k++
		}
		if k >= len(addrs) {
			return
		}
		p := netip.MustParsePrefix(addrs[k])
		k++
		i.Addrs = append(i.Addrs, p)
		h.Assumptions = append(h.Assumptions, fmt.Sprintf("%s taken as this host's address on %s", p, i.Name))
	}
}

// defaultRoute routes the family's default via the first address of the
// subnet of the first uplink with an address of it (the second, when the
// first is the host's).
func (h *Host) defaultRoute(v6 bool) {
	dst := netip.MustParsePrefix("0.0.0.0/0")
	if v6 {
		dst = netip.MustParsePrefix("::/0")
	}
	for _, i := range h.uplinks() {
		a, ok := i.Primary(v6)
		if !ok {
			continue
		}
		var p netip.Prefix
		for _, q := range i.Addrs {
			if q.Addr() == a {
				p = q
			}
		}
		// The subnet's first address, or the next one when it is the
		// host's own (--iface eth0=10.0.0.1/24).
		gw := p.Masked().Addr().Next()
		if gw == a {
			gw = gw.Next()
		}
		h.Routes = append(h.Routes, Route{Dst: dst, Via: gw, Dev: i.Name})
		h.Assumptions = append(h.Assumptions, fmt.Sprintf("default route via %s on %s", gw, i.Name))
		return
	}
}

func isBridgeName(n string) bool {
	return n == "docker0" || strings.HasPrefix(n, "br-") || strings.HasPrefix(n, "virbr") || n == "docker_gwbridge"
}

func posLine(p parser.Pos) string {
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}
