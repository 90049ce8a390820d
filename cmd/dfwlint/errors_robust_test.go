package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint/cli"
	"github.com/dfw-project/dfw/parser"
)

// The catalogue of bad inputs: every row of docs/errors.md is a case below,
// and the table between the markers of docs/errors.md is what these cases
// print (go test ./cmd/dfwlint -run TestErrorCatalogue -update-errors
// rewrites it). Besides the message, each case checks what the doc cannot
// drift from: the exit status, the line of the first error, the number of
// errors, no panic, and that a good file given in the same run is still
// checked and its finding still reported.

var updateErrors = flag.Bool("update-errors", false, "rewrite the table of docs/errors.md from the catalogue's output")

// catCase is one bad input. The bad file is NAME.rules; good.rules (or
// good6.rules for IPv6 cases) follows it on the command line.
type catCase struct {
	name string
	desc string // the bad input, for the doc (markdown)
	data func() []byte
	args []string          // flags before the files
	more map[string]string // other files (policies, configs)
	// line is the line of the first error in the bad file (0: a read
	// error, which has no line).
	line int
	// nerr is how many errors the run reports.
	nerr int
	exit int
	// global: the error stops the run before any file is checked (a
	// policy or a configuration the user gave); it is on stderr.
	global bool
	// finding: for a case that is not an error, the finding it must
	// report in the bad file (its first line in the output).
	finding string
}

const catGood = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
`

// catGoodFinding is what good.rules (and good6.rules) must report.
const catGoodFinding = ":6:1: warning DFW101 no packet can reach this rule"

func catText(s string) func() []byte { return func() []byte { return []byte(s) } }

func catFilter(rules ...string) func() []byte {
	return func() []byte {
		return []byte("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + strings.Join(rules, "\n") + "\nCOMMIT\n")
	}
}

const catSlowPolicy = `package user.slow

import rego.v1

