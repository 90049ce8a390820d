package pset

import (
	"net/netip"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

func TestSmoke(t *testing.T) {
	u := New(Options{Family: parser.IPv4, Ifaces: []string{"eth0", "eth+", "docker0", "veth+"}})
	t.Log(u.Ifaces())
	a := u.CIDR(Src, netip.MustParsePrefix("198.51.100.0/24")).Intersect(u.Eq(Proto, 6)).Intersect(u.Eq(Dport, 22))
	p, ok := a.Witness()
	t.Logf("%v %+v", ok, p)
	c, comp := a.Cubes(10)
	t.Log(c, comp)
	b := a.Not()
	c, comp = b.Cubes(10)
	t.Log(c, comp)
	p, ok = b.Witness()
	t.Logf("%v %+v", ok, p)
	nc := u.Prefix(Dst, netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("255.0.255.0"))
	c, _ = nc.Cubes(10)
	t.Log(c)
	c, _ = u.Range(Dport, 1024, 65535).Cubes(10)
	t.Log(c)
	c, _ = u.IfaceMatch(InIface, "eth", true).Cubes(10)
	t.Log(c)
}
