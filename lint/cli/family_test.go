package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
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
			} else if p.named[i] != 0 {
				fam = "named " + p.named[i].String()
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
			"h/a.v4(named ipv4)→h/a.v6 h/a.v6(named ipv6)→h/a.v4 h/b.v4(named ipv4)→h/b.v6 h/b.v6(named ipv6)→h/b.v4 h/c.save(?)→-"},
		{[]string{"rules.v6", "rules.v4"}, familyFiles{}, "rules.v6(named ipv6)→rules.v4 rules.v4(named ipv4)→rules.v6"},
		// a bare digit pairs the names, but does not tell the family
		{[]string{"host-006.rules", "host-004.rules", "x"}, familyFiles{}, "host-006.rules(?)→host-004.rules host-004.rules(?)→host-006.rules x(?)→-"},
		// h6.v6 differs from h6.v4 by "v6", from h4.v6 by a "6" only
		{[]string{"h6.v6", "h4.v6", "h6.v4", "h4.v4"}, familyFiles{}, "h6.v6(named ipv6)→h6.v4 h4.v6(named ipv6)→h4.v4 h6.v4(named ipv4)→h6.v6 h4.v4(named ipv4)→h4.v6"},
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

// A hand-written rules.v6 with no header, no address and no ICMPv6 rule
// does not tell its family by its text: beside rules.v4 its name does. It
// is checked as IPv6 (IPv6 witnesses) and compared with rules.v4; alone,
// or paired with a file its name does not pair with, it is read as before.
func TestCheckFamiliesByName(t *testing.T) {
	const v4 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	const v6 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 5432 -j ACCEPT\nCOMMIT\n"
	dir := t.TempDir()
	for name, data := range map[string]string{"rules.v4": v4, "rules.v6": v6} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code := Main([]string{"check", "-q", "--fail-on", "never", "rules.v4", "rules.v6"}, strings.NewReader(""), &out, &errb)
	got := out.String() + errb.String()
	if code != 0 || !strings.Contains(got, "rules.v6:5:1: warning DFW305 tcp port 5432 to the host is open to every source over IPv6 but closed over IPv4 (rules.v4)") {
		t.Errorf("exit %d, want DFW305 at rules.v6:5\n%s", code, got)
	}
	if !strings.Contains(got, `rules.v6:4:1: info DFW304`) || !strings.Contains(got, `"dst":"2001:db8:0:1::10"`) || strings.Count(got, `"dst":"203.0.113.10"`) != 1 {
		t.Errorf("rules.v6 not checked as IPv6:\n%s", got)
	}
}

// checkBases: a --base is refused only when it applies under no FILE and
// some FILE takes no base.
func TestCheckBases(t *testing.T) {
	src := func(name, data string) base {
		return base{Source: parser.Source{Name: name, Data: []byte(data)}, fam: parser.DetectFamily([]byte(data))}
	}
	v4 := src("live.v4", "# Generated by iptables-save v1.8.9\n*filter\nCOMMIT\n")
	v6 := src("live.v6", "# Generated by ip6tables-save v1.8.9\n*filter\nCOMMIT\n")
	untold := src("any.rules", "*filter\nCOMMIT\n")
	const ip4, ip6 = parser.IPv4, parser.IPv6
	for _, c := range []struct {
		name  string
		bases []base
		fams  []parser.Family
		want  string // "" for no error
	}{
		{"IPv6 base under IPv4 rules", []base{v6}, []parser.Family{ip4}, "--base live.v6 is an IPv6 ruleset and no FILE is (expected a --base of the FILEs' family"},
		{"IPv6 base under two IPv4 files", []base{v6}, []parser.Family{ip4, ip4}, "--base live.v6 is an IPv6 ruleset"},
		{"both bases, one file (pre-commit)", []base{v4, v6}, []parser.Family{ip6}, ""},
		{"IPv4 base, the host's two families", []base{v4}, []parser.Family{ip4, ip6}, ""},
		{"a FILE of no told family takes every base", []base{v6}, []parser.Family{0}, ""},
		{"a base of no told family applies under every FILE", []base{untold}, []parser.Family{ip6}, ""},
		{"matching", []base{v4}, []parser.Family{ip4}, ""},
	} {
		err := checkBases(c.bases, c.fams)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q…", c.name, err, c.want)
		}
	}
}

