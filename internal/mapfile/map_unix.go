//go:build unix

package mapfile

import (
	"os"
	"sync"
	"syscall"
)

// mapFile maps size bytes of f read-only. Pages are populated up front
// where the system supports it (mapFlags).
func mapFile(f *os.File, size int) ([]byte, func(), bool) {
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED|mapFlags)
	if err != nil {
		return nil, nil, false
	}
	var once sync.Once
	return data, func() { once.Do(func() { syscall.Munmap(data) }) }, true
}
