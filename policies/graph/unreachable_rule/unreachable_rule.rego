# METADATA
# title: a rule no packet can reach
# description: |
#   Every packet that could match this rule was already taken by earlier
#   rules (the covering rules, in related). Consumes the reachability facts
#   of the exact analysis (input.analysis.reachability); silent until they
#   are computed. A rule whose unreachability depends on a may-match rule is
#   left to DFW104, never reported here. Severity error for a DROP or REJECT
#   (the protection it was meant to give is not there), else warning.
# related_resources:
#   - description: iptables(8), rule order
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW101
#   severity: warning
package dfw.graph.unreachable_rule

import data.dfw.lib

findings contains f if {
	some x in lib.unreachable_facts
	not x.depends_on_may_match
	r := lib.fact_rule(x)
	related := [lib.at(c, "every packet that reaches it matched this rule first") | some c in x.covering]
	f := object.union(
		lib.rule_finding(r, 1, sprintf("no packet can reach this rule: earlier rules take every packet it could match (%d covering rule(s))", [count(x.covering)]), related, null),
		{"severity": severity(r)},
	)
}

severity(r) := "error" if r.target.name in {"DROP", "REJECT"}

severity(r) := "warning" if not r.target.name in {"DROP", "REJECT"}
