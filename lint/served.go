package lint

import (
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
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
	reachTerms []*ast.Term
	cmdsOn     map[[2]string][]int // commands by table and chain
}

func newServedRules(doc *facts.Document) *servedRules {
	return &servedRules{
		doc: doc, n: doc.NumRules(), tables: doc.Tables, reach: doc.Analysis.Reachability,
		chains: doc.Chains, commands: doc.Commands,
		st: newEncState(1, docHint(doc)), terms: make([]*ast.Term, doc.NumRules()), lists: map[string]*ast.Term{},
		encode:     encoderFor(reflect.TypeFor[facts.Rule]()),
		chainTerms: make([]*ast.Term, len(doc.Chains)), cmdTerms: make([]*ast.Term, len(doc.Commands)),
		reachTerms: make([]*ast.Term, len(doc.Analysis.Reachability)),
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

// reachFact is the term of input.analysis.reachability[i]; s.mu is held.
func (s *servedRules) reachFact(i int) (*ast.Term, error) {
	return termOf(s.st, s.reachTerms, s.reach, i)
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

// cached is the array of the terms of the indices idx, term making each,
// made once under name; s.mu is held.
func (s *servedRules) cached(name string, idx iter.Seq[int], term func(int) (*ast.Term, error)) (*ast.Term, error) {
	if t, ok := s.lists[name]; ok {
		return t, nil
	}
	var terms []*ast.Term
	for i := range idx {
		t, err := term(i)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	t := ast.ArrayTerm(terms...)
	s.lists[name] = t
	return t, nil
}

// where is the indices lo to hi that keep selects (all when nil).
func where(lo, hi int, keep func(int) bool) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := lo; i < hi; i++ {
			if (keep == nil || keep(i)) && !yield(i) {
				return
			}
		}
	}
}

// serve makes the function of one argument, of type T, that fn
// implements with s.mu held: undefined in a document whose rules are not
// served, or for an argument of another type.
func serve[T ast.Value](fn func(s *servedRules, arg T) (*ast.Term, error)) rego.Builtin1 {
	return func(bctx rego.BuiltinContext, a *ast.Term) (*ast.Term, error) {
		s := servedOf(bctx)
		v, ok := a.Value.(T)
		if s == nil || !ok {
			return nil, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn(s, v)
	}
}

// serve2 is serve for a function of two arguments.
func serve2[T, U ast.Value](fn func(s *servedRules, a T, b U) (*ast.Term, error)) rego.Builtin2 {
	return func(bctx rego.BuiltinContext, a, b *ast.Term) (*ast.Term, error) {
		s := servedOf(bctx)
		va, ok1 := a.Value.(T)
		vb, ok2 := b.Value.(U)
		if s == nil || !ok1 || !ok2 {
			return nil, nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn(s, va, vb)
	}
}

// servedOf is the evaluation's served rules, nil when its document holds
// them.
func servedOf(bctx rego.BuiltinContext) *servedRules {
	if st, _ := bctx.Context.Value(stateKey{}).(*evalState); st != nil {
		return st.served
	}
	return nil
}

var (
	anyObject  = types.NewObject(nil, types.NewDynamicProperty(types.S, types.A))
	anyObjects = types.NewArray(nil, anyObject)

	inputRuleDecl = servedDecl("dfw.input_rule", "the rule at a position of input.rules",
		types.Named("rule", anyObject).Description("the rule, as input.rules holds it"),
		types.Named("position", types.N).Description("0-based position in input.rules"))
	inputRuleByIDDecl = servedDecl("dfw.input_rule_by_id", "the rule of an id",
		types.Named("rule", anyObject).Description("the rule, as input.rules holds it"),
		types.Named("id", types.S).Description(`a rule's id, "table/CHAIN/index"`))
	inputTableRulesDecl = servedDecl("dfw.input_table_rules", "the rules of a table",
		types.Named("rules", anyObjects).Description("its rules, in order"),
		types.Named("table", types.S).Description("a table's name"))
	inputReachabilityWhereDecl = servedDecl("dfw.input_reachability_where",
		"the reachability facts of the unreachable rules, or of the rules whose reachability depends on a may-match rule",
		types.Named("facts", anyObjects).Description("the reachability facts of those rules, in order"),
		types.Named("field", types.S).Description(`"unreachable", "depends_on_may_match", or "depends_on_deciding_may_match" (depends_on_may_match and not may_match_load_balancing)`))
	inputRulesWhereDecl = servedDecl("dfw.input_rules_where", "the rules with may_match, or with an unknown target",
		types.Named("rules", anyObjects).Description("the rules where the field is true, in order"),
		types.Named("field", types.S).Description(`"may_match", "may_match_deciding" (may_match and not load_balancing), or "target.unknown"`))
	inputTableRulesWhereDecl = servedDecl("dfw.input_table_rules_where", "the rules of a table with a destination port condition, a --ctorigdstport condition, an ACCEPT target, or a user chain as target",
		types.Named("rules", anyObjects).Description("those rules of the table, in order"),
		types.Named("table", types.S).Description("a table's name"),
		types.Named("field", types.S).Description(`"dports" (dports not empty), "ctorigdstport" (ctorigdstport not empty), "accept" (target.name ACCEPT) or "jump" (target.kind chain)`))
	inputChainDecl = servedDecl("dfw.input_chain", "the chain of an id (undefined too for a chain that does not exist)",
		types.Named("chain", anyObject).Description("the chain, as input.chains holds it"),
		types.Named("id", types.S).Description(`a chain's id, "table/CHAIN"`))
	inputTableChainsDecl = servedDecl("dfw.input_table_chains", "the chains of a table",
		types.Named("chains", anyObjects).Description("its chains, in the order of input.chains"),
		types.Named("table", types.S).Description("a table's name"))
	inputChainsWhereDecl = servedDecl("dfw.input_chains_where", "the chains no built-in chain reaches, or the chains Docker owns",
		types.Named("chains", anyObjects).Description("those chains, in the order of input.chains"),
		types.Named("field", types.S).Description(`"unreached" (no hooks) or "docker_owned"`))
	inputCommandsOnDecl = servedDecl("dfw.input_commands_on", "the commands on a chain of a table",
		types.Named("commands", anyObjects).Description("those commands, in the order of input.commands"),
		types.Named("table", types.S).Description("a table's name"),
		types.Named("chain", types.S).Description(`a chain's name, or "" for the commands on the whole table (-F, -X, -Z without a chain)`))
)

// servedDecl declares a function that serves part of the document: what,
// in a document whose rules are served, undefined elsewhere. Its answer
// for an argument never changes during an evaluation (memoized).
func servedDecl(name, what string, result types.Type, args ...types.Type) *rego.Function {
	return &rego.Function{
		Name:        name,
		Decl:        types.NewFunction(types.Args(args...), result),
		Description: what + ", in a document whose rules are served (undefined elsewhere)",
		Memoize:     true,
	}
}

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
	return s.cached("chains of table:"+string(name), where(0, len(s.chains), func(i int) bool { return s.chains[i].Table == string(name) }), s.chain)
})

var inputChainsWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, err := selection("dfw.input_chains_where", chainsWhere, field)
	if err != nil {
		return nil, err
	}
	return s.cached("chains where:"+string(field), where(0, len(s.chains), func(i int) bool { return keep(&s.chains[i]) }), s.chain)
})

