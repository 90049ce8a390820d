package sim

import (
	"net/netip"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// TestPickNATOffset pins the ports a range with a port offset maps to, as
// the kernel gave them (sim/agreement's nat-offset cases record them on
// both backends): DNAT counts from its base, below the base the u16
// difference wraps (1999 is 65535 past 2000, and 65535 mod 11 is 8), a
// port inside the range is mapped too; SNAT counts from 0 (iptables
// drops its base) and keeps a source already in its range; MASQUERADE's
// base is unknown.
func TestPickNATOffset(t *testing.T) {
	a := netip.MustParseAddr
	dnat := parser.NATRange{MinAddr: a("172.17.0.2"), MaxAddr: a("172.17.0.2"), MinPort: 3000, MaxPort: 3010, Shift: true, BasePort: 2000}
	snat := parser.NATRange{MinAddr: a("203.0.113.10"), MaxAddr: a("203.0.113.10"), MinPort: 5000, MaxPort: 5010, Shift: true}
	portOnly := parser.NATRange{MinPort: 5000, MaxPort: 5010, Shift: true}
	in := func(src string, sport, dport uint16) Tuple {
		return Tuple{Proto: ProtoTCP, Src: a(src), Dst: a("203.0.113.10"), SPort: sport, DPort: dport}
	}
	for _, c := range []struct {
		name string
		rg   parser.NATRange
		t    parser.NATTarget
		tu   Tuple
		src  bool
		want NATPick
	}{
		{"DNAT the base", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 2000), false, NATPick{Addr: a("172.17.0.2"), Port: 3000}},
		{"DNAT the base's last", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 2010), false, NATPick{Addr: a("172.17.0.2"), Port: 3010}},
		{"DNAT past the base's range", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 2011), false, NATPick{Addr: a("172.17.0.2"), Port: 3000}},
		{"DNAT below the base", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 1999), false, NATPick{Addr: a("172.17.0.2"), Port: 3008}},
		{"DNAT port 1", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 1), false, NATPick{Addr: a("172.17.0.2"), Port: 3001}},
		{"DNAT inside the range", dnat, parser.NATTarget{Kind: parser.NATDNAT}, in("203.0.113.7", 40000, 3005), false, NATPick{Addr: a("172.17.0.2"), Port: 3004}},
		{"DNAT --random", dnat, parser.NATTarget{Kind: parser.NATDNAT, Random: true}, in("203.0.113.7", 40000, 1999), false, NATPick{Addr: a("172.17.0.2"), Port: 3008}},
		{"SNAT from base 0", snat, parser.NATTarget{Kind: parser.NATSNAT}, in("172.17.0.2", 40000, 53), true, NATPick{Addr: a("203.0.113.10"), Port: 5004}},
		{"SNAT in the port range, other address", snat, parser.NATTarget{Kind: parser.NATSNAT}, in("172.17.0.2", 5003, 53), true, NATPick{Addr: a("203.0.113.10"), Port: 5009}},
		{"SNAT in the range", snat, parser.NATTarget{Kind: parser.NATSNAT}, in("203.0.113.10", 5003, 53), true, NATPick{Port: 5003}},
		{"SNAT in the range, --random", snat, parser.NATTarget{Kind: parser.NATSNAT, Random: true}, in("203.0.113.10", 5003, 53), true, NATPick{Addr: a("203.0.113.10"), Port: 5009}},
		{"SNAT without an address, in the range", portOnly, parser.NATTarget{Kind: parser.NATSNAT}, in("172.18.0.2", 5003, 53), true, NATPick{Port: 5003}},
		{"SNAT without an address", portOnly, parser.NATTarget{Kind: parser.NATSNAT}, in("172.18.0.2", 40000, 53), true, NATPick{Port: 5004}},
		{"MASQUERADE", snat, parser.NATTarget{Kind: parser.NATMasquerade}, in("172.17.0.3", 40000, 53), true, NATPick{Addr: a("203.0.113.10"), Port: 5000, UnsetBase: true}},
		{"MASQUERADE in the range", snat, parser.NATTarget{Kind: parser.NATMasquerade}, in("203.0.113.10", 5003, 53), true, NATPick{Port: 5003}},
	} {
		if got := PickNAT(c.rg, &c.t, c.tu, c.src); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	// The whole port space: 65536 ports, and the difference wrapping at
	// either end.
	for _, c := range []struct{ lo, hi, base, p, want uint16 }{
		{0, 65535, 1, 0, 65535}, {0, 65535, 1, 1, 0}, {100, 100, 7, 65535, 100},
		{1, 65535, 65535, 0, 2}, {10, 19, 65530, 5, 11},
	} {
		if got := (parser.NATRange{MinPort: c.lo, MaxPort: c.hi, Shift: true, BasePort: c.base}).OffsetPort(c.p); got != c.want {
			t.Errorf("%d-%d/%d: port %d maps to %d, want %d", c.lo, c.hi, c.base, c.p, got, c.want)
		}
	}
}
