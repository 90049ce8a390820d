package dockerrules

import (
	"bufio"
	"fmt"
	"io"
	"sort"
)

// tableOrder is the order iptables-nft-save prints tables in.
var tableOrder = []string{"mangle", "security", "raw", "filter", "nat"}

// builtins lists each table's built-in chains in the order iptables-save
// prints them.
var builtins = map[string][]string{
	"raw":      {"PREROUTING", "OUTPUT"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

type table struct {
	policy map[string]string   // built-in chain -> policy
	user   map[string]bool     // user-defined chains
	rules  map[string][]string // chain -> rule texts after "-A CHAIN "
	used   bool
}

// Ruleset accumulates the rules of one host and prints them in canonical
// iptables-save form, as iptables-nft-save prints it (tables in the order
// mangle, security, raw, filter, nat; built-in chains, then user chains by
// name). internal/gen builds its synthetic hosts with it too.
type Ruleset struct {
	tables map[string]*table
	nrules int
}

// NewRuleset returns an empty ruleset.
func NewRuleset() *Ruleset { return &Ruleset{tables: map[string]*table{}} }

func (rs *Ruleset) table(name string) *table {
	t := rs.tables[name]
	if t == nil {
		if _, ok := builtins[name]; !ok {
			panic("dockerrules: unknown table " + name)
		}
		t = &table{policy: map[string]string{}, user: map[string]bool{}, rules: map[string][]string{}}
		for _, c := range builtins[name] {
			t.policy[c] = "ACCEPT"
		}
		rs.tables[name] = t
	}
	t.used = true
	return t
}

func isBuiltin(tbl, chain string) bool {
	for _, c := range builtins[tbl] {
		if c == chain {
			return true
		}
	}
	return false
}

// Chain declares a user chain (no-op for a built-in one).
func (rs *Ruleset) Chain(tbl, chain string) {
	t := rs.table(tbl)
	if !isBuiltin(tbl, chain) {
		t.user[chain] = true
	}
}

// Policy sets a built-in chain's policy.
func (rs *Ruleset) Policy(tbl, chain, pol string) {
	if !isBuiltin(tbl, chain) {
		panic("dockerrules: policy on user chain " + chain)
	}
	rs.table(tbl).policy[chain] = pol
}

// Append appends a rule (the text after "-A CHAIN ") to chain, declaring
// the chain when needed.
func (rs *Ruleset) Append(tbl, chain, rule string) {
	rs.Chain(tbl, chain)
	t := rs.tables[tbl]
	t.rules[chain] = append(t.rules[chain], rule)
	rs.nrules++
}

// Insert puts a rule at the top of chain (like iptables -I).
func (rs *Ruleset) Insert(tbl, chain, rule string) {
	rs.Chain(tbl, chain)
	t := rs.tables[tbl]
	t.rules[chain] = append([]string{rule}, t.rules[chain]...)
	rs.nrules++
}

// Has reports whether chain exists in tbl.
func (rs *Ruleset) Has(tbl, chain string) bool {
	t := rs.tables[tbl]
	return t != nil && (t.user[chain] || isBuiltin(tbl, chain))
}

// UserChains returns the number of user-defined chains.
func (rs *Ruleset) UserChains() int {
	n := 0
	for _, t := range rs.tables {
		n += len(t.user)
	}
	return n
}

// Rules returns the number of rules.
func (rs *Ruleset) Rules() int { return rs.nrules }

// WriteTo prints the ruleset; it returns the number of bytes written.
func (rs *Ruleset) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	for _, name := range tableOrder {
		t := rs.tables[name]
		if t == nil || !t.used {
			continue
		}
		users := make([]string, 0, len(t.user))
		for c := range t.user {
			users = append(users, c)
		}
		sort.Strings(users) // iptables-save sorts user chains by name (strcmp)
		bw.WriteString("*" + name + "\n")
		for _, c := range builtins[name] {
			fmt.Fprintf(bw, ":%s %s [0:0]\n", c, t.policy[c])
		}
		for _, c := range users {
			fmt.Fprintf(bw, ":%s - [0:0]\n", c)
		}
		for _, c := range append(append([]string{}, builtins[name]...), users...) {
			for _, r := range t.rules[c] {
				bw.WriteString("-A ")
				bw.WriteString(c)
				if r != "" {
					bw.WriteByte(' ')
					bw.WriteString(r)
				}
				bw.WriteByte('\n')
			}
		}
		bw.WriteString("COMMIT\n")
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
