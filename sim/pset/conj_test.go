package pset

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// matchSetRef is MatchSet written plainly: the parts intersected one by
// one. MatchSet builds the same sets another way (conj); BDDs are
// canonical, so the two must return the very same nodes.
func matchSetRef(u *Universe, r *parser.Rule) (must, may Set) {
	may = u.All()
	exact := true
	add := func(s Set, ok bool) {
		may = may.Intersect(s)
		exact = exact && ok
	}
	if r.Src != nil {
		add(u.addrMatch(Src, r.Src.Addr, r.Src.Mask, r.Src.Neg))
	}
	if r.Dst != nil {
		add(u.addrMatch(Dst, r.Dst.Addr, r.Dst.Mask, r.Dst.Neg))
	}
	if r.In != nil {
		add(neg(u.IfaceMatch(InIface, r.In.Name, r.In.Wildcard), r.In.Neg), true)
	}
	if r.Out != nil {
		add(neg(u.IfaceMatch(OutIface, r.Out.Name, r.Out.Wildcard), r.Out.Neg), true)
	}
	if r.Proto != nil {
		add(u.proto(Proto, r.Proto), true)
	}
	if r.Fragment != nil {
		add(neg(u.Eq(Fragment, 1), r.Fragment.Neg), true)
	}
	for _, m := range r.Matches {
		add(MatchOf(u, m))
	}
	if !exact {
		return u.Empty(), may
	}
	return may, may
}

// sameAsRef checks every rule of rs in universes of three variable orders:
// the default (most parts built by conj's composition), one with an
// interface field on top (no field above valid: every part intersected)
// and one with ports on top (a general part above the composed ones).
func sameAsRef(t *testing.T, name string, rs *parser.Ruleset) int {
	t.Helper()
	n := 0
	for _, order := range [][]Field{nil, {InIface}, {Sport, Dport, Src}} {
		opts := RulesetOptions(rs)
		opts.Order = order
		u := New(opts)
		for _, tn := range sortedKeys(rs.Tables) {
			tb := rs.Tables[tn]
			for _, cn := range sortedKeys(tb.Chains) {
				for i, r := range tb.Chains[cn].Rules {
					must, may := MatchSet(u, r)
					wmust, wmay := matchSetRef(u, r)
					if must != wmust || may != wmay {
						t.Fatalf("%s: order %v: %s/%s#%d %q: MatchSet differs from the parts intersected one by one (must %v/%v, may %v/%v)",
							name, order, tn, cn, i+1, r.String(), must.n, wmust.n, may.n, wmay.n)
					}
					n++
				}
			}
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestMatchSetSameAsIntersections(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var lines []string
	for range 800 {
		parts := randParts(r)
		var texts []string
		for _, p := range parts {
			texts = append(texts, p.text)
		}
		lines = append(lines, "-A FORWARD "+strings.Join(texts, " ")+" -j DROP")
	}
	// Parts that meet on one field, negated addresses, empty parts.
	lines = append(lines,
		"-A FORWARD -p tcp -m tcp --dport 22 -m multiport --dports 22,80 -j DROP",
		"-A FORWARD -p tcp -m tcp --dport 22 -m multiport --dports 80,443 -j DROP",
		"-A FORWARD ! -s 10.0.0.0/8 -m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP",
		"-A FORWARD ! -s 0.0.0.0/0 -j DROP",
		"-A FORWARD -s 10.1.0.0/255.0.255.0 ! -d 192.0.2.1/32 -p udp -m udp ! --sport 53 -j DROP",
		"-A FORWARD ! -p all -j DROP",
		"-A FORWARD -f -p tcp -m tcp --dport 80 -j DROP",
		"-A FORWARD ! -f -p icmp -m icmp --icmp-type 3/4 -m icmp ! --icmp-type 8 -j DROP",
		"-A FORWARD -p icmp -m icmp --icmp-type any -j DROP",
		"-A FORWARD -p tcp -m multiport --ports 22,80 -m tcp --tcp-flags SYN,ACK SYN -j DROP",
		"-A FORWARD -p tcp -m tcp ! --tcp-flags SYN,RST,ACK SYN -m conntrack --ctstate NEW --ctorigdstport 80 -j DROP",
		"-A FORWARD -i eth0 -o docker0 -p tcp -m tcp --sport 1024:65535 --dport 1:1023 -m mark --mark 0x1/0x1 -j DROP",
		// Ports whose BDD is larger than compose's list memo (see
		// TestComposeLargeMemo).
		manyPorts,
	)
	src := "*filter\n:FORWARD ACCEPT [0:0]\n" + strings.Join(lines, "\n") + "\nCOMMIT\n"
	l := parser.Load([]parser.Source{{Name: "t", Data: []byte(src)}}, parser.Options{})
	if got := len(l.Ruleset.Chain("filter", "FORWARD").Rules); got < 600 {
		t.Fatalf("only %d of %d rules loaded", got, len(lines))
	}
	t.Logf("%d rule checks", sameAsRef(t, "random", l.Ruleset))
}

// TestMatchSetSameAsIntersectionsCorpus: the same on every rule of the
// corpus (IPv4 and IPv6).
func TestMatchSetSameAsIntersectionsCorpus(t *testing.T) {
	dir := os.Getenv("DFW_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.save"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no corpus files in %s (CI=true: the corpus must be there; set DFW_CORPUS)", dir)
		}
		t.Skipf("no corpus files in %s (set DFW_CORPUS to run)", dir)
	}
	if testing.Short() {
		files = files[:min(len(files), 20)]
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l := parser.Load([]parser.Source{{Name: filepath.Base(f), Data: data}}, parser.Options{})
		n += sameAsRef(t, filepath.Base(f), l.Ruleset)
	}
	t.Logf("%d files, %d rule checks", len(files), n)
}

const manyPorts = "-A FORWARD -p tcp -m tcp --dport 3:60000 -m multiport --dports " +
	"7:13,101:333,517:1111,2049:4097,5001:5003,6379:6380,7001:7777,8443 -j DROP"

// TestComposeLargeMemo: the ports of manyPorts make a BDD larger than
// compose's list memo, so that TestMatchSetSameAsIntersections takes the
// memo's map too.
func TestComposeLargeMemo(t *testing.T) {
	src := "*filter\n:FORWARD ACCEPT [0:0]\n" + manyPorts + "\nCOMMIT\n"
	l := parser.Load([]parser.Source{{Name: "t", Data: []byte(src)}}, parser.Options{})
	rules := l.Ruleset.Chain("filter", "FORWARD").Rules
	if len(l.Diags.Errors()) > 0 || len(rules) != 1 {
		t.Fatalf("%v", l.Diags)
	}
	u := ForRuleset(l.Ruleset)
	var ports *parser.PortSet
	for _, m := range rules[0].Matches {
		if mp, ok := m.Spec.(*parser.MultiportMatch); ok {
			ports = mp.Dst
		}
	}
	if n := u.d.size(u.portsBDD(Dport, ports)); n <= maxListMemo {
		t.Fatalf("the ports' BDD has %d nodes, not more than %d", n, maxListMemo)
	}
	must, may := MatchSet(u, rules[0])
	wmust, wmay := matchSetRef(u, rules[0])
	if must != wmust || may != wmay {
		t.Fatalf("MatchSet differs from the parts intersected one by one")
	}
}
