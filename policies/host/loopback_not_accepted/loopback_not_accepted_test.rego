package dfw.host.loopback_not_accepted_test

import data.dfw.host.loopback_not_accepted

input_chain(policy, n) := {
	"id": "filter/INPUT", "table": "filter", "name": "INPUT", "builtin": true, "policy": policy, "rules": n,
	"file": "f.conf", "line": 2, "column": 1, "policy_loc": {"file": "f.conf", "line": 2, "column": 1},
}

rule(i, extra) := object.union(
	{
		"id": sprintf("filter/INPUT/%d", [i]), "table": "filter", "chain": "INPUT", "index": i,
		"file": "f.conf", "line": 4 + i, "column": 1, "hooks": ["INPUT"], "matches": [],
		"target": {"name": "ACCEPT", "kind": "verdict", "column": 20},
	},
	extra,
)

ssh := rule(1, {"proto": {"name": "tcp"}, "matches": [{"name": "tcp"}]})

test_policy_drop_no_lo if {
	fs := loopback_not_accepted.findings with input as {"family": "ipv4", "chains": [input_chain("DROP", 1)], "rules": [ssh]}
	count(fs) == 1
	some f in fs
	f.line == 2
}

test_lo_accepted if {
	lo := rule(2, {"in": {"neg": false, "name": "lo", "wildcard": false}})
	count(loopback_not_accepted.findings) == 0 with input as {"family": "ipv4", "chains": [input_chain("DROP", 2)], "rules": [ssh, lo]}
}

test_not_external_accepted if {
	r := rule(2, {"in": {"neg": true, "name": "eth0", "wildcard": false}})
	count(loopback_not_accepted.findings) == 0 with input as {"family": "ipv4", "chains": [input_chain("DROP", 2)], "rules": [ssh, r]}
}

test_loopback_source_accepted if {
	r := rule(2, {"src": {"neg": false, "cidr": "127.0.0.0/8"}})
	count(loopback_not_accepted.findings) == 0 with input as {"family": "ipv4", "chains": [input_chain("DROP", 2)], "rules": [ssh, r]}
}

test_catch_all_drop if {
	d := rule(2, {"target": {"name": "DROP", "kind": "verdict", "column": 12}})
	fs := loopback_not_accepted.findings with input as {"family": "ipv4", "chains": [input_chain("ACCEPT", 2)], "rules": [ssh, d]}
	some f in fs
	f.line == 6
}

test_policy_accept if {
	count(loopback_not_accepted.findings) == 0 with input as {"family": "ipv4", "chains": [input_chain("ACCEPT", 1)], "rules": [ssh]}
}
