package pset

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// Names the test universes mention, and names points may carry (including
// ones the rules never mention, which map to Other symbols).
var (
	ruleIfaces  = []string{"eth0", "eth1", "docker0", "lo", "eth+", "veth+", "br-+", "docker+"}
	pointIfaces = []string{"eth0", "eth1", "eth7", "ethX", "docker0", "docker1", "lo", "veth12ab", "br-3f2", "wlan0", "ens33", ""}
	testAddrs   = []string{"10.0.0.1", "10.1.2.3", "192.168.1.5", "203.0.113.7", "0.0.0.0", "255.255.255.255", "172.17.0.2", "10.96.0.10"}
)

func testUniverse() *Universe { return New(Options{Family: parser.IPv4, Ifaces: ruleIfaces}) }

// randPoint returns a random well-formed IPv4 point, its values drawn
// mostly from small pools so that random sets are hit.
func randPoint(r *rand.Rand) Point {
	addr := func() netip.Addr {
		if r.IntN(3) == 0 {
			var b [4]byte
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			return netip.AddrFrom4(b)
		}
		return netip.MustParseAddr(testAddrs[r.IntN(len(testAddrs))])
	}
	port := func() uint16 {
		if r.IntN(2) == 0 {
			return []uint16{0, 22, 80, 443, 1023, 1024, 8080, 65535}[r.IntN(8)]
		}
		return uint16(r.IntN(65536))
	}
	ifn := func() string { return pointIfaces[r.IntN(len(pointIfaces))] }
	p := Point{
		Src: addr(), Dst: addr(), Proto: []uint8{0, 1, 6, 17, 132, 47}[r.IntN(6)],
		Sport: port(), Dport: port(), In: ifn(), Out: ifn(),
		CTState:  ctStateSyms[r.IntN(len(ctStateSyms))],
		ICMPType: uint8(r.IntN(20)), ICMPCode: uint8(r.IntN(5)), TCPFlags: uint8(r.IntN(256)),
		Mark: uint32(r.IntN(3)) << 14, CTMark: uint32(r.IntN(4)), CTProto: []uint8{6, 17, 1}[r.IntN(3)],
		CTOrigSrc: addr(), CTOrigDst: addr(), CTOrigSport: port(), CTOrigDport: port(),
		CTReplSrc: addr(), CTReplDst: addr(), CTReplSport: port(), CTReplDport: port(),
		TTL: uint8(r.IntN(256)), Length: uint16(r.IntN(2000)), TOS: uint8(r.IntN(256)),
		PktType: pktTypeSyms[r.IntN(len(pktTypeSyms))], SrcType: addrTypes[r.IntN(len(addrTypes))],
		DstType: addrTypes[r.IntN(len(addrTypes))], Fragment: r.IntN(5) == 0, CTReply: r.IntN(2) == 0,
	}
	if p.CTState&(parser.CTInvalid|parser.CTUntracked) == 0 {
		p.CTState |= parser.CTState(r.IntN(4)) * parser.CTSNAT // 0, SNAT, DNAT, both
		p.CTStatus = parser.CTStatus(r.IntN(16))
	}
	if r.IntN(3) == 0 {
		p.Bridged = true
		p.PhysIn, p.PhysOut = ifn(), ifn()
	}
	return p
}

// pred is a set together with its brute-force membership test.
type pred struct {
	s  Set
	in func(p Point) bool
}

