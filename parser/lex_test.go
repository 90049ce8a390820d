package parser

import (
	"math/rand/v2"
	"testing"
)

// TestWordEndIndex compares the word-at-a-time scans of the tokenizer with
// byte-by-byte ones on random lines made of the bytes they look for and a
// few others (0x00, 0x01, 0x80, 0xff exercise the borrows of zeroBytes).
func TestWordEndIndex(t *testing.T) {
	alphabet := []byte{' ', '\t', '\n', '"', '\\', 'a', '-', 0x00, 0x01, 0x21, 0x7f, 0x80, 0xff}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = 'x'
			}
		}
		line := string(b)
		for i := 0; i <= len(line); i++ {
			want := i
			for want < len(line) && !wordEnd[line[want]] {
				want++
			}
			if got := wordEndIndex(line, i); got != want {
				t.Fatalf("wordEndIndex(%q, %d) = %d, want %d", line, i, got, want)
			}
			want = i
			for want < len(line) && line[want] != '"' && line[want] != '\\' {
				want++
			}
			if got := quoteEndIndex(line, i); got != want {
				t.Fatalf("quoteEndIndex(%q, %d) = %d, want %d", line, i, got, want)
			}
		}
	}
}
