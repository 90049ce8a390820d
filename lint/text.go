package lint

import (
	"bufio"
	"fmt"
	"io"

	"github.com/dfw-project/dfw/internal/termstyle"
)

// TextOptions control the text output.
type TextOptions struct {
	// Colour colours severities (error red, warning yellow, info cyan),
	// IDs and positions with ANSI escape sequences: for a terminal only
	// (the caller decides, see internal/termstyle).
	Colour bool
	// Quiet leaves out the summary line: findings and errors only.
	Quiet bool
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
		fmt.Fprintf(bw, "%s: %s: %s\n", st.Bold(pos(e.File, e.Line, e.Column)), st.Severity("error"), e.Message)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(bw, "%s: %s %s %s\n", st.Bold(pos(f.File, f.Line, f.Column)), st.Severity(f.Severity), st.Bold(f.ID), f.Message)
		for _, rel := range f.Related {
			fmt.Fprintf(bw, "\t%s: %s\n", st.Dim(pos(rel.File, rel.Line, rel.Column)), rel.Message)
		}
		if len(f.Witness) > 0 {
			fmt.Fprintf(bw, "\twitness: %s\n", f.Witness)
		}
	}
	if opts.Quiet {
		return bw.Flush()
	}
	s := r.Summary
	errs := plural(s.Errors, "error")
	if s.Errors > 0 {
		errs = st.Red(errs)
	}
	fmt.Fprintf(bw, "%s, %s: %s, %s, %s", plural(s.Files, "file"), plural(s.Rules, "rule"),
		errs, plural(s.Warnings, "warning"), plural(s.Infos, "info"))
	if len(r.Errors) > 0 {
		fmt.Fprintf(bw, ": fix the input errors first (iptables-restore or the kernel would refuse those rules, or load them other than written)")
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}
