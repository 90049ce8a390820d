// Package graph writes the chain graph of a ruleset as Graphviz DOT: one
// cluster per table, a node per chain (with its number of rules), an edge
// per rule that jumps (-j) or goes (-g) to a user chain, labelled with the
// rule's 1-based index in its chain. Built-in chains are the entry points:
// each is drawn as a double box naming its hook and policy. The chains
// Docker creates are grouped in a sub-cluster of their table. Chains that
// no hook reaches are drawn dotted and grey.
//
// With Options.Highlight (dfwsim --graph), the chains a packet entered and
// the jumps it took are drawn bold and red, and each visited chain lists the
// rules that matched in it.
//
// The output is deterministic: tables in the order raw, mangle, nat, filter,
// security; built-in chains in hook order, then user chains by name; edges
// in chain order, then rule order.
package graph

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// DockerChains are the chains Docker creates, in any table. They are drawn
// in a "Docker" sub-cluster of their table. DOCKER-USER is among them:
// Docker creates it (empty, for the user's rules) and jumps to it from
// FORWARD.
var DockerChains = []string{
	"DOCKER", "DOCKER-USER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2",
	"DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-INTERNAL", "DOCKER-INGRESS",
}

// IsDockerChain reports whether Docker creates a chain of this name.
func IsDockerChain(name string) bool {
	for _, c := range DockerChains {
		if c == name {
			return true
		}
	}
	return false
}

// Step is one rule (or policy) a packet's trace passed through: a rule
// whose counters moved, as sim.Result.Trace lists them.
type Step struct {
	Table, Chain string
	// Rule is the 1-based index of the rule in its chain; 0 for a policy.
	Rule int
	// Target is the rule's target (or the policy) as written.
	Target string
	Policy bool
}

// Options control what is drawn.
type Options struct {
	// Tables limits the graph to these tables; empty means every table.
	Tables []string
	// Title is the graph's label, drawn at its top; empty for none.
	Title string
	// Highlight, when non-empty, is the trace of one or more packets: the
	// chains it entered and the jumps it took are highlighted.
	Highlight []Step
}

// Style of the drawing.
const (
	colourEntry     = "#dbe8fb" // built-in chains
	colourDocker    = "#eef6ee" // the Docker sub-cluster
	colourHighlight = "#d62728" // the packet's path
	colourVisited   = "#fde2e1"
)

// Write writes rs's chain graph as DOT to w.
func Write(w io.Writer, rs *parser.Ruleset, opts Options) error {
	bw := bufio.NewWriter(w)
	g := &writer{w: bw, opts: opts}
	g.prepare(rs)
	g.write(rs)
	return bw.Flush()
}

type chainKey struct{ table, chain string }

type ruleKey struct {
	table, chain string
	rule         int
}

type writer struct {
	w    *bufio.Writer
	opts Options
	// visited chains and the trace steps in each, in trace order.
	visited map[chainKey][]Step
	// took holds the rules of the trace (policy steps excluded).
	took map[ruleKey]bool
}

func (g *writer) prepare(rs *parser.Ruleset) {
	g.visited = map[chainKey][]Step{}
	g.took = map[ruleKey]bool{}
	for _, s := range g.opts.Highlight {
		k := chainKey{s.Table, s.Chain}
		g.visited[k] = append(g.visited[k], s)
		if !s.Policy && s.Rule > 0 {
			g.took[ruleKey{s.Table, s.Chain, s.Rule}] = true
		}
	}
	// A chain entered by a jump of the trace is visited even when none of
	// its rules matched (the packet fell off its end, back to the caller).
	for k := range g.took {
		c := rs.Chain(k.table, k.chain)
		if c == nil || k.rule > len(c.Rules) {
			continue
		}
		if t := c.Rules[k.rule-1].Target; t != nil && t.Kind == parser.TargetChain && t.Ref != nil {
			to := chainKey{k.table, t.Ref.Name}
			if _, ok := g.visited[to]; !ok {
				g.visited[to] = nil
			}
		}
	}
}

func (g *writer) printf(format string, args ...any) { fmt.Fprintf(g.w, format, args...) }

func (g *writer) wantTable(name string) bool {
	if len(g.opts.Tables) == 0 {
		return true
	}
	for _, t := range g.opts.Tables {
		if t == name {
			return true
		}
	}
	return false
}

func (g *writer) write(rs *parser.Ruleset) {
	g.printf("digraph dfw {\n")
	g.printf("\tgraph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.25, ranksep=0.6")
	if g.opts.Title != "" {
		g.printf(", label=%s, labelloc=t", quote(g.opts.Title))
	}
	g.printf("];\n")
	g.printf("\tnode [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n")
	g.printf("\tedge [fontname=\"Helvetica\", fontsize=9];\n")
	var edges []string
	for _, t := range rs.SortedTables() {
		if !g.wantTable(t.Name) {
			continue
		}
		edges = append(edges, g.table(t)...)
	}
	for _, e := range edges {
		g.printf("%s", e)
	}
	g.printf("}\n")
}

