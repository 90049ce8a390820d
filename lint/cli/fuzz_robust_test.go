package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCheck runs "dfwlint check --format json FUZZ.rules good.rules" in
// process on a fuzzed file: no panic; exit 0, 1 or 2; one valid JSON
// document; exit 2 exactly when there are input errors, each with the
// fuzzed file's name and a line; and good.rules is still checked, its
// finding reported. Seeds: the repository's rulesets and the catalogue's
// bad inputs (docs/errors.md).
func FuzzCheck(f *testing.F) {
	for _, pat := range []string{"../../testdata/seed/*.save", "../../testdata/seed/iptables.conf", "../../testdata/docker/docker-2*.save"} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 32<<10 {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", "-A INPUT -j ACCEPT\n*filter\nCOMMIT\n",
		"*foo\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n",
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80:70 -j ACCEPT\nCOMMIT\n",
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"oops -j ACCEPT\nCOMMIT\n",
		"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp\x00 --dport 80 -j ACCEPT\nCOMMIT\n",
		"*filter\r\n:INPUT ACCEPT [0:0]\r\nCOMMIT\r\n", "\xef\xbb\xbf*filter\nCOMMIT\n",
		"*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n",
		"-P INPUT DROP\n-A INPUT -s ! 10.0.0.1 -j ACCEPT\n",
	} {
		f.Add([]byte(s))
	}
	const good = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		bad, goodFile := filepath.Join(dir, "fuzz.rules"), filepath.Join(dir, "good.rules")
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goodFile, []byte(good), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := Main([]string{"check", "--format", "json", "-j", "2", "--budget", "20s", "--policy-timeout", "20s", bad, goodFile}, strings.NewReader(""), &out, &errb)
		if code < 0 || code > 2 {
			t.Fatalf("exit %d", code)
		}
		if errb.Len() > 0 {
			t.Fatalf("stderr: %s", errb.String())
		}
		var doc struct {
			Findings []struct {
				File string `json:"file"`
				Line int    `json:"line"`
				ID   string `json:"id"`
			} `json:"findings"`
			Errors []struct {
				File    string `json:"file"`
				Line    int    `json:"line"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("not one JSON document: %v\n%.2000s", err, out.String())
		}
		if (code == ExitError) != (len(doc.Errors) > 0) {
			t.Fatalf("exit %d with %d errors: %+v", code, len(doc.Errors), doc.Errors)
		}
		for _, e := range doc.Errors {
			if e.File != bad || e.Line < 1 || e.Message == "" {
				t.Fatalf("error without the fuzzed file's position: %+v", e)
			}
		}
		found := false
		for _, x := range doc.Findings {
			found = found || x.File == goodFile && x.Line == 5 && x.ID == "DFW101"
		}
		if !found {
			t.Fatalf("good.rules' finding is missing:\n%.2000s", out.String())
		}
	})
}
