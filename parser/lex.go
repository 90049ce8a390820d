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

// wordEnd marks the bytes that end a plain word: blanks and the quote.
var wordEnd = [256]bool{' ': true, '\t': true, '\n': true, '"': true}

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
func tokenize(line string, toks []token) ([]token, lineInfo) {
	toks = toks[:0]
	var info lineInfo
	n := len(line)
	for i := 0; i < n; {
		if c := line[i]; c == ' ' || c == '\t' || c == '\n' {
			i++
			continue
		}
		// A plain word, or a word that is one quoted string without
		// escapes, is a substring of the line: no copy.
		j := i
		for j < n && !wordEnd[line[j]] {
			j++
		}
		if j == n || line[j] != '"' {
			toks = append(toks, token{text: line[i:j], col: i + 1})
			i = j
			continue
		}
		if j == i {
			k := j + 1
			for k < n && line[k] != '"' && line[k] != '\\' {
				k++
			}
			if k < n && line[k] == '"' {
				toks = append(toks, token{text: line[j+1 : k], col: i + 1, quoted: true})
				i = k + 1
				continue
			}
		}
		var t token
		t, i = slowWord(line, i, &info)
		toks = append(toks, t)
	}
	return toks, info
}

// slowWord reads one word starting at i that holds a quote, with escapes or
// text around the quoted part, and returns it with the index after it.
func slowWord(line string, i int, info *lineInfo) (token, int) {
	var buf strings.Builder
	t := token{col: i + 1, quoted: true}
	quote, esc := false, false
	qcol := 0
	for ; i < len(line); i++ {
		c := line[i]
		if quote {
			switch {
			case esc:
				buf.WriteByte(c)
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				// The closing quote ends the word.
				t.text = buf.String()
				return t, i + 1
			default:
				buf.WriteByte(c)
			}
			continue
		}
		switch c {
		case '"':
			quote = true
			qcol = i + 1
		case ' ', '\t', '\n':
			t.text = buf.String()
			return t, i
		default:
			buf.WriteByte(c)
		}
	}
	if quote {
		info.unterminated = qcol
	}
	t.text = buf.String()
	return t, i
}

// needsQuote reports whether s must be quoted to survive tokenize.
func needsQuote(s string) bool {
	if s == "" || s == "!" || s[0] == '-' {
		// Read back unquoted, these would be a negation or an option.
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
