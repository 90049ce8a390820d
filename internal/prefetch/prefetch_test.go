package prefetch

import (
	"testing"
	"unsafe"
)

// A prefetch changes nothing.
func TestLine(t *testing.T) {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte(i)
	}
	Lines(unsafe.Pointer(&b[0]), uintptr(len(b)))
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}
