// Package capture reads packet captures (pcap and pcapng, as tcpdump and
// Wireshark write them) into small typed packets for the simulator to
// replay, and generates realistic captures for tests and benchmarks.
//
// Link types: Ethernet (with 802.1Q/802.1ad tags stripped), Linux cooked
// capture v1 and v2 (tcpdump -i any), and raw IP (LINKTYPE_RAW 101, the
// BSD DLT_RAW values 12 and 14, LINKTYPE_IPV4 228 and LINKTYPE_IPV6 229).
// Files may be gzip-compressed.
//
// The Reader never fails on a frame: a frame it cannot turn into an IP
// packet is skipped and counted in Stats by reason, with the first few
// frame numbers kept for warnings. Only an unreadable file (bad magic, a
// corrupt record header) is an error. A file torn in the middle of its
// last record — tcpdump killed while writing — ends the capture with the
// reason SkipFileTruncated, not with an error.
//
// IPv4 fragments are reassembled as the kernel's defragmentation does
// before conntrack (nf_defrag_ipv4), so the simulator sees one datagram:
// see Packet.Frag and the Skip* reasons for what happens to fragments
// that never complete. IPv6 fragments are skipped and counted
// (SkipIPv6Fragment).
package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link types as they appear in capture file headers.
const (
	LinkEthernet = 1
	LinkRawBSD12 = 12 // DLT_RAW on most BSDs
	LinkRawBSD14 = 14 // DLT_RAW on OpenBSD
	LinkRaw      = 101
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
)

// MaxVLAN is the most VLAN tags a frame may carry; a frame with more is
// skipped as a bad header.
const MaxVLAN = 4

