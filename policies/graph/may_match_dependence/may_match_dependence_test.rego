package dfw.graph.may_match_dependence_test

import data.dfw.graph.may_match_dependence

rule(target, m) := {
	"id": "filter/INPUT/1", "table": "filter", "chain": "INPUT", "index": 1, "file": "f.conf", "line": 4, "column": 1,
	"hooks": ["INPUT"], "matches": [m], "target": target, "may_match": m.may_match,
}

set_match := {"name": "set", "column": 20, "may_match": true, "unknown": false}

test_set_drop if {
	fs := may_match_dependence.findings with input as {"rules": [rule({"kind": "verdict", "name": "DROP"}, set_match)], "analysis": {}}
	some f in fs
	f.column == 20
	contains(f.msg, "ipset")
}

test_limit_log_decides_nothing if {
	m := {"name": "limit", "column": 20, "may_match": true, "unknown": false}
	r := rule({"kind": "extension", "name": "LOG", "terminal": false}, m)
	count(may_match_dependence.findings) == 0 with input as {"rules": [r], "analysis": {}}
}

test_unknown_is_dfw901 if {
	m := {"name": "foo", "column": 20, "may_match": true, "unknown": true}
	count(may_match_dependence.findings) == 0 with input as {"rules": [rule({"kind": "verdict", "name": "DROP"}, m)], "analysis": {}}
}

test_from_reachability if {
	r := rule({"kind": "verdict", "name": "ACCEPT"}, {"name": "tcp", "may_match": false})
	x := {"rule": "filter/INPUT/1", "reachable": true, "depends_on_may_match": true, "may_match": [{"file": "f.conf", "line": 3, "column": 1}]}
	fs := may_match_dependence.findings_reach with input as {"rules": [r], "analysis": {"reachability": [x]}}
	some f in fs
	f.related[0].line == 3
}

stat_match := {"name": "statistic", "column": 30, "may_match": true, "unknown": false}

test_load_balancing_rule_not_reported if {
	r := object.union(rule({"kind": "chain", "name": "KUBE-SEP-A"}, stat_match), {"load_balancing": true})
	count(may_match_dependence.findings) == 0 with input as {"rules": [r], "analysis": {}}
}

test_random_drop_reported if {
	r := object.union(rule({"kind": "verdict", "name": "DROP"}, stat_match), {"load_balancing": false})
	some f in may_match_dependence.findings with input as {"rules": [r], "analysis": {}}
	f.column == 30
}

test_reach_through_load_balancing_not_reported if {
	r := rule({"kind": "chain", "name": "KUBE-SEP-B"}, {"name": "comment", "may_match": false})
	x := {
		"rule": "filter/INPUT/1", "reachable": true, "depends_on_may_match": true, "may_match_load_balancing": true,
		"may_match": [{"file": "f.conf", "line": 3, "column": 1}],
	}
	count(may_match_dependence.findings_reach) == 0 with input as {"rules": [r], "analysis": {"reachability": [x]}}
}
