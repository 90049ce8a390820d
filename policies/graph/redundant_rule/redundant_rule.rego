# METADATA
# title: a rule whose removal changes no packet's fate
# description: |
#   The rule is reachable, but every packet it decides would get the same
#   verdict without it (later rules or the policy decide the same). Consumes
#   input.analysis.redundant; silent until computed, and when the answer
#   depends on a may-match rule.
# related_resources:
#   - description: iptables(8), rule order
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW102
#   severity: info
package dfw.graph.redundant_rule

import data.dfw.lib

# The finding is built here rather than with lib.rule_finding and lib.at:
# on a deny list of 23,000 rules (9,520 of them redundant) the two calls a
# finding took half the check's time.
findings contains f if {
	some x in input.analysis.redundant
	not x.depends_on_may_match
	f := {
		"msg": "removing this rule would change no packet's fate: the rules after it (or the policy) decide the same",
		"file": x.file,
		"line": x.line,
		"column": 1,
		"table": x.table,
		"chain": x.chain,
		"rule": x.index,
		"related": [{
			"file": c.file,
			"line": c.line,
			"column": object.get(c, "column", 1),
			"message": "decides the same for every packet this rule decides",
		} |
			some c in x.covered_by
		],
		"witness": null,
	}
}
