package lint

import (
	"bufio"
	"fmt"
	"io"

	"github.com/dfw-project/dfw/internal/termstyle"
)

// TextOptions control the text output, and (Paths) how the SARIF and
// GitHub outputs name files.
type TextOptions struct {
	// Colour colours severities (error red, warning yellow, info cyan),
	// IDs and positions with ANSI escape sequences: for a terminal only
	// (the caller decides, see internal/termstyle).
	Colour bool
	// Quiet leaves out the summary line: findings and errors only.
	Quiet bool
	// Paths say where the files are, for SARIF's artifact locations and
	// GitHub's annotations (the text and JSON outputs name files as they
	// were given).
	Paths Paths
}

// WriteText writes the report as plain text, without colour and with its
// summary (WriteTextOptions with zero options).
func (r *Report) WriteText(w io.Writer) error { return r.WriteTextOptions(w, TextOptions{}) }

// WriteTextOptions writes "file:line:col: severity ID message" per finding,
// with its related positions indented beneath, input errors first, then
// (unless opts.Quiet) a summary line. The summary counts as errors the
// input errors and the findings of severity error; when there are input
// errors it ends with what to do about them.
func (r *Report) WriteTextOptions(w io.Writer, opts TextOptions) error {
	st := termstyle.Style{On: opts.Colour}
	bw := bufio.NewWriter(w)
	for _, e := range r.Errors {
		writeTextError(bw, st, e)
	}
	for _, f := range r.Findings {
		writeTextFinding(bw, st, f)
	}
	if opts.Quiet {
		return bw.Flush()
	}
	writeTextSummary(bw, st, r.Summary, len(r.Errors) > 0, r.errFamilies)
	return bw.Flush()
}

// writeTextError writes an input error as WriteTextOptions does.
func writeTextError(bw *bufio.Writer, st termstyle.Style, e Position) {
	fmt.Fprintf(bw, "%s: %s: %s\n", st.Bold(pos(e.File, e.Line, e.Column)), st.Severity("error"), e.Message)
}

// writeTextFinding writes a finding, its related positions and its witness
// as WriteTextOptions does.
func writeTextFinding(bw *bufio.Writer, st termstyle.Style, f Finding) {
	fmt.Fprintf(bw, "%s: %s %s %s\n", st.Bold(pos(f.File, f.Line, f.Column)), st.Severity(f.Severity), st.Bold(f.ID), f.Message)
	for _, rel := range f.Related {
		fmt.Fprintf(bw, "\t%s: %s\n", st.Dim(pos(rel.File, rel.Line, rel.Column)), rel.Message)
	}
	if len(f.Witness) > 0 {
		fmt.Fprintf(bw, "\twitness: %s\n", f.Witness)
	}
}

// writeTextSummary writes the summary line; inputErrors says whether there
// were input errors (the line then says to fix them first), fams the
// families of the rulesets the parser found errors in.
func writeTextSummary(bw *bufio.Writer, st termstyle.Style, s Summary, inputErrors bool, fams families) {
	errs := plural(s.Errors, "error")
	if s.Errors > 0 {
		errs = st.Red(errs)
	}
	fmt.Fprintf(bw, "%s, %s: %s, %s, %s", plural(s.Files, "file"), plural(s.Rules, "rule"),
		errs, plural(s.Warnings, "warning"), plural(s.Infos, "info"))
	if inputErrors {
		fmt.Fprintf(bw, ": fix the input errors first (%s or the kernel would refuse those rules, or load them other than written)", fams.restoreTool())
	}
	fmt.Fprintln(bw)
}
