package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/gen"
)

// BenchmarkCheckFleet checks 50 generated hosts (dfwgen fleet) per
// iteration, with -j 1 and -j 2: compare the two for the speed-up on two
// cores (scripts/bench-fleet.sh measures whole commands, with peak RSS).
func BenchmarkCheckFleet(b *testing.B) {
	dir := b.TempDir()
	hosts, err := gen.FleetWithSeed(dir, 50, 1)
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	rules := 0
	for _, h := range hosts {
		files = append(files, filepath.Join(dir, h.Name))
		rules += h.Rules
	}
	for _, jobs := range []int{1, 2} {
		b.Run(fmt.Sprintf("j%d", jobs), func(b *testing.B) {
			args := append([]string{"check", "--format", "json", "-j", fmt.Sprint(jobs)}, files...)
			for b.Loop() {
				if code := Main(args, strings.NewReader(""), io.Discard, io.Discard); code == ExitError {
					b.Fatalf("exit %d", code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(files)), "ns/file")
			b.ReportMetric(float64(rules), "rules")
		})
	}
}
