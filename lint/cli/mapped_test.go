package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/mapfile"
)

// bigRuleset returns a filter table of n rules, at least mapfile.Min
// bytes for n >= 5000.
func bigRuleset(n int) []byte {
	var b bytes.Buffer
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:SVC - [0:0]\n")
	for i := range n {
		fmt.Fprintf(&b, "-A SVC -s 10.%d.%d.0/24 -p tcp -m tcp --dport %d -m comment --comment \"service %d\" -j ACCEPT\n", i/256%256, i%256, 1+i%65535, i)
	}
	b.WriteString("-A INPUT -j SVC\nCOMMIT\n")
	return b.Bytes()
}

// dfwlint parse maps a large FILE; the output is that of reading it.
func TestParseMapped(t *testing.T) {
	data := bigRuleset(20000)
	if len(data) < mapfile.Min {
		t.Fatalf("test ruleset of %d bytes is below mapfile.Min", len(data))
	}
	name := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json", "save"} {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"parse", "--format", format, name}, nil, &stdout, &stderr)
		var wantOut, wantErr bytes.Buffer
		wantCode := Main([]string{"parse", "--format", format, "-"}, bytes.NewReader(data), &wantOut, &wantErr)
		got := strings.ReplaceAll(stdout.String(), name, StdinName)
		if code != wantCode || got != wantOut.String() || stderr.String() != strings.ReplaceAll(wantErr.String(), StdinName, name) {
			t.Errorf("--format %s: mapped file gave exit %d, %d bytes of output and stderr %q; read from stdin: exit %d, %d bytes, %q",
				format, code, len(got), stderr.String(), wantCode, wantOut.Len(), wantErr.String())
		}
	}
}

// A FILE that shrinks while dfwlint parse reads it (here: right after it
// is mapped) is an error naming it, with exit status 2, not a crash.
func TestParseShrunkFile(t *testing.T) {
	data := bigRuleset(20000)
	for _, keep := range []int{0, len(data) / 2, len(data) - 4096} {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "rules")
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
			testHookRead = func(f string) {
				if err := os.Truncate(f, int64(keep)); err != nil {
					t.Error(err)
				}
			}
			defer func() { testHookRead = nil }()
			var stdout, stderr bytes.Buffer
			code := Main([]string{"parse", name}, nil, &stdout, &stderr)
			want := "dfwlint parse: " + name + ": the file shrank while it was read"
			if code != ExitError || !strings.Contains(stderr.String(), want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), ExitError, want)
			}
		})
	}
}
