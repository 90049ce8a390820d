package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/dfw-project/dfw/internal/termstyle"
)

// A Stream writes the reports of many rulesets (dfwlint check over a
// fleet) as one output, byte for byte what their merged Report would
// write, without holding the reports: each is written, or spooled, when it
// is added and then dropped. Only the input errors (few), the IDs seen (for
// SARIF's rules), the lines outside ASCII the positions point at (for
// SARIF's columns) and the counts are kept until Close.
//
// JSON is written as the reports come: findings, then the errors and the
// summary at Close. Text, GitHub and SARIF write the input errors (text,
// GitHub) or the rules (SARIF) before the findings, and neither is known
// before the last report: their findings are spooled (in memory up to
// 64 MiB, then in a temporary file, removed at Close) and written at Close.
type Stream struct {
	bw     *bufio.Writer
	format string
	st     termstyle.Style
	quiet  bool
	paths  Paths

	pending     *Report // the reports of pendingName so far
	pendingName string
	started     bool

	last    Finding // the last finding written, for the duplicates
	written int     // findings written
	sum     Summary
	rank    int // the highest severity rank among the findings written
	errs    []streamError
	// inputErrors counts the input errors, duplicates dropped (at Close).
	inputErrors int
	errFamilies families // as Report's

	policies []Policy  // of the report first given (SARIF's rules)
	lines    lineTexts // of every report (SARIF's columns)
	ids      []Policy  // SARIF: each finding ID, at its first finding
	idSeen   map[string]bool

	spool *spool
	jbuf  bytes.Buffer
	jenc  *json.Encoder
	err   error
}

// streamError is an input error with where its report was given, so that
// Close sorts the errors as Merge does (stably, after the FILEs' order).
type streamError struct {
	Position
	order, idx int
}

// NewStream starts a stream that writes format ("text", "json", "sarif"
// or "github") to w; opts apply to text, and their Paths to SARIF and
// GitHub.
func NewStream(w io.Writer, format string, opts TextOptions) *Stream {
	s := &Stream{bw: bufio.NewWriterSize(w, 64<<10), format: format, st: termstyle.Style{On: opts.Colour}, quiet: opts.Quiet, paths: opts.Paths, idSeen: map[string]bool{}}
	switch format {
	case "json":
		s.jenc = json.NewEncoder(&s.jbuf)
		s.jenc.SetEscapeHTML(false)
		s.jenc.SetIndent("    ", "  ")
	case "text", "github", "sarif":
		s.spool = &spool{}
	default:
		s.err = fmt.Errorf("unknown format %q", format)
	}
	return s
}

// Add takes the report of the FILE named name (as its findings name it),
// the order-th FILE given. Reports must come in the order of their names
// (byte order; the reports of one name in the order given), which is the
// order of the merged report's findings: Add writes the previous name's
// findings, Close the last's. The report is not used after Add.
func (s *Stream) Add(r *Report, name string, order int) error {
	if s.err != nil {
		return s.err
	}
	if s.started && name < s.pendingName {
		return fmt.Errorf("stream: report of %s after %s", name, s.pendingName)
	}
	for i, e := range r.Errors {
		s.errs = append(s.errs, streamError{e, order, i})
	}
	s.errFamilies |= r.errFamilies
	s.sum.Files += r.Summary.Files
	s.sum.Rules += r.Summary.Rules
	if order == 0 {
		s.policies = r.policies
	}
	s.lines.merge(r.lines)
	if s.started && name == s.pendingName {
		// The same FILE given again: its findings merge with the first's.
		s.pending.Findings = sortFindings(append(s.pending.Findings, r.Findings...))
		return nil
	}
	s.flush()
	s.pending, s.pendingName, s.started = &Report{Findings: r.Findings}, name, true
	return s.err
}

// flush writes the pending findings.
func (s *Stream) flush() {
	if s.pending == nil {
		return
	}
	for _, f := range s.pending.Findings {
		if s.written > 0 && s.last.same(f) {
			continue
		}
		s.writeFinding(f)
		s.last = f
		s.written++
		switch f.Severity {
		case "error":
			s.sum.Errors++
		case "warning":
			s.sum.Warnings++
		case "info":
			s.sum.Infos++
		}
		s.rank = max(s.rank, severityRank[f.Severity])
		if !s.idSeen[f.ID] {
			s.idSeen[f.ID] = true
			s.ids = append(s.ids, Policy{ID: f.ID, Name: f.Name, Severity: f.Severity})
		}
	}
	s.pending = nil
}

