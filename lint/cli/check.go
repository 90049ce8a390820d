package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/dfw-project/dfw/parser"
)

const checkUsage = `Usage: dfwlint check [flags] FILE...

Check each FILE (iptables-save output, iptables-restore input, or
iptables -S output), applied on top of the --base files. "-" reads standard
input. For now the checks are those of the parser: what iptables-restore or
the kernel would refuse (errors) and what loads but is doubtful (warnings).

Formats:
  text   one line per problem, file:line:col: severity: message, then a summary
  json   {"findings":[...],"errors":[{"file","line","column","message"}...],
          "summary":{"files":N,"rules":N,"errors":N,"warnings":N,"infos":N}}
         Parser warnings are findings with id DFW001 (parse-warning).

Examples:
  dfwlint check /etc/iptables/rules.v4
  dfwlint check --base live.save iptables.conf
  dfwlint check --format json hosts/*.save

Exit status: 0 clean, 1 a finding at or above --fail-on, 2 usage or input error.
`

// Finding is one problem found in a ruleset, as the JSON output holds it.
type Finding struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Severity string     `json:"severity"`
	Message  string     `json:"message"`
	File     string     `json:"file"`
	Line     int        `json:"line"`
	Column   int        `json:"column"`
	Table    string     `json:"table,omitempty"`
	Chain    string     `json:"chain,omitempty"`
	Rule     int        `json:"rule,omitempty"`
	Related  []position `json:"related"`
	Witness  any        `json:"witness"`
}

// Summary counts what a check run saw.
type Summary struct {
	Files    int `json:"files"`
	Rules    int `json:"rules"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// Report is the JSON output of dfwlint check.
type Report struct {
	Findings []Finding  `json:"findings"`
	Errors   []position `json:"errors"`
	Summary  Summary    `json:"summary"`
}

var severityRank = map[string]int{"info": 1, "warning": 2, "error": 3, "never": 4}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", checkUsage, stdout)
	var c common
	format := fs.String("format", "text", "output format: text or json")
	failOn := fs.String("fail-on", "warning", "exit 1 when a finding has this severity or above: info, warning, error or never")
	c.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "dfwlint check: --format %s: unknown format (expected text or json)\n", *format)
		return ExitError
	}
	if _, ok := severityRank[*failOn]; !ok {
		fmt.Fprintf(stderr, "dfwlint check: --fail-on %s: unknown severity (expected info, warning, error or never)\n", *failOn)
		return ExitError
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
		return ExitError
	}
	results, err := load(fs.Args(), &c, opts, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
		return ExitError
	}
	rep := Report{Findings: []Finding{}, Errors: []position{}}
	var all parser.ErrorList
	for _, res := range results {
		rep.Summary.Files++
		if res.readErr != nil {
			rep.Errors = append(rep.Errors, position{File: res.name, Message: res.readErr.Error()})
			continue
		}
		rep.Summary.Rules += res.loaded.Ruleset.NumRules()
		for _, d := range res.diags {
			all = append(all, d)
			if d.Severity == parser.SevError {
				rep.Errors = append(rep.Errors, positions(parser.ErrorList{d})...)
				continue
			}
			rep.Findings = append(rep.Findings, Finding{
				ID: "DFW001", Name: "parse-warning", Severity: "warning", Message: d.Msg,
				File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Related: []position{},
			})
		}
	}
	rep.Summary.Errors = len(rep.Errors)
	for _, f := range rep.Findings {
		switch f.Severity {
		case "warning":
			rep.Summary.Warnings++
		case "info":
			rep.Summary.Infos++
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "dfwlint check: %v\n", err)
			return ExitError
		}
	} else {
		for _, res := range results {
			if res.readErr != nil {
				fmt.Fprintf(stdout, "%s: error: %v\n", res.name, res.readErr)
			}
		}
		for _, d := range all {
			fmt.Fprintln(stdout, formatDiag(d))
		}
		s := rep.Summary
		fmt.Fprintf(stdout, "%s, %s: %s, %s\n", plural(s.Files, "file"), plural(s.Rules, "rule"),
			plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	}
	if rep.Summary.Errors > 0 {
		return ExitError
	}
	rank := severityRank[*failOn]
	for _, f := range rep.Findings {
		if severityRank[f.Severity] >= rank {
			return ExitFindings
		}
	}
	return ExitClean
}
