package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
)

// TestLoadStreamingSame checks that Load, which applies each command as
// soon as it is read, gives what parsing each file whole and then applying
// it gives: the same diagnostics, the same ruleset (chains, positions,
// rules with their positions, lines and resolved jumps) and the same kept
// commands. Inputs: the corpus, the repository's rulesets, the fuzz seeds
// and crashers, generated kube-proxy rulesets (one large enough to be parsed
// by the pipe's workers), each alone and on top of a Docker
// ruleset, and cases that make the streaming path give up (a listing) or
// stop reading (too many errors).
func TestLoadStreamingSame(t *testing.T) {
	inputs := loadInputs(t)
	base, err := os.ReadFile("../testdata/seed/docker-20.10.save")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range inputs {
		for _, srcs := range [][]Source{
			{{Name: name, Data: data}},
			{{Name: "live.save", Data: base}, {Name: name, Data: data}},
		} {
			want := loadFiles(srcs, Options{}, false)
			got := loadFiles(srcs, Options{}, true)
			if got == nil {
				got = Load(srcs, Options{})
			}
			if g, w := describeLoaded(got), describeLoaded(want); g != w {
				t.Errorf("%s (%d files): streaming load differs from parse-then-apply:\n%s", name, len(srcs), firstDiff(g, w))
			}
		}
	}
	// The listing must have made the streaming path give up.
	if loadFiles([]Source{{Name: "l", Data: inputs["listing"]}}, Options{}, true) != nil {
		t.Error("streaming load of an iptables -L listing did not give up")
	}
}

// TestPipeSame checks that reading a file with the pipe (rule lines parsed
// by workers in batches, parallel.go) gives what reading it on one
// goroutine gives, streamed or not, alone or on top of a Docker ruleset.
// Every input goes through the pipe here, in batches of 64 and 5 lines (and
// of 1 for small inputs), so that batches end at every kind of line and
// many are in flight.
func TestPipeSame(t *testing.T) {
	inputs := loadInputs(t)
	base, err := os.ReadFile("../testdata/seed/docker-20.10.save")
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 3)))
	for _, lines := range []int{64, 5, 1} {
		for name, data := range inputs {
			if lines == 5 && len(data) > 1<<20 || lines == 1 && len(data) > 32<<10 {
				continue // once or twice is enough for the large ones
			}
			cases := [][]Source{{{Name: name, Data: data}}}
			if lines == 64 {
				cases = append(cases, []Source{{Name: "live.save", Data: base}, {Name: name, Data: data}})
			}
			for _, srcs := range cases {
				want := describeLoaded(Load(srcs, Options{sequential: true}))
				for _, stream := range []bool{true, false} {
					opts := Options{pipeBatch: lines}
					got := loadFiles(srcs, opts, stream)
					if got == nil {
						got = Load(srcs, opts)
					}
					if g := describeLoaded(got); g != want {
						t.Errorf("%s (%d files, batches of %d, streaming %v): the pipe's load differs from a sequential one:\n%s", name, len(srcs), lines, stream, firstDiff(g, want))
					}
				}
			}
		}
	}
}

