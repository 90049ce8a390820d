package dfw.graph.unreachable_rule_test

import data.dfw.graph.unreachable_rule

rule(t) := {"id": "filter/X/2", "table": "filter", "chain": "X", "index": 2, "file": "f.conf", "line": 7, "column": 1, "target": {"name": t}}

reach(reachable, dep) := {"rule": "filter/X/2", "reachable": reachable, "depends_on_may_match": dep, "covering": [{"file": "f.conf", "line": 6, "column": 1}]}

test_drop_unreachable_is_error if {
	fs := unreachable_rule.findings with input as {"rules": [rule("DROP")], "analysis": {"reachability": [reach(false, false)]}}
	some f in fs
	f.severity == "error"
	f.related[0].line == 6
}

test_accept_unreachable_is_warning if {
	fs := unreachable_rule.findings with input as {"rules": [rule("ACCEPT")], "analysis": {"reachability": [reach(false, false)]}}
	some f in fs
	f.severity == "warning"
}

test_reachable if {
	count(unreachable_rule.findings) == 0 with input as {"rules": [rule("DROP")], "analysis": {"reachability": [reach(true, false)]}}
}

test_may_match if {
	count(unreachable_rule.findings) == 0 with input as {"rules": [rule("DROP")], "analysis": {"reachability": [reach(false, true)]}}
}

test_not_computed if {
	count(unreachable_rule.findings) == 0 with input as {"rules": [rule("DROP")], "analysis": {}}
}