// TCP flags as they appear in Packet.TCPFlags.
const (
	FIN uint8 = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Packet is one IP packet read from a capture. Next fills a caller-owned
// Packet; every field is overwritten on each call.
type Packet struct {
	// Num is the 1-based frame number in the file, as Wireshark counts
	// them. For a reassembled datagram it is the frame of the fragment
	// that completed it (Frag.First is the first fragment's frame).
	Num  uint64
	Time time.Time
	// Family is 4 or 6.
	Family uint8
	// Proto is the IP protocol (for IPv6, the upper-layer protocol after
	// hop-by-hop, routing and destination options headers).
	Proto    uint8
	Src, Dst netip.Addr
	// Sport and Dport are the TCP, UDP, UDP-Lite, SCTP or DCCP ports;
	// zero for other protocols and for a fragment that is not the first.
	Sport, Dport uint16
	// TCPFlags are FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32, ECE=64,
	// CWR=128.
	TCPFlags uint8
	// ICMPType and ICMPCode for ICMP and ICMPv6.
	ICMPType, ICMPCode uint8
	// ICMPID is the identifier of an ICMP or ICMPv6 echo request or reply
	// (and of ICMP timestamp and information messages).
	ICMPID uint16
	// TTL is the IPv4 TTL or the IPv6 hop limit; TOS the IPv4 TOS byte or
	// the IPv6 traffic class.
	TTL, TOS uint8
	// Len is the IP total length (for IPv6, 40 + payload length); for a
	// reassembled datagram, the length of the whole datagram.
	Len uint16
	// Iface is the interface the packet was captured on: see Options.
	Iface string
	// IfIndex is the kernel interface index from a Linux cooked v2
	// header, else 0.
	IfIndex uint32
	// VLAN holds the VLAN IDs of the frame's 802.1Q and 802.1ad tags,
	// outermost first, NVLAN of them; priority tags (VLAN 0) are left
	// out, as the kernel handles their frame as untagged. The kernel
	// hands a tagged frame to the VLAN device of its ID on Iface (by
	// the usual name, ens33.100), and that device is the one iptables'
	// -i sees; without such a device it drops the frame before IP.
	VLAN  [MaxVLAN]uint16
	NVLAN uint8
	// Outbound is set when the capture says the packet was sent by the
	// capturing host (pcapng packet flags, or the cooked header's packet
	// type PACKET_OUTGOING). Ethernet and raw captures in pcap files carry
	// no direction: Outbound is false for them.
	Outbound bool
	Frag     Frag
	// Inner is the embedded packet of an ICMP or ICMPv6 error (destination
	// unreachable, time exceeded, parameter problem, source quench,
	// redirect, packet too big), as far as it is present; else nil. It
	// points into the Packet itself.
	Inner *Header
	inner Header
}

// Frag describes the fragmentation of a packet.
type Frag struct {
	// Count is the number of fragments a reassembled datagram was made
	// from; 0 for a packet that was not fragmented.
	Count int
	// First is the frame number of the first fragment to arrive.
	First uint64
	// ID is the IPv4 identification field (of any packet).
	ID uint16
	// DF is the IPv4 don't-fragment flag.
	DF bool
	// Offset (in bytes) and More describe a fragment delivered as it is,
	// which happens only with Options.NoReassembly; a fragment whose
	// Offset is not 0 carries no ports.
	Offset uint16
	More   bool
}

// Header is the IP header and the start of the transport header of the
// packet embedded in an ICMP error.
type Header struct {
	Family             uint8
	Proto              uint8
	Src, Dst           netip.Addr
	Sport, Dport       uint16
	ICMPType, ICMPCode uint8
	ICMPID             uint16
	// Ports tells that the embedded transport header was long enough to
	// give Sport and Dport (or the ICMP type, code and id).
	Ports bool
}

// Options tunes Open.
type Options struct {
	// Iface names the ingress interface of packets whose capture does not
	// name one (pcap files, and pcapng interfaces without a name or named
	// "any"). dfwsim's --in.
	Iface string
	// ForceIface makes Iface the interface of every packet, whatever the
	// capture says.
	ForceIface bool
	// IfIndexNames maps Linux cooked v2 interface indexes to names. An
	// index it does not name is called "if<N>" — unless the pcapng
	// interface of the packet has a real name (not "any"), which is then
	// used.
	IfIndexNames map[uint32]string
	// NoReassembly delivers IPv4 fragments as they are, instead of
	// reassembling them.
	NoReassembly bool
	// FragTimeout is how long an incomplete datagram waits for its
	// missing fragments, in capture time; 0 means 30s (the kernel's
	// ipfrag_time).
	FragTimeout time.Duration
	// FragTimeoutPackets also expires an incomplete datagram after this
	// many frames; 0 means 1,000,000.
	FragTimeoutPackets uint64
	// FragMaxPending bounds the incomplete datagrams held at once; 0
	// means 1024. When full, the oldest is dropped (SkipFragIncomplete).
	FragMaxPending int
	// FirstFrames is how many frame numbers Stats keeps per skip reason;
	// 0 means 5.
	FirstFrames int
}

// SkipReason says why a frame was not delivered.
type SkipReason uint8

// Skip reasons.
const (
	// SkipNotIP: the frame does not carry IPv4 or IPv6 (ARP, LLDP, STP,
	// IPX, …), or its link type is not one this package reads.
	SkipNotIP SkipReason = iota
	// SkipTruncated: the frame was cut short (by the snap length) before
	// the end of the headers the simulator needs: link, IP (with
	// options and IPv6 extension headers) and the fixed transport header
	// (TCP 20, UDP 8, ICMP 8 bytes); or a fragment was cut short, so it
	// cannot be reassembled.
	SkipTruncated
	// SkipBadHeader: a header that cannot be right (IP version, IHL,
	// total length shorter than the header, TCP data offset < 5, …).
	SkipBadHeader
	// SkipFragIncomplete: a fragment of a datagram that never completed:
	// still incomplete at the end of the capture, timed out, or evicted
	// because too many datagrams were pending. Counted per fragment.
	SkipFragIncomplete
	// SkipFragOverlap: a fragment of a datagram the kernel discards
	// because two of its fragments partly overlap, or its last fragment
	// disagrees with data already seen beyond it (RFC 5722 behaviour,
	// which Linux applies to IPv4 too). A fragment wholly inside data
	// already received is a duplicate and is SkipFragDuplicate instead.
	SkipFragOverlap
	// SkipFragDuplicate: a fragment whose bytes were all received
	// already; ignored, as the kernel ignores it.
	SkipFragDuplicate
	// SkipIPv6Fragment: an IPv6 fragment; not reassembled.
	SkipIPv6Fragment
	// SkipFileTruncated: the file ends in the middle of a record.
	SkipFileTruncated
	numSkipReasons
)

var skipNames = [numSkipReasons]string{
	SkipNotIP:          "not IP",
	SkipTruncated:      "truncated",
	SkipBadHeader:      "bad header",
	SkipFragIncomplete: "incomplete fragment",
	SkipFragOverlap:    "overlapping fragment",
	SkipFragDuplicate:  "duplicate fragment",
	SkipIPv6Fragment:   "IPv6 fragment",
	SkipFileTruncated:  "file truncated",
}

func (r SkipReason) String() string {
	if r < numSkipReasons {
		return skipNames[r]
	}
	return "SkipReason(" + strconv.Itoa(int(r)) + ")"
}

// SkipReasons lists every reason, in order.
func SkipReasons() []SkipReason {
	rs := make([]SkipReason, numSkipReasons)
	for i := range rs {
		rs[i] = SkipReason(i)
	}
	return rs
}

// Stats counts what the Reader did with the frames of the file. Every frame
// is counted once: Frames = Delivered + Merged + the sum of Skipped.
type Stats struct {
	// Frames is the number of packet records read.
	Frames uint64
	// Delivered is the number of packets Next returned.
	Delivered uint64
	// Outbound is how many of those were outbound.
	Outbound uint64
	// Reassembled is how many delivered packets were reassembled from
	// fragments; Merged is how many fragment frames were folded into
	// them without being delivered themselves (all but the completing
	// one).
	Reassembled, Merged uint64
	// Skipped counts skipped frames by reason; FirstSkipped keeps the
	// first frame numbers of each (up to Options.FirstFrames).
	Skipped      [numSkipReasons]uint64
	FirstSkipped [numSkipReasons][]uint64
}

// TotalSkipped is the sum of Skipped.
func (s *Stats) TotalSkipped() uint64 {
	var n uint64
	for _, c := range s.Skipped {
		n += c
	}
	return n
}

// Warnings describes the skips, one line per reason, e.g.
// "skipped 3 frames: not IP (packets 1, 7, 9)".
func (s *Stats) Warnings() []string {
	var out []string
	for i, n := range s.Skipped {
		if n == 0 {
			continue
		}
		w := fmt.Sprintf("skipped %d frame%s: %s (packet%s", n, plural(n), SkipReason(i), plural(uint64(len(s.FirstSkipped[i]))))
		for j, num := range s.FirstSkipped[i] {
			if j > 0 {
				w += ","
			}
			w += " " + strconv.FormatUint(num, 10)
		}
		if uint64(len(s.FirstSkipped[i])) < n {
			w += ", …"
		}
		out = append(out, w+")")
	}
	return out
}

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ErrFormat is wrapped by the error Open returns for a file that is not a
// capture this package reads.
var ErrFormat = errors.New("not a pcap or pcapng capture")

// Reader reads IP packets from a capture. It is not safe for concurrent
// use.
type Reader struct {
	opts Options
	// rec reads a pcap file's records; ng a pcapng file.
	rec      pcapRecords
	ng       *pcapgo.NgReader
	cr       *countingReader // the file, as read
	link     uint32          // pcap link type
	num      uint64
	stats    Stats
	ifNames  map[uint32]string
	frag     reassembler
	maxFirst int
	ip       []byte // the IP packet of the current frame, trimmed to its total length
}

// Open reads the file header of a pcap or pcapng capture (told apart by
// their magic numbers; gzip-compressed files too) and returns a Reader
// positioned at its first packet. The error wraps ErrFormat when the
// magic is neither.
func Open(r io.Reader, opts Options) (*Reader, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	magic, err := br.Peek(4)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("capture header: %w", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
		if magic, err = br.Peek(4); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("capture header: %w", err)
		}
	}
	rd := newReader(opts)
	rd.cr = cr
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0x0A0D0D0A:
		rd.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		// pcapgo checks the file header; the records are read from br
		// (pcapgo reads through br itself, a bufio.Reader large enough).
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", err)
		}
		rd.link = uint32(pr.LinkType())
		rd.rec.initHeader(m, pr.Snaplen())
		rd.rec.init(br)
	default:
		return nil, fmt.Errorf("%w (magic %x)", ErrFormat, magic)
	}
	return rd, nil
}

