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

# A chain whose every jump is a rule no packet reaches: no packet enters
# it; one jump packets reach is enough to use it.
unreached_jump(line) := {"rule": sprintf("filter/INPUT/%d", [line]), "position": line - 1, "reachable": false, "depends_on_may_match": false}

jump_rule(line) := {"id": sprintf("filter/INPUT/%d", [line]), "table": "filter", "chain": "INPUT", "index": line, "target": {"kind": "chain", "name": "MINE"}}

jump_ref(line) := {"id": sprintf("filter/INPUT/%d", [line]), "file": "f.conf", "line": line, "column": 1, "table": "filter", "chain": "INPUT", "rule": line}

test_entered_from_unreachable_rules_only if {
	fs := unused_chain.findings with input as {
		"chains": [chain("MINE", 2, ["INPUT"], [jump_ref(1), jump_ref(2)])],
		"rules": [jump_rule(1), jump_rule(2)],
		"analysis": {"reachability": [unreached_jump(1), unreached_jump(2)]},
	}
	count(fs) == 1
	some f in fs
	count(f.related) == 2
}

test_entered_from_a_reached_rule_too if {
	count(unused_chain.findings) == 0 with input as {
		"chains": [chain("MINE", 2, ["INPUT"], [jump_ref(1), jump_ref(2)])],
		"rules": [jump_rule(1), jump_rule(2)],
		"analysis": {"reachability": [unreached_jump(1), object.union(unreached_jump(2), {"reachable": true})]},
	}
}
