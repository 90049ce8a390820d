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

# An accept of loopback traffic that no packet reaches (after a catch-all
# DROP) accepts nothing.
test_unreachable_lo_accept if {
	drop := rule(2, {"target": {"name": "DROP", "kind": "verdict", "column": 12}})
	lo := rule(3, {"in": {"neg": false, "name": "lo", "wildcard": false}})
	reach := {"reachability": [{"rule": "filter/INPUT/3", "position": 2, "reachable": false, "depends_on_may_match": false, "covering": []}]}
	fs := loopback_not_accepted.findings with input as {"family": "ipv4", "chains": [input_chain("DROP", 3)], "rules": [ssh, drop, lo], "analysis": reach}
	count(fs) == 1
	some f in fs
	f.line == 2
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

# Each family's message names its own loopback address.
test_message_names_the_family_loopback if {
	every fam in ["ipv4", "ipv6"] {
		lo := {"ipv4": "127.0.0.1", "ipv6": "::1"}[fam]
		fs := loopback_not_accepted.findings with input as {"family": fam, "chains": [input_chain("DROP", 1)], "rules": [ssh]}
		some f in fs
		f.msg == sprintf("INPUT's policy is DROP and no rule accepts loopback traffic: the host cannot reach its own services on %s; add -A INPUT -i lo -j ACCEPT first", [lo])

		d := rule(2, {"target": {"name": "DROP", "kind": "verdict", "column": 12}})
		gs := loopback_not_accepted.findings with input as {"family": fam, "chains": [input_chain("ACCEPT", 2)], "rules": [ssh, d]}
		some g in gs
		endswith(g.msg, sprintf("cannot reach its own services on %s; add -A INPUT -i lo -j ACCEPT first", [lo]))
	}
}

test_ipv6_message_names_no_ipv4_address if {
	fs := loopback_not_accepted.findings with input as {"family": "ipv6", "chains": [input_chain("DROP", 1)], "rules": [ssh]}
	some f in fs
	not contains(f.msg, "127.0.0.1")
}

# A final catch-all REJECT is named as such.
test_catch_all_reject_named if {
	rej := rule(2, {"target": {"name": "REJECT", "kind": "extension", "column": 11}})
	fs := loopback_not_accepted.findings with input as {"family": "ipv4", "chains": [input_chain("ACCEPT", 2)], "rules": [ssh, rej]}
	count(fs) == 1
	some f in fs
	startswith(f.msg, "INPUT ends with a catch-all REJECT and")
}