var inputCommandsOn = serve2(func(s *servedRules, table, chain ast.String) (*ast.Term, error) {
	if s.cmdsOn == nil {
		s.cmdsOn = map[[2]string][]int{}
		for i, c := range s.commands {
			k := [2]string{c.Table, c.Chain}
			s.cmdsOn[k] = append(s.cmdsOn[k], i)
		}
	}
	return s.cached("commands on:"+string(table)+"/"+string(chain), slices.Values(s.cmdsOn[[2]string{string(table), string(chain)}]), s.command)
})

// rulesWhere are the selections dfw.input_rules_where knows.
var rulesWhere = map[string]func(*facts.Document, int) bool{
	"may_match":          (*facts.Document).RuleMayMatch,
	"may_match_deciding": (*facts.Document).RuleDecidingMayMatch,
	"target.unknown":     (*facts.Document).RuleTargetUnknown,
}

// reachabilityWhere are the selections dfw.input_reachability_where knows.
var reachabilityWhere = map[string]func(*facts.Reach) bool{
	"unreachable":          func(x *facts.Reach) bool { return !x.Reachable },
	"depends_on_may_match": func(x *facts.Reach) bool { return x.DependsOnMayMatch },
	"depends_on_deciding_may_match": func(x *facts.Reach) bool {
		return x.DependsOnMayMatch && !x.MayMatchLoadBalancing
	},
}

var inputReachabilityWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, err := selection("dfw.input_reachability_where", reachabilityWhere, field)
	if err != nil {
		return nil, err
	}
	return s.cached("reachability:"+string(field), where(0, len(s.reach), func(i int) bool { return keep(&s.reach[i]) }), s.reachFact)
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
	return s.tableRules("dfw.input_table_rules", string(name), "", nil)
})

// tableRules is the array of the rules of table name that keep selects
// (all when nil), made once under the key sel; fn names the function for
// an error.
func (s *servedRules) tableRules(fn, name, sel string, keep func(int) bool) (*ast.Term, error) {
	for _, t := range s.tables {
		if t.Name == name {
			if t.FirstRule < 0 || t.Rules < 0 || t.FirstRule+t.Rules > s.n {
				return nil, fmt.Errorf("%s: table %s: rules %d+%d of %d", fn, t.Name, t.FirstRule, t.Rules, s.n)
			}
			return s.cached("table:"+t.Name+sel, where(t.FirstRule, t.FirstRule+t.Rules, keep), s.rule)
		}
	}
	return ast.InternedEmptyArray, nil
}

// tableRulesWhere are the selections dfw.input_table_rules_where knows.
var tableRulesWhere = map[string]func(*facts.Document, int) bool{
	"dports":        func(d *facts.Document, i int) bool { x, _, _, _ := d.RuleSelect(i); return x },
	"ctorigdstport": func(d *facts.Document, i int) bool { _, x, _, _ := d.RuleSelect(i); return x },
	"accept":        func(d *facts.Document, i int) bool { _, _, x, _ := d.RuleSelect(i); return x },
	"jump":          func(d *facts.Document, i int) bool { _, _, _, x := d.RuleSelect(i); return x },
}

var inputTableRulesWhere = serve2(func(s *servedRules, name, field ast.String) (*ast.Term, error) {
	keep, err := selection("dfw.input_table_rules_where", tableRulesWhere, field)
	if err != nil {
		return nil, err
	}
	return s.tableRules("dfw.input_table_rules_where", string(name), " where:"+string(field), func(i int) bool { return keep(s.doc, i) })
})

var inputRulesWhere = serve(func(s *servedRules, field ast.String) (*ast.Term, error) {
	keep, err := selection("dfw.input_rules_where", rulesWhere, field)
	if err != nil {
		return nil, err
	}
	return s.cached("where:"+string(field), where(0, s.n, func(i int) bool { return keep(s.doc, i) }), s.rule)
})

// selection is the selection of a *_where function named by field, or an
// error naming the ones it knows.
func selection[T any](fn string, known map[string]T, field ast.String) (T, error) {
	keep, ok := known[string(field)]
	if !ok {
		return keep, fmt.Errorf("%s: unknown field %q (expected one of %q)", fn, string(field), slices.Sorted(maps.Keys(known)))
	}
	return keep, nil
}

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
