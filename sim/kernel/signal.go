package kernel

import (
	"os"
	"os/signal"
	"syscall"
)

// startSignals installs the SIGINT/SIGTERM handler. Called with liveMu held.
func startSignals() {
	if sigCh != nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	sigCh = ch
	go func() {
		sig, ok := <-ch
		if ok {
			cleanupAndReraise(sig)
		}
	}()
}

// stopSignals restores the default signal actions. Called with liveMu held,
// or from the handler itself.
func stopSignals() {
	if sigCh == nil {
		return
	}
	signal.Stop(sigCh)
	close(sigCh)
	sigCh = nil
}
