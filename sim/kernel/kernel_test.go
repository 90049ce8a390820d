package kernel

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

var backends = []string{"nft", "legacy"}

// Topologies shared by the tests of this package, one per backend, so that
// the ~0.2 s build is paid once; TestMain deletes them.
var (
	sharedMu   sync.Mutex
	sharedTopo = map[string]*Topology{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	for be, topo := range sharedTopo {
		if err := topo.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "close %s topology: %v\n", be, err)
			code = 1
		}
	}
	sharedMu.Unlock()
	os.Exit(code)
}

func shared(t *testing.T, backend string) *Topology {
	t.Helper()
	Require(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if topo := sharedTopo[backend]; topo != nil {
		return topo
	}
	topo, err := New(Options{Backend: backend})
	if err != nil {
		t.Fatalf("build %s topology: %v", backend, err)
	}
	sharedTopo[backend] = topo
	return topo
}

// forBackends runs f once per backend, each on a topology loaded with rules.
func forBackends(t *testing.T, rules string, f func(t *testing.T, topo *Topology)) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			topo := shared(t, be)
			load(t, topo, rules)
			f(t, topo)
		})
	}
}

func load(t *testing.T, topo *Topology, base string, overlays ...string) {
	t.Helper()
	if err := topo.Reset(); err != nil {
		t.Fatalf("reset: %v", err)
	}
	var ovs [][]byte
	for _, o := range overlays {
		ovs = append(ovs, []byte(o))
	}
	if err := topo.Load([]byte(base), ovs...); err != nil {
		t.Fatalf("load: %v", err)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func send(t *testing.T, topo *Topology, p Packet) Observation {
	t.Helper()
	o, err := topo.Send(p)
	if err != nil {
		t.Fatalf("send %+v: %v", p, err)
	}
	return o
}

func flow(t *testing.T, topo *Topology, pkts ...Packet) []Observation {
	t.Helper()
	obs, err := topo.SendFlow(pkts)
	if err != nil {
		t.Fatalf("flow: %v", err)
	}
	return obs
}

// hitStrings expands hits into "table:CHAIN#n" strings, one per counted
// packet, sorted.
func hitStrings(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		one := h
		one.Count = 1
		for range h.Count {
			out = append(out, one.String())
		}
	}
	slices.Sort(out)
	return out
}

// wantHits compares the multiset of hits with want ("nat:DOCKER#2",
// "filter:FORWARD#policy", repeated for counts above one).
func wantHits(t *testing.T, what string, o Observation, want ...string) {
	t.Helper()
	got := hitStrings(o.Hits)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("%s: hits\n got  %v\n want %v", what, got, w)
	}
}

// wantDisp checks disposition, drop hook, reject kind and arrival.
func wantDisp(t *testing.T, what string, o Observation, disp, where string) {
	t.Helper()
	if o.Disposition != disp {
		t.Errorf("%s: disposition %q (dropped in %q, reject %q), want %q", what, o.Disposition, o.DroppedIn, o.RejectWith, disp)
		return
	}
	var got string
	switch disp {
	case Dropped:
		got = o.DroppedIn
	case Rejected:
		got = o.DroppedIn + "/" + o.RejectWith
	case Forwarded, Sent:
		got = o.ArrivedIn
	}
	if got != where {
		t.Errorf("%s: %s at %q, want %q", what, disp, got, where)
	}
}

func wantSeen(t *testing.T, what string, o Observation, want string) {
	t.Helper()
	if got := o.Seen.String(); got != want {
		t.Errorf("%s: seen %q, want %q", what, got, want)
	}
}

const emptyAccept = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`

const emptyDrop = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`