// chains returns t's chains in canonical order: built-in chains in hook
// order, then user chains by name.
func chains(t *parser.Table) []*parser.Chain {
	var out, user []*parser.Chain
	for _, n := range parser.BuiltinChains[t.Name] {
		if c := t.Chains[n]; c != nil {
			out = append(out, c)
		}
	}
	for _, c := range t.Chains {
		if !c.Builtin {
			user = append(user, c)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	return append(out, user...)
}

// table writes t's cluster and returns its edges (written after every
// cluster, so that no edge pulls a node into the wrong cluster).
func (g *writer) table(t *parser.Table) []string {
	hooks := t.Hooks()
	cs := chains(t)
	g.printf("\tsubgraph %s {\n", quote("cluster_"+t.Name))
	g.printf("\t\tlabel=%s; style=rounded; color=\"#777777\";\n", quote("table "+t.Name))
	var docker []*parser.Chain
	for _, c := range cs {
		if !c.Builtin && IsDockerChain(c.Name) {
			docker = append(docker, c)
			continue
		}
		g.node("\t\t", c, hooks)
	}
	if len(docker) > 0 {
		g.printf("\t\tsubgraph %s {\n", quote("cluster_"+t.Name+"_docker"))
		g.printf("\t\t\tlabel=\"created by Docker\"; style=\"rounded,filled\"; fillcolor=%s; color=\"#8fbc8f\";\n", quote(colourDocker))
		for _, c := range docker {
			g.node("\t\t\t", c, hooks)
		}
		g.printf("\t\t}\n")
	}
	g.printf("\t}\n")
	var edges []string
	for _, c := range cs {
		for i, r := range c.Rules {
			if r.Target == nil || r.Target.Kind != parser.TargetChain || r.Target.Ref == nil {
				continue
			}
			edges = append(edges, g.edge(t.Name, c, i+1, r))
		}
	}
	return edges
}

func nodeID(table, chain string) string { return quote(table + "/" + chain) }

func (g *writer) node(indent string, c *parser.Chain, hooks map[string]parser.Hook) {
	lines := []string{c.Name}
	var attrs []string
	fill := ""
	if c.Builtin {
		lines = append(lines, fmt.Sprintf("hook %s, policy %s", c.Name, c.Policy))
		attrs = append(attrs, "peripheries=2")
		fill = colourEntry
	}
	lines = append(lines, plural(len(c.Rules), "rule"))
	if !c.Builtin && hooks[c.Name] == 0 {
		lines = append(lines, "no hook reaches it")
		attrs = append(attrs, "style=\"rounded,dotted\"", "color=\"#999999\"", "fontcolor=\"#777777\"")
	}
	if steps, ok := g.visited[chainKey{c.Table, c.Name}]; ok {
		lines = append(lines, "packet: "+describe(steps))
		attrs = append(attrs, "color="+quote(colourHighlight), "penwidth=2.5")
		fill = colourVisited
	}
	if fill != "" {
		attrs = append(attrs, "fillcolor="+quote(fill))
	}
	attrs = append([]string{"label=" + quote(strings.Join(lines, "\n"))}, attrs...)
	g.printf("%s%s [%s];\n", indent, nodeID(c.Table, c.Name), strings.Join(attrs, ", "))
}

// describe lists the trace steps in one chain: "#1 DOCKER, #7 DROP",
// "policy ACCEPT".
func describe(steps []Step) string {
	if len(steps) == 0 {
		return "no rule matched"
	}
	var parts []string
	for _, s := range steps {
		switch {
		case s.Policy:
			parts = append(parts, "policy "+s.Target)
		case s.Target == "":
			parts = append(parts, fmt.Sprintf("#%d", s.Rule))
		default:
			parts = append(parts, fmt.Sprintf("#%d %s", s.Rule, s.Target))
		}
	}
	return strings.Join(parts, ", ")
}

func (g *writer) edge(table string, from *parser.Chain, idx int, r *parser.Rule) string {
	label := fmt.Sprintf("#%d", idx)
	var attrs []string
	if r.Target.Goto {
		label += " goto"
		attrs = append(attrs, "style=dashed")
	}
	attrs = append([]string{"label=" + quote(label)}, attrs...)
	if g.took[ruleKey{table, from.Name, idx}] {
		attrs = append(attrs, "color="+quote(colourHighlight), "fontcolor="+quote(colourHighlight), "penwidth=2.5")
	}
	return fmt.Sprintf("\t%s -> %s [%s];\n", nodeID(table, from.Name), nodeID(table, r.Target.Ref.Name), strings.Join(attrs, ", "))
}

// quote returns s as a DOT double-quoted string: backslashes and quotes
// escaped, newlines as \n (a centred line break in a label).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}