func newReader(opts Options) *Reader {
	rd := &Reader{opts: opts, ifNames: map[uint32]string{}}
	rd.maxFirst = opts.FirstFrames
	if rd.maxFirst <= 0 {
		rd.maxFirst = 5
	}
	rd.frag.init(&opts)
	return rd
}

// Offset returns how many bytes of the file the Reader has read (of the
// compressed file, if it is compressed), buffered ones included: a measure
// of progress.
func (r *Reader) Offset() int64 { return r.cr.n }

// countingReader counts the bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// Stats returns the counts so far. After Next has returned io.EOF they are
// final (incomplete fragments counted).
func (r *Reader) Stats() *Stats { return &r.stats }

// LinkType returns the link type of a pcap file, or of the first interface
// of a pcapng file.
func (r *Reader) LinkType() uint32 {
	if r.ng != nil {
		return uint32(r.ng.LinkType())
	}
	return r.link
}

// Next reads frames until one gives an IP packet, fills p with it and
// returns nil. At the end of the capture it returns io.EOF; any other
// error means the file could not be read further. Next does not allocate
// for an ordinary (not fragmented) packet.
func (r *Reader) Next(p *Packet) error {
	for {
		var (
			data     []byte
			ci       gopacket.CaptureInfo
			err      error
			link     = r.link
			name     string
			outbound bool
		)
		if r.ng != nil {
			var po pcapgo.NgPacketOptions
			data, ci, po, err = r.ng.ZeroCopyReadPacketDataWithOptions()
			if err == nil {
				if ifc, ierr := r.ng.Interface(ci.InterfaceIndex); ierr == nil {
					link = uint32(ifc.LinkType)
					if ifc.Name != "any" {
						name = ifc.Name
					}
				}
				if po.Flags != nil && po.Flags.Direction == pcapgo.NgEpbFlagDirectionOutbound {
					outbound = true
				}
			}
		} else {
			data, ci.Timestamp, err = r.rec.next()
		}
		if err != nil {
			if err == io.EOF {
				r.frag.flush(r)
				return io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				r.num++
				r.stats.Frames++
				r.skip(SkipFileTruncated, r.num)
				r.frag.flush(r)
				return io.EOF
			}
			return fmt.Errorf("packet %d: %w", r.num+1, err)
		}
		r.num++
		r.stats.Frames++
		p.reset(r.num, ci.Timestamp, outbound)
		if name != "" {
			p.Iface = name
		} else {
			p.Iface = r.opts.Iface
		}
		reason, ok := r.decodeFrame(p, data, link, name)
		if !ok {
			r.skip(reason, r.num)
			continue
		}
		if r.opts.ForceIface {
			p.Iface = r.opts.Iface
		}
		if p.Frag.Count == 0 && (p.Frag.More || p.Frag.Offset != 0) && !r.opts.NoReassembly {
			if !r.frag.add(r, p) {
				continue
			}
		}
		r.stats.Delivered++
		if p.Outbound {
			r.stats.Outbound++
		}
		return nil
	}
}

