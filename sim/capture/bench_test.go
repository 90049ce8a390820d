package capture

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dfw-project/dfw/sim/capture/internal/bare"
)

// benchPackets is the size of the benchmark capture, as the issue sets it.
const benchPackets = 1_000_000

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
	benchDir  string
)

// benchCapture returns the path of a generated capture of 1,000,000 frames
// of mixed flows (Ethernet, pcap), made once per process in a temporary
// directory — or the file named by DFW_BENCH_PCAP (scripts/bench-pcap.sh).
func benchCapture(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		if p := os.Getenv("DFW_BENCH_PCAP"); p != "" {
			benchPath = p
			return
		}
		benchDir, benchErr = os.MkdirTemp("", "dfw-capture-bench-")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "mixed-1m.pcap")
		f, err := os.Create(benchPath)
		if err != nil {
			benchErr = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if benchErr = Generate(w, GenConfig{Packets: benchPackets, Seed: 1}); benchErr == nil {
			benchErr = w.Flush()
		}
		if err := f.Close(); benchErr == nil {
			benchErr = err
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func reportRate(b *testing.B, frames int, start time.Time) {
	el := time.Since(start)
	b.ReportMetric(float64(frames)/el.Seconds(), "packets/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(frames), "ns/packet")
}

// BenchmarkBareDecode is the baseline of the issue: pcapgo and a
// DecodingLayerParser over Ethernet/IPv4/TCP/UDP/ICMP, nothing else. One
// op is one pass over the capture.
func BenchmarkBareDecode(b *testing.B) {
	path := benchCapture(b)
	frames := 0
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := bare.Decode(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		frames += n
	}
	reportRate(b, frames, start)
}

// BenchmarkReader is Reader.Next over the same capture.
func BenchmarkReader(b *testing.B) {
	path := benchCapture(b)
	frames := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Open(f, Options{Iface: "ens33"})
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		for {
			if err := r.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		frames += int(r.Stats().Frames)
	}
	reportRate(b, frames, start)
}
