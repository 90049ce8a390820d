package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// saveFixtures are rulesets holding every kind of symbolic value the
// parser reads (service names, ICMP type names, protocol names, reject
// types, TOS and DSCP names, MARK's forms, …), each beside the
// iptables-save text the kernel gave back for it (testdata/save).
var saveFixtures = []saveFixture{
	{"symbolic.v4", IPv4},
	{"symbolic.v6", IPv6},
}

type saveFixture struct {
	name string
	fam  Family
}

// read returns the fixture's rules and the text iptables-save printed
// for them.
func (fx saveFixture) read(t *testing.T) (src, want []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "save", fx.name+".rules"))
	if err != nil {
		t.Fatal(err)
	}
	want, err = os.ReadFile(filepath.Join("testdata", "save", fx.name+".save"))
	if err != nil {
		t.Fatal(err)
	}
	return src, want
}

// saveRules returns the "-A" lines of an iptables-save text by table, so
// that texts compare whatever order the tables and chains come in.
func saveRules(text string) map[string][]string {
	out := map[string][]string{}
	table := ""
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		case strings.HasPrefix(l, "-A "):
			out[table] = append(out[table], l)
		}
	}
	return out
}

// diffSaveRules describes the first difference between the rules of
// text a (named an) and text b (named bn), or returns "".
func diffSaveRules(an, a, bn, b string) string {
	want, got := a, b
	w, g := saveRules(want), saveRules(got)
	for _, tb := range []string{"raw", "mangle", "nat", "filter", "security"} {
		for i := 0; i < len(w[tb]) || i < len(g[tb]); i++ {
			var x, y string
			if i < len(w[tb]) {
				x = w[tb][i]
			}
			if i < len(g[tb]) {
				y = g[tb][i]
			}
			if x != y {
				return "table " + tb + ":\n  " + an + ": " + x + "\n  " + bn + ": " + y
			}
		}
	}
	return ""
}

// TestSaveSymbolic checks that the canonical text of each fixture has the
// rules iptables-save printed for it (numbers for names, the kernel's
// forms), and that it round-trips.
func TestSaveSymbolic(t *testing.T) {
	for _, fx := range saveFixtures {
		src, want := fx.read(t)
		l := loadOne(fx.name, src, Options{Family: fx.fam})
		if d := diffSaveRules("iptables-save", string(want), "dfw", saveText(t, l.Ruleset)); d != "" {
			t.Errorf("%s: canonical text differs from iptables-save's:\n%s", fx.name, d)
		}
		roundTrip(t, fx.name, l.Ruleset)
	}
}

// TestSaveZeroesChainCounters checks that a policy's counters print as
// [0:0]: the text is what iptables-save prints after iptables-restore
// (without -c) loaded the ruleset, as it does for the rules' counters.
func TestSaveZeroesChainCounters(t *testing.T) {
	l := loadOne("counters", []byte("*filter\n:INPUT DROP [5:100]\n[3:30] -A INPUT -j ACCEPT\nCOMMIT\n"), Options{Family: IPv4})
	if err := l.Diags.Err(); err != nil {
		t.Fatal(err)
	}
	got := saveText(t, l.Ruleset)
	if !strings.Contains(got, ":INPUT DROP [0:0]\n") || strings.Contains(got, "[5:100]") {
		t.Errorf("policy counters not zeroed:\n%s", got)
	}
}