// --docker gives Docker's rules of both families: each FILE takes its
// family's, and the --base files are judged as without --docker.
func TestCheckBasesDocker(t *testing.T) {
	var c common
	c.docker.version = "28"
	if err := c.docker.build(); err != nil {
		t.Fatal(err)
	}
	d := c.docker.bases
	if len(d) != 2 || d[0].fam != parser.IPv4 || d[1].fam != parser.IPv6 || d[0].Name != "<docker 28>" || d[1].Name != "<docker 28 ip6tables>" {
		t.Fatalf("baselines %+v", d)
	}
	for _, fams := range [][]parser.Family{{parser.IPv6}, {parser.IPv4}, {parser.IPv4, parser.IPv6}, {0}} {
		if err := checkBases(d, fams); err != nil {
			t.Errorf("%v: %v", fams, err)
		}
	}
	live6 := base{Source: parser.Source{Name: "live.v6", Data: []byte("# Generated by ip6tables-save v1.8.9\n*filter\nCOMMIT\n")}, fam: parser.IPv6}
	err := checkBases(append(append([]base{}, d...), live6), []parser.Family{parser.IPv4})
	if want := "--base live.v6 is an IPv6 ruleset and no FILE is"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("an IPv6 --base under IPv4 rules with --docker: error %v, want %q…", err, want)
	}
	// A FILE that does not tell its family takes the IPv4 baseline, or
	// that of the family the --base files tell.
	for _, tc := range []struct {
		bases []base
		want  parser.Family
	}{
		{d, parser.IPv4},
		{append(append([]base{}, d...), live6), parser.IPv6},
		{[]base{live6}, 0},
	} {
		if got := resolveFamily(0, tc.bases); got != tc.want {
			t.Errorf("resolveFamily(0, %d bases) = %v, want %v", len(tc.bases), got, tc.want)
		}
	}
	if err := untold("x.rules", 0, d); err != nil {
		t.Errorf("untold with the two baselines: %v", err)
	}
}

func TestNameFamily(t *testing.T) {
	for name, want := range map[string]parser.Family{
		"rules.v6": parser.IPv6, "/etc/iptables/rules.v6": parser.IPv6, "ip6tables.rules": parser.IPv6,
		"web1-ipv6.save": parser.IPv6, "iptables-ipv6.rules": parser.IPv6, "RULES.V6": parser.IPv6, "inet6.conf": parser.IPv6,
		"rules.v4": parser.IPv4, "iptables.conf": parser.IPv4, "host-ipv4.save": parser.IPv4,
		"hostv6.rules": 0, "v64.rules": 0, "rules.v4.v6": 0, "host-006.rules": 0, "-": 0, "iptables.save": parser.IPv4, "x.save": 0,
	} {
		if got := nameFamily(name); got != want {
			t.Errorf("nameFamily(%q) = %v, want %v", name, got, want)
		}
	}
}

