package dfw.docker.docker_user_drop_without_iface_test

import data.dfw.docker.docker_user_drop_without_iface

chains := [{"id": sprintf("filter/%s", [n]), "table": "filter", "name": n} | some n in ["FORWARD", "DOCKER-USER", "F", "G"]]

rule(chain, index, extra) := object.union(
	{
		"id": sprintf("filter/%s/%d", [chain, index]), "table": "filter", "chain": chain, "index": index,
		"file": "f.conf", "line": index, "column": 1, "hooks": ["FORWARD"], "ctstate": [],
		"target": {"name": "DROP", "kind": "verdict", "column": 30},
	},
	extra,
)

doc(rules) := {"chains": chains, "rules": rules, "host": {"external_interfaces": ["ens33"]}}

test_catch_all_drop if {
	fs := docker_user_drop_without_iface.findings with input as doc([rule("DOCKER-USER", 1, {})])
	count(fs) == 1
	some f in fs
	f.column == 30
	contains(f.msg, "-i ens33")
}

test_with_iface if {
	r := rule("DOCKER-USER", 1, {"in": {"neg": false, "name": "ens33"}})
	count(docker_user_drop_without_iface.findings) == 0 with input as doc([r])
}

test_negated_iface_is_no_restriction if {
	r := rule("DOCKER-USER", 1, {"in": {"neg": true, "name": "docker0"}})
	count(docker_user_drop_without_iface.findings) == 0 with input as doc([r])
}

test_through_jump_with_iface if {
	j := rule("DOCKER-USER", 1, {"in": {"neg": false, "name": "ens33"}, "target": {"name": "F", "kind": "chain"}})
	count(docker_user_drop_without_iface.findings) == 0 with input as doc([j, rule("F", 2, {})])
}

test_through_jump_without_iface if {
	j := rule("DOCKER-USER", 1, {"target": {"name": "F", "kind": "chain"}})
	fs := docker_user_drop_without_iface.findings with input as doc([j, rule("F", 2, {})])
	count(fs) == 1
}

test_invalid_only if {
	r := rule("DOCKER-USER", 1, {"ctstate": [{"neg": false, "states": ["INVALID"]}]})
	count(docker_user_drop_without_iface.findings) == 0 with input as doc([r])
}

test_other_chain if {
	count(docker_user_drop_without_iface.findings) == 0 with input as doc([rule("G", 1, {})])
}

# With the outbound analysis computed, the rule is reported only when it
# drops a container's new connection to the outside.
analysed(rules, outbound) := object.union(doc(rules), {"analysis": {"computed": {"outbound": true}, "outbound": outbound}})

test_drops_containers_outbound if {
	r := rule("DOCKER-USER", 5, {})
	x := {"bridge": "docker0", "verdict": "DROP", "dropped_by": {"id": "filter/DOCKER-USER/5"}}
	count(docker_user_drop_without_iface.findings) == 1 with input as analysed([r], [x])
}

# A rule that drops only what the containers of a bridge send each other
# says so; one that drops both, both.
test_drops_between_containers if {
	r := rule("DOCKER-USER", 5, {})
	x := {"bridge": "docker0", "to": "bridge", "verdict": "DROP", "dropped_by": {"id": "filter/DOCKER-USER/5"}}
	fs := docker_user_drop_without_iface.findings with input as analysed([r], [x])
	count(fs) == 1
	some f in fs
	contains(f.msg, "drops what the containers of docker0 send each other (with br_netfilter")
	not contains(f.msg, "send out")
}

test_drops_out_and_between_containers if {
	r := rule("DOCKER-USER", 5, {})
	xs := [
		{"bridge": "docker0", "to": "outside", "verdict": "DROP", "dropped_by": {"id": "filter/DOCKER-USER/5"}},
		{"bridge": "br-app", "to": "bridge", "verdict": "DROP", "dropped_by": {"id": "filter/DOCKER-USER/5"}},
		{"bridge": "docker0", "to": "bridge", "verdict": "DROP", "dropped_by": {"id": "filter/DOCKER-USER/5"}},
	]
	fs := docker_user_drop_without_iface.findings with input as analysed([r], xs)
	count(fs) == 1
	some f in fs
	contains(f.msg, "drops what containers send out and between bridges, what the containers of br-app, docker0 send each other, and the replies")
}

# "-i docker0 -j RETURN" (and the like) before the DROP: no container's
# connection reaches it.
test_containers_returned_before_drop if {
	r := rule("DOCKER-USER", 5, {})
	count(docker_user_drop_without_iface.findings) == 0 with input as analysed([r], [])
}

# An outbound analysis cut short tells nothing: the rule is reported.
test_outbound_incomplete if {
	d := object.union(analysed([rule("DOCKER-USER", 5, {})], []), {"analysis": {"incomplete": [{"analysis": "outbound", "reason": "budget", "budget": true}]}})
	count(docker_user_drop_without_iface.findings) == 1 with input as d
}
