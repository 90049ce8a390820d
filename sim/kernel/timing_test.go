package kernel

import (
	"testing"
	"time"
)

// TestTimings measures the harness on a Docker-sized ruleset and fails only
// when far off its targets (20 ms per packet, 100 ms per case set-up).
func TestTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("timings in -short mode")
	}
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			Require(t)
			start := time.Now()
			topo, err := New(Options{Backend: be})
			if err != nil {
				t.Fatal(err)
			}
			build := time.Since(start)
			defer func() {
				start := time.Now()
				if err := topo.Close(); err != nil {
					t.Error(err)
				}
				t.Logf("%s: close %v", be, time.Since(start).Round(time.Millisecond))
			}()

			const cases = 10
			start = time.Now()
			for range cases {
				load(t, topo, dockerRules)
			}
			setup := time.Since(start) / cases

			const packets = 100
			start = time.Now()
			for i := range packets {
				o := send(t, topo, Packet{From: Ext, Dst: addr("203.0.113.10"), Sport: uint16(30000 + i), Dport: 8080})
				if o.Disposition != Forwarded {
					t.Fatalf("packet %d: %s", i, o.Disposition)
				}
			}
			perPacket := time.Since(start) / packets

			start = time.Now()
			var flowPkts []Packet
			flowPkts = append(flowPkts, Packet{From: Ext, Dst: addr("203.0.113.10"), Dport: 8080}, Packet{ReplyTo: 1})
			for range 48 {
				flowPkts = append(flowPkts, Packet{ReplyTo: 2, Flags: "PA"})
			}
			obs := flow(t, topo, flowPkts...)
			inFlow := time.Since(start) / time.Duration(len(obs))
			for i, o := range obs {
				if o.Disposition != Forwarded {
					t.Fatalf("flow packet %d: %s", i+1, o.Disposition)
				}
			}
			t.Logf("%s: build %v, case set-up (Reset+Load docker) %v, packet (own flow) %v, packet (in a 50-packet flow) %v",
				be, build.Round(time.Millisecond), setup.Round(100*time.Microsecond),
				perPacket.Round(100*time.Microsecond), inFlow.Round(100*time.Microsecond))
			if perPacket > 80*time.Millisecond || setup > 400*time.Millisecond {
				t.Errorf("far slower than the targets (20 ms/packet, 100 ms/case)")
			}
		})
	}
}
