package exposure

import (
	"fmt"
	"testing"

	"github.com/dfw-project/dfw/sim/kernel"
)

// TestEphemeralPortRange asks the kernel the range Established takes the
// replies' destination ports from: the local ports a fresh network
// namespace (a container's, the host's) opens connections from.
func TestEphemeralPortRange(t *testing.T) {
	topo := kernel.NewForTest(t, "nft")
	out, err := topo.Exec(nil, "cat", "/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(out), &lo, &hi); err != nil {
		t.Fatalf("ip_local_port_range %q: %v", out, err)
	}
	if lo != ephemeralLo || hi != ephemeralHi {
		t.Errorf("the kernel's ip_local_port_range is %d-%d, Established takes %d-%d", lo, hi, ephemeralLo, ephemeralHi)
	}
}
