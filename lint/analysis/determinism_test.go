package analysis

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// The explanation of an unreachable rule (its covering rules) does not
// depend on the clock: a time budget that runs out just after the
// reachability walk finished gives the same covering rules.
func TestCoveringIgnoresClock(t *testing.T) {
	data, err := os.ReadFile("../../testdata/seed/iptables.conf")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("../../testdata/seed/docker-20.10.save")
	if err != nil {
		t.Fatal(err)
	}
	l := parser.Load([]parser.Source{{Name: "docker-20.10.save", Data: base}, {Name: "iptables.conf", Data: data}}, parser.Options{})
	covering := func() string {
		res, err := Analyze(context.Background(), l.Ruleset, Options{}, false)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, r := range res.Rules {
			if r.Status == Unreachable {
				s += fmt.Sprintf("%s:%d covered by %d; ", r.Rule.Pos.File, r.Rule.Pos.Line, len(r.Covering))
			}
		}
		return s
	}
	want := covering()
	if want == "" {
		t.Fatal("no unreachable rule in the seed")
	}
	afterWalk = func(cancel context.CancelFunc) { cancel() }
	defer func() { afterWalk = nil }()
	if got := covering(); got != want {
		t.Errorf("with the clock run out after the walk:\n got %s\nwant %s", got, want)
	}
}
