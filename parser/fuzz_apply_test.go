package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApplyNoflush applies a fuzzed restore file with --noflush on top of a
// Docker ruleset (the applier's entry point for users' iptables.conf files).
// It must never panic, must report every problem with a position in one of
// the two files, and what it loads must print back to text that loads
// again without errors.
func FuzzApplyNoflush(f *testing.F) {
	f.Add([]byte("*filter\n:DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n-F DOCKER-USER\n-A DOCKER-USER -i ens33 -j FILTERS\n-A FILTERS -p tcp -m conntrack --ctorigdstport 80 -j ACCEPT\n-A FILTERS -j RETURN\nCOMMIT\n"))
	f.Add([]byte("*filter\n-N X\n-A X -j ACCEPT\n-E X Y\n-I INPUT 1 -j Y\n-D INPUT 1\n-X Y\n-P FORWARD ACCEPT\n-Z\nCOMMIT\n"))
	f.Add([]byte("*nat\n:DOCKER - [0:0]\n-A DOCKER -p tcp --dport 81 -j DNAT --to 172.17.0.2:80\n-R DOCKER 1 -j RETURN\nCOMMIT\n"))
	f.Add([]byte("*filter\n-A INPUT -j NOPE\n-D INPUT -j ACCEPT\n-X DOCKER\n:INPUT BAD\nCOMMIT\n"))
	// The usual base of an overlay: the seed's Docker 20.10 host.
	base, err := os.ReadFile(filepath.Join("..", "testdata", "seed", "docker-20.10.save"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, overlay []byte) {
		l := Load([]Source{{Name: "live.save", Data: bytes.Clone(base)}, {Name: "iptables.conf", Data: overlay}}, Options{})
		for _, e := range l.Diags {
			if e.Pos.File != "live.save" && e.Pos.File != "iptables.conf" && e.Pos.File != "" {
				t.Fatalf("diagnostic without a file of the input: %v", e)
			}
		}
		if len(l.Diags.Errors()) > 0 {
			return
		}
		var out bytes.Buffer
		if err := l.Ruleset.WriteSave(&out); err != nil {
			t.Fatal(err)
		}
		again := Load([]Source{{Name: "printed", Data: out.Bytes()}}, Options{Family: l.Ruleset.Family})
		if errs := again.Diags.Errors(); len(errs) > 0 {
			t.Fatalf("printed ruleset does not load: %v\n%s", errs, out.String())
		}
		var out2 bytes.Buffer
		again.Ruleset.WriteSave(&out2)
		if out.String() != out2.String() {
			t.Fatalf("printing is not idempotent:\n%s\n---\n%s", out.String(), out2.String())
		}
	})
}
