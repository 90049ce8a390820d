// Package prefetch asks the CPU to start loading a cache line before it
// is needed: a hint, for lookups in tables much larger than the caches
// (the conntrack and flow tables of a long capture replay) whose keys are
// known one packet ahead.
package prefetch

import "unsafe"

// LineSize is the cache line size the callers assume (x86-64, most arm64).
const LineSize = 64

// Lines prefetches the lines of the n bytes at addr.
func Lines(addr unsafe.Pointer, n uintptr) {
	for off := uintptr(0); off < n; off += LineSize {
		Line(unsafe.Add(addr, off))
	}
}
