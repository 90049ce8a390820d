package sim

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// TestHostIndex: the compiled snapshot of the host answers as the Host
// methods do, for addresses around every address, subnet and route.
func TestHostIndex(t *testing.T) {
	h := NewHost()
	add := func(name string, pfx ...string) {
		i := h.AddIface(name)
		for _, p := range pfx {
			i.Addrs = append(i.Addrs, netip.MustParsePrefix(p))
		}
	}
	add("ens33", "203.0.113.10/24", "2001:db8::10/64")
	add("eth1", "198.51.100.7/31", "192.0.2.1/32")
	add("docker0", "172.17.0.1/16")
	add("br-app", "172.18.0.1/16", "172.18.5.1/24")
	add("wg0", "10.0.0.1/8", "::ffff:10.1.0.1/104")
	add("empty")
	h.Routes = []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("203.0.113.1"), Dev: "ens33"},
		{Dst: netip.MustParsePrefix("172.18.5.0/24"), Via: netip.MustParseAddr("172.18.0.9"), Dev: "br-app"},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Dev: "eth1"},
		{Dst: netip.MustParsePrefix("10.3.0.0/16"), Dev: "nosuch"},
		{Dst: netip.MustParsePrefix("2001:db8:1::/48"), Dev: "ens33"},
	}
	x := buildHostIndex(h)
	if x == nil {
		t.Fatal("no index")
	}
	var seeds []netip.Addr
	for _, i := range h.Ifaces {
		for _, p := range i.Addrs {
			seeds = append(seeds, p.Addr(), p.Masked().Addr())
			if p.Addr().Is4() {
				seeds = append(seeds, lastAddr(p))
			}
		}
	}
	for _, r := range h.Routes {
		seeds = append(seeds, r.Dst.Addr(), r.Via)
	}
	seeds = append(seeds, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.9.9.9"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("224.0.0.1"), netip.MustParseAddr("239.1.2.3"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("::"), netip.MustParseAddr("::ffff:203.0.113.10"), netip.MustParseAddr("8.8.8.8"))
	rng := rand.New(rand.NewPCG(1, 2))
	var addrs []netip.Addr
	for _, s := range seeds {
		if !s.IsValid() {
			continue
		}
		addrs = append(addrs, s)
		if s.Is4() {
			b := s.As4()
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			for _, d := range []int64{-257, -256, -2, -1, 1, 2, 255, 256, int64(rng.Uint32() & 0xffff)} {
				w := uint32(int64(v) + d)
				addrs = append(addrs, netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)}))
			}
		}
	}
	for i := 0; i < 2000; i++ {
		w := rng.Uint32()
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)}))
	}
	for _, a := range addrs {
		if got, want := x.isLocal(h, a), h.IsLocal(a); got != want {
			t.Errorf("isLocal(%s) = %v, want %v", a, got, want)
		}
		if got, want := x.isBroadcast(h, a), h.IsBroadcast(a); got != want {
			t.Errorf("isBroadcast(%s) = %v, want %v", a, got, want)
		}
		gr, gok := x.lookup(h, a)
		wr, wok := h.lookup(a)
		if gr != wr || gok != wok {
			t.Errorf("lookup(%s) = %+v %v, want %+v %v", a, gr, gok, wr, wok)
		}
		for _, dev := range []string{"", "ens33", "eth1", "lo", "nosuch"} {
			if got, want := x.addrType(h, a, dev), h.AddrType(a, dev); got != want {
				t.Errorf("addrType(%s, %q) = %v, want %v", a, dev, got, want)
			}
		}
	}
	// Another host, or none compiled: the Host answers.
	other := NewHost()
	if x.isLocal(other, netip.MustParseAddr("203.0.113.10")) {
		t.Error("the snapshot answered for another host")
	}
	var nilx *hostIndex
	if !nilx.isLocal(h, netip.MustParseAddr("203.0.113.10")) {
		t.Error("nil snapshot: IsLocal not asked")
	}
}

// The default route's gateway is the uplink subnet's first address, or
// the second when the first is the host's own.
func TestDefaultRouteGateway(t *testing.T) {
	rs := parser.NewRuleset(parser.IPv4)
	for addr, want := range map[string]string{"10.0.0.1/24": "10.0.0.2", "10.0.0.5/24": "10.0.0.1"} {
		h := InferHost(rs, map[string][]netip.Prefix{"eth0": {netip.MustParsePrefix(addr)}})
		var got string
		for _, r := range h.Routes {
			if r.Dst.Bits() == 0 && r.Dev == "eth0" {
				got = r.Via.String()
			}
		}
		if got != want {
			t.Errorf("--iface eth0=%s: default route via %q, want %s", addr, got, want)
		}
	}
}
