package capture

import (
	"slices"
	"time"
)

// IPv4 reassembly, after net/ipv4/ip_fragment.c and inet_fragment.c:
//
//   - Datagrams are keyed by (source, destination, identification,
//     protocol).
//   - A fragment whose bytes were all received already is a duplicate: it
//     is ignored (SkipFragDuplicate) and the datagram carries on.
//   - A fragment that partly overlaps received data, a second last
//     fragment with another end, or a fragment past the end the last one
//     set, discards the whole datagram (every fragment of it counted
//     SkipFragOverlap), as Linux has done since 4.19 (RFC 5722 applied to
//     IPv4). The kernel compares fragment runs, this reassembler the
//     union of received bytes: a duplicate spanning two adjacent fragments
//     that arrived out of order is a duplicate here and an overlap there.
//   - A non-last fragment whose payload is not a multiple of 8 bytes is
//     trimmed to one, as the kernel does.
//   - A datagram that does not complete — timed out (FragTimeout in
//     capture time, or FragTimeoutPackets frames), evicted when
//     FragMaxPending datagrams are pending, or still pending at the end of
//     the capture — is dropped, every fragment of it counted
//     SkipFragIncomplete.
//
// The completed datagram is delivered when its last missing fragment
// arrives, with that fragment's frame number, time, interface and
// direction, and Frag.Count and Frag.First set.

type fragKey struct {
	src, dst [4]byte
	id       uint16
	proto    uint8
}

type span struct{ lo, hi int }

type fragQueue struct {
	first     uint64
	firstTime time.Time
	hdr       []byte // IP header of the first fragment, once seen
	data      []byte
	spans     []span // received byte ranges, sorted and merged
	total     int    // payload length, -1 until the last fragment is seen
	frames    []uint64
}

type reassembler struct {
	queues     map[fragKey]*fragQueue
	timeout    time.Duration
	timeoutPkt uint64
	maxPending int
	buf        []byte
	// free holds queues of datagrams done with, for reuse with their
	// buffers: a capture's fragments then take no fresh memory once the
	// first few datagrams are through.
	free []*fragQueue
}

// newQueue returns an empty queue for a datagram whose first fragment to
// arrive is p.
func (f *reassembler) newQueue(p *Packet) *fragQueue {
	n := len(f.free)
	if n == 0 {
		return &fragQueue{first: p.Num, firstTime: p.Time, total: -1}
	}
	q := f.free[n-1]
	f.free = f.free[:n-1]
	q.first, q.firstTime, q.total = p.Num, p.Time, -1
	q.hdr, q.data, q.spans, q.frames = q.hdr[:0], q.data[:0], q.spans[:0], q.frames[:0]
	return q
}

// release keeps q, a queue no longer in f.queues, for reuse.
func (f *reassembler) release(q *fragQueue) {
	if len(f.free) < 64 {
		f.free = append(f.free, q)
	}
}

func (f *reassembler) init(o *Options) {
	f.queues = map[fragKey]*fragQueue{}
	f.timeout = o.FragTimeout
	if f.timeout <= 0 {
		f.timeout = 30 * time.Second
	}
	f.timeoutPkt = o.FragTimeoutPackets
	if f.timeoutPkt == 0 {
		f.timeoutPkt = 1_000_000
	}
	f.maxPending = o.FragMaxPending
	if f.maxPending <= 0 {
		f.maxPending = 1024
	}
}

// drop forgets a queue, counting its fragments with reason.
func (f *reassembler) drop(r *Reader, k fragKey, q *fragQueue, reason SkipReason) {
	delete(f.queues, k)
	for _, n := range q.frames {
		r.skip(reason, n)
	}
	f.release(q)
}

// expire drops the queues that timed out by the frame in p.
func (f *reassembler) expire(r *Reader, p *Packet) {
	var old []fragKey
	for k, q := range f.queues {
		if p.Num-q.first > f.timeoutPkt || p.Time.Sub(q.firstTime) > f.timeout {
			old = append(old, k)
		}
	}
	f.dropAll(r, old, SkipFragIncomplete)
}

// dropAll drops the given queues, counting their frames in frame order.
func (f *reassembler) dropAll(r *Reader, keys []fragKey, reason SkipReason) {
	if len(keys) == 0 {
		return
	}
	var frames []uint64
	for _, k := range keys {
		q := f.queues[k]
		frames = append(frames, q.frames...)
		delete(f.queues, k)
		f.release(q)
	}
	slices.Sort(frames)
	for _, n := range frames {
		r.skip(reason, n)
	}
}

