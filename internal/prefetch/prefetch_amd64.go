package prefetch

import "unsafe"

// Line starts loading the cache line of addr into the caches
// (PREFETCHT0). It never faults, whatever addr, and changes nothing.
//
//go:noescape
func Line(addr unsafe.Pointer)
