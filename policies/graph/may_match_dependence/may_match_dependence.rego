# METADATA
# title: a verdict depends on a match that cannot be known offline
# description: |
#   Some matches depend on what no ruleset holds: the contents of an ipset
#   (-m set), rates and counters (limit, hashlimit, recent, connlimit,
#   statistic, quota), the time of day (time), the payload (string, u32).
#   dfw's analyses take both outcomes of such a "may match" rule, so they
#   stay sound, and a finding that depends on one says so.
#
#   Reported at the may-match module of a rule that decides something (a
#   verdict, a terminal extension such as REJECT or DNAT, or a jump) in a
#   chain some built-in chain reaches; with the reachability facts, also at
#   every rule whose reachability depends on such a match (related: the
#   may-match rules). Not reported: modules dfw does not know (DFW901 says
#   so), rules whose target changes no verdict (LOG, NFLOG, MARK…), and
#   load-balancing groups: rules of a chain that match the same packets,
#   all but the last with -m statistic, and send them to user chains or
#   NAT them, as kube-proxy's KUBE-SVC chains do, one rule per endpoint.
#   Every packet takes one of them; which one is chance, by design. A
#   random DROP, or statistic rules with no rule after them that takes
#   what they leave, are still reported.
# related_resources:
#   - description: iptables-extensions(8)
#     ref: https://ipset.netfilter.org/iptables-extensions.man.html
# custom:
#   id: DFW104
#   severity: info
package dfw.graph.may_match_dependence

import data.dfw.lib

findings contains f if {
	some r in lib.deciding_may_match_rules # few rules have one
	some m in r.matches
	m.may_match
	not m.unknown
	count(r.hooks) > 0
	decides(r.target)
	f := lib.rule_finding(
		r, m.column, sprintf(
			"-m %s cannot be evaluated offline (it depends on %s): dfw takes both outcomes of this rule, and says so where a finding depends on it",
			[m.name, depends_on(m.name)],
		),
		[], null,
	)
}

# The findings at the rules whose reachability depends on a may-match
# rule outside load-balancing groups: a part of its own (evaluated beside findings, on another CPU; a
# kube-proxy host has thousands of each).
findings_reach contains f if {
	some x in lib.deciding_may_match_facts
	r := lib.fact_rule(x)
	related := [lib.at(m, "this rule's outcome cannot be known offline") | some m in x.may_match]
	f := lib.rule_finding(r, 1, sprintf("whether this rule is reached depends on a match that cannot be known offline (%d rule(s) before it)", [count(x.may_match)]), related, null)
}

decides(t) if t.kind in {"verdict", "chain"}

decides(t) if {
	t.kind == "extension"
	t.terminal
}

depends_on(name) := "the contents of an ipset" if name == "set"

depends_on(name) := "rates or counters" if name in {"limit", "hashlimit", "recent", "connlimit", "statistic", "quota", "connbytes"}

depends_on(name) := "the time of day" if name == "time"

depends_on(name) := "the payload" if name in {"string", "u32", "bpf"}

depends_on(name) := "state outside the ruleset" if {
	not name in {"set", "limit", "hashlimit", "recent", "connlimit", "statistic", "quota", "connbytes", "time", "string", "u32", "bpf"}
}
