//go:build !amd64

package prefetch

import "unsafe"

// Line does nothing on this architecture (a hint it goes without).
func Line(addr unsafe.Pointer) {}
