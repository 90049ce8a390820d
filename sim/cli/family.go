package cli

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
)

// The family of the simulation: iptables sees IPv4 packets only, ip6tables
// IPv6 ones. It is the one the rules' text tells (parser.DetectFamily: the
// header, the addresses); when the text does not tell (only
// "-A INPUT -p tcp --dport 22 -j ACCEPT" lines), the one of the addresses
// the command line names: the packets' src= and dst=, else the --iface
// addresses when they are all of one family (a host given both families'
// addresses tells nothing). IPv4 when nothing tells. Two of these that
// disagree are a usage error naming both.

// famWitness is what tells a family: its description and the family.
type famWitness struct {
	fam  parser.Family
	what string
}

// decideFamily is the family the rules are read in (0: as their text
// tells, IPv4 when nothing does), or an error naming two witnesses of
// different families.
func decideFamily(srcs []parser.Source, ifaces []string, pkts []string, specs []*sim.Spec) (parser.Family, error) {
	var ws []famWitness
	for _, s := range srcs {
		if f := parser.DetectFamily(s.Data); f != 0 {
			ws = append(ws, famWitness{f, fmt.Sprintf("%s (its text)", s.Name)})
			break // the first file that tells is the ruleset's family
		}
	}
	for i, sp := range specs {
		for _, k := range []string{"src", "dst"} {
			if f := addrFamily(sp.Vals[k]); f != 0 {
				ws = append(ws, famWitness{f, fmt.Sprintf("--pkt %s (%s=%s)", pkts[i], k, sp.Vals[k])})
			}
		}
	}
	// The --iface addresses tell only when they are of one family.
	var iw []famWitness
	both := false
	for _, v := range ifaces {
		_, a, _ := strings.Cut(v, "=")
		if f := addrFamily(a); f != 0 {
			both = both || len(iw) > 0 && iw[0].fam != f
			iw = append(iw, famWitness{f, "--iface " + v})
		}
	}
	if len(iw) > 0 && !both {
		ws = append(ws, iw[0])
	}
	if len(ws) == 0 {
		return 0, nil
	}
	for _, w := range ws[1:] {
		if w.fam != ws[0].fam {
			return 0, fmt.Errorf("%s is %s but %s is %s: iptables sees IPv4 packets only and ip6tables IPv6 ones (expected the rules, packets and interface addresses of one family)",
				ws[0].what, famName(ws[0].fam), w.what, famName(w.fam))
		}
	}
	return ws[0].fam, nil
}

// addrFamily is the family of an address or CIDR value (0 for none, * or
// a value that is not one).
func addrFamily(v string) parser.Family {
	if p, err := netip.ParsePrefix(v); err == nil {
		v = p.Addr().String()
	}
	a, err := netip.ParseAddr(v)
	switch {
	case err != nil:
		return 0
	case a.Is4():
		return parser.IPv4
	}
	return parser.IPv6
}

func famName(f parser.Family) string {
	if f == parser.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}
