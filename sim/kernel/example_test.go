package kernel_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/dfw-project/dfw/sim/kernel"
)

// A published port and its reply, as the kernel handles them.
func ExampleTopology_SendFlow() {
	if kernel.Check() != nil {
		return // not root, or tools missing
	}
	topo, err := kernel.New(kernel.Options{Backend: "nft"})
	if err != nil {
		log.Fatal(err)
	}
	defer topo.Close()
	rules := []byte(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i ens33 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
`)
	if err := topo.Reset(); err != nil {
		log.Fatal(err)
	}
	if err := topo.Load(rules); err != nil {
		log.Fatal(err)
	}
	obs, err := topo.SendFlow([]kernel.Packet{
		{From: kernel.Ext, Dst: netip.MustParseAddr("203.0.113.10"), Dport: 8080},
		{ReplyTo: 1}, // from c1, where the SYN arrived
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range obs {
		fmt.Println(o.Disposition, o.ArrivedIn, o.Seen, o.Hits)
	}
	// Prints, when run as root:
	// forwarded c1 tcp 203.0.113.7:40000 > 172.17.0.2:80 [S] [nat:POSTROUTING#policy nat:PREROUTING#1]
	// forwarded ext tcp 203.0.113.10:8080 > 203.0.113.7:40000 [SA] []
}
