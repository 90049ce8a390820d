package graph

import "testing"

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`FILTERS`:      `"FILTERS"`,
		`a"b`:          `"a\"b"`,
		`a\b`:          `"a\\b"`,
		"two\nlines\r": `"two\nlines"`,
		`\N`:           `"\\N"`, // not Graphviz's node-name escape
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
