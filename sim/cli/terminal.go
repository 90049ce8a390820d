package cli

import (
	"bytes"
	"strings"

	"github.com/dfw-project/dfw/internal/termstyle"
)

// colourText colours the verdicts of dfwsim's text output (ACCEPT green,
// DROP and REJECT red): on the "verdict:" lines, at the end of the trace
// lines ("→ DROP") and of --quiet's lines. It returns text unchanged when
// st is off (not a terminal, NO_COLOR set).
func colourText(text []byte, st termstyle.Style) []byte {
	if !st.On {
		return text
	}
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(text), "\n") {
		body, nl := strings.CutSuffix(line, "\n")
		switch {
		case strings.HasPrefix(body, "  verdict: "):
			v, rest, _ := strings.Cut(strings.TrimPrefix(body, "  verdict: "), ",")
			body = "  verdict: " + st.Verdict(v) + "," + rest
		case strings.Contains(body, "  → "):
			i := strings.LastIndex(body, "  → ")
			body = body[:i+len("  → ")] + st.Verdict(body[i+len("  → "):])
		case strings.HasPrefix(body, "packet ") && strings.HasSuffix(body, ")"):
			// --quiet: "packet N: PACKET in IFACE: VERDICT (DISPOSITION)"
			if i := strings.LastIndex(body, ": "); i >= 0 {
				v, rest, _ := strings.Cut(body[i+2:], " ")
				body = body[:i+2] + st.Verdict(v) + " " + rest
			}
		}
		b.WriteString(body)
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
