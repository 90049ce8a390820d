package parser

import "strings"

// token is one word of a rule line after iptables-restore's quoting rules.
type token struct {
	text   string
	col    int  // 1-based byte column of the token's first byte
	quoted bool // the token came (partly) from a quoted string
}

// lineInfo describes what the lexer noticed on a line.
type lineInfo struct {
	unterminated int // column of an unterminated quote, or 0
}

// tokenize splits a rule line the way iptables-restore's add_param_to_argv
// does:
//
//	line   = { blank } { word { blank } }
//	word   = { char | '"' { qchar | '\' any } '"' }
//
// Words are separated by spaces and tabs. A double quote opens a quoted part
// in which blanks are kept and a backslash escapes the next character; the
// closing quote ends the word. An unterminated quote runs to the end of the
// line (iptables then swallows the rest of the line into that word, which is
// reported by the caller).
func tokenize(line string) ([]token, lineInfo) {
	var (
		toks  []token
		info  lineInfo
		buf   strings.Builder
		start = -1
		quote bool
		qcol  int
		esc   bool
		had   bool // current word had a quote
	)
	emit := func() {
		if start >= 0 || had {
			toks = append(toks, token{text: buf.String(), col: start + 1, quoted: had})
		}
		buf.Reset()
		start = -1
		had = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if quote {
			switch {
			case esc:
				buf.WriteByte(c)
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				quote = false
				emit()
			default:
				buf.WriteByte(c)
			}
			continue
		}
		switch c {
		case '"':
			if start < 0 {
				start = i
			}
			quote = true
			qcol = i + 1
			had = true
		case ' ', '\t', '\n', '\r', '\v', '\f':
			if c == '\r' || c == '\v' || c == '\f' {
				// Only space, tab and newline separate words for
				// iptables-restore; other control characters stay in the word.
				if start < 0 {
					start = i
				}
				buf.WriteByte(c)
				continue
			}
			emit()
		default:
			if start < 0 {
				start = i
			}
			buf.WriteByte(c)
		}
	}
	if quote {
		info.unterminated = qcol
	}
	emit()
	return toks, info
}

// needsQuote reports whether s must be quoted to survive tokenize.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	return strings.ContainsAny(s, " \t\"\\'")
}

// quote quotes s the way iptables-save does: in double quotes, with
// backslashes before double quotes and backslashes.
func quote(s string) string {
	if !needsQuote(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