func TestEmptyRulesetForwards(t *testing.T) {
	forBackends(t, emptyAccept, func(t *testing.T, topo *Topology) {
		o := send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80})
		wantDisp(t, "ext->c1", o, Forwarded, C1)
		wantSeen(t, "ext->c1", o, "tcp 203.0.113.7:40000 > 172.17.0.2:80 [S]")
		wantHits(t, "ext->c1", o, "filter:FORWARD#policy")
		if o.Out != "docker0" || !slices.Equal(o.Path, []string{"PREROUTING", "FORWARD", "POSTROUTING"}) {
			t.Errorf("ext->c1: out %q path %v", o.Out, o.Path)
		}
		if o.Seen.TTL != 63 {
			t.Errorf("ext->c1: routed packet arrived with TTL %d, want 63", o.Seen.TTL)
		}

		o = send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 22})
		wantDisp(t, "ext->host", o, Delivered, "")
		wantHits(t, "ext->host", o, "filter:INPUT#policy")

		o = send(t, topo, Packet{From: C1, Dst: addr("203.0.113.7"), Dport: 443})
		wantDisp(t, "c1->ext", o, Forwarded, Ext)
		wantHits(t, "c1->ext", o, "filter:FORWARD#policy")

		// Bridged between two containers: FORWARD -i docker0 -o docker0,
		// TTL kept.
		o = send(t, topo, Packet{From: C1, Dst: addr("172.17.0.3"), Proto: "udp", Dport: 53})
		wantDisp(t, "c1->c2", o, Forwarded, C2)
		wantHits(t, "c1->c2", o, "filter:FORWARD#policy")
		if o.Seen.TTL != 64 {
			t.Errorf("c1->c2: bridged packet arrived with TTL %d, want 64", o.Seen.TTL)
		}

		o = send(t, topo, Packet{From: Ext2, Proto: "icmp", Dst: addr("172.18.0.2")})
		wantDisp(t, "ext2->c3 ping", o, Forwarded, C3)
		if o.Seen.ICMPType != 8 {
			t.Errorf("ping arrived as type %d", o.Seen.ICMPType)
		}
	})
}

func TestForwardDropPolicy(t *testing.T) {
	forBackends(t, emptyDrop, func(t *testing.T, topo *Topology) {
		o := send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80})
		wantDisp(t, "ext->c1", o, Dropped, "FORWARD")
		wantHits(t, "ext->c1", o, "filter:FORWARD#policy")
		if len(o.Hits) != 1 || o.Hits[0].Rule != 0 || o.Hits[0].Count != 1 {
			t.Errorf("policy hit: %+v", o.Hits)
		}
		o = send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 22})
		wantDisp(t, "ext->host", o, Dropped, "INPUT")
		wantHits(t, "ext->host", o, "filter:INPUT#policy")
	})
}

// dockerRules is Docker 20.10's ruleset for one container c1 (172.17.0.2)
// publishing -p 8080:80.
const dockerRules = `# Docker 20.10
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
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
`

// Hits recorded by the kernel oracle (results/a-docker-20.10.jsonl).
var (
	dockerPublishedSYN = []string{"nat:PREROUTING#1", "nat:DOCKER#2", "filter:FORWARD#1",
		"filter:DOCKER-USER#1", "filter:FORWARD#2", "filter:DOCKER-ISOLATION-STAGE-1#2",
		"filter:FORWARD#4", "filter:DOCKER#1", "nat:POSTROUTING#policy"}
	dockerFromContainer = []string{"filter:FORWARD#1", "filter:DOCKER-USER#1", "filter:FORWARD#2",
		"filter:DOCKER-ISOLATION-STAGE-1#1", "filter:DOCKER-ISOLATION-STAGE-2#2",
		"filter:DOCKER-ISOLATION-STAGE-1#2", "filter:FORWARD#5"}
	dockerToContainerEstablished = []string{"filter:FORWARD#1", "filter:DOCKER-USER#1",
		"filter:FORWARD#2", "filter:DOCKER-ISOLATION-STAGE-1#2", "filter:FORWARD#3"}
	dockerLocal = []string{"nat:PREROUTING#1", "nat:PREROUTING#policy", "filter:INPUT#policy", "nat:INPUT#policy"}
)

