package parser

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
)

// fastTables are the tables TestFastRule reads each line in: the five
// tables, and one iptables does not know (reported on its "*table" line).
var fastTables = []string{"filter", "nat", "mangle", "raw", "security", "bogus"}

// fastSame runs fastRule on a line of a ruleset of the family and, when
// it takes it, checks that the full parser gives no diagnostic and the
// same command, with the lean copy of its rule. It reports whether
// fastRule took the line.
func fastSame(t *testing.T, line, table string, fam Family) bool {
	t.Helper()
	newParser := func() *fileParser {
		return &fileParser{f: &File{Name: "rules", Family: fam}, table: table, inTable: true, comment: "# dfwlint:ignore DFW101"}
	}
	p := newParser()
	var lc leanCopier
	var slot Command
	var ruleSlot [1]*Rule
	fast := p.fastRule(7, line, &lc, &slot, &ruleSlot)
	if fast == nil {
		return false
	}
	q := newParser()
	var slot2 Command
	var ruleSlot2 [1]*Rule
	q.cmdSlot, q.ruleSlot = &slot2, &ruleSlot2
	full := q.parseRuleLine(7, line)
	if len(q.f.Diags) > 0 || full == nil {
		t.Errorf("%s, table %s: fastRule takes %q, which the full parser reads with %v", fam, table, line, q.f.Diags)
		return true
	}
	var lc2 leanCopier
	for k, r := range full.Rules {
		full.Rules[k] = lc2.detach(r)
	}
	full.detached = true
	if !reflect.DeepEqual(fast, full) {
		t.Errorf("%s, table %s: %q:\nfastRule:    %s\nfull parser: %s", fam, table, line, describeFast(fast), describeFast(full))
	}
	return true
}

func describeFast(c *Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v", *c)
	for _, r := range c.Rules {
		fmt.Fprintf(&b, "\n  rule %+v", *r)
		if r.In != nil {
			fmt.Fprintf(&b, "\n  in %+v", *r.In)
		}
		if r.Out != nil {
			fmt.Fprintf(&b, "\n  out %+v", *r.Out)
		}
		if r.Target != nil {
			fmt.Fprintf(&b, "\n  target %+v", *r.Target)
		}
	}
	return b.String()
}

