package gen

import (
	"io"
	"strings"

	"github.com/dfw-project/dfw/internal/dockerrules"
)

// ruleset is the iptables-save builder the generators share with the
// Docker baselines (dockerrules.Ruleset), under the names used here.
type ruleset struct{ *dockerrules.Ruleset }

func newRuleset() *ruleset { return &ruleset{dockerrules.NewRuleset()} }

func (rs *ruleset) chain(tbl, chain string)        { rs.Chain(tbl, chain) }
func (rs *ruleset) policy(tbl, chain, pol string)  { rs.Policy(tbl, chain, pol) }
func (rs *ruleset) add(tbl, chain, rule string)    { rs.Append(tbl, chain, rule) }
func (rs *ruleset) insert(tbl, chain, rule string) { rs.Insert(tbl, chain, rule) }
func (rs *ruleset) has(tbl, chain string) bool     { return rs.Has(tbl, chain) }
func (rs *ruleset) rules() int                     { return rs.Rules() }
func (rs *ruleset) write(w io.Writer) (int64, error) {
	return rs.WriteTo(w)
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