func TestDockerPublishedPort(t *testing.T) {
	forBackends(t, dockerRules, func(t *testing.T, topo *Topology) {
		obs := flow(t, topo,
			Packet{From: Ext, Dst: addr("203.0.113.10"), Sport: 41000, Dport: 8080},
			Packet{ReplyTo: 1},
			Packet{ReplyTo: 2},
			Packet{ReplyTo: 2, Flags: "PA"},
		)
		wantDisp(t, "SYN", obs[0], Forwarded, C1)
		wantSeen(t, "SYN", obs[0], "tcp 203.0.113.7:41000 > 172.17.0.2:80 [S]")
		wantHits(t, "SYN", obs[0], dockerPublishedSYN...)

		// The reply from c1 is un-NATed by conntrack, without nat hits.
		if obs[1].Sent.String() != "tcp 172.17.0.2:80 > 203.0.113.7:41000 [SA]" {
			t.Errorf("reply sent as %s", obs[1].Sent)
		}
		wantDisp(t, "SYN-ACK", obs[1], Forwarded, Ext)
		wantSeen(t, "SYN-ACK", obs[1], "tcp 203.0.113.10:8080 > 203.0.113.7:41000 [SA]")
		wantHits(t, "SYN-ACK", obs[1], dockerFromContainer...)

		if obs[2].Sent.String() != "tcp 203.0.113.7:41000 > 203.0.113.10:8080 [A]" {
			t.Errorf("ACK sent as %s", obs[2].Sent)
		}
		for i, o := range obs[2:] {
			what := fmt.Sprintf("established %d", i+1)
			wantDisp(t, what, o, Forwarded, C1)
			wantSeen(t, what, o, "tcp 203.0.113.7:41000 > 172.17.0.2:80 ["+o.Sent.Flags+"]")
			wantHits(t, what, o, dockerToContainerEstablished...)
		}
		if obs[2].Sent.Seq != 1001 || obs[2].Sent.Ack != 500001 || obs[1].Sent.Ack != 1001 {
			t.Errorf("seq/ack: SA %d/%d, A %d/%d", obs[1].Sent.Seq, obs[1].Sent.Ack, obs[2].Sent.Seq, obs[2].Sent.Ack)
		}

		// Not published: the host's own port 80 is local, not DNATed.
		o := send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 80})
		wantDisp(t, "ext->host:80", o, Delivered, "")
		wantHits(t, "ext->host:80", o, dockerLocal...)

		// Published port from the second uplink too.
		o = send(t, topo, Packet{From: Ext2, Dst: addr("198.51.100.10"), Dport: 8080})
		wantDisp(t, "ext2->host:8080", o, Forwarded, C1)
		wantSeen(t, "ext2->host:8080", o, "tcp 198.51.100.7:40000 > 172.17.0.2:80 [S]")

		// Straight to the container address on a non-published port.
		o = send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 22})
		wantDisp(t, "ext->c1:22", o, Dropped, "FORWARD")
		wantHits(t, "ext->c1:22", o, "nat:PREROUTING#policy", "filter:FORWARD#1", "filter:DOCKER-USER#1",
			"filter:FORWARD#2", "filter:DOCKER-ISOLATION-STAGE-1#2", "filter:FORWARD#4", "filter:FORWARD#policy")

		// Container outbound: MASQUERADE, and the answer comes back.
		obs = flow(t, topo,
			Packet{From: C1, Dst: addr("203.0.113.7"), Sport: 42000, Dport: 443},
			Packet{ReplyTo: 1})
		wantDisp(t, "c1 out", obs[0], Forwarded, Ext)
		wantSeen(t, "c1 out", obs[0], "tcp 203.0.113.10:42000 > 203.0.113.7:443 [S]")
		wantHits(t, "c1 out", obs[0], append([]string{"nat:PREROUTING#policy", "nat:POSTROUTING#1"}, dockerFromContainer...)...)
		wantDisp(t, "c1 out reply", obs[1], Forwarded, C1)
		wantSeen(t, "c1 out reply", obs[1], "tcp 203.0.113.7:443 > 172.17.0.2:42000 [SA]")
		wantHits(t, "c1 out reply", obs[1], dockerToContainerEstablished...)

		// c1 -> c3 on the other bridge is masqueraded to br-app's address.
		o = send(t, topo, Packet{From: C1, Dst: addr("172.18.0.2"), Dport: 80})
		wantDisp(t, "c1->c3", o, Forwarded, C3)
		wantSeen(t, "c1->c3", o, "tcp 172.18.0.1:40000 > 172.18.0.2:80 [S]")

		// Hairpin from c1 to the published port is not DNATed.
		o = send(t, topo, Packet{From: C1, Dst: addr("203.0.113.10"), Dport: 8080})
		wantDisp(t, "c1 hairpin", o, Delivered, "")
		wantHits(t, "c1 hairpin", o, "nat:PREROUTING#1", "nat:DOCKER#1", "nat:PREROUTING#policy",
			"filter:INPUT#policy", "nat:INPUT#policy")

		// An ICMP error from c1 about the DNATed SYN is RELATED and
		// translated back.
		obs = flow(t, topo,
			Packet{From: Ext, Dst: addr("203.0.113.10"), Sport: 43000, Dport: 8080},
			Packet{RelatedTo: 1})
		wantDisp(t, "related", obs[1], Forwarded, Ext)
		wantSeen(t, "related", obs[1], "icmp 203.0.113.10 > 203.0.113.7 type 3 code 3")
		wantHits(t, "related", obs[1], dockerFromContainer...)
		if in := obs[1].Seen.Inner; in == nil || in.Src != addr("203.0.113.7") || in.Dst != addr("203.0.113.10") ||
			in.Sport != 43000 || in.Dport != 8080 {
			t.Errorf("related: embedded packet %v, want the original tuple", in)
		}
	})
}