// TestFastRule checks fastRule (the fast path of lean loads) against the
// full parser on every "-A" line of the test inputs (the corpus, the
// testdata, kube-proxy rulesets) and on lines made to probe its edges; and
// that it takes the lines it is for.
func TestFastRule(t *testing.T) {
	taken, total := 0, 0
	for name, data := range loadInputs(t) {
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "-A ") {
				continue
			}
			for _, table := range fastTables {
				for _, fam := range []Family{IPv4, IPv6} {
					total++
					if fastSame(t, line, table, fam) {
						taken++
					}
				}
			}
		}
		if t.Failed() {
			t.Fatalf("in %s", name)
		}
	}
	t.Logf("fastRule took %d of %d lines (each in %d tables and two families)", taken, total, len(fastTables))

	// The lines of a kube-proxy ruleset it leaves to the full parser:
	// -m addrtype (kept by lean loads), -m conntrack, -j MARK, and rules
	// without a target.
	var kube bytes.Buffer
	if err := gen.KubeProxy(&kube, 300); err != nil {
		t.Fatal(err)
	}
	kubeTaken, kubeTotal := 0, 0
	for _, line := range strings.Split(kube.String(), "\n") {
		if strings.HasPrefix(line, "-A ") {
			kubeTotal++
			if fastSame(t, line, "nat", IPv4) {
				kubeTaken++
			}
		}
	}
	if kubeTaken < kubeTotal*98/100 {
		t.Errorf("fastRule took %d of the %d rules of a kube-proxy ruleset, want 98%% or more", kubeTaken, kubeTotal)
	}

	for _, line := range []string{
		`-A KUBE-SEP-ABC -s 10.244.1.5/32 -m comment --comment "ns/svc:http" -j KUBE-MARK-MASQ`,
		`-A KUBE-SEP-ABC -p tcp -m comment --comment "ns/svc:http" -m tcp -j DNAT --to-destination 10.244.1.5:8080`,
		`-A KUBE-SEP-ABC -p udp -m comment --comment "ns/svc:dns" -m udp -j DNAT --to-destination 10.244.1.5:53`,
		`-A KUBE-SEP-ABC -j DNAT --to-destination 10.244.1.5`,
		`-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y`,
		`-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p udp -m comment --comment "x" -m udp --dport 53 -j KUBE-MARK-MASQ`,
		`-A KUBE-SVC-X -m comment --comment "a -> 10.244.1.5:53" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-Y`,
		`-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT`,
		`-A FORWARD -o br-1a2b3c4d5e6f -j DOCKER`,
		`-A FORWARD -i eth+ -o docker0 -j DROP`,
		`-A INPUT -p tcp -m tcp --sport 1024 --dport 22 -j ACCEPT`,
		`-A INPUT -j RETURN`,
		`-A KUBE-FW -d 10.0.0.1/32 -p tcp -m comment --comment "x" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable`,
		`-A KUBE-SVC-X -s 0.0.0.0/0 -j KUBE-SEP-Y`,
	} {
		for _, table := range fastTables {
			if !fastSame(t, line, table, IPv4) {
				t.Errorf("fastRule leaves %q (table %s) to the full parser", line, table)
			}
		}
	}
	for _, line := range []string{
		`-A KUBE-SEP-ABC -s fd00:10:244::5/128 -m comment --comment "ns/svc:http" -j KUBE-MARK-MASQ`,
		`-A KUBE-SEP-ABC -p tcp -m comment --comment "ns/svc:http" -m tcp -j DNAT --to-destination [fd00:10:244::5]:8080`,
		`-A KUBE-SEP-ABC -j DNAT --to-destination fd00:10:244::5`,
		`-A KUBE-SERVICES -d fd00:10:96::1/128 -p tcp -m tcp --dport 443 -j KUBE-SVC-X`,
		`-A DOCKER ! -s fe80::/10 ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80`,
		`-A FORWARD -s 2001:db8::/32 -j REJECT --reject-with icmp6-adm-prohibited`,
		`-A INPUT -s ::/0 -j ACCEPT`,
		`-A INPUT -d ::ffff:10.0.0.1/128 -j ACCEPT`,
	} {
		for _, table := range fastTables {
			if !fastSame(t, line, table, IPv6) {
				t.Errorf("fastRule leaves %q (table %s, IPv6) to the full parser", line, table)
			}
		}
	}
	for _, line := range []string{
		`-A X -s 2001:db8::1/32 -j ACCEPT`,           // host bits
		`-A X -s 2001:DB8::/32 -j ACCEPT`,            // upper case
		`-A X -s 2001:db8:0:0::/64 -j ACCEPT`,        // not compressed
		`-A X -s fe80::1%eth0/128 -j ACCEPT`,         // a zone
		`-A X -s 10.0.0.0/8 -j ACCEPT`,               // another family
		`-A X -s 2001:db8::/129 -j ACCEPT`,           // too long
		`-A X ! -s ::/0 -j ACCEPT`,                   // matches nothing
		`-A X -j DNAT --to-destination [fd00::1]:80`, // a port without -p
		`-A X -p tcp -j DNAT --to-destination [fd00::1]:`,
		`-A X -p tcp -j DNAT --to-destination [fd00::1]`,
		`-A X -p tcp -j DNAT --to-destination [fd00::1]:80-90`,
		`-A X -j REJECT --reject-with icmp-port-unreachable`,
		`-A X -j REJECT --reject-with no-route`,
	} {
		for _, table := range fastTables {
			if fastSame(t, line, table, IPv6) {
				t.Errorf("fastRule takes %q (table %s, IPv6), which is outside its form", line, table)
			}
		}
	}
	for _, line := range []string{
		`-A X -s 10.0.0.1/24 -j ACCEPT`,                     // host bits
		`-A X -s 010.0.0.0/8 -j ACCEPT`,                     // leading zero
		`-A X -s 10.0.0.0 -j ACCEPT`,                        // no length
		`-A X ! -s 0.0.0.0/0 -j ACCEPT`,                     // matches nothing
		`-A X -s 10.0.0.0/8  -j ACCEPT`,                     // two spaces
		`-A X -s 10.0.0.0/8 -j ACCEPT `,                     // trailing space
		`-A X -j ACCEPT -s 10.0.0.0/8`,                      // after the target
		`-A X -p tcp --dport 80 -j ACCEPT`,                  // implicit -m tcp
		`-A X -p tcp -m udp --dport 80 -j ACCEPT`,           // another protocol's module
		`-A X -m tcp -p tcp --dport 80 -j ACCEPT`,           // module before -p
		`-A X -p tcp -m tcp --dport 0 -j ACCEPT`,            // port 0
		`-A X -p tcp -m tcp --dport 080 -j ACCEPT`,          // leading zero
		`-A X -p tcp -m tcp --dport 1:2 -j ACCEPT`,          // a range
		`-A X -p tcp -m tcp ! --dport 22 -j ACCEPT`,         // negated port
		`-A X -p tcp -m tcp --dport 22 --sport 1 -j ACCEPT`, // not iptables-save's order
		`-A X ! -p tcp -j ACCEPT`,                           // negated protocol
		`-A X -p icmp -j ACCEPT`,                            // another protocol
		`-A X -m comment --comment "" -j ACCEPT`,            // empty comment
		`-A X -m comment --comment "a\"b" -j ACCEPT`,        // escaped quote
		`-A X -m comment --comment plain -j ACCEPT`,         // unquoted
		`-A X -m comment --comment "` + strings.Repeat("c", 256) + `" -j ACCEPT`,
		`-A X -m statistic --mode random --probability 1.5 -j Y`,
		`-A X -m statistic --mode nth --every 2 -j Y`,
		`-A X -m conntrack --ctstate NEW -j ACCEPT`,
		`-A X -m addrtype --dst-type LOCAL -j Y`,
		`-A X -i ` + strings.Repeat("e", 16) + ` -j ACCEPT`,
		`-A X -i a/b -j ACCEPT`,
		`-A X -j MARK --set-xmark 0x4000/0x4000`,
		`-A X -j DNAT --to-destination 10.0.0.1:80`, // a port without -p
		`-A X -p tcp -j DNAT --to-destination 10.0.0.1:80-90`,
		`-A X -p tcp -j DNAT --to 10.0.0.1:80`,
		`-A X -j REJECT --reject-with tcp-reset`,
		`-A X -j REJECT`,
		`-A X -g Y`,
		`-A X -j LOG`,
		`-A X -j QUEUE`,
		`-A X -j ` + strings.Repeat("Y", 29),
		`-A -X -j ACCEPT`,
		`-A X`,
		`-A X -s 10.0.0.0/8`,
		`-A X -j ACCEPT extra`,
		"-A X -j ACCEPT\r",
		`-I X -j ACCEPT`,
		`[0:0] -A X -j ACCEPT`,
		`-A X -m comment --comment "é" -j ACCEPT`,
		"-A X\t-j ACCEPT",
		`-A X -m comment --comment "it's" -j ACCEPT`,
		"-A X -m comment --comment \"a\x7fb\" -j ACCEPT",
		`-A X -m comment --comment "a"b -j ACCEPT`,
		`-A X -m comment --comment "a -j ACCEPT`,
		`-A X -j A"B`,
		`-A X.Y -j ACCEPT`,
		"-A X\x01 -j ACCEPT",
		"-A X -j ACC\\EPT",
		"-A X -s 10.0.0.0/8\x00 -j ACCEPT",
		"-A X -m comment --comment \"a\tb\" -j ACCEPT",
		"-A X -m comment --comment \"a\xffb\" -j ACCEPT",
		"-A X -p tcp -m tcp --dport 2\x80 -j ACCEPT",
	} {
		for _, table := range fastTables {
			if fastSame(t, line, table, IPv4) {
				t.Errorf("fastRule takes %q (table %s), which is outside its form", line, table)
			}
		}
	}
}

