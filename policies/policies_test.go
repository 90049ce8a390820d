package policies_test

import (
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/policies"
)

func modules(t *testing.T) map[string]*ast.Module {
	t.Helper()
	mods := map[string]*ast.Module{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		src, err := policies.FS.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		mods[p] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// TestRego runs every _test.rego through OPA's tester.
func TestRego(t *testing.T) {
	mods := modules(t)
	c := ast.NewCompiler().WithBuiltins(lint.BuiltinDecls()).WithEnablePrintStatements(true)
	ch, err := tester.NewRunner().SetCompiler(c).SetModules(mods).CapturePrintOutput(true).
		RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		name := r.Package + "." + r.Name
		switch {
		case r.Error != nil:
			t.Errorf("%s: error: %v", name, r.Error)
		case r.Fail:
			t.Errorf("%s (%s): FAIL\n%s", name, r.Location, r.Output)
		case r.Skip:
			t.Logf("%s: skipped", name)
		}
	}
	if n == 0 {
		t.Fatal("no Rego tests ran")
	}
	t.Logf("%d Rego tests", n)
}

var update = flag.Bool("update", false, "TestFormat: rewrite the .rego files as opa fmt prints them")

// TestFormat: every .rego file is as opa fmt prints it (-update rewrites
// them).
func TestFormat(t *testing.T) {
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		src, _ := policies.FS.ReadFile(p)
		out, err := format.SourceWithOpts(p, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if string(out) != string(src) && *update {
			return os.WriteFile(p, out, 0o644)
		}
		if string(out) != string(src) {
			t.Errorf("%s is not formatted (opa fmt -w %s); formatted:\n%s", p, p, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMetadata: every check has an ID, a severity, a title, a description
// and a test file; IDs are unique.
func TestMetadata(t *testing.T) {
	seen := map[string]string{}
	for _, p := range lint.Policies() {
		if !strings.HasPrefix(p.ID, "DFW") || p.Title == "" || p.Description == "" || len(p.Related) == 0 {
			t.Errorf("%s (%s): incomplete METADATA: %+v", p.ID, p.File, p)
		}
		switch p.Severity {
		case "error", "warning", "info":
		default:
			t.Errorf("%s: severity %q", p.ID, p.Severity)
		}
		if other, ok := seen[p.ID]; ok {
			t.Errorf("%s: in %s and %s", p.ID, p.File, other)
		}
		seen[p.ID] = p.File
		test := strings.TrimPrefix(strings.TrimSuffix(p.File, ".rego")+"_test.rego", "policies/")
		if _, err := fs.Stat(policies.FS, test); err != nil {
			t.Errorf("%s: no %s", p.ID, test)
		}
	}
}

// TestSchema: the schema compiles, and the document of a ruleset obeys it
// (see lint/facts for the documents of the test rulesets).
func TestSchema(t *testing.T) {
	b, err := policies.FS.ReadFile("input.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("input.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("input.schema.json"); err != nil {
		t.Fatal(err)
	}
}
