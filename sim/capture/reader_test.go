package capture

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// readAll reads every packet of a capture.
func readAll(t testing.TB, data []byte, opts Options) ([]Packet, *Stats) {
	t.Helper()
	r, err := Open(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	s := r.Stats()
	if s.Frames != s.Delivered+s.Merged+s.TotalSkipped() {
		t.Errorf("frames %d != delivered %d + merged %d + skipped %d", s.Frames, s.Delivered, s.Merged, s.TotalSkipped())
	}
	return out, s
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nums(ps []Packet) []uint64 {
	var n []uint64
	for _, p := range ps {
		n = append(n, p.Num)
	}
	return n
}

func TestIncidentSLL2(t *testing.T) {
	for _, name := range []string{"incident-sll2.pcap", "incident-sll2.pcapng"} {
		t.Run(name, func(t *testing.T) {
			ps, s := readAll(t, readFile(t, name), Options{Iface: "eth9", IfIndexNames: map[uint32]string{2: "ens33"}})
			if got, want := nums(ps), []uint64{1, 2, 4, 8, 9, 10, 12}; !slices.Equal(got, want) {
				t.Fatalf("delivered frames %v, want %v", got, want)
			}
			wantSkips := map[SkipReason][]uint64{SkipNotIP: {3}, SkipTruncated: {5}, SkipFragIncomplete: {11}}
			for _, r := range SkipReasons() {
				if !slices.Equal(s.FirstSkipped[r], wantSkips[r]) || s.Skipped[r] != uint64(len(wantSkips[r])) {
					t.Errorf("%v: %d %v, want %v", r, s.Skipped[r], s.FirstSkipped[r], wantSkips[r])
				}
			}
			if s.Reassembled != 1 || s.Merged != 2 || s.Outbound != 2 {
				t.Errorf("stats %+v", s)
			}
			for _, p := range ps {
				if p.Iface != "ens33" || p.IfIndex != 2 {
					t.Errorf("frame %d: iface %q index %d", p.Num, p.Iface, p.IfIndex)
				}
				if p.Outbound != (p.Num == 2 || p.Num == 10) {
					t.Errorf("frame %d: outbound %v", p.Num, p.Outbound)
				}
			}
			syn := ps[0]
			if syn.Family != 4 || syn.Proto != 6 || syn.Src != fxClient || syn.Dst != GenHostAddr || syn.Sport != 40000 || syn.Dport != 8080 || syn.TCPFlags != SYN || syn.Len != 40 || syn.TTL != 64 {
				t.Errorf("SYN: %+v", syn)
			}
			d := ps[3]
			if d.Proto != 17 || d.Src != fxDNS || d.Sport != 53 || d.Dport != 33000 || d.Len != 20+8+3200 || d.Frag.Count != 3 || d.Frag.First != 6 || d.TTL != 57 {
				t.Errorf("reassembled: %+v", d)
			}
			echo := ps[4]
			if echo.Proto != 1 || echo.ICMPType != 8 || echo.ICMPID != 0x77 || echo.Inner != nil {
				t.Errorf("echo: %+v", echo)
			}
			w := s.Warnings()
			if len(w) != 3 || w[0] != "skipped 1 frame: not IP (packet 3)" {
				t.Errorf("warnings %q", w)
			}
		})
	}
	// Without a name for index 2 the interface is if2.
	ps, _ := readAll(t, readFile(t, "incident-sll2.pcap"), Options{})
	if ps[0].Iface != "if2" {
		t.Errorf("iface %q, want if2", ps[0].Iface)
	}
	// --in forces it.
	ps, _ = readAll(t, readFile(t, "incident-sll2.pcap"), Options{Iface: "eth1", ForceIface: true})
	if ps[0].Iface != "eth1" {
		t.Errorf("iface %q, want eth1", ps[0].Iface)
	}
}

func TestTwoIfaces(t *testing.T) {
	ps, s := readAll(t, readFile(t, "two-ifaces.pcapng"), Options{Iface: "eth9"})
	type want struct {
		iface    string
		outbound bool
		dst      string
		dport    uint16
	}
	wants := []want{
		{"ens33", false, "203.0.113.10", 8080},
		{"docker0", true, "172.17.0.2", 80},
		{"docker0", false, "198.51.100.7", 40000},
		{"ens33", true, "198.51.100.7", 40000},
		{"ens33", false, "203.0.113.10", 8080}, // VLAN-tagged
		{"ens33", false, "203.0.113.10", 0},    // no direction: inbound
	}
	if len(ps) != len(wants) || s.TotalSkipped() != 0 {
		t.Fatalf("%d packets, stats %+v", len(ps), s)
	}
	for i, w := range wants {
		p := ps[i]
		if p.Iface != w.iface || p.Outbound != w.outbound || p.Dst != netip.MustParseAddr(w.dst) || p.Dport != w.dport {
			t.Errorf("frame %d: %s out=%v %v:%d, want %+v", p.Num, p.Iface, p.Outbound, p.Dst, p.Dport, w)
		}
	}
	for i, p := range ps {
		if want := uint8(0); i == 4 {
			if p.NVLAN != 1 || p.VLAN[0] != 100 {
				t.Errorf("frame %d: VLAN %v, want [100]", p.Num, p.VLAN[:p.NVLAN])
			}
		} else if p.NVLAN != want {
			t.Errorf("frame %d: VLAN %v, want none", p.Num, p.VLAN[:p.NVLAN])
		}
	}
	if ps[4].TCPFlags != ACK || ps[5].ICMPType != 8 || ps[5].ICMPID != 9 {
		t.Errorf("frames 5, 6: %+v %+v", ps[4], ps[5])
	}
}

func TestGeneratedFixtures(t *testing.T) {
	for _, l := range genLinks {
		for _, f := range []Format{Pcap, Pcapng} {
			name := "gen-" + l.name + "." + f.String()
			t.Run(name, func(t *testing.T) {
				ps, s := readAll(t, readFile(t, name), Options{Iface: "uplink"})
				if len(ps) == 0 || s.Frames != 24 {
					t.Fatalf("%d packets, stats %+v", len(ps), s)
				}
				wantIface := "uplink"
				switch {
				case l.link == LinkSLL2:
					wantIface = "if2"
				case f == Pcapng && l.link != LinkSLL:
					wantIface = "ens33"
				}
				// Direction is known in pcapng and cooked captures.
				knowsDir := f == Pcapng || l.link == LinkSLL || l.link == LinkSLL2
				outbound := 0
				for _, p := range ps {
					if p.Iface != wantIface {
						t.Fatalf("frame %d: iface %q, want %q", p.Num, p.Iface, wantIface)
					}
					local := p.Src == GenHostAddr || p.Src == GenHostAddr6
					if knowsDir && p.Outbound != local {
						t.Errorf("frame %d from %v: outbound %v", p.Num, p.Src, p.Outbound)
					}
					if p.Outbound {
						outbound++
					}
				}
				if knowsDir && outbound == 0 {
					t.Error("no outbound packets")
				}
				if !knowsDir && outbound != 0 {
					t.Error("outbound packets without direction information")
				}
			})
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	cfg := GenConfig{Packets: 3000, Seed: 42, LinkType: LinkSLL2, Format: Pcapng}
	if err := Generate(&a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Generate(&b, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same config, different captures")
	}
	cfg.Seed = 43
	b.Reset()
	Generate(&b, cfg)
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("different seeds, same capture")
	}
	ps, s := readAll(t, a.Bytes(), Options{})
	if s.Frames != 3000 {
		t.Fatalf("frames %d", s.Frames)
	}
	// The mix has every kind of packet the issue lists.
	seen := map[string]bool{}
	for _, p := range ps {
		switch {
		case p.Proto == 6 && p.TCPFlags == SYN:
			seen["syn"] = true
		case p.Proto == 6 && p.TCPFlags&FIN != 0:
			seen["fin"] = true
		case p.Proto == 6 && p.TCPFlags&RST != 0:
			seen["rst"] = true
		case p.Proto == 17 && (p.Dport == 53 || p.Sport == 53):
			seen["dns"] = true
		case p.Proto == 17 && p.Dport == 123:
			seen["ntp"] = true
		case p.Proto == 1 && p.ICMPType == 8:
			seen["echo"] = true
		case p.Proto == 1 && p.ICMPType == 3 && p.Inner != nil:
			seen["unreach"] = true
		}
		if p.Family == 6 {
			seen["v6"] = true
		}
		if p.Frag.Count > 0 {
			seen["frag"] = true
		}
		if p.Proto == 6 && p.Dport == 8080 {
			seen["8080"] = true
		}
	}
	for _, k := range []string{"syn", "fin", "rst", "dns", "ntp", "echo", "unreach", "v6", "frag", "8080"} {
		if !seen[k] {
			t.Errorf("no %s in the generated capture", k)
		}
	}
	if s.Skipped[SkipNotIP] == 0 {
		t.Error("no ARP in the generated capture")
	}
}

// TestVLANTags: the VLAN IDs of a frame's tags are kept, outermost first,
// priority tags (VLAN 0) left out, as the kernel handles those frames
// untagged; a datagram reassembled from tagged fragments keeps its tags.
func TestVLANTags(t *testing.T) {
	tag := func(f []byte, tags ...uint16) []byte {
		out := append([]byte(nil), f[:12]...)
		for i := 0; i < len(tags); i += 2 {
			out = append(out, byte(tags[i]>>8), byte(tags[i]), byte(tags[i+1]>>8), byte(tags[i+1]))
		}
		return append(out, f[12:]...)
	}
	syn := tcpPkt(fxClient, GenHostAddr, 40000, 22, SYN, false)
	f := frame(LinkEthernet, syn, syn.ipBytes(nil))
	big := &gpkt{proto: 17, src: fxDNS, dst: GenHostAddr, sport: 53, dport: 33000, payload: 2000, ttl: 57, id: 0x4343}
	var frags []fxFrame
	for _, ip := range fragment(big.ipBytes(nil), 1500) {
		frags = append(frags, fxFrame{data: tag(frame(LinkEthernet, big, ip), 0x8100, 7)})
	}
	frames := append([]fxFrame{
		{data: f},
		{data: tag(f, 0x8100, 0x2000)},           // priority tag: VLAN 0, PCP 1
		{data: tag(f, 0x8100, 0x3064)},           // VLAN 100, PCP 1
		{data: tag(f, 0x88a8, 200, 0x8100, 100)}, // 802.1ad 200, then 100
		{data: tag(f, 0x8100, 0, 0x8100, 5)},     // priority tag, then 5
		{data: tag(f, 0x8100, 1, 0x8100, 2, 0x8100, 3, 0x8100, 4, 0x8100, 5)}, // too many
	}, frags...)
	ps, s := readAll(t, writeFixture(t, Pcap, LinkEthernet, nil, frames), Options{Iface: "ens33"})
	wants := [][]uint16{nil, nil, {100}, {200, 100}, {5}, {7}}
	if len(ps) != len(wants) || s.Skipped[SkipBadHeader] != 1 || s.Reassembled != 1 {
		t.Fatalf("%d packets, stats %+v", len(ps), s)
	}
	for i, w := range wants {
		p := ps[i]
		if !slices.Equal(p.VLAN[:p.NVLAN], w) || p.Iface != "ens33" {
			t.Errorf("frame %d: VLAN %v on %s, want %v on ens33", p.Num, p.VLAN[:p.NVLAN], p.Iface, w)
		}
	}
}

// rawCapture writes IPv4 packets as a raw-IP pcap.
func rawCapture(t testing.TB, ips ...[]byte) []byte {
	var fr []fxFrame
	for _, ip := range ips {
		fr = append(fr, fxFrame{data: ip})
	}
	return writeFixture(t, Pcap, LinkRaw, nil, fr)
}

func TestFragments(t *testing.T) {
	big := &gpkt{proto: 17, src: fxDNS, dst: GenHostAddr, sport: 53, dport: 33000, payload: 4000, ttl: 57, id: 0x4242}
	whole := big.ipBytes(nil)
	fs := fragment(whole, 1500) // 3 fragments
	other := tcpPkt(fxClient, GenHostAddr, 1, 2, SYN, false).ipBytes(nil)
	dup := func(b []byte) []byte { return append([]byte(nil), b...) }
	// sub makes a fragment covering payload bytes [lo,hi) of the datagram.
	sub := func(lo, hi int, more bool) []byte {
		f := append(dup(whole[:20]), whole[20+lo:20+hi]...)
		f[2], f[3] = byte(len(f)>>8), byte(len(f))
		fo := uint16(lo / 8)
		if more {
			fo |= 0x2000
		}
		f[6], f[7] = byte(fo>>8), byte(fo)
		return f
	}
	total := len(whole) - 20
	type tc struct {
		name      string
		frames    [][]byte
		opts      Options
		delivered []uint64
		skips     map[SkipReason][]uint64
	}
	cases := []tc{
		{name: "in order", frames: [][]byte{fs[0], fs[1], fs[2]}, delivered: []uint64{3}},
		{name: "out of order", frames: [][]byte{fs[2], other, fs[0], fs[1]}, delivered: []uint64{2, 4}},
		{name: "duplicate inside received data", frames: [][]byte{fs[0], dup(fs[0]), sub(8, 800, true), fs[1], fs[2]},
			delivered: []uint64{5}, skips: map[SkipReason][]uint64{SkipFragDuplicate: {2, 3}}},
		{name: "partial overlap discards the datagram", frames: [][]byte{fs[0], sub(1400, 2000, true), fs[1], fs[2]},
			delivered: nil, skips: map[SkipReason][]uint64{SkipFragOverlap: {1, 2}, SkipFragIncomplete: {3, 4}}},
		{name: "two different ends", frames: [][]byte{fs[2], sub(total-8, total-4, false)},
			skips: map[SkipReason][]uint64{SkipFragOverlap: {1, 2}}},
		{name: "incomplete at EOF", frames: [][]byte{fs[0], other, fs[2]}, delivered: []uint64{2},
			skips: map[SkipReason][]uint64{SkipFragIncomplete: {1, 3}}},
		{name: "timeout in packets", frames: [][]byte{fs[0], other, other, fs[1], fs[2]}, opts: Options{FragTimeoutPackets: 2},
			delivered: []uint64{2, 3}, skips: map[SkipReason][]uint64{SkipFragIncomplete: {1, 4, 5}}},
		{name: "evicted", frames: [][]byte{fs[0], sub(0, 1480, true), fs[1], fs[2]}, opts: Options{FragMaxPending: 1},
			delivered: []uint64{4}, skips: map[SkipReason][]uint64{SkipFragDuplicate: {2}}},
		{name: "truncated fragment", frames: [][]byte{fs[0], fs[1][:100], fs[2]},
			skips: map[SkipReason][]uint64{SkipTruncated: {2}, SkipFragIncomplete: {1, 3}}},
		{name: "no reassembly", frames: [][]byte{fs[0], fs[1], fs[2]}, opts: Options{NoReassembly: true}, delivered: []uint64{1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, s := readAll(t, rawCapture(t, c.frames...), c.opts)
			if got := nums(ps); !slices.Equal(got, c.delivered) {
				t.Fatalf("delivered %v, want %v", got, c.delivered)
			}
			for _, r := range SkipReasons() {
				if !slices.Equal(s.FirstSkipped[r], c.skips[r]) {
					t.Errorf("%v: %v, want %v", r, s.FirstSkipped[r], c.skips[r])
				}
			}
			for _, p := range ps {
				if p.Proto != 17 {
					continue
				}
				if c.opts.NoReassembly {
					if p.Frag.Count != 0 || (p.Frag.Offset == 0) != (p.Sport == 53) || (p.Num < 3) != p.Frag.More {
						t.Errorf("fragment %d: %+v", p.Num, p)
					}
					continue
				}
				if p.Sport != 53 || p.Dport != 33000 || p.Len != uint16(len(whole)) || p.Frag.Count != 3 || p.Frag.More || p.Frag.Offset != 0 {
					t.Errorf("datagram: %+v", p)
				}
			}
		})
	}
}

func TestICMPErrorInner(t *testing.T) {
	q := &gpkt{proto: 17, src: fxClient, dst: GenHostAddr, sport: 5353, dport: 53, payload: 20, ttl: 50, id: 1}
	qb := q.ipBytes(nil)
	for _, n := range []int{28, 24, 20, 10} {
		e := &gpkt{proto: 1, src: GenHostAddr, dst: fxClient, icmpType: 3, code: 3, inner: qb[:n], ttl: 64, id: 2}
		ps, _ := readAll(t, rawCapture(t, e.ipBytes(nil)), Options{})
		if len(ps) != 1 {
			t.Fatalf("%d packets", len(ps))
		}
		in := ps[0].Inner
		switch {
		case n < 20:
			if in != nil {
				t.Errorf("%d bytes: inner %+v", n, in)
			}
		case in == nil || in.Src != fxClient || in.Dst != GenHostAddr || in.Proto != 17:
			t.Errorf("%d bytes: inner %+v", n, in)
		case n >= 24 && (!in.Ports || in.Sport != 5353 || in.Dport != 53):
			t.Errorf("%d bytes: inner ports %+v", n, in)
		case n < 24 && in.Ports:
			t.Errorf("%d bytes: inner ports %+v", n, in)
		}
	}
}

func TestIPv6(t *testing.T) {
	src := netip.MustParseAddr("2001:db8::1")
	p := &gpkt{v6: true, proto: 6, src: src, dst: GenHostAddr6, sport: 1000, dport: 443, flags: SYN, ttl: 33}
	plain := p.ipBytes(nil)
	// The same with a hop-by-hop options header, and with a fragment header.
	ext := func(nh byte) []byte {
		b := append([]byte(nil), plain[:40]...)
		b[6] = nh
		b = append(b, 6, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, plain[40:]...)
		b[4], b[5] = byte((len(b)-40)>>8), byte(len(b)-40)
		return b
	}
	ps, s := readAll(t, rawCapture(t, plain, ext(0), ext(44), plain[:50]), Options{})
	if len(ps) != 2 {
		t.Fatalf("%d packets", len(ps))
	}
	for _, q := range ps {
		if q.Family != 6 || q.Proto != 6 || q.Src != src || q.Dport != 443 || q.TCPFlags != SYN || q.TTL != 33 {
			t.Errorf("%+v", q)
		}
	}
	if ps[0].Len != 60 || ps[1].Len != 68 {
		t.Errorf("lengths %d %d", ps[0].Len, ps[1].Len)
	}
	if !slices.Equal(s.FirstSkipped[SkipIPv6Fragment], []uint64{3}) || !slices.Equal(s.FirstSkipped[SkipTruncated], []uint64{4}) {
		t.Errorf("skips %+v", s.FirstSkipped)
	}
}

func TestBadHeaders(t *testing.T) {
	good := tcpPkt(fxClient, GenHostAddr, 1, 2, SYN, false).ipBytes(nil)
	mod := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	frames := [][]byte{
		mod(func(b []byte) { b[0] = 0x44 }),        // IHL 4
		mod(func(b []byte) { b[2], b[3] = 0, 10 }), // total length < header
		mod(func(b []byte) { b[32] = 0x40 }),       // TCP data offset 4
		mod(func(b []byte) { b[0] = 0x55 }),        // version 5 in a raw capture
		good[:30],                                  // cut in the TCP header
		{},                                         // empty frame
	}
	_, s := readAll(t, rawCapture(t, frames...), Options{})
	if !slices.Equal(s.FirstSkipped[SkipBadHeader], []uint64{1, 2, 3, 4}) || !slices.Equal(s.FirstSkipped[SkipTruncated], []uint64{5, 6}) {
		t.Errorf("skips %v", s.FirstSkipped)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(bytes.NewReader([]byte("# iptables-save\n*filter\n")), Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("text file: %v", err)
	}
	if _, err := Open(bytes.NewReader(nil), Options{}); err == nil {
		t.Error("empty file: no error")
	}
	data := readFile(t, "gen-eth.pcap")
	if _, err := Open(bytes.NewReader(data[:10]), Options{}); err == nil {
		t.Error("short header: no error")
	}
}

// TestTornFile: a file that ends inside a record ends the capture with a
// SkipFileTruncated count, not an error.
func TestTornFile(t *testing.T) {
	for _, name := range []string{"gen-eth.pcap", "gen-eth.pcapng"} {
		data := readFile(t, name)
		ps, s := readAll(t, data[:len(data)-30], Options{})
		if s.Skipped[SkipFileTruncated] != 1 || len(ps) == 0 {
			t.Errorf("%s: %d packets, stats %+v", name, len(ps), s)
		}
	}
}

// TestShortInput: every prefix of every fixture, and random corruption of
// them, reads without panicking.
func TestShortInput(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for name, data := range fixtures(t) {
		for n := 0; n < len(data); n++ {
			readNoPanic(data[:n])
			if n > 512 {
				n += rnd.IntN(8)
			}
		}
		for range 300 {
			b := append([]byte(nil), data...)
			for range 1 + rnd.IntN(8) {
				b[rnd.IntN(len(b))] = byte(rnd.IntN(256))
			}
			readNoPanic(b)
		}
		t.Logf("%s: %d bytes", name, len(data))
	}
}

// readNoPanic reads a capture to its end or first error.
func readNoPanic(data []byte) {
	r, err := Open(bytes.NewReader(data), Options{})
	if err != nil {
		return
	}
	var p Packet
	for i := 0; i < 100000; i++ {
		if r.Next(&p) != nil {
			return
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	var buf bytes.Buffer
	for _, f := range []Format{Pcap, Pcapng} {
		for _, l := range genLinks {
			buf.Reset()
			if err := Generate(&buf, GenConfig{Packets: 5000, Seed: 3, LinkType: l.link, Format: f, Mix: Mix{Frag: -1, ARP: -1}}); err != nil {
				t.Fatal(err)
			}
			r, err := Open(bytes.NewReader(buf.Bytes()), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			for range 100 { // warm up: buffers, interface names
				r.Next(&p)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if err := r.Next(&p); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%s %s: %.2f allocs/packet", l.name, f, allocs)
			// pcapgo's pcapng reader allocates the packet flags option it
			// returns (a pointer), once per packet that has one, and boxes
			// the link type in CaptureInfo.AncillaryData (an allocation
			// for values above 255: SLL2's 276).
			limit := 0.0
			if f == Pcapng {
				limit = 1
				if l.link == LinkSLL2 {
					limit = 2
				}
			}
			if allocs > limit {
				t.Errorf("%s %s: %.2f allocs/packet, want <= %v", l.name, f, allocs, limit)
			}
		}
	}
}
