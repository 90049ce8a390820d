package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/lint"
)

const policiesUsage = `Usage: dfwlint policies [flags] [ID or NAME...]

List the checks dfwlint check runs, with their documentation: the built-in
checks (each has a page, docs/checks/ID.md) and, with --policy, the user's
policies. Give IDs or names to show only those checks.

Formats:
  text       per check: ID, name, severity, title, description, links
  json       an array of {"id","name","severity","title","description",
             "related_resources","package","file","entrypoints","builtin"}
  markdown   a table of ID, name, severity and title (the README's)

Examples:
  dfwlint policies
  dfwlint policies DFW203 shared-chain-exposes-containers
  dfwlint policies --policy ./policies --format json

Exit status: 0 listed, 2 usage error or an unknown ID or name.
`

func runPolicies(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("policies", policiesUsage, stdout)
	format := fs.String("format", "text", "output format: text, json or markdown")
	policyDirs := fs.StringArray("policy", nil, "directory of Rego policies to list beside the built-in checks (repeatable)")
	switch err := fs.Parse(args); {
	case errors.Is(err, pflag.ErrHelp):
		// pflag has printed the usage.
		return ExitClean
	case err != nil:
		fmt.Fprintf(stderr, "dfwlint policies: %v (see dfwlint policies --help)\n", err)
		return ExitError
	}
	switch *format {
	case "text", "json", "markdown":
	default:
		fmt.Fprintf(stderr, "dfwlint policies: --format %s: unknown format (expected text, json or markdown)\n", *format)
		return ExitError
	}
	ps := lint.Policies()
	if len(*policyDirs) > 0 {
		linter, err := lint.New(lint.Options{PolicyDirs: *policyDirs})
		if err != nil {
			fmt.Fprintf(stderr, "dfwlint policies: %v\n", err)
			return ExitError
		}
		ps = linter.Policies()
	}
	if fs.NArg() > 0 {
		var sel []lint.Policy
		for _, a := range fs.Args() {
			found := false
			for _, p := range ps {
				if strings.EqualFold(p.ID, a) || p.Name == a {
					sel = append(sel, p)
					found = true
				}
			}
			if !found {
				fmt.Fprintf(stderr, "dfwlint policies: no check %q (run dfwlint policies to list them all)\n", a)
				return ExitError
			}
		}
		ps = sel
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if ps == nil {
			ps = []lint.Policy{}
		}
		if err := enc.Encode(ps); err != nil {
			fmt.Fprintf(stderr, "dfwlint policies: %v\n", err)
			return ExitError
		}
	case "markdown":
		fmt.Fprint(stdout, ChecksTable(ps))
	default:
		for i, p := range ps {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			writePolicy(stdout, p)
		}
	}
	return ExitClean
}

func writePolicy(w io.Writer, p lint.Policy) {
	fmt.Fprintf(w, "%s %s (%s): %s\n", p.ID, p.Name, p.Severity, p.Title)
	for _, line := range strings.Split(p.Description, "\n") {
		if line == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "    %s\n", line)
	}
	if p.Builtin {
		fmt.Fprintf(w, "  docs: %s\n", p.Docs())
	} else {
		fmt.Fprintf(w, "  file: %s\n", p.File)
	}
	for _, r := range p.Related {
		fmt.Fprintf(w, "  see:  %s\n", r)
	}
}

// ChecksTable is the Markdown table of checks (ID linked to its page for
// a built-in, name, severity, title) that the README holds between its
// "checks:start" and "checks:end" markers.
func ChecksTable(ps []lint.Policy) string {
	var b strings.Builder
	b.WriteString("| ID | name | severity | what it reports |\n| --- | --- | --- | --- |\n")
	for _, p := range ps {
		id := p.ID
		if p.Builtin {
			id = fmt.Sprintf("[%s](docs/checks/%s.md)", p.ID, p.ID)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", id, p.Name, p.Severity, strings.ReplaceAll(p.Title, "|", `\|`))
	}
	return b.String()
}
