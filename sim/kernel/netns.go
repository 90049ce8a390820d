package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cmdTimeout bounds every external command the harness runs.
const cmdTimeout = 30 * time.Second

// runCmd runs argv with optional stdin on the calling thread and returns its
// stdout. A failure carries the command line and its stderr.
func runCmd(stdin []byte, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// inNetns runs f on a fresh OS thread that has joined the network namespace
// open at nsFD. Sockets created and commands started by f belong to that
// namespace. The thread returns to its original namespace afterwards; if that
// fails the thread is discarded rather than reused by the Go runtime.
func inNetns(nsFD int, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("return to original namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// worker is a goroutine locked to an OS thread that lives in one network
// namespace (the host's) and is pinned to one CPU. Everything that must
// happen in that namespace, or in a fixed order on one CPU, runs on it:
// commands (they inherit the thread's namespace), /proc/thread-self reads,
// and packet injection, so that a test packet and the sentinels after it
// land on the same per-CPU backlog in order.
type worker struct {
	reqs chan func()
	done chan struct{}
}

// startWorker starts a worker in the namespace open at nsFD.
func startWorker(nsFD int) (*worker, error) {
	w := &worker{reqs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(w.done)
		// Never unlocked: when this goroutine returns, the thread (which is
		// in a foreign namespace and pinned) is terminated.
		runtime.LockOSThread()
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("worker setns: %w", err)
			return
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err == nil {
			for cpu := 0; cpu < 1024; cpu++ {
				if set.IsSet(cpu) {
					var one unix.CPUSet
					one.Set(cpu)
					_ = unix.SchedSetaffinity(0, &one) // best effort, as in the notes
					break
				}
			}
		}
		ready <- nil
		for f := range w.reqs {
			f()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

// do runs f on the worker thread and waits for it.
func (w *worker) do(f func() error) error {
	errc := make(chan error, 1)
	w.reqs <- func() { errc <- f() }
	return <-errc
}

// run runs a command on the worker thread (in its namespace).
func (w *worker) run(stdin []byte, argv ...string) ([]byte, error) {
	var out []byte
	err := w.do(func() error {
		var err error
		out, err = runCmd(stdin, argv...)
		return err
	})
	return out, err
}

// stop ends the worker and waits for its thread to exit.
func (w *worker) stop() {
	close(w.reqs)
	<-w.done
}
