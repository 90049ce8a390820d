package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/lint/cli"
	simcli "github.com/dfw-project/dfw/sim/cli"
)

// robustInputs copies the seed and Docker rulesets into dir and generates
// n fleet hosts beside them; it returns the files, in a fixed order.
func robustInputs(t *testing.T, dir string, n int) []string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, src := range []string{
		"testdata/seed/docker-20.10.save", "testdata/seed/impl1.save", "testdata/seed/impl2.save",
		"testdata/seed/iptables.conf", "testdata/docker/docker-28.save", "testdata/docker/docker-20.10-two-bridges.save",
	} {
		b, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.Base(src))
	}
	if n > 0 {
		hosts, err := gen.FleetWithSeed(filepath.Join(dir, "hosts"), n, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			files = append(files, filepath.Join("hosts", h.Name))
		}
	}
	return files
}

// TestDeterminismFleet checks a fleet (the seed rulesets and generated
// hosts) with -j 1, 2 and 8, twice each, in text and JSON: the outputs are
// byte for byte the same. The analysis budget and the policy timeout are
// raised so that a loaded machine does not cut an analysis short (which is
// reported, and would differ between runs).
func TestDeterminismFleet(t *testing.T) {
	n := 4 // with the 6 seed files, 10 files of 20 to 2,000 rules
	if testing.Short() {
		n = 1
	}
	dir := t.TempDir()
	files := robustInputs(t, dir, n)
	t.Chdir(dir)
	for _, format := range []string{"json", "text"} {
		var first string
		for _, jobs := range []string{"1", "2", "8"} {
			for run := 0; run < 2; run++ {
				if format == "text" && run == 1 {
					continue // text is a rendering of the same report
				}
				args := append([]string{"check", "--format", format, "-j", jobs, "--budget", "5m", "--policy-timeout", "5m"}, files...)
				code, out, errOut := catRun(t, args)
				if code == cli.ExitError && errOut != "" {
					t.Fatalf("-j %s: exit %d: %s", jobs, code, errOut)
				}
				if format == "json" && !json.Valid([]byte(out)) {
					t.Fatalf("-j %s: not one JSON document", jobs)
				}
				if first == "" {
					first = out
					if format == "json" && !strings.Contains(out, `"files": `+strconv.Itoa(len(files))) {
						t.Errorf("json summary does not count %d files", len(files))
					}
					continue
				}
				if out != first {
					t.Errorf("%s output at -j %s (run %d) differs from -j 1's:\n%s", format, jobs, run+1, firstDiff(first, out))
				}
			}
		}
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  " + al[i] + "\n  " + bl[i]
		}
	}
	return "one output is a prefix of the other"
}

// TestDeterminismSim: dfwsim's JSON answer for the same packets and
// ruleset is the same on every run.
func TestDeterminismSim(t *testing.T) {
	dir := t.TempDir()
	robustInputs(t, dir, 0)
	t.Chdir(dir)
	args := []string{"--format", "json", "--pkt", "tcp:ens33:8080", "--pkt", "reply", "docker-20.10.save", "iptables.conf"}
	var first string
	for run := 0; run < 3; run++ {
		var out, errb bytes.Buffer
		if code := simcli.Main(args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("dfwsim: exit %d: %s", code, errb.String())
		}
		if run == 0 {
			first = out.String()
			continue
		}
		if out.String() != first {
			t.Errorf("run %d differs:\n%s", run+1, firstDiff(first, out.String()))
		}
	}
}

// fileState is what must not change of an input: its bytes and mtime.
type fileState struct {
	data  string
	mtime time.Time
	mode  fs.FileMode
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{mtime: info.ModTime(), mode: info.Mode()}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.data = string(b)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadOnly runs every dfwlint and dfwsim command on copies of the
// inputs, in the inputs' directory, and checks that no input changed
// (bytes, mtime, mode) and that no file appeared or went away: the
// commands write only to standard output.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	robustInputs(t, dir, 2)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	pcap, err := os.ReadFile(filepath.Join(root, "sim", "capture", "testdata", "gen-eth.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "capture.pcap"), pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pol"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pol", "p.rego"), []byte("package user.p\n\nimport rego.v1\n\nwarn contains \"x\" if false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dfwlint.yaml"), []byte("external_interfaces: [ens33]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Let mtimes tick: a write after the snapshot would show.
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	t.Chdir(dir)
	before := snapshot(t, ".")
	base := []string{"--base", "docker-20.10.save"}
	lint := [][]string{
		{"check", "iptables.conf", "impl1.save", "hosts/host-0001.save"},
		append(append([]string{"check", "--format", "json", "--policy", "pol", "--config", ".dfwlint.yaml"}, base...), "iptables.conf"),
		{"check", "--format", "sarif", "impl2.save"},
		{"check", "--format", "github", "impl2.save"},
		{"check", "-"},
		{"parse", "iptables.conf", "docker-28.save"},
		{"parse", "--format", "json", "impl1.save"},
		{"parse", "--format", "save", "docker-20.10.save"},
		{"graph", "docker-20.10.save"},
		append(append([]string{"input"}, base...), "iptables.conf"),
		{"policies"},
		{"policies", "--format", "json"},
		{"exposure", "docker-20.10.save"},
		append(append([]string{"diff"}, base...), "impl1.save", "iptables.conf"),
		{"--help"},
		{"--version"},
	}
	for _, args := range lint {
		var out, errb bytes.Buffer
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("dfwlint %s panicked: %v", strings.Join(args, " "), r)
				}
			}()
			if code := cli.Main(args, strings.NewReader("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), &out, &errb); code == cli.ExitError {
				t.Errorf("dfwlint %s: exit 2: %.300s", strings.Join(args, " "), errb.String())
			}
		}()
		if out.Len() == 0 && errb.Len() == 0 {
			t.Errorf("dfwlint %s printed nothing", strings.Join(args, " "))
		}
	}
	sim := [][]string{
		{"--pkt", "tcp:ens33:8080", "docker-20.10.save", "iptables.conf"},
		{"--format", "json", "--pkt", "proto=udp,in=ens33,dport=53", "--pkt", "reply", "docker-20.10.save"},
		{"--graph", "--pkt", "tcp:ens33:80", "docker-20.10.save"},
		{"--explain", "--pkt", "tcp:ens33:22", "impl1.save"},
		{"--pcap", "capture.pcap", "--in", "eth0", "docker-20.10.save"},
		{"--help"},
	}
	for _, args := range sim {
		var out, errb bytes.Buffer
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("dfwsim %s panicked: %v", strings.Join(args, " "), r)
				}
			}()
			if code := simcli.Main(args, strings.NewReader(""), &out, &errb); code != 0 {
				t.Errorf("dfwsim %s: exit %d: %.300s", strings.Join(args, " "), code, errb.String())
			}
		}()
		if out.Len() == 0 && errb.Len() == 0 {
			t.Errorf("dfwsim %s printed nothing", strings.Join(args, " "))
		}
	}
	after := snapshot(t, ".")
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			t.Errorf("%s went away", name)
		case a.data != b.data:
			t.Errorf("%s changed", name)
		case !a.mtime.Equal(b.mtime) || a.mode != b.mode:
			t.Errorf("%s: mtime or mode changed (%v %v → %v %v)", name, b.mtime, b.mode, a.mtime, a.mode)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("a command wrote %s", name)
		}
	}
}
