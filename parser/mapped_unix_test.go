//go:build unix

package parser

import (
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"

	"github.com/dfw-project/dfw/internal/mapfile"
)

// A worker of the pipe that faults on a line (Options.Mapped: a mapped
// file shrank) hands the fault to the reading goroutine, which panics with
// it once the workers have ended.
func TestPipeWorkerFault(t *testing.T) {
	mem, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	lost := unsafe.String(unsafe.SliceData(mem), 64) // any read of it faults
	for _, stream := range []bool{false, true} {
		p := &fileParser{f: &File{Name: "rules", Family: IPv4}, opts: Options{Mapped: true}, table: "filter", inTable: true}
		if stream {
			p.stream = &streamApply{lean: true}
		}
		before := runtime.NumGoroutine()
		p.startPipe(2)
		var got any
		func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() { got = recover() }()
			defer p.pipe.stop(p)
			p.pipe.add(p, ruleJob{lineNo: 1, line: "-A INPUT -j ACCEPT", table: "filter", inTable: true})
			p.pipe.add(p, ruleJob{lineNo: 2, line: lost, table: "filter", inTable: true})
			p.pipe.add(p, ruleJob{lineNo: 3, line: "-A INPUT -j DROP", table: "filter", inTable: true})
		}()
		if !mapfile.IsFault(got) {
			t.Errorf("stream %v: recovered %v (%T), want the worker's fault", stream, got, got)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("stream %v: %d goroutines after the fault, %d before: the workers did not end", stream, n, before)
		}
	}
}
