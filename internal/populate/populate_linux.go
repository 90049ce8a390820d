package populate

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14): fault the pages
// in, writable, without touching their contents. Older kernels answer
// EINVAL, and the pages are faulted in as they are written.
const madvPopulateWrite = 23

var pageSize = uintptr(os.Getpagesize())

func write(p unsafe.Pointer, n uintptr) {
	start := (uintptr(p) + pageSize - 1) &^ (pageSize - 1)
	end := (uintptr(p) + n) &^ (pageSize - 1)
	if end > start {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvPopulateWrite)
	}
	runtime.KeepAlive(p)
}
