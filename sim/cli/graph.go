package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/parser/graph"
	"github.com/dfw-project/dfw/sim"
)

// writeGraph writes the chain graph of rs as DOT (dfwsim --graph), with the
// chains and jumps of every packet's trace highlighted.
func writeGraph(w io.Writer, rs *parser.Ruleset, files []string, results []*sim.Result) error {
	var steps []graph.Step
	for _, res := range results {
		for _, s := range res.Trace {
			steps = append(steps, graph.Step{Table: s.Table, Chain: s.Chain, Rule: s.Rule, Target: s.Target, Policy: s.Policy})
		}
	}
	return graph.Write(w, rs, graph.Options{Title: graphTitle(files, results), Highlight: steps})
}

// graphTitle names the ruleset and the packets drawn.
func graphTitle(files []string, results []*sim.Result) string {
	var b strings.Builder
	b.WriteString(strings.Join(files, " + "))
	for i, res := range results {
		b.WriteString("\n")
		b.WriteString(packetLine(i+1, res))
	}
	return b.String()
}

// packetLine is "packet N: PACKET in IFACE: VERDICT (DISPOSITION)".
func packetLine(n int, r *sim.Result) string {
	p := &r.Packet
	where := "in " + p.In
	if p.Local {
		where = "generated locally"
	}
	return fmt.Sprintf("packet %d: %s %s: %s (%s)", n, p.String(), where, r.Verdict, r.Disposition)
}
