package dfw.graph.redundant_rule_test

import data.dfw.graph.redundant_rule

rule := {"id": "filter/X/2", "table": "filter", "chain": "X", "index": 2, "file": "f.conf", "line": 7, "column": 1}

fact := {"rule": "filter/X/2", "file": "f.conf", "line": 7, "column": 1, "table": "filter", "chain": "X", "index": 2}

test_redundant if {
	x := object.union(fact, {"covered_by": [{"file": "f.conf", "line": 9}], "depends_on_may_match": false})
	fs := redundant_rule.findings with input as {"rules": [rule], "analysis": {"redundant": [x]}}
	count(fs) == 1
	some f in fs
	f.line == 7
	f.chain == "X"
	f.rule == 2
	f.related[0].line == 9
}

test_may_match if {
	count(redundant_rule.findings) == 0 with input as {"rules": [rule], "analysis": {"redundant": [object.union(fact, {"covered_by": [], "depends_on_may_match": true})]}}
}

test_not_computed if {
	count(redundant_rule.findings) == 0 with input as {"rules": [rule], "analysis": {}}
}