# 10^10 steps: minutes, were it not for --policy-timeout.
deny contains msg if {
	some a in numbers.range(1, 100000)
	some b in numbers.range(1, 100000)
	a + b < 0
	msg := "never"
}
`

var catCases = []catCase{
	{name: "empty", desc: "an empty file", data: catText(""), line: 1},
	{name: "binary", desc: "binary garbage (bytes 0-255)", data: func() []byte {
		b := make([]byte, 1024)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}, line: 1},
	{name: "truncated", desc: "a truncated file: no `COMMIT`", data: catText("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n"), line: 1},
	{name: "rule-before-table", desc: "a rule before any `*table` line", data: catText("-A INPUT -j ACCEPT\n*filter\nCOMMIT\n"), line: 1},
	{name: "chain-before-table", desc: "a chain line before any `*table` line", data: catText(":INPUT ACCEPT [0:0]\n*filter\nCOMMIT\n"), line: 1},
	{name: "commit-outside-table", desc: "`COMMIT` with no table open", data: catText("COMMIT\n"), line: 1},
	{name: "table-not-committed", desc: "a second `*table` before the first's `COMMIT`", data: catText("*filter\n*nat\nCOMMIT\n"), line: 2},
	{name: "unknown-table", desc: "an unknown table `*foo` (its chains add no error)", data: catText("*foo\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\nCOMMIT\n"), line: 1},
	{name: "append-undeclared-chain", desc: "`-A` to a chain never declared", data: catFilter("-A NOPE -j ACCEPT"), line: 5},
	{name: "jump-missing-chain", desc: "`-j` to a chain that does not exist", data: catFilter("-A INPUT -j NOPE"), line: 5},
	{name: "jump-loop", desc: "a jump loop A → B → A that INPUT reaches", data: catText("*filter\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n"), line: 6},
	{name: "jump-to-builtin", desc: "`-j OUTPUT` (a built-in chain)", data: catFilter("-A INPUT -j OUTPUT"), line: 5},
	{name: "duplicate-chain", desc: "a chain declared twice", data: catText("*filter\n:A - [0:0]\n:A - [0:0]\nCOMMIT\n"), line: 3},
	{name: "delete-chain-in-use", desc: "`-X` of a chain a rule still jumps to", data: catText("*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\n-X A\nCOMMIT\n"), line: 5},
	{name: "policy-on-user-chain", desc: "a policy on a user chain (`:A DROP`)", data: catText("*filter\n:INPUT ACCEPT [0:0]\n:A DROP [0:0]\nCOMMIT\n"), line: 3},
	{name: "long-chain-name", desc: "a 36-character chain name", data: catText("*filter\n:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 - [0:0]\nCOMMIT\n"), line: 2},
	{name: "bad-cidr", desc: "`-s 10.0.0.0/33`", data: catFilter("-A INPUT -s 10.0.0.0/33 -j ACCEPT"), line: 5},
	{name: "bad-mask", desc: "`-s 10.0.0.0/255.0.300.0`", data: catFilter("-A INPUT -s 10.0.0.0/255.0.300.0 -j ACCEPT"), line: 5},
	{name: "bad-address", desc: "`-s 300.1.1.1`", data: catFilter("-A INPUT -s 300.1.1.1 -j ACCEPT"), line: 5},
	{name: "hostname", desc: "a hostname `-s example.com`", data: catFilter("-A INPUT -s example.com -j ACCEPT"), line: 5},
	{name: "port-out-of-range", desc: "`--dport 70000`", data: catFilter("-A INPUT -p tcp --dport 70000 -j ACCEPT"), line: 5},
	{name: "port-range-reversed", desc: "`--dport 80:70`", data: catFilter("-A INPUT -p tcp --dport 80:70 -j ACCEPT"), line: 5},
	{name: "ctorigdstport-70000", desc: "`--ctorigdstport 70000` (iptables loads it as 4464)", data: catFilter("-A FORWARD -m conntrack --ctorigdstport 70000 -j ACCEPT"), line: 5},
	{name: "too-many-ports", desc: "16 ports in `-m multiport --dports`", data: catFilter("-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT"), line: 5},
	{name: "bad-protocol", desc: "`-p 999`", data: catFilter("-A INPUT -p 999 -j ACCEPT"), line: 5},
	{name: "dport-without-p", desc: "`--dport` without `-p`", data: catFilter("-A INPUT --dport 80 -j ACCEPT"), line: 5},
	{name: "m-tcp-without-p", desc: "`-m tcp` without `-p tcp`", data: catFilter("-A INPUT -m tcp --dport 22 -j ACCEPT"), line: 5},
	{name: "option-twice", desc: "`--dport` given twice", data: catFilter("-A INPUT -p tcp --dport 22 --dport 23 -j ACCEPT"), line: 5},
	{name: "missing-value", desc: "`-j` with no target", data: catFilter("-A INPUT -j"), line: 5},
	{name: "old-negation", desc: "old-style negation `-s ! 10.0.0.1`", data: catFilter("-A INPUT -s ! 10.0.0.1 -j ACCEPT"), line: 5},
	{name: "output-iface-in-input", desc: "`-o` in INPUT", data: catFilter("-A INPUT -i eth0 -o eth1 -j ACCEPT"), line: 5},
	{name: "long-interface", desc: "a 22-character interface name", data: catFilter("-A INPUT -i verylonginterfacename0 -j ACCEPT"), line: 5},
	{name: "unterminated-quote", desc: "an unterminated quote", data: catFilter(`-A INPUT -m comment --comment "oops -j ACCEPT`), line: 5},
	{name: "nul-byte", desc: "a NUL byte inside a rule", data: catFilter("-A INPUT -p tcp\x00 --dport 80 -j ACCEPT"), line: 5},
	{name: "crlf", desc: "CRLF line endings", data: catText("*filter\r\n:INPUT ACCEPT [0:0]\r\n-A INPUT -p tcp --dport 22 -j ACCEPT\r\nCOMMIT\r\n"), line: 1},
	{name: "bom", desc: "a UTF-8 byte order mark", data: catText("\xef\xbb\xbf*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), line: 1},
	{name: "line-2mb", desc: "a 2 MB line (a 2 MB comment)", data: func() []byte {
		return catFilter(`-A INPUT -m comment --comment ` + strings.Repeat("a", 2<<20) + ` -j ACCEPT`)()
	}, line: 5},
	{name: "iptables-L", desc: "`iptables -L` output", data: catText("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nACCEPT     all  --  0.0.0.0/0            0.0.0.0/0\n"), line: 1},
	{name: "ipv6-read-as-ipv4", desc: "an ip6tables dump with `--ipv4`", args: []string{"--ipv4"},
		data: catText("# Generated by ip6tables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n"), line: 1},
	{name: "ipv4-read-as-ipv6", desc: "an iptables dump with `--ipv6`", args: []string{"--ipv6"},
		data: catFilter("-A INPUT -s 10.0.0.1 -j ACCEPT", "-A INPUT -s 10.0.0.2 -j ACCEPT"), line: 1},
	{name: "ipv6-under-ipv4-header", desc: "IPv6 addresses under an iptables-save (IPv4) header",
		data: catText("# Generated by iptables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::/32 -j ACCEPT\nCOMMIT\n"), line: 4},
	{name: "dnat-in-filter", desc: "DNAT in the filter table", data: catFilter("-A FORWARD -p tcp -j DNAT --to-destination 10.0.0.1"), line: 5},
	{name: "reject-in-nat", desc: "REJECT in the nat table", data: catText("*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j REJECT\nCOMMIT\n"), line: 3},
	{name: "owner-in-input", desc: "`-m owner` in INPUT", data: catFilter("-A INPUT -m owner --uid-owner 0 -j ACCEPT"), line: 5},
	{name: "insert-index-too-big", desc: "`-I INPUT 5` into an empty chain", data: catFilter("-I INPUT 5 -j ACCEPT"), line: 5},
	{name: "delete-missing-rule", desc: "`-D` of a rule that is not there", data: catFilter("-D INPUT -p tcp -j ACCEPT"), line: 5},
	{name: "delete-rule-0", desc: "`-D INPUT 0`", data: catFilter("-A INPUT -j ACCEPT", "-D INPUT 0"), line: 6},
	{name: "limit-rate-0", desc: "`-m limit --limit 0/sec`", data: catFilter("-A INPUT -m limit --limit 0/sec -j ACCEPT"), line: 5},
	{name: "limit-rate-too-fast", desc: "`-m limit --limit 20000/second`", data: catFilter("-A INPUT -m limit --limit 20000/second -j ACCEPT"), line: 5},
	{name: "150-errors", desc: "150 bad rules: the errors stop at 100 (`parser.MaxErrors`)", data: func() []byte {
		var r []string
		for i := 1; i <= 150; i++ {
			r = append(r, fmt.Sprintf("-A INPUT -s 10.0.%d.0/33 -j ACCEPT", i))
		}
		return catFilter(r...)()
	}, line: 5},
	{name: "missing-file", desc: "a file that does not exist", data: nil, line: 0},
	{name: "directory", desc: "a directory given as FILE", more: map[string]string{"directory.rules/x": ""}, line: 0},
	{name: "policy-syntax-error", desc: "a Rego policy with a syntax error (`--policy pol`)", args: []string{"--policy", "pol"}, global: true,
		more: map[string]string{"pol/policy.rego": "package user.broken\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.files[_].name ==\n\tmsg := \"x\"\n}\n"}},
	{name: "policy-http-send", desc: "a Rego policy calling `http.send`", args: []string{"--policy", "pol"}, global: true,
		more: map[string]string{"pol/policy.rego": "package user.net\n\nimport rego.v1\n\ndeny contains msg if {\n\tresp := http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n\tresp.status_code != 200\n\tmsg := \"down\"\n}\n"}},
	{name: "policy-dns", desc: "a Rego policy calling `net.lookup_ip_addr`", args: []string{"--policy", "pol"}, global: true,
		more: map[string]string{"pol/policy.rego": "package user.dns\n\nimport rego.v1\n\ndeny contains msg if {\n\taddrs := net.lookup_ip_addr(\"example.com\")\n\tcount(addrs) == 0\n\tmsg := \"no address\"\n}\n"}},
	{name: "policy-runs-for-minutes", desc: "a Rego policy that runs for minutes (`--policy-timeout 1s`)", args: []string{"--policy", "pol", "--policy-timeout", "1s"},
		data: catFilter("-A INPUT -j ACCEPT"), more: map[string]string{"pol/policy.rego": catSlowPolicy}, line: 1},
	{name: "config-unknown-key", desc: "a `.dfwlint.yaml` with an unknown key", args: []string{"--config", "bad.yaml"}, global: true,
		more: map[string]string{"bad.yaml": "external_interfaces: [ens33]\nexternal_interface: ens34\n"}},
	{name: "config-not-yaml", desc: "a `.dfwlint.yaml` that is not YAML", args: []string{"--config", "bad.yaml"}, global: true,
		more: map[string]string{"bad.yaml": "disabled: [DFW101\n"}},
	// Hostile but not errors: what they report instead.
	{name: "set-only", desc: "a ruleset of `-m set` rules only (not an error)", data: catText("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m set --match-set foo src -j DROP\nCOMMIT\n"), exit: 0,
		finding: "set-only.rules:6:10: info DFW104 "},
	{name: "unknown-target", desc: "an unknown target with options (not an error)", data: catText("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -j FOOBAR --foo-opt 1 --bar\nCOMMIT\n"), exit: 0,
		finding: "unknown-target.rules:6:17: info DFW901 "},
}

// TestErrorCatalogue runs each case as "dfwlint check [args] NAME.rules
// good.rules", in text and in JSON.
func TestErrorCatalogue(t *testing.T) {
	docPath, err := filepath.Abs(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, c := range catCases {
		rows = append(rows, runCatCase(t, c))
	}
	table := "| case | bad input | what `dfwlint check` prints | exit |\n| --- | --- | --- | --- |\n" + strings.Join(rows, "\n") + "\n"
	doc, err := os.ReadFile(docPath)
	if err != nil && !*updateErrors {
		t.Fatal(err)
	}
	const begin, end = "<!-- catalogue: begin (go test ./cmd/dfwlint -run TestErrorCatalogue -update-errors) -->\n", "<!-- catalogue: end -->\n"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("docs/errors.md: no table between %q and %q", begin, end)
	}
	got := string(doc[i+len(begin) : j])
	if got == table {
		return
	}
	if *updateErrors {
		out := string(doc[:i+len(begin)]) + table + string(doc[j:])
		if err := os.WriteFile(docPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gotRows, wantRows := strings.Split(got, "\n"), strings.Split(table, "\n")
	for k := 0; k < max(len(gotRows), len(wantRows)); k++ {
		var g, w string
		if k < len(gotRows) {
			g = gotRows[k]
		}
		if k < len(wantRows) {
			w = wantRows[k]
		}
		if g != w {
			t.Errorf("docs/errors.md row %d:\n doc: %s\n run: %s", k+1, g, w)
		}
	}
	t.Errorf("docs/errors.md is not what the catalogue prints (go test ./cmd/dfwlint -run TestErrorCatalogue -update-errors rewrites it)")
}

// runCatCase runs one case and returns its row of the doc.
func runCatCase(t *testing.T, c catCase) (row string) {
	bad := c.name + ".rules"
	// good.rules has no address: it reads as IPv4 and as IPv6.
	const good = "good.rules"
	var msgs []string
	t.Run(c.name, func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		write := func(name, data string) {
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("good.rules", catGood)
		if c.data != nil {
			write(bad, string(c.data()))
		}
		for name, data := range c.more {
			write(name, data)
		}
		args := append(append([]string{"check"}, c.args...), bad, good)
		code, stdout, stderr := catRun(t, args)
		wantExit := cli.ExitError
		if c.finding != "" {
			wantExit = cli.ExitFindings // good.rules' warning
		}
		if code != wantExit {
			t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantExit, catHead(stdout), stderr)
		}
		if c.global {
			// Stopped before any file: the message is on stderr, with
			// the policy's or configuration's position.
			if stdout != "" {
				t.Errorf("stdout not empty:\n%s", catHead(stdout))
			}
			msgs = catLines(stderr)
			if len(msgs) == 0 {
				t.Fatalf("nothing on stderr")
			}
			for _, m := range msgs {
				if !regexp.MustCompile(`^(pol/policy\.rego:\d+:\d+: |dfwlint check: bad\.yaml:\d+: )`).MatchString(m) {
					t.Errorf("message without file:line(:col): %s", m)
				}
			}
			return
		}
		if stderr != "" {
			t.Errorf("stderr: %s", stderr)
		}
		// The good file is still checked and its finding reported.
		if !strings.Contains(stdout, "\n"+good+catGoodFinding) && !strings.HasPrefix(stdout, good+catGoodFinding) {
			t.Errorf("the finding of %s is missing:\n%s", good, catHead(stdout))
		}
		if !strings.Contains(stdout, "\n2 files, ") {
			t.Errorf("summary does not count 2 files:\n%s", catHead(stdout))
		}
		if c.finding != "" {
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, c.finding) {
					msgs = append(msgs, l)
					break
				}
			}
			if len(msgs) == 0 {
				t.Errorf("no finding %q:\n%s", c.finding, catHead(stdout))
			}
			// Alone (without good.rules' warning), the exit is the
			// case's.
			if code, out, _ := catRun(t, append(append([]string{"check"}, c.args...), bad)); code != c.exit {
				t.Errorf("%s alone: exit %d, want %d\n%s", bad, code, c.exit, catHead(out))
			}
			return
		}
		var errs []string
		for _, l := range strings.Split(stdout, "\n") {
			if strings.Contains(l, ": error: ") {
				errs = append(errs, l)
			}
		}
		nerr := c.nerr
		if nerr == 0 {
			nerr = len(errs) // checked against the doc
		}
		if c.name == "150-errors" {
			nerr = parser.MaxErrors + 1
		}
		if len(errs) != nerr {
			t.Errorf("%d errors, want %d:\n%s", len(errs), nerr, strings.Join(errs, "\n"))
		}
		// The summary counts the input errors (and error findings).
		if m := regexp.MustCompile(`\n2 files, \d+ rules?: (\d+) errors?, `).FindStringSubmatch(stdout); m == nil {
			t.Errorf("no summary:\n%s", catHead(stdout))
		} else if n, _ := strconv.Atoi(m[1]); n < len(errs) {
			t.Errorf("summary counts %d errors, fewer than the %d input errors:\n%s", n, len(errs), catHead(stdout))
		}
		if len(errs) == 0 {
			t.Fatalf("no error:\n%s", catHead(stdout))
		}
		// The first error names the bad file (or the policy) at the
		// right line, with a column.
		first := errs[0]
		want := fmt.Sprintf("%s:%d:", bad, c.line)
		switch {
		case c.line == 0:
			want = bad + ": "
		case c.more["pol/policy.rego"] != "":
			want = "pol/policy.rego:1:1: "
		}
		if !strings.HasPrefix(first, want) {
			t.Errorf("first error %q does not start with %q", first, want)
		}
		if c.line > 0 && !regexp.MustCompile(`^[^:]+:\d+:\d+: error: `).MatchString(first) {
			t.Errorf("first error %q has no file:line:col", first)
		}
		msgs = errs
		if len(msgs) > 3 {
			msgs = append(msgs[:2:2], "…", msgs[len(msgs)-1])
		}
		// The same run as one JSON document: the errors with their
		// positions, the good file's finding.
		code, js, _ := catRun(t, append(append([]string{"check", "--format", "json"}, c.args...), bad, good))
		if code != wantExit {
			t.Errorf("json: exit %d, want %d", code, wantExit)
		}
		var doc struct {
			Findings []struct {
				File string `json:"file"`
				Line int    `json:"line"`
				ID   string `json:"id"`
			} `json:"findings"`
			Errors []struct {
				File   string `json:"file"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"errors"`
			Summary struct {
				Files  int `json:"files"`
				Errors int `json:"errors"`
			} `json:"summary"`
		}
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			t.Fatalf("json: not one valid document: %v\n%s", err, catHead(js))
		}
		if doc.Summary.Files != 2 || doc.Summary.Errors < len(errs) || len(doc.Errors) != len(errs) {
			t.Errorf("json summary %+v, %d errors; want 2 files, %d errors", doc.Summary, len(doc.Errors), len(errs))
		}
		if len(doc.Errors) > 0 && c.line > 0 && c.more["pol/policy.rego"] == "" && (doc.Errors[0].File != bad || doc.Errors[0].Line != c.line || doc.Errors[0].Column < 1) {
			t.Errorf("json: first error at %s:%d:%d, want %s:%d:col", doc.Errors[0].File, doc.Errors[0].Line, doc.Errors[0].Column, bad, c.line)
		}
		found := false
		for _, f := range doc.Findings {
			found = found || f.File == good && f.Line == 6 && f.ID == "DFW101"
		}
		if !found {
			t.Errorf("json: the finding of %s is missing", good)
		}
	})
	cells := make([]string, len(msgs))
	for i, m := range msgs {
		if m == "…" {
			cells[i] = m
			continue
		}
		cells[i] = catCode(catTrunc(m, 300))
	}
	args := ""
	if len(c.args) > 0 {
		args = " (`" + strings.Join(c.args, " ") + "`)"
		if strings.Contains(c.desc, "`"+strings.Join(c.args, " ")+"`") || strings.Contains(c.desc, "--policy") || strings.Contains(c.desc, "--ipv") {
			args = ""
		}
	}
	exit := cli.ExitError
	if c.finding != "" {
		exit = c.exit
	}
	return fmt.Sprintf("| `%s` | %s%s | %s | %d |", c.name, catEscape(c.desc), args, strings.Join(cells, "<br>"), exit)
}

// catRun runs dfwlint in-process; a panic fails the test with its stack.
func catRun(t *testing.T, args []string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("dfwlint %s panicked: %v\n%s", strings.Join(args, " "), r, debug.Stack())
			}
		}()
		code = cli.Main(args, strings.NewReader(""), &out, &errb)
	}()
	return code, out.String(), errb.String()
}

func catLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func catHead(s string) string { return catTrunc(s, 3000) }

func catTrunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// catCode writes s as inline code in a table cell.
func catCode(s string) string {
	fence := "`"
	if strings.Contains(s, "`") {
		fence = "``"
	}
	return fence + strings.ReplaceAll(s, "|", `\|`) + fence
}

func catEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
