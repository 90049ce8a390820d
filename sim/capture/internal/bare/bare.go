// Package bare is the baseline the capture benchmarks compare against: a
// loop that only reads a pcap file with pcapgo and decodes each frame
// with gopacket's DecodingLayerParser over Ethernet, IPv4, TCP, UDP and
// ICMP into preallocated layers, and nothing else.
package bare

import (
	"bufio"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Decode reads every frame of the pcap stream r (Ethernet link type) and
// decodes it. It returns the number of frames and how many of them decoded
// to TCP, UDP or ICMP, so the work cannot be optimised away.
func Decode(r io.Reader) (frames, l4 int, err error) {
	pr, err := pcapgo.NewReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return 0, 0, err
	}
	var (
		eth  layers.Ethernet
		ip4  layers.IPv4
		tcp  layers.TCP
		udp  layers.UDP
		icmp layers.ICMPv4
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &tcp, &udp, &icmp)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	for {
		data, _, err := pr.ZeroCopyReadPacketData()
		if err == io.EOF {
			return frames, l4, nil
		}
		if err != nil {
			return frames, l4, err
		}
		frames++
		_ = parser.DecodeLayers(data, &decoded)
		if n := len(decoded); n > 0 {
			switch decoded[n-1] {
			case layers.LayerTypeTCP, layers.LayerTypeUDP, layers.LayerTypeICMPv4:
				l4++
			}
		}
	}
}
