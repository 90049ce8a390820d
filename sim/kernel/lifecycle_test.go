package kernel

import (
	"bufio"
	"errors"
	"maps"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nsWithPrefix lists the existing namespaces whose name starts with prefix.
func nsWithPrefix(t *testing.T, prefix string) []string {
	t.Helper()
	m, err := listNetns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := range m {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// callerState is what the harness must never change in the caller's
// namespace: forwarding and the nftables ruleset.
func callerState(t *testing.T) string {
	t.Helper()
	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := exec.Command("nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, tables)
	}
	return "ip_forward=" + strings.TrimSpace(string(fwd)) + "\n" + string(tables)
}

func TestCloseDeletesNamespaces(t *testing.T) {
	Require(t)
	caller := callerState(t)
	topo, err := New(Options{Prefix: "dfwkclose-", Backend: "legacy"})
	if err != nil {
		t.Fatal(err)
	}
	if got := callerState(t); got != caller {
		t.Errorf("caller's namespace changed by New:\n%s\nwas\n%s", got, caller)
	}
	if got := nsWithPrefix(t, "dfwkclose-"); len(got) != 6 {
		t.Errorf("namespaces after New: %v, want 6", got)
	}
	// A second topology with the same prefix must be refused, not clobber.
	if _, err := New(Options{Prefix: "dfwkclose-"}); err == nil {
		t.Error("New with a prefix in use succeeded")
	}
	if err := topo.Close(); err != nil {
		t.Fatal(err)
	}
	if err := topo.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := nsWithPrefix(t, "dfwkclose-"); len(got) != 0 {
		t.Errorf("namespaces left after Close: %v", got)
	}
	if _, err := topo.Send(Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80}); err == nil {
		t.Error("Send on a closed topology succeeded")
	}
}

func TestNewForTestCleanup(t *testing.T) {
	var prefix string
	t.Run("inner", func(t *testing.T) {
		topo := NewForTest(t, "nft")
		prefix = topo.Prefix()
		if !strings.HasPrefix(prefix, "dfwk") {
			t.Errorf("default prefix %q", prefix)
		}
	})
	if prefix == "" {
		t.Skip("inner test skipped")
	}
	if got := nsWithPrefix(t, prefix); len(got) != 0 {
		t.Errorf("namespaces left after the test: %v", got)
	}
}

// TestSignalHelper is not a test: run by TestSignalCleanup in a child
// process, it builds a topology, prints its prefix and waits to be killed.
func TestSignalHelper(t *testing.T) {
	if os.Getenv("DFW_KERNEL_SIGNAL_HELPER") != "1" {
		t.Skip("helper for TestSignalCleanup")
	}
	topo, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("PREFIX " + topo.Prefix() + "\n")
	time.Sleep(time.Minute)
}

// startHelper runs TestSignalHelper in a child and returns its prefix.
func startHelper(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DFW_KERNEL_SIGNAL_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PREFIX "); ok {
			go func() { // keep draining
				for sc.Scan() {
				}
			}()
			return cmd, p
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	t.Fatal("helper did not report a prefix")
	return nil, ""
}

func TestSignalCleanup(t *testing.T) {
	Require(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, prefix := startHelper(t)
			if got := nsWithPrefix(t, prefix); len(got) != 6 {
				t.Errorf("helper namespaces: %v", got)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper exit: %v", err)
			}
			if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("helper ended with %v, want death by %v", ee, sig)
			}
			if got := nsWithPrefix(t, prefix); len(got) != 0 {
				t.Errorf("namespaces left after %v: %v", sig, got)
			}
		})
	}
	// SIGKILL cannot be handled: the next New reaps what a dead process left.
	t.Run("SIGKILL", func(t *testing.T) {
		cmd, prefix := startHelper(t)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if got := nsWithPrefix(t, prefix); len(got) != 6 {
			t.Fatalf("expected the killed helper's namespaces to remain, got %v", got)
		}
		topo := NewForTest(t, "nft")
		_ = topo
		if got := nsWithPrefix(t, prefix); len(got) != 0 {
			t.Errorf("stale namespaces not reaped by New: %v", got)
		}
	})
}

func TestObserverLeavesConntrackOff(t *testing.T) {
	// With no rules that need it, conntrack stays inactive: the observer
	// table has no ct expressions.
	topo := shared(t, "nft")
	load(t, topo, emptyAccept)
	send(t, topo, Packet{From: Ext, Dst: addr("172.17.0.2"), Dport: 80})
	out, err := topo.Exec(nil, "conntrack", "-L")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("conntrack entries with an empty ruleset:\n%s", out)
	}
}

// TestParallelTopologies runs two topologies at once: distinct prefixes,
// no cross-talk between their observers.
func TestParallelTopologies(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			topo := NewForTest(t, be)
			load(t, topo, dockerRules)
			for i := range 20 {
				o := send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Sport: uint16(20000 + i), Dport: 8080})
				wantDisp(t, "published", o, Forwarded, C1)
				wantHits(t, "published", o, dockerPublishedSYN...)
			}
		})
	}
}

// TestCounterCache: the counters cached after a packet are still exact
// when the next packet starts (nothing else moves them, not even the host
// stack's suppressed answers).
func TestCounterCache(t *testing.T) {
	forBackends(t, rejectRules, func(t *testing.T, topo *Topology) {
		for _, p := range []Packet{
			{From: Ext, Dst: addr("203.0.113.10"), Dport: 22},   // host stack answers RST
			{From: Ext, Dst: addr("203.0.113.10"), Dport: 2500}, // REJECT tcp-reset
			{From: Ext, Proto: "icmp", Dst: addr("203.0.113.10")},
			{From: C1, Dst: addr("172.17.0.3"), Dport: 25},
			{From: Ext, Dst: addr("172.17.0.2"), Dport: 80, TTL: 1},
		} {
			send(t, topo, p)
			cached, err := parseCounters(topo.lastSave)
			if err != nil {
				t.Fatal(err)
			}
			dump, err := topo.Save()
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := parseCounters(dump)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(cached, fresh) {
				t.Errorf("after %+v counters moved after the packet was done", p)
			}
		}
	})
}
