package facts

import (
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// The outbound analysis runs only when DOCKER-USER, or a chain it reaches
// through jumps without a positive -i, has a DROP or REJECT without -i.
func TestDropsWithoutIface(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules string
		want  bool
	}{
		{"no DOCKER-USER", "-A FORWARD -j DROP\n", false},
		{"returns only", ":DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\n", false},
		{"drop with -i", ":DOCKER-USER - [0:0]\n-A DOCKER-USER -i eth0 -j DROP\n", false},
		{"drop with ! -i", ":DOCKER-USER - [0:0]\n-A DOCKER-USER ! -i docker0 -j DROP\n", false},
		{"drop", ":DOCKER-USER - [0:0]\n-A DOCKER-USER -i docker0 -j RETURN\n-A DOCKER-USER -j DROP\n", true},
		{"reject", ":DOCKER-USER - [0:0]\n-A DOCKER-USER -p tcp -j REJECT\n", true},
		{"in a chain jumped to", ":DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n-A DOCKER-USER -j FILTERS\n-A FILTERS -j DROP\n", true},
		{"in a chain gone to", ":DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n-A DOCKER-USER ! -i docker0 -g FILTERS\n-A FILTERS -j DROP\n", true},
		{"behind a jump with -i", ":DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n-A DOCKER-USER -i eth0 -j FILTERS\n-A FILTERS -j DROP\n", false},
		{"in a chain DOCKER-USER does not reach", ":DOCKER-USER - [0:0]\n:OTHER - [0:0]\n-A FORWARD -j OTHER\n-A OTHER -j DROP\n", false},
		{"loop", ":DOCKER-USER - [0:0]\n:A - [0:0]\n-A DOCKER-USER -j A\n-A A -m mark --mark 1 -j DOCKER-USER\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := "*filter\n:FORWARD ACCEPT [0:0]\n" + c.rules + "COMMIT\n"
			l := parser.Load([]parser.Source{{Name: "f.rules", Data: []byte(text)}}, parser.Options{})
			if got := dropsWithoutIface(l.Ruleset); got != c.want {
				t.Errorf("%q: %v, want %v", text, got, c.want)
			}
		})
	}
}
