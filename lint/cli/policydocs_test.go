package cli

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/dfw-project/dfw/lint"
)

// findingLine is a finding of dfwlint check's text output.
var findingLine = regexp.MustCompile(`^\S+:\d+:\d+: (error|warning|info) \S+ `)

// TestPoliciesDoc checks docs/policies.md against what it describes: the
// worked example's Rego tests pass (as opa test would run them, with dfw's
// helper library), the Rego shown is the example's, and every "$ dfwlint"
// command shown prints what the page shows (each line shown, in order, and
// every finding).
func TestPoliciesDoc(t *testing.T) {
	t.Chdir("../..")
	data, err := os.ReadFile("docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)

	// The example's files and their tests.
	mods := map[string]*ast.Module{}
	var sources []string
	for _, dir := range []string{"policies/lib", "docs/examples/policies"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
			if err != nil {
				return err
			}
			mods[p] = m
			if dir != "policies/lib" {
				sources = append(sources, string(src))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := ast.NewCompiler().WithBuiltins(lint.BuiltinDecls())
	ch, err := tester.NewRunner().SetCompiler(c).SetModules(mods).RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		if r.Error != nil || r.Fail {
			t.Errorf("%s.%s: failed: %v", r.Package, r.Name, r.Error)
		}
	}
	if n < 3 {
		t.Errorf("%d Rego tests ran in docs/examples/policies, want at least 3", n)
	}
	for _, m := range regexp.MustCompile("(?s)```rego\n(package acme\\..*?)```").FindAllStringSubmatch(text, -1) {
		found := false
		for _, src := range sources {
			if strings.Contains(src, m[1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/policies.md shows Rego that is not in docs/examples/policies:\n%s", m[1])
		}
	}

	// The commands.
	blocks := regexp.MustCompile("(?s)```console\n\\$ dfwlint ([^\n]*)\n(.*?)```").FindAllStringSubmatch(text, -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/policies.md: %d dfwlint commands found, want at least 3", len(blocks))
	}
	for _, b := range blocks {
		cmdline, pipe, _ := strings.Cut(b[1], " | ")
		var out, errb bytes.Buffer
		Main(strings.Fields(cmdline), nil, &out, &errb)
		got := out.String() + errb.String()
		if pipe != "" {
			args := strings.Fields(pipe)
			path, err := exec.LookPath(args[0])
			if err != nil {
				t.Logf("docs/policies.md: %s not installed: output of dfwlint %s not compared", args[0], b[1])
				continue
			}
			// The filter is one quoted argument.
			_, filter, _ := strings.Cut(pipe, " ")
			cmd := exec.Command(path, strings.Trim(filter, "'"))
			cmd.Stdin = strings.NewReader(got)
			res, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", pipe, err)
			}
			got = string(res)
		}
		gotLines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		shown := strings.Split(strings.TrimSuffix(b[2], "\n"), "\n")
		i := 0
		for _, l := range gotLines {
			if i < len(shown) && l == shown[i] {
				i++
				continue
			}
			if findingLine.MatchString(l) {
				t.Errorf("docs/policies.md: dfwlint %s reports %q, which the page does not show", b[1], l)
			}
		}
		if i < len(shown) {
			t.Errorf("docs/policies.md: dfwlint %s does not print %q (in that order); it prints:\n%s", b[1], shown[i], got)
		}
	}
}
