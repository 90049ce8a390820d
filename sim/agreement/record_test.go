package agreement

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/dfw-project/dfw/sim/kernel"
)

var record = flag.Bool("record", false, "ask the kernel and rewrite testdata/recorded/<backend>.json")

// TestRecord asks the kernel for the answers of every case and records them.
// It runs only with -record (and root).
func TestRecord(t *testing.T) {
	if !*record {
		t.Skip("run with -record to ask the kernel and rewrite the recorded answers")
	}
	kernel.Require(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cases := handWritten(t)
	for _, backend := range []string{"nft", "legacy"} {
		topo := kernel.NewForTest(t, backend)
		rec := Recorded{}
		for _, c := range cases {
			answers, err := KernelRun(topo, c, root)
			if err != nil {
				t.Fatalf("%s: %v", backend, err)
			}
			rec[c.Name] = map[string][]Answer{}
			for i, f := range c.Flows {
				rec[c.Name][f.Name] = answers[i]
			}
		}
		if err := rec.Save(filepath.Join("testdata", "recorded"), backend); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRandomCasesLoad checks that every random case the generator makes is
// accepted by the kernel (a generator bug otherwise).
func TestRandomCasesLoad(t *testing.T) {
	kernel.Require(t)
	topo := kernel.NewForTest(t, "nft")
	for seed := uint64(1); seed <= 300; seed++ {
		c := RandomCase(seed)
		if _, err := KernelRun(topo, c, "."); err != nil {
			t.Errorf("seed %d: %v\n%s", seed, err, c.RulesetText)
		}
	}
}
