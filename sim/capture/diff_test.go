package capture

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestDifferential checks the Reader's hand decoder against gopacket's full
// decode (gopacket.NewPacket with the layers package) on every frame of
// generated captures of each link type and format: the same frames are
// skipped (not IP) and every delivered packet has the same fields.
func TestDifferential(t *testing.T) {
	for _, l := range genLinks {
		for _, f := range []Format{Pcap, Pcapng} {
			t.Run(l.name+"-"+f.String(), func(t *testing.T) {
				var buf bytes.Buffer
				if err := Generate(&buf, GenConfig{Packets: 20000, Seed: 11, LinkType: l.link, Format: f}); err != nil {
					t.Fatal(err)
				}
				data := buf.Bytes()
				// One packet per frame: fragments as they are.
				ps, _ := readAll(t, data, Options{NoReassembly: true})
				frames := gopacketFrames(t, data, f)
				i := 0
				for num, want := range frames {
					if want == nil {
						continue
					}
					if i >= len(ps) || ps[i].Num != uint64(num+1) {
						t.Fatalf("frame %d: gopacket decodes it, the Reader skipped it", num+1)
					}
					got := ps[i]
					i++
					got.Time, want.Time = want.Time, got.Time // compared below
					if !got.Time.Equal(want.Time) {
						t.Errorf("frame %d: time %v, want %v", num+1, want.Time, got.Time)
					}
					w := *want
					if (got.Inner == nil) != (w.Inner == nil) {
						t.Fatalf("frame %d: inner %+v, want %+v", num+1, got.Inner, w.Inner)
					}
					got.Inner, w.Inner = nil, nil // pointers into each value
					if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", w); g != w {
						t.Fatalf("frame %d:\n got %s\nwant %s", num+1, g, w)
					}
				}
				if i != len(ps) {
					t.Fatalf("the Reader delivered %d packets, gopacket decoded %d", len(ps), i)
				}
			})
		}
	}
}

// gopacketFrames decodes every frame of a capture with gopacket into the
// Packet the Reader should give, or nil for a frame that is not IP.
func gopacketFrames(t *testing.T, data []byte, f Format) []*Packet {
	type src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var (
		pr    *pcapgo.Reader
		ng    *pcapgo.NgReader
		link  layers.LinkType
		err   error
		iface string
	)
	if f == Pcap {
		pr, err = pcapgo.NewReader(bytes.NewReader(data))
		if err == nil {
			link = pr.LinkType()
		}
	} else {
		ng, err = pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err == nil {
			link = ng.LinkType()
			ifc, _ := ng.Interface(0)
			iface = ifc.Name
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if iface == "any" {
		iface = ""
	}
	first := map[layers.LinkType]gopacket.LayerType{
		layers.LinkTypeEthernet: layers.LayerTypeEthernet,
		layers.LinkTypeLinuxSLL: layers.LayerTypeLinuxSLL,
		LinkSLL2:                layers.LayerTypeLinuxSLL2,
		layers.LinkTypeRaw:      layers.LayerTypeIPv4, // the generator's raw frames: IPv4 first tried, IPv6 below
	}[link]
	var out []*Packet
	for num := uint64(1); ; num++ {
		var (
			frame []byte
			ci    gopacket.CaptureInfo
			opts  pcapgo.NgPacketOptions
		)
		if ng != nil {
			frame, ci, opts, err = ng.ReadPacketDataWithOptions()
		} else {
			frame, ci, err = pr.ReadPacketData()
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		lt := first
		if link == layers.LinkTypeRaw && frame[0]>>4 == 6 {
			lt = layers.LayerTypeIPv6
		}
		pkt := gopacket.NewPacket(frame, lt, gopacket.Default)
		p := &Packet{Num: num, Time: ci.Timestamp, Iface: iface}
		if opts.Flags != nil && opts.Flags.Direction == pcapgo.NgEpbFlagDirectionOutbound {
			p.Outbound = true
		}
		if sll, ok := pkt.Layer(layers.LayerTypeLinuxSLL).(*layers.LinuxSLL); ok && sll.PacketType == layers.LinuxSLLPacketTypeOutgoing {
			p.Outbound = true
		}
		if sll, ok := pkt.Layer(layers.LayerTypeLinuxSLL2).(*layers.LinuxSLL2); ok {
			p.IfIndex = sll.InterfaceIndex
			p.Iface = fmt.Sprintf("if%d", sll.InterfaceIndex)
			if sll.PacketType == layers.LinuxSLL2PacketTypeOutgoing {
				p.Outbound = true
			}
		}
		var l4 []byte
		if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			p.Family, p.Proto, p.TTL, p.TOS, p.Len = 4, uint8(ip.Protocol), ip.TTL, ip.TOS, ip.Length
			p.Src, p.Dst = addr(ip.SrcIP), addr(ip.DstIP)
			p.Frag = Frag{ID: ip.Id, DF: ip.Flags&layers.IPv4DontFragment != 0, More: ip.Flags&layers.IPv4MoreFragments != 0, Offset: ip.FragOffset * 8}
			if ip.FragOffset != 0 {
				out = append(out, p)
				continue
			}
			l4 = ip.Payload
		} else if ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			p.Family, p.Proto, p.TTL, p.TOS, p.Len = 6, uint8(ip.NextHeader), ip.HopLimit, ip.TrafficClass, 40+ip.Length
			p.Src, p.Dst = addr(ip.SrcIP), addr(ip.DstIP)
		} else {
			out = append(out, nil)
			continue
		}
		if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			p.Sport, p.Dport = uint16(tcp.SrcPort), uint16(tcp.DstPort)
			for i, b := range []bool{tcp.FIN, tcp.SYN, tcp.RST, tcp.PSH, tcp.ACK, tcp.URG, tcp.ECE, tcp.CWR} {
				if b {
					p.TCPFlags |= 1 << i
				}
			}
		}
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			p.Sport, p.Dport = uint16(udp.SrcPort), uint16(udp.DstPort)
		}
		if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			p.ICMPType, p.ICMPCode = icmp.TypeCode.Type(), icmp.TypeCode.Code()
			if icmpHasID(1, p.ICMPType) {
				p.ICMPID = icmp.Id
			}
			if icmpIsError(1, p.ICMPType) {
				inner := gopacket.NewPacket(icmp.Payload, layers.LayerTypeIPv4, gopacket.Default)
				if ip, ok := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
					p.inner = Header{Family: 4, Proto: uint8(ip.Protocol), Src: addr(ip.SrcIP), Dst: addr(ip.DstIP)}
					if u, ok := inner.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
						p.inner.Sport, p.inner.Dport, p.inner.Ports = uint16(u.SrcPort), uint16(u.DstPort), true
					}
					p.Inner = &p.inner
				}
			}
		}
		if icmp, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
			p.ICMPType, p.ICMPCode = icmp.TypeCode.Type(), icmp.TypeCode.Code()
			if e, ok := pkt.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
				p.ICMPID = e.Identifier
			}
		}
		if p.Frag.More && p.Proto == 17 {
			// gopacket stops at a fragment; the first one has the
			// transport header, which iptables matches.
			if udp, ok := gopacket.NewPacket(l4, layers.LayerTypeUDP, gopacket.Default).Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
				p.Sport, p.Dport = uint16(udp.SrcPort), uint16(udp.DstPort)
			}
		}
		out = append(out, p)
	}
}

func addr(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}
