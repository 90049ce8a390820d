package parser

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in an input file. Line and Col are 1-based; Col counts
// bytes from the start of the line. The zero Pos is "no position".
type Pos struct {
	File string
	Line int
	Col  int
}

// IsValid reports whether p names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats p as file:line:col (or file:line when Col is 0, or "-"
// when p is not valid).
func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "<input>"
	}
	switch {
	case !p.IsValid():
		return file
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", file, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
	}
}

// Before orders positions by file, line and column.
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity tells whether a diagnostic stops the file from loading.
type Severity uint8

const (
	// SevError is an input error: iptables would refuse the file, or would
	// load something other than what was written.
	SevError Severity = iota
	// SevWarning is a problem that does not stop loading (an unknown match,
	// an incomplete dump).
	SevWarning
)

func (s Severity) String() string {
	if s == SevWarning {
		return "warning"
	}
	return "error"
}

// Sentinel errors wrapped by Error, for errors.Is.
var (
	ErrSyntax         = errors.New("syntax error")
	ErrNoTable        = errors.New("rule outside a table")
	ErrUnknownTable   = errors.New("unknown table")
	ErrNoCommit       = errors.New("table not committed")
	ErrUnknownChain   = errors.New("unknown chain")
	ErrChainExists    = errors.New("chain already exists")
	ErrBuiltinChain   = errors.New("not allowed on a built-in chain")
	ErrChainInUse     = errors.New("chain in use")
	ErrBadOption      = errors.New("bad option")
	ErrUnknownOption  = errors.New("unknown option")
	ErrBadValue       = errors.New("bad value")
	ErrHostname       = errors.New("hostname where an address belongs")
	ErrUnknownMatch   = errors.New("unknown match")
	ErrUnknownTarget  = errors.New("unknown target")
	ErrLoop           = errors.New("jump loop")
	ErrWrongTable     = errors.New("not allowed in this table")
	ErrWrongHook      = errors.New("not allowed in this hook")
	ErrSilentChange   = errors.New("iptables would load something else than written")
	ErrRuleNotFound   = errors.New("rule not found")
	ErrIncompleteDump = errors.New("incomplete dump")
	ErrListing        = errors.New("iptables -L listing, not iptables-save output")
	ErrFamily         = errors.New("wrong address family")
	ErrTooManyErrors  = errors.New("too many errors")
)

// Error is one diagnostic with a position. Err is the sentinel it wraps.
type Error struct {
	Pos      Pos
	Msg      string
	Err      error
	Severity Severity
}

func (e *Error) Error() string {
	if e.Severity == SevWarning {
		return e.Pos.String() + ": warning: " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList collects diagnostics. Its zero value is ready to use.
type ErrorList []*Error

// MaxErrors bounds how many errors are kept for one file.
const MaxErrors = 100

// Add appends a diagnostic.
func (l *ErrorList) Add(pos Pos, sentinel error, sev Severity, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Err: sentinel, Severity: sev})
}

// addFor is Add for a diagnostic about a ruleset of family fam: the
// tools that dfw's own wording names (the format, the text of an error
// argument) are the family's (forFamily); other arguments, names and
// values from the input or a tool named on purpose, print as they are.
func (l *ErrorList) addFor(fam Family, pos Pos, sentinel error, sev Severity, format string, args ...any) {
	if fam == IPv6 {
		format = forFamily(fam, format, false)
		for i, a := range args {
			if e, ok := a.(error); ok {
				args[i] = forFamily(fam, e.Error(), true)
			}
		}
	}
	l.Add(pos, sentinel, sev, format, args...)
}

// forFamily names in s the tools of family fam: for IPv6, where s says
// iptables (iptables-restore, iptables-save, iptables-legacy-save, …) it
// says ip6tables. A word that only ends in iptables
// (bridge-nf-call-iptables) is left alone, and with skipQuoted so is text
// within double quotes (a value quoted from the input, "\"" escaped in it).
func forFamily(fam Family, s string, skipQuoted bool) string {
	const word = "iptables"
	if fam != IPv6 || !strings.Contains(s, word) {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case skipQuoted && c == '"':
			quoted = !quoted
		case quoted && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case !quoted && strings.HasPrefix(s[i:], word) && (i == 0 || !toolWordByte(s[i-1])):
			b.WriteString("ip6tables")
			i += len(word) - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// toolWordByte reports whether c, before "iptables", makes it part of a
// longer word or a path.
func toolWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/'
}

// Len is for sort.Interface.
func (l ErrorList) Len() int      { return len(l) }
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l ErrorList) Less(i, j int) bool {
	if l[i].Pos != l[j].Pos {
		return l[i].Pos.Before(l[j].Pos)
	}
	return l[i].Msg < l[j].Msg
}

// Sort sorts the list by position, then message, and removes exact duplicates.
func (l *ErrorList) Sort() {
	sort.Stable(*l)
	out := (*l)[:0]
	for i, e := range *l {
		if i > 0 && out[len(out)-1].Pos == e.Pos && out[len(out)-1].Msg == e.Msg {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// Errors returns only the entries with error severity.
func (l ErrorList) Errors() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity == SevError {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns only the entries with warning severity.
func (l ErrorList) Warnings() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity == SevWarning {
			out = append(out, e)
		}
	}
	return out
}

// Error formats the first entry and how many more there are.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0], len(l)-1)
}

// Err returns l as an error when it holds at least one error-severity entry.
func (l ErrorList) Err() error {
	if len(l.Errors()) == 0 {
		return nil
	}
	return l.Errors()
}

// String lists every entry, one a line.
func (l ErrorList) String() string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