func (s *Stream) writeFinding(f Finding) {
	if s.err != nil {
		return
	}
	if s.format != "json" {
		s.err = s.spool.add(f)
		return
	}
	if s.written == 0 {
		s.bw.WriteString("{\n  \"findings\": [\n    ")
	} else {
		s.bw.WriteString(",\n    ")
	}
	s.jbuf.Reset()
	if err := s.jenc.Encode(f); err != nil {
		s.err = err
		return
	}
	s.bw.Write(bytes.TrimSuffix(s.jbuf.Bytes(), []byte("\n")))
}

// Close writes the last findings, then what comes after the findings (or
// around them), and flushes.
func (s *Stream) Close() error {
	s.flush()
	if s.spool != nil {
		defer s.spool.close()
	}
	if s.err != nil {
		return s.err
	}
	errs := s.errors()
	s.inputErrors = len(errs)
	s.sum.Errors += len(errs)
	switch s.format {
	case "json":
		if s.written == 0 {
			s.bw.WriteString("{\n  \"findings\": []")
		} else {
			s.bw.WriteString("\n  ]")
		}
		s.bw.WriteString(",\n  \"errors\": ")
		s.writeIndented(InputErrors(errs), "  ")
		s.bw.WriteString(",\n  \"summary\": ")
		s.writeIndented(s.sum, "  ")
		s.bw.WriteString("\n}\n")
	case "text":
		for _, e := range errs {
			writeTextError(s.bw, s.st, e)
		}
		s.err = s.spool.each(func(f Finding) { writeTextFinding(s.bw, s.st, f) })
		if !s.quiet {
			writeTextSummary(s.bw, s.st, s.sum, len(errs) > 0, s.errFamilies)
		}
	case "github":
		for _, e := range errs {
			writeGitHubError(s.bw, s.paths, e)
		}
		s.err = s.spool.each(func(f Finding) { writeGitHubFinding(s.bw, s.paths, f) })
	case "sarif":
		s.writeSARIF(errs)
	}
	if err := s.bw.Flush(); s.err == nil {
		s.err = err
	}
	return s.err
}

// errors are the input errors as Merge leaves them: sorted by position,
// ties in the order the FILEs were given, duplicates dropped.
func (s *Stream) errors() []Position {
	sort.Slice(s.errs, func(i, j int) bool {
		a, b := s.errs[i], s.errs[j]
		switch {
		case a.File != b.File:
			return a.File < b.File
		case a.Line != b.Line:
			return a.Line < b.Line
		case a.Column != b.Column:
			return a.Column < b.Column
		case a.order != b.order:
			return a.order < b.order
		}
		return a.idx < b.idx
	})
	out := []Position{}
	seen := map[Position]bool{}
	for _, e := range s.errs {
		if !seen[e.Position] {
			seen[e.Position] = true
			out = append(out, e.Position)
		}
	}
	s.errs = nil
	return out
}

