package pset

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// rulePart is one option group of a random rule: its text, the brute-force
// evaluation on a point (the kernel's semantics written out plainly), and
// whether MatchSet should treat it as exact.
type rulePart struct {
	text  string
	eval  func(p Point) bool
	exact bool
}

func bang(r *rand.Rand) (string, bool) {
	if r.IntN(3) == 0 {
		return "! ", true
	}
	return "", false
}

func maskText(r *rand.Rand) (string, uint32) {
	if r.IntN(2) == 0 {
		n := r.IntN(33)
		m := uint32(0)
		if n > 0 {
			m = ^uint32(0) << (32 - n)
		}
		return fmt.Sprint(n), m
	}
	m := randMask(r)
	return m.String(), a4(m)
}

func portRange(r *rand.Rand) (string, uint16, uint16) {
	lo := []uint16{0, 22, 80, 443, 1024, 8080}[r.IntN(6)]
	if r.IntN(2) == 0 {
		return fmt.Sprint(lo), lo, lo
	}
	hi := lo + uint16(r.IntN(2000))
	return fmt.Sprintf("%d:%d", lo, hi), lo, hi
}

var stateNames = map[string]parser.CTState{"NEW": parser.CTNew, "ESTABLISHED": parser.CTEstablished,
	"RELATED": parser.CTRelated, "INVALID": parser.CTInvalid, "UNTRACKED": parser.CTUntracked,
	"SNAT": parser.CTSNAT, "DNAT": parser.CTDNAT}

