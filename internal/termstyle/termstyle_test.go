package termstyle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		terminal, noColour bool
		term               string
		want               bool
	}{
		{true, false, "xterm-256color", true},
		{true, false, "", true},
		{false, false, "xterm", false}, // a pipe or a file
		{true, true, "xterm", false},   // NO_COLOR set, whatever its value
		{true, false, "dumb", false},
	} {
		if got := Decide(c.terminal, c.noColour, c.term); got != c.want {
			t.Errorf("Decide(terminal=%v, NO_COLOR set=%v, TERM=%q) = %v, want %v", c.terminal, c.noColour, c.term, got, c.want)
		}
	}
}

func TestEnabled(t *testing.T) {
	// Neither a buffer nor a file is a terminal.
	if Enabled(&bytes.Buffer{}) {
		t.Error("Enabled(buffer) = true")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("TERM", "xterm")
	if Enabled(f) {
		t.Error("Enabled(regular file) = true")
	}
	// NO_COLOR, even empty, wins (checked through Decide: a test has no
	// terminal to offer).
	t.Setenv("NO_COLOR", "")
	if _, set := os.LookupEnv("NO_COLOR"); !set || Decide(true, set, "xterm") {
		t.Error("an empty NO_COLOR does not disable colour")
	}
}

func TestStyle(t *testing.T) {
	off := Style{}
	if got := off.Severity("error") + off.Bold("DFW101") + off.Verdict("DROP"); got != "errorDFW101DROP" {
		t.Errorf("Style{On: false} changed the text: %q", got)
	}
	on := Style{On: true}
	if got := on.Severity("warning"); got != "\x1b[33mwarning\x1b[0m" {
		t.Errorf("Severity(warning) = %q", got)
	}
	if got := on.Verdict("ACCEPT"); got != "\x1b[32mACCEPT\x1b[0m" {
		t.Errorf("Verdict(ACCEPT) = %q", got)
	}
	if got := on.Bold(""); got != "" {
		t.Errorf("Bold(\"\") = %q, want nothing", got)
	}
}