// FuzzFastRule: whatever line fastRule takes, the full parser reads the
// same, with no diagnostic.
func FuzzFastRule(f *testing.F) {
	var kube bytes.Buffer
	if err := gen.KubeProxy(&kube, 3); err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(kube.String(), "\n") {
		if strings.HasPrefix(line, "-A ") {
			f.Add(line)
		}
	}
	f.Add(`-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --sport 1 --dport 80 -j ACCEPT`)
	f.Add(`-A X -p tcp -j REJECT --reject-with icmp-host-prohibited`)
	f.Add(`-A KUBE-SEP-ABC -p tcp -m comment --comment "ns/svc:http" -m tcp -j DNAT --to-destination [fd00:10:244::5]:8080`)
	f.Add(`-A FORWARD ! -s fe80::/10 -j REJECT --reject-with icmp6-adm-prohibited`)
	f.Fuzz(func(t *testing.T, line string) {
		for _, fam := range []Family{IPv4, IPv6} {
			for _, table := range fastTables {
				fastSame(t, line, table, fam)
			}
		}
	})
}

// isASCII agrees with a byte-by-byte check for a byte at or above 0x80 at
// every place of the 32-byte, 8-byte and tail loops.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 70; n++ {
		b := []byte(strings.Repeat("a", n))
		if !isASCII(string(b)) {
			t.Fatalf("isASCII(%q) = false", b)
		}
		for at := 0; at < n; at++ {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				b[at] = c
				if isASCII(string(b)) {
					t.Fatalf("isASCII(%q) = true", b)
				}
				b[at] = 'a'
			}
		}
	}
}

