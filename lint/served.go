package lint

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/dfw-project/dfw/lint/facts"
)

// The rules of a large ruleset are most of its input document: on the
// 80,000 rules of a kube-proxy host, two thirds of its value and of the
// time it takes to make, for checks that read a few hundred of them (the
// filter table) and the rules some facts name. So when dfwlint check runs
// its built-in checks alone, their input leaves input.rules out and says
// so (rules_served); the rules are served on demand by the functions
// below, each rule's object made once, as input.rules would hold it. The
// reachability facts (one per rule, nearly all "reachable") are left out
// too, and served by the two selections the checks read; and so are the
// chains and the restore commands (one each per chain on such a host),
// served by id, by table, by the two selections the checks read, and the
// commands by chain.
// data.dfw.lib reads the rules through them or through input.rules,
// whichever the document has: a user's policy, or a policy test, sees the
// whole document as documented. TestServedRulesSameFindings checks that
// both give the same findings.

// servedKey is the top-level key that marks a document whose rules are
// served.
const servedKey = "rules_served"

// servedRules makes the rules' terms on demand, for the evaluations of
// one document. Its methods may be called from several checks at once.
type servedRules struct {
	doc      *facts.Document
	n        int
	tables   []facts.Table
	reach    []facts.Reach
	chains   []facts.Chain
	commands []facts.Command

	mu     sync.Mutex
	st     *encState
	terms  []*ast.Term
	lists  map[string]*ast.Term // the arrays served, by name (see cached)
	byID   map[string]int
	encode encodeFunc

	chainTerms []*ast.Term
	chainByID  map[string]int
	cmdTerms   []*ast.Term
	cmdsOn     map[[2]string][]int // commands by table and chain
}

func newServedRules(doc *facts.Document) *servedRules {
	return &servedRules{
		doc: doc, n: doc.NumRules(), tables: doc.Tables, reach: doc.Analysis.Reachability,
		chains: doc.Chains, commands: doc.Commands,
		st: newEncState(1, docHint(doc)), terms: make([]*ast.Term, doc.NumRules()), lists: map[string]*ast.Term{},
		encode:     encoderFor(reflect.TypeFor[facts.Rule]()),
		chainTerms: make([]*ast.Term, len(doc.Chains)), cmdTerms: make([]*ast.Term, len(doc.Commands)),
	}
}

// chain is the term of input.chains[i]; s.mu is held.
func (s *servedRules) chain(i int) (*ast.Term, error) {
	return termOf(s.st, s.chainTerms, s.chains, i)
}

// command is the term of input.commands[i]; s.mu is held.
func (s *servedRules) command(i int) (*ast.Term, error) {
	return termOf(s.st, s.cmdTerms, s.commands, i)
}

// termOf is the term of elems[i], made once into terms[i].
func termOf[T any](st *encState, terms []*ast.Term, elems []T, i int) (*ast.Term, error) {
	if t := terms[i]; t != nil {
		return t, nil
	}
	t, err := encoderFor(reflect.TypeFor[T]())(st, reflect.ValueOf(&elems[i]).Elem())
	if err != nil {
		return nil, err
	}
	terms[i] = t
	return t, nil
}