func a4(p netip.Addr) uint32 {
	b := p.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func randMask(r *rand.Rand) netip.Addr {
	var m uint32
	switch r.IntN(3) {
	case 0: // contiguous
		n := r.IntN(33)
		if n > 0 {
			m = ^uint32(0) << (32 - n)
		}
	case 1: // byte-wise non-contiguous
		for i := 0; i < 4; i++ {
			if r.IntN(2) == 0 {
				m |= 0xff << (8 * i)
			}
		}
	default:
		m = r.Uint32()
	}
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
}

func ifaceOf(p Point, f Field) string {
	switch f {
	case InIface:
		return p.In
	case OutIface:
		return p.Out
	case PhysIn:
		return p.PhysIn
	}
	return p.PhysOut
}

func randLeaf(u *Universe, r *rand.Rand) pred {
	switch r.IntN(9) {
	case 0, 1:
		f := []Field{Src, Dst}[r.IntN(2)]
		a := netip.MustParseAddr(testAddrs[r.IntN(len(testAddrs))])
		m := randMask(r)
		get := func(p Point) netip.Addr {
			if f == Src {
				return p.Src
			}
			return p.Dst
		}
		return pred{u.Prefix(f, a, m), func(p Point) bool { return a4(get(p))&a4(m) == a4(a)&a4(m) }}
	case 2:
		f := []Field{Sport, Dport}[r.IntN(2)]
		lo := uint16(r.IntN(65536))
		hi := lo + uint16(r.IntN(int(65536-int(lo))))
		get := func(p Point) uint16 {
			if f == Sport {
				return p.Sport
			}
			return p.Dport
		}
		return pred{u.Range(f, uint64(lo), uint64(hi)), func(p Point) bool { v := get(p); return v >= lo && v <= hi }}
	case 3:
		mask, val := uint8(r.IntN(256)), uint8(r.IntN(256))
		return pred{u.Bits(TCPFlags, uint64(mask), uint64(val)), func(p Point) bool { return p.TCPFlags&mask == val&mask }}
	case 4, 5:
		f := []Field{InIface, OutIface, PhysIn, PhysOut}[r.IntN(4)]
		n := ruleIfaces[r.IntN(len(ruleIfaces))]
		name, wild := strings.CutSuffix(n, "+")
		return pred{u.IfaceMatch(f, name, wild), func(p Point) bool {
			x := ifaceOf(p, f)
			if wild {
				return strings.HasPrefix(x, name)
			}
			return x == name
		}}
	case 6:
		mask := parser.CTState(r.IntN(128))
		return pred{u.CTStates(mask), func(p Point) bool { return p.CTState&mask != 0 }}
	case 7:
		v := uint8([]int{0, 1, 6, 17}[r.IntN(4)])
		return pred{u.Eq(Proto, uint64(v)), func(p Point) bool { return p.Proto == v }}
	default:
		mask, val := uint64(0xc000), uint64(r.IntN(3))<<14
		return pred{u.Bits(Mark, mask, val), func(p Point) bool { return uint64(p.Mark)&mask == val }}
	}
}

func randPred(u *Universe, r *rand.Rand, depth int) pred {
	if depth == 0 || r.IntN(4) == 0 {
		return randLeaf(u, r)
	}
	a := randPred(u, r, depth-1)
	switch r.IntN(4) {
	case 0:
		return pred{a.s.Not(), func(p Point) bool { return !a.in(p) }}
	case 1:
		b := randPred(u, r, depth-1)
		return pred{a.s.Union(b.s), func(p Point) bool { return a.in(p) || b.in(p) }}
	case 2:
		b := randPred(u, r, depth-1)
		return pred{a.s.Intersect(b.s), func(p Point) bool { return a.in(p) && b.in(p) }}
	default:
		b := randPred(u, r, depth-1)
		return pred{a.s.Diff(b.s), func(p Point) bool { return a.in(p) && !b.in(p) }}
	}
}

func TestSetsAgainstBruteForce(t *testing.T) {
	u := testUniverse()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		pr := randPred(u, r, 4)
		for j := 0; j < 200; j++ {
			p := randPoint(r)
			if got, want := Contains(pr.s, p), pr.in(p); got != want {
				t.Fatalf("set %d point %+v: Contains=%v, brute force %v", i, p, got, want)
			}
		}
		if w, ok := pr.s.Witness(); ok != !pr.s.IsEmpty() {
			t.Fatalf("Witness ok=%v for IsEmpty=%v", ok, pr.s.IsEmpty())
		} else if ok {
			if !Contains(pr.s, w) || !pr.in(w) {
				t.Fatalf("witness %+v not in set %d (%v)", w, i, pr.s.Nodes())
			}
			if !u.PointSet(w).Subset(pr.s) {
				t.Fatalf("PointSet(witness) not a subset")
			}
		}
	}
}

func TestAlgebraLaws(t *testing.T) {
	u := testUniverse()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		a, b, c := randPred(u, r, 3).s, randPred(u, r, 3).s, randPred(u, r, 3).s
		eq := func(name string, x, y Set) {
			t.Helper()
			if !x.Equal(y) {
				t.Fatalf("%d: %s does not hold", i, name)
			}
		}
		eq("De Morgan ∪", a.Union(b).Not(), a.Not().Intersect(b.Not()))
		eq("De Morgan ∩", a.Intersect(b).Not(), a.Not().Union(b.Not()))
		eq("double negation", a.Not().Not(), a)
		eq("diff", a.Diff(b), a.Intersect(b.Not()))
		eq("distributivity", a.Intersect(b.Union(c)), a.Intersect(b).Union(a.Intersect(c)))
		if !a.Diff(b).Intersect(b).IsEmpty() {
			t.Fatalf("%d: (A\\B) ∩ B not empty", i)
		}
		if !a.Intersect(b).Subset(a) || !a.Subset(a.Union(b)) {
			t.Fatalf("%d: subset laws", i)
		}
		if a.Subset(b) != a.Diff(b).IsEmpty() {
			t.Fatalf("%d: Subset vs Diff", i)
		}
		if a.Overlaps(b) != !a.Intersect(b).IsEmpty() {
			t.Fatalf("%d: Overlaps", i)
		}
		eq("A ∪ ¬A", a.Union(a.Not()), u.All())
		if !a.Not().Intersect(a).IsEmpty() || !u.All().IsAll() || !u.All().Not().IsEmpty() {
			t.Fatalf("%d: complement", i)
		}
		// Forget is an over-approximation that only frees the field.
		fa := a.Forget(Dport)
		if !a.Subset(fa) || !fa.Forget(Dport).Equal(fa) {
			t.Fatalf("%d: Forget", i)
		}
	}
}

