package cli

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dfw-project/dfw/internal/gen"
	"github.com/dfw-project/dfw/sim/capture"
)

// benchPackets is the size of the benchmark capture, as the issue sets it.
const benchPackets = 1_000_000

var (
	benchOnce sync.Once
	benchDir  string
	benchCap  string
	benchKube string
	benchErr  error
)

// benchFiles generates, once per process, the 1,000,000-frame capture of
// sim/capture's generator (seed 1, Ethernet, pcap; or DFW_BENCH_PCAP) and
// the kube-proxy ruleset of dfwgen kubeproxy -n 10000.
func benchFiles(b *testing.B) (capPath, kube string) {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "dfwsim-bench-")
		if benchErr != nil {
			return
		}
		benchCap = os.Getenv("DFW_BENCH_PCAP")
		if benchCap == "" {
			benchCap = filepath.Join(benchDir, "mixed-1m.pcap")
			if benchErr = writeFile(benchCap, func(w io.Writer) error {
				return capture.Generate(w, capture.GenConfig{Packets: benchPackets, Seed: 1})
			}); benchErr != nil {
				return
			}
		}
		benchKube = filepath.Join(benchDir, "kube.save")
		benchErr = writeFile(benchKube, func(w io.Writer) error {
			_, err := gen.WriteKubeProxy(w, gen.KubeProxyOptions{Services: 10000, Seed: 1})
			return err
		})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchCap, benchKube
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchReplay runs the whole dfwsim --pcap command (ruleset load
// included, which is small next to a million packets) and reports
// packets/s and ns/packet over the capture's frames.
func benchReplay(b *testing.B, args ...string) {
	capPath, _ := benchFiles(b)
	args = append([]string{"--pcap", capPath, "--in", "ens33", "-q"}, args...)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	frames := 0
	for b.Loop() {
		if code := Main(args, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
		frames += benchPackets
	}
	el := time.Since(start)
	b.ReportMetric(float64(frames)/el.Seconds(), "packets/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(frames), "ns/packet")
}

const (
	seedDocker = "../../testdata/seed/docker-20.10.save"
	seedConf   = "../../testdata/seed/iptables.conf"
)

// BenchmarkReplaySeed: the seed's rules merged with Docker's.
func BenchmarkReplaySeed(b *testing.B) { benchReplay(b, seedDocker, seedConf) }

// BenchmarkReplaySeedReference: the same with the reference evaluator.
func BenchmarkReplaySeedReference(b *testing.B) { benchReplay(b, "--reference", seedDocker, seedConf) }

// BenchmarkReplayKube: the kube-proxy ruleset of 10,000 services (80,048
// rules).
func BenchmarkReplayKube(b *testing.B) {
	_, kube := benchFiles(b)
	benchReplay(b, kube)
}

// BenchmarkReplayKubeReference: the same with the reference evaluator.
func BenchmarkReplayKubeReference(b *testing.B) {
	_, kube := benchFiles(b)
	benchReplay(b, "--reference", kube)
}
