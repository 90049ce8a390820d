// Command dfwlint checks iptables rulesets: see "dfwlint --help" and the
// README at the repository root. The logic lives in package lint/cli.
package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/dfw-project/dfw/lint/cli"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "parse" {
		deferGC()
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// gcStart is the heap size at which deferGC lets the collector start.
const gcStart = 512 << 20

// deferGC keeps the garbage collector from running until the heap reaches
// gcStart, then gives it back its usual pacing. "dfwlint parse" builds a
// ruleset that stays live until the command exits and makes little
// garbage: on a ruleset of 80,000 rules (~90 MB of heap) the collections
// that the default pacing starts, at 4, 8, 16, 32 and 64 MB, scan the same
// live rules again and again for almost nothing to free. GOGC or
// GOMEMLIMIT, when set, are kept.
func deferGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcStart)
	// The first collection (when the heap reaches the limit) frees this
	// sentinel, and its cleanup restores the default pacing: past gcStart
	// the heap grows as it would have without deferGC, rather than the
	// collector running without pause to stay under the limit.
	runtime.AddCleanup(new([64]byte), func(struct{}) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}
