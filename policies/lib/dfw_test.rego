package dfw.lib_test

import data.dfw.lib

rules := [
	{"id": "filter/INPUT/1", "table": "filter"},
	{"id": "nat/PREROUTING/1", "table": "nat"},
	{"id": "nat/DOCKER/1", "table": "nat"},
]

indexed := {"rules": rules, "tables": [
	{"name": "filter", "first_rule": 0, "rules": 1},
	{"name": "nat", "first_rule": 1, "rules": 2},
]}

test_table_rules_by_slice if {
	lib.table_rules("nat") == [rules[1], rules[2]] with input as indexed
	lib.filter_rules == [rules[0]] with input as indexed
	lib.table_rules("mangle") == [] with input as indexed
}

# The slice is taken as the tables say: a table's rules are found without
# reading the others (here, a wrong table field is not looked at).
test_table_rules_reads_the_slice_only if {
	lib.filter_rules == [{"id": "filter/INPUT/1", "table": "nat"}] with input as {
		"rules": [{"id": "filter/INPUT/1", "table": "nat"}],
		"tables": [{"name": "filter", "first_rule": 0, "rules": 1}],
	}
}

test_table_rules_without_index if {
	lib.table_rules("nat") == [rules[1], rules[2]] with input as {"rules": rules}
	lib.filter_rules == [rules[0]] with input as {"rules": rules, "tables": [{"name": "filter"}]}
}

test_fact_rule_by_position if {
	lib.fact_rule({"rule": "nat/DOCKER/1", "position": 2}) == rules[2] with input as indexed
}

test_fact_rule_by_id if {
	# No position, or one that names another rule: found by id.
	lib.fact_rule({"rule": "nat/DOCKER/1"}) == rules[2] with input as indexed
	lib.fact_rule({"rule": "nat/DOCKER/1", "position": 0}) == rules[2] with input as indexed
	lib.fact_rule({"rule": "nat/DOCKER/1", "position": 9}) == rules[2] with input as indexed
}

test_fact_rule_unknown if {
	not lib.fact_rule({"rule": "nat/X/1", "position": 1}) with input as indexed
}

# A document whose rules are served (dfwlint check's built-in checks
# alone): the rules come from the dfw.input_* functions, mocked here, and
# input.rules, were it there, is not read.
served := {"rules_served": true, "rules": [{"id": "not/READ/1"}], "tables": indexed.tables}

mock_table_rules(name) := [r | some r in rules; r.table == name]

mock_rule(i) := rules[i]

mock_rule_by_id(id) := r if {
	some r in rules
	r.id == id
}

mock_rules_where(field) := [rules[1]] if field == "may_match"

mock_rules_where(field) := [rules[2]] if field == "target.unknown"

test_served_table_rules if {
	lib.table_rules("nat") == [rules[1], rules[2]] with input as served with dfw.input_table_rules as mock_table_rules
	lib.filter_rules == [rules[0]] with input as served with dfw.input_table_rules as mock_table_rules
}

test_served_fact_rule if {
	lib.fact_rule({"rule": "nat/DOCKER/1", "position": 2}) == rules[2] with input as served with dfw.input_rule as mock_rule

	# A position that names another rule finds nothing (positions are
	# always given with served rules).
	not lib.fact_rule({"rule": "nat/DOCKER/1", "position": 0}) with input as served with dfw.input_rule as mock_rule
}

test_served_rule_by_id if {
	lib.rule_by_id("nat/PREROUTING/1") == rules[1] with input as served with dfw.input_rule_by_id as mock_rule_by_id
	lib.rule_by_id("nat/PREROUTING/1") == rules[1] with input as indexed
	not lib.rule_by_id("nat/X/1") with input as indexed
}

test_served_rules_where if {
	lib.may_match_rules == [rules[1]] with input as served with dfw.input_rules_where as mock_rules_where
	lib.unknown_target_rules == [rules[2]] with input as served with dfw.input_rules_where as mock_rules_where
	lib.may_match_rules == [{"id": "a", "may_match": true}] with input as {"rules": [{"id": "a", "may_match": true}, {"id": "b", "may_match": false}]}
	lib.unknown_target_rules == [{"id": "b", "target": {"unknown": true}}] with input as {"rules": [{"id": "a", "target": {"unknown": false}}, {"id": "b", "target": {"unknown": true}}]}
}

mock_reachability_where(field) := [{"rule": "a", "reachable": false}] if field == "unreachable"

mock_reachability_where(field) := [{"rule": "b", "depends_on_may_match": true}] if field == "depends_on_may_match"