// A line that is not valid UTF-8 draws a warning, in a file that is not
// all ASCII; valid UTF-8 does not.
func TestInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		line string
		warn bool
	}{
		{"-A INPUT -m comment --comment \"caf\xc3\xa9\" -j ACCEPT", false},
		{"-A INPUT -m comment --comment \"caf\xe9\" -j ACCEPT", true},
		{"-A INPUT -j ACCEPT", false},
	} {
		f := Parse("rules", []byte("*filter\n"+tc.line+"\nCOMMIT\n"), Options{})
		got := false
		for _, d := range f.Diags {
			if strings.Contains(d.Msg, "not valid UTF-8") {
				got = d.Pos.Line == 2
			}
		}
		if got != tc.warn {
			t.Errorf("%q: warned %v, want %v (%v)", tc.line, got, tc.warn, f.Diags)
		}
	}
}

// BenchmarkRuleLine reads the rule lines of a kube-proxy ruleset as a lean
// load's worker does: by the fast path, and by the full parser and the
// lean copy.
func BenchmarkRuleLine(b *testing.B) {
	var kube bytes.Buffer
	if err := gen.KubeProxy(&kube, 1000); err != nil {
		b.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(kube.String(), "\n") {
		if strings.HasPrefix(line, "-A ") {
			lines = append(lines, line)
		}
	}
	newParser := func() *fileParser {
		p := &fileParser{f: &File{Name: "rules", Family: IPv4}, table: "nat", inTable: true}
		p.a.recycle()
		return p
	}
	b.Run("fast", func(b *testing.B) {
		p := newParser()
		var lc leanCopier
		var slot Command
		var ruleSlot [1]*Rule
		for i := 0; b.Loop(); i++ {
			if i%len(lines) == 0 {
				p.a.reset()
				lc = leanCopier{}
			}
			p.fastRule(i, lines[i%len(lines)], &lc, &slot, &ruleSlot)
		}
	})
	b.Run("full", func(b *testing.B) {
		p := newParser()
		var lc leanCopier
		var slot Command
		var ruleSlot [1]*Rule
		p.cmdSlot, p.ruleSlot = &slot, &ruleSlot
		for i := 0; b.Loop(); i++ {
			if i%len(lines) == 0 {
				p.a.reset()
				lc = leanCopier{}
				p.f.Diags = p.f.Diags[:0]
			}
			if c := p.parseRuleLine(i, lines[i%len(lines)]); c != nil {
				for k, r := range c.Rules {
					c.Rules[k] = lc.detach(r)
				}
			}
		}
	})
}
