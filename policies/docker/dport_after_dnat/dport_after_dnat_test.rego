package dfw.docker.dport_after_dnat_test

import data.dfw.docker.dport_after_dnat

published := [{
	"proto": "tcp", "host_port": 8000, "host_port_hi": 8000, "host_addr": "",
	"container_addr": "172.17.0.3", "container_port": 80, "container_port_hi": 80, "bridge": "docker0",
	"dnat": {"file": "d.save", "line": 39, "column": 1, "table": "nat", "chain": "DOCKER", "rule": 4, "id": "nat/DOCKER/4", "goto": false},
}]

doc(rule) := {
	"rules": [rule],
	"chains": [{"id": "filter/DOCKER-USER", "table": "filter", "name": "DOCKER-USER", "docker_owned": false}],
	"docker": {"published": published, "bridges": [{"name": "docker0", "subnets": ["172.17.0.0/16"]}]},
	"host": {"bridges": ["docker0"]},
}

rule(dport, extra) := object.union(
	{
		"id": "filter/DOCKER-USER/1", "table": "filter", "chain": "DOCKER-USER", "index": 1,
		"file": "f.conf", "line": 5, "column": 1, "hooks": ["FORWARD"],
		"proto": {"neg": false, "name": "tcp", "num": 6, "column": 20},
		"dports": [{"neg": false, "ranges": [[dport, dport]], "column": 33}],
		"ctorigdstport": [], "ctstate": [], "matches": [],
		"target": {"name": "ACCEPT", "kind": "verdict"},
	},
	extra,
)

test_host_port_in_forward if {
	fs := dport_after_dnat.findings with input as doc(rule(8000, {}))
	count(fs) == 1
	some f in fs
	f.column == 33
	contains(f.msg, "--ctorigdstport 8000")
	f.related[0].line == 39
}

test_container_port_is_fine if {
	fs := dport_after_dnat.findings with input as doc(rule(80, {}))
	count(fs) == 0
}

test_input_only_chain_is_not_this_check if {
	fs := dport_after_dnat.findings with input as doc(rule(8000, {"hooks": ["INPUT"]}))
	count(fs) == 0
}

test_traffic_from_containers if {
	fs := dport_after_dnat.findings with input as doc(rule(8000, {"in": {"neg": false, "name": "docker0", "wildcard": false}}))
	count(fs) == 0
}

test_traffic_to_another_interface if {
	fs := dport_after_dnat.findings with input as doc(rule(8000, {"out": {"neg": false, "name": "eth1", "wildcard": false}}))
	count(fs) == 0
}

test_other_protocol if {
	fs := dport_after_dnat.findings with input as doc(rule(8000, {"proto": {"neg": false, "name": "udp", "num": 17}}))
	count(fs) == 0
}

test_range_taking_both if {
	r := rule(8000, {"dports": [{"neg": false, "ranges": [[1, 9000]], "column": 33}]})
	fs := dport_after_dnat.findings with input as doc(r)
	count(fs) == 0
}

# "! --ctstate DNAT": the rule says it is for connections no DNAT
# rewrote (a chain shared with INPUT, say); a positive DNAT state, or none,
# does not exempt it.
test_rule_excludes_dnat if {
	count(dport_after_dnat.findings) == 0 with input as doc(rule(8000, {"ctstate": [{"neg": true, "states": ["DNAT"], "column": 40}]}))
	count(dport_after_dnat.findings) == 1 with input as doc(rule(8000, {"ctstate": [{"neg": false, "states": ["DNAT"], "column": 40}]}))
	count(dport_after_dnat.findings) == 1 with input as doc(rule(8000, {"ctstate": [{"neg": false, "states": ["NEW"], "column": 40}]}))
}

# --dst-type LOCAL: after DNAT the destination is the container's, not the
# host's; a list with UNICAST, or a negated LOCAL, still sees it.
test_local_destination_only if {
	local := {"name": "addrtype", "dst_type": {"neg": false, "types": ["LOCAL"]}}
	count(dport_after_dnat.findings) == 0 with input as doc(rule(8000, {"matches": [local]}))
	unicast := {"name": "addrtype", "dst_type": {"neg": false, "types": ["UNICAST", "LOCAL"]}}
	count(dport_after_dnat.findings) == 1 with input as doc(rule(8000, {"matches": [unicast]}))
	neg := {"name": "addrtype", "dst_type": {"neg": true, "types": ["LOCAL"]}}
	count(dport_after_dnat.findings) == 1 with input as doc(rule(8000, {"matches": [neg]}))
}

# Rules that exclude the container's connection: "! -o" its bridge (or a
# wildcard taking it), "! -d" its address, a state no DNAT-ed connection
# has; "! -o" another interface, "! -d" elsewhere, ESTABLISHED still see it.
test_rule_excludes_container if {
	every extra in [
		{"out": {"neg": true, "name": "docker0", "wildcard": false}},
		{"out": {"neg": true, "name": "docker", "wildcard": true}},
		{"dst": {"neg": true, "cidr": "172.16.0.0/12"}},
		{"ctstate": [{"neg": false, "states": ["INVALID"], "column": 40}]},
		{"ctstate": [{"neg": true, "states": ["NEW", "ESTABLISHED", "RELATED"], "column": 40}]},
	] {
		count(dport_after_dnat.findings) == 0 with input as doc(rule(8000, extra))
	}
	every extra in [
		{"out": {"neg": true, "name": "eth1", "wildcard": false}},
		{"dst": {"neg": true, "cidr": "10.0.0.0/8"}},
		{"ctstate": [{"neg": false, "states": ["ESTABLISHED"], "column": 40}]},
		{"ctstate": [{"neg": true, "states": ["INVALID"], "column": 40}]},
	] {
		count(dport_after_dnat.findings) == 1 with input as doc(rule(8000, extra))
	}
}

test_ipv6_container_in_brackets if {
	p := object.union(published[0], {"container_addr": "fd00:17::3"})
	d := object.union(doc(rule(8000, {})), {"docker": {"published": [p], "bridges": [{"name": "docker0", "subnets": ["fd00:17::/64"]}]}})
	fs := dport_after_dnat.findings with input as d
	some f in fs
	f.related[0].message == "Docker publishes tcp/8000 here: DNAT to [fd00:17::3]:80"
}
