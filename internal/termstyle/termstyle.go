// Package termstyle decides whether a command's text output may be
// coloured, and colours it: only on a terminal, never when NO_COLOR is set
// (to any value, the empty string included; https://no-color.org) or TERM
// is "dumb". Pipes and files never get escape sequences.
package termstyle

import (
	"io"
	"os"

	"golang.org/x/term"
)

// Enabled reports whether text written to w may be coloured.
func Enabled(w io.Writer) bool {
	_, noColour := os.LookupEnv("NO_COLOR")
	return Decide(IsTerminal(w), noColour, os.Getenv("TERM"))
}

// Decide is Enabled's rule: colour only on a terminal, without NO_COLOR,
// with a TERM that is not "dumb".
func Decide(terminal, noColour bool, termEnv string) bool {
	return terminal && !noColour && termEnv != "dumb"
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Style colours text with ANSI escape sequences when On, and returns it
// unchanged otherwise.
type Style struct{ On bool }

func (s Style) wrap(code, text string) string {
	if !s.On || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Bold is for positions and IDs.
func (s Style) Bold(text string) string { return s.wrap("1", text) }

// Red is for errors, DROP and REJECT.
func (s Style) Red(text string) string { return s.wrap("1;31", text) }

// Yellow is for warnings.
func (s Style) Yellow(text string) string { return s.wrap("33", text) }

// Cyan is for infos.
func (s Style) Cyan(text string) string { return s.wrap("36", text) }

// Green is for ACCEPT.
func (s Style) Green(text string) string { return s.wrap("32", text) }

// Dim is for what is secondary (related positions).
func (s Style) Dim(text string) string { return s.wrap("2", text) }

// Severity colours a severity word: error red, warning yellow, info cyan.
func (s Style) Severity(sev string) string {
	switch sev {
	case "error":
		return s.Red(sev)
	case "warning":
		return s.Yellow(sev)
	case "info":
		return s.Cyan(sev)
	}
	return sev
}

// Verdict colours a verdict: ACCEPT green, DROP and REJECT red.
func (s Style) Verdict(v string) string {
	switch v {
	case "ACCEPT":
		return s.Green(v)
	case "DROP", "REJECT":
		return s.Red(v)
	}
	return v
}
