package pset

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/parser"
)

// The benchmarks fold "remaining packets" through a list of rules,
// reach_{i+1} = reach_i \ must_i, as reachability and shadowing analyses
// do, over every rule of a ruleset in table/chain/rule order. They compare
// the BDD representation with interval cubes (boxes; see altBoxes below).
//
//	go test -run '^$' -bench . -benchmem ./sim/pset
//	PSET_BENCH_BIG=1 … adds the 100,000-rule kube-proxy fold.

const countryCorpus = "../../../shared/corpus/gh-dropipsbycountry-ufw-23k.save"

func loadRules(tb testing.TB, src []byte) (*parser.Ruleset, []*parser.Rule) {
	tb.Helper()
	l := parser.Load([]parser.Source{{Name: "bench", Data: src}}, parser.Options{})
	rs := l.Ruleset
	var rules []*parser.Rule
	for _, t := range rs.SortedTables() {
		for _, c := range t.Order {
			rules = append(rules, c.Rules...)
		}
	}
	return rs, rules
}

// chainStart reports whether rule i starts a new chain.
func chainStart(rules []*parser.Rule, i int) bool {
	return i == 0 || rules[i].Table != rules[i-1].Table || rules[i].Chain != rules[i-1].Chain
}

// kubeRules returns about n rules of a kube-proxy node ruleset (cut to n).
func kubeRules(tb testing.TB, n int) (*parser.Ruleset, []*parser.Rule) {
	var b bytes.Buffer
	if err := gen.KubeProxy(&b, n/7+10); err != nil {
		tb.Fatal(err)
	}
	rs, rules := loadRules(tb, b.Bytes())
	if len(rules) > n {
		rules = rules[:n]
	}
	return rs, rules
}

func countryRules(tb testing.TB) (*parser.Ruleset, []*parser.Rule) {
	src, err := os.ReadFile(countryCorpus)
	if err != nil {
		tb.Skip("country-block corpus absent:", err)
	}
	return loadRules(tb, src)
}

// foldBDD runs the remaining-packets fold, chain by chain (reach starts
// as everything at each chain's first rule), and returns the set left at the
// end of the longest chain and the number of rules that no remaining packet
// can match. Every rule's must set is subtracted, whatever its target: the
// shadowing view (packets not matched by an earlier rule of the chain).
func foldBDD(u *Universe, rules []*parser.Rule) (Set, int) {
	reach, longest := u.All(), u.All()
	unreachable, n, maxN := 0, 0, 0
	for i, r := range rules {
		if chainStart(rules, i) {
			reach, n = u.All(), 0
		}
		n++
		must, may := MatchSet(u, r)
		if !reach.Overlaps(may) {
			unreachable++
		}
		reach = reach.Diff(must)
		if n >= maxN {
			longest, maxN = reach, n
		}
	}
	return longest, unreachable
}

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func benchFold(b *testing.B, rs *parser.Ruleset, rules []*parser.Rule) {
	b.ReportAllocs()
	var nodes int
	var heap float64
	for b.Loop() {
		b.StopTimer()
		base := heapMB()
		b.StartTimer()
		u := ForRuleset(rs)
		foldBDD(u, rules)
		b.StopTimer()
		nodes = u.NodeCount()
		heap = heapMB() - base
		runtime.KeepAlive(u)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(rules)), "rules")
	b.ReportMetric(float64(nodes), "nodes")
	b.ReportMetric(heap, "MB-live")
}

func BenchmarkFoldKubeBDD(b *testing.B) {
	sizes := []int{1000, 10000}
	if os.Getenv("PSET_BENCH_BIG") != "" {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		rs, rules := kubeRules(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFold(b, rs, rules) })
	}
}

func BenchmarkFoldCountryBDD(b *testing.B) {
	rs, rules := countryRules(b)
	benchFold(b, rs, rules)
}

func BenchmarkFoldKubeBoxes(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		rs, rules := kubeRules(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchBoxes(b, rs, rules) })
	}
}

func BenchmarkFoldCountryBoxes(b *testing.B) {
	rs, rules := countryRules(b)
	benchBoxes(b, rs, rules)
}

func benchBoxes(b *testing.B, rs *parser.Ruleset, rules []*parser.Rule) {
	u := ForRuleset(rs)
	alt, ok := newAltBoxes(u, rules, 1<<14)
	if !ok {
		b.Skip("a rule needs more than 16384 boxes")
	}
	b.ReportAllocs()
	var final int
	for b.Loop() {
		final = alt.fold(time.Minute)
		if final < 0 {
			b.Skip("box fold over a minute")
		}
	}
	b.ReportMetric(float64(len(rules)), "rules")
	b.ReportMetric(float64(final), "max-boxes")
	b.ReportMetric(float64(alt.skipped), "skipped-rules")
}

// BenchmarkIntersectNonContiguous intersects random sets made of
// non-contiguous address masks and port ranges, pairwise.
func BenchmarkIntersectNonContiguous(b *testing.B) {
	u := New(Options{Family: parser.IPv4})
	r := rand.New(rand.NewPCG(7, 8))
	var sets []Set
	for i := 0; i < 200; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
		lo := uint64(r.IntN(60000))
		s := u.Prefix(Src, a, randMask(r)).Intersect(u.Range(Dport, lo, lo+uint64(r.IntN(5000))))
		s = s.Intersect(u.Prefix(Dst, a, randMask(r)))
		sets = append(sets, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for i := range sets {
			for j := i + 1; j < len(sets); j++ {
				if !sets[i].Intersect(sets[j]).IsEmpty() {
					n++
				}
			}
		}
	}
	b.ReportMetric(float64(len(sets)*(len(sets)-1)/2), "pairs")
}

func TestFoldShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rs, rules := kubeRules(t, 2000)
	u := ForRuleset(rs)
	reach, unreach := foldBDD(u, rules)
	if reach.IsEmpty() {
		t.Fatalf("kube fold: nothing remains")
	}
	t.Logf("kube 2000: %d unreachable (w.r.t. the flat fold), %d nodes, final %d nodes", unreach, u.NodeCount(), reach.Nodes())
	alt, ok := newAltBoxes(u, rules[:300], 1<<14)
	if !ok {
		t.Fatal("boxes")
	}
	// The two representations agree on emptiness along the fold.
	if got, want := alt.foldCheck(u, rules[:300]), ""; got != want {
		t.Fatal(got)
	}
}
