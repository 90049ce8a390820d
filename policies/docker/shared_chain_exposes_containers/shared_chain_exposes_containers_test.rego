package dfw.docker.shared_chain_exposes_containers_test

import data.dfw.docker.shared_chain_exposes_containers

rule(extra) := object.union(
	{
		"id": "filter/FILTERS/4", "table": "filter", "chain": "FILTERS", "index": 4, "file": "f.conf", "line": 30, "column": 1,
		"hooks": ["INPUT", "FORWARD"], "proto": {"neg": false, "name": "tcp"},
		"dports": [{"neg": false, "ranges": [[22, 22]], "column": 32}], "ctorigdstport": [], "ctstate": [],
		"target": {"name": "ACCEPT", "kind": "verdict"},
	},
	extra,
)

doc(r, published) := {
	"rules": [r],
	"chains": [{"id": "filter/FILTERS", "referenced_by": [
		{"file": "f.conf", "line": 17, "column": 1, "chain": "INPUT"},
		{"file": "f.conf", "line": 18, "column": 1, "chain": "DOCKER-USER"},
	]}],
	"docker": {"published": published, "bridges": []},
	"host": {"bridges": []},
}

test_ssh_in_shared_chain if {
	fs := shared_chain_exposes_containers.findings with input as doc(rule({}), [])
	count(fs) == 1
	some f in fs
	f.column == 32
	count(f.related) == 2
}

test_names_a_mapping if {
	p := {"proto": "tcp", "host_port": 2222, "container_addr": "172.17.0.5", "container_port": 22}
	fs := shared_chain_exposes_containers.findings with input as doc(rule({}), [p])
	some f in fs
	contains(f.msg, "2222 -> 172.17.0.5:22")
}

test_input_only if {
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(rule({"hooks": ["INPUT"]}), [])
}

test_ctorigdstport if {
	r := rule({"dports": [], "ctorigdstport": [{"neg": false, "ranges": [[80, 80]]}]})
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(r, [])
}

test_established if {
	r := rule({"ctstate": [{"neg": false, "states": ["ESTABLISHED"]}]})
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(r, [])
}

test_host_address if {
	r := rule({"dst": {"neg": false, "cidr": "203.0.113.10/32"}})
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(r, [])
}

addrtype(neg, types) := {"matches": [{"name": "addrtype", "dst_type": {"neg": neg, "types": types, "column": 42}}]}

test_dst_type_local if {
	# -m addrtype --dst-type LOCAL: forwarded to a container, the
	# destination is the container's address, not the host's.
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(rule(addrtype(false, ["LOCAL"])), [])
}

test_dst_type_local_broadcast if {
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(rule(addrtype(false, ["LOCAL", "BROADCAST"])), [])
}

test_dst_type_not_local if {
	# ! --dst-type LOCAL takes the container's address.
	count(shared_chain_exposes_containers.findings) == 1 with input as doc(rule(addrtype(true, ["LOCAL"])), [])
}

test_dst_type_unicast_too if {
	# --dst-type UNICAST,LOCAL takes the container's address.
	count(shared_chain_exposes_containers.findings) == 1 with input as doc(rule(addrtype(false, ["UNICAST", "LOCAL"])), [])
}

test_src_type_local if {
	# --src-type LOCAL says nothing about the destination.
	r := rule({"matches": [{"name": "addrtype", "src_type": {"neg": false, "types": ["LOCAL"], "column": 42}}]})
	count(shared_chain_exposes_containers.findings) == 1 with input as doc(r, [])
}

test_not_dnat if {
	# -m conntrack ! --ctstate DNAT: never a published port's connection
	# (one routed to a container's address without DNAT is DFW206's).
	r := rule({"ctstate": [{"neg": true, "states": ["DNAT"]}]})
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(r, [])
}

# A state condition exempts the rule only when a new connection DNAT
# forwarded to a container fails it.
test_state_conditions if {
	every s in [
		{"neg": false, "states": ["ESTABLISHED", "RELATED"]},
		{"neg": true, "states": ["DNAT"]},
		{"neg": true, "states": ["NEW"]},
	] {
		takes_new_dnat_not(s)
	}
	every s in [
		{"neg": false, "states": ["NEW"]},
		{"neg": false, "states": ["NEW", "ESTABLISHED"]},
		{"neg": false, "states": ["DNAT"]},
		{"neg": true, "states": ["INVALID"]},
	] {
		shared_chain_exposes_containers.takes_new_dnat(s)
	}
}

takes_new_dnat_not(s) if not shared_chain_exposes_containers.takes_new_dnat(s)

# "-i lo" never sees forwarded traffic; "-i lo+" is a wildcard of other
# names too, and is still reported.
test_loopback_only if {
	count(shared_chain_exposes_containers.findings) == 0 with input as doc(rule({"in": {"neg": false, "name": "lo", "wildcard": false, "column": 20}}), [])
	count(shared_chain_exposes_containers.findings) == 1 with input as doc(rule({"in": {"neg": false, "name": "lo", "wildcard": true, "column": 20}}), [])
}

test_names_an_ipv6_mapping_in_brackets if {
	p := {"proto": "tcp", "host_port": 2222, "container_addr": "fd00:17::5", "container_port": 22}
	fs := shared_chain_exposes_containers.findings with input as doc(rule({}), [p])
	some f in fs
	contains(f.msg, "2222 -> [fd00:17::5]:22")
}