// loadInputs gathers the inputs of TestLoadStreamingSame.
func loadInputs(t *testing.T) map[string][]byte {
	t.Helper()
	inputs := map[string][]byte{}
	for _, pat := range []string{"../testdata/*/*", "testdata/fuzz/*/*"} {
		m, _ := filepath.Glob(pat)
		for _, name := range m {
			data, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			if strings.HasPrefix(name, "testdata/fuzz/") {
				var ok bool
				if data, ok = fuzzInput(data); !ok {
					t.Fatalf("%s: not a fuzz corpus file", name)
				}
			}
			inputs[name] = data
		}
	}
	if dir := corpusDir(); dir != "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*.save"))
		for _, name := range m {
			if data, err := os.ReadFile(name); err == nil {
				inputs[name] = data
			}
		}
	}
	for _, n := range []int{30, 1000} { // 1,000 services: large enough for the pipe (parallel.go)
		var kube bytes.Buffer
		if err := gen.KubeProxy(&kube, n); err != nil {
			t.Fatal(err)
		}
		if n == 1000 && kube.Len() < parallelMin {
			t.Fatalf("kube-%d is %d bytes: not enough to be parsed in parallel", n, kube.Len())
		}
		inputs[fmt.Sprintf("kube-%d", n)] = kube.Bytes()
	}
	// The fuzz targets' own seeds.
	for i, seed := range []string{
		"*filter\n-A INPUT -p tcp -m multiport --dport 22 -j ACCEPT\nCOMMIT\n",
		"*filter\n:DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n-F DOCKER-USER\n-A DOCKER-USER -i ens33 -j FILTERS\n-A FILTERS -p tcp -m conntrack --ctorigdstport 80 -j ACCEPT\n-A FILTERS -j RETURN\nCOMMIT\n",
		"*filter\n-N X\n-A X -j ACCEPT\n-E X Y\n-I INPUT 1 -j Y\n-D INPUT 1\n-X Y\n-P FORWARD ACCEPT\n-Z\nCOMMIT\n",
		"*nat\n:DOCKER - [0:0]\n-A DOCKER -p tcp --dport 81 -j DNAT --to 172.17.0.2:80\n-R DOCKER 1 -j RETURN\nCOMMIT\n",
		"*filter\n-A INPUT -j NOPE\n-D INPUT -j ACCEPT\n-X DOCKER\n:INPUT BAD\nCOMMIT\n",
	} {
		inputs[fmt.Sprintf("seed-%d", i)] = []byte(seed)
	}
	inputs["listing"] = []byte("*filter\n:X - [0:0]\n-A INPUT -j X\nChain INPUT (policy ACCEPT)\ntarget prot opt source destination\n")
	var many strings.Builder
	many.WriteString("*filter\n")
	for i := 0; i < 2*MaxErrors; i++ {
		fmt.Fprintf(&many, "-A INPUT -s 10.0.0.%d -j NOPE%d\n-A INPUT --bad %d\n", i, i, i)
	}
	many.WriteString("COMMIT\n")
	inputs["too-many-errors"] = []byte(many.String())
	inputs["list-rules"] = []byte("-P INPUT DROP\n-N X\n-A INPUT -j X\n-A X -p tcp --dport 22 -j ACCEPT\n-D INPUT 1\n")
	inputs["empty"] = nil
	if len(inputs) < 20 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	return inputs
}

// corpusPath is where the corpus is looked for: $DFW_CORPUS, else
// ../shared/corpus beside the repository root.
func corpusPath() string {
	if dir := os.Getenv("DFW_CORPUS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared", "corpus")
}