// rejectRules exercises REJECT variants (from the oracle's scenarios c, e).
const rejectRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 2500 -j REJECT --reject-with tcp-reset
-A INPUT -p udp --dport 53 -j REJECT
-A INPUT -p tcp --dport 9000 -j REJECT --reject-with icmp-admin-prohibited
-A FORWARD -i docker0 -o docker0 -p tcp --dport 25 -j REJECT --reject-with tcp-reset
-A FORWARD -i docker0 -o docker0 -p tcp --dport 26 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -i ens33 -o docker0 -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -p tcp --dport 6666 -j DROP
-A OUTPUT -p tcp --dport 6667 -j REJECT --reject-with tcp-reset
COMMIT
`

func TestReject(t *testing.T) {
	forBackends(t, rejectRules, func(t *testing.T, topo *Topology) {
		cases := []struct {
			name string
			p    Packet
			at   string
			hit  string
		}{
			{"input tcp-reset", Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 2500}, "INPUT/tcp-reset", "filter:INPUT#1"},
			{"input udp default", Packet{From: Ext, Proto: "udp", Dst: addr("203.0.113.10"), Dport: 53}, "INPUT/icmp-port-unreachable", "filter:INPUT#2"},
			{"input admin", Packet{From: Ext2, Dst: addr("198.51.100.10"), Dport: 9000}, "INPUT/icmp-admin-prohibited", "filter:INPUT#3"},
			{"bridged tcp-reset", Packet{From: C1, Dst: addr("172.17.0.3"), Dport: 25}, "FORWARD/tcp-reset", "filter:FORWARD#1"},
			{"bridged icmp", Packet{From: C1, Dst: addr("172.17.0.3"), Dport: 26}, "FORWARD/icmp-port-unreachable", "filter:FORWARD#2"},
			{"routed host-prohibited", Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80}, "FORWARD/icmp-host-prohibited", "filter:FORWARD#3"},
			{"output tcp-reset", Packet{From: Host, Dst: addr("203.0.113.7"), Dport: 6667}, "OUTPUT/tcp-reset", "filter:OUTPUT#2"},
		}
		for _, c := range cases {
			o := send(t, topo, c.p)
			wantDisp(t, c.name, o, Rejected, c.at)
			wantHits(t, c.name, o, c.hit)
		}
		o := send(t, topo, Packet{From: Host, Dst: addr("203.0.113.7"), Dport: 6666})
		wantDisp(t, "output drop", o, Dropped, "OUTPUT")
		wantHits(t, "output drop", o, "filter:OUTPUT#1")
		if o.SendError == "" {
			t.Errorf("output drop: expected the local send to fail")
		}
		// A REJECT answers nothing for an ICMP error: simply dropped there.
		o = send(t, topo, Packet{From: Ext, Proto: "icmp", ICMPType: 3, ICMPCode: 1, Dst: addr("172.17.0.2")})
		wantDisp(t, "icmp error rejected", o, Dropped, "FORWARD")
	})
}

// customRules: the oracle's scenario c (goto, nested RETURN, conntrack).
const customRules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CLASSIFY - [0:0]
:MGMT - [0:0]
:TRUSTED - [0:0]
:PORTS - [0:0]
:FWD-IN - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -j CLASSIFY
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -p udp -j REJECT --reject-with icmp-port-unreachable
-A CLASSIFY -i eth+ -g MGMT
-A CLASSIFY -p tcp -j PORTS
-A CLASSIFY -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A MGMT ! -s 198.51.100.0/24 -j DROP
-A MGMT -j TRUSTED
-A MGMT -p tcp -m tcp --dport 22 -j ACCEPT
-A TRUSTED -s 198.51.100.7/32 -p tcp -m tcp --dport 2222 -j ACCEPT
-A TRUSTED -j RETURN
-A TRUSTED -j DROP
-A PORTS -p tcp -m multiport --dports 1000:2000,3000 -j ACCEPT
-A PORTS -p tcp -m tcp --dport 9000 -j REJECT --reject-with icmp-admin-prohibited
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i eth+ -g FWD-IN
-A FORWARD -o docker0 -j REJECT --reject-with icmp-host-prohibited
-A FWD-IN ! -s 198.51.100.7/32 -j RETURN
-A FWD-IN -d 172.17.0.2/32 -p tcp -m multiport --dports 1000:2000,3000 -j ACCEPT
COMMIT
`

