package parser

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

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

// Bytes repeated over a word, for looking at 8 bytes of a line at once.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	spaces = ' ' * ones
	tabs   = '\t' * ones
	nls    = '\n' * ones
	quotes = '"' * ones
	bslash = '\\' * ones
)

// zeroBytes has the high bit of each zero byte of x set: its lowest set
// bit is that of x's first zero byte (bits above it may be wrong).
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

// wordEndIndex returns the index of the first byte at or after i that ends
// a plain word (wordEnd), or len(line).
func wordEndIndex(line string, i int) int {
	b := unsafe.Slice(unsafe.StringData(line), len(line))
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		if m := zeroBytes(v^spaces) | zeroBytes(v^tabs) | zeroBytes(v^nls) | zeroBytes(v^quotes); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && !wordEnd[b[i]] {
		i++
	}
	return i
}

// quoteEndIndex returns the index of the first '"' or '\\' at or after i,
// or len(line).
func quoteEndIndex(line string, i int) int {
	b := unsafe.Slice(unsafe.StringData(line), len(line))
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		if m := zeroBytes(v^quotes) | zeroBytes(v^bslash); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
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
		j := wordEndIndex(line, i)
		if j == n || line[j] != '"' {
			toks = append(toks, token{text: line[i:j], col: i + 1})
			i = j
			continue
		}
		if j == i {
			k := quoteEndIndex(line, j+1)
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
