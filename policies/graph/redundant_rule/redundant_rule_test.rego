package dfw.graph.redundant_rule_test

import data.dfw.graph.redundant_rule

rule := {"id": "filter/X/2", "table": "filter", "chain": "X", "index": 2, "file": "f.conf", "line": 7, "column": 1}

test_redundant if {
	fs := redundant_rule.findings with input as {"rules": [rule], "analysis": {"redundant": [{"rule": "filter/X/2", "covered_by": [{"file": "f.conf", "line": 9}], "depends_on_may_match": false}]}}
	count(fs) == 1
}

test_may_match if {
	count(redundant_rule.findings) == 0 with input as {"rules": [rule], "analysis": {"redundant": [{"rule": "filter/X/2", "covered_by": [], "depends_on_may_match": true}]}}
}

test_not_computed if {
	count(redundant_rule.findings) == 0 with input as {"rules": [rule], "analysis": {}}
}