func TestGotoAndLocalOutput(t *testing.T) {
	forBackends(t, customRules, func(t *testing.T, topo *Topology) {
		o := send(t, topo, Packet{From: Ext2, Dst: addr("198.51.100.10"), Dport: 1500})
		wantDisp(t, "goto returns to policy", o, Rejected, "INPUT/tcp-reset")
		wantHits(t, "goto returns to policy", o, "filter:INPUT#3", "filter:CLASSIFY#1", "filter:MGMT#2",
			"filter:TRUSTED#2", "filter:INPUT#4")

		o = send(t, topo, Packet{From: Ext2, Src: addr("198.51.100.8"), Dst: addr("172.17.0.2"), Dport: 1500})
		wantDisp(t, "goto from FORWARD", o, Dropped, "FORWARD")
		wantHits(t, "goto from FORWARD", o, "filter:FORWARD#3", "filter:FWD-IN#1", "filter:FORWARD#policy")

		o = send(t, topo, Packet{From: Ext, Proto: "icmp", ICMPType: 13, Dst: addr("203.0.113.10")})
		wantDisp(t, "timestamp", o, Dropped, "INPUT")

		// Local output, and its answer accepted as ESTABLISHED.
		obs := flow(t, topo,
			Packet{From: Host, Dst: addr("203.0.113.7"), Dport: 443},
			Packet{ReplyTo: 1})
		wantDisp(t, "host->ext", obs[0], Sent, Ext)
		wantHits(t, "host->ext", obs[0], "filter:OUTPUT#policy")
		if obs[0].Sent.Src != addr("203.0.113.10") || obs[0].Out != "ens33" {
			t.Errorf("host->ext: src %v out %q", obs[0].Sent.Src, obs[0].Out)
		}
		wantDisp(t, "host->ext reply", obs[1], Delivered, "")
		wantHits(t, "host->ext reply", obs[1], "filter:INPUT#2")

		o = send(t, topo, Packet{From: Host, Dst: addr("172.17.0.2"), Proto: "udp", Dport: 53})
		wantDisp(t, "host->c1", o, Sent, C1)
		if o.Sent.Src != addr("172.17.0.1") || !slices.Equal(o.Path, []string{"OUTPUT", "POSTROUTING"}) {
			t.Errorf("host->c1: src %v path %v", o.Sent.Src, o.Path)
		}

		o = send(t, topo, Packet{From: Host, Dst: addr("127.0.0.1"), Dport: 80})
		wantDisp(t, "host->lo", o, Delivered, "")
		wantHits(t, "host->lo", o, "filter:OUTPUT#policy", "filter:INPUT#1")

		// A pure ACK with no connection is NEW (not ESTABLISHED) here.
		o = send(t, topo, Packet{From: Ext2, Dst: addr("172.17.0.2"), Dport: 1500, Flags: "A"})
		wantDisp(t, "loose ACK", o, Forwarded, C1)
		wantHits(t, "loose ACK", o, "filter:FORWARD#3", "filter:FWD-IN#2")
	})
}

func TestRoutingDrops(t *testing.T) {
	forBackends(t, emptyAccept, func(t *testing.T, topo *Topology) {
		o := send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80, TTL: 1})
		wantDisp(t, "ttl 1", o, Dropped, "routing")
		if o.KernelReply != "icmp-time-exceeded" {
			t.Errorf("ttl 1: kernel reply %q", o.KernelReply)
		}
		wantHits(t, "ttl 1", o)
		o = send(t, topo, Packet{From: Ext, Src: addr("127.0.0.1"), Dst: addr("203.0.113.10"), Dport: 22})
		wantDisp(t, "martian", o, Dropped, "routing")
	})
}

