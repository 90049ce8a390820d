package agreement

import (
	"encoding/json"
	"flag"
	"fmt"
	"testing"

	"github.com/dfw-project/dfw/sim/kernel"
)

var (
	inspect        = flag.String("inspect", "", "print kernel and simulator answers for the named case")
	inspectBackend = flag.String("backend", "nft", "backend for -inspect")
)

// TestInspect prints both sides' answers for one case (-inspect NAME).
func TestInspect(t *testing.T) {
	if *inspect == "" {
		t.Skip("run with -inspect CASE")
	}
	kernel.Require(t)
	root, _ := RepoRoot()
	for _, c := range handWritten(t) {
		if c.Name != *inspect {
			continue
		}
		topo := kernel.NewForTest(t, *inspectBackend)
		k, err := KernelRun(topo, c, root)
		if err != nil {
			t.Fatal(err)
		}
		s, err := SimRun(c, root, SkipsOf(k))
		if err != nil {
			t.Fatal(err)
		}
		kj, _ := json.MarshalIndent(k, "", " ")
		sj, _ := json.MarshalIndent(s, "", " ")
		fmt.Printf("KERNEL %s\nSIM %s\n", kj, sj)
		return
	}
	t.Fatalf("no case %q", *inspect)
}