// corpusDir is corpusPath, "" when it does not exist.
func corpusDir() string {
	dir := corpusPath()
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// fuzzInput decodes a Go fuzz corpus file holding one []byte.
func fuzzInput(data []byte) ([]byte, bool) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "go test fuzz v1") {
		return nil, false
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

// describeLoaded prints everything a load gives, positions included.
func describeLoaded(l *Loaded) string {
	out := describe(l, func(b *strings.Builder, r *Rule) {
		ref := ""
		if r.Target != nil && r.Target.Ref != nil {
			ref = r.Target.Ref.Name
		}
		fmt.Fprintf(b, " %q ref=%s", r.Spec(), ref)
	})
	var save bytes.Buffer
	if err := l.Ruleset.WriteSave(&save); err != nil {
		return fmt.Sprintf("%ssave error %v\n", out, err)
	}
	return out + save.String()
}

// describe prints the diagnostics, the files' commands and the ruleset
// of l, each rule by its table, chain, position and line, then what rule
// prints of it.
func describe(l *Loaded, rule func(*strings.Builder, *Rule)) string {
	var b strings.Builder
	for _, d := range l.Diags {
		fmt.Fprintf(&b, "diag %s | %v\n", d.Error(), d.Err)
	}
	for _, f := range l.Files {
		fmt.Fprintf(&b, "file %s %s incomplete=%v list=%v\n", f.Name, f.Family, f.Incomplete, f.ListRules)
		for _, c := range f.Commands {
			fmt.Fprintf(&b, "  cmd %v %v %q %s %s %d %q %q %q rules=%d counters=%v\n", c.Op, c.Pos, c.Line, c.Table, c.Chain, c.Num, c.Policy, c.NewName, c.Comment, len(c.Rules), c.Counters)
		}
	}
	rs := l.Ruleset
	fmt.Fprintf(&b, "ruleset %s incomplete=%v\n", rs.Family, rs.Incomplete)
	for _, t := range rs.SortedTables() {
		fmt.Fprintf(&b, "table %s %v chains=%d\n", t.Name, t.Pos, len(t.Chains))
		for _, c := range t.Order {
			fmt.Fprintf(&b, " chain %s %v %q %v %v %v %q %q\n", c.Name, c.Builtin, c.Policy, c.Counters, c.Pos, c.PolicyPos, c.Comment, c.PolicyComment)
			for _, r := range c.Rules {
				fmt.Fprintf(&b, "  rule %s/%s %v %q", r.Table, r.Chain, r.Pos, r.Line)
				rule(&b, r)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// describeShape is describeLoaded without what a lean load (Options.Lean)
// leaves out of the rules: their matches and the canonical text.
func describeShape(l *Loaded) string {
	return describe(l, func(b *strings.Builder, r *Rule) {
		if tg := r.Target; tg != nil {
			ref := ""
			if tg.Ref != nil {
				ref = tg.Ref.Name
			}
			fmt.Fprintf(b, " target=%s/%v/%v/%v ref=%s", tg.Name, tg.Kind, tg.Goto, tg.Pos, ref)
		}
		if r.In != nil {
			fmt.Fprintf(b, " in=%v", *r.In)
		}
		if r.Out != nil {
			fmt.Fprintf(b, " out=%v", *r.Out)
		}
	})
}

// leanShape is the shape (describeShape) a lean load must have, given
// the whole load of the same files: the same, but for the files' chain
// lines, which a load that stayed lean does not keep.
func leanShape(whole, lean *Loaded) string {
	if !lean.Ruleset.Lean {
		return describeShape(whole)
	}
	out := *whole
	out.Files = nil
	for _, f := range whole.Files {
		g := *f
		g.Commands = nil
		for _, c := range f.Commands {
			if c.Op != OpChain {
				g.Commands = append(g.Commands, c)
			}
		}
		out.Files = append(out.Files, &g)
	}
	return describeShape(&out)
}

// TestLeanSame checks that a lean load (Options.Lean) gives the
// diagnostics, chains, rule positions, lines, targets and jumps of a whole
// one, over every input of TestLoadStreamingSame, alone and on a Docker
// ruleset, read sequentially and through the pipe in batches of 3 lines
// (whose arenas then serve again batch after batch); that it is lean
// unless Load had to give up streaming; and that WriteSave refuses a lean
// ruleset.
func TestLeanSame(t *testing.T) {
	inputs := loadInputs(t)
	base, err := os.ReadFile("../testdata/seed/docker-20.10.save")
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 3)))
	lean := 0
	for name, data := range inputs {
		for _, srcs := range [][]Source{
			{{Name: name, Data: data}},
			{{Name: "live.save", Data: base}, {Name: name, Data: data}},
		} {
			full := Load(srcs, Options{})
			for _, opts := range []Options{{Lean: true, sequential: true}, {Lean: true, pipeBatch: 3}} {
				got := Load(srcs, opts)
				if g, want := describeShape(got), leanShape(full, got); g != want {
					t.Errorf("%s (%d files, %+v): the lean load differs from a whole one:\n%s", name, len(srcs), opts, firstDiff(g, want))
				}
				// Load gives up streaming, and so lean, for a file that
				// deletes a rule by its spec, that is a listing, or that
				// reaches MaxErrors in the pipe.
				gaveUp := bytes.Contains(data, []byte("-D ")) || bytes.Contains(data, []byte("--delete"))
				for _, d := range got.Diags {
					gaveUp = gaveUp || errors.Is(d, ErrListing) || errors.Is(d, ErrTooManyErrors)
				}
				if !got.Ruleset.Lean && !gaveUp {
					t.Errorf("%s (%d files, %+v): not lean, with no reason to give up", name, len(srcs), opts)
				}
				if got.Ruleset.Lean {
					lean++
					if err := got.Ruleset.WriteSave(io.Discard); !errors.Is(err, ErrLean) {
						t.Errorf("%s: WriteSave of a lean ruleset: %v (want ErrLean)", name, err)
					}
				}
			}
		}
	}
	if lean < 3*len(inputs) {
		t.Errorf("only %d lean loads of %d inputs (4 loads each)", lean, len(inputs))
	}
}

// TestCheckSplit: a table of splitMin rules or more is checked on two
// goroutines (Table.split); the errors are those of one goroutine, in the
// same order, from both halves.
func TestCheckSplit(t *testing.T) {
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	const chains, perChain = 400, splitMin/400 + 10
	for c := range chains {
		fmt.Fprintf(&b, ":C%d - [0:0]\n", c)
	}
	for c := range chains {
		fmt.Fprintf(&b, "-A PREROUTING -p tcp --dport %d -j C%d\n", 1+c, c)
		if c%50 == 0 {
			// Two errors per such chain: REJECT outside filter, and
			// SNAT in a chain reached from PREROUTING.
			fmt.Fprintf(&b, "-A C%d -j REJECT\n-A C%d -j SNAT --to-source 10.0.0.1\n", c, c)
		}
		for r := range perChain {
			fmt.Fprintf(&b, "-A C%d -s 10.%d.%d.0/24 -j DNAT --to-destination 10.1.0.%d\n", c, c%256, r%256, 1+r%250)
		}
		if c > 0 {
			fmt.Fprintf(&b, "-A C%d -j C%d\n", c, c-1)
		}
	}
	b.WriteString("-A C0 -j C399\nCOMMIT\n")
	src := []Source{{Name: "big.rules", Data: []byte(b.String())}}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := Load(src, Options{Lean: true})
	if n := one.Ruleset.Tables["nat"].NumRules(); n < splitMin {
		t.Fatalf("the table has %d rules, fewer than splitMin", n)
	}
	runtime.GOMAXPROCS(2)
	if k := one.Ruleset.Tables["nat"].split(); k == 0 || k == len(one.Ruleset.Tables["nat"].Order) {
		t.Fatalf("split() = %d: the table is not split", k)
	}
	two := Load(src, Options{Lean: true})
	want, got := describeShape(one), describeShape(two)
	if got != want {
		t.Errorf("checked on two goroutines, the load differs:\n%s", firstDiff(got, want))
	}
	var wrong, loops int
	for _, d := range two.Diags {
		switch {
		case errors.Is(d, ErrWrongTable), errors.Is(d, ErrWrongHook):
			wrong++
		case errors.Is(d, ErrLoop):
			loops++
		}
	}
	if wrong != 2*chains/50 || loops != 1 {
		t.Errorf("%d wrong-table or wrong-hook errors and %d loops, want %d and 1:\n%v", wrong, loops, 2*chains/50, two.Diags)
	}
}

// TestPipeChainLines: chain lines that the pipe's workers make chains for
// (Command.chain) apply as read sequentially, when the name is new and
// when it is taken: declared twice, flushed by a --noflush file, declared
// again after -X or -E, in two tables.
func TestPipeChainLines(t *testing.T) {
	base := "*filter\n:A - [0:0]\n-A A -j ACCEPT\nCOMMIT\n"
	for _, files := range [][]string{
		{"*filter\n:A - [0:0]\n:B - [0:0]\n:A - [0:0]\n-A A -j B\nCOMMIT\n"},
		{base, "*filter\n:A - [0:0]\n:C - [0:0]\n-A C -j A\nCOMMIT\n"},
		{"*filter\n:A - [0:0]\n-X A\n:A - [0:0]\n-A A -j ACCEPT\nCOMMIT\n"},
		{"*filter\n:A - [0:0]\n-E A B\n:A - [0:0]\n-A B -j A\nCOMMIT\n"},
		{"*nat\n:A - [0:0]\nCOMMIT\n*filter\n:A - [0:0]\n:INPUT DROP [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n"},
	} {
		var srcs []Source
		for i, f := range files {
			srcs = append(srcs, Source{Name: fmt.Sprintf("f%d", i), Data: []byte(f)})
		}
		want := describeLoaded(Load(srcs, Options{sequential: true}))
		for _, lines := range []int{1, 2, 3} {
			if got := describeLoaded(Load(srcs, Options{pipeBatch: lines})); got != want {
				t.Errorf("%q in batches of %d: the pipe's load differs from a sequential one:\n%s", files, lines, firstDiff(got, want))
			}
			whole := Load(srcs, Options{})
			lean := Load(srcs, Options{Lean: true, pipeBatch: lines})
			if g, w := describeShape(lean), leanShape(whole, lean); g != w {
				t.Errorf("%q in batches of %d: the lean load differs from a whole one:\n%s", files, lines, firstDiff(g, w))
			}
		}
	}
}

// A large file's commands applied to two rulesets give each its own
// chains, whatever the pipe's workers made for its chain lines.
func TestApplyTwiceOwnChains(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n")
	for i := range 3000 {
		fmt.Fprintf(&b, ":CHAIN-%d - [0:0]\n", i)
	}
	for i := range 3000 {
		fmt.Fprintf(&b, "-A CHAIN-%d -s 10.0.%d.%d/32 -m comment --comment \"rule %d\" -j ACCEPT\n", i, i/256, i%256, i)
	}
	b.WriteString("COMMIT\n")
	if b.Len() < parallelMin {
		t.Fatalf("%d bytes: not enough for the pipe", b.Len())
	}
	for _, load := range []func() *File{
		func() *File { return Parse("rules", []byte(b.String()), Options{}) },
		func() *File { return Load([]Source{{Name: "rules", Data: []byte(b.String())}}, Options{}).Files[0] },
	} {
		f := load()
		one, two := NewRuleset(IPv4), NewRuleset(IPv4)
		one.Apply(f, false)
		two.Apply(f, false)
		a, c := one.Tables["filter"].Chains["CHAIN-7"], two.Tables["filter"].Chains["CHAIN-7"]
		if a == nil || c == nil || a == c {
			t.Fatalf("CHAIN-7 in the two rulesets: %p and %p, want two chains", a, c)
		}
	}
}
