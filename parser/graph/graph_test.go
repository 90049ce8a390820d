package graph_test

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/parser/graph"
	"github.com/dfw-project/dfw/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// seed loads the seed post's iptables.conf on top of Docker 20.10's rules.
func seed(t *testing.T) *parser.Loaded {
	t.Helper()
	var srcs []parser.Source
	for _, f := range []string{"docker-20.10.save", "iptables.conf"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", f))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: "testdata/seed/" + f, Data: data})
	}
	l := parser.Load(srcs, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return l
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./parser/graph -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./parser/graph -update rewrites it):\n%s", path, got)
	}
}

func write(t *testing.T, rs *parser.Ruleset, opts graph.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := graph.Write(&b, rs, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seedPath is the seed with the path of a SYN to the published port 8080
// highlighted: nat PREROUTING → DOCKER (DNAT), filter FORWARD →
// DOCKER-USER → FILTERS, dropped by FILTERS#7.
func seedPath(t *testing.T) []byte {
	l := seed(t)
	host := sim.InferHost(l.Ruleset, map[string][]netip.Prefix{"ens33": nil})
	s := sim.New(l.Ruleset, host)
	sp, err := sim.ParseSpec("tcp:ens33:8080")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := sp.Resolve(host, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := s.Run(p)
	if res.Verdict != "DROP" {
		t.Fatalf("seed tcp:ens33:8080: verdict %s, want DROP", res.Verdict)
	}
	var steps []graph.Step
	for _, st := range res.Trace {
		steps = append(steps, graph.Step{Table: st.Table, Chain: st.Chain, Rule: st.Rule, Target: st.Target, Policy: st.Policy})
	}
	return write(t, l.Ruleset, graph.Options{Title: "tcp:ens33:8080", Highlight: steps})
}

func TestSeedGolden(t *testing.T) {
	l := seed(t)
	golden(t, "seed.dot", write(t, l.Ruleset, graph.Options{Title: "seed"}))
	golden(t, "seed-filter.dot", write(t, l.Ruleset, graph.Options{Tables: []string{"filter"}}))
	golden(t, "seed-path.dot", seedPath(t))
}

func TestSeedPath(t *testing.T) {
	got := string(seedPath(t))
	for _, want := range []string{
		`"nat/PREROUTING" -> "nat/DOCKER" [label="#1", color="#d62728"`,
		`"filter/FORWARD" -> "filter/DOCKER-USER" [label="#1", color="#d62728"`,
		`"filter/DOCKER-USER" -> "filter/FILTERS" [label="#1", color="#d62728"`,
		`packet: #7 DROP`,
		`packet: #2 DNAT`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("highlighted seed graph lacks %q", want)
		}
	}
	// Jumps the packet did not take are not highlighted.
	for _, not := range []string{
		`"filter/FORWARD" -> "filter/DOCKER" [label="#4", color`,
		`"filter/INPUT" -> "filter/FILTERS" [label="#2", color`,
	} {
		if strings.Contains(got, not) {
			t.Errorf("highlighted seed graph has %q", not)
		}
	}
}

func TestShapes(t *testing.T) {
	const rules = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A\B{C} - [0:0]
:SUB - [0:0]
:ORPHAN - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -p tcp -j SUB
-A INPUT -p udp -g A\B{C}
-A FORWARD -j DOCKER-USER
-A SUB -j RETURN
-A ORPHAN -j SUB
COMMIT
`
	l := parser.Load([]parser.Source{{Name: "shapes.rules", Data: []byte(rules)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	// A chain that nothing enters gets its own mark; SUB is entered.
	got := string(write(t, l.Ruleset, graph.Options{Highlight: []graph.Step{
		{Table: "filter", Chain: "INPUT", Rule: 1, Target: "SUB"},
	}}))
	for _, want := range []string{
		// Quotes and backslashes in names are escaped.
		`"filter/A\\B{C}" [label="A\\B{C}\n0 rules"];`,
		// A goto is dashed and says so; a jump is solid.
		`"filter/INPUT" -> "filter/A\\B{C}" [label="#2 goto", style=dashed];`,
		`"filter/INPUT" -> "filter/SUB" [label="#1", color=`,
		// Built-in chains are entries with their hook and policy.
		`"filter/INPUT" [label="INPUT\nhook INPUT, policy DROP\n2 rules\npacket: #1 SUB", peripheries=2,`,
		// A chain no hook reaches.
		`"filter/ORPHAN" [label="ORPHAN\n1 rule\nno hook reaches it", style="rounded,dotted"`,
		// Entered by a jump of the trace, no rule of it matched.
		`"filter/SUB" [label="SUB\n1 rule\npacket: no rule matched"`,
		// Docker's chains in their own cluster.
		"subgraph \"cluster_filter_docker\" {\n\t\t\tlabel=\"created by Docker\"; style=\"rounded,filled\"; fillcolor=\"#eef6ee\"; color=\"#8fbc8f\";\n\t\t\t\"filter/DOCKER-USER\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("graph lacks %q:\n%s", want, got)
		}
	}
	renderSVG(t, []byte(got))
}

// dot returns the path of Graphviz's dot, or skips the test (fails it
// with CI=true or DFW_REQUIRE_KERNEL=1, which ask for every test to run).
func dot(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("DFW_REQUIRE_KERNEL") == "1" {
			t.Fatalf("Graphviz's dot is not installed (apt-get install graphviz); CI=true or DFW_REQUIRE_KERNEL=1 require it")
		}
		t.Skip("Graphviz's dot is not installed: install Debian's graphviz package to run the render test")
	}
	return p
}

func renderSVG(t *testing.T, src []byte) []byte {
	t.Helper()
	cmd := exec.Command(dot(t), "-Tsvg")
	cmd.Stdin = bytes.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(out, []byte("<svg")) {
		t.Fatalf("dot -Tsvg wrote no SVG:\n%s", out)
	}
	return out
}

// TestRender renders the golden graphs (dfwlint graph's and dfwsim
// --graph's) with dot -Tsvg: Graphviz must accept them without a warning,
// and every chain must be in the picture.
func TestRender(t *testing.T) {
	for _, name := range []string{"seed.dot", "seed-filter.dot", "seed-path.dot"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			svg := string(renderSVG(t, src))
			for _, id := range []string{"filter/FORWARD", "filter/FILTERS", "filter/DOCKER&#45;USER"} {
				if !strings.Contains(svg, "<title>"+id+"</title>") {
					t.Errorf("SVG of %s lacks the node %s", name, id)
				}
			}
		})
	}
}
