# METADATA
# title: a match or target dfw does not know
# description: |
#   dfw keeps a module it does not know as written and takes its outcome as
#   unknown ("may match" for a match, an unknown effect for a target): the
#   analyses stay sound but less precise around that rule.
#
#   Reported at the module's -m (or the target's -j) of every rule that has
#   one.
# related_resources:
#   - description: iptables-extensions(8)
#     ref: https://ipset.netfilter.org/iptables-extensions.man.html
# custom:
#   id: DFW901
#   severity: info
package dfw.meta.unknown_match

import data.dfw.lib

findings contains f if {
	some r in lib.may_match_rules # an unknown match may match
	some m in r.matches
	m.unknown
	f := lib.rule_finding(r, m.column, sprintf("dfw does not know -m %s: it is kept as written and its outcome taken as unknown (both outcomes are analysed)", [m.name]), [], null)
}

findings contains f if {
	some r in lib.unknown_target_rules
	f := lib.rule_finding(r, r.target.column, sprintf("dfw does not know target %s: it is kept as written and its effect taken as unknown", [r.target.name]), [], null)
}
