package capture

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the fixture captures in testdata/")

var (
	fxClient = netip.MustParseAddr("198.51.100.7")
	fxDNS    = netip.MustParseAddr("192.0.2.9")
	fxPinger = netip.MustParseAddr("192.0.2.50")
	fxCtr    = netip.MustParseAddr("172.17.0.2")
	fxT0     = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
)

// fxFrame is one frame of a fixture.
type fxFrame struct {
	data   []byte
	caplen int // 0: whole
	ifc    int // pcapng interface
	dir    int // pcapng direction: 0 unknown, 1 in, 2 out
}

func writeFixture(t testing.TB, f Format, link uint32, ifaces []string, frames []fxFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw, err := newCapWriter(&buf, f, link, ifaces...)
	if err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		if err := cw.write(fxT0.Add(time.Duration(i)*time.Millisecond), fr.data, fr.caplen, fr.ifc, fr.dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tcpPkt(src, dst netip.Addr, sport, dport uint16, flags uint8, out bool) *gpkt {
	return &gpkt{proto: 6, src: src, dst: dst, sport: sport, dport: dport, flags: flags, out: out, ttl: 64, id: 100}
}

// incidentFrames: SLL2 framing (tcpdump -i any), with ARP, a frame cut
// short by the snap length, a UDP datagram in three fragments arriving
// out of order, ICMP echo both ways, and a fragment that never completes.
func incidentFrames(t testing.TB) []fxFrame {
	host := GenHostAddr
	var fr []fxFrame
	add := func(g *gpkt, caplen int) {
		var body []byte
		if g.arp {
			body = arpBody(g.out)
		} else {
			body = g.ipBytes(nil)
		}
		fr = append(fr, fxFrame{data: frame(LinkSLL2, g, body), caplen: caplen})
	}
	addIP := func(g *gpkt, ip []byte) {
		fr = append(fr, fxFrame{data: frame(LinkSLL2, g, ip)})
	}
	add(tcpPkt(fxClient, host, 40000, 8080, SYN, false), 0)     // 1
	add(tcpPkt(host, fxClient, 8080, 40000, SYN|ACK, true), 0)  // 2
	add(&gpkt{arp: true}, 0)                                    // 3 ARP
	add(tcpPkt(fxClient, host, 40000, 8080, ACK, false), 0)     // 4
	data := tcpPkt(fxClient, host, 40000, 8080, PSH|ACK, false) //
	data.payload = 300                                          //
	add(data, 20+20+10)                                         // 5 cut in the TCP header
	big := &gpkt{proto: 17, src: fxDNS, dst: host, sport: 53, dport: 33000, payload: 3200, ttl: 57, id: 0x1234}
	frags := fragment(big.ipBytes(nil), 1500)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	addIP(big, frags[1])                                                                                                 // 6
	addIP(big, frags[0])                                                                                                 // 7
	addIP(big, frags[2])                                                                                                 // 8 completes
	add(&gpkt{proto: 1, src: fxPinger, dst: host, icmpType: 8, icmpID: 0x77, icmpSq: 1, payload: 56, ttl: 60, id: 7}, 0) // 9
	add(&gpkt{proto: 1, src: host, dst: fxPinger, icmpType: 0, icmpID: 0x77, icmpSq: 1, payload: 56, ttl: 64, id: 8, out: true}, 0)
	lone := &gpkt{proto: 17, src: fxDNS, dst: host, sport: 53, dport: 33001, payload: 2000, ttl: 57, id: 0x5678}
	addIP(lone, fragment(lone.ipBytes(nil), 1500)[0])           // 11 never completes
	add(tcpPkt(fxClient, host, 40000, 8080, FIN|ACK, false), 0) // 12
	return fr
}

// twoIfaceFrames: Ethernet pcapng with interfaces ens33 (0) and docker0
// (1) and packet directions: a published port's connection seen on both
// sides of the DNAT, a VLAN-tagged frame, and a frame without direction.
func twoIfaceFrames(t testing.TB) []fxFrame {
	host := GenHostAddr
	var fr []fxFrame
	add := func(g *gpkt, ifc, dir int) {
		fr = append(fr, fxFrame{data: frame(LinkEthernet, g, g.ipBytes(nil)), ifc: ifc, dir: dir})
	}
	add(tcpPkt(fxClient, host, 40000, 8080, SYN, false), 0, 1)
	add(tcpPkt(fxClient, fxCtr, 40000, 80, SYN, true), 1, 2)
	add(tcpPkt(fxCtr, fxClient, 80, 40000, SYN|ACK, false), 1, 1)
	add(tcpPkt(host, fxClient, 8080, 40000, SYN|ACK, true), 0, 2)
	ack := tcpPkt(fxClient, host, 40000, 8080, ACK, false)
	f := frame(LinkEthernet, ack, ack.ipBytes(nil))
	tagged := append(append(append([]byte{}, f[:12]...), 0x81, 0x00, 0x00, 0x64), f[12:]...) // VLAN 100
	fr = append(fr, fxFrame{data: tagged, ifc: 0, dir: 1})
	add(&gpkt{proto: 1, src: fxPinger, dst: host, icmpType: 8, icmpID: 9, icmpSq: 1, payload: 8, ttl: 60, id: 3}, 0, 0)
	return fr
}

var genLinks = []struct {
	name string
	link uint32
}{{"eth", LinkEthernet}, {"sll", LinkSLL}, {"sll2", LinkSLL2}, {"raw", LinkRaw}}

// smallMix keeps the generated fixtures to a few KB.
var smallMix = Mix{TCP: 60, UDP: 20, ICMP: 10, Stray: 5, ARP: 5, Frag: -1, IPv6: 5}

// fixtures returns every fixture file by name.
func fixtures(t testing.TB) map[string][]byte {
	m := map[string][]byte{
		"incident-sll2.pcap":   writeFixture(t, Pcap, LinkSLL2, nil, incidentFrames(t)),
		"two-ifaces.pcapng":    writeFixture(t, Pcapng, LinkEthernet, []string{"ens33", "docker0"}, twoIfaceFrames(t)),
		"incident-sll2.pcapng": writeFixture(t, Pcapng, LinkSLL2, []string{"any"}, incidentFrames(t)),
	}
	for _, l := range genLinks {
		for _, f := range []Format{Pcap, Pcapng} {
			var buf bytes.Buffer
			if err := Generate(&buf, GenConfig{Packets: 24, Seed: 7, LinkType: l.link, Format: f, Mix: smallMix}); err != nil {
				t.Fatal(err)
			}
			m[fmt.Sprintf("gen-%s.%s", l.name, f)] = buf.Bytes()
		}
	}
	return m
}

// TestFixtures checks that testdata/ holds what the generator writes
// (go test -run TestFixtures -update rewrites it).
func TestFixtures(t *testing.T) {
	for name, want := range fixtures(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFixtures -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes (run go test -run TestFixtures -update)", path)
		}
	}
}
