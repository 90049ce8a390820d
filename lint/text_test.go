package lint

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

func textReport() *Report {
	r := newReport()
	r.Summary = Summary{Files: 1, Rules: 3}
	r.Errors = append(r.Errors, Position{File: "a.rules", Line: 4, Column: 8, Message: "-j INPUT: cannot jump to a built-in chain"})
	r.Findings = append(r.Findings,
		Finding{ID: "DFW101", Severity: "error", Message: "no packet can reach this rule", File: "a.rules", Line: 6, Column: 1,
			Related: []Position{{File: "a.rules", Line: 5, Column: 1, Message: "every packet that reaches it matched this rule first"}}},
		Finding{ID: "DFW303", Severity: "info", Message: "accepts every ICMP type", File: "a.rules", Line: 7, Column: 10})
	r.finish()
	return r
}

func TestWriteTextOptions(t *testing.T) {
	var plain bytes.Buffer
	if err := textReport().WriteText(&plain); err != nil {
		t.Fatal(err)
	}
	want := `a.rules:4:8: error: -j INPUT: cannot jump to a built-in chain
a.rules:6:1: error DFW101 no packet can reach this rule
	a.rules:5:1: every packet that reaches it matched this rule first
a.rules:7:10: info DFW303 accepts every ICMP type
1 file, 3 rules: 2 errors, 0 warnings, 1 info: fix the input errors first (iptables-restore or the kernel would refuse those rules, or load them other than written)
`
	if plain.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", plain.String(), want)
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("WriteText wrote an escape sequence")
	}

	var quiet bytes.Buffer
	textReport().WriteTextOptions(&quiet, TextOptions{Quiet: true})
	if got, w := quiet.String(), want[:strings.Index(want, "1 file")]; got != w {
		t.Errorf("Quiet:\n%s\nwant the findings and errors only:\n%s", got, w)
	}

	var colour bytes.Buffer
	textReport().WriteTextOptions(&colour, TextOptions{Colour: true})
	for _, s := range []string{
		"\x1b[1ma.rules:6:1\x1b[0m: \x1b[1;31merror\x1b[0m \x1b[1mDFW101\x1b[0m no packet",
		"\x1b[36minfo\x1b[0m",
		"\x1b[1;31m2 errors\x1b[0m",
	} {
		if !strings.Contains(colour.String(), s) {
			t.Errorf("Colour: output lacks %q:\n%q", s, colour.String())
		}
	}
}

func TestWriteTextNoErrorsNoHint(t *testing.T) {
	r := newReport()
	r.Summary = Summary{Files: 2, Rules: 1}
	r.finish()
	var b bytes.Buffer
	r.WriteText(&b)
	if got := b.String(); got != "2 files, 1 rule: 0 errors, 0 warnings, 0 infos\n" {
		t.Errorf("WriteText = %q", got)
	}
}

// TestSummaryNamesTheFamilysTool: the summary of input errors names
// ip6tables-restore when every ruleset with parser errors is IPv6,
// iptables-restore when one is IPv4; a merged report and a stream of the
// same reports say the same.
func TestSummaryNamesTheFamilysTool(t *testing.T) {
	report := func(fam parser.Family) *Report {
		r := textReport()
		r.errFamilies = familyOf(fam)
		return r
	}
	for _, c := range []struct {
		fams []parser.Family
		tool string
	}{
		{[]parser.Family{parser.IPv6}, "(ip6tables-restore or the kernel"},
		{[]parser.Family{parser.IPv6, parser.IPv6}, "(ip6tables-restore or the kernel"},
		{[]parser.Family{parser.IPv4}, "(iptables-restore or the kernel"},
		{[]parser.Family{parser.IPv6, parser.IPv4}, "(iptables-restore or the kernel"},
	} {
		merged := newReport()
		var reps []*Report
		for _, f := range c.fams {
			reps = append(reps, report(f))
		}
		merged.Merge(reps...)
		var text, streamed bytes.Buffer
		if err := merged.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		s := NewStream(&streamed, "text", TextOptions{})
		for i, f := range c.fams {
			if err := s.Add(report(f), fmt.Sprintf("f%d", i), i); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{text.String(), streamed.String()} {
			if !strings.Contains(out, ": fix the input errors first "+c.tool) {
				t.Errorf("%v: the summary does not say %q:\n%s", c.fams, c.tool, out)
			}
		}
	}
}
