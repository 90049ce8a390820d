package kernel

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Hit is a rule, or a built-in chain's policy, whose packet counter moved.
type Hit struct {
	Table string
	Chain string
	// Rule is the 1-based index of the rule in its chain as iptables-save
	// lists it; 0 is the chain's policy.
	Rule int
	// Count is by how many packets the counter moved.
	Count int
}

// String renders h as "table:CHAIN#rule" ("#policy" for Rule 0), with "×n"
// when Count is not 1.
func (h Hit) String() string {
	r := strconv.Itoa(h.Rule)
	if h.Rule == 0 {
		r = "policy"
	}
	s := h.Table + ":" + h.Chain + "#" + r
	if h.Count != 1 {
		s += fmt.Sprintf("×%d", h.Count)
	}
	return s
}

type counterKey struct {
	table, chain string
	rule         int
}

// parseCounters reads `iptables-save -c` (or ip6tables-save -c) output
// into packet counters per rule (1-based within its chain) and per
// built-in chain policy (rule 0). Its errors name the line; the caller
// names the tool.
func parseCounters(dump []byte) (map[counterKey]uint64, error) {
	out := map[counterKey]uint64{}
	next := map[[2]string]int{} // (table, chain) -> rules seen so far
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(dump))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line == "COMMIT":
		case line[0] == '*':
			table = strings.TrimSpace(line[1:])
		case line[0] == ':':
			// ":CHAIN POLICY [p:b]"; user chains have policy "-".
			f := strings.Fields(line[1:])
			if len(f) < 2 || f[1] == "-" {
				continue
			}
			if len(f) < 3 {
				return nil, fmt.Errorf("line %d: policy without counters: %q", ln, line)
			}
			p, err := packetCount(f[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", ln, err)
			}
			out[counterKey{table, f[0], 0}] = p
		default:
			var p uint64
			if line[0] == '[' {
				end := strings.IndexByte(line, ']')
				if end < 0 {
					return nil, fmt.Errorf("line %d: unterminated counters: %q", ln, line)
				}
				var err error
				if p, err = packetCount(line[:end+1]); err != nil {
					return nil, fmt.Errorf("line %d: %w", ln, err)
				}
				line = strings.TrimSpace(line[end+1:])
			}
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "-A" {
				return nil, fmt.Errorf("line %d: unexpected %q", ln, line)
			}
			k := [2]string{table, f[1]}
			next[k]++
			out[counterKey{table, f[1], next[k]}] = p
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading it: %w", err)
	}
	return out, nil
}

// packetCount parses the packet half of "[p:b]".
func packetCount(s string) (uint64, error) {
	if len(s) < 5 || s[0] != '[' || s[len(s)-1] != ']' {
		return 0, fmt.Errorf("bad counters %q", s)
	}
	p, _, ok := strings.Cut(s[1:len(s)-1], ":")
	if !ok {
		return 0, fmt.Errorf("bad counters %q", s)
	}
	n, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad counters %q: %w", s, err)
	}
	return n, nil
}

// counterDeltas returns the hits between two dumps of the same ruleset,
// ordered by table, chain and rule.
func counterDeltas(before, after []byte) ([]Hit, error) {
	b, err := parseCounters(before)
	if err != nil {
		return nil, err
	}
	a, err := parseCounters(after)
	if err != nil {
		return nil, err
	}
	var hits []Hit
	for k, n := range a {
		if old := b[k]; n > old {
			hits = append(hits, Hit{Table: k.table, Chain: k.chain, Rule: k.rule, Count: int(n - old)})
		}
	}
	slices.SortFunc(hits, func(x, y Hit) int {
		return cmp.Or(cmp.Compare(x.Table, y.Table), cmp.Compare(x.Chain, y.Chain), cmp.Compare(x.Rule, y.Rule))
	})
	return hits, nil
}
