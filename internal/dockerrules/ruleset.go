package gen

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
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

// ruleset accumulates the rules of one host and prints them in canonical
// iptables-save form.
type ruleset struct {
	tables map[string]*table
	nrules int
}

func newRuleset() *ruleset { return &ruleset{tables: map[string]*table{}} }

func (rs *ruleset) table(name string) *table {
	t := rs.tables[name]
	if t == nil {
		if _, ok := builtins[name]; !ok {
			panic("gen: unknown table " + name)
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

// chain declares a user chain (no-op for a built-in one).
func (rs *ruleset) chain(tbl, chain string) {
	t := rs.table(tbl)
	if !isBuiltin(tbl, chain) {
		t.user[chain] = true
	}
}

// policy sets a built-in chain's policy.
func (rs *ruleset) policy(tbl, chain, pol string) {
	if !isBuiltin(tbl, chain) {
		panic("gen: policy on user chain " + chain)
	}
	rs.table(tbl).policy[chain] = pol
}

// add appends a rule (the text after "-A CHAIN ") to chain, declaring the
// chain when needed.
func (rs *ruleset) add(tbl, chain, rule string) {
	rs.chain(tbl, chain)
	t := rs.tables[tbl]
	t.rules[chain] = append(t.rules[chain], rule)
	rs.nrules++
}

// insert puts a rule at the top of chain (like iptables -I).
func (rs *ruleset) insert(tbl, chain, rule string) {
	rs.chain(tbl, chain)
	t := rs.tables[tbl]
	t.rules[chain] = append([]string{rule}, t.rules[chain]...)
	rs.nrules++
}

func (rs *ruleset) has(tbl, chain string) bool {
	t := rs.tables[tbl]
	return t != nil && (t.user[chain] || isBuiltin(tbl, chain))
}

// rules returns the number of rules.
func (rs *ruleset) rules() int { return rs.nrules }

// write prints the ruleset; it returns the number of bytes written.
func (rs *ruleset) write(w io.Writer) (int64, error) {
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

// quote renders a string argument (comment, log prefix) the way
// iptables-save does (xtables_save_string): bare when it is non-empty and
// made of letters, digits, '_' and '-' only, else in double quotes with
// ", ' and \ escaped by a backslash.
func quote(s string) string {
	bare := s != ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// comment returns "-m comment --comment TEXT".
func comment(s string) string { return "-m comment --comment " + quote(s) }
