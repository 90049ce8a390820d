package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader reads arbitrary bytes as a capture: it must never panic, and
// when it reaches the end every frame must be accounted for.
func FuzzReader(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.pcap*"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), Options{FragMaxPending: 4})
		if err != nil {
			return
		}
		var p Packet
		for range 10000 {
			err := r.Next(&p)
			if err == io.EOF {
				s := r.Stats()
				if s.Frames != s.Delivered+s.Merged+s.TotalSkipped() {
					t.Fatalf("frames %d != delivered %d + merged %d + skipped %d", s.Frames, s.Delivered, s.Merged, s.TotalSkipped())
				}
				return
			}
			if err != nil {
				return
			}
			if p.Family != 4 && p.Family != 6 {
				t.Fatalf("family %d", p.Family)
			}
		}
	})
}
