package analysis_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/parser"
)

func source(t *testing.T, path string) parser.Source {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parser.Source{Name: filepath.Base(path), Data: b}
}

// TestLintSeed runs dfwlint's checks with this package's Analyzer on the
// seed's rulesets and compares the findings of the checks built on the
// reachability and redundancy facts with what a careful reader finds.
func TestLintSeed(t *testing.T) {
	l, err := lint.New(lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files []string
		base  int
		want  []string
	}{
		{
			name:  "impl1",
			files: []string{"../../testdata/seed/impl1.save"},
			want: []string{
				// FORWARD's "-o docker0 --ctstate RELATED,ESTABLISHED -j
				// ACCEPT": DOCKER-USER (line 27, through the jump at 12)
				// accepted every such packet already.
				"impl1.save:14 DFW101",
				// DOCKER-USER's rule after its unconditional RETURN (29).
				"impl1.save:30 DFW101",
			},
		},
		{
			name:  "seed iptables.conf over docker-20.10",
			files: []string{"../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf"},
			base:  1,
			want: []string{
				// INPUT's policy is ACCEPT: "-i lo -j ACCEPT" changes
				// nothing (info).
				"iptables.conf:16 DFW102",
				// --ctstate RELATED,ESTABLISHED right after the identical
				// --state ESTABLISHED,RELATED: unreachable (and not the
				// earlier one redundant).
				"iptables.conf:27 DFW101",
				// FILTERS is entered only with -i ens33 (from INPUT and
				// DOCKER-USER), and line 37 drops every ens33 packet.
				"iptables.conf:38 DFW101",
			},
		},
		{
			name:  "docker-28",
			files: []string{"../../testdata/docker/docker-28.save"},
			want:  nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srcs []parser.Source
			for _, f := range tc.files {
				srcs = append(srcs, source(t, f))
			}
			loaded := parser.Load(srcs, parser.Options{})
			a := analysis.New(analysis.Options{})
			rep, err := l.Check(context.Background(), loaded, lint.CheckOptions{Base: tc.base, Analyzer: a})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			rep.WriteText(&buf)
			t.Logf("\n%s", buf.String())
			var got []string
			for _, f := range rep.Findings {
				switch f.ID {
				case "DFW101", "DFW102", "DFW104", "DFW902":
					got = append(got, fmt.Sprintf("%s:%d %s", f.File, f.Line, f.ID))
				}
			}
			sort.Strings(got)
			sort.Strings(tc.want)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
