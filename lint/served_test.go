package lint_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/parser"
)

// quietPolicy is a user's policy that finds nothing: beside it, the
// built-in checks get the whole document, rules included.
const quietPolicy = `# METADATA
# title: finds nothing
# custom:
#   id: ORG900
package org.quiet

deny contains msg if {
	input.no_such_key
	msg := "never"
}
`

// TestServedRulesSameFindings checks the built-in checks alone, whose
// input leaves the rules out and serves them through functions, against
// the same checks beside a user's policy, whose input holds them: the
// reports must be identical, on testdata, a kube-proxy ruleset (DNAT
// exposure, thousands of may-match findings) and the corpus when present.
func TestServedRulesSameFindings(t *testing.T) {
	served := newLinter(t)
	whole, err := lint.New(lint.Options{PolicyDirs: []string{writePolicy(t, quietPolicy)}})
	if err != nil {
		t.Fatal(err)
	}
	type ruleset struct {
		name string
		srcs []parser.Source
		base int
	}
	var sets []ruleset
	files, _ := filepath.Glob("../testdata/*/*.save")
	for _, more := range []string{"../testdata/*/*.conf", "../testdata/*/*.v4", "../testdata/*/*.v6"} {
		m, _ := filepath.Glob(more)
		files = append(files, m...)
	}
	dir := os.Getenv("DFW_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "corpus")
	}
	corpus, _ := filepath.Glob(filepath.Join(dir, "*.save"))
	if len(corpus) == 0 && os.Getenv("CI") == "true" {
		t.Fatalf("no corpus files in %s (CI=true: the corpus must be there; set DFW_CORPUS)", dir)
	}
	for _, f := range append(files, corpus...) {
		sets = append(sets, ruleset{name: f, srcs: []parser.Source{readSource(t, f, filepath.Base(f))}})
	}
	sets = append(sets, ruleset{name: "seed over Docker", base: 1, srcs: []parser.Source{
		readSource(t, "../testdata/seed/docker-20.10.save", "docker-20.10.save"),
		readSource(t, "../testdata/seed/iptables.conf", "iptables.conf"),
	}})
	var kube bytes.Buffer
	if err := gen.KubeProxy(&kube, 300); err != nil {
		t.Fatal(err)
	}
	sets = append(sets, ruleset{name: "kube-proxy", srcs: []parser.Source{{Name: "kube.save", Data: kube.Bytes()}}})
	if len(corpus) == 0 {
		t.Logf("no corpus files in %s: testdata and a generated ruleset only (set DFW_CORPUS)", dir)
	}
	findings := 0
	for _, s := range sets {
		report := func(l *lint.Linter) string {
			loaded := parser.Load(s.srcs, parser.Options{})
			opts := lint.CheckOptions{Base: s.base}
			if len(loaded.Diags.Errors()) == 0 {
				opts.Analyzer = analysis.New(analysis.Options{})
			}
			rep, err := l.Check(context.Background(), loaded, opts)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			var b strings.Builder
			if err := rep.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			if l == served {
				findings += len(rep.Findings)
			}
			return b.String()
		}
		if a, b := report(served), report(whole); a != b {
			t.Errorf("%s: the report with the rules served differs from the report with the rules in the input:\n%s\n---\n%s", s.name, a, b)
		}
	}
	if findings == 0 {
		t.Fatal("no findings at all: nothing was compared")
	}
	t.Logf("%d rulesets, %d findings, identical either way", len(sets), findings)
}

// TestReachableBuiltin asks dfw.reachable, from a user's policy, about
// the seed's rules over Docker's: ssh on ens33 reaches the host, accepted
// by FILTERS' rule (iptables.conf line 30); PostgreSQL does not.
func TestReachableBuiltin(t *testing.T) {
	dir := writePolicy(t, `# METADATA
# title: asks dfw.reachable
# custom:
#   id: ORG010
package org.ask

findings contains {"msg": msg, "file": "iptables.conf", "line": 1} if {
	some port in [22, 5432]
	a := dfw.reachable({"interface": "ens33", "proto": "tcp", "port": port})
	msg := sprintf("%d known=%v reachable=%v accepted_by=%v", [port, a.known, a.reachable, object.get(a, ["accepted_by", "line"], 0)])
}
`)
	l, err := lint.New(lint.Options{PolicyDirs: []string{dir}, NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	srcs := []parser.Source{
		readSource(t, "../testdata/seed/docker-20.10.save", "docker-20.10.save"),
		readSource(t, "../testdata/seed/iptables.conf", "iptables.conf"),
	}
	rep, err := l.Check(context.Background(), load(t, srcs), lint.CheckOptions{Base: 1, Analyzer: analysis.New(analysis.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Message)
	}
	want := "22 known=true reachable=true accepted_by=30|5432 known=true reachable=false accepted_by=0"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %q\nwant %q", strings.Join(got, "|"), want)
	}
}
