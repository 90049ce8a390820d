package parser

import (
	"unsafe"

	"github.com/dfw-project/dfw/internal/populate"
)

// slab hands out values of one type from chunks allocated together, so
// that a ruleset of 80,000 rules costs a few thousand allocations instead
// of two million, and its objects lie in memory in the order they were
// read. A chunk stays alive while any of its values is referenced: slabs
// suit values that live as long as the ruleset (rules, matches, options),
// not short-lived ones.
type slab[T any] struct {
	buf []T
	// chunks, when the slab is kept for reuse (arena.recycle), are the
	// chunks it allocated; those from next on are free again since the
	// last reset.
	chunks [][]T
	next   int
	keep   bool
	// populate makes chunks of populateBytes, backed with memory at once
	// (internal/populate): for the slabs a large lean load fills with
	// the rules, targets and chains it keeps (leanCopier, the pipe's
	// workers), whose pages were a quarter of the CPU time of loading the
	// 80k ruleset as they were faulted in one by one.
	populate bool
}

// Chunks start at slabMin values, so that a file of a few rules stays
// cheap, and double up to about slabBytes: 16 KiB is one of the runtime's
// size classes, so a full chunk wastes less than one value (a larger
// chunk is rounded up to whole pages).
const (
	slabMin       = 8
	slabBytes     = 16 << 10
	populateBytes = 256 << 10
)

func (s *slab[T]) grow(need int) {
	for s.next < len(s.chunks) {
		c := s.chunks[s.next]
		s.next++
		if cap(c) >= need {
			s.buf = c[:0]
			return
		}
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	limit := max(slabBytes/size, slabMin)
	if s.populate {
		limit = max(populateBytes/size, slabMin)
	}
	n := min(max(2*cap(s.buf), slabMin), limit)
	n = max(n, need)
	s.buf = make([]T, 0, n)
	if s.populate {
		populate.Write(unsafe.Pointer(unsafe.SliceData(s.buf)), uintptr(n*size))
	}
	if s.keep {
		s.chunks = append(s.chunks, s.buf)
		s.next = len(s.chunks)
	}
}

// reset makes every chunk of a kept slab free again: what was handed out
// before is overwritten by what is handed out next.
func (s *slab[T]) reset() {
	s.buf, s.next = nil, 0
}

// put returns a pointer to a copy of v.
func (s *slab[T]) put(v T) *T {
	if len(s.buf) == cap(s.buf) {
		s.grow(1)
	}
	s.buf = append(s.buf, v)
	return &s.buf[len(s.buf)-1]
}

// make returns a slice of length 0 and capacity n (nil when n is 0):
// appending up to n values fills the chunk, appending more moves the slice
// elsewhere, as a slice's capacity says.
func (s *slab[T]) make(n int) []T {
	if n <= 0 {
		return nil
	}
	if cap(s.buf)-len(s.buf) < n {
		if n > 16 {
			return make([]T, 0, n)
		}
		s.grow(n)
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i : i+n]
}

// clone copies v into the slab (nil when v is empty).
func (s *slab[T]) clone(v []T) []T {
	return append(s.make(len(v)), v...)
}

// arena holds the slabs of one parsing goroutine.
type arena struct {
	rules     slab[Rule]
	rulePtrs  slab[*Rule]
	cmds      slab[Command]
	matches   slab[Match]
	matchPtrs slab[*Match]
	options   slab[Option]
	strs      slab[string]
	targets   slab[Target]
	addrs     slab[AddrMatch]
	ifaces    slab[IfaceMatch]
	protos    slab[ProtoMatch]
	counters  slab[Counters]
	portSets  slab[PortSet]
	ranges    slab[Range]
	tcp       slab[TCPMatch]
	udp       slab[UDPMatch]
	comments  slab[CommentMatch]
	opaque    slab[OpaqueMatch]
	stateSets slab[StateSet]
	conntrack slab[ConntrackMatch]
	addrtypes slab[AddrtypeMatch]
	atSets    slab[AddrTypeSet]
	nat       slab[NATTarget]
	natRanges slab[NATRange]
	reject    slab[RejectTarget]
	marks     slab[MarkMatch]
	markTgts  slab[MarkTarget]
}

// recycle makes the arena keep its chunks, so that reset can hand them out
// again. Only the pipe does this, for a lean load (Options.Lean), whose
// rules are copied out of the arena before it is reset.
func (a *arena) recycle() {
	for _, s := range a.slabs() {
		s.setKeep()
	}
}

// reset makes the chunks of a recycled arena free again.
func (a *arena) reset() {
	for _, s := range a.slabs() {
		s.reset()
	}
}

type chunked interface {
	setKeep()
	reset()
}

func (s *slab[T]) setKeep() { s.keep = true }

// slabs lists every slab of the arena (TestArenaSlabs checks that none is
// missing).
func (a *arena) slabs() []chunked {
	return []chunked{
		&a.rules, &a.rulePtrs, &a.cmds, &a.matches, &a.matchPtrs, &a.options, &a.strs, &a.targets,
		&a.addrs, &a.ifaces, &a.protos, &a.counters, &a.portSets, &a.ranges, &a.tcp, &a.udp,
		&a.comments, &a.opaque, &a.stateSets, &a.conntrack, &a.addrtypes, &a.atSets, &a.nat,
		&a.natRanges, &a.reject, &a.marks, &a.markTgts,
	}
}
