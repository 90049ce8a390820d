package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcapRecords reads the records of a pcap file (after its 24-byte header,
// which pcapgo.NewReader parses and checks) in place: a record that fits
// in the bufio.Reader's buffer is returned as a slice of that buffer,
// valid until the next call. pcapgo's ZeroCopyReadPacketData copies each
// record's header and then its data out of the buffer, through two
// io.ReadFull calls. Its results, errors included, are those of
// pcapgo.Reader.ZeroCopyReadPacketData on the same bytes
// (TestPcapRecords).
type pcapRecords struct {
	br   *bufio.Reader
	big  bool   // big-endian file
	nano uint32 // 1 for nanosecond timestamps, 1000 for microseconds
	// maxCap is pcapgo's maxCaptureLength: the snap length, or libpcap's
	// MAXIMUM_SNAPLEN if greater.
	maxCap  int
	snaplen uint32
	buf     []byte // a record larger than br's buffer
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

// fullErr is io.ReadFull's error after n bytes of a read that err ended
// short.
func fullErr(n int, err error) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// next returns the data and timestamp of the next record.
func (s *pcapRecords) next() (data []byte, ts time.Time, _ error) {
	h, err := s.br.Peek(16)
	if len(h) < 16 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		n := len(h)
		_, _ = s.br.Discard(n)
		return nil, ts, fullErr(n, err)
	}
	err = nil
	ts = time.Unix(int64(s.u32(h[0:4])), int64(s.u32(h[4:8])*s.nano)).UTC()
	caplen, origlen := s.u32(h[8:12]), s.u32(h[12:16])
	// pcapgo converts the lengths to int first.
	if int(caplen) > s.maxCap {
		_, _ = s.br.Discard(16)
		return nil, ts, fmt.Errorf("capture length exceeds snap length: %d > %d", int(caplen), s.snaplen)
	}
	if int(caplen) > int(origlen) {
		_, _ = s.br.Discard(16)
		return nil, ts, fmt.Errorf("capture length exceeds original packet length: %d > %d", int(caplen), int(origlen))
	}
	n := int(caplen)
	if 16+n <= s.br.Size() {
		b, perr := s.br.Peek(16 + n)
		if len(b) < 16+n {
			if perr == nil {
				perr = io.ErrUnexpectedEOF
			}
			_, _ = s.br.Discard(len(b))
			return nil, ts, fullErr(len(b)-16, perr)
		}
		_, _ = s.br.Discard(16 + n)
		return b[16 : 16+n : 16+n], ts, nil
	}
	_, _ = s.br.Discard(16)
	if n <= eagerReadMax {
		if cap(s.buf) < n {
			s.buf = make([]byte, n)
		}
		data = s.buf[:n]
		_, err = io.ReadFull(s.br, data)
		return data, ts, err
	}
	// As pcapgo: the buffer grows with the bytes actually read (a short
	// file cannot make the reader allocate the 4 GiB its header claims).
	var bb bytes.Buffer
	bb.Grow(eagerReadMax)
	m, err := io.CopyN(&bb, s.br, int64(n))
	if err == io.EOF && m > 0 {
		err = io.ErrUnexpectedEOF
	}
	return bb.Bytes(), ts, err
}
