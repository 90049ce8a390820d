package analysis

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

func loadFiles(t testing.TB, paths ...string) *parser.Loaded {
	t.Helper()
	var srcs []parser.Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := p[strings.LastIndex(p, "/")+1:]
		srcs = append(srcs, parser.Source{Name: name, Data: b})
	}
	return parser.Load(srcs, parser.Options{})
}

// summary lists the findings of res as "file:line what [covering lines]".
func summary(res *Result) []string {
	var out []string
	lines := func(rs []*parser.Rule) string {
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprintf("%d", r.Pos.Line))
		}
		return strings.Join(s, ",")
	}
	for _, rr := range res.Rules {
		p := rr.Rule.Pos
		switch {
		case rr.Status == Unreachable && rr.EmptyMatch:
			out = append(out, fmt.Sprintf("%s:%d unreachable (own matches empty)", p.File, p.Line))
		case rr.Status == Unreachable:
			out = append(out, fmt.Sprintf("%s:%d unreachable by %s", p.File, p.Line, lines(rr.Covering)))
		}
		if rr.Redundant {
			pol := ""
			if rr.CoveredByPolicy != nil {
				pol = " +policy"
			}
			out = append(out, fmt.Sprintf("%s:%d redundant by %s%s", p.File, p.Line, lines(rr.CoveredBy), pol))
		}
		if rr.DependsOnMayMatch {
			out = append(out, fmt.Sprintf("%s:%d depends on may-match %s", p.File, p.Line, lines(rr.MayMatch)))
		}
	}
	for _, c := range res.UnusedChains {
		out = append(out, fmt.Sprintf("%s:%d unused chain %s/%s", c.Pos.File, c.Pos.Line, c.Table, c.Chain))
	}
	sort.Strings(out)
	return out
}

func TestSeedFindings(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  []string
	}{
		{[]string{"../../testdata/seed/impl1.save"}, nil},
		{[]string{"../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf"}, nil},
		{[]string{"../../testdata/docker/docker-28.save"}, nil},
	} {
		l := loadFiles(t, tc.files...)
		res, err := Analyze(context.Background(), l.Ruleset, Options{}, true)
		if err != nil {
			t.Fatal(err)
		}
		got := summary(res)
		t.Logf("%v:\n%s", tc.files, strings.Join(got, "\n"))
	}
}
