package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/dfw-project/dfw/parser"
)

const parseUsage = `Usage: dfwlint parse [flags] FILE...

Parse each FILE (iptables-save output, iptables-restore input, or
iptables -S output), apply it on top of the --base files of its family
(and of Docker's iptables or ip6tables rules with --docker), and show what
the resulting ruleset holds. "-" reads standard input.

Formats:
  text   per file, its tables with their numbers of chains and rules;
         errors and warnings go to standard error as file:line:col: severity: message
  json   JSON Lines: one object per FILE, in the order given:
         {"file":F,"tables":{"filter":{"chains":5,"rules":12},...},
          "warnings":[{"file","line","column","message"}...],"errors":[...]}
  save   the ruleset as canonical iptables-save text (what iptables-save would
         print after loading it); errors and warnings go to standard error

Examples:
  dfwlint parse /etc/iptables/rules.v4
  dfwlint parse --format json --base live.save iptables.conf
  iptables-save | dfwlint parse --format save -

Exit status: 0 parsed without error (warnings allowed), 2 usage or input error.
`

func runParse(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	fs := newFlagSet("parse", parseUsage, stdout)
	var c common
	format := fs.String("format", "text", "output format: text, json or save")
	c.register(fs)
	c.docker.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	switch *format {
	case "text", "json", "save":
	default:
		fmt.Fprintf(stderr, "dfwlint parse: --format %s: unknown format (expected text, json or save)\n", *format)
		return ExitError
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint parse: %v\n", err)
		return ExitError
	}
	// Counting chains and rules, and the errors, needs no rule's matches:
	// only the canonical text does.
	opts.Lean = *format != "save"

	// Large files are mapped, not read (internal/mapfile): this command
	// and the parser's workers read them with faults turned into panics,
	// which recoverFault reports.
	rd := &reader{stdin: stdin, mapFiles: true}
	defer rd.release()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer rd.recoverFault("parse", stderr, &code)
	results, err := load(fs.Args(), &c, opts, rd)
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint parse: %v\n", err)
		return ExitError
	}
	code = ExitClean
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, res := range results {
		if res.readErr != nil || len(res.diags.Errors()) > 0 {
			code = ExitError
		}
		switch *format {
		case "json":
			if err := enc.Encode(parseObject(res, c.table)); err != nil {
				fmt.Fprintf(stderr, "dfwlint parse: %v\n", err)
				return ExitError
			}
			continue
		case "text":
			if res.readErr == nil {
				ts := tables(res.loaded.Ruleset, c.table)
				fmt.Fprintf(stdout, "%s: %s, %s\n", res.name, res.loaded.Ruleset.Family, plural(len(ts), "table"))
				for _, t := range ts {
					fmt.Fprintf(stdout, "  %-8s %s, %s\n", t.Name, plural(len(t.Chains), "chain"), plural(t.NumRules(), "rule"))
				}
				if len(c.bases) == 0 && len(c.docker.bases) == 0 {
					if l := dockerLayout(res.loaded.Ruleset); l != "" {
						fmt.Fprintf(stdout, "  Docker layout: %s\n", l)
					}
				}
			}
		case "save":
			if res.readErr == nil {
				if len(results) > 1 {
					fmt.Fprintf(stdout, "# dfwlint: %s\n", res.name)
				}
				rs := res.loaded.Ruleset
				if c.table != "" {
					rs = only(rs, c.table)
				}
				if err := rs.WriteSave(stdout); err != nil {
					fmt.Fprintf(stderr, "dfwlint parse: %v\n", err)
					return ExitError
				}
			}
		}
		if res.readErr != nil {
			fmt.Fprintf(stderr, "dfwlint parse: %v\n", res.readErr)
		}
		for _, d := range res.diags {
			fmt.Fprintln(stderr, formatDiag(d))
		}
	}
	return code
}

// only returns a ruleset with just the named table.
func only(rs *parser.Ruleset, table string) *parser.Ruleset {
	out := parser.NewRuleset(rs.Family)
	if t := rs.Tables[table]; t != nil {
		out.Tables[table] = t
	}
	return out
}

type tableCount struct {
	Chains int `json:"chains"`
	Rules  int `json:"rules"`
}

type parseResult struct {
	File     string                `json:"file"`
	Tables   map[string]tableCount `json:"tables"`
	Warnings []position            `json:"warnings"`
	Errors   []position            `json:"errors"`
}

func parseObject(res *result, table string) parseResult {
	out := parseResult{File: res.name, Tables: map[string]tableCount{}, Warnings: []position{}, Errors: []position{}}
	if res.readErr != nil {
		out.Errors = append(out.Errors, position{File: res.name, Message: res.readErr.Error()})
		return out
	}
	for _, t := range tables(res.loaded.Ruleset, table) {
		out.Tables[t.Name] = tableCount{Chains: len(t.Chains), Rules: t.NumRules()}
	}
	out.Warnings = positions(res.diags.Warnings())
	out.Errors = positions(res.diags.Errors())
	return out
}
