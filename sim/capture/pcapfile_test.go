package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/pcapgo"
)

// pcapFile builds a pcap file: magic selects the byte order and the
// resolution; each record is (caplen, origlen), its data bytes made up.
func pcapFile(magic uint32, snaplen uint32, recs [][2]uint32, rng *rand.Rand) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	if magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1 {
		order = binary.BigEndian
	}
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], snaplen)
	order.PutUint32(h[20:], LinkEthernet)
	b.Write(h)
	for _, r := range recs {
		rh := make([]byte, 16)
		order.PutUint32(rh[0:], rng.Uint32())
		order.PutUint32(rh[4:], rng.Uint32()) // may overflow ×1000: as pcapgo
		order.PutUint32(rh[8:], r[0])
		order.PutUint32(rh[12:], r[1])
		b.Write(rh)
		d := make([]byte, min(r[0], 1<<20))
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		b.Write(d)
	}
	return b.Bytes()
}

// recordsOf reads every record of file with f until an error, as lines.
func recordsOf(file []byte, wrap func(io.Reader) io.Reader, read func(io.Reader) (func() ([]byte, string, error), error)) []string {
	next, err := read(wrap(bytes.NewReader(file)))
	if err != nil {
		return []string{"open: " + err.Error()}
	}
	var out []string
	for {
		data, ts, err := next()
		if err != nil {
			return append(out, fmt.Sprintf("error %v", err))
		}
		out = append(out, fmt.Sprintf("%s %d:%08x", ts, len(data), crc32.ChecksumIEEE(data)))
	}
}

// viaPcapgo reads the records of a pcap stream with pcapgo.
func viaPcapgo(r io.Reader) (func() ([]byte, string, error), error) {
	pr, err := pcapgo.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, err
	}
	return func() ([]byte, string, error) {
		d, ci, err := pr.ZeroCopyReadPacketData()
		return d, ci.Timestamp.String(), err
	}, nil
}

// viaRecords reads them with pcapRecords, as Open sets it up.
func viaRecords(r io.Reader) (func() ([]byte, string, error), error) {
	br := bufio.NewReaderSize(r, readSize)
	var magic uint32
	if b, err := br.Peek(4); err == nil {
		magic = binary.LittleEndian.Uint32(b) // before pcapgo reads on
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, err
	}
	var s pcapRecords
	s.initHeader(magic, pr.Snaplen())
	s.init(br)
	return func() ([]byte, string, error) {
		d, ts, err := s.next()
		return d, ts.String(), err
	}, nil
}

// FuzzPcapRecords: on any bytes, pcapRecords gives pcapgo's records and
// errors.
func FuzzPcapRecords(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)])
	}
	plain := func(r io.Reader) io.Reader { return r }
	f.Fuzz(func(t *testing.T, data []byte) {
		want := recordsOf(data, plain, viaPcapgo)
		got := recordsOf(data, plain, viaRecords)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %d records, want %d\ngot  %.300q\nwant %.300q", len(got), len(want), got, want)
		}
	})
}

// TestPcapRecords checks pcapRecords against pcapgo's
// ZeroCopyReadPacketData, record by record, errors included, on files of
// both byte orders and resolutions, with records larger than the buffer,
// bad lengths, and every truncation of the file's end.
func TestPcapRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Short reads, data with EOF, and an error that is not EOF.
	wraps := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"half", iotest.HalfReader},
		{"data-err", iotest.DataErrReader},
		{"one-byte", iotest.OneByteReader},
		{"timeout", func(r io.Reader) io.Reader { return &errAfter{r: r, n: 3000} }},
	}
	cases := []struct {
		name    string
		snaplen uint32
		recs    [][2]uint32
	}{
		{"small", 65535, [][2]uint32{{60, 60}, {0, 0}, {1514, 1514}, {40, 9000}, {1, 1}}},
		{"larger than the buffer", 300000, [][2]uint32{{100, 100}, {70000, 70000}, {65536 - 16, 70000}, {65536 - 15, 65536}, {131071, 131071}, {131072, 131072}, {131073, 131073}, {262144, 262144}, {280000, 280000}, {20, 20}}},
		{"caplen over snaplen", 1000, [][2]uint32{{100, 100}, {262145, 262145}, {5, 5}}},
		{"caplen over origlen", 65535, [][2]uint32{{100, 100}, {101, 100}, {5, 5}}},
		{"huge caplen", 0xffffffff, [][2]uint32{{10, 10}, {0xfffffff0, 0xfffffff0}}},
	}
	for _, magic := range []uint32{0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1} {
		for _, c := range cases {
			file := pcapFile(magic, c.snaplen, c.recs, rng)
			// Every truncation near the end and around the first
			// records, and the whole file.
			var cuts []int
			for n := 0; n <= len(file) && n < 24+16+200; n++ {
				cuts = append(cuts, n)
			}
			tail, random := 300, 50
			if len(file) > 100<<10 {
				tail, random = 40, 10 // records larger than the buffer
			}
			for n := max(0, len(file)-tail); n <= len(file); n++ {
				cuts = append(cuts, n)
			}
			for i := 0; i < random; i++ {
				cuts = append(cuts, rng.IntN(len(file)+1))
			}
			for i, n := range cuts {
				for j, w := range wraps {
					if j > 0 && (i%8 != 0 && n != len(file) || w.name == "one-byte" && len(file) > 100<<10) {
						continue // the odd readers on fewer cuts
					}
					want := recordsOf(file[:n], w.wrap, viaPcapgo)
					got := recordsOf(file[:n], w.wrap, viaRecords)
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("magic %x, %s, %s reader, cut at %d of %d: got %d records, want %d\ngot  %.300q\nwant %.300q", magic, c.name, w.name, n, len(file), len(got), len(want), got, want)
					}
				}
			}
		}
	}
}

// errAfter reads r, then fails with iotest.ErrTimeout once n bytes are read.
type errAfter struct {
	r io.Reader
	n int
}

func (e *errAfter) Read(b []byte) (int, error) {
	if e.n <= 0 {
		return 0, iotest.ErrTimeout
	}
	m, err := e.r.Read(b[:min(len(b), e.n)])
	e.n -= m
	return m, err
}
