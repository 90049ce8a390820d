package cli

import (
	"testing"

	"github.com/dfw-project/dfw/internal/termstyle"
)

func TestColourText(t *testing.T) {
	text := "packet 1: tcp 203.0.113.7:40000 > 203.0.113.10:22 [S] in ens33\n" +
		"  filter/INPUT#3 live.save:21  -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT  → ACCEPT\n" +
		"  filter/INPUT policy  → DROP\n" +
		"  verdict: DROP, dropped in INPUT\n" +
		"packet 2: udp 203.0.113.7:40000 > 203.0.113.10:53 in ens33: REJECT (rejected)\n"
	if got := string(colourText([]byte(text), termstyle.Style{})); got != text {
		t.Errorf("colour off changed the text:\n%s", got)
	}
	want := "packet 1: tcp 203.0.113.7:40000 > 203.0.113.10:22 [S] in ens33\n" +
		"  filter/INPUT#3 live.save:21  -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT  → \x1b[32mACCEPT\x1b[0m\n" +
		"  filter/INPUT policy  → \x1b[1;31mDROP\x1b[0m\n" +
		"  verdict: \x1b[1;31mDROP\x1b[0m, dropped in INPUT\n" +
		"packet 2: udp 203.0.113.7:40000 > 203.0.113.10:53 in ens33: \x1b[1;31mREJECT\x1b[0m (rejected)\n"
	if got := string(colourText([]byte(text), termstyle.Style{On: true})); got != want {
		t.Errorf("colour on:\n%q\nwant\n%q", got, want)
	}
}
