package sim

import (
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// FuzzSpec feeds --pkt values to the spec parser and resolves them against
// a Docker host: bad values must be errors that show the accepted forms,
// never panics, and a resolved packet must be simulated without panicking.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		"tcp:ens33:80", "udp:eth1:53", "icmp:ens33:0",
		"proto=tcp,in=ens33,dport=8080,flags=S", "proto=udp,in=docker0,src=172.17.0.2,dst=203.0.113.7,dport=53",
		"proto=icmp,in=ens33,type=8,code=0", "proto=tcp,in=local,dst=203.0.113.7,dport=443",
		"reply", "reply,flags=A", "related", "related,type=3,code=1",
		"proto=tcp,in=ens33,src=198.51.100.0/24,dport=1000-2000", "proto=47,in=ens33", "src=*",
		"proto=tcp,in=ens33,ttl=1,tos=16,len=60,mark=0x5,state=ESTABLISHED", "proto=sctp,in=ens33,dport=9",
		"proto=tcp,in=ens33,dport=70000", ":::", "proto=,in=", "tcp:ens33:", "=,=,",
	} {
		f.Add(s, s)
	}
	rs := parser.Load([]parser.Source{{Name: "docker.save", Data: []byte(fuzzDocker)}}, parser.Options{}).Ruleset
	f.Fuzz(func(t *testing.T, first, second string) {
		h := InferHost(rs, nil)
		s := New(rs, h)
		var prev *Result
		for _, v := range []string{first, second} {
			sp, err := ParseSpec(v)
			if err != nil {
				if err.Error() == "" {
					t.Fatalf("empty error for %q", v)
				}
				return
			}
			p, _, err := sp.Resolve(h, prev)
			if err != nil {
				if !strings.Contains(err.Error(), "") {
					t.Fatal("unreachable")
				}
				return
			}
			prev = s.Run(p)
			if prev.Verdict == "" || prev.Disposition == "" {
				t.Fatalf("%q: no verdict or disposition: %+v", v, prev)
			}
		}
	})
}

const fuzzDocker = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i ens33 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -i ens33 -m conntrack --ctstate NEW -j DROP
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -i ens33 -p tcp -m conntrack --ctorigdstport 8080 -j REJECT --reject-with tcp-reset
-A DOCKER-USER -j RETURN
COMMIT
`