// chainList is the array of the chains keep selects, made once under
// name; s.mu is held.
func (s *servedRules) chainList(name string, keep func(*facts.Chain) bool) (*ast.Term, error) {
	return s.cached(name, func() ([]*ast.Term, error) {
		var terms []*ast.Term
		for i := range s.chains {
			if !keep(&s.chains[i]) {
				continue
			}
			t, err := s.chain(i)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		return terms, nil
	})
}

// rule is the term of the rule at position i; s.mu is held.
func (s *servedRules) rule(i int) (*ast.Term, error) {
	if t := s.terms[i]; t != nil {
		return t, nil
	}
	r := s.doc.Rule(i)
	t, err := s.encode(s.st, reflect.ValueOf(&r).Elem())
	if err != nil {
		return nil, err
	}
	s.terms[i] = t
	return t, nil
}

// cached is the array of the terms terms makes, made once under name;
// s.mu is held.
func (s *servedRules) cached(name string, terms func() ([]*ast.Term, error)) (*ast.Term, error) {
	if t, ok := s.lists[name]; ok {
		return t, nil
	}
	ts, err := terms()
	if err != nil {
		return nil, err
	}
	t := ast.ArrayTerm(ts...)
	s.lists[name] = t
	return t, nil
}

// list is the array of the rules lo to hi that keep selects (all when
// nil), made once under name; s.mu is held.
func (s *servedRules) list(name string, lo, hi int, keep func(*facts.Document, int) bool) (*ast.Term, error) {
	return s.cached(name, func() ([]*ast.Term, error) {
		var terms []*ast.Term
		for i := lo; i < hi; i++ {
			if keep != nil && !keep(s.doc, i) {
				continue
			}
			t, err := s.rule(i)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		return terms, nil
	})
}

// serve makes the function of one argument, of type T, that fn
// implements with s.mu held: undefined in a document whose rules are not
// served, or for an argument of another type.
func serve[T ast.Value](fn func(s *servedRules, arg T) (*ast.Term, error)) rego.Builtin1 {
	return func(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
		st, _ := bctx.Context.Value(stateKey{}).(*evalState)
		if st == nil || st.served == nil {
			return nil, nil
		}
		v, ok := a.Value.(T)
		if !ok {
			return nil, nil
		}
		st.served.mu.Lock()
		defer st.served.mu.Unlock()
		return fn(st.served, v)
	}
}

// serve2 is serve for a function of two arguments.
func serve2[T, U ast.Value](fn func(s *servedRules, a T, b U) (*ast.Term, error)) rego.Builtin2 {
	return func(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
		st, _ := bctx.Context.Value(stateKey{}).(*evalState)
		if st == nil || st.served == nil {
			return nil, nil
		}
		va, ok1 := a.Value.(T)
		vb, ok2 := b.Value.(U)
		if !ok1 || !ok2 {
			return nil, nil
		}
		st.served.mu.Lock()
		defer st.served.mu.Unlock()
		return fn(st.served, va, vb)
	}
}

var (
	anyObject = types.NewObject(nil, types.NewDynamicProperty(types.S, types.A))

	inputRuleDecl = &rego.Function{
		Name: "dfw.input_rule",
		Decl: types.NewFunction(
			types.Args(types.Named("position", types.N).Description("0-based position in input.rules")),
			types.Named("rule", anyObject).Description("the rule, as input.rules holds it"),
		),
		Description: "the rule at a position of input.rules, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputRuleByIDDecl = &rego.Function{
		Name: "dfw.input_rule_by_id",
		Decl: types.NewFunction(
			types.Args(types.Named("id", types.S).Description(`a rule's id, "table/CHAIN/index"`)),
			types.Named("rule", anyObject).Description("the rule, as input.rules holds it"),
		),
		Description: "the rule of an id, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputTableRulesDecl = &rego.Function{
		Name: "dfw.input_table_rules",
		Decl: types.NewFunction(
			types.Args(types.Named("table", types.S).Description("a table's name")),
			types.Named("rules", types.NewArray(nil, anyObject)).Description("its rules, in order"),
		),
		Description: "the rules of a table, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputReachabilityWhereDecl = &rego.Function{
		Name: "dfw.input_reachability_where",
		Decl: types.NewFunction(
			types.Args(types.Named("field", types.S).Description(`"unreachable" or "depends_on_may_match"`)),
			types.Named("facts", types.NewArray(nil, anyObject)).Description("the reachability facts of those rules, in order"),
		),
		Description: "the reachability facts of the unreachable rules, or of the rules whose reachability depends on a may-match rule, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputRulesWhereDecl = &rego.Function{
		Name: "dfw.input_rules_where",
		Decl: types.NewFunction(
			types.Args(types.Named("field", types.S).Description(`"may_match" or "target.unknown"`)),
			types.Named("rules", types.NewArray(nil, anyObject)).Description("the rules where the field is true, in order"),
		),
		Description: "the rules with may_match, or with an unknown target, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputChainDecl = &rego.Function{
		Name: "dfw.input_chain",
		Decl: types.NewFunction(
			types.Args(types.Named("id", types.S).Description(`a chain's id, "table/CHAIN"`)),
			types.Named("chain", anyObject).Description("the chain, as input.chains holds it"),
		),
		Description: "the chain of an id, in a document whose rules are served (undefined elsewhere, and for a chain that does not exist)",
		Memoize:     true,
	}
	inputTableChainsDecl = &rego.Function{
		Name: "dfw.input_table_chains",
		Decl: types.NewFunction(
			types.Args(types.Named("table", types.S).Description("a table's name")),
			types.Named("chains", types.NewArray(nil, anyObject)).Description("its chains, in the order of input.chains"),
		),
		Description: "the chains of a table, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputChainsWhereDecl = &rego.Function{
		Name: "dfw.input_chains_where",
		Decl: types.NewFunction(
			types.Args(types.Named("field", types.S).Description(`"unreached" (no hooks) or "docker_owned"`)),
			types.Named("chains", types.NewArray(nil, anyObject)).Description("those chains, in the order of input.chains"),
		),
		Description: "the chains no built-in chain reaches, or the chains Docker owns, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
	inputCommandsOnDecl = &rego.Function{
		Name: "dfw.input_commands_on",
		Decl: types.NewFunction(
			types.Args(
				types.Named("table", types.S).Description("a table's name"),
				types.Named("chain", types.S).Description(`a chain's name, or "" for the commands on the whole table (-F, -X, -Z without a chain)`),
			),
			types.Named("commands", types.NewArray(nil, anyObject)).Description("those commands, in the order of input.commands"),
		),
		Description: "the commands on a chain of a table, in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
)

// chainsWhere are the selections dfw.input_chains_where knows.
var chainsWhere = map[string]func(*facts.Chain) bool{
	"unreached":    func(c *facts.Chain) bool { return len(c.Hooks) == 0 },
	"docker_owned": func(c *facts.Chain) bool { return c.DockerOwned },
}

var inputChain = serve(func(s *servedRules, id ast.String) (*ast.Term, error) {
	if s.chainByID == nil {
		s.chainByID = make(map[string]int, len(s.chains))
		for i := range s.chains {
			s.chainByID[s.chains[i].ID] = i
		}
	}
	i, ok := s.chainByID[string(id)]
	if !ok {
		return nil, nil
	}
	return s.chain(i)
})

var inputTableChains = serve(func(s *servedRules, name ast.String) (*ast.Term, error) {
	return s.chainList("chains of table:"+string(name), func(c *facts.Chain) bool { return c.Table == string(name) })
})

var inputChainsWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, ok := chainsWhere[string(field)]
	if !ok {
		return nil, fmt.Errorf("dfw.input_chains_where: unknown field %q (expected \"unreached\" or \"docker_owned\")", string(field))
	}
	return s.chainList("chains where:"+string(field), keep)
})

var inputCommandsOn = serve2(func(s *servedRules, table, chain ast.String) (*ast.Term, error) {
	if s.cmdsOn == nil {
		s.cmdsOn = map[[2]string][]int{}
		for i, c := range s.commands {
			k := [2]string{c.Table, c.Chain}
			s.cmdsOn[k] = append(s.cmdsOn[k], i)
		}
	}
	return s.cached("commands on:"+string(table)+"/"+string(chain), func() ([]*ast.Term, error) {
		var terms []*ast.Term
		for _, i := range s.cmdsOn[[2]string{string(table), string(chain)}] {
			t, err := s.command(i)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		return terms, nil
	})
})

// rulesWhere are the selections dfw.input_rules_where knows.
var rulesWhere = map[string]func(*facts.Document, int) bool{
	"may_match":      (*facts.Document).RuleMayMatch,
	"target.unknown": (*facts.Document).RuleTargetUnknown,
}

// reachabilityWhere are the selections dfw.input_reachability_where knows.
var reachabilityWhere = map[string]func(*facts.Reach) bool{
	"unreachable":          func(x *facts.Reach) bool { return !x.Reachable },
	"depends_on_may_match": func(x *facts.Reach) bool { return x.DependsOnMayMatch },
}

var inputReachabilityWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, ok := reachabilityWhere[string(field)]
	if !ok {
		return nil, fmt.Errorf("dfw.input_reachability_where: unknown field %q (expected \"unreachable\" or \"depends_on_may_match\")", string(field))
	}
	return s.cached("reachability:"+string(field), func() ([]*ast.Term, error) {
		enc := encoderFor(reflect.TypeFor[facts.Reach]())
		var terms []*ast.Term
		for i := range s.reach {
			if !keep(&s.reach[i]) {
				continue
			}
			t, err := enc(s.st, reflect.ValueOf(&s.reach[i]).Elem())
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		return terms, nil
	})
})

var inputRule = serve(func(s *servedRules, pos ast.Number) (*ast.Term, error) {
	i, ok := pos.Int()
	if !ok || i < 0 || i >= s.n {
		return nil, nil
	}
	return s.rule(i)
})

var inputRuleByID = serve(func(s *servedRules, id ast.String) (*ast.Term, error) {
	if s.byID == nil {
		s.byID = make(map[string]int, s.n)
		for i := range s.n {
			s.byID[s.doc.RuleID(i)] = i
		}
	}
	i, ok := s.byID[string(id)]
	if !ok {
		return nil, nil
	}
	return s.rule(i)
})

var inputTableRules = serve(func(s *servedRules, name ast.String) (*ast.Term, error) {
	for _, t := range s.tables {
		if t.Name == string(name) {
			if t.FirstRule < 0 || t.Rules < 0 || t.FirstRule+t.Rules > s.n {
				return nil, fmt.Errorf("dfw.input_table_rules: table %s: rules %d+%d of %d", t.Name, t.FirstRule, t.Rules, s.n)
			}
			return s.list("table:"+t.Name, t.FirstRule, t.FirstRule+t.Rules, nil)
		}
	}
	return ast.InternedEmptyArray, nil
})

var inputRulesWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, ok := rulesWhere[string(field)]
	if !ok {
		return nil, fmt.Errorf("dfw.input_rules_where: unknown field %q (expected \"may_match\" or \"target.unknown\")", string(field))
	}
	return s.list("where:"+string(field), 0, s.n, keep)
})

// leanInput is doc's value without its rules (built on demand, or left
// out here), chains, commands and reachability facts, marked as a
// document whose rules are served.
func leanInput(doc *facts.Document, cpus int) (ast.Value, error) {
	d := *doc
	d.Rules, d.Chains, d.Commands = nil, nil, nil
	d.Analysis.Reachability = nil // omitempty: left out
	v, err := astOf(&d, cpus)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("input document: %T, expected an object", v)
	}
	items := make([][2]*ast.Term, 0, obj.Len())
	obj.Foreach(func(k, v *ast.Term) {
		if name, _ := k.Value.(ast.String); name != "rules" && name != "chains" && name != "commands" {
			items = append(items, [2]*ast.Term{k, v})
		}
	})
	items = append(items, [2]*ast.Term{ast.StringTerm(servedKey), ast.BooleanTerm(true)})
	return ast.NewObject(items...), nil
}
