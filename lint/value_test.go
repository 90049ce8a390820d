package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/dfw-project/dfw/internal/gen"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// jsonValue is the input document as OPA reads it from JSON text.
func jsonValue(t *testing.T, v any) ast.Value {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func loadFiles(t *testing.T, files ...string) *parser.Loaded {
	t.Helper()
	var srcs []parser.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: filepath.Base(f), Data: b})
	}
	return parser.Load(srcs, parser.Options{})
}

// astOf gives the value the JSON text gives, on the documents of the
// test rulesets (with their analyses, Docker facts, a peer) and on a
// type with every shape encoding/json treats specially.
// upperish converts itself (as JSON text, upper case).
type upperish string

func (u upperish) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }

func TestAstOfMatchesJSON(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*/*.save")
	files = append(files, "../testdata/seed/iptables.conf", "../testdata/dualstack/rules.v6")
	v4 := loadFiles(t, "../testdata/dualstack/rules.v4")
	for _, f := range files {
		l := loadFiles(t, f)
		opts := facts.Options{Analyzer: analysis.New(analysis.Options{})}
		if l.Ruleset.Family == parser.IPv6 {
			opts.Peer = &facts.PeerRuleset{Ruleset: v4.Ruleset, Files: []string{"rules.v4"}}
		}
		doc, err := facts.Build(context.Background(), l, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := astOf(doc, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := jsonValue(t, doc); got.Compare(want) != 0 {
			t.Errorf("%s: astOf differs from the JSON value", f)
		}
	}
	type Inner struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
		C string
	}
	type Shadow struct {
		A string `json:"a"`
	}
	type odd struct {
		Inner
		*Shadow `json:"shadow"`
		A       bool `json:"a,omitempty"`
		Skip    int  `json:"-"`
		hidden  int
		Nil     []int             `json:"nil"`
		Empty   []int             `json:"empty"`
		Arr     [2]uint8          `json:"arr"`
		Bytes   []byte            `json:"bytes"`
		Raw     json.RawMessage   `json:"raw"`
		Map     map[string]any    `json:"map"`
		NilMap  map[string]int    `json:"nil_map,omitempty"`
		Ptr     *int              `json:"ptr"`
		F       float64           `json:"f"`
		Any     any               `json:"any"`
		Nested  map[string][]bool `json:"nested"`
		// Short lists are shared: each kind, and one whose elements
		// convert themselves.
		Strs  []string   `json:"strs"`
		Ints  []int      `json:"ints"`
		Pair  [2]int     `json:"pair"`
		Texts []upperish `json:"texts"`
	}
	one := 1
	// A list long enough to be converted in parts on several CPUs.
	long := make([]odd, 3*minPart+7)
	for i := range long {
		long[i] = odd{Inner: Inner{A: i, C: fmt.Sprint("c", i%17)}, Ptr: &one, Empty: []int{i % 5},
			Strs: []string{fmt.Sprint("s", i%13), strings.Repeat("x", i%100)}[:1+i%2], Ints: []int{i % 7, -i, i << 20}[:1+i%3],
			Pair: [2]int{i % 3, i % 11}, Texts: []upperish{upperish(fmt.Sprint("t", i%5))}}
	}
	for _, v := range []any{
		long,
		odd{Inner: Inner{A: 3, C: "c"}, Shadow: &Shadow{A: "s"}, Empty: []int{}, Arr: [2]uint8{1, 2}, Bytes: []byte("xy"),
			Raw: json.RawMessage(`{"k":[1,2.5]}`), Map: map[string]any{"x": 1, "y": []string{"a"}}, Ptr: &one, F: 2.5,
			Any: map[string]int{"n": -4}, Nested: map[string][]bool{"t": {true}}, hidden: 1},
		odd{},
		&odd{A: true},
		[]any{nil, "s", 1.25, int64(-7)},
	} {
		got, err := astOf(v, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := jsonValue(t, v); got.Compare(want) != 0 {
			t.Errorf("%#v:\n got %v\nwant %v", v, got, want)
		}
	}
}

// BenchmarkAstOf converts the input document of a kube-proxy-scale
// ruleset (internal/gen.KubeProxy, 10,000 services, about 80,000 rules)
// on one CPU.
func BenchmarkAstOf(b *testing.B) {
	var buf bytes.Buffer
	if err := gen.KubeProxy(&buf, 10000); err != nil {
		b.Fatal(err)
	}
	l := parser.Load([]parser.Source{{Name: "kube.save", Data: buf.Bytes()}}, parser.Options{})
	doc, err := facts.Build(context.Background(), l, facts.Options{Analyzer: analysis.New(analysis.Options{})})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := astOf(doc, 1); err != nil {
			b.Fatal(err)
		}
	}
}
