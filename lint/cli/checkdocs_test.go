package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/parser"
)

// The pages docs/checks/ID.md: one per built-in check, headed by its ID,
// name and severity, ending with its metadata's description. Their
// examples are real: every "```iptables title=NAME" block is written to
// NAME in a directory that also holds the repository's testdata/seed and
// testdata/docker, every "```console" block's "$ dfwlint check ARGS" is
// run there, and its output must be the rest of the block (-update
// rewrites it). A command on bad.rules must report the page's check, a
// command on good.rules must not.
//
// A check that consumes facts no analysis computes yet is silent on its
// bad example; its page says so with "<!-- needs: ANALYSIS -->", accepted
// only while the analyzer reports that analysis as "not computed".
var (
	fileBlock    = regexp.MustCompile("(?s)```iptables title=(\\S+)\n(.*?)```")
	consoleBlock = regexp.MustCompile("(?s)```console\n\\$ dfwlint check ([^\n]*)\n(.*?)```")
	needsNote    = regexp.MustCompile(`<!-- needs: (\w+) -->`)
)

func TestCheckDocs(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]bool{}
	for _, p := range lint.Policies() {
		pages[p.ID+".md"] = true
		t.Run(p.ID, func(t *testing.T) { checkPage(t, root, p) })
	}
	entries, err := os.ReadDir(filepath.Join(root, "docs", "checks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !pages[e.Name()] {
			t.Errorf("docs/checks/%s: no built-in check has this ID", e.Name())
		}
	}
}

func checkPage(t *testing.T, root string, p lint.Policy) {
	path := filepath.Join(root, "docs", "checks", p.ID+".md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: every built-in check has a page (why it matters, a bad and a good example, the fix)", err)
	}
	text := string(data)
	if head := fmt.Sprintf("# %s `%s`\n", p.ID, p.Name); !strings.HasPrefix(text, head) {
		t.Errorf("docs/checks/%s.md does not start with %q", p.ID, head)
	}
	if sev := "**Severity:** " + p.Severity; !strings.Contains(text, sev) {
		t.Errorf("docs/checks/%s.md lacks %q", p.ID, sev)
	}
	if desc := "## What the check looks at\n\n" + p.Description + "\n"; !strings.Contains(text, desc) {
		t.Errorf("docs/checks/%s.md: its section \"What the check looks at\" is not the policy's description:\n%s", p.ID, p.Description)
	}
	for _, sec := range []string{"## Why it matters\n", "## Bad\n", "## Good\n", "## Fix\n"} {
		if !strings.Contains(text, sec) {
			t.Errorf("docs/checks/%s.md lacks the section %q", p.ID, strings.TrimSpace(sec))
		}
	}

	dir := t.TempDir()
	for _, sub := range []string{"seed", "docker"} {
		copyDir(t, filepath.Join(root, "testdata", sub), filepath.Join(dir, "testdata", sub))
	}
	files := fileBlock.FindAllStringSubmatch(text, -1)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f[1]), []byte(f[2]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	needs := ""
	if m := needsNote.FindStringSubmatch(text); m != nil {
		needs = m[1]
	}
	t.Chdir(dir)

	var bad, good int
	updated := text
	for _, m := range consoleBlock.FindAllStringSubmatchIndex(text, -1) {
		args := strings.Fields(text[m[2]:m[3]])
		shown := text[m[4]:m[5]]
		var out, errb bytes.Buffer
		Main(append([]string{"check"}, args...), nil, &out, &errb)
		got := out.String() + errb.String()
		if got != shown {
			if *update {
				updated = strings.Replace(updated, text[m[0]:m[1]], text[m[0]:m[4]]+got+"```", 1)
			} else {
				t.Errorf("docs/checks/%s.md: dfwlint check %s prints\n%s\nnot what the page shows (go test ./lint/cli -run TestCheckDocs -update rewrites it)", p.ID, strings.Join(args, " "), got)
			}
		}
		reported := strings.Contains(out.String(), " "+p.ID+" ")
		switch file := args[len(args)-1]; file {
		case "bad.rules":
			bad++
			switch {
			case needs != "" && !notComputed(t, args, needs):
				t.Errorf("docs/checks/%s.md: the %s analysis is computed now: remove the page's note \"needs: %s\" and update its output", p.ID, needs, needs)
			case needs != "" && reported:
				t.Errorf("docs/checks/%s.md: %s reported although the page says the %s analysis is not computed", p.ID, p.ID, needs)
			case needs == "" && !reported:
				t.Errorf("docs/checks/%s.md: dfwlint check %s does not report %s on the bad example", p.ID, strings.Join(args, " "), p.ID)
			}
		case "good.rules":
			good++
			if reported {
				t.Errorf("docs/checks/%s.md: dfwlint check %s reports %s on the good example", p.ID, strings.Join(args, " "), p.ID)
			}
		default:
			t.Errorf("docs/checks/%s.md: dfwlint check %s: the last argument is neither bad.rules nor good.rules", p.ID, strings.Join(args, " "))
		}
	}
	if bad == 0 || good == 0 {
		t.Errorf("docs/checks/%s.md: %d commands on bad.rules and %d on good.rules (want at least one of each)", p.ID, bad, good)
	}
	if *update && updated != text {
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// notComputed reports whether the analyzer of dfwlint check leaves the
// named analysis out ("not computed") for the ruleset of args.
func notComputed(t *testing.T, args []string, analysisName string) bool {
	t.Helper()
	var srcs []parser.Source
	for i := 0; i < len(args); i++ {
		name := args[i]
		switch {
		case name == "--base" && i+1 < len(args):
			i++
			name = args[i]
		case strings.HasPrefix(name, "-"):
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: name, Data: data})
	}
	linter, err := lint.New(lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := linter.Input(context.Background(), parser.Load(srcs, parser.Options{}), lint.CheckOptions{Base: len(srcs) - 1, Analyzer: newAnalyzer(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range doc.Analysis.Incomplete {
		if inc.Analysis == analysisName && !inc.Budget && strings.HasPrefix(inc.Reason, "not computed") {
			return true
		}
	}
	return false
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
