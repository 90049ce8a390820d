package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
)

const inputUsage = `Usage: dfwlint input [flags] FILE

Print the input document that every policy of dfwlint check sees for FILE,
applied on top of the --base files (and, with --docker, of Docker's
iptables or ip6tables rules, as FILE's family is), as indented JSON: files,
commands, tables, chains, rules with typed matches, the Docker and host
facts, the configuration and the analyses' facts. Its schema is
policies/input.schema.json; docs/policies.md shows how to write a policy
against it. "-" reads standard input.

Examples:
  dfwlint input iptables.save > input.json
  dfwlint input --base live.save iptables.conf | jq '.rules[] | select(.chain == "DOCKER-USER")'
  dfwlint input --external ens33 --config .dfwlint.yaml rules.v4
  dfwlint input --docker 28 --publish 5432:5432 iptables.conf | jq .docker.published

Exit status: 0 written, 2 usage or input error (the document is written
even then: policies see rulesets with errors too).
`

func runInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("input", inputUsage, stdout)
	var c common
	config := fs.String("config", "", "configuration file (default .dfwlint.yaml when it exists)")
	external := fs.StringArray("external", nil, "an external interface (repeatable); overrides the config and the inference from the rules")
	budget := fs.Duration("budget", analysis.DefaultTimeout, "time each analysis may take; an analysis cut short is marked incomplete in the document")
	c.register(fs)
	c.docker.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "dfwlint input: %d files given: the document is of one ruleset (give one FILE, and the files beneath it with --base)\n", fs.NArg())
		return ExitError
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	for _, name := range *external {
		if err := lint.CheckIfaceName(name); err != nil {
			fmt.Fprintf(stderr, "dfwlint input: --external: %v\n", err)
			return ExitError
		}
	}
	if len(*external) > 0 {
		if cfg == nil {
			cfg = &lint.Config{}
		}
		cfg.ExternalInterfaces = *external
	}
	linter, err := lint.New(lint.Options{Config: cfg})
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	results, err := load(fs.Args(), &c, opts, &reader{stdin: stdin})
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	res := results[0]
	if res.readErr != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", res.readErr)
		return ExitError
	}
	for _, d := range res.diags {
		fmt.Fprintln(stderr, formatDiag(d))
	}
	// The files beneath FILE: the --docker baseline and the --base files
	// of its family, as load applied them.
	doc, err := linter.Input(context.Background(), res.loaded, lint.CheckOptions{Base: len(res.loaded.Files) - 1, Analyzer: newAnalyzer(*budget)})
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintf(stderr, "dfwlint input: %v\n", err)
		return ExitError
	}
	if len(res.diags.Errors()) > 0 {
		return ExitError
	}
	return ExitClean
}
