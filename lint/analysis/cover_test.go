package analysis

import (
	"context"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// TestCoveringTookThePackets: the covering rules of an unreachable rule
// are rules that took its packets. An earlier rule that is unreachable
// itself (-i eth after -i eth+) took none, even when its matches overlap
// and its action differs; the rules inside a chain entered with -g that
// dropped the packets are named, not only the -g.
func TestCoveringTookThePackets(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		want        []string
	}{
		{
			name: "unreachable rule covers nothing",
			rules: `*filter
:INPUT ACCEPT [0:0]
-A INPUT -i eth+ -j DROP
-A INPUT -i eth -j ACCEPT
-A INPUT -p tcp -j REJECT
-A INPUT -p tcp --syn -j DROP
-A INPUT -m mark --mark 0x1/0x1 -j DROP
-A INPUT -m mark --mark 0x3/0x3 -j DROP
COMMIT
`,
			want: []string{
				"r:4 unreachable by 3",
				"r:6 unreachable by 5",
				"r:8 unreachable by 7",
			},
		},
		{
			name: "goto followed",
			rules: `*filter
:INPUT DROP [0:0]
:A - [0:0]
:B - [0:0]
-A INPUT -p tcp -j A
-A INPUT -p tcp --dport 80 -j ACCEPT
-A A -g B
-A B -p tcp --dport 80 -j DROP
COMMIT
`,
			want: []string{"r:6 unreachable by 5,7,8"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := parser.Load([]parser.Source{{Name: "r", Data: []byte(tc.rules)}}, parser.Options{})
			if len(l.Diags) > 0 {
				t.Fatalf("input diagnostics: %v", l.Diags)
			}
			res, err := Analyze(context.Background(), l.Ruleset, Options{}, false)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range summary(res) {
				if strings.Contains(s, "unreachable") {
					got = append(got, s)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