reachability := [
	{"rule": "a", "reachable": false, "depends_on_may_match": false},
	{"rule": "b", "reachable": true, "depends_on_may_match": true},
	{"rule": "c", "reachable": true, "depends_on_may_match": false},
]

test_reachability_facts if {
	lib.unreachable_facts == [reachability[0]] with input as {"analysis": {"reachability": reachability}}
	lib.may_match_dependent_facts == [reachability[1]] with input as {"analysis": {"reachability": reachability}}
	lib.unreachable_facts == [] with input as {"analysis": {}}
	lib.unreachable_facts == [{"rule": "a", "reachable": false}] with input as served with dfw.input_reachability_where as mock_reachability_where
	lib.may_match_dependent_facts == [{"rule": "b", "depends_on_may_match": true}] with input as served with dfw.input_reachability_where as mock_reachability_where
}

# The chains and commands, in the document and served.
doc_chains := [
	{"id": "filter/INPUT", "table": "filter", "name": "INPUT", "hooks": ["INPUT"], "docker_owned": false},
	{"id": "filter/DOCKER", "table": "filter", "name": "DOCKER", "hooks": ["FORWARD"], "docker_owned": true},
	{"id": "filter/OLD", "table": "filter", "name": "OLD", "hooks": [], "docker_owned": false},
	{"id": "nat/DOCKER", "table": "nat", "name": "DOCKER", "hooks": ["PREROUTING", "OUTPUT"], "docker_owned": true},
]

doc_commands := [
	{"op": "chain", "table": "filter", "chain": "DOCKER"},
	{"op": "flush", "table": "filter", "chain": ""},
	{"op": "chain", "table": "nat", "chain": "DOCKER"},
	{"op": "delete-chain", "table": "filter", "chain": "DOCKER"},
]

mock_chain(id) := c if {
	some c in doc_chains
	c.id == id
}

mock_table_chains(name) := [c | some c in doc_chains; c.table == name]

mock_chains_where("unreached") := [doc_chains[2]]

mock_chains_where("docker_owned") := [doc_chains[1], doc_chains[3]]

mock_commands_on(table, chain) := [c | some c in doc_commands; c.table == table; c.chain == chain]

test_chains_either_way if {
	every input_doc in [{"chains": doc_chains}, served] {
		lib.chain("nat/DOCKER") == doc_chains[3] with input as input_doc with dfw.input_chain as mock_chain
		not lib.chain("nat/NOPE") with input as input_doc with dfw.input_chain as mock_chain
		lib.table_chains("nat") == [doc_chains[3]] with input as input_doc with dfw.input_table_chains as mock_table_chains
		lib.unreached_chains == [doc_chains[2]] with input as input_doc with dfw.input_chains_where as mock_chains_where
		lib.docker_owned_chains == [doc_chains[1], doc_chains[3]] with input as input_doc with dfw.input_chains_where as mock_chains_where
	}
}

test_commands_on_either_way if {
	every input_doc in [{"commands": doc_commands}, served] {
		lib.commands_on("filter", {"DOCKER"}) == [doc_commands[0], doc_commands[3]] with input as input_doc with dfw.input_commands_on as mock_commands_on
		lib.commands_on("filter", {""}) == [doc_commands[1]] with input as input_doc with dfw.input_commands_on as mock_commands_on
		lib.commands_on("nat", {"DOCKER", "OTHER"}) == [doc_commands[2]] with input as input_doc with dfw.input_commands_on as mock_commands_on
	}
}

test_any_source if {
	every s in [["any"], ["0.0.0.0/0"], ["::/0"], ["10.0.0.0/8", "any"]] {
		lib.any_source({"sources": s})
	}
	every s in [[], ["198.51.100.7"], ["10.0.0.0/8"], ["any except 10.0.0.0/8"], ["2000::/3"]] {
		not lib.any_source({"sources": s})
	}
}

# any_source, where the facts hold it, decides: the sources' summary does
# not.
test_any_source_fact if {
	lib.any_source({"sources": ["2000::/3"], "any_source": true})
	lib.any_source({"sources": ["any except fe80::/10"], "any_source": true})
	not lib.any_source({"sources": ["any"], "any_source": false})
}

test_addr_port if {
	lib.addr_port("172.17.0.2", 80) == "172.17.0.2:80"
	lib.addr_port("fd00:dead:beef::2", 80) == "[fd00:dead:beef::2]:80"
	lib.addr_port("::ffff:172.17.0.2", 8080) == "[::ffff:172.17.0.2]:8080"
}
