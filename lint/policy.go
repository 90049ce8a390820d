package lint

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/dfw-project/dfw/policies"
)

// Policy is the metadata of one check, from its # METADATA block.
type Policy struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Related     []string `json:"related_resources,omitempty"`
	// Package is the Rego package, e.g. "dfw.docker.dport_after_dnat".
	Package string `json:"package"`
	// File is the policy's file (relative to policies/ for a built-in).
	File string `json:"file"`
	// Entrypoints are the rules that yield findings: findings, deny, warn,
	// violation, and findings_<part> (a part of findings evaluated as a
	// query of its own, beside the others).
	Entrypoints []string `json:"entrypoints"`
	Builtin     bool     `json:"builtin"`
}

// DocsURL is where the page of each built-in check, docs/checks/ID.md,
// is published.
const DocsURL = docsBase + "checks/"

// ErrorsURL is the page of the input errors dfwlint reports.
const ErrorsURL = docsBase + "errors.md"

const docsBase = "https://github.com/dfw-project/dfw/blob/main/docs/"

// Docs is the address of the check's page: DocsURL, ID, ".md" for a
// built-in check; "" for a user's policy, which has none.
func (p Policy) Docs() string {
	if !p.Builtin {
		return ""
	}
	return DocsURL + p.ID + ".md"
}

// entrypoints are the rule names that yield findings, with the severity a
// finding of a conftest-style rule takes.
var entrypoints = []struct {
	name     string
	severity string
}{
	{"findings", ""}, {"deny", "error"}, {"violation", "error"}, {"warn", "warning"},
}

var builtinModules = sync.OnceValues(func() (map[string]*ast.Module, error) {
	mods := map[string]*ast.Module{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		src, err := policies.FS.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := parseModule("policies/"+p, src)
		if err != nil {
			return err
		}
		mods["policies/"+p] = m
		return nil
	})
	return mods, err
})

// Policies returns the metadata of the built-in checks, sorted by ID.
func Policies() []Policy {
	mods, err := builtinModules()
	if err != nil {
		panic("lint: built-in policies do not parse: " + err.Error())
	}
	return policiesOf(mods, true)
}

func parseModule(name string, src []byte) (*ast.Module, error) {
	return ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
}

// loadPolicyDir parses every .rego file under dir, _test.rego files
// excepted.
func loadPolicyDir(dir string) (map[string]*ast.Module, error) {
	mods := map[string]*ast.Module{}
	var errs ast.Errors
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		m, err := parseModule(p, src)
		if err != nil {
			if e, ok := err.(ast.Errors); ok {
				errs = append(errs, e...)
				return nil
			}
			return err
		}
		mods[p] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", dir, err)
	}
	if len(errs) > 0 {
		return nil, &PolicyError{Errs: errs}
	}
	return mods, nil
}

// checkMetadata reports the # METADATA of a user's policy that dfwlint
// would otherwise misread: a custom.severity other than error, warning or
// info (a finding of severity "critical" would count for no --fail-on
// level, and pass CI unseen), or a custom id, name or severity that is not
// a string.
func checkMetadata(mods map[string]*ast.Module) ast.Errors {
	var errs ast.Errors
	for _, file := range slices.Sorted(maps.Keys(mods)) {
		for _, a := range mods[file].Annotations {
			if a.Scope != "package" {
				continue
			}
			for _, key := range []string{"id", "name", "severity"} {
				v, ok := a.Custom[key]
				if !ok {
					continue
				}
				s, isString := v.(string)
				switch {
				case !isString:
					errs = append(errs, ast.NewError(ast.ParseErr, a.Location, "METADATA custom.%s: found %v, expected a string", key, v))
				case key == "severity" && s != "error" && s != "warning" && s != "info":
					errs = append(errs, ast.NewError(ast.ParseErr, a.Location, "METADATA custom.severity: found %q, expected error, warning or info", s))
				case s == "":
					errs = append(errs, ast.NewError(ast.ParseErr, a.Location, "METADATA custom.%s: found an empty string, expected a value (or no custom.%s)", key, key))
				}
			}
		}
	}
	return errs
}

// ruleName is the name of r's head (its one-term reference).
func ruleName(r *ast.Rule) string {
	if len(r.Head.Reference) == 1 {
		if v, ok := r.Head.Reference[0].Value.(ast.Var); ok {
			return string(v)
		}
	}
	return r.Head.Name.String()
}

func policiesOf(mods map[string]*ast.Module, builtin bool) []Policy {
	var out []Policy
	for file, m := range mods {
		p := Policy{Package: strings.TrimPrefix(m.Package.Path.String(), "data."), File: file, Builtin: builtin}
		for _, e := range entrypoints {
			for _, r := range m.Rules {
				if ruleName(r) == e.name {
					p.Entrypoints = append(p.Entrypoints, e.name)
					break
				}
			}
		}
		// A check's findings may be split over findings_<part> rules:
		// each is a query of its own, so the parts of a check that is
		// slow on large rulesets are evaluated on several CPUs.
		var parts []string
		for _, r := range m.Rules {
			if n := ruleName(r); strings.HasPrefix(n, "findings_") && len(n) > len("findings_") && !slices.Contains(parts, n) {
				parts = append(parts, n)
			}
		}
		sort.Strings(parts)
		p.Entrypoints = append(p.Entrypoints, parts...)
		if len(p.Entrypoints) == 0 {
			continue
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" {
				continue
			}
			p.Title, p.Description = a.Title, strings.TrimSpace(a.Description)
			for _, rr := range a.RelatedResources {
				p.Related = append(p.Related, rr.Ref.String())
			}
			if v, ok := a.Custom["id"].(string); ok {
				p.ID = v
			}
			if v, ok := a.Custom["severity"].(string); ok {
				p.Severity = v
			}
			if v, ok := a.Custom["name"].(string); ok {
				p.Name = v
			}
		}
		if p.Name == "" {
			p.Name = strings.ReplaceAll(path.Base(strings.ReplaceAll(p.Package, ".", "/")), "_", "-")
		}
		if p.ID == "" {
			p.ID = p.Name
		}
		if p.Severity == "" {
			p.Severity = "warning"
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Package < out[j].Package
	})
	return out
}