func TestNonContiguousMask(t *testing.T) {
	u := testUniverse()
	s := u.Prefix(Src, netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("255.0.255.255"))
	for _, c := range []struct {
		a  string
		in bool
	}{{"10.0.0.5", true}, {"10.77.0.5", true}, {"10.255.0.5", true}, {"10.0.1.5", false}, {"11.0.0.5", false}} {
		if got := Contains(s, Point{Src: netip.MustParseAddr(c.a), CTState: parser.CTNew, PktType: "unicast", SrcType: parser.ATUnicast, DstType: parser.ATUnicast}); got != c.in {
			t.Errorf("%s: got %v", c.a, got)
		}
	}
	w, _ := s.Witness()
	if w.Src.String() != "10.0.0.5" {
		t.Errorf("witness src %v, want 10.0.0.5", w.Src)
	}
	cubes, complete := s.Cubes(4)
	if !complete || len(cubes) != 1 || cubes[0].String() != "src 10.0.0.5&255.0.255.255" {
		t.Errorf("cubes %v %v", cubes, complete)
	}
}

func TestIfaceSymbols(t *testing.T) {
	u := testUniverse()
	var names []string
	for _, s := range u.Ifaces() {
		names = append(names, s.String())
	}
	want := "docker0 eth0 eth1 lo br-0(other br-+) docker1(other docker+) eth2(other eth+) veth0(other veth+) other0(other) (none)"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("symbols:\n got %s\nwant %s", got, want)
	}
	for _, c := range []struct {
		name, sym string
	}{{"eth0", "eth0"}, {"eth7", "eth2"}, {"docker5", "docker1"}, {"dockerX", "docker1"}, {"wlan0", "other0"}, {"", ""}, {"vethab", "veth0"}} {
		i, ok := u.IfaceSymbol(c.name)
		if !ok || u.ifaces[i].Name != c.sym {
			t.Errorf("IfaceSymbol(%q) = %v (%v), want %s", c.name, u.ifaces[i], ok, c.sym)
		}
	}
	// eth+ covers eth0, eth1 and the unnamed eth*, not docker0 nor other0.
	eth := u.IfaceMatch(InIface, "eth", true)
	for n, in := range map[string]bool{"eth0": true, "eth9": true, "eth": true, "docker0": false, "wlan0": false, "": false} {
		p, _ := u.All().Witness()
		p.In = n
		if Contains(eth, p) != in {
			t.Errorf("eth+ on %q: want %v", n, in)
		}
	}
	// "+" matches every interface and no interface.
	if !u.IfaceMatch(InIface, "", true).IsAll() {
		t.Errorf("-i + is not everything")
	}
	// ! -i eth0 leaves an interface the rules never name.
	w, ok := u.IfaceMatch(InIface, "eth0", false).Not().Intersect(u.IfaceMatch(InIface, "eth", true)).Witness()
	if !ok || w.In != "eth1" {
		t.Errorf("witness %q", w.In)
	}
	w, _ = u.IfaceMatch(InIface, "eth", true).Union(u.IfaceMatch(InIface, "lo", false)).Union(u.IfaceMatch(InIface, "docker", true)).Union(u.IfaceMatch(InIface, "br-", true)).Union(u.IfaceMatch(InIface, "veth", true)).Not().Diff(u.Iface(InIface, "")).Witness()
	if w.In != "other0" {
		t.Errorf("unnamed interface witness %q", w.In)
	}
}

func TestRepresentativeAvoidsLongerWildcards(t *testing.T) {
	u := New(Options{Ifaces: []string{"eth+", "eth0+", "eth1", "eth2", "other0"}})
	i, _ := u.IfaceSymbol("eth9")
	if s := u.ifaces[i]; !s.Other || s.Prefix != "eth" || strings.HasPrefix(s.Name, "eth0") || s.Name == "eth1" || s.Name == "eth2" {
		t.Errorf("eth+ class: %+v", s)
	}
	i, _ = u.IfaceSymbol("eth01")
	if s := u.ifaces[i]; s.Prefix != "eth0" {
		t.Errorf("eth0+ class: %+v", s)
	}
	i, _ = u.IfaceSymbol("wlan0")
	if s := u.ifaces[i]; s.Name == "other0" || !s.Other {
		t.Errorf("generic class: %+v", s)
	}
}

