package parser

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
)

// FuzzParse checks that no input makes the parser panic, that reading it
// through the pipe, whole or lean, gives what reading it sequentially gives
// (all of it, or what a lean load keeps), and that the canonical text of an
// input that loads without error loads without error.
// Seeds: the repository's test rulesets and the corpus files (when present)
// of at most 64 KiB.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"../testdata/seed/*", "../testdata/docker/*.save"} {
		m, _ := filepath.Glob(pat)
		seeds = append(seeds, m...)
	}
	if dir := corpusDir(); dir != "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*.save"))
		seeds = append(seeds, m...)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err == nil && len(data) <= 64<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("*filter\n-A INPUT -p tcp -m multiport --dport 22 -j ACCEPT\nCOMMIT\n"))
	// NAT port offsets; the canonical text of a one-port range with an
	// offset must load again.
	f.Add([]byte("*nat\n-A PREROUTING -p tcp --dport 2000:2010 -j DNAT --to-destination 10.0.0.2:3000-3010/2000\n" +
		"-A PREROUTING -p udp -j DNAT --to-destination :3000-3000/0x10\n-A POSTROUTING -p udp -j SNAT --to-source 10.0.0.1:5000-5010/http\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := loadOne("fuzz.rules", data, Options{})
		// The pipe (parallel.go), which reads large files, in batches of
		// two lines, must give what the sequential read gave.
		if g, w := describeLoaded(loadOne("fuzz.rules", data, Options{pipeBatch: 2})), describeLoaded(l); g != w {
			t.Fatalf("the pipe's load differs from a sequential one:\n%s\ninput:\n%q", firstDiff(g, w), data)
		}
		// So must a lean load, in what it keeps.
		lean := loadOne("fuzz.rules", data, Options{Lean: true, pipeBatch: 2})
		if g, w := describeShape(lean), leanShape(l, lean); g != w {
			t.Fatalf("the lean load differs from a whole one:\n%s\ninput:\n%q", firstDiff(g, w), data)
		}
		if l.Diags.Err() != nil {
			return
		}
		var b bytes.Buffer
		if err := l.Ruleset.WriteSave(&b); err != nil {
			t.Fatal(err)
		}
		l2 := loadOne("canonical", b.Bytes(), Options{Family: l.Ruleset.Family})
		if err := l2.Diags.Err(); err != nil {
			t.Fatalf("canonical text does not load: %v\ninput:\n%q\ncanonical:\n%s", err, data, b.String())
		}
	})
}

// BenchmarkParse parses and loads kube-proxy-scale rulesets
// (internal/gen.KubeProxy) and reports the time per rule.
func BenchmarkParse(b *testing.B) {
	for _, services := range []int{1000, 10000} {
		var buf bytes.Buffer
		if err := gen.KubeProxy(&buf, services); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		l := loadOne("kube.save", data, Options{})
		if err := l.Diags.Err(); err != nil {
			b.Fatalf("generated ruleset does not load: %v", err)
		}
		rules := l.Ruleset.NumRules()
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				loadOne("kube.save", data, Options{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rules), "ns/rule")
			b.ReportMetric(float64(rules), "rules")
		})
	}
}
