package parser

import (
	"bytes"
	"strings"
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
	base := []byte(dockerBase)
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

// dockerBase is a Docker 20.10 host's ruleset, the usual base of an overlay.
var dockerBase = strings.TrimSpace(`
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
`) + "\n"