func TestWitnessNice(t *testing.T) {
	u := testUniverse()
	w, _ := u.All().Witness()
	if w.Src.String() != "203.0.113.7" || w.Dst.String() != "198.51.100.10" || w.Proto != 6 || w.Dport != 80 ||
		w.Sport != 40000 || w.TCPFlags != parser.FlagSYN || w.CTState != parser.CTNew || w.TTL != 64 || w.Length != 40 {
		t.Errorf("witness of everything: %+v", w)
	}
	s := u.CIDR(Src, netip.MustParsePrefix("10.0.0.0/8")).Intersect(u.Eq(Proto, 1))
	w, _ = s.Witness()
	if w.Src.String() != "10.0.0.1" || w.ICMPType != 8 || w.Length != 28 {
		t.Errorf("witness: %+v", w)
	}
	w, _ = u.CIDR(Dst, netip.MustParsePrefix("0.0.0.0/8")).Intersect(u.Range(Dport, 0, 0)).Witness()
	if w.Dst.String() != "0.0.0.1" || w.Dport != 0 {
		t.Errorf("witness: %+v", w)
	}
	if _, ok := u.Empty().Witness(); ok {
		t.Errorf("witness of empty")
	}
	// Outside the nice ranges, a host's address rather than the first
	// of the subnet: 224.0.0.1, and in an IPv6 ULA not the subnet-router
	// anycast address, which the router answers itself.
	w, _ = u.CIDR(Dst, netip.MustParsePrefix("224.0.0.0/4")).Witness()
	if w.Dst.String() != "224.0.0.1" {
		t.Errorf("witness in 224.0.0.0/4: %+v", w)
	}
	u6 := New(Options{Family: parser.IPv6, Ifaces: ruleIfaces})
	w, _ = u6.CIDR(Dst, netip.MustParsePrefix("fd00:db8:1::/64")).Witness()
	if w.Dst.String() != "fd00:db8:1::1" {
		t.Errorf("witness in fd00:db8:1::/64: %+v", w)
	}
	w, _ = u6.CIDR(Dst, netip.MustParsePrefix("fd00:db8:1::/128")).Witness()
	if w.Dst.String() != "fd00:db8:1::" {
		t.Errorf("witness of fd00:db8:1::/128: %+v", w)
	}
}

func TestCubes(t *testing.T) {
	u := testUniverse()
	s := u.CIDR(Src, netip.MustParsePrefix("198.51.100.0/24")).Intersect(u.Eq(Proto, 6)).Intersect(u.Eq(Dport, 22))
	c, ok := s.Cubes(10)
	if !ok || len(c) != 1 || c[0].String() != "proto tcp, dport 22, src 198.51.100.0/24" {
		t.Errorf("cubes %v", c)
	}
	c, _ = u.All().Cubes(3)
	if len(c) != 1 || c[0].String() != "any packet" {
		t.Errorf("cubes of all %v", c)
	}
	c, _ = u.CTStates(parser.CTInvalid).Cubes(3)
	if len(c) != 1 || c[0].String() != "ctstate INVALID" {
		t.Errorf("cubes %v", c)
	}
	// The union of the cubes (taken back through Contains on their
	// witnesses) stays inside the set, and a bounded call says so.
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 50; i++ {
		s := randPred(u, r, 3).s
		c, complete := s.Cubes(4)
		if s.IsEmpty() != (len(c) == 0) || len(c) > 4 {
			t.Fatalf("cubes of %d: %v %v", i, c, complete)
		}
	}
}

func TestIPv6(t *testing.T) {
	u := New(Options{Family: parser.IPv6, Ifaces: []string{"eth0"}})
	s := u.CIDR(Src, netip.MustParsePrefix("2001:db8:1::/48")).Intersect(u.Eq(Proto, 58))
	w, ok := s.Witness()
	if !ok || w.Src.String() != "2001:db8:1::1" || w.Dst.String() != "2001:db8::10" || w.ICMPType != 128 {
		t.Errorf("witness %+v", w)
	}
	if !Contains(s, w) {
		t.Errorf("witness not contained")
	}
	r := u.AddrRange(Dst, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ff"))
	w, _ = r.Witness()
	if w.Dst.String() != "2001:db8::10" {
		t.Errorf("witness %v", w.Dst)
	}
	c, _ := r.Cubes(2)
	if len(c) != 1 || c[0].String() != "dst 2001:db8::1-2001:db8::ff" {
		t.Errorf("cubes %v", c)
	}
}
