package lint

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/dfw-project/dfw/parser"
)

// SARIFSchema is the $schema of the SARIF output.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	ColumnKind         string                   `json:"columnKind"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult            `json:"results"`
	Invocations        []sarifInvocation        `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name,omitempty"`
	ShortDescription     *sarifText      `json:"shortDescription,omitempty"`
	FullDescription      *sarifText      `json:"fullDescription,omitempty"`
	HelpURI              string          `json:"helpUri,omitempty"`
	Help                 *sarifText      `json:"help,omitempty"`
	DefaultConfiguration sarifConfig     `json:"defaultConfiguration"`
	Properties           *sarifRuleProps `json:"properties,omitempty"`
}

// sarifRuleProps are the properties of a rule that GitHub code scanning
// reads: tags to filter by, and precision and problem.severity to order
// and show results by.
type sarifRuleProps struct {
	Tags            []string `json:"tags,omitempty"`
	Precision       string   `json:"precision,omitempty"`
	ProblemSeverity string   `json:"problem.severity,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID           string          `json:"ruleId"`
	RuleIndex        int             `json:"ruleIndex"`
	Level            string          `json:"level"`
	Message          sarifText       `json:"message"`
	Locations        []sarifLocation `json:"locations"`
	RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
	Properties       map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               *int                  `json:"id,omitempty"`
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
	Message          *sarifText            `json:"message,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

var sarifLevel = map[string]string{"error": "error", "warning": "warning", "info": "note"}

// sarifColumnKind is how the log counts columns: in UTF-16 code units,
// SARIF's default, which GitHub code scanning reads (it ignores
// columnKind); written all the same for the viewers that read it.
const sarifColumnKind = "utf16CodeUnits"

func sarifLoc(paths Paths, lines lineTexts, file string, line, col int, msg string, id *int) sarifLocation {
	l := sarifLocation{ID: id, PhysicalLocation: sarifPhysicalLocation{ArtifactLocation: paths.artifact(file)}}
	if line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: line, StartColumn: lines.utf16Column(file, line, col)}
	}
	if msg != "" {
		l.Message = &sarifText{Text: msg}
	}
	return l
}

// WriteSARIF writes the report as a SARIF 2.1.0 log with one run
// (WriteSARIFOptions with zero options: relative file names are taken as
// relative to the root).
func (r *Report) WriteSARIF(w io.Writer) error { return r.WriteSARIFOptions(w, TextOptions{}) }

// WriteSARIFOptions writes the report as a SARIF 2.1.0 log with one run;
// the rules are the checks' metadata; input errors are tool
// notifications. Files are named as opts.Paths says: relative to the
// root (uriBaseId %SRCROOT%, which originalUriBaseIds defines when the
// root is known), or by a file URI when outside it. The input errors are
// both tool notifications and results of rule DFW000, after the findings'.
func (r *Report) WriteSARIFOptions(w io.Writer, opts TextOptions) error {
	rules := newSARIFRules(r.policies)
	results := []sarifResult{}
	for _, f := range r.Findings {
		results = append(results, sarifResultOf(opts.Paths, r.lines, f, rules.indexOf(f)))
	}
	for _, e := range r.Errors {
		results = append(results, sarifErrorResult(opts.Paths, r.lines, e, rules))
	}
	return encodeSARIF(w, sarifLogOf(opts.Paths, r.lines, rules, results, r.Errors))
}

// sarifRules are the rules of a run: the checks' metadata first, then a
// rule for each ID of a finding that no check describes, in the order the
// findings come.
type sarifRules struct {
	rules []sarifRule
	index map[string]int
}

func newSARIFRules(policies []Policy) *sarifRules {
	s := &sarifRules{rules: []sarifRule{}, index: map[string]int{}}
	for _, p := range policies {
		s.add(p)
	}
	for _, p := range inputPolicies {
		if _, ok := s.index[p.ID]; ok {
			continue
		}
		rule := sarifRuleOf(p)
		rule.Properties.Precision = "very-high"
		s.index[p.ID] = len(s.rules)
		s.rules = append(s.rules, rule)
	}
	return s
}

// InputErrorID is the rule of SARIF's results for the input errors (a
// file iptables-restore would refuse or load otherwise than written, one
// that cannot be read): code scanning shows results, not the tool's
// notifications, which keep them too.
const InputErrorID = "DFW000"

