package lint

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzConfig feeds .dfwlint.yaml text to the config parser: errors, never
// panics.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"external_interfaces: [ens33, eth1]\n",
		"allowed_exposed:\n  - proto: tcp\n    ports: [443, \"8000-8100\"]\n    sources: [198.51.100.0/24]\n    interface: ens33\n",
		"disabled: [DFW303]\nseverity:\n  DFW304: warning\n",
		"unknown: 1\n", "allowed_exposed: 3\n", ": : :\n", "- - -\n", "ports: [99999]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(".dfwlint.yaml", data)
		if err == nil && c == nil {
			t.Fatal("no config and no error")
		}
	})
}

// FuzzPolicy compiles a fuzzed user policy beside the built-in checks: a
// bad policy must be an error (with its file position), never a panic or a
// hang.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		"package user\n\ndeny contains msg if {\n\tsome r in input.rules\n\tr.target.name == \"ACCEPT\"\n\tmsg := \"accept\"\n}\n",
		"package user\n\nwarn contains msg if { msg := \"x\" }\n",
		"package user\n\nimport rego.v1\n\ndeny contains x if { x := http.send({\"url\": \"http://127.0.0.1/\", \"method\": \"get\"}) }\n",
		"package user\n\ndeny contains \"x\" if { input.nope[_] }\n",
		"package\n", "package user\n\ndeny[",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, policy string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "user.rego"), []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ctx
		l, err := New(Options{PolicyDirs: []string{dir}, Timeout: 2 * time.Second, NoBuiltin: true})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if l == nil {
			t.Fatal("no linter and no error")
		}
	})
}
