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

findings contains f if {
	some x in input.analysis.redundant
	not x.depends_on_may_match
	related := [lib.at(c, "decides the same for every packet this rule decides") | some c in x.covered_by]
	f := lib.rule_finding(x, 1, "removing this rule would change no packet's fate: the rules after it (or the policy) decide the same", related, null)
}