// inputPolicies are the rules of what the parser reports, which no check
// describes: the input errors (DFW000 input-error) and the parser's
// warnings (DFW001 parse-warning), both documented in docs/errors.md.
var inputPolicies = []Policy{
	{
		ID: InputErrorID, Name: "input-error", Severity: "error", Package: "dfw.input.error",
		Title: "iptables-restore would refuse this ruleset, or load something other than what is written",
		Description: "The file cannot be loaded as written: a syntax error, a value iptables refuses or silently " +
			"changes (--dport 70000), a jump loop the kernel refuses, a file that cannot be read. The " +
			"result points at the offending token; no check judges a file with an input error.",
		Related: []string{ErrorsURL},
	},
	{
		ID: "DFW001", Name: "parse-warning", Severity: "warning", Package: "dfw.input.warning",
		Title: "the parser's warning about the text",
		Description: "A problem that does not stop iptables-restore from loading the file: a line that is " +
			"not valid UTF-8, a dump that says tables are missing from it.",
		Related: []string{ErrorsURL},
	},
}

func (s *sarifRules) add(p Policy) {
	if _, ok := s.index[p.ID]; ok {
		return
	}
	s.index[p.ID] = len(s.rules)
	s.rules = append(s.rules, sarifRuleOf(p))
}

// sarifProblemSeverity is GitHub's problem.severity of each severity.
var sarifProblemSeverity = map[string]string{"error": "error", "warning": "warning", "info": "recommendation"}

// fullDescriptionMax is how long a fullDescription GitHub shows.
const fullDescriptionMax = 1024

// sarifRuleOf is the rule of a check: its title and description (whole in
// help, cut to GitHub's length in fullDescription), its page as helpUri
// (a user's policy has none: its first related resource then) with the
// related resources in help, and the properties code scanning sorts and
// filters by: problem.severity, precision (high for a built-in check,
// none claimed for a user's policy), and the tags "iptables" and the
// check's group (docker, graph, host, meta: the package under dfw.).
func sarifRuleOf(p Policy) sarifRule {
	rule := sarifRule{ID: p.ID, Name: p.Name, DefaultConfiguration: sarifConfig{Level: sarifLevel[p.Severity]}}
	if rule.DefaultConfiguration.Level == "" {
		rule.DefaultConfiguration.Level = "warning"
	}
	title := cmp.Or(p.Title, p.Name, p.ID)
	desc := unwrap(p.Description)
	rule.ShortDescription = &sarifText{Text: title}
	rule.FullDescription = &sarifText{Text: clip(cmp.Or(desc, title), fullDescriptionMax)}
	rule.HelpURI = p.Docs()
	see := p.Related
	if rule.HelpURI == "" && len(see) > 0 {
		rule.HelpURI, see = see[0], see[1:]
	}
	var text, md strings.Builder
	text.WriteString(title + ".")
	md.WriteString("**" + markdownEscape(title) + "**")
	if desc != "" {
		text.WriteString("\n\n" + desc)
		md.WriteString("\n\n" + markdownEscape(desc))
	}
	if p.Docs() != "" {
		text.WriteString("\n\nDocumentation: " + p.Docs())
		fmt.Fprintf(&md, "\n\n[%s %s](%s): why it matters, bad and good examples, how to fix it.", p.ID, p.Name, p.Docs())
	}
	if len(see) > 0 {
		text.WriteString("\n\nSee also:")
		md.WriteString("\n\nSee also:\n")
		for _, r := range see {
			text.WriteString("\n" + r)
			md.WriteString("\n- <" + r + ">")
		}
	}
	rule.Help = &sarifText{Text: text.String(), Markdown: md.String()}
	props := &sarifRuleProps{ProblemSeverity: sarifProblemSeverity[p.Severity]}
	if p.Builtin {
		props.Precision = "high"
	}
	props.Tags = []string{"iptables"}
	if group, _, ok := strings.Cut(strings.TrimPrefix(p.Package, "dfw."), "."); ok && strings.HasPrefix(p.Package, "dfw.") {
		props.Tags = append(props.Tags, group)
	}
	rule.Properties = props
	return rule
}

// unwrap joins the lines of each paragraph of a METADATA description
// (wrapped at 72 columns in the policy's comment) into one, paragraphs
// separated by a blank line.
func unwrap(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.TrimSpace(strings.Join(paras, "\n\n"))
}

// clip cuts s to at most max characters: at the end of its last sentence
// that fits, else at max-1 characters and an ellipsis.
func clip(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	head := string(r[:max])
	if i := strings.LastIndex(head, ". "); i > 0 {
		return head[:i+1]
	}
	return string(r[:max-1]) + "…"
}

// markdownEscape escapes the characters that Markdown would read as
// emphasis, code, links or HTML in plain text.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// indexOf is the index of f's rule, added when f is the first finding of
// an ID no check describes.
func (s *sarifRules) indexOf(f Finding) int {
	if _, ok := s.index[f.ID]; !ok {
		s.add(Policy{ID: f.ID, Name: f.Name, Severity: f.Severity})
	}
	return s.index[f.ID]
}