func randStates(r *rand.Rand, ct bool) (string, parser.CTState) {
	names := []string{"NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}
	if ct {
		names = append(names, "SNAT", "DNAT")
	}
	var pick []string
	var m parser.CTState
	for _, n := range names {
		if r.IntN(3) == 0 {
			pick = append(pick, n)
			m |= stateNames[n]
		}
	}
	if len(pick) == 0 {
		pick, m = []string{"NEW"}, parser.CTNew
	}
	return strings.Join(pick, ","), m
}

func hasCTp(p Point) bool { return p.CTState&(parser.CTInvalid|parser.CTUntracked) == 0 }

func randParts(r *rand.Rand) []rulePart {
	var ps []rulePart
	addr := func(opt string, get func(Point) netip.Addr) {
		n, neg := bang(r)
		a := netip.MustParseAddr(testAddrs[r.IntN(len(testAddrs))])
		mt, m := maskText(r)
		ps = append(ps, rulePart{fmt.Sprintf("%s%s %s/%s", n, opt, a, mt), func(p Point) bool {
			return (a4(get(p))&m == a4(a)&m) != neg
		}, true})
	}
	if r.IntN(2) == 0 {
		addr("-s", func(p Point) netip.Addr { return p.Src })
	}
	if r.IntN(3) == 0 {
		addr("-d", func(p Point) netip.Addr { return p.Dst })
	}
	iface := func(opt string, get func(Point) string) {
		n, neg := bang(r)
		name := ruleIfaces[r.IntN(len(ruleIfaces))]
		pre, wild := strings.CutSuffix(name, "+")
		ps = append(ps, rulePart{fmt.Sprintf("%s%s %s", n, opt, name), func(p Point) bool {
			x := get(p)
			m := x == pre
			if wild {
				m = strings.HasPrefix(x, pre)
			}
			return m != neg
		}, true})
	}
	if r.IntN(3) == 0 {
		iface("-i", func(p Point) string { return p.In })
	}
	if r.IntN(3) == 0 {
		iface("-o", func(p Point) string { return p.Out })
	}
	first := func(p Point) bool { return !p.Fragment }
	switch r.IntN(5) {
	case 0: // tcp
		ps = append(ps, rulePart{"-p tcp", func(p Point) bool { return p.Proto == 6 }, true})
		switch r.IntN(3) {
		case 0:
			t, lo, hi := portRange(r)
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m tcp " + n + "--dport " + t, func(p Point) bool {
				return first(p) && (p.Dport >= lo && p.Dport <= hi) != neg
			}, true})
		case 1:
			n, neg := bang(r)
			if r.IntN(2) == 0 {
				ps = append(ps, rulePart{"-m tcp " + n + "--syn", func(p Point) bool {
					return first(p) && (p.TCPFlags&0x17 == 0x02) != neg
				}, true})
			} else {
				ps = append(ps, rulePart{"-m tcp " + n + "--tcp-flags SYN,ACK ACK", func(p Point) bool {
					return first(p) && (p.TCPFlags&0x12 == 0x10) != neg
				}, true})
			}
		default:
			t1, lo1, hi1 := portRange(r)
			t2, lo2, hi2 := portRange(r)
			n, neg := bang(r)
			in := func(v uint16) bool { return v >= lo1 && v <= hi1 || v >= lo2 && v <= hi2 }
			ps = append(ps, rulePart{"-m multiport " + n + "--ports " + t1 + "," + t2, func(p Point) bool {
				return first(p) && (in(p.Sport) || in(p.Dport)) != neg
			}, true})
		}
	case 1: // udp
		t, lo, hi := portRange(r)
		n, neg := bang(r)
		ps = append(ps, rulePart{"-p udp -m udp " + n + "--sport " + t, func(p Point) bool {
			return p.Proto == 17 && first(p) && (p.Sport >= lo && p.Sport <= hi) != neg
		}, true})
	case 2: // icmp
		n, neg := bang(r)
		typ := []string{"8", "3/1", "any", "echo-reply", "255/3"}[r.IntN(5)]
		ps = append(ps, rulePart{"-p icmp -m icmp " + n + "--icmp-type " + typ, func(p Point) bool {
			var m bool
			switch typ {
			case "8":
				m = p.ICMPType == 8
			case "3/1":
				m = p.ICMPType == 3 && p.ICMPCode == 1
			case "any", "255/3":
				// Type 255 is "any" to the kernel, whatever the code.
				m = true
			default:
				m = p.ICMPType == 0
			}
			return p.Proto == 1 && first(p) && m != neg
		}, true})
	case 3:
		n, neg := bang(r)
		ps = append(ps, rulePart{n + "-p udp", func(p Point) bool { return (p.Proto == 17) != neg }, true})
	}
	for k := r.IntN(4); k > 0; k-- {
		switch r.IntN(14) {
		case 0:
			t, m := randStates(r, false)
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m state " + n + "--state " + t, func(p Point) bool { return (p.CTState&m&^(parser.CTSNAT|parser.CTDNAT) != 0) != neg }, true})
		case 1:
			t, m := randStates(r, true)
			n, neg := bang(r)
			a := netip.MustParseAddr(testAddrs[r.IntN(len(testAddrs))])
			mt, mk := maskText(r)
			_, lo, hi := portRange(r)
			ps = append(ps, rulePart{fmt.Sprintf("-m conntrack %s--ctstate %s --ctorigdst %s/%s --ctorigdstport %d --ctdir REPLY", n, t, a, mt, lo), func(p Point) bool {
				if (p.CTState&m != 0) == neg {
					return false
				}
				if !hasCTp(p) {
					return true
				}
				return a4(p.CTOrigDst)&mk == a4(a)&mk && p.CTOrigDport == lo && p.CTReply
			}, true})
			_ = hi
		case 2:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m conntrack " + n + "--ctproto tcp", func(p Point) bool { return hasCTp(p) && (p.CTProto == 6) != neg }, true})
		case 3:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m mark " + n + "--mark 0x4000/0xc000", func(p Point) bool { return (p.Mark&0xc000 == 0x4000) != neg }, true})
		case 4:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m connmark " + n + "--mark 0x1", func(p Point) bool { return hasCTp(p) && (p.CTMark == 1) != neg }, true})
		case 5:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m addrtype " + n + "--dst-type LOCAL", func(p Point) bool { return (p.DstType == parser.ATLocal) != neg }, true})
		case 6:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m iprange " + n + "--src-range 10.0.0.0-10.1.2.3", func(p Point) bool {
				v := a4(p.Src)
				return (v >= 0x0a000000 && v <= 0x0a010203) != neg
			}, true})
		case 7:
			n, neg := bang(r)
			name := ruleIfaces[r.IntN(len(ruleIfaces))]
			pre, wild := strings.CutSuffix(name, "+")
			ps = append(ps, rulePart{"-m physdev " + n + "--physdev-in " + name, func(p Point) bool {
				if !p.Bridged {
					return neg
				}
				if p.PhysIn == "" {
					return true
				}
				m := p.PhysIn == pre
				if wild {
					m = strings.HasPrefix(p.PhysIn, pre)
				}
				return m != neg
			}, true})
		case 8:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m physdev " + n + "--physdev-is-bridged", func(p Point) bool {
				if !p.Bridged {
					return neg
				}
				return (p.PhysOut != "") != neg
			}, true})
		case 9:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m pkttype " + n + "--pkt-type broadcast", func(p Point) bool { return (p.PktType == "broadcast") != neg }, true})
		case 10:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m length " + n + "--length 40:100", func(p Point) bool { return (p.Length >= 40 && p.Length <= 100) != neg }, true})
			ps = append(ps, rulePart{"-m ttl --ttl-lt 10", func(p Point) bool { return p.TTL < 10 }, true})
		case 11:
			n, neg := bang(r)
			ps = append(ps, rulePart{"-m dscp " + n + "--dscp 10", func(p Point) bool { return (p.TOS>>2 == 10) != neg }, true})
			ps = append(ps, rulePart{"-m tos --tos 0x10/0x3f", func(p Point) bool { return p.TOS&0x3f == 0x10 }, true})
		case 12:
			if hasFrag(ps) {
				continue
			}
			n, neg := bang(r)
			ps = append(ps, rulePart{n + "-f", func(p Point) bool { return p.Fragment != neg }, true})
		default:
			if r.IntN(2) == 0 {
				ps = append(ps, rulePart{"-m limit --limit 1/sec", nil, false})
			} else {
				ps = append(ps, rulePart{"-m set --match-set blocked src", nil, false})
			}
		}
	}
	return ps
}

