package dfw.docker.input_rule_misses_docker_test

import data.dfw.docker.input_rule_misses_docker

published := [{
	"proto": "tcp", "host_port": 5432, "host_port_hi": 5432, "host_addr": "",
	"container_addr": "172.18.0.2", "container_port": 5432, "container_port_hi": 5432, "bridge": "br-app",
	"dnat": {"file": "d.save", "line": 60, "column": 1, "table": "nat", "chain": "DOCKER", "rule": 4},
}]

rule(extra) := object.union(
	{
		"id": "filter/INPUT/1", "table": "filter", "chain": "INPUT", "index": 1, "file": "f.conf", "line": 5, "column": 1,
		"hooks": ["INPUT"], "proto": {"neg": false, "name": "tcp"},
		"dports": [{"neg": false, "ranges": [[5432, 5432]], "column": 30}], "ctorigdstport": [],
		"target": {"name": "DROP", "kind": "verdict"},
	},
	extra,
)

doc(r) := {"rules": [r], "docker": {"published": published, "bridges": [{"name": "br-app", "subnets": []}]}, "host": {"bridges": []}}

test_input_drop_of_published_port if {
	fs := input_rule_misses_docker.findings with input as doc(rule({}))
	count(fs) == 1
	some f in fs
	f.column == 30
	f.related[0].line == 60
}

test_shared_chain_sees_it_in_forward if {
	count(input_rule_misses_docker.findings) == 0 with input as doc(rule({"hooks": ["INPUT", "FORWARD"]}))
}

test_unpublished_port if {
	r := rule({"dports": [{"neg": false, "ranges": [[22, 22]], "column": 30}]})
	count(input_rule_misses_docker.findings) == 0 with input as doc(r)
}

test_hairpin_from_bridge if {
	r := rule({"in": {"neg": false, "name": "br-app"}})
	count(input_rule_misses_docker.findings) == 0 with input as doc(r)
}

test_loopback_destination if {
	r := rule({"dst": {"neg": false, "cidr": "127.0.0.1/32"}})
	count(input_rule_misses_docker.findings) == 0 with input as doc(r)
}

test_log_is_not_filtering if {
	r := rule({"target": {"name": "LOG", "kind": "extension"}})
	count(input_rule_misses_docker.findings) == 0 with input as doc(r)
}

test_ipv6_container_in_brackets if {
	p := object.union(published[0], {"container_addr": "fd00:18::2"})
	d := object.union(doc(rule({})), {"docker": {"published": [p], "bridges": [{"name": "br-app", "subnets": []}]}})
	fs := input_rule_misses_docker.findings with input as d
	some f in fs
	f.related[0].message == "Docker publishes tcp/5432 here: DNAT to [fd00:18::2]:5432, so the connection takes FORWARD"
}

# -p 127.0.0.1:5432:5432: Docker's DNAT takes only packets to 127.0.0.1;
# connections to the port on the host's other addresses reach INPUT.
test_loopback_bound_mapping if {
	p := object.union(published[0], {"host_addr": "127.0.0.1"})
	d := object.union(doc(rule({})), {"docker": {"published": [p], "bridges": [{"name": "br-app", "subnets": []}]}})
	count(input_rule_misses_docker.findings) == 0 with input as d
}

test_ipv6_loopback_bound_mapping if {
	p := object.union(published[0], {"host_addr": "::1"})
	d := object.union(doc(rule({})), {"docker": {"published": [p], "bridges": [{"name": "br-app", "subnets": []}]}})
	count(input_rule_misses_docker.findings) == 0 with input as d
}

# -p 10.0.0.5:5432:5432: the rule misses the connections to 10.0.0.5 alone,
# and the finding says so.
test_address_bound_mapping_named if {
	p := object.union(published[0], {"host_addr": "10.0.0.5"})
	d := object.union(doc(rule({})), {"docker": {"published": [p], "bridges": [{"name": "br-app", "subnets": []}]}})
	fs := input_rule_misses_docker.findings with input as d
	count(fs) == 1
	some f in fs
	contains(f.msg, "never sees connections to tcp/5432 on 10.0.0.5, which Docker publishes")
}
