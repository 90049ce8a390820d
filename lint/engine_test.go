package lint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/policies"
)

func seedReport(t *testing.T, l *lint.Linter) *lint.Report {
	t.Helper()
	srcs := []parser.Source{
		readSource(t, "../testdata/seed/docker-20.10.save", "docker-20.10.save"),
		readSource(t, "../testdata/seed/iptables.conf", "iptables.conf"),
	}
	rep, err := l.Check(context.Background(), load(t, srcs), lint.CheckOptions{Base: 1})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func compileSchema(t *testing.T, name string, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%v\n%s", err, data)
	}
}

// TestSARIF: the SARIF output obeys the SARIF 2.1.0 schema
// (testdata/sarif-2.1.0-rtm.5.json, from the npm package
// @microsoft/jest-sarif, MIT).
func TestSARIF(t *testing.T) {
	schema, err := os.ReadFile("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t, "sarif.json", schema)
	var buf bytes.Buffer
	if err := seedReport(t, newLinter(t)).WriteSARIF(&buf); err != nil {
		t.Fatal(err)
	}
	validate(t, s, buf.Bytes())
	if !strings.Contains(buf.String(), `"ruleId": "DFW208"`) {
		t.Errorf("no DFW208 result:\n%s", buf.String())
	}
}

// pathsReport checks a small ruleset under each of names (their findings
// and related positions name them), and adds an input error about a file
// that cannot be read.
func pathsReport(t *testing.T, names ...string) *lint.Report {
	t.Helper()
	src := `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	var reps []*lint.Report
	for _, name := range names {
		rep, err := newLinter(t).Check(context.Background(), load(t, []parser.Source{{Name: name, Data: []byte(src)}}),
			lint.CheckOptions{Analyzer: analysis.New(analysis.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	gone := lint.NewReport()
	gone.Errors = append(gone.Errors, lint.Position{File: "gone.save", Message: "no such file or directory"})
	reps[0].Merge(append(reps[1:], gone)...)
	return reps[0]
}

// TestSARIFPaths: artifact locations are URIs relative to the root of the
// repository with uriBaseId %SRCROOT% (which originalUriBaseIds defines),
// for files given relative to a subdirectory too; a file outside the
// root is a file URI, without uriBaseId; a colon is escaped (a:b.save
// would read as a URI of scheme "a"), as are spaces, commas and percent
// signs; <stdin> is no file of the repository. The log obeys the schema.
func TestSARIFPaths(t *testing.T) {
	schema, err := os.ReadFile("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t, "sarif.json", schema)
	rep := pathsReport(t, "a:b.save", "sub dir/x,y%.rules", "/etc/iptables/rules.v4", "<stdin>")
	var buf bytes.Buffer
	if err := rep.WriteSARIFOptions(&buf, lint.TextOptions{Paths: lint.Paths{Dir: "/repo/fw", Root: "/repo"}}); err != nil {
		t.Fatal(err)
	}
	validate(t, s, buf.Bytes())
	type artifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation artifact `json:"artifactLocation"`
		} `json:"physicalLocation"`
	}
	var log struct {
		Runs []struct {
			OriginalURIBaseIDs map[string]artifact `json:"originalUriBaseIds"`
			Results            []struct {
				Locations        []location `json:"locations"`
				RelatedLocations []location `json:"relatedLocations"`
			} `json:"results"`
			Invocations []struct {
				Notifications []struct {
					Locations []location `json:"locations"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if got := run.OriginalURIBaseIDs["%SRCROOT%"]; got != (artifact{URI: "file:///repo/"}) {
		t.Errorf("originalUriBaseIds %%SRCROOT%% = %+v, want file:///repo/", got)
	}
	seen := map[artifact]bool{}
	for _, r := range run.Results {
		for _, l := range append(r.Locations, r.RelatedLocations...) {
			seen[l.PhysicalLocation.ArtifactLocation] = true
		}
	}
	for _, n := range run.Invocations[0].Notifications {
		seen[n.Locations[0].PhysicalLocation.ArtifactLocation] = true
	}
	want := map[artifact]bool{
		{URI: "fw/a%3Ab.save", URIBaseID: "%SRCROOT%"}:               true,
		{URI: "fw/sub%20dir/x%2Cy%25.rules", URIBaseID: "%SRCROOT%"}: true,
		{URI: "file:///etc/iptables/rules.v4"}:                       true,
		{URI: "%3Cstdin%3E"}:                                         true,
		{URI: "fw/gone.save", URIBaseID: "%SRCROOT%"}:                true,
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("artifact locations:\n got %v\nwant %v", seen, want)
	}

	// Without Paths (a library's caller): relative names as they are,
	// against %SRCROOT%, which the log leaves undefined.
	buf.Reset()
	if err := rep.WriteSARIF(&buf); err != nil {
		t.Fatal(err)
	}
	validate(t, s, buf.Bytes())
	if !strings.Contains(buf.String(), `"uri": "a%3Ab.save",`) || strings.Contains(buf.String(), "originalUriBaseIds") {
		t.Errorf("without Paths:\n%s", buf.String())
	}
}

// TestGitHubPaths: an annotation names its file relative to the root of
// the repository, as the runner reads it; a file outside the root by its
// absolute path (the runner makes one in the workspace relative); an
// error about a whole file has no line or col (GitHub's lines start at
// 1); commas, colons and percent signs are escaped in the file property.
func TestGitHubPaths(t *testing.T) {
	rep := pathsReport(t, "a:b,c%.save", "/etc/iptables/rules.v4")
	var buf bytes.Buffer
	if err := rep.WriteGitHubOptions(&buf, lint.TextOptions{Paths: lint.Paths{Dir: "/repo/fw", Root: "/repo"}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"::error file=fw/gone.save,title=input error::no such file or directory\n",
		"::warning file=fw/a%3Ab%2Cc%25.save,line=4,col=1,title=DFW101 unreachable-rule::",
		"::warning file=/etc/iptables/rules.v4,line=4,col=1,title=DFW101 unreachable-rule::",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "line=0") {
		t.Errorf("an annotation at line 0:\n%s", buf.String())
	}
}

// TestJSONErrorColumn: every input error has its column in JSON, as
// DESIGN.md's contract says (0 for an error about the whole file), and
// <stdin> keeps its angle brackets.
func TestJSONErrorColumn(t *testing.T) {
	rep := pathsReport(t, "r.save")
	rep.Errors = append(rep.Errors, lint.Position{File: "<stdin>", Line: 1, Column: 1, Message: "file is empty"})
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Errors) != 2 {
		t.Fatalf("errors: %v", doc.Errors)
	}
	for _, e := range doc.Errors {
		for _, k := range []string{"file", "line", "column", "message"} {
			if _, ok := e[k]; !ok {
				t.Errorf("error %v has no %s", e, k)
			}
		}
	}
	if !strings.Contains(buf.String(), `"file": "<stdin>"`) {
		t.Errorf("<stdin> escaped:\n%s", buf.String())
	}
}

// TestInputSchema: the input documents of the test rulesets obey
// policies/input.schema.json.
func TestInputSchema(t *testing.T) {
	b, err := policies.FS.ReadFile("input.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s := compileSchema(t, "input.schema.json", b)
	files, _ := filepath.Glob("../testdata/*/*.save")
	files = append(files, "../testdata/seed/iptables.conf")
	for _, f := range files {
		srcs := []parser.Source{readSource(t, f, filepath.Base(f))}
		doc, err := facts.Build(context.Background(), load(t, srcs), facts.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(doc)
		validate(t, s, out)
		checkPositions(t, f, doc)
	}
	// The positions of rule facts, on a ruleset with every analysis.
	for _, f := range []string{"../testdata/seed/iptables.conf", "../testdata/docker/docker-28.save"} {
		doc, err := facts.Build(context.Background(), load(t, []parser.Source{readSource(t, f, filepath.Base(f))}),
			facts.Options{Analyzer: analysis.New(analysis.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Analysis.Reachability) == 0 {
			t.Fatalf("%s: no reachability facts", f)
		}
		checkPositions(t, f, doc)
	}
	// A host's IPv6 rules checked with its IPv4 rules: peer and
	// analysis.family_gap.
	v4 := load(t, []parser.Source{readSource(t, "../testdata/dualstack/rules.v4", "rules.v4")})
	v6 := load(t, []parser.Source{readSource(t, "../testdata/dualstack/rules.v6", "rules.v6")})
	doc, err := facts.Build(context.Background(), v6, facts.Options{Analyzer: analysis.New(analysis.Options{}),
		Peer: &facts.PeerRuleset{Ruleset: v4.Ruleset, Files: []string{"rules.v4"}}})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Peer == nil || len(doc.Analysis.FamilyGap) != 2 || !doc.Analysis.Computed[facts.AnalysisFamilyGap] {
		t.Fatalf("IPv6 beside IPv4: peer %+v, family gap %+v", doc.Peer, doc.Analysis.FamilyGap)
	}
	out, _ := json.Marshal(doc)
	validate(t, s, out)
}

// checkPositions: the rules of each table and chain are the slices their
// first_rule and rules give, and every rule fact names its rule's position.
func checkPositions(t *testing.T, name string, doc *facts.Document) {
	t.Helper()
	n := 0
	for _, tb := range doc.Tables {
		if tb.FirstRule != n {
			t.Errorf("%s: table %s: first_rule %d, want %d", name, tb.Name, tb.FirstRule, n)
		}
		for _, r := range doc.Rules[tb.FirstRule : tb.FirstRule+tb.Rules] {
			if r.Table != tb.Name {
				t.Errorf("%s: table %s holds rule %s", name, tb.Name, r.ID)
			}
		}
		n += tb.Rules
	}
	if n != len(doc.Rules) {
		t.Errorf("%s: the tables hold %d rules, the document %d", name, n, len(doc.Rules))
	}
	for _, c := range doc.Chains {
		for i, r := range doc.Rules[c.FirstRule : c.FirstRule+c.Rules] {
			if r.Table != c.Table || r.Chain != c.Name || r.Index != i+1 {
				t.Errorf("%s: chain %s: rule %d is %s", name, c.ID, i+1, r.ID)
			}
		}
	}
	for _, x := range doc.Analysis.Reachability {
		if doc.Rules[x.Position].ID != x.Rule {
			t.Errorf("%s: reachability of %s: position %d is %s", name, x.Rule, x.Position, doc.Rules[x.Position].ID)
		}
	}
	for _, x := range doc.Analysis.Redundant {
		if doc.Rules[x.Position].ID != x.Rule {
			t.Errorf("%s: redundancy of %s: position %d is %s", name, x.Rule, x.Position, doc.Rules[x.Position].ID)
		}
	}
}

func TestJSONAndText(t *testing.T) {
	rep := seedReport(t, newLinter(t))
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []map[string]any `json:"findings"`
		Errors   []any            `json:"errors"`
		Summary  map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Errors == nil || len(got.Findings) != 2 || got.Summary["files"] != 1 || got.Summary["warnings"] != 1 || got.Summary["infos"] != 1 {
		t.Errorf("JSON:\n%s", buf.String())
	}
	for _, k := range []string{"id", "name", "severity", "message", "file", "line", "column", "table", "chain", "rule", "related", "witness"} {
		if _, ok := got.Findings[1][k]; !ok {
			t.Errorf("finding without %q: %v", k, got.Findings[1])
		}
	}
	buf.Reset()
	rep.WriteText(&buf)
	want := "iptables.conf:30:32: warning DFW208 FILTERS is entered"
	if !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "\n\tiptables.conf:17:1: INPUT enters FILTERS here\n") {
		t.Errorf("text:\n%s", buf.String())
	}
	if rep.ExitCode("") != 1 || rep.ExitCode("error") != 0 || rep.ExitCode("info") != 1 || rep.ExitCode("never") != 0 {
		t.Errorf("exit codes: %d %d %d %d", rep.ExitCode(""), rep.ExitCode("error"), rep.ExitCode("info"), rep.ExitCode("never"))
	}
}

func TestGitHub(t *testing.T) {
	var buf bytes.Buffer
	seedReport(t, newLinter(t)).WriteGitHub(&buf)
	want := "::warning file=iptables.conf,line=30,col=32,title=DFW208 shared-chain-exposes-containers::FILTERS is entered"
	if !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "::notice file=iptables.conf,line=23,col=12,title=DFW303 icmp-any::") {
		t.Errorf("got:\n%s", buf.String())
	}
	if strings.Count(buf.String(), "\n") != 2 {
		t.Errorf("a message holds a raw newline:\n%s", buf.String())
	}
}

func TestSuppression(t *testing.T) {
	src := `*filter
# dfwlint:ignore DFW302 this host has no local services
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p icmp -m comment --comment "dfwlint:ignore icmp-any monitoring needs it" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`
	rep, err := newLinter(t).Check(context.Background(), load(t, []parser.Source{{Name: "r.conf", Data: []byte(src)}}), lint.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 || len(rep.Suppressed) != 2 {
		t.Errorf("findings %v, suppressed %v", rep.Findings, rep.Suppressed)
	}
}

func TestConfig(t *testing.T) {
	cfg, err := lint.ParseConfig(".dfwlint.yaml", []byte(`
external_interfaces: [ens33]
allowed_exposed:
  - proto: tcp
    ports: [443, "8000-8100"]
disabled: [DFW303]
severity:
  shared-chain-exposes-containers: error
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AllowedExposed[0].Ports[1] != (lint.PortSpec{Lo: 8000, Hi: 8100}) {
		t.Errorf("ports %v", cfg.AllowedExposed[0].Ports)
	}
	l, err := lint.New(lint.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	rep := seedReport(t, l)
	if len(rep.Findings) != 1 || rep.Findings[0].ID != "DFW208" || rep.Findings[0].Severity != "error" {
		t.Errorf("findings %+v", rep.Findings)
	}
	// Each error names the file, and the line and column of the value.
	for bad, want := range map[string]string{
		"extrnal_interfaces: [x]\n":                                                   "c.yaml:1: unknown key extrnal_interfaces",
		"severity:\n  DFW101: fatal\n":                                                `c.yaml:2:11: severity of DFW101: "fatal" (expected error, warning or info)`,
		"allowed_exposed: [{ports: [70000]}]\n":                                       `c.yaml:1:28: "70000" is not a port`,
		"allowed_exposed:\n  - proto: tcpp\n":                                         `c.yaml:2:12: allowed_exposed[0]: proto "tcpp"`,
		"external_interfaces: [eth0, \"eth0 eth1\"]\n":                                `c.yaml:1:29: external_interfaces: "eth0 eth1" is not an interface name (expected 1 to 15 characters`,
		"external_interfaces: [\"\"]\n":                                               `c.yaml:1:23: external_interfaces: "" is not an interface name`,
		"external_interfaces: [abcdefghijklmnop]\n":                                   `c.yaml:1:23: external_interfaces: "abcdefghijklmnop" is not an interface name`,
		"allowed_exposed:\n  - proto: tcp\n    sources: [10.0.0.0/8, 10.0.0.300/8]\n": `c.yaml:3:27: allowed_exposed[0]: source "10.0.0.300/8" is not an address or a prefix`,
	} {
		if _, err := lint.ParseConfig("c.yaml", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %v, want %q…", bad, err, want)
		}
	}
}

// TestConfigNames: a check named in disabled or severity that no policy
// defines (a typo) is an error at its position, not silently nothing.
func TestConfigNames(t *testing.T) {
	cfg, err := lint.ParseConfig("c.yaml", []byte("disabled: [DFW303, icmp-anyy]\nseverity:\n  DFW3O4: error\n  parse-warning: info\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lint.New(lint.Options{Config: cfg})
	want := `c.yaml:1:20: disabled: no check "icmp-anyy" (expected a check's ID or name: dfwlint policies lists them)` + "\n" +
		`c.yaml:3:3: severity: no check "DFW3O4" (expected a check's ID or name: dfwlint policies lists them)`
	var ce *lint.ConfigError
	if !errors.As(err, &ce) || err.Error() != want {
		t.Errorf("error %v, want\n%s", err, want)
	}
	// A user's check is known by its ID and name.
	cfg, err = lint.ParseConfig("c.yaml", []byte("disabled: [ACME001]\nseverity: {acme-x: info}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writePolicy(t, "# METADATA\n# custom:\n#   id: ACME001\n#   name: acme-x\npackage acme.x\n\ndeny contains \"x\" if false\n")
	if _, err := lint.New(lint.Options{Config: cfg, PolicyDirs: []string{dir}}); err != nil {
		t.Errorf("user check named: %v", err)
	}
	if _, err := lint.New(lint.Options{Config: cfg}); err == nil {
		t.Errorf("user check named without its policy: no error")
	}
}

func writePolicy(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUserPolicy: conftest-style deny/warn and our findings entrypoint.
func TestUserPolicy(t *testing.T) {
	dir := writePolicy(t, `# METADATA
# title: no FILTERS chain
# custom:
#   id: ORG001
package org.checks

deny contains msg if {
	some c in input.chains
	c.name == "FILTERS"
	msg := "FILTERS is forbidden here"
}

warn contains {"msg": "a rule", "file": r.file, "line": r.line} if {
	some r in input.rules
	r.chain == "FILTERS"
	r.index == 1
}

findings contains {"id": "ORG002", "msg": "ssh", "file": r.file, "line": r.line, "severity": "info"} if {
	some r in input.rules
	r.chain == "FILTERS"
	r.index == 4
	a := dfw.reachable({"interface": "ens33", "proto": "tcp", "port": 22})
	not a.reachable
}
`)
	l, err := lint.New(lint.Options{PolicyDirs: []string{dir}, NoBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	rep := seedReport(t, l)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.ID+" "+f.Severity+" "+f.Message)
	}
	want := "ORG001 error FILTERS is forbidden here|ORG001 warning a rule"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q\nwant %q (dfw.reachable is undefined without an analysis, so no ORG002)", strings.Join(got, "|"), want)
	}
}

func TestPolicyErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"syntax":    {"package x\n\ndeny contains msg if {\n\tmsg := \n}\n", "p.rego:5:1: unexpected } token"},
		"http.send": {"package x\n\ndeny contains msg if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://example.com\"})\n\tmsg := r.body\n}\n", "http.send is not allowed"},
		"env":       {"package x\n\ndeny contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n", "opa.runtime is not allowed"},
		"dns":       {"package x\n\ndeny contains msg if {\n\tmsg := net.lookup_ip_addr(\"example.com\")\n}\n", "net.lookup_ip_addr is not allowed"},
		// A severity no --fail-on level counts would let the finding
		// pass CI unseen.
		"severity":      {"# METADATA\n# title: x\n# custom:\n#   severity: critical\npackage x\n\ndeny contains \"x\" if true\n", `p.rego:1:1: METADATA custom.severity: found "critical", expected error, warning or info`},
		"severity case": {"# METADATA\n# custom:\n#   severity: Error\npackage x\n\ndeny contains \"x\" if true\n", `found "Error", expected error, warning or info`},
		"id not string": {"# METADATA\n# custom:\n#   id: 42\npackage x\n\ndeny contains \"x\" if true\n", "METADATA custom.id: found 42, expected a string"},
		"built-in ID":   {"# METADATA\n# custom:\n#   id: DFW301\npackage acme.x\n\ndeny contains \"x\" if false\n", "p.rego:1:1: check DFW301 (x) is also DFW301 (input-open, policies/host/input_open/input_open.rego): expected an ID and a name of its own"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := lint.New(lint.Options{PolicyDirs: []string{writePolicy(t, tc.src)}, NoBuiltin: name != "built-in ID"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "p.rego:") {
				t.Errorf("no file:row:col in %v", err)
			}
		})
		// Compiled in the background, the same error comes from New
		// (a policy that does not parse, metadata, names) or from Wait
		// and then from every Check (a policy that does not compile).
		t.Run(name+"/background", func(t *testing.T) {
			l, err := lint.New(lint.Options{PolicyDirs: []string{writePolicy(t, tc.src)}, NoBuiltin: name != "built-in ID", Background: true})
			if err == nil {
				err = l.Wait()
				srcs := []parser.Source{readSource(t, "../testdata/seed/docker-20.10.save", "docker-20.10.save")}
				if _, cerr := l.Check(context.Background(), load(t, srcs), lint.CheckOptions{}); err == nil || cerr == nil || cerr.Error() != err.Error() {
					t.Errorf("Wait: %v; Check: %v", err, cerr)
				}
				var pe *lint.PolicyError
				if !errors.As(err, &pe) {
					t.Errorf("Wait: %T, want *lint.PolicyError", err)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	dir := writePolicy(t, `package x

deny contains "slow" if {
	n := numbers.range(1, 100000000)
	count([x | some x in n; x % 7 == 3]) > 0
}
`)
	l, err := lint.New(lint.Options{PolicyDirs: []string{dir}, NoBuiltin: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep := seedReport(t, l)
	if time.Since(start) > 5*time.Second || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "timeout") {
		t.Errorf("after %s: errors %v", time.Since(start), rep.Errors)
	}
	if rep.ExitCode("") != 2 {
		t.Errorf("exit %d", rep.ExitCode(""))
	}
}

func TestPoliciesMetadata(t *testing.T) {
	ps := lint.Policies()
	ids := map[string]bool{}
	for _, p := range ps {
		ids[p.ID] = true
	}
	for _, id := range strings.Fields("DFW101 DFW102 DFW103 DFW104 DFW201 DFW202 DFW203 DFW204 DFW205 DFW206 DFW207 DFW208 DFW209 DFW301 DFW302 DFW303 DFW304 DFW901 DFW902") {
		if !ids[id] {
			t.Errorf("no built-in check %s", id)
		}
	}
}

// sarifRule is a rule of the SARIF output, as a test reads it.
type sarifRule struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	ShortDescription struct {
		Text string `json:"text"`
	} `json:"shortDescription"`
	FullDescription struct {
		Text string `json:"text"`
	} `json:"fullDescription"`
	HelpURI string `json:"helpUri"`
	Help    struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown"`
	} `json:"help"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties struct {
		Tags            []string `json:"tags"`
		Precision       string   `json:"precision"`
		ProblemSeverity string   `json:"problem.severity"`
	} `json:"properties"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region *sarifRegion `json:"region"`
	} `json:"physicalLocation"`
}

type sarifRun struct {
	ColumnKind string `json:"columnKind"`
	Tool       struct {
		Driver struct {
			Rules []sarifRule `json:"rules"`
		} `json:"driver"`
	} `json:"tool"`
	Results []struct {
		RuleID    string `json:"ruleId"`
		RuleIndex int    `json:"ruleIndex"`
		Level     string `json:"level"`
		Message   struct {
			Text string `json:"text"`
		} `json:"message"`
		Locations        []sarifLocation `json:"locations"`
		RelatedLocations []sarifLocation `json:"relatedLocations"`
	} `json:"results"`
	Invocations []struct {
		ExecutionSuccessful bool `json:"executionSuccessful"`
		Notifications       []struct {
			Level   string `json:"level"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []sarifLocation `json:"locations"`
		} `json:"toolExecutionNotifications"`
	} `json:"invocations"`
}

// sarifOf writes rep as SARIF, checks it against the schema and returns
// its run.
func sarifOf(t *testing.T, rep *lint.Report) sarifRun {
	t.Helper()
	schema, err := os.ReadFile("testdata/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteSARIF(&buf); err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t, "sarif.json", schema), buf.Bytes())
	var log struct {
		Runs []sarifRun `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	return log.Runs[0]
}

// TestSARIFRules: each built-in check's rule points (helpUri) at its own
// page, docs/checks/ID.md in the repository (the link dfwlint policies
// prints), not at a man page; its help holds its title, its whole
// description and its related resources (text and Markdown);
// fullDescription is the description within GitHub's 1024 characters;
// tags, precision and problem.severity are those code scanning filters
// and orders by. DFW000 (input errors) and DFW001 (parser warnings) are
// rules too, documented in docs/errors.md.
func TestSARIFRules(t *testing.T) {
	run := sarifOf(t, seedReport(t, newLinter(t)))
	rules := map[string]sarifRule{}
	for _, r := range run.Tool.Driver.Rules {
		rules[r.ID] = r
	}
	probSev := map[string]string{"error": "error", "warning": "warning", "info": "recommendation"}
	for _, p := range lint.Policies() {
		r, ok := rules[p.ID]
		if !ok {
			t.Errorf("%s: no rule", p.ID)
			continue
		}
		if want := "https://github.com/dfw-project/dfw/blob/main/docs/checks/" + p.ID + ".md"; r.HelpURI != want || p.Docs() != want {
			t.Errorf("%s: helpUri %q, Docs %q, want %q", p.ID, r.HelpURI, p.Docs(), want)
		}
		if _, err := os.Stat(filepath.Join("..", "docs", "checks", p.ID+".md")); err != nil {
			t.Errorf("%s: helpUri names no page of the repository: %v", p.ID, err)
		}
		desc := strings.Join(strings.Fields(p.Description), " ")
		if got := strings.Join(strings.Fields(r.Help.Text), " "); !strings.Contains(got, desc) || !strings.Contains(got, p.Title) || !strings.Contains(got, r.HelpURI) {
			t.Errorf("%s: help.text lacks the title, description or page:\n%s", p.ID, r.Help.Text)
		}
		for _, rel := range p.Related {
			if !strings.Contains(r.Help.Text, rel) || !strings.Contains(r.Help.Markdown, "<"+rel+">") {
				t.Errorf("%s: help lacks the related resource %s", p.ID, rel)
			}
		}
		if !strings.Contains(r.Help.Markdown, "]("+r.HelpURI+")") {
			t.Errorf("%s: help.markdown does not link the page:\n%s", p.ID, r.Help.Markdown)
		}
		full := r.FullDescription.Text
		if n := len([]rune(full)); n == 0 || n > 1024 || !strings.HasPrefix(desc, strings.Join(strings.Fields(full), " ")) {
			t.Errorf("%s: fullDescription (%d characters) is not the description's beginning:\n%s", p.ID, n, full)
		}
		if r.ShortDescription.Text != p.Title {
			t.Errorf("%s: shortDescription %q, want the title %q", p.ID, r.ShortDescription.Text, p.Title)
		}
		group := strings.Split(p.Package, ".")[1]
		if !reflect.DeepEqual(r.Properties.Tags, []string{"iptables", group}) || r.Properties.Precision != "high" || r.Properties.ProblemSeverity != probSev[p.Severity] {
			t.Errorf("%s: properties %+v, want tags [iptables %s], precision high, problem.severity %s", p.ID, r.Properties, group, probSev[p.Severity])
		}
	}
	for _, id := range []string{"DFW000", "DFW001"} {
		r := rules[id]
		if r.HelpURI != lint.ErrorsURL || r.Help.Text == "" || r.FullDescription.Text == "" || r.Properties.Precision != "very-high" {
			t.Errorf("%s: rule %+v", id, r)
		}
	}
	if rules["DFW000"].DefaultConfiguration.Level != "error" || rules["DFW000"].Name != "input-error" {
		t.Errorf("DFW000: %+v", rules["DFW000"])
	}
	if _, err := os.Stat(filepath.Join("..", "docs", "errors.md")); err != nil || !strings.HasSuffix(lint.ErrorsURL, "/docs/errors.md") {
		t.Errorf("ErrorsURL %s names no page of the repository: %v", lint.ErrorsURL, err)
	}
	// The seed has no input error: no DFW000 result, a successful run.
	for _, res := range run.Results {
		if res.RuleID == "DFW000" {
			t.Errorf("DFW000 result without an input error: %+v", res)
		}
	}
	if !run.Invocations[0].ExecutionSuccessful {
		t.Error("executionSuccessful false without an input error")
	}
}

// TestSARIFInputErrors: an input error is a result of rule DFW000, level
// error, at the error's file, line and column (so that code scanning
// annotates where the ruleset is broken), and still a tool execution
// notification; an error about a whole file has no region.
func TestSARIFInputErrors(t *testing.T) {
	src := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n"
	rep, err := newLinter(t).Check(context.Background(), load(t, []parser.Source{{Name: "bad.rules", Data: []byte(src)}}), lint.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gone := lint.NewReport()
	gone.Errors = append(gone.Errors, lint.Position{File: "gone.save", Message: "no such file or directory"})
	rep.Merge(gone)
	if len(rep.Errors) != 2 {
		t.Fatalf("errors %+v, want the --dport and the unreadable file", rep.Errors)
	}
	run := sarifOf(t, rep)
	var got []string
	for _, res := range run.Results {
		if res.RuleID != "DFW000" {
			continue
		}
		if run.Tool.Driver.Rules[res.RuleIndex].ID != "DFW000" || res.Level != "error" {
			t.Errorf("result %+v: rule index %d, level %s", res, res.RuleIndex, res.Level)
		}
		l := res.Locations[0].PhysicalLocation
		got = append(got, fmt.Sprintf("%s %v %s", l.ArtifactLocation.URI, l.Region, res.Message.Text))
	}
	want := []string{
		`bad.rules &{3 24} --dport: invalid port "70000" (expected 0-65535 or a service name)`,
		"gone.save <nil> no such file or directory",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DFW000 results:\n got %q\nwant %q", got, want)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 2 || inv.Notifications[0].Level != "error" ||
		inv.Notifications[0].Locations[0].PhysicalLocation.Region == nil ||
		*inv.Notifications[0].Locations[0].PhysicalLocation.Region != (sarifRegion{3, 24}) {
		t.Errorf("notifications: %+v", inv)
	}
}

// TestSARIFColumns: SARIF's columns count UTF-16 code units
// (columnKind utf16CodeUnits, SARIF's default, which GitHub reads), where
// the positions count bytes: after a --comment in German with an emoji (a
// 2-byte ü and Ü, one code unit each; a 4-byte 🔥, two) a finding's and
// an input error's column move back by the bytes saved; on an ASCII line
// they stay as they are. JSON and text keep the byte columns. A Stream
// writes the same columns.
func TestSARIFColumns(t *testing.T) {
	const comment = `-A INPUT -m comment --comment "ping für 🔥 Überwachung" `
	wide := "*filter\n:INPUT ACCEPT [0:0]\n" + comment + "-p icmp -j ACCEPT\nCOMMIT\n"
	ascii := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"ping fuer Ueberwachung\" -p icmp -j ACCEPT\nCOMMIT\n"
	bad := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m comment --comment \"für 🔥\" -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n"
	units := func(s string) int { return len(utf16.Encode([]rune(s))) }
	l := newLinter(t)
	var reps []*lint.Report
	for _, src := range []parser.Source{{Name: "ascii.rules", Data: []byte(ascii)}, {Name: "bad.rules", Data: []byte(bad)}, {Name: "wide.rules", Data: []byte(wide)}} {
		rep, err := l.Check(context.Background(), load(t, []parser.Source{src}), lint.CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	rep := lint.NewReport()
	rep.Merge(reps...)
	byteCol := map[string]int{}
	for _, f := range rep.Findings {
		if f.ID == "DFW303" {
			byteCol[f.File] = f.Column
		}
	}
	for _, e := range rep.Errors {
		byteCol[e.File] = e.Column
	}
	badPrefix := `-A INPUT -p tcp -m comment --comment "für 🔥" -m tcp `
	asciiPrefix := `-A INPUT -m comment --comment "ping fuer Ueberwachung" `
	wantBytes := map[string]int{"wide.rules": len(comment) + 1, "ascii.rules": len(asciiPrefix) + 1, "bad.rules": len(badPrefix) + 1}
	if !reflect.DeepEqual(byteCol, wantBytes) {
		t.Fatalf("byte columns %v, want %v (JSON and text count bytes)", byteCol, wantBytes)
	}
	want := map[string]int{"wide.rules": units(comment) + 1, "ascii.rules": len(asciiPrefix) + 1, "bad.rules": units(badPrefix) + 1}
	if want["wide.rules"] != wantBytes["wide.rules"]-4 || want["bad.rules"] != wantBytes["bad.rules"]-3 {
		t.Fatalf("test strings: %v, %v", want, wantBytes)
	}
	check := func(name string, run sarifRun) {
		t.Helper()
		if run.ColumnKind != "utf16CodeUnits" {
			t.Errorf("%s: columnKind %q", name, run.ColumnKind)
		}
		got := map[string]int{}
		for _, res := range run.Results {
			if res.RuleID == "DFW303" || res.RuleID == "DFW000" {
				l := res.Locations[0].PhysicalLocation
				got[l.ArtifactLocation.URI] = l.Region.StartColumn
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: SARIF columns %v, want %v", name, got, want)
		}
		n := run.Invocations[0].Notifications
		if len(n) != 1 || n[0].Locations[0].PhysicalLocation.Region.StartColumn != want["bad.rules"] {
			t.Errorf("%s: notifications %+v, want one at column %d", name, n, want["bad.rules"])
		}
	}
	check("report", sarifOf(t, rep))

	var buf bytes.Buffer
	s := lint.NewStream(&buf, "sarif", lint.TextOptions{})
	for i, r := range reps {
		if err := s.Add(r, []string{"ascii.rules", "bad.rules", "wide.rules"}[i], i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []sarifRun `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	check("stream", log.Runs[0])
}
