package sim

import (
	"maps"
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/dfw-project/dfw/internal/populate"
	"github.com/dfw-project/dfw/internal/prefetch"
)

// Index4 indexes the tuples of two IPv4 addresses (the conntrack table's,
// and dfwsim --pcap's flows): an open-addressing hash table with linear
// probing, from the compact 16-byte key to a value (slot<<1|dir), never
// 0. It holds no pointers, and a lookup usually touches one cache line,
// where a Go map of a large table touches its directory, a control word
// and the slot. A cell is 16 bytes, four to a cache line and never across
// two: the key's protocol (8 bits) shares a word with the value (24 bits);
// the rare entry whose value or protocol does not fit goes to a Go map
// beside the cells (big). Deletion shifts the following cells back (no
// tombstones). The hash is seeded per table, so a crafted capture cannot
// aim at collisions.
type Index4 struct {
	cells []cell4 // len a power of two, or 0
	n     int
	seed  uint64
	big   map[Key4]uint32
}

type cell4 struct {
	src, dst, ports uint32
	pv              uint32 // proto<<24 | value; 0: an empty cell
}

const (
	pvBits = 24
	pvMask = 1<<pvBits - 1
)

// fits reports whether k and v can live in a cell.
func fits(k *Key4, v uint32) bool { return v <= pvMask && k.Proto <= 0xff }

func (c *cell4) is(k *Key4) bool {
	return c.src == k.Src && c.dst == k.Dst && c.ports == k.Ports && c.pv>>pvBits == k.Proto
}

func (c *cell4) key() Key4 {
	return Key4{Src: c.src, Dst: c.dst, Ports: c.ports, Proto: c.pv >> pvBits}
}

func (x *Index4) hash(k *Key4) uint64 {
	a := uint64(k.Src)<<32 | uint64(k.Dst)
	b := uint64(k.Ports)<<32 | uint64(k.Proto)
	// murmur3's finalizer over both halves: every key bit reaches the
	// low bits that pick the cell.
	h := a*0x9e3779b97f4a7c15 ^ bits.RotateLeft64(b*0xc2b2ae3d27d4eb4f, 31) ^ x.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (x *Index4) Get(k Key4) uint32 {
	if len(x.cells) != 0 {
		h := x.hash(&k)
		m := uint64(len(x.cells) - 1)
		for i := h & m; ; i = (i + 1) & m {
			c := &x.cells[i]
			if c.pv == 0 {
				break
			}
			if c.is(&k) {
				return c.pv & pvMask
			}
		}
	}
	if len(x.big) != 0 {
		return x.big[k]
	}
	return 0
}

func (x *Index4) Set(k Key4, v uint32) {
	if !fits(&k, v) {
		x.delCell(k)
		if x.big == nil {
			x.big = map[Key4]uint32{}
		}
		x.big[k] = v
		return
	}
	if len(x.big) != 0 {
		delete(x.big, k)
	}
	if 4*(x.n+1) > 3*len(x.cells) {
		x.grow()
	}
	h := x.hash(&k)
	m := uint64(len(x.cells) - 1)
	pv := k.Proto<<pvBits | v
	for i := h & m; ; i = (i + 1) & m {
		c := &x.cells[i]
		if c.pv == 0 {
			c.src, c.dst, c.ports, c.pv = k.Src, k.Dst, k.Ports, pv
			x.n++
			return
		}
		if c.is(&k) {
			c.pv = pv
			return
		}
	}
}

func (x *Index4) del(k Key4) {
	if len(x.big) != 0 {
		delete(x.big, k)
	}
	x.delCell(k)
}

// delCell removes k from the cells.
func (x *Index4) delCell(k Key4) {
	if len(x.cells) == 0 {
		return
	}
	m := uint64(len(x.cells) - 1)
	i := x.hash(&k) & m
	for {
		c := &x.cells[i]
		if c.pv == 0 {
			return
		}
		if c.is(&k) {
			break
		}
		i = (i + 1) & m
	}
	// Shift back the cells of the run that follows, each to the first
	// free cell at or after its home.
	j := i
	for {
		j = (j + 1) & m
		c := &x.cells[j]
		if c.pv == 0 {
			break
		}
		ck := c.key()
		h := x.hash(&ck) & m
		// Move c to i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			x.cells[i] = *c
			i = j
		}
	}
	x.cells[i] = cell4{}
	x.n--
}

func (x *Index4) grow() {
	old := x.cells
	size := 2 * len(old)
	if size < 64 {
		size = 64
	}
	if x.seed == 0 {
		x.seed = rand.Uint64() | 1
	}
	x.cells = make([]cell4, size)
	// The rehash below writes all over the new cells: their pages are
	// asked for in one call rather than faulted in one by one (and no
	// lookup's read maps the zero page first).
	populate.Write(unsafe.Pointer(unsafe.SliceData(x.cells)), uintptr(size)*unsafe.Sizeof(cell4{}))
	x.n = 0
	for i := range old {
		if old[i].pv != 0 {
			x.Set(old[i].key(), old[i].pv&pvMask)
		}
	}
}

// clone copies the index.
func (x *Index4) clone() Index4 {
	c := Index4{cells: append([]cell4(nil), x.cells...), n: x.n, seed: x.seed}
	if len(x.big) != 0 {
		c.big = maps.Clone(x.big)
	}
	return c
}

// each calls f for every entry.
func (x *Index4) each(f func(k Key4, v uint32)) {
	for i := range x.cells {
		if c := &x.cells[i]; c.pv != 0 {
			f(c.key(), c.pv&pvMask)
		}
	}
	for k, v := range x.big {
		f(k, v)
	}
}

// Prefetch starts bringing into the cache the cell where a lookup of k
// starts, and changes nothing: a caller with many lookups to make, each
// likely to miss the cache on a large table, asks for the next one's
// cell before doing the current one, so that the memory accesses overlap
// (a hint; a no-op on architectures other than amd64).
func (x *Index4) Prefetch(k Key4) {
	if len(x.cells) == 0 {
		return
	}
	h := x.hash(&k)
	prefetch.Line(unsafe.Pointer(&x.cells[h&uint64(len(x.cells)-1)]))
}
