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
