package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcapRecords reads the records of a pcap file (after its 24-byte header,
// which pcapgo.NewReader parses and checks) in place: a record is
// returned as a slice of its own buffer, valid until the next call, which
// it fills with reads of readSize bytes (bufio.Reader hands reads that
// large straight to the file, without a copy into its own buffer).
// pcapgo's ZeroCopyReadPacketData copies each record's header and then
// its data out of bufio's buffer, through two io.ReadFull calls. Its
// results, errors included, are those of
// pcapgo.Reader.ZeroCopyReadPacketData on the same bytes
// (TestPcapRecords).
type pcapRecords struct {
	rd   io.Reader // the stream pcapgo read the header from
	buf  []byte    // buf[r:w] is read and not yet returned
	r, w int
	rerr error  // the error that ended the stream's reads
	big  bool   // big-endian file
	nano uint32 // 1 for nanosecond timestamps, 1000 for microseconds
	// maxCap is pcapgo's maxCaptureLength: the snap length, or libpcap's
	// MAXIMUM_SNAPLEN if greater.
	maxCap  int
	snaplen uint32
	large   []byte // a record larger than buf
}

// readSize is the size of the reads into pcapRecords.buf, which is twice
// as large (a record that straddles two reads is moved to its start).
const readSize = 64 << 10

// init reads the records that follow from rd (a bufio.Reader whose buffer
// is at most readSize bytes).
func (s *pcapRecords) init(rd io.Reader) {
	s.rd = rd
	s.buf = make([]byte, 2*readSize)
}

// eagerReadMax is pcapgo's: the largest record read into a buffer sized
// before its bytes are read.
const eagerReadMax = 262144

// initHeader sets the byte order and resolution from the file header's
// magic (already checked by pcapgo), and the snap length.
func (s *pcapRecords) initHeader(magic uint32, snaplen uint32) {
	switch magic {
	case 0xa1b2c3d4:
		s.nano = 1000
	case 0xa1b23c4d:
		s.nano = 1
	case 0xd4c3b2a1:
		s.big, s.nano = true, 1000
	case 0x4d3cb2a1:
		s.big, s.nano = true, 1
	}
	s.snaplen = snaplen
	s.maxCap = eagerReadMax
	if snaplen > eagerReadMax {
		s.maxCap = int(snaplen)
	}
}

func (s *pcapRecords) u32(b []byte) uint32 {
	if s.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// fill makes n bytes (at most len(buf)) available in buf[r:w], reading
// as needed, and reports whether it could (else rerr tells why).
func (s *pcapRecords) fill(n int) bool {
	if s.w-s.r >= n {
		return true
	}
	if s.rerr != nil {
		return false
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	for s.w < n {
		m, err := s.rd.Read(s.buf[s.w:min(len(s.buf), s.w+readSize)])
		s.w += m
		if err != nil {
			s.rerr = err
			return s.w >= n
		}
	}
	return true
}

// fullErr is io.ReadFull's error after n bytes of a read that err ended
// short.
func fullErr(n int, err error) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// next returns the data and timestamp of the next record.
func (s *pcapRecords) next() (data []byte, ts time.Time, err error) {
	if !s.fill(16) {
		n := s.w - s.r
		s.r = s.w
		return nil, ts, fullErr(n, s.rerr)
	}
	h := s.buf[s.r : s.r+16 : s.r+16]
	ts = time.Unix(int64(s.u32(h[0:4])), int64(s.u32(h[4:8])*s.nano)).UTC()
	caplen, origlen := s.u32(h[8:12]), s.u32(h[12:16])
	s.r += 16
	// pcapgo converts the lengths to int first.
	if int(caplen) > s.maxCap {
		return nil, ts, fmt.Errorf("capture length exceeds snap length: %d > %d", int(caplen), s.snaplen)
	}
	if int(caplen) > int(origlen) {
		return nil, ts, fmt.Errorf("capture length exceeds original packet length: %d > %d", int(caplen), int(origlen))
	}
	n := int(caplen)
	if n <= len(s.buf) {
		if !s.fill(n) {
			got := s.w - s.r
			s.r = s.w
			return nil, ts, fullErr(got, s.rerr)
		}
		data = s.buf[s.r : s.r+n : s.r+n]
		s.r += n
		return data, ts, nil
	}
	// Larger than buf: what it holds, then the rest from the stream.
	rest := io.MultiReader(bytes.NewReader(s.buf[s.r:s.w]), s.errReader())
	s.r = s.w
	if n <= eagerReadMax {
		if cap(s.large) < n {
			s.large = make([]byte, n)
		}
		data = s.large[:n]
		_, err = io.ReadFull(rest, data)
		return data, ts, err
	}
	// As pcapgo: the buffer grows with the bytes actually read (a short
	// file cannot make the reader allocate the 4 GiB its header claims).
	var bb bytes.Buffer
	bb.Grow(eagerReadMax)
	m, err := io.CopyN(&bb, rest, int64(n))
	if err == io.EOF && m > 0 {
		err = io.ErrUnexpectedEOF
	}
	return bb.Bytes(), ts, err
}

// errReader is the stream, or its error once it ended.
func (s *pcapRecords) errReader() io.Reader {
	if s.rerr != nil {
		return errorReader{s.rerr}
	}
	return s.rd
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }
