// Package populate asks the kernel to back a fresh allocation with memory
// in one call, rather than one page fault at a time as it is first
// written: a hint, for large tables that are about to be written all over
// (a capture replay's indexes and slabs).
package populate

import "unsafe"

// MinBytes is the size below which Write does not bother: a system call
// costs about what a few page faults do.
const MinBytes = 64 << 10

// Write backs the whole pages within the n bytes at p with memory, as if
// each had been written (their contents do not change). It is a hint:
// where the system cannot, it does nothing, and the pages are faulted in
// as they are written.
func Write(p unsafe.Pointer, n uintptr) {
	if n < MinBytes {
		return
	}
	write(p, n)
}