// A host's two families on top of Docker's two live dumps: IPv6 lets the
// published 8080 through DOCKER-USER on eth0, IPv4 drops it. Docker's rule
// in the base accepts it; the finding is the checked file's, at its rule on
// the packet's path (DOCKER-USER's RETURN), as DFW201's is. When the IPv6
// file drops it too, there is no gap.
func TestCheckFamiliesDockerBase(t *testing.T) {
	const dir = "../../testdata/dualstack/"
	run := func(v6 string) string {
		var out, errb bytes.Buffer
		code := Main([]string{"check", "-q", "--fail-on", "never", "--base", dir + "docker28.v4", "--base", dir + "docker28.v6",
			"--ipv4", dir + "docker-user.v4", "--ipv6", v6}, strings.NewReader(""), &out, &errb)
		if code != 0 || errb.Len() > 0 {
			t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
		}
		return out.String()
	}
	out := run(dir + "docker-user.v6")
	want := dir + "docker-user.v6:10:1: warning DFW305 tcp port 8080 to a published container port is open to every source over IPv6 but closed over IPv4 (" + dir + "docker-user.v4), on eth0: close it here, or open it there as well; the packet passes this rule on its way\n" +
		"\t" + dir + "docker28.v6:20:1: accepted here, by a rule of " + dir + "docker28.v6\n" +
		"\t" + dir + "docker-user.v4:9:1: closed on IPv4 here\n"
	if !strings.Contains(out, want) {
		t.Errorf("DFW305 not at the IPv6 file's rule on the path; want\n%s\ngot\n%s", want, out)
	}
	if strings.Count(out, "DFW305") != 1 {
		t.Errorf("want one DFW305, got\n%s", out)
	}
	v6, err := os.ReadFile(dir + "docker-user.v6")
	if err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(t.TempDir(), "closed.v6")
	fixed := strings.Replace(string(v6), "-A DOCKER-USER -j RETURN", "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctstate NEW -j DROP\n-A DOCKER-USER -j RETURN", 1)
	if err := os.WriteFile(closed, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(closed); strings.Contains(out, "DFW305") {
		t.Errorf("IPv6 closes 8080 on eth0 as IPv4 does: want no DFW305, got\n%s", out)
	}
}

// A family shut entirely is not served, on purpose: rules.v6 that accepts
// no new connection on any port (what DFW305's page advises for a host
// without IPv6) leaves no DFW305 on the IPv4 ports, and dfwlint check
// exits 0. One that opens 22 but not 443 still has the gap at 443; a
// DHCPv6 client's port does not make IPv6 served.
func TestCheckFamilyShut(t *testing.T) {
	const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	const v4 = head + "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n"
	run := func(v6 string) (int, string) {
		dir := t.TempDir()
		for name, data := range map[string]string{"rules.v4": v4, "rules.v6": v6} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(dir)
		var out, errb bytes.Buffer
		code := Main([]string{"check", "-q", "rules.v4", "rules.v6"}, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	for _, v6 := range []string{
		head + "COMMIT\n",
		head + "-A INPUT -s fe80::/10 -p udp -m udp --dport 546 -j ACCEPT\nCOMMIT\n",
	} {
		if code, out := run(v6); code != 0 || strings.Contains(out, "DFW305") {
			t.Errorf("IPv6 shut: exit %d, want 0 and no DFW305\n%s", code, out)
		}
	}
	code, out := run(head + "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	if code != 1 || strings.Count(out, "DFW305") != 1 || !strings.Contains(out, "rules.v4:8:1: warning DFW305 tcp port 443 to the host is open to every source over IPv4 but closed over IPv6 (rules.v6)") {
		t.Errorf("IPv6 serves 22 but not 443: exit %d, want 1 and DFW305 at rules.v4:8\n%s", code, out)
	}
}

// On IPv6 the Internet is the global unicast space: 22 open to 2000::/3,
// or to all but link-local or unique local sources, is open to every
// source as on IPv4; 22 open to one IPv6 network only is not.
func TestCheckFamilyGlobalUnicast(t *testing.T) {
	const head = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n"
	const v4 = head + "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
	run := func(v6 string) string {
		dir := t.TempDir()
		for name, data := range map[string]string{"rules.v4": v4, "rules.v6": v6} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(dir)
		var out, errb bytes.Buffer
		Main([]string{"check", "-q", "--fail-on", "never", "rules.v4", "rules.v6"}, strings.NewReader(""), &out, &errb)
		return out.String() + errb.String()
	}
	for _, src := range []string{"-s 2000::/3", "! -s fe80::/10", "! -s fc00::/7", "-s ::/1"} {
		out := run(head + "-A INPUT " + src + " -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
		if strings.Contains(out, "DFW305") || !strings.Contains(out, "rules.v6:6:1: info DFW304") {
			t.Errorf("%s: want DFW304 on rules.v6 and no DFW305\n%s", src, out)
		}
	}
	out := run(head + "-A INPUT -s 2001:db8:100::/48 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n")
	if !strings.Contains(out, "rules.v4:6:1: warning DFW305 tcp port 22 to the host is open to every source over IPv4 but open only to some sources over IPv6") || strings.Contains(out, "DFW304 ssh (tcp/22) accepts new connections from any address on any interface the rules never name (a second uplink, say): restrict the sources (-s), or put it behind a VPN\n\twitness: {\"dport\":22,\"dst\":\"2001") {
		t.Errorf("-s 2001:db8:100::/48: want DFW305 at rules.v4:6, no DFW304 on rules.v6\n%s", out)
	}
}

// An IPv6 container address is written with its port as [ADDR]:PORT, in
// the findings (DFW201 and its related DNAT) and in the exposure table,
// also when the DNAT names the address alone (the port is the packet's).
func TestIPv6AddressPort(t *testing.T) {
	const dir = "../../testdata/dualstack/"
	var out, errb bytes.Buffer
	if code := Main([]string{"check", "-q", "--fail-on", "never", "--base", dir + "docker28.v6", dir + "docker-user.v6"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"DFW201 tcp/8080, published to [fd00:dead:beef::2]:80, accepts", "Docker publishes tcp/8080 here: DNAT to [fd00:dead:beef::2]:80\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("want %q in\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "fd00:dead:beef::2:80") {
		t.Errorf("an IPv6 address and port without brackets:\n%s", out.String())
	}

	rules := filepath.Join(t.TempDir(), "addr-only.v6")
	if err := os.WriteFile(rules, []byte(`# Generated by ip6tables-save
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s fd00:17::/64 ! -o docker0 -j MASQUERADE
-A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination fd00:17::2
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -d fd00:17::2/128 -o docker0 -p tcp --dport 8080 -j ACCEPT
COMMIT
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := Main([]string{"exposure", rules}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), " [fd00:17::2]:8080 (docker0) ") {
		t.Errorf("want the container as [fd00:17::2]:8080 in\n%s", out.String())
	}
}
