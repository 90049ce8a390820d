package lint

import (
	"regexp"
	"strings"

	"github.com/dfw-project/dfw/parser"
)

// A suppression is written where the finding points:
//
//	-A INPUT -p tcp --dport 22 -m comment --comment "dfwlint:ignore DFW304 bastion host" -j ACCEPT
//	# dfwlint:ignore DFW302 loopback is filtered on purpose
//	:INPUT DROP [0:0]
//
// that is, in a -m comment of the rule, or in a "#" comment line just
// before the rule's, chain's, policy's or command's line. It names one or
// more IDs (DFW203) or names (dport-after-dnat), separated by commas or
// blanks, then the reason.
var ignoreRE = regexp.MustCompile(`dfwlint:ignore[ \t]+((?:(?:DFW[0-9]+|[a-z0-9]+(?:-[a-z0-9]+)+)(?:[ \t]*,[ \t]*|[ \t]+|$))+)`)

type supKey struct {
	file string
	line int
}

type suppressionSet map[supKey]map[string]bool

func (s suppressionSet) add(pos parser.Pos, text string) {
	for _, m := range ignoreRE.FindAllStringSubmatch(text, -1) {
		k := supKey{pos.File, pos.Line}
		if s[k] == nil {
			s[k] = map[string]bool{}
		}
		for _, id := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			s[k][id] = true
		}
	}
}

func (s suppressionSet) matches(f Finding) bool {
	ids := s[supKey{f.File, f.Line}]
	return ids[f.ID] || ids[f.Name]
}

func suppressions(l *parser.Loaded) suppressionSet {
	s := suppressionSet{}
	for _, f := range l.Files {
		for _, c := range f.Commands {
			if c.Comment != "" {
				s.add(c.Pos, c.Comment)
			}
		}
	}
	for _, t := range l.Ruleset.Tables {
		for _, c := range t.Order {
			if c.Comment != "" {
				s.add(c.Pos, c.Comment)
			}
			if c.PolicyComment != "" {
				s.add(c.PolicyPos, c.PolicyComment)
			}
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					if cm, ok := m.Spec.(*parser.CommentMatch); ok {
						s.add(r.Pos, cm.Text)
					}
				}
			}
		}
	}
	return s
}