func hasFrag(ps []rulePart) bool {
	for _, p := range ps {
		if strings.HasSuffix(p.text, "-f") {
			return true
		}
	}
	return false
}

func TestMatchSetAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	u := testUniverse()
	checked := 0
	for i := 0; i < 600; i++ {
		parts := randParts(r)
		var texts []string
		for _, p := range parts {
			texts = append(texts, p.text)
		}
		line := "-A FORWARD " + strings.Join(texts, " ") + " -j DROP"
		src := "*filter\n:FORWARD ACCEPT [0:0]\n" + line + "\nCOMMIT\n"
		l := parser.Load([]parser.Source{{Name: "t", Data: []byte(src)}}, parser.Options{})
		rules := l.Ruleset.Chain("filter", "FORWARD").Rules
		if len(l.Diags) > 0 || len(rules) != 1 {
			t.Logf("skipped (parser: %v): %s", l.Diags, line)
			continue
		}
		checked++
		must, may := MatchSet(u, rules[0])
		exact := true
		for _, p := range parts {
			exact = exact && p.exact
		}
		if (exact != must.Equal(may) && !may.IsEmpty()) || !must.Subset(may) || (!exact && !must.IsEmpty()) {
			t.Fatalf("%s: exact=%v must==may %v", line, exact, must.Equal(may))
		}
		for j := 0; j < 300; j++ {
			pt := randPoint(r)
			want := true
			for _, p := range parts {
				if p.eval != nil && !p.eval(pt) {
					want = false
				}
			}
			if got := Contains(may, pt); got != want {
				t.Fatalf("%s\npoint %+v\nmay contains %v, brute force %v", line, pt, got, want)
			}
		}
		// A witness of may satisfies every exact part.
		if w, ok := may.Witness(); ok {
			for _, p := range parts {
				if p.eval != nil && !p.eval(w) {
					t.Fatalf("%s: witness %+v fails %q", line, w, p.text)
				}
			}
		}
	}
	if checked < 400 {
		t.Fatalf("only %d rules parsed", checked)
	}
}

func TestMatchSetMayMatch(t *testing.T) {
	src := `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --name ssh -j DROP
-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT
-A INPUT -m comment --comment "x" -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	l := parser.Load([]parser.Source{{Name: "t", Data: []byte(src)}}, parser.Options{})
	rules := l.Ruleset.Chain("filter", "INPUT").Rules
	u := ForRuleset(l.Ruleset)
	must, may := MatchSet(u, rules[0])
	if !must.IsEmpty() || !may.Equal(u.Eq(Proto, 6).Intersect(u.Eq(Dport, 22)).Intersect(u.Eq(Fragment, 0))) {
		t.Errorf("recent: must %v may %v", must.IsEmpty(), may.Nodes())
	}
	must, may = MatchSet(u, rules[1])
	if !must.IsEmpty() || !may.IsAll() {
		t.Errorf("addrtype --limit-iface-in")
	}
	must, may = MatchSet(u, rules[2])
	if !must.Equal(may) || must.IsEmpty() {
		t.Errorf("comment")
	}
	c, _ := must.Cubes(2)
	if len(c) != 1 || c[0].String() != "proto tcp, dport 22, frag 0" {
		t.Errorf("cubes %v", c)
	}
}
