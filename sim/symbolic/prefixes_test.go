package symbolic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

// The walk of pset.Set.Prefixes gives the prefixes the first version,
// with a set per candidate prefix, gave: on random unions and differences
// of CIDRs (both families), and on every exposure row's sources and
// destinations of the seed over Docker's rules.
func TestPrefixesWalk(t *testing.T) {
	same := func(what string, s pset.Set, f pset.Field, max int) {
		t.Helper()
		got, gc := Prefixes(s, f, max)
		want, wc := prefixesBySets(s, f, max)
		if fmt.Sprint(got, gc) != fmt.Sprint(want, wc) {
			t.Errorf("%s (max %d): walk %v %v, sets %v %v", what, max, got, gc, want, wc)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, fam := range []parser.Family{parser.IPv4, parser.IPv6} {
		u := pset.New(pset.Options{Family: fam})
		randPrefix := func() netip.Prefix {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.IntN(4)) // few distinct values: overlapping prefixes
			}
			a := netip.AddrFrom16(b)
			bits := 128
			if fam == parser.IPv4 {
				a = netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
				bits = 32
			}
			return netip.PrefixFrom(a, r.IntN(bits+1)).Masked()
		}
		for i := 0; i < 300; i++ {
			s := u.Empty()
			for j := 0; j < 1+r.IntN(5); j++ {
				c := u.CIDR(pset.Src, randPrefix())
				if r.IntN(3) == 0 {
					s = s.Diff(c)
				} else {
					s = s.Union(c)
				}
			}
			if r.IntN(2) == 0 {
				s = s.Intersect(u.Eq(pset.Proto, uint64(sim.ProtoTCP))).Intersect(u.Range(pset.Dport, 1, uint64(1+r.IntN(1000))))
			}
			for _, max := range []int{1, 6, 1000} {
				same(fmt.Sprintf("%s random %d", fam, i), s, pset.Src, max)
				same(fmt.Sprintf("%s random %d (dst)", fam, i), s, pset.Dst, max)
			}
		}
	}
	rs := load(t, "../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf")
	rows, _ := Exposure(context.Background(), rs, nil, ExposureOptions{})
	if len(rows) == 0 {
		t.Fatal("no exposure rows")
	}
	for i, row := range rows {
		for _, f := range []pset.Field{pset.Src, pset.Dst} {
			same(fmt.Sprintf("seed row %d field %v", i, f), row.Set, f, 12)
		}
	}
}

// A set of fewer than half the addresses whose prefixes and complement
// are both long once the don't-care addresses fill its holes is named by
// its own prefixes, never by three pieces of its complement.
func TestAddrSummaryRestricted(t *testing.T) {
	u := pset.New(pset.Options{Family: parser.IPv4})
	cidr := func(p string) pset.Set { return u.CIDR(pset.Src, netip.MustParsePrefix(p)) }
	// The host's own address 192.168.22.1 among them (a martian source).
	dontCare := cidr("127.0.0.0/8").Union(cidr("224.0.0.0/4")).Union(cidr("0.0.0.0/32")).Union(cidr("192.168.22.1/32"))
	// Scattered host addresses, as a host with many networks has.
	for i := range 16 {
		dontCare = dontCare.Union(cidr(fmt.Sprintf("10.%d.%d.1/32", 3*i+1, 7*i+2)))
	}
	s := cidr("192.168.22.0/24").Diff(cidr("192.168.22.1/32")).Union(cidr("198.51.100.0/25"))
	got := AddrSummary(s, pset.Src, dontCare)
	if fmt.Sprint(got) != "[192.168.22.0/24 198.51.100.0/25]" {
		t.Errorf("summary %v, want [192.168.22.0/24 198.51.100.0/25]", got)
	}
	// The same with the don't-care addresses inside it: still its own.
	s2 := u.All().Diff(dontCare).Intersect(cidr("192.168.0.0/16"))
	if got := AddrSummary(s2, pset.Src, dontCare); fmt.Sprint(got) != "[192.168.0.0/16]" {
		t.Errorf("summary %v, want [192.168.0.0/16]", got)
	}
}
