package analysis

import (
	"context"
	"reflect"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// The result shared by Reachability and Redundancy is let go once both
// made their facts from it, and made again when asked for again.
func TestAnalyzerLetsResultGo(t *testing.T) {
	l := parser.Load([]parser.Source{{Name: "r.rules", Data: []byte(`*filter
:INPUT DROP [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -s 10.0.0.0/8 -j ACCEPT
-A INPUT -p tcp -j DROP
COMMIT
`)}}, parser.Options{})
	rs := l.Ruleset
	a := New(Options{})
	ctx := context.Background()
	reach, _, err := a.Reachability(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if a.last == nil {
		t.Fatal("the result was let go before Redundancy made its facts")
	}
	red, _, err := a.Redundancy(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if a.last != nil {
		t.Fatal("the result was kept after both kinds of facts were made")
	}
	if len(reach) != 3 || reach[1].Reachable || len(red) != 1 {
		t.Fatalf("facts: reach %+v, redundant %+v", reach, red)
	}
	again, _, err := a.Reachability(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, reach) {
		t.Fatalf("asked again: %+v, first %+v", again, reach)
	}
}
