// Package agreement compares the simulator with the Linux kernel.
//
// A case is a ruleset (with optional --noflush overlays) and flows of
// packets sent through the test topology of package sim/kernel. The kernel's
// answer for each packet (disposition, the packet after NAT, the rules whose
// counters moved) is compared with the simulator's. Kernel answers are
// recorded under testdata/recorded so that the comparison also runs without
// root, against what the kernel said when the answers were recorded.
package agreement

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Case is one ruleset and the flows sent through it.
type Case struct {
	Name string `json:"name"`
	// Family is "ipv4" (the default when empty: iptables) or "ipv6"
	// (ip6tables: the ruleset is loaded with ip6tables-restore and the
	// packets are IPv6).
	Family string `json:"family,omitempty"`
	// Ruleset is a path relative to the repository root, or RulesetText
	// the ruleset itself.
	Ruleset     string   `json:"ruleset,omitempty"`
	RulesetText string   `json:"ruleset_text,omitempty"`
	Overlays    []string `json:"overlays,omitempty"`
	OverlayText string   `json:"overlay_text,omitempty"`
	Flows       []Flow   `json:"flows"`
}

// Flow is a sequence of packets sharing conntrack state.
type Flow struct {
	Name    string   `json:"name"`
	Packets []Packet `json:"packets"`
}

// Packet is one packet of a flow, in the words of the test topology.
type Packet struct {
	From      string `json:"from,omitempty"`
	Proto     string `json:"proto,omitempty"`
	Src       string `json:"src,omitempty"`
	Dst       string `json:"dst,omitempty"`
	Sport     int    `json:"sport,omitempty"`
	Dport     int    `json:"dport,omitempty"`
	Flags     string `json:"flags,omitempty"`
	ICMPType  int    `json:"icmp_type,omitempty"`
	ICMPCode  int    `json:"icmp_code,omitempty"`
	TTL       int    `json:"ttl,omitempty"`
	TOS       int    `json:"tos,omitempty"`
	ReplyTo   int    `json:"reply_to,omitempty"`
	RelatedTo int    `json:"related_to,omitempty"`
}

// Source holds the ruleset texts of a case.
type Source struct {
	Name string
	Data []byte
}

// Sources returns the base ruleset and the overlays of a case, reading
// files relative to root.
func (c *Case) Sources(root string) ([]Source, error) {
	var out []Source
	if c.RulesetText != "" {
		out = append(out, Source{Name: c.Name + ".rules", Data: []byte(c.RulesetText)})
	} else {
		d, err := os.ReadFile(filepath.Join(root, c.Ruleset))
		if err != nil {
			return nil, err
		}
		out = append(out, Source{Name: c.Ruleset, Data: d})
	}
	for _, o := range c.Overlays {
		d, err := os.ReadFile(filepath.Join(root, o))
		if err != nil {
			return nil, err
		}
		out = append(out, Source{Name: o, Data: d})
	}
	if c.OverlayText != "" {
		out = append(out, Source{Name: c.Name + ".overlay", Data: []byte(c.OverlayText)})
	}
	return out, nil
}

// LoadCases reads every *.json case file of dir; each holds {"cases":[…]}.
func LoadCases(dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Case
	seen := map[string]string{}
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Cases []*Case `json:"cases"`
		}
		if err := json.Unmarshal(d, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, c := range doc.Cases {
			if prev, dup := seen[c.Name]; dup {
				return nil, fmt.Errorf("%s: case %q already defined in %s", f, c.Name, prev)
			}
			seen[c.Name] = f
			if err := c.validate(); err != nil {
				return nil, fmt.Errorf("%s: case %q: %w", f, c.Name, err)
			}
		}
		out = append(out, doc.Cases...)
	}
	return out, nil
}

// IPv6 reports whether the case is an IPv6 (ip6tables) case.
func (c *Case) IPv6() bool { return c.Family == "ipv6" }

func (c *Case) validate() error {
	if (c.Ruleset == "") == (c.RulesetText == "") {
		return fmt.Errorf("exactly one of ruleset and ruleset_text is needed")
	}
	if c.Family != "" && c.Family != "ipv4" && c.Family != "ipv6" {
		return fmt.Errorf("family %q: want ipv4 or ipv6", c.Family)
	}
	for _, f := range c.Flows {
		for i, p := range f.Packets {
			if p.ReplyTo > i || p.RelatedTo > i {
				return fmt.Errorf("flow %q packet %d refers to a later packet", f.Name, i+1)
			}
			if p.ReplyTo == 0 && p.RelatedTo == 0 {
				if p.From == "" || p.Dst == "" {
					return fmt.Errorf("flow %q packet %d needs from and dst", f.Name, i+1)
				}
				dst, err := netip.ParseAddr(p.Dst)
				if err != nil {
					return fmt.Errorf("flow %q packet %d: %w", f.Name, i+1, err)
				}
				if dst.Is6() != c.IPv6() {
					return fmt.Errorf("flow %q packet %d: dst %s is not of the case's family", f.Name, i+1, dst)
				}
			}
		}
	}
	return nil
}

// RepoRoot finds the directory holding go.mod above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Answer is what happened to one packet, in terms both the kernel and the
// simulator can give.
type Answer struct {
	Disposition string `json:"disposition"`
	DroppedIn   string `json:"dropped_in,omitempty"`
	RejectWith  string `json:"reject_with,omitempty"`
	// Seen is the packet after NAT, "proto src:sport > dst:dport" (ports
	// for tcp and udp only); empty for a dropped packet.
	Seen string `json:"seen,omitempty"`
	// Out is the egress interface of a packet that left the host.
	Out string `json:"out,omitempty"`
	// Hits are "table:CHAIN#N" (N 0 for the policy), sorted, with
	// repetition for a rule counted twice.
	Hits []string `json:"hits"`

	arrived bool // set by the kernel run: the packet reached a namespace
}

// Diff describes how two answers differ, or returns "".
func (a Answer) Diff(b Answer) string {
	var d []string
	if a.Disposition != b.Disposition {
		d = append(d, fmt.Sprintf("disposition %s vs %s", a.Disposition, b.Disposition))
	}
	if a.DroppedIn != b.DroppedIn {
		d = append(d, fmt.Sprintf("dropped in %q vs %q", a.DroppedIn, b.DroppedIn))
	}
	if a.RejectWith != b.RejectWith {
		d = append(d, fmt.Sprintf("reject-with %q vs %q", a.RejectWith, b.RejectWith))
	}
	if a.Seen != b.Seen && a.Seen != "" && b.Seen != "" {
		d = append(d, fmt.Sprintf("seen %q vs %q", a.Seen, b.Seen))
	}
	if a.Out != b.Out && a.Out != "" && b.Out != "" {
		d = append(d, fmt.Sprintf("out %q vs %q", a.Out, b.Out))
	}
	if strings.Join(a.Hits, " ") != strings.Join(b.Hits, " ") {
		d = append(d, fmt.Sprintf("hits [%s] vs [%s]", strings.Join(a.Hits, " "), strings.Join(b.Hits, " ")))
	}
	return strings.Join(d, "; ")
}

// SortHits sorts hit names so that answers compare as multisets.
func SortHits(h []string) []string {
	sort.Strings(h)
	if h == nil {
		h = []string{}
	}
	return h
}

func mustJSON(c *Case) string {
	d, err := json.MarshalIndent(struct {
		Cases []*Case `json:"cases"`
	}{[]*Case{c}}, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(d)
}