// TestNatOutputAndTOS: locally generated traffic to the published port is
// DNATed in nat OUTPUT; TOS survives.
func TestNatOutputAndTOS(t *testing.T) {
	forBackends(t, dockerRules, func(t *testing.T, topo *Topology) {
		o := send(t, topo, Packet{From: Host, Dst: addr("203.0.113.10"), Dport: 8080, TOS: 0x10})
		wantDisp(t, "host->8080", o, Sent, C1)
		wantSeen(t, "host->8080", o, "tcp 203.0.113.10:40000 > 172.17.0.2:80 [S]")
		wantHits(t, "host->8080", o, "nat:OUTPUT#1", "nat:DOCKER#2", "filter:OUTPUT#policy", "nat:POSTROUTING#policy")
		if o.Seen.TOS != 0x10 {
			t.Errorf("TOS %#x on arrival", o.Seen.TOS)
		}
	})
}

// TestLegacyLeftoverTables: a ruleset without nat after one with nat must
// not see the old (empty) nat table's policies. On legacy this needs the
// rebuild; on nft, Reset deletes the tables.
func TestLeftoverTables(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			topo := shared(t, be)
			load(t, topo, dockerRules)
			send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 8080})
			before := topo.Rebuilds()
			load(t, topo, emptyAccept)
			if rebuilt := topo.Rebuilds() > before; rebuilt != (be == "legacy") {
				t.Errorf("rebuilt: %v", rebuilt)
			}
			o := send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80})
			wantDisp(t, "after nat case", o, Forwarded, C1)
			wantHits(t, "after nat case", o, "filter:FORWARD#policy")
		})
	}
}

func TestOverlayNoflush(t *testing.T) {
	overlay := `*filter
:FILTERS - [0:0]
-I DOCKER-USER 1 -j FILTERS
-A FILTERS -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A FILTERS -i ens33 -p tcp -m conntrack --ctorigdstport 8080 -j RETURN
-A FILTERS -i ens33 -j DROP
COMMIT
`
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			topo := shared(t, be)
			load(t, topo, dockerRules, overlay)
			o := send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 8080})
			wantDisp(t, "ctorigdstport 8080", o, Forwarded, C1)
			wantHits(t, "ctorigdstport 8080", o, "nat:PREROUTING#1", "nat:DOCKER#2", "filter:FORWARD#1",
				"filter:DOCKER-USER#1", "filter:FILTERS#2", "filter:DOCKER-USER#2", "filter:FORWARD#2",
				"filter:DOCKER-ISOLATION-STAGE-1#2", "filter:FORWARD#4", "filter:DOCKER#1", "nat:POSTROUTING#policy")
			o = send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80})
			wantDisp(t, "direct", o, Dropped, "FORWARD")
			wantHits(t, "direct", o, "nat:PREROUTING#policy", "filter:FORWARD#1", "filter:DOCKER-USER#1", "filter:FILTERS#3")
		})
	}
}

func TestLoadError(t *testing.T) {
	forBackends(t, emptyAccept, func(t *testing.T, topo *Topology) {
		err := topo.Load([]byte("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n"))
		if err == nil {
			t.Fatal("loading a rule for a missing chain succeeded")
		}
		if !strings.Contains(err.Error(), "NOPE") && !strings.Contains(err.Error(), "line") {
			t.Errorf("error lacks the tool's message: %v", err)
		}
	})
}

func TestBadPackets(t *testing.T) {
	topo := shared(t, "nft")
	load(t, topo, emptyAccept)
	for _, p := range []Packet{
		{Dst: addr("172.17.0.2"), Dport: 80},
		{From: "nowhere", Dst: addr("172.17.0.2"), Dport: 80},
		{From: Ext, Dport: 80},
		{From: Ext, Dst: addr("172.17.0.2")},
		{From: Ext, Dst: addr("172.17.0.2"), Dport: 80, Flags: "X"},
		{From: Ext, Proto: "sctp", Dst: addr("172.17.0.2"), Dport: 80},
		{ReplyTo: 1},
	} {
		if _, err := topo.Send(p); err == nil {
			t.Errorf("Send(%+v) succeeded", p)
		}
	}
}
