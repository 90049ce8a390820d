package cli

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/capture"
)

// TestPrefetchKeys: the keys the replay prefetches for the next packet
// are those its flow lookup and conntrack lookup use (else the prefetch
// only wastes time).
func TestPrefetchKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := capture.Generate(&buf, capture.GenConfig{Packets: 20000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	rd, err := capture.Open(&buf, capture.Options{Iface: "ens33"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		var cp capture.Packet
		if err := rd.Next(&cp); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ct, flow, ok := prefetchKeys(&cp)
		var p sim.Packet
		toSim(&p, &cp, "ens33")
		k := keyOf(&p)
		// A flow keeps its first packet packed, and its wire tuple from it.
		var pk cpkt
		var w wkey
		packPkt(&pk, &p)
		if pk.wire(&w); w != k || !pk.isWire(&k) {
			t.Fatalf("packet %d: packed, wire tuple %+v, want %+v", cp.Num, w, k)
		}
		var q sim.Packet
		q.In, q.Local = "x", true // fill sets every field
		if pk.fill(&q); q != pk.packet() {
			t.Fatalf("packet %d: fill %+v, packet %+v", cp.Num, q, pk.packet())
		}
		if k2 := k.invert(); k2 != k && pk.isWire(&k2) {
			t.Fatalf("packet %d: packed, isWire(%+v) true", cp.Num, k2)
		}
		if !ok {
			continue
		}
		n++
		if want, _ := fkeyOf(&k); ct != want {
			t.Fatalf("packet %d: conntrack key %+v, want %+v", cp.Num, ct, want)
		}
		ck := k.canon()
		c := k
		if c.canonize(); c != ck {
			t.Fatalf("packet %d: canonize %+v, canon %+v", cp.Num, c, ck)
		}
		if want, _ := fkeyOf(&ck); flow != want {
			t.Fatalf("packet %d: flow key %+v, want %+v", cp.Num, flow, want)
		}
	}
	if n < 10000 {
		t.Fatalf("only %d packets prefetched", n)
	}
}

// TestCanonize checks canonize, in place, against canon on random tuples:
// addresses of both families, often equal, ICMP queries and answers.
func TestCanonize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var addrs []netip.Addr
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "::ffff:192.0.2.1"} {
		addrs = append(addrs, netip.MustParseAddr(a))
	}
	protos := []uint8{sim.ProtoTCP, sim.ProtoUDP, sim.ProtoICMP, sim.ProtoICMPv6, 47}
	for range 100000 {
		k := wkey{proto: protos[r.IntN(len(protos))], sport: uint16(r.IntN(3)), dport: uint16(r.IntN(3))}
		k.src, k.sbits = waddrOf(addrs[r.IntN(len(addrs))])
		k.dst, k.dbits = waddrOf(addrs[r.IntN(len(addrs))])
		if sim.IsICMP(k.proto) {
			k.dport = uint16([]uint8{0, 8, 13, 14, 128, 129, 3}[r.IntN(7)]) << 8
		}
		want := k.canon()
		got := k
		if got.canonize(); got != want {
			t.Fatalf("%+v: canonize %+v, canon %+v", k, got, want)
		}
	}
}

// TestWaddr: an address and its bit length make the address again, and
// compare as netip.Addr.Compare.
func TestWaddr(t *testing.T) {
	var addrs []netip.Addr
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1",
		"::ffff:192.0.2.1", "::ffff:192.0.2.2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		addrs = append(addrs, netip.MustParseAddr(a))
	}
	addrs = append(addrs, netip.Addr{})
	for _, a := range addrs {
		w, wb := waddrOf(a)
		if got := w.addr(wb); got != a {
			t.Errorf("%v: addr %v", a, got)
		}
		for _, b := range addrs {
			o, ob := waddrOf(b)
			if got, want := compareAddr(w, wb, o, ob), a.Compare(b); got != want {
				t.Errorf("compare %v %v = %d, want %d", a, b, got, want)
			}
		}
	}
}

// TestWaddrOf: an address as a waddr is its 128 bits, IPv4 mapped
// (::ffff:a.b.c.d), with its bit length beside it, and back.
func TestWaddrOf(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "::1", "::ffff:192.0.2.1", "2001:db8::7", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		a := netip.MustParseAddr(s)
		w, bits := waddrOf(a)
		if int(bits) != a.BitLen() || w.addr(bits) != a {
			t.Errorf("%s: %+v /%d, back %s", s, w, bits, w.addr(bits))
		}
		if a.Is4() {
			b := a.As4()
			if want := 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:])); w.hi != 0 || w.lo != want {
				t.Errorf("%s: %+v, want lo %#x", s, w, want)
			}
		}
	}
	if w, bits := waddrOf(netip.Addr{}); w != (waddr{}) || bits != 0 {
		t.Errorf("invalid address: %+v /%d", w, bits)
	}
}

// TestReplayTimeouts: the replay expires conntrack entries by the
// capture's timestamps. A DNS query's reply 20 s later is ESTABLISHED;
// an hour later the entry has timed out (30 s for UDP) and it is NEW.
func TestReplayTimeouts(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.save")
	if err := os.WriteFile(rules, []byte("*filter\n:INPUT DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, resolver := [4]byte{10, 0, 0, 1}, [4]byte{192, 0, 2, 53}
	for _, c := range []struct {
		after uint32
		want  string
	}{{20, `"ct_state":"ESTABLISHED"`}, {3600, `"ct_state":"NEW"`}} {
		var b bytes.Buffer
		b.Write(binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4))
		for _, v := range []any{uint16(2), uint16(4), int32(0), uint32(0), uint32(65535), uint32(1)} {
			binary.Write(&b, binary.LittleEndian, v)
		}
		for _, p := range []struct {
			ts         uint32
			src, dst   [4]byte
			sport, dpt uint16
		}{{1000, host, resolver, 40000, 53}, {1000 + c.after, resolver, host, 53, 40000}} {
			ip := []byte{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0}
			ip = append(append(ip, p.src[:]...), p.dst[:]...)
			var sum uint32
			for i := 0; i < 20; i += 2 {
				sum += uint32(ip[i])<<8 | uint32(ip[i+1])
			}
			for sum>>16 != 0 {
				sum = sum&0xffff + sum>>16
			}
			binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
			ip = binary.BigEndian.AppendUint16(ip, p.sport)
			ip = binary.BigEndian.AppendUint16(ip, p.dpt)
			ip = append(ip, 0, 8, 0, 0) // length 8, no checksum
			frame := append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0}, ip...)
			for _, v := range []uint32{p.ts, 0, uint32(len(frame)), uint32(len(frame))} {
				binary.Write(&b, binary.LittleEndian, v)
			}
			b.Write(frame)
		}
		capFile := filepath.Join(dir, "dns.pcap")
		if err := os.WriteFile(capFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errs bytes.Buffer
		if st := Main([]string{"--pcap", capFile, "--in", "eth0", "--iface", "eth0=10.0.0.1/24", "--format", "json", rules}, nil, &out, &errs); st != ExitOK {
			t.Fatalf("exit %d: %s", st, errs.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], c.want) {
			t.Errorf("reply %d s after the query: want %s in\n%s", c.after, c.want, out.String())
		}
	}
}
