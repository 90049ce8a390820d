// Command pcaptool generates captures and times reading them, for
// scripts/bench-pcap.sh:
//
//	pcaptool gen [-n N] [-seed S] [-link eth|sll|sll2|raw] [-format pcap|pcapng] -o FILE
//	pcaptool bare FILE   # the bare pcapgo + DecodingLayerParser loop
//	pcaptool read FILE   # capture.Reader
//
// bare and read print "frames N seconds S packets/s R" on one line.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dfw-project/dfw/sim/capture"
	"github.com/dfw-project/dfw/sim/capture/internal/bare"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "bare", "read":
		if len(os.Args) != 3 {
			usage()
		}
		err = timeRead(os.Args[1], os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcaptool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pcaptool gen [-n N] [-seed S] [-link eth|sll|sll2|raw] [-format pcap|pcapng] -o FILE\n       pcaptool bare|read FILE")
	os.Exit(2)
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "frames")
	seed := fs.Uint64("seed", 1, "seed")
	link := fs.String("link", "eth", "link type: eth, sll, sll2, raw")
	format := fs.String("format", "pcap", "pcap or pcapng")
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	if *out == "" {
		usage()
	}
	cfg := capture.GenConfig{Packets: *n, Seed: *seed}
	switch *link {
	case "eth":
		cfg.LinkType = capture.LinkEthernet
	case "sll":
		cfg.LinkType = capture.LinkSLL
	case "sll2":
		cfg.LinkType = capture.LinkSLL2
	case "raw":
		cfg.LinkType = capture.LinkRaw
	default:
		return fmt.Errorf("unknown link type %q", *link)
	}
	switch *format {
	case "pcap":
	case "pcapng":
		cfg.Format = capture.Pcapng
	default:
		return fmt.Errorf("unknown format %q", *format)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := capture.Generate(w, cfg); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func timeRead(mode, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	var frames int
	if mode == "bare" {
		frames, _, err = bare.Decode(f)
		if err != nil {
			return err
		}
	} else {
		r, err := capture.Open(f, capture.Options{})
		if err != nil {
			return err
		}
		var p capture.Packet
		for {
			if err := r.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
		}
		frames = int(r.Stats().Frames)
	}
	el := time.Since(start).Seconds()
	fmt.Printf("frames %d seconds %.3f packets/s %.0f\n", frames, el, float64(frames)/el)
	return nil
}
