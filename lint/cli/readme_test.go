package cli

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint"
	simcli "github.com/dfw-project/dfw/sim/cli"
)

// The README's pictures: every line
//
//	$ go run ./cmd/dfwlint graph ARGS > docs/NAME.dot
//	$ go run ./cmd/dfwsim --graph ARGS > docs/NAME.dot
//
// is run, and its output must be the committed docs/NAME.dot; the README
// must render it with "$ dot -Tsvg docs/NAME.dot > docs/NAME.svg" and show
// docs/NAME.svg; and the committed SVG must be that DOT drawn by Graphviz
// (same nodes, edges and text, compared when dot is installed).
var pictureCmd = regexp.MustCompile(`(?m)^\$ go run \./cmd/(dfwlint|dfwsim) (.+) > (docs/[\w.-]+)\.dot$`)

func readme(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestReadmePictures(t *testing.T) {
	t.Chdir("../..")
	text := readme(t)
	ms := pictureCmd.FindAllStringSubmatch(text, -1)
	if len(ms) == 0 {
		t.Fatal("README.md shows no picture command ($ go run ./cmd/dfwlint graph … > docs/….dot)")
	}
	for _, m := range ms {
		tool, args, base := m[1], strings.Fields(m[2]), m[3]
		t.Run(base, func(t *testing.T) {
			var out, errb bytes.Buffer
			var code int
			if tool == "dfwlint" {
				code = Main(args, nil, &out, &errb)
			} else {
				code = simcli.Main(args, nil, &out, &errb)
			}
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", tool, m[2], code, errb.String())
			}
			want, err := os.ReadFile(base + ".dot")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s.dot is not what the README's command beside it writes: run, from the repository root,\n%s\n%s", base, strings.TrimPrefix(m[0], "$ "), "dot -Tsvg "+base+".dot > "+base+".svg")
			}
			for _, line := range []string{"$ dot -Tsvg " + base + ".dot > " + base + ".svg", "](" + base + ".svg)"} {
				if !strings.Contains(text, line) {
					t.Errorf("README.md lacks %q beside the command that writes %s.dot", line, base)
				}
			}
			svg, err := os.ReadFile(base + ".svg")
			if err != nil {
				t.Fatal(err)
			}
			dot, err := exec.LookPath("dot")
			if err != nil {
				if os.Getenv("CI") == "true" || os.Getenv("DFW_REQUIRE_KERNEL") == "1" {
					t.Fatal("Graphviz's dot is not installed (apt-get install graphviz); CI=true or DFW_REQUIRE_KERNEL=1 require it")
				}
				t.Skipf("Graphviz's dot is not installed: %s.svg not compared with a fresh rendering (install Debian's graphviz)", base)
			}
			cmd := exec.Command(dot, "-Tsvg", base+".dot")
			fresh, err := cmd.Output()
			if err != nil {
				t.Fatalf("dot -Tsvg %s.dot: %v", base, err)
			}
			got, exp := svgText(svg), svgText(fresh)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("%s.svg is not %s.dot drawn by Graphviz: run dot -Tsvg %s.dot > %s.svg\ncommitted: %q\nrendered:  %q", base, base, base, base, got, exp)
			}
		})
	}
}

var svgElem = regexp.MustCompile(`<(title|text)[^>]*>([^<]*)</(?:title|text)>`)

// svgText is what an SVG written by Graphviz says, independent of the
// layout (coordinates differ between Graphviz versions): its titles (nodes
// and edges) and texts (labels), sorted.
func svgText(svg []byte) []string {
	var out []string
	for _, m := range svgElem.FindAllSubmatch(svg, -1) {
		out = append(out, string(m[1])+": "+string(m[2]))
	}
	sort.Strings(out)
	return out
}

// TestReadmeChecksTable: the README's table of checks, between
// <!-- checks:start --> and <!-- checks:end -->, is dfwlint policies
// --format markdown (the built-in checks' metadata). -update rewrites it.
func TestReadmeChecksTable(t *testing.T) {
	t.Chdir("../..")
	const start, end = "<!-- checks:start -->\n", "<!-- checks:end -->"
	text := readme(t)
	i, j := strings.Index(text, start), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q and %q around the table of checks", strings.TrimSpace(start), end)
	}
	want := ChecksTable(lint.Policies())
	got := text[i+len(start) : j]
	if got == want {
		return
	}
	if *update {
		text = text[:i+len(start)] + want + text[j:]
		if err := os.WriteFile("README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's table of checks is stale: go test ./lint/cli -run TestReadmeChecksTable -update rewrites it from the policies' metadata; want:\n%s", want)
}

// TestReadmeCommands runs the commands the README shows with their output
// — a line "$ go run ./cmd/dfwlint ARGS" (or dfwsim, or "$ cat FILE") in
// a fenced block, its output the lines up to the next "$ " or the fence —
// from the repository root, and compares. Commands with a pipe, a
// redirection, quotes or a ";" are left to the other tests. -update
// rewrites the outputs.
func TestReadmeCommands(t *testing.T) {
	t.Chdir("../..")
	text := readme(t)
	lines := strings.SplitAfter(text, "\n")
	var out strings.Builder
	inFence, ran := false, 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		out.WriteString(l)
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if !inFence || !strings.HasPrefix(l, "$ ") {
			continue
		}
		cmd := strings.TrimSpace(l[2:])
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], "$ ") && !strings.HasPrefix(lines[j], "```") {
			j++
		}
		shown := strings.Join(lines[i+1:j], "")
		got, ok := runReadmeCommand(t, cmd)
		if !ok {
			out.WriteString(shown)
			i = j - 1
			continue
		}
		ran++
		if got != shown && !*update {
			t.Errorf("README.md: %s prints\n%s\nnot what the README shows (go test ./lint/cli -run TestReadmeCommands -update rewrites it)", cmd, got)
		}
		out.WriteString(got)
		i = j - 1
	}
	if ran < 5 {
		t.Errorf("README.md: %d commands checked, want at least 5", ran)
	}
	if *update && out.String() != text {
		if err := os.WriteFile("README.md", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runReadmeCommand runs one README command in-process; ok is false for a
// command this test does not run.
func runReadmeCommand(t *testing.T, cmd string) (string, bool) {
	if strings.ContainsAny(cmd, "|>;'\"`$") {
		return "", false
	}
	args := strings.Fields(cmd)
	var tool string
	switch {
	case len(args) == 2 && args[0] == "cat":
		data, err := os.ReadFile(args[1])
		if err != nil {
			t.Fatal(err)
		}
		return string(data), true
	case len(args) >= 3 && args[0] == "go" && args[1] == "run" && strings.HasPrefix(args[2], "./cmd/"):
		tool, args = strings.TrimPrefix(args[2], "./cmd/"), args[3:]
	case args[0] == "dfwlint" || args[0] == "dfwsim":
		tool, args = args[0], args[1:]
	default:
		return "", false
	}
	var stdout, stderr bytes.Buffer
	switch tool {
	case "dfwlint":
		Main(args, strings.NewReader(""), &stdout, &stderr)
	case "dfwsim":
		simcli.Main(args, strings.NewReader(""), &stdout, &stderr)
	default:
		return "", false
	}
	return stdout.String() + stderr.String(), true
}
