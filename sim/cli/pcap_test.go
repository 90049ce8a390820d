package cli

import (
	"bytes"
	"io"
	"testing"

	"github.com/dfw-project/dfw/sim/capture"
)

// TestPrefetchKeys: the keys the replay prefetches for the next packet
// are those its flow lookup and conntrack lookup use (else the prefetch
// only wastes time).
func TestPrefetchKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := capture.Generate(&buf, capture.GenConfig{Packets: 20000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	rd, err := capture.Open(&buf, capture.Options{Iface: "ens33"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		var cp capture.Packet
		if err := rd.Next(&cp); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ct, flow, ok := prefetchKeys(&cp)
		p := toSim(&cp, "ens33")
		k := keyOf(&p)
		if !ok {
			continue
		}
		n++
		if want, _ := fkeyOf(&k); ct != want {
			t.Fatalf("packet %d: conntrack key %+v, want %+v", cp.Num, ct, want)
		}
		ck := k.canon()
		if want, _ := fkeyOf(&ck); flow != want {
			t.Fatalf("packet %d: flow key %+v, want %+v", cp.Num, flow, want)
		}
	}
	if n < 10000 {
		t.Fatalf("only %d packets prefetched", n)
	}
}
