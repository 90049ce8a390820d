package lint

import (
	"encoding/json"
	"io"
	"strings"
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
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	Name                 string      `json:"name,omitempty"`
	ShortDescription     *sarifText  `json:"shortDescription,omitempty"`
	FullDescription      *sarifText  `json:"fullDescription,omitempty"`
	HelpURI              string      `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
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

func sarifLoc(paths Paths, file string, line, col int, msg string, id *int) sarifLocation {
	l := sarifLocation{ID: id, PhysicalLocation: sarifPhysicalLocation{ArtifactLocation: paths.artifact(file)}}
	if line > 0 {
		l.PhysicalLocation.Region = &sarifRegion{StartLine: line, StartColumn: col}
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
// root is known), or by a file URI when outside it.
func (r *Report) WriteSARIFOptions(w io.Writer, opts TextOptions) error {
	rules := newSARIFRules(r.policies)
	results := []sarifResult{}
	for _, f := range r.Findings {
		results = append(results, sarifResultOf(opts.Paths, f, rules.indexOf(f)))
	}
	return encodeSARIF(w, sarifLogOf(opts.Paths, rules, results, r.Errors))
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
	return s
}

func (s *sarifRules) add(p Policy) {
	if _, ok := s.index[p.ID]; ok {
		return
	}
	rule := sarifRule{ID: p.ID, Name: p.Name, DefaultConfiguration: sarifConfig{Level: sarifLevel[p.Severity]}}
	if rule.DefaultConfiguration.Level == "" {
		rule.DefaultConfiguration.Level = "warning"
	}
	if p.Title != "" {
		rule.ShortDescription = &sarifText{Text: p.Title}
	}
	if p.Description != "" {
		rule.FullDescription = &sarifText{Text: p.Description}
	}
	if len(p.Related) > 0 {
		rule.HelpURI = p.Related[0]
	}
	s.index[p.ID] = len(s.rules)
	s.rules = append(s.rules, rule)
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
func sarifResultOf(paths Paths, f Finding, ruleIndex int) sarifResult {
	res := sarifResult{
		RuleID: f.ID, RuleIndex: ruleIndex, Level: sarifLevel[f.Severity], Message: sarifText{Text: f.Message},
		Locations: []sarifLocation{sarifLoc(paths, f.File, f.Line, f.Column, "", nil)},
	}
	for i, rel := range f.Related {
		id := i + 1
		res.RelatedLocations = append(res.RelatedLocations, sarifLoc(paths, rel.File, rel.Line, rel.Column, rel.Message, &id))
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

// sarifLogOf is the log of one run; the input errors are tool
// notifications.
func sarifLogOf(paths Paths, rules *sarifRules, results []sarifResult, errs []Position) sarifLog {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "dfwlint", Rules: rules.rules}}, Results: results}
	if root := paths.rootURI(); root != "" {
		run.OriginalURIBaseIDs = map[string]sarifArtifact{uriBase: {URI: root}}
	}
	inv := sarifInvocation{ExecutionSuccessful: len(errs) == 0}
	for _, e := range errs {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "error", Message: sarifText{Text: strings.TrimSpace(e.Message)},
			Locations: []sarifLocation{sarifLoc(paths, e.File, e.Line, e.Column, "", nil)},
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
