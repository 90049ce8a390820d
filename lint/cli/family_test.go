package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSameHost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"rules.v4", "rules.v6", true},
		{"/etc/iptables/rules.v6", "/etc/iptables/rules.v4", true},
		{"iptables.save", "ip6tables.save", true},
		{"web1-ipv4.save", "web1-ipv6.save", true},
		{"h/web1.4.rules", "h/web1.6.rules", true},
		{"host6.v6", "host6.v4", true},
		{"host6.v6", "host4.v4", false},
		{"a/rules.v4", "b/rules.v6", false},
		{"rules.v4", "rules.v4", false},
		{"web1.save", "web2.save", false},
		{"-", "rules.v6", false},
	} {
		if got := sameHost(c.a, c.b); got != c.want {
			t.Errorf("sameHost(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestNewPlan(t *testing.T) {
	show := func(files []string, p *plan) string {
		var b strings.Builder
		for i, f := range files {
			peer := "-"
			if p.peer[i] >= 0 {
				peer = files[p.peer[i]]
			}
			fam := "?"
			if p.family[i] != 0 {
				fam = p.family[i].String()
			}
			fmt.Fprintf(&b, "%s(%s)→%s ", f, fam, peer)
		}
		return strings.TrimSpace(b.String())
	}
	for _, c := range []struct {
		args []string
		ff   familyFiles
		want string
	}{
		{[]string{"a.save", "b.save"}, familyFiles{}, "a.save(?)→b.save b.save(?)→a.save"},
		{[]string{"-"}, familyFiles{v6: []string{"r6"}}, "-(?)→r6 r6(ipv6)→-"},
		{nil, familyFiles{v4: []string{"x"}, v6: []string{"y"}}, "x(ipv4)→y y(ipv6)→x"},
		{[]string{"h/a.v4", "h/a.v6", "h/b.v4", "h/b.v6", "h/c.save"}, familyFiles{},
			"h/a.v4(?)→h/a.v6 h/a.v6(?)→h/a.v4 h/b.v4(?)→h/b.v6 h/b.v6(?)→h/b.v4 h/c.save(?)→-"},
		// h6.v6 differs from h6.v4 by "v6", from h4.v6 by a "6" only
		{[]string{"h6.v6", "h4.v6", "h6.v4", "h4.v4"}, familyFiles{}, "h6.v6(?)→h6.v4 h4.v6(?)→h4.v4 h6.v4(?)→h6.v6 h4.v4(?)→h4.v6"},
		// ambiguous: r6-6 turns into r4-6 and into r6-4 by a "6" each
		{[]string{"r6-6", "r4-6", "r6-4"}, familyFiles{}, "r6-6(?)→- r4-6(?)→- r6-4(?)→-"},
		{[]string{"only.save"}, familyFiles{}, "only.save(?)→-"},
	} {
		files, p := newPlan(c.args, c.ff)
		got := show(files, p)
		if got != c.want {
			t.Errorf("newPlan(%q, %+v):\n got %s\nwant %s", c.args, c.ff, got, c.want)
		}
	}
}

// Pairing by names over a fleet: each host's two files are compared, the
// third file is checked alone, and a --base IPv4 dump is not applied to
// the IPv6 files.
func TestCheckFamilies(t *testing.T) {
	dir := t.TempDir()
	v4, _ := os.ReadFile("../../testdata/dualstack/rules.v4")
	v6, _ := os.ReadFile("../../testdata/dualstack/rules.v6")
	for name, data := range map[string][]byte{"web1.v4": v4, "web1.v6": v6, "web2.v4": v4, "web2.v6": v4, "db.save": v4} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"check", "-q", "--fail-on", "never"}, args...), strings.NewReader(string(v6)), &out, &errb)
		return out.String() + errb.String(), code
	}
	ids := func(out string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && strings.HasPrefix(f[2], "DFW") {
				m[strings.SplitN(f[0], ":", 2)[0]+" "+f[2]]++
			}
		}
		return m
	}
	out, code := run("web1.v4", "web1.v6", "web2.v4", "web2.v6", "db.save")
	got := ids(out)
	if code != 0 || got["web1.v6 DFW305"] != 2 || got["web1.v4 DFW305"] != 0 || got["web2.v6 DFW305"] != 0 || got["db.save DFW305"] != 0 {
		t.Errorf("fleet: exit %d, findings %v\n%s", code, got, out)
	}
	// web2.v6 holds IPv4 rules: not a peer of web2.v4, checked as what it is.
	if strings.Contains(out, "error") {
		t.Errorf("fleet: errors\n%s", out)
	}
	// Standard input as the IPv6 rules, a live IPv4 dump as the base: the
	// base applies to the IPv4 file only.
	out, code = run("--base", "db.save", "web1.v4", "--ipv6", "-")
	got = ids(out)
	if code != 0 || got["<stdin> DFW305"] != 2 || strings.Contains(out, "error:") {
		t.Errorf("stdin as --ipv6 with an IPv4 base: exit %d, findings %v\n%s", code, got, out)
	}
	// Two files of one family: each checked alone, no DFW305.
	out, _ = run("web1.v4", "db.save")
	if strings.Contains(out, "DFW305") {
		t.Errorf("two IPv4 files compared:\n%s", out)
	}
}
