package analysis

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim/pset"
)

// TestVariableOrder: the address the long chains test most goes on top,
// above the protocol; ports stay below it (a port is tested with its
// protocol).
func TestVariableOrder(t *testing.T) {
	chain := func(rule func(i int) string) string {
		var b strings.Builder
		b.WriteString("*filter\n:INPUT DROP [0:0]\n:L - [0:0]\n-A INPUT -p udp --dport 68 -j ACCEPT\n-A INPUT -j L\n")
		for i := range 3 * minIndexed {
			fmt.Fprintf(&b, "-A L %s -j DROP\n", rule(i))
		}
		b.WriteString("COMMIT\n")
		return b.String()
	}
	for _, c := range []struct {
		name, text string
		want       []pset.Field
	}{
		{"deny list", chain(func(i int) string { return fmt.Sprintf("-s 10.%d.0.0/16", i) }),
			[]pset.Field{pset.Src, pset.Proto, pset.Dst, pset.Dport, pset.Sport}},
		{"destinations", chain(func(i int) string { return fmt.Sprintf("-d 10.%d.0.0/16 -p tcp --dport %d", i, 1000+i) }),
			[]pset.Field{pset.Dst, pset.Proto, pset.Dport, pset.Src, pset.Sport}},
		{"ports", chain(func(i int) string { return fmt.Sprintf("-p tcp --dport %d", 1000+i) }),
			[]pset.Field{pset.Proto, pset.Dport, pset.Dst, pset.Src, pset.Sport}},
		{"short chains", "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n",
			[]pset.Field{pset.Proto, pset.Dst, pset.Dport, pset.Src, pset.Sport}},
	} {
		l := parser.Load([]parser.Source{{Name: "r.save", Data: []byte(c.text)}}, parser.Options{})
		if err := l.Diags.Err(); err != nil {
			t.Fatal(err)
		}
		if got := variableOrder(l.Ruleset); !slices.Equal(got, c.want) {
			t.Errorf("%s: order %v, want %v", c.name, got, c.want)
		}
	}
}
