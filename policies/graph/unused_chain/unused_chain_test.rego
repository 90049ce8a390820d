package dfw.graph.unused_chain_test

import data.dfw.graph.unused_chain

chain(name, rules, hooks, refs) := {
	"id": concat("/", ["filter", name]), "table": "filter", "name": name, "builtin": false,
	"file": "f.conf", "line": 2, "column": 1, "rules": rules, "hooks": hooks, "referenced_by": refs,
}

test_unreferenced if {
	fs := unused_chain.findings with input as {"chains": [chain("MINE", 2, [], [])]}
	count(fs) == 1
}

test_referenced_from_dead_chain if {
	ref := {"file": "f.conf", "line": 9, "column": 1, "table": "filter", "chain": "DEAD", "rule": 1}
	fs := unused_chain.findings with input as {"chains": [chain("MINE", 2, [], [ref])]}
	some f in fs
	f.related[0].line == 9
}

test_used if {
	count(unused_chain.findings) == 0 with input as {"chains": [chain("MINE", 2, ["INPUT"], [{"line": 3}])]}
}

test_empty_placeholder if {
	count(unused_chain.findings) == 0 with input as {"chains": [chain("MINE", 0, [], [])]}
}

test_docker_user_alone if {
	count(unused_chain.findings) == 0 with input as {"chains": [chain("DOCKER-USER", 3, [], [])]}
}
