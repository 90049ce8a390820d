package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/dfw-project/dfw/parser/graph"
)

const graphUsage = `Usage: dfwlint graph [flags] FILE

Write the chain graph of FILE, applied on top of the --base files, as
Graphviz DOT on standard output: one cluster per table, a node per chain
with its number of rules, an edge per rule that jumps (-j, solid) or goes
(-g, dashed) to a user chain, labelled with the rule's number in its chain.
Built-in chains, the entry points, are double boxes naming their hook and
policy; the chains Docker creates are grouped; chains no hook reaches are
dotted. "-" reads standard input.

Render it with Graphviz (Debian package graphviz), e.g. dot -Tsvg.
dfwsim --graph draws the same graph with a packet's path highlighted.

Examples:
  dfwlint graph /etc/iptables/rules.v4 | dot -Tsvg > rules.svg
  dfwlint graph --base live.save --table filter iptables.conf > filter.dot
  iptables-save | dfwlint graph - | dot -Tpng > live.png

Exit status: 0 written, 2 usage or input error (the graph is not written
when the ruleset has errors: run dfwlint check FILE to see them).
`

func runGraph(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("graph", graphUsage, stdout)
	var c common
	c.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "dfwlint graph: %d files given: the graph is of one ruleset (give one FILE, and the files beneath it with --base)\n", fs.NArg())
		return ExitError
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint graph: %v\n", err)
		return ExitError
	}
	results, err := load(fs.Args(), &c, opts, &reader{stdin: stdin})
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint graph: %v\n", err)
		return ExitError
	}
	res := results[0]
	if res.readErr != nil {
		fmt.Fprintf(stderr, "dfwlint graph: %v\n", res.readErr)
		return ExitError
	}
	for _, d := range res.diags {
		fmt.Fprintln(stderr, formatDiag(d))
	}
	if n := len(res.diags.Errors()); n > 0 {
		fmt.Fprintf(stderr, "dfwlint graph: %s: no graph written: fix the errors above (%s-restore would refuse this ruleset)\n", plural(n, "error"), res.loaded.Ruleset.Family.Tool())
		return ExitError
	}
	gopts := graph.Options{Title: graphTitle(res.name, c.bases)}
	if c.table != "" {
		gopts.Tables = []string{c.table}
	}
	if err := graph.Write(stdout, res.loaded.Ruleset, gopts); err != nil {
		fmt.Fprintf(stderr, "dfwlint graph: %v\n", err)
		return ExitError
	}
	return ExitClean
}

// graphTitle names the ruleset drawn: "FILE on top of BASE, BASE".
func graphTitle(name string, bases []string) string {
	if len(bases) == 0 {
		return name
	}
	bs := make([]string, len(bases))
	for i, b := range bases {
		if b == "-" {
			b = StdinName
		}
		bs[i] = b
	}
	return name + " on top of " + strings.Join(bs, ", ")
}
