package lint

import (
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/dfw-project/dfw/lint/facts"
)

// reachableDecl is dfw.reachable(query): query is an object
// {"interface": "ens33", "proto": "tcp", "port": 5432, "src": "0.0.0.0/0"}
// ("src" optional); the answer is an object {"known", "reachable",
// "witness", "accepted_by", "path", "kind"}, undefined when no analysis
// can answer (until the analysis layer exists, always).
var reachableDecl = &rego.Function{
	Name: "dfw.reachable",
	Decl: types.NewFunction(
		types.Args(types.Named("query", types.NewObject(nil, types.NewDynamicProperty(types.S, types.A))).
			Description("{interface, proto, port, src?}")),
		types.Named("answer", types.NewObject(nil, types.NewDynamicProperty(types.S, types.A))).
			Description("{known, reachable, witness, accepted_by, path, kind}"),
	),
	Description: "whether new connections of proto/port arriving on interface reach the host or a container, with a witness",
	Memoize:     true,
}

func builtinDecls() []*ast.Builtin {
	var out []*ast.Builtin
	for _, f := range []*rego.Function{reachableDecl, inputRuleDecl, inputRuleByIDDecl, inputTableRulesDecl, inputTableRulesWhereDecl, inputRulesWhereDecl, inputReachabilityWhereDecl,
		inputChainDecl, inputTableChainsDecl, inputChainsWhereDecl, inputCommandsOnDecl} {
		out = append(out, &ast.Builtin{Name: f.Name, Decl: f.Decl, Description: f.Description})
	}
	return out
}

// BuiltinDecls returns the declarations of dfw's custom built-in
// functions, for compilers outside the Linter (the policy tests).
func BuiltinDecls() map[string]*ast.Builtin {
	out := map[string]*ast.Builtin{}
	for _, b := range builtinDecls() {
		out[b.Name] = b
	}
	return out
}

func builtinImpls() []func(*rego.Rego) {
	return []func(*rego.Rego){
		rego.Function1(reachableDecl, reachable),
		rego.Function1(inputRuleDecl, inputRule),
		rego.Function1(inputRuleByIDDecl, inputRuleByID),
		rego.Function1(inputTableRulesDecl, inputTableRules),
		rego.Function2(inputTableRulesWhereDecl, inputTableRulesWhere),
		rego.Function1(inputRulesWhereDecl, inputRulesWhere),
		rego.Function1(inputReachabilityWhereDecl, inputReachabilityWhere),
		rego.Function1(inputChainDecl, inputChain),
		rego.Function1(inputTableChainsDecl, inputTableChains),
		rego.Function1(inputChainsWhereDecl, inputChainsWhere),
		rego.Function2(inputCommandsOnDecl, inputCommandsOn),
	}
}

func reachable(bctx rego.BuiltinContext, q *ast.Term) (*ast.Term, error) {
	st, _ := bctx.Context.Value(stateKey{}).(*evalState)
	if st == nil || st.an == nil || st.rs == nil {
		return nil, nil // undefined: no analysis to ask
	}
	var query facts.Query
	if err := ast.As(q.Value, &query); err != nil {
		return nil, err
	}
	ans, err := st.an.Reachable(bctx.Context, st.rs, st.host, query)
	if err != nil {
		return nil, err
	}
	if !ans.Known {
		return nil, nil
	}
	v, err := ast.InterfaceToValue(ans)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(v), nil
}