// writeIndented writes v as JSON nested at prefix, as Report.WriteJSON
// would.
func (s *Stream) writeIndented(v any, prefix string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil && s.err == nil {
		s.err = err
	}
	s.bw.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// writeSARIF writes the log as WriteSARIF does: the log without results,
// cut where its empty results array is, with the spooled findings' results
// and then the input errors' written in between.
func (s *Stream) writeSARIF(errs []Position) {
	rules := newSARIFRules(s.policies)
	for _, p := range s.ids {
		rules.add(p)
	}
	var doc bytes.Buffer
	if err := encodeSARIF(&doc, sarifLogOf(s.paths, s.lines, rules, []sarifResult{}, errs)); err != nil {
		s.err = err
		return
	}
	// A JSON string holds no unescaped quote: this is the run's key.
	const key = `"results": []`
	at := bytes.Index(doc.Bytes(), []byte(key))
	if at < 0 {
		s.err = errors.New("sarif: no results array")
		return
	}
	head, tail := doc.Bytes()[:at+len(key)-1], doc.Bytes()[at+len(key)-1:]
	indent := string(head[bytes.LastIndexByte(head, '\n')+1:])
	indent = indent[:len(indent)-len(strings.TrimLeft(indent, " "))]
	s.bw.Write(head)
	n := 0
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(indent+"  ", "  ")
	put := func(res sarifResult) {
		if s.err != nil {
			return
		}
		if n == 0 {
			s.bw.WriteString("\n" + indent + "  ")
		} else {
			s.bw.WriteString(",\n" + indent + "  ")
		}
		n++
		b.Reset()
		if err := enc.Encode(res); err != nil {
			s.err = err
			return
		}
		s.bw.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	if err := s.spool.each(func(f Finding) { put(sarifResultOf(s.paths, s.lines, f, rules.index[f.ID])) }); err != nil {
		s.err = err
	}
	for _, e := range errs {
		put(sarifErrorResult(s.paths, s.lines, e, rules))
	}
	if n > 0 {
		s.bw.WriteString("\n" + indent)
	}
	s.bw.Write(tail)
}

// Summary is the summary of the reports added, complete after Close.
func (s *Stream) Summary() Summary { return s.sum }

// ExitCode is Report.ExitCode of the merged report, after Close.
func (s *Stream) ExitCode(failOn string) int {
	if s.inputErrors > 0 {
		return 2
	}
	if failOn == "" {
		failOn = "warning"
	}
	rank, ok := severityRank[failOn]
	if !ok {
		return 2
	}
	if s.written > 0 && s.rank >= rank {
		return 1
	}
	return 0
}

// spool holds findings until Close writes them: as they are, up to
// spoolMemory bytes (as estimated by findingSize), then as JSON lines in a
// temporary file. Findings held in memory are never encoded: one ruleset's
// report, the usual case, is written straight from them.
type spool struct {
	mem  []Finding
	size int // findingSize of mem
	file *os.File
	fw   *bufio.Writer
}

// spoolMemory is a var for the tests. A large ruleset's findings fit:
// the 80,000 rules of a kube-proxy host have 18,000, about 9 MB, held
// beside a check that needs far more; a fleet's go to the file.
var spoolMemory = 64 << 20

// spooled is a finding as the spool's file keeps it (JSON reads a nil
// witness back as null: nw says it was nil).
type spooled struct {
	Finding
	NoWitness bool `json:"nw,omitempty"`
}

// findingSize estimates the bytes f holds: its strings and witness, and a
// fixed part for itself and per related position.
func findingSize(f Finding) int {
	n := 256 + len(f.ID) + len(f.Name) + len(f.Message) + len(f.File) + len(f.Table) + len(f.Chain) + len(f.Witness)
	for _, r := range f.Related {
		n += 64 + len(r.File) + len(r.Message)
	}
	return n
}

func (p *spool) add(f Finding) error {
	if p.fw == nil {
		p.mem = append(p.mem, f)
		p.size += findingSize(f)
		if p.size <= spoolMemory {
			return nil
		}
		file, err := os.CreateTemp("", "dfwlint-*.jsonl")
		if err != nil {
			return nil // stay in memory
		}
		p.file, p.fw = file, bufio.NewWriterSize(file, 64<<10)
		mem := p.mem
		p.mem, p.size = nil, 0
		for _, f := range mem {
			if err := p.encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	return p.encode(f)
}

func (p *spool) encode(f Finding) error {
	enc := json.NewEncoder(p.fw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(spooled{f, len(f.Witness) == 0}); err != nil {
		return fmt.Errorf("spool: %v", err)
	}
	return nil
}

// each calls fn with every finding, in the order added.
func (p *spool) each(fn func(Finding)) error {
	if p.file == nil {
		for _, f := range p.mem {
			fn(f)
		}
		return nil
	}
	if err := p.fw.Flush(); err != nil {
		return fmt.Errorf("spool: %v", err)
	}
	if _, err := p.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %v", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(p.file, 64<<10))
	for {
		var f spooled
		if err := dec.Decode(&f); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("spool: %v", err)
		}
		if f.NoWitness {
			f.Witness = nil
		}
		fn(f.Finding)
	}
}

func (p *spool) close() {
	if p.file != nil {
		p.file.Close()
		os.Remove(p.file.Name())
		p.file = nil
	}
	p.mem, p.size = nil, 0
}
