package kernel

import (
	"testing"
	"time"
)

func load6(t *testing.T, topo *Topology, base string) {
	t.Helper()
	if err := topo.Reset(); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := topo.LoadFamily(IPv6, []byte(base)); err != nil {
		t.Fatalf("load: %v", err)
	}
}

// reject6Rules exercise the IPv6 paths of the harness: delivery, routing,
// bridging, local output, REJECT's answers and conntrack.
const reject6Rules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2500 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT
-A INPUT -p tcp -m tcp --dport 9000 -j REJECT --reject-with icmp6-adm-prohibited
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset
-A FORWARD -i docker0 -j ACCEPT
-A FORWARD -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 6666 -j DROP
COMMIT
`

func TestIPv6(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			topo := shared(t, be)
			load6(t, topo, reject6Rules)
			if got := topo.Family(); got != IPv6 {
				t.Fatalf("family %q after an IPv6 load", got)
			}
			o := send(t, topo, Packet{From: Ext, Dst: addr("2001:db8:0:1::10"), Dport: 22})
			wantDisp(t, "ssh", o, Delivered, "")
			wantHits(t, "ssh", o, "filter:INPUT#4")
			wantSeen(t, "ssh", o, "tcp 2001:db8:0:1::7:40000 > 2001:db8:0:1::10:22 [S]")

			o = send(t, topo, Packet{From: Ext2, Proto: "icmp", Dst: addr("2001:db8:0:1::10")})
			wantDisp(t, "ping", o, Delivered, "")
			wantHits(t, "ping", o, "filter:INPUT#3")
			if o.Seen.Proto != "icmpv6" || o.Seen.ICMPType != 128 {
				t.Errorf("ping: seen %v", o.Seen)
			}

			for _, c := range []struct {
				name string
				p    Packet
				at   string
				hit  string
			}{
				{"tcp-reset", Packet{From: Ext, Dst: addr("2001:db8:0:1::10"), Dport: 2500}, "INPUT/tcp-reset", "filter:INPUT#5"},
				{"udp default", Packet{From: Ext, Proto: "udp", Dst: addr("2001:db8:0:1::10"), Dport: 53}, "INPUT/icmp6-port-unreachable", "filter:INPUT#6"},
				{"adm-prohibited", Packet{From: Ext2, Dst: addr("2001:db8:0:2::10"), Dport: 9000}, "INPUT/icmp6-adm-prohibited", "filter:INPUT#7"},
				{"bridged tcp-reset", Packet{From: C1, Dst: addr("2001:db8:0:17::3"), Dport: 25}, "FORWARD/tcp-reset", "filter:FORWARD#2"},
				{"routed tcp-reset", Packet{From: Ext, Dst: addr("2001:db8:0:18::2"), Dport: 25}, "FORWARD/tcp-reset", "filter:FORWARD#2"},
			} {
				o := send(t, topo, c.p)
				wantDisp(t, c.name, o, Rejected, c.at)
				wantHits(t, c.name, o, c.hit)
			}

			// A routed connection and its reply, then an ICMPv6 error about it.
			obs := flow(t, topo,
				Packet{From: Ext, Dst: addr("2001:db8:0:17::2"), Dport: 80},
				Packet{ReplyTo: 1},
				Packet{RelatedTo: 1},
			)
			wantDisp(t, "routed syn", obs[0], Forwarded, C1)
			wantHits(t, "routed syn", obs[0], "filter:FORWARD#4")
			if obs[0].Seen.TTL != 63 {
				t.Errorf("routed syn: hop limit %d, want 63", obs[0].Seen.TTL)
			}
			wantDisp(t, "syn-ack", obs[1], Forwarded, Ext)
			wantHits(t, "syn-ack", obs[1], "filter:FORWARD#1")
			wantDisp(t, "icmpv6 error", obs[2], Forwarded, Ext)
			wantHits(t, "icmpv6 error", obs[2], "filter:FORWARD#1")

			// Bridged between two containers: hop limit kept.
			o = send(t, topo, Packet{From: C1, Proto: "udp", Dst: addr("2001:db8:0:17::3"), Dport: 53})
			wantDisp(t, "bridged", o, Forwarded, C2)
			if o.Out != "docker0" || o.Seen.TTL != 64 {
				t.Errorf("bridged: out %q hop limit %d", o.Out, o.Seen.TTL)
			}

			// Locally generated.
			o = send(t, topo, Packet{From: Host, Dst: addr("2001:db8:0:1::7"), Dport: 443})
			wantDisp(t, "local", o, Sent, Ext)
			wantHits(t, "local", o, "filter:OUTPUT#policy")
			if o.Seen.Src != addr("2001:db8:0:1::10") {
				t.Errorf("local: source %v", o.Seen.Src)
			}
			o = send(t, topo, Packet{From: Host, Dst: addr("2001:db8:0:1::7"), Dport: 6666})
			wantDisp(t, "local drop", o, Dropped, "OUTPUT")
			if o.SendError == "" {
				t.Errorf("local drop: expected the local send to fail")
			}
			// Off-link, by the default route.
			o = send(t, topo, Packet{From: C1, Dst: addr("2001:db8:99::1"), Dport: 80})
			wantDisp(t, "default route", o, Forwarded, Ext)
			if o.Out != "ens33" {
				t.Errorf("default route: out %q", o.Out)
			}
			// The IPv4 path is unchanged after an IPv6 load.
			load(t, topo, emptyAccept)
			o = send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 22})
			wantDisp(t, "ipv4 after ipv6", o, Delivered, "")
			wantHits(t, "ipv4 after ipv6", o, "filter:INPUT#policy")
		})
	}
}

// TestIPv6Quiet checks that nothing in the topology sends IPv6 of its own
// accord (router solicitations, MLD reports, neighbour discovery) that
// would reach the host's ip6tables: such a packet would count in a rule
// while a test packet is measured. Right after the build, when those are
// sent, a ruleset counting every packet on every hook stays at zero.
func TestIPv6Quiet(t *testing.T) {
	topo := NewForTest(t, "nft")
	rules := "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" +
		"*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
	load6(t, topo, rules)
	before, err := topo.Save()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // MLDv2: a report and its repetition within 1 s
	after, err := topo.Save()
	if err != nil {
		t.Fatal(err)
	}
	hits, err := counterDeltas(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) > 0 {
		t.Errorf("IPv6 packets counted without any test packet: %v", hits)
	}
}
