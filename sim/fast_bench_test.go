package sim

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/parser"
)

// BenchmarkIndexLookup compares the two forms of a chain index on nat
// KUBE-SERVICES of the 10,000-service kube-proxy ruleset (every -d a /32):
// hash map vs sorted array with binary search.
func BenchmarkIndexLookup(b *testing.B) {
	var buf bytes.Buffer
	if _, err := gen.WriteKubeProxy(&buf, gen.KubeProxyOptions{Services: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	l := parser.Load([]parser.Source{{Name: "kube.save", Data: buf.Bytes()}}, parser.Options{})
	c := l.Ruleset.Tables["nat"].Chains["KUBE-SERVICES"]
	var ps []Packet
	for i := 0; i < 4096; i++ {
		ps = append(ps, Packet{Dst: netip.AddrFrom4([4]byte{10, 96 + byte(i>>16), byte(i >> 8), byte(i * 7)}), Dport: 80})
	}
	for _, form := range []struct {
		name      string
		intervals bool
	}{{"hash", false}, {"intervals", true}} {
		b.Run(form.name, func(b *testing.B) {
			forceIntervals = form.intervals
			defer func(old bool) { forceIntervals = old }(forceIntervals)
			ix := buildChainIndex(c)
			if (ix.exact == nil) != form.intervals {
				b.Fatal("wrong form")
			}
			n := 0
			for b.Loop() {
				n += len(ix.lookup(&ps[n&4095]))
			}
		})
	}
}
