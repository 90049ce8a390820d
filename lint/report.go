package lint

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// Position is a related position of a finding, or an input error.
type Position struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// Finding is one problem, as DESIGN.md's JSON holds it.
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
	Related  []Position `json:"related"`
	// Witness is a packet (dfwsim's fields) or null.
	Witness json.RawMessage `json:"witness"`
}

func (f Finding) less(g Finding) bool {
	// Ties on position, check and message (the rules one line expands
	// to, a file applied twice) go by table, chain and rule, whatever
	// order the checks gave them in.
	return cmp.Or(
		cmp.Compare(f.File, g.File), cmp.Compare(f.Line, g.Line), cmp.Compare(f.Column, g.Column),
		cmp.Compare(f.ID, g.ID), cmp.Compare(f.Message, g.Message),
		cmp.Compare(f.Table, g.Table), cmp.Compare(f.Chain, g.Chain), cmp.Compare(f.Rule, g.Rule),
	) < 0
}

// Summary counts what a check run saw: files checked (--base files
// excepted), rules of the ruleset, and errors, warnings and infos. Errors
// are the input errors (the "errors" list) plus the findings of severity
// error, so that the count is the same in every output format.
type Summary struct {
	Files    int `json:"files"`
	Rules    int `json:"rules"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// InputErrors are a report's input errors. In JSON each has its file,
// line, column and message, as DESIGN.md's contract says: column (and
// line) 0 when the error is about the whole file (one that cannot be
// read), where a related Position leaves its column out.
type InputErrors []Position

// MarshalJSON writes the errors with their columns, 0 included.
func (es InputErrors) MarshalJSON() ([]byte, error) {
	type inputError struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Message string `json:"message"`
	}
	out := make([]inputError, len(es))
	for i, e := range es {
		out[i] = inputError(e)
	}
	// Not json.Marshal: it would escape <stdin>'s angle brackets, which
	// the encoders of the report leave as they are.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Report is the result of Check.
type Report struct {
	Findings []Finding   `json:"findings"`
	Errors   InputErrors `json:"errors"`
	Summary  Summary     `json:"summary"`
	// Suppressed are the findings a dfwlint:ignore comment silenced.
	Suppressed []Finding `json:"-"`

	policies []Policy  // for the rules of the SARIF output
	lines    lineTexts // for the columns of the SARIF output
	// errFamilies holds the families of the rulesets with input errors
	// from the parser (so that the summary names their tool).
	errFamilies families
}

// families is a set of rule families, one bit each.
type families uint8

func familyOf(f parser.Family) families { return 1 << f }

// restoreTool names what refuses the input errors of rulesets of these
// families: ip6tables-restore when all are IPv6, else iptables-restore
// (one IPv4 ruleset, or rulesets of both families).
func (fs families) restoreTool() string {
	if fs == familyOf(parser.IPv6) {
		return "ip6tables-restore"
	}
	return "iptables-restore"
}

func newReport() *Report { return &Report{Findings: []Finding{}, Errors: []Position{}} }

// NewReport returns an empty report, e.g. for a file that could not be read.
func NewReport() *Report { return newReport() }

// Merge appends the findings and errors of other reports (a fleet) and
// adds up their summaries.
func (r *Report) Merge(others ...*Report) {
	for _, o := range others {
		r.Findings = append(r.Findings, o.Findings...)
		r.Errors = append(r.Errors, o.Errors...)
		r.Suppressed = append(r.Suppressed, o.Suppressed...)
		r.errFamilies |= o.errFamilies
		r.lines.merge(o.lines)
		r.Summary.Files += o.Summary.Files
		r.Summary.Rules += o.Summary.Rules
	}
	r.finish()
}

// finish sorts, removes duplicates and counts.
func (r *Report) finish() {
	r.Findings = sortFindings(r.Findings)
	sort.SliceStable(r.Errors, func(i, j int) bool {
		a, b := r.Errors[i], r.Errors[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	r.Summary.Errors = len(r.Errors)
	r.Summary.Warnings, r.Summary.Infos = 0, 0
	for _, f := range r.Findings {
		switch f.Severity {
		case "error":
			r.Summary.Errors++
		case "warning":
			r.Summary.Warnings++
		case "info":
			r.Summary.Infos++
		}
	}
}

// sortFindings sorts fs (stably) and drops a finding the same as the one
// before it (ID, position and message), in place.
func sortFindings(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].less(fs[j]) })
	out := fs[:0]
	for i, f := range fs {
		if i > 0 && out[len(out)-1].same(f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// same reports whether f and g are one finding: the same ID, position and
// message.
func (f Finding) same(g Finding) bool {
	return f.ID == g.ID && f.File == g.File && f.Line == g.Line && f.Column == g.Column && f.Message == g.Message
}

var severityRank = map[string]int{"info": 1, "warning": 2, "error": 3, "never": 4}

// ValidFailOn reports whether s is a --fail-on value: info, warning,
// error or never.
func ValidFailOn(s string) bool { _, ok := severityRank[s]; return ok }

// ExitCode is dfwlint check's exit status: 2 when there is an input error,
// else 1 when a finding is at or above failOn ("" means warning), else 0.
func (r *Report) ExitCode(failOn string) int {
	if len(r.Errors) > 0 {
		return 2
	}
	if failOn == "" {
		failOn = "warning"
	}
	rank, ok := severityRank[failOn]
	if !ok {
		return 2
	}
	for _, f := range r.Findings {
		if severityRank[f.Severity] >= rank {
			return 1
		}
	}
	return 0
}

// WriteJSON writes the report as DESIGN.md's JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteGitHub writes GitHub workflow commands, one per finding and error
// (WriteGitHubOptions with zero options).
func (r *Report) WriteGitHub(w io.Writer) error { return r.WriteGitHubOptions(w, TextOptions{}) }

// WriteGitHubOptions writes GitHub workflow commands, one per finding and
// error: ::error file=F,line=L,col=C,title=DFW203::message, F named as
// opts.Paths says (relative to the repository's root, as the runner reads
// it). An error about a whole file (one that cannot be read) has no line:
// its command names the file alone.
func (r *Report) WriteGitHubOptions(w io.Writer, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	for _, e := range r.Errors {
		writeGitHubError(bw, opts.Paths, e)
	}
	for _, f := range r.Findings {
		writeGitHubFinding(bw, opts.Paths, f)
	}
	return bw.Flush()
}

func writeGitHubError(bw *bufio.Writer, paths Paths, e Position) {
	fmt.Fprintf(bw, "::error %s,title=%s::%s\n", ghWhere(paths, e.File, e.Line, e.Column), ghProp("input error"), ghData(e.Message))
}

func writeGitHubFinding(bw *bufio.Writer, paths Paths, f Finding) {
	level := map[string]string{"error": "error", "warning": "warning", "info": "notice"}[f.Severity]
	msg := f.Message
	for _, rel := range f.Related {
		msg += "\n" + pos(rel.File, rel.Line, rel.Column) + ": " + rel.Message
	}
	fmt.Fprintf(bw, "::%s %s,title=%s::%s\n",
		level, ghWhere(paths, f.File, f.Line, f.Column), ghProp(f.ID+" "+f.Name), ghData(msg))
}

// ghWhere is a command's file, line and col properties: line and col only
// for a position in the file (GitHub's lines and columns start at 1).
func ghWhere(paths Paths, file string, line, col int) string {
	name, _ := paths.locate(file)
	if line <= 0 {
		return "file=" + ghProp(name)
	}
	return fmt.Sprintf("file=%s,line=%d,col=%d", ghProp(name), line, max(col, 1))
}

// ghData escapes a workflow command's message; ghProp a property value.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func pos(file string, line, col int) string {
	switch {
	case line <= 0:
		return file
	case col <= 0:
		return fmt.Sprintf("%s:%d", file, line)
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}

func plural(n int, s string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", s)
	}
	return fmt.Sprintf("%d %ss", n, s)
}
