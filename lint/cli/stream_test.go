package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint"
)

// streamFleet writes a fleet of small rulesets into the current directory
// and returns the FILE arguments, in an order that is not their names'
// order: clean hosts, hosts with findings, hosts with input errors, Docker's
// rules (witnesses, a Docker layout), a name given twice, a file that does
// not exist (given first: its report carries no checks' metadata) and
// standard input.
func streamFleet(t *testing.T, docker []byte, n int) []string {
	t.Helper()
	rulesets := []string{
		"*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp --dport %d -j ACCEPT\nCOMMIT\n",
		"*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -j ACCEPT\n-A INPUT -p tcp --dport %d -j DROP\n-A INPUT -m nosuchmod --foo 1 -j ACCEPT\nCOMMIT\n",
		"*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\n-A FORWARD -p tcp --dport %d -j DNAT --to-destination 10.0.0.2\nCOMMIT\n",
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("host-%03d.rules", i)
		data := fmt.Sprintf(rulesets[i%len(rulesets)], 1000+i)
		if i%10 == 4 {
			data = string(docker)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	files := []string{"zz-missing.rules"}
	for i := range n {
		files = append(files, names[(i*7)%n]) // n is prime to 7
	}
	return append(files, names[3], "-")
}

// TestCheckStreamFleet: dfwlint check over many files writes the same
// bytes at -j 1 and -j 4 in every format; JSON is one document, the one
// the reports of the files, each checked alone, merge into (as check
// wrote it before it streamed the reports).
func TestCheckStreamFleet(t *testing.T) {
	docker, err := os.ReadFile("../../testdata/seed/docker-20.10.save")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	files := streamFleet(t, docker, 41)
	stdin := "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		args = append([]string{"check", "--budget", "5m", "--policy-timeout", "5m"}, args...)
		code := Main(args, strings.NewReader(stdin), &out, &errb)
		if errb.Len() > 0 {
			t.Fatalf("dfwlint %s: stderr: %s", strings.Join(args, " "), errb.String())
		}
		return code, out.String()
	}
	outputs := map[string]string{}
	for _, format := range []string{"json", "text", "sarif", "github"} {
		code1, out1 := run(append([]string{"--format", format, "-j", "1"}, files...)...)
		code4, out4 := run(append([]string{"--format", format, "-j", "4"}, files...)...)
		if code1 != ExitError || code4 != ExitError {
			t.Errorf("%s: exit %d at -j 1, %d at -j 4; want %d (input errors)", format, code1, code4, ExitError)
		}
		if out1 != out4 {
			t.Errorf("%s output at -j 4 differs from -j 1's:\n%s", format, firstLineDiff(out1, out4))
		}
		outputs[format] = out1
	}
	if !strings.Contains(outputs["text"], "host-004.rules: Docker layout: ") || !strings.Contains(outputs["text"], "\twitness: ") {
		t.Errorf("text: no Docker layout line or no witness:\n%.2000s", outputs["text"])
	}

	// JSON: one document, as the reports of the files merge into.
	out := outputs["json"]
	if !json.Valid([]byte(out)) {
		t.Fatalf("JSON of %d files is not one valid document", len(files))
	}
	var reps []*lint.Report
	for _, f := range files {
		_, o := run("--format", "json", f)
		rep := lint.NewReport()
		if err := json.Unmarshal([]byte(o), rep); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		reps = append(reps, rep)
	}
	want := reps[0]
	want.Merge(reps[1:]...)
	seen := map[lint.Position]bool{}
	kept := want.Errors[:0]
	for _, e := range want.Errors {
		if !seen[e] {
			seen[e] = true
			kept = append(kept, e)
		}
	}
	want.Summary.Errors -= len(want.Errors) - len(kept)
	want.Errors = kept
	var wantJSON bytes.Buffer
	if err := want.WriteJSON(&wantJSON); err != nil {
		t.Fatal(err)
	}
	if out != wantJSON.String() {
		t.Errorf("JSON differs from the merged reports of the files checked one by one:\n%s", firstLineDiff(wantJSON.String(), out))
	}
	if want.Summary.Files != len(files) || want.Summary.Errors == 0 || want.Summary.Warnings == 0 || len(want.Findings) < len(files) {
		t.Errorf("a fleet without the expected errors and findings: %+v, %d findings", want.Summary, len(want.Findings))
	}
}

// firstLineDiff shows the first line where a and b differ.
func firstLineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, %d lines", len(al), len(bl))
}
