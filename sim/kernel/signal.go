package kernel

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var signalsOnce sync.Once

// startSignals installs, once per process, a SIGINT/SIGTERM handler that
// deletes the namespaces of every live topology and then dies of the
// signal. It stays installed so that no signal is lost between topologies;
// with no live topology it behaves like the default action.
func startSignals() {
	signalsOnce.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			sig := <-ch
			signal.Stop(ch) // the default action applies to the re-raised signal
			cleanupAndReraise(sig)
		}()
	})
}