// reset makes p a new packet of frame num, as Packet{Num: num, Time: t,
// Outbound: outbound} would, but field by field and leaving inner alone
// (decodeInner zeroes it before Inner points to it): the whole-struct
// literal cleared and copied over 200 bytes for every frame.
func (p *Packet) reset(num uint64, t time.Time, outbound bool) {
	p.Num, p.Time, p.Outbound = num, t, outbound
	p.Family, p.Proto, p.Src, p.Dst = 0, 0, netip.Addr{}, netip.Addr{}
	p.Sport, p.Dport, p.TCPFlags, p.ICMPType, p.ICMPCode, p.ICMPID = 0, 0, 0, 0, 0, 0
	p.TTL, p.TOS, p.Len, p.Iface, p.IfIndex, p.NVLAN = 0, 0, 0, "", 0, 0
	p.Frag, p.Inner = Frag{}, nil
}

func (r *Reader) skip(reason SkipReason, num uint64) {
	r.stats.Skipped[reason]++
	if len(r.stats.FirstSkipped[reason]) < r.maxFirst {
		r.stats.FirstSkipped[reason] = append(r.stats.FirstSkipped[reason], num)
	}
}

// ifName names a cooked-v2 interface index.
func (r *Reader) ifName(idx uint32, captured string) string {
	if n, ok := r.opts.IfIndexNames[idx]; ok {
		return n
	}
	if captured != "" {
		return captured
	}
	n, ok := r.ifNames[idx]
	if !ok {
		n = "if" + strconv.FormatUint(uint64(idx), 10)
		r.ifNames[idx] = n
	}
	return n
}