// sarifResultOf is the result of a finding whose rule is at ruleIndex.
func sarifResultOf(paths Paths, lines lineTexts, f Finding, ruleIndex int) sarifResult {
	res := sarifResult{
		RuleID: f.ID, RuleIndex: ruleIndex, Level: sarifLevel[f.Severity], Message: sarifText{Text: f.Message},
		Locations: []sarifLocation{sarifLoc(paths, lines, f.File, f.Line, f.Column, "", nil)},
	}
	for i, rel := range f.Related {
		id := i + 1
		res.RelatedLocations = append(res.RelatedLocations, sarifLoc(paths, lines, rel.File, rel.Line, rel.Column, rel.Message, &id))
	}
	props := map[string]any{}
	if f.Table != "" {
		props["table"] = f.Table
	}
	if f.Chain != "" {
		props["chain"] = f.Chain
	}
	if f.Rule > 0 {
		props["rule"] = f.Rule
	}
	if len(f.Witness) > 0 {
		props["witness"] = f.Witness
	}
	if len(props) > 0 {
		res.Properties = props
	}
	return res
}

// sarifErrorResult is the result of an input error: rule DFW000, level
// error, at the error's position.
func sarifErrorResult(paths Paths, lines lineTexts, e Position, rules *sarifRules) sarifResult {
	return sarifResult{
		RuleID: InputErrorID, RuleIndex: rules.index[InputErrorID], Level: "error",
		Message:   sarifText{Text: strings.TrimSpace(e.Message)},
		Locations: []sarifLocation{sarifLoc(paths, lines, e.File, e.Line, e.Column, "", nil)},
	}
}

// sarifLogOf is the log of one run; the input errors are tool
// notifications (and results, which the caller gives).
func sarifLogOf(paths Paths, lines lineTexts, rules *sarifRules, results []sarifResult, errs []Position) sarifLog {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "dfwlint", Rules: rules.rules}}, ColumnKind: sarifColumnKind, Results: results}
	if root := paths.rootURI(); root != "" {
		run.OriginalURIBaseIDs = map[string]sarifArtifact{uriBase: {URI: root}}
	}
	inv := sarifInvocation{ExecutionSuccessful: len(errs) == 0}
	for _, e := range errs {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: strings.TrimSpace(e.Message)},
			Locations: []sarifLocation{sarifLoc(paths, lines, e.File, e.Line, e.Column, "", nil)},
		})
	}
	run.Invocations = []sarifInvocation{inv}
	return sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}}
}

func encodeSARIF(w io.Writer, log sarifLog) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// lineTexts are the texts of the lines outside ASCII (parser.File.Wide)
// that a report's positions point at, by file and line: the positions
// count bytes, SARIF's columns UTF-16 code units. Nil when there are none.
type lineTexts map[string]map[int]string

func (t *lineTexts) add(file string, line int, text string) {
	if *t == nil {
		*t = lineTexts{}
	}
	if (*t)[file] == nil {
		(*t)[file] = map[int]string{}
	}
	(*t)[file][line] = text
}

func (t *lineTexts) merge(o lineTexts) {
	for file, lines := range o {
		for line, text := range lines {
			t.add(file, line, text)
		}
	}
}

// utf16Column is the column, in UTF-16 code units, of the byte column col
// of file's line: the code units of the text before it, plus one. A byte
// that is not valid UTF-8 counts as one unit, as does each byte past the
// line's end.
func (t lineTexts) utf16Column(file string, line, col int) int {
	text, ok := t[file][line]
	if !ok || col <= 1 {
		return col
	}
	before, past := text, 0
	if col-1 < len(text) {
		before = text[:col-1]
	} else {
		past = col - 1 - len(text)
	}
	n := 0
	for _, r := range before {
		n += utf16.RuneLen(r)
	}
	return n + past + 1
}

// lineTextsOf are the texts of the lines outside ASCII of files that r's
// findings, their related positions and its input errors point at.
func lineTextsOf(r *Report, files []*parser.File) lineTexts {
	wide := map[string]map[int]string{}
	for _, f := range files {
		if f.Wide != nil {
			wide[f.Name] = f.Wide
		}
	}
	if len(wide) == 0 {
		return nil
	}
	var t lineTexts
	at := func(file string, line int) {
		if text, ok := wide[file][line]; ok {
			t.add(file, line, text)
		}
	}
	for _, f := range r.Findings {
		at(f.File, f.Line)
		for _, rel := range f.Related {
			at(rel.File, rel.Line)
		}
	}
	for _, e := range r.Errors {
		at(e.File, e.Line)
	}
	return t
}
