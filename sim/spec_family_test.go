package sim

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// A packet given without addresses to an IPv6 ruleset is an IPv6 packet,
// from outside to the host's IPv6 address, and is accepted or dropped by
// the IPv6 rules; "icmp" there is ICMPv6.
func TestResolveIPv6Ruleset(t *testing.T) {
	data, err := os.ReadFile("../testdata/dualstack/rules.v6")
	if err != nil {
		t.Fatal(err)
	}
	l := parser.Load([]parser.Source{{Name: "rules.v6", Data: data}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	h := InferHost(l.Ruleset, nil)
	s := New(l.Ruleset, h)
	for _, c := range []struct{ spec, want string }{
		{"tcp:eth0:5432", "ACCEPT rules.v6:10"},
		{"tcp:eth0:3306", "DROP rules.v6:3"},
		{"proto=icmp,in=eth0", "ACCEPT rules.v6:12"},
	} {
		sp, err := ParseSpec(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := sp.Resolve(h, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Src.Is6() || !p.Dst.Is6() || !strings.HasPrefix(p.Dst.String(), "2001:db8:") {
			t.Errorf("%s: packet %s > %s, want IPv6 to the host's address", c.spec, p.Src, p.Dst)
		}
		r := s.Run(p)
		last := r.Trace[len(r.Trace)-1]
		if got := r.Verdict + " " + fmt.Sprintf("%s:%d", last.Pos.File, last.Pos.Line); got != c.want {
			t.Errorf("%s: %s, want %s", c.spec, got, c.want)
		}
	}
}