// flush drops every pending queue at the end of the capture.
func (f *reassembler) flush(r *Reader) {
	keys := make([]fragKey, 0, len(f.queues))
	for k := range f.queues {
		keys = append(keys, k)
	}
	f.dropAll(r, keys, SkipFragIncomplete)
}

// add takes the fragment in p (whose IP bytes are r.ip). It reports true
// when the fragment completed a datagram, which is then decoded into p;
// false when the fragment was kept, or skipped and counted.
func (f *reassembler) add(r *Reader, p *Packet) bool {
	if len(f.queues) > 0 {
		f.expire(r, p)
	}
	ip := r.ip
	ihl := int(ip[0]&0x0f) * 4
	payload := ip[ihl:]
	off := int(p.Frag.Offset)
	end := off + len(payload)
	if p.Frag.More {
		end &^= 7
	}
	if end+ihl > 0xffff || end <= off {
		// Too long, or nothing in it (the kernel discards the queue for
		// the latter; only this frame is counted here).
		r.skip(SkipBadHeader, p.Num)
		return false
	}
	k := fragKey{src: p.Src.As4(), dst: p.Dst.As4(), id: p.Frag.ID, proto: p.Proto}
	q := f.queues[k]
	if q == nil {
		if len(f.queues) >= f.maxPending {
			var oldest fragKey
			var oq *fragQueue
			for k2, q2 := range f.queues {
				if oq == nil || q2.first < oq.first {
					oldest, oq = k2, q2
				}
			}
			f.drop(r, oldest, oq, SkipFragIncomplete)
		}
		q = f.newQueue(p)
		f.queues[k] = q
	}
	received := 0
	if n := len(q.spans); n > 0 {
		received = q.spans[n-1].hi
	}
	if !p.Frag.More {
		if end < received || (q.total >= 0 && end != q.total) {
			q.frames = append(q.frames, p.Num)
			f.drop(r, k, q, SkipFragOverlap)
			return false
		}
	} else if q.total >= 0 && end > q.total {
		q.frames = append(q.frames, p.Num)
		f.drop(r, k, q, SkipFragOverlap)
		return false
	}
	for _, s := range q.spans {
		if off >= s.lo && end <= s.hi {
			r.skip(SkipFragDuplicate, p.Num)
			return false
		}
		if off < s.hi && end > s.lo {
			q.frames = append(q.frames, p.Num)
			f.drop(r, k, q, SkipFragOverlap)
			return false
		}
	}
	if !p.Frag.More {
		q.total = end
	}
	q.frames = append(q.frames, p.Num)
	if n := len(q.data); n < end {
		q.data = slices.Grow(q.data, end-n)[:end]
		clear(q.data[n:])
	}
	copy(q.data[off:end], payload)
	if off == 0 {
		q.hdr = append(q.hdr[:0], ip[:ihl]...)
	}
	q.spans = addSpan(q.spans, span{off, end})
	if q.total < 0 || len(q.spans) != 1 || q.spans[0].lo != 0 || q.spans[0].hi != q.total {
		return false
	}

	// Complete: rebuild the datagram and decode it.
	delete(f.queues, k)
	tot := len(q.hdr) + q.total
	f.buf = append(append(f.buf[:0], q.hdr...), q.data[:q.total]...)
	f.buf[2], f.buf[3] = byte(tot>>8), byte(tot)
	f.buf[6], f.buf[7] = q.hdr[6]&0x40, 0 // keep DF, clear MF and the offset
	num, t, iface, ifindex, out, vlan, nvlan := p.Num, p.Time, p.Iface, p.IfIndex, p.Outbound, p.VLAN, p.NVLAN
	*p = Packet{Num: num, Time: t, Iface: iface, IfIndex: ifindex, Outbound: out, VLAN: vlan, NVLAN: nvlan}
	reason, ok := r.decodeIPv4(p, f.buf)
	if !ok {
		for _, n := range q.frames {
			r.skip(reason, n)
		}
		f.release(q)
		return false
	}
	p.Frag.Count = len(q.frames)
	p.Frag.First = q.frames[0]
	r.stats.Reassembled++
	r.stats.Merged += uint64(len(q.frames) - 1)
	f.release(q)
	return true
}

// addSpan inserts s (which overlaps none of spans) and merges neighbours.
func addSpan(spans []span, s span) []span {
	i := 0
	for i < len(spans) && spans[i].lo < s.lo {
		i++
	}
	spans = slices.Insert(spans, i, s)
	out := spans[:1]
	for _, t := range spans[1:] {
		last := &out[len(out)-1]
		if t.lo <= last.hi {
			if t.hi > last.hi {
				last.hi = t.hi
			}
			continue
		}
		out = append(out, t)
	}
	return out
}
