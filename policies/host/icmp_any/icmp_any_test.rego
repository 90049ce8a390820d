package dfw.host.icmp_any_test

import data.dfw.host.icmp_any

rule(extra) := object.union(
	{
		"id": "filter/INPUT/1", "table": "filter", "chain": "INPUT", "index": 1,
		"file": "f.conf", "line": 5, "column": 1, "hooks": ["INPUT"],
		"proto": {"neg": false, "name": "icmp", "num": 1, "column": 10},
		"dports": [], "ctorigdstport": [], "ctstate": [], "matches": [],
		"target": {"name": "ACCEPT", "kind": "verdict"},
	},
	extra,
)

doc(r) := {"family": "ipv4", "rules": [r]}

test_icmp_accept if {
	fs := icmp_any.findings with input as doc(rule({}))
	count(fs) == 1
	some f in fs
	f.column == 10
	not contains(f.msg, "FORWARD")
}

test_icmp_any_shared_chain if {
	r := rule({"hooks": ["INPUT", "FORWARD"], "matches": [{"name": "icmp", "icmp": {"neg": false, "any": true, "type": 255}}]})
	fs := icmp_any.findings with input as doc(r)
	some f in fs
	contains(f.msg, "FORWARD")
}

# An ICMP accept no packet reaches accepts nothing: DFW101 reports it.
test_unreachable if {
	reach := {"reachability": [{"rule": "filter/INPUT/1", "position": 0, "reachable": false, "depends_on_may_match": false, "covering": []}]}
	count(icmp_any.findings) == 0 with input as object.union(doc(rule({})), {"analysis": reach})
}

test_echo_request_only if {
	r := rule({"matches": [{"name": "icmp", "icmp": {"neg": false, "any": false, "type": 8}}]})
	count(icmp_any.findings) == 0 with input as doc(r)
}

test_trusted_source if {
	r := rule({"src": {"neg": false, "cidr": "10.0.0.0/8"}})
	count(icmp_any.findings) == 0 with input as doc(r)
}

test_ipv6_left_alone if {
	count(icmp_any.findings) == 0 with input as {"family": "ipv6", "rules": [rule({})]}
}

test_drop_is_fine if {
	count(icmp_any.findings) == 0 with input as doc(rule({"target": {"name": "DROP", "kind": "verdict"}}))
}

test_unhooked_chain if {
	count(icmp_any.findings) == 0 with input as doc(rule({"hooks": []}))
}
