package lint

import (
	"context"
	"os"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// TestServedChainsAndCommands checks the functions that serve the chains
// and the commands against the whole document's value: dfw.input_chain for
// every chain id (and none for an unknown one), dfw.input_table_chains and
// dfw.input_chains_where against a filter of input.chains, and
// dfw.input_commands_on, over every table and chain named, against
// input.commands. The ruleset is the seed's over Docker's, whose chains
// include Docker's own, unreached ones and commands on whole tables.
func TestServedChainsAndCommands(t *testing.T) {
	var srcs []parser.Source
	for _, f := range []string{"../testdata/seed/docker-20.10.save", "../testdata/seed/iptables.conf"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: f, Data: data})
	}
	srcs = append(srcs, parser.Source{Name: "more.rules", Data: []byte("*filter\n-N UNUSED\n-A UNUSED -j DROP\n-F\n-X UNUSED\nCOMMIT\n")})
	l := parser.Load(srcs, parser.Options{})
	if err := l.Diags.Err(); err != nil {
		t.Fatal(err)
	}
	doc, err := facts.Build(context.Background(), l, facts.Options{Base: 1, Analyzer: analysis.New(analysis.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := astOf(doc, 1)
	if err != nil {
		t.Fatal(err)
	}
	chains := whole.(ast.Object).Get(ast.StringTerm("chains")).Value.(*ast.Array)
	commands := whole.(ast.Object).Get(ast.StringTerm("commands")).Value.(*ast.Array)
	if chains.Len() != len(doc.Chains) || commands.Len() != len(doc.Commands) {
		t.Fatalf("%d chains and %d commands in the value, %d and %d in the document", chains.Len(), commands.Len(), len(doc.Chains), len(doc.Commands))
	}
	bctx := rego.BuiltinContext{Context: context.WithValue(context.Background(), stateKey{}, &evalState{served: newServedRules(doc)})}
	call := func(name string, f rego.Builtin1, arg *ast.Term) *ast.Term {
		t.Helper()
		out, err := f(bctx, arg)
		if err != nil {
			t.Fatalf("%s(%v): %v", name, arg, err)
		}
		return out
	}
	filter := func(arr *ast.Array, keep func(*ast.Term) bool) *ast.Term {
		var out []*ast.Term
		arr.Foreach(func(x *ast.Term) {
			if keep(x) {
				out = append(out, x)
			}
		})
		return ast.ArrayTerm(out...)
	}
	field := func(x *ast.Term, name string) ast.Value { return x.Value.(ast.Object).Get(ast.StringTerm(name)).Value }

	tables := map[string]bool{}
	for i, c := range doc.Chains {
		if got, want := call("dfw.input_chain", inputChain, ast.StringTerm(c.ID)), chains.Elem(i); got == nil || !got.Equal(want) {
			t.Errorf("dfw.input_chain(%q) = %v, want %v", c.ID, got, want)
		}
		tables[c.Table] = true
	}
	if got := call("dfw.input_chain", inputChain, ast.StringTerm("filter/NOPE")); got != nil {
		t.Errorf("dfw.input_chain of an unknown chain: %v, want undefined", got)
	}
	for table := range tables {
		want := filter(chains, func(x *ast.Term) bool { return field(x, "table").Compare(ast.String(table)) == 0 })
		if got := call("dfw.input_table_chains", inputTableChains, ast.StringTerm(table)); !got.Equal(want) {
			t.Errorf("dfw.input_table_chains(%q) = %v, want %v", table, got, want)
		}
	}
	where := map[string]func(*ast.Term) bool{
		"unreached":    func(x *ast.Term) bool { return field(x, "hooks").(*ast.Array).Len() == 0 },
		"docker_owned": func(x *ast.Term) bool { return field(x, "docker_owned").Compare(ast.Boolean(true)) == 0 },
	}
	for name, keep := range where {
		want := filter(chains, keep)
		if want.Value.(*ast.Array).Len() == 0 {
			t.Errorf("no chain is %s: nothing compared", name)
		}
		if got := call("dfw.input_chains_where", inputChainsWhere, ast.StringTerm(name)); !got.Equal(want) {
			t.Errorf("dfw.input_chains_where(%q) = %v, want %v", name, got, want)
		}
	}
	if _, err := inputChainsWhere(bctx, ast.StringTerm("nope")); err == nil {
		t.Error("dfw.input_chains_where(\"nope\"): no error")
	}
	// Every command is served under its table and chain, once.
	seen := 0
	type key struct{ table, chain string }
	done := map[key]bool{}
	for _, c := range doc.Commands {
		k := key{c.Table, c.Chain}
		if done[k] {
			continue
		}
		done[k] = true
		want := filter(commands, func(x *ast.Term) bool {
			return field(x, "table").Compare(ast.String(k.table)) == 0 && field(x, "chain").Compare(ast.String(k.chain)) == 0
		})
		got, err := inputCommandsOn(bctx, ast.StringTerm(k.table), ast.StringTerm(k.chain))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("dfw.input_commands_on(%q, %q) = %v, want %v", k.table, k.chain, got, want)
		}
		seen += got.Value.(*ast.Array).Len()
	}
	if seen != len(doc.Commands) || !done[key{"filter", ""}] {
		t.Errorf("%d commands served of %d (a whole-table command among them: %v)", seen, len(doc.Commands), done[key{"filter", ""}])
	}
}
