package populate

import (
	"testing"
	"unsafe"
)

// TestWriteKeepsContents: populating memory leaves what it holds alone,
// at any alignment and size.
func TestWriteKeepsContents(t *testing.T) {
	for _, n := range []int{0, 1, 4095, MinBytes - 1, MinBytes, MinBytes + 1, 1 << 20, 3<<20 + 77} {
		b := make([]byte, n+64)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		for _, off := range []int{0, 1, 63} {
			if off+n > len(b) {
				continue
			}
			Write(unsafe.Pointer(unsafe.SliceData(b[off:])), uintptr(n))
			for i := range b {
				if b[i] != byte(i*7+3) {
					t.Fatalf("n=%d off=%d: byte %d changed", n, off, i)
				}
			}
		}
	}
	fresh := make([]uint64, 1<<18)
	Write(unsafe.Pointer(unsafe.SliceData(fresh)), uintptr(len(fresh))*8)
	for i, v := range fresh {
		if v != 0 {
			t.Fatalf("fresh[%d] = %d", i, v)
		}
	}
}
