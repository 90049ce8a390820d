package lint_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/parser"
)

var (
	linterOnce sync.Once
	theLinter  *lint.Linter
	linterErr  error
)

func newLinter(t *testing.T) *lint.Linter {
	t.Helper()
	linterOnce.Do(func() { theLinter, linterErr = lint.New(lint.Options{}) })
	if linterErr != nil {
		t.Fatal(linterErr)
	}
	return theLinter
}

// load reads files (paths relative to the repo root for base files).
func load(t *testing.T, srcs []parser.Source) *parser.Loaded {
	t.Helper()
	return parser.Load(srcs, parser.Options{})
}

func readSource(t *testing.T, path, name string) parser.Source {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parser.Source{Name: name, Data: b}
}

// key is how a finding is expected: "file:line ID".
func key(f lint.Finding) string { return fmt.Sprintf("%s:%d %s", f.File, f.Line, f.ID) }

func keys(fs []lint.Finding, only string) []string {
	var out []string
	for _, f := range fs {
		if only == "" || f.ID == only {
			out = append(out, key(f))
		}
	}
	sort.Strings(out)
	return out
}

// TestChecks runs every testdata/checks/<ID>/*.txtar case. A case's comment
// holds "base PATH" lines (a --base file, path relative to the repository
// root) and "config" to read the .dfwlint.yaml file of the archive; its
// files are the ruleset files in order, except "want", which lists the
// expected findings of check <ID>, one "file:line ID" a line. Findings of
// other checks are ignored, so every case says exactly what its check
// reports: a missing and an unexpected finding both fail. The analyses'
// facts (reachability, exposure, …) are computed, as dfwlint check does.
func TestChecks(t *testing.T) {
	cases, err := filepath.Glob("testdata/checks/*/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, path := range cases {
		id := filepath.Base(filepath.Dir(path))
		t.Run(id+"/"+strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			runCase(t, path, id)
		})
	}
}

func runCase(t *testing.T, path, id string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []parser.Source
	var want []string
	var cfg *lint.Config
	base := 0
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if p, ok := strings.CutPrefix(line, "base "); ok {
			p = strings.TrimSpace(p)
			srcs = append(srcs, readSource(t, filepath.Join("..", p), filepath.Base(p)))
			base++
		}
	}
	for _, f := range ar.Files {
		switch f.Name {
		case "want":
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					want = append(want, l)
				}
			}
		case ".dfwlint.yaml":
			if cfg, err = lint.ParseConfig(f.Name, f.Data); err != nil {
				t.Fatal(err)
			}
		default:
			srcs = append(srcs, parser.Source{Name: f.Name, Data: f.Data})
		}
	}
	l := newLinter(t)
	if cfg != nil {
		if l, err = lint.New(lint.Options{Config: cfg}); err != nil {
			t.Fatal(err)
		}
	}
	loaded := load(t, srcs)
	rep, err := l.Check(context.Background(), loaded, lint.CheckOptions{Base: base, Analyzer: analysis.New(analysis.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Errors {
		t.Errorf("input error: %s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	}
	sort.Strings(want)
	got := keys(rep.Findings, id)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		var buf bytes.Buffer
		rep.WriteText(&buf)
		t.Errorf("findings of %s:\ngot  %q\nwant %q\nreport:\n%s", id, got, want, buf.String())
	}
}

// TestSeed: the post's iptables.conf applied with --noflush on Docker
// 20.10's rules gives what a Docker expert says, and nothing else.
func TestSeed(t *testing.T) {
	srcs := []parser.Source{
		readSource(t, "../testdata/seed/docker-20.10.save", "docker-20.10.save"),
		readSource(t, "../testdata/seed/iptables.conf", "iptables.conf"),
	}
	rep, err := newLinter(t).Check(context.Background(), load(t, srcs), lint.CheckOptions{Base: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Logf("\n%s", buf.String())
	want := []string{
		"iptables.conf:23 DFW303", // -p icmp --icmp-type any -j ACCEPT, in FILTERS (INPUT and FORWARD)
		"iptables.conf:30 DFW208", // FILTERS (INPUT and DOCKER-USER) accepts --dport 22: any container's 22 too
	}
	sort.Strings(want)
	if got := keys(rep.Findings, ""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
}

// TestSeedImpl1: the state implementation 1 leaves. Until the reachability
// facts exist, the rule after DOCKER-USER's RETURN (DFW101) is not found.
func TestSeedImpl1(t *testing.T) {
	srcs := []parser.Source{readSource(t, "../testdata/seed/impl1.save", "impl1.save")}
	rep, err := newLinter(t).Check(context.Background(), load(t, srcs), lint.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Logf("\n%s", buf.String())
	want := []string{
		"impl1.save:10 DFW303", // -A INPUT -p icmp -j ACCEPT
		"impl1.save:2 DFW302",  // :INPUT DROP and nothing accepts lo
	}
	if got := keys(rep.Findings, ""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
