package agreement

import "strings"

// Shrink makes a failing case smaller while fails keeps reporting a
// disagreement: it keeps only the first failing flow, drops trailing
// packets, then removes rule lines one at a time (repeating until nothing
// more can go). fails must be deterministic.
func Shrink(c *Case, fails func(*Case) bool) *Case {
	cur := *c
	// One flow is enough.
	for i := range cur.Flows {
		try := cur
		try.Flows = []Flow{cur.Flows[i]}
		if fails(&try) {
			cur = try
			break
		}
	}
	// Fewer packets: keep a prefix.
	if len(cur.Flows) == 1 {
		f := cur.Flows[0]
		for n := 1; n < len(f.Packets); n++ {
			try := cur
			try.Flows = []Flow{{Name: f.Name, Packets: f.Packets[:n]}}
			if fails(&try) {
				cur = try
				break
			}
		}
	}
	// Fewer rules.
	if cur.RulesetText != "" {
		for changed := true; changed; {
			changed = false
			lines := strings.Split(cur.RulesetText, "\n")
			for i := 0; i < len(lines); i++ {
				if !strings.HasPrefix(lines[i], "-A ") {
					continue
				}
				try := cur
				rest := append(append([]string{}, lines[:i]...), lines[i+1:]...)
				try.RulesetText = strings.Join(rest, "\n")
				if fails(&try) {
					cur = try
					lines = rest
					i--
					changed = true
				}
			}
		}
	}
	return &cur
}
