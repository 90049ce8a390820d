package symbolic

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

func familyEvaluator(t *testing.T, fam parser.Family) *Evaluator {
	t.Helper()
	l := parser.Load([]parser.Source{{Name: "rules", Data: []byte("*filter\n:INPUT DROP [0:0]\nCOMMIT\n")}}, parser.Options{Family: fam})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return NewEvaluator(l.Ruleset, sim.InferHost(l.Ruleset, nil), Options{})
}

// TestAnySource: the whole Internet is every outside source but a small
// part; on IPv6, every global unicast source (2000::/3) but a small part.
// OpenToAll keeps a port exactly when its sources are AnySource.
func TestAnySource(t *testing.T) {
	cases := []struct {
		fam  parser.Family
		srcs []string // the sources accepted (set union); "!P,Q" is all but P and Q
		any  bool
	}{
		{parser.IPv4, []string{"0.0.0.0/0"}, true},
		{parser.IPv4, []string{"!198.51.100.23/32"}, true},
		{parser.IPv4, []string{"!10.0.0.0/8"}, true},
		{parser.IPv4, []string{"!0.0.0.0/1"}, false},
		{parser.IPv4, []string{"10.0.0.0/8"}, false},
		// A bogon filter: the private, test and reserved networks (240/4
		// and 0/8 are not the Internet's, however large).
		{parser.IPv4, []string{"!127.0.0.0/8,0.0.0.0/8,240.0.0.0/4,192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,192.168.0.0/16,10.0.0.0/8,172.16.0.0/12,169.254.0.0/16"}, true},
		{parser.IPv4, []string{"!240.0.0.0/4,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,14.0.0.0/8"}, false},
		{parser.IPv6, []string{"2000::/3"}, true},
		{parser.IPv6, []string{"::/1"}, true},
		{parser.IPv6, []string{"!fe80::/10"}, true},
		{parser.IPv6, []string{"!fc00::/7"}, true},
		{parser.IPv6, []string{"2000::/4", "3000::/5", "3800::/6", "3c00::/7", "3e00::/8", "3f00::/9"}, true},
		{parser.IPv6, []string{"2000::/4"}, false},
		{parser.IPv6, []string{"fc00::/7"}, false},
		{parser.IPv6, []string{"2001:db8:100::/48"}, false},
	}
	for _, c := range cases {
		e := familyEvaluator(t, c.fam)
		u := e.U
		src := u.Empty()
		for _, p := range c.srcs {
			if p[0] == '!' {
				all := u.All()
				for _, q := range strings.Split(p[1:], ",") {
					all = all.Diff(u.CIDR(pset.Src, netip.MustParsePrefix(q)))
				}
				src = src.Union(all)
			} else {
				src = src.Union(u.CIDR(pset.Src, netip.MustParsePrefix(p)))
			}
		}
		if got := e.AnySource(src); got != c.any {
			t.Errorf("%v: AnySource %v, want %v", c.srcs, got, c.any)
		}
		// Port 22 from these sources, 80 from every one: 80 is always
		// open to all, 22 as AnySource says.
		s := src.Intersect(u.Eq(pset.Dport, 22)).Union(u.Eq(pset.Dport, 80))
		s = s.Intersect(u.Eq(pset.Proto, uint64(sim.ProtoTCP)))
		got := PortRanges(e.OpenToAll(s), pset.Dport)
		want := [][2]int{{80, 80}}
		if c.any {
			want = [][2]int{{22, 22}, {80, 80}}
		}
		if len(got) != len(want) || got[0] != want[0] || (len(got) > 1 && got[1] != want[1]) {
			t.Errorf("%v: OpenToAll ports %v, want %v", c.srcs, got, want)
		}
	}
}
