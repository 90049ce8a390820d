package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// requireTools skips the test when a program it runs is missing, unless CI
// or DFW_REQUIRE_KERNEL ask for every test to run.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			msg := n + " not found on PATH (apt-get install " + n + ")"
			if os.Getenv("CI") == "true" || os.Getenv("DFW_REQUIRE_KERNEL") == "1" {
				t.Fatal(msg + "; CI=true or DFW_REQUIRE_KERNEL=1 require this test")
			}
			t.Skip(msg)
		}
	}
}

// hookFiles returns the default `files` pattern of the dfwlint hook.
func hookFiles(t *testing.T, root string) *regexp.Regexp {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "files:"); ok {
			return regexp.MustCompile(strings.TrimSpace(v))
		}
	}
	t.Fatal(".pre-commit-hooks.yaml: no files: pattern")
	return nil
}

// The default pattern matches the names people give rules files, and not
// their neighbours (Python's re and Go's regexp agree on this pattern).
func TestPreCommitFilesPattern(t *testing.T) {
	re := hookFiles(t, filepath.Join("..", ".."))
	for _, name := range []string{"iptables.save", "hosts/web1.save", "iptables.conf", "etc/iptables.conf",
		"iptables.rules", "ip6tables.rules", "ip6tables.conf", "etc/iptables/rules.v4", "rules.v6", "fw.ipt", "a/b/edge.ipt"} {
		if !re.MatchString(name) {
			t.Errorf("default files pattern does not match %s", name)
		}
	}
	for _, name := range []string{"README.md", "iptables.conf.md", "rules.v4.bak", "main.go", "myiptables.conf",
		"docs/rules.v4.txt", "saved/notes.txt", "rules.v5"} {
		if re.MatchString(name) {
			t.Errorf("default files pattern matches %s", name)
		}
	}
}

const goodRules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`

// An input error: iptables-restore refuses a jump to a built-in chain.
const brokenRules = `*filter
:INPUT DROP [0:0]
:SSH - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A SSH -s 10.0.0.0/8 -j ACCEPT
-A SSH -j INPUT
COMMIT
`

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPreCommitTryRepo runs the real pre-commit on the hook of this
// repository as committed (HEAD): it builds cmd/dfwlint with language
// golang, then checks a scratch repository's rules files. The seed post's
// iptables.conf (unreachable rules, DFW101) and a file iptables-restore
// refuses fail with dfwlint's findings; a clean rules.v4 passes; nothing in
// the scratch repository changes. Commit .pre-commit-hooks.yaml before
// running it locally: uncommitted changes are not tried.
func TestPreCommitTryRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds dfwlint with pre-commit")
	}
	requireTools(t, "git", "pre-commit", "go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	head, err := run(t, root, env, "git", "rev-parse", "HEAD")
	if err != nil {
		msg := root + " is not a git checkout (pre-commit try-repo needs one): " + err.Error() + "\n" + head
		if os.Getenv("CI") == "true" || os.Getenv("DFW_REQUIRE_KERNEL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	head = strings.TrimSpace(head)
	if out, err := run(t, root, env, "git", "cat-file", "-e", head+":.pre-commit-hooks.yaml"); err != nil {
		t.Fatalf(".pre-commit-hooks.yaml is not committed at HEAD (try-repo tries the committed hook): %v\n%s", err, out)
	}
	// pre-commit's golang language sets GOPATH to its own environment,
	// which would move the module cache there (and download every module
	// again): pin GOMODCACHE, and GOCACHE and GOENV likewise, to this go's.
	env = append(env, "PRE_COMMIT_HOME="+t.TempDir(),
		"GIT_AUTHOR_NAME=dfw test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=dfw test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_CONFIG_GLOBAL="+filepath.Join(t.TempDir(), "gitconfig"), "GIT_CONFIG_NOSYSTEM=1")
	for _, v := range []string{"GOMODCACHE", "GOCACHE", "GOENV"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}

	seed, err := os.ReadFile(filepath.Join(root, "testdata", "seed", "iptables.conf"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	files := map[string]string{
		"iptables.conf":   string(seed),
		"hosts/web1.save": brokenRules,
		"rules.v4":        goodRules,
		"notes.txt":       "not a ruleset\n",
	}
	for name, text := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "rules"}} {
		if out, err := run(t, work, env, "git", args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	tryRepo := func(files ...string) (string, error, time.Duration) {
		t.Helper()
		args := append([]string{"try-repo", root, "dfwlint", "--ref", head, "--color", "never", "--verbose", "--files"}, files...)
		start := time.Now()
		out, err := run(t, work, env, "pre-commit", args...)
		d := time.Since(start)
		t.Logf("pre-commit %s: %v (%s)\n%s", strings.Join(args, " "), err, d.Round(time.Millisecond), out)
		return out, err, d
	}

	// try-repo installs the hook in a store of its own each time (it
	// ignores PRE_COMMIT_HOME), so the test runs it twice only.
	out, err, d := tryRepo("rules.v4", "notes.txt")
	t.Logf("first run, building dfwlint in pre-commit's environment: %s", d.Round(time.Millisecond))
	if err != nil {
		t.Errorf("clean rules.v4: pre-commit failed: %v", err)
	}
	// notes.txt is left out by the files pattern: dfwlint sees one file.
	for _, want := range []string{"dfwlint.....", "Passed", "1 file, 3 rules: 0 errors, 0 warnings"} {
		if !strings.Contains(out, want) {
			t.Errorf("clean rules.v4: output lacks %q", want)
		}
	}

	out, err, _ = tryRepo("iptables.conf", "hosts/web1.save", "rules.v4")
	if err == nil {
		t.Errorf("seed iptables.conf, broken hosts/web1.save: pre-commit passed")
	}
	for _, want := range []string{"Failed",
		"iptables.conf:27:1: warning DFW101", "iptables.conf:38:1: warning DFW101",
		"hosts/web1.save:6:8: error: -j INPUT: cannot jump to a built-in chain"} {
		if !strings.Contains(out, want) {
			t.Errorf("seed iptables.conf, broken hosts/web1.save: output lacks %q", want)
		}
	}

	if out, err := run(t, work, env, "git", "status", "--porcelain"); err != nil || out != "" {
		t.Errorf("scratch repository changed: %v\n%s", err, out)
	}
	for name, text := range files {
		b, err := os.ReadFile(filepath.Join(work, name))
		if err != nil || !bytes.Equal(b, []byte(text)) {
			t.Errorf("%s changed: %v", name, err)
		}
	}
}
