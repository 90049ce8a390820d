package dfw.docker.ctorigdstport_names_container_port_test

import data.dfw.docker.ctorigdstport_names_container_port

p8000 := {"proto": "tcp", "host_port": 8000, "host_port_hi": 8000, "container_addr": "172.17.0.3", "container_port": 80, "dnat": {"file": "d.save", "line": 39}}

p80 := {"proto": "tcp", "host_port": 80, "host_port_hi": 80, "container_addr": "172.17.0.2", "container_port": 80, "dnat": {"file": "d.save", "line": 38}}

rule(port) := {
	"id": "filter/DOCKER-USER/1", "table": "filter", "chain": "DOCKER-USER", "index": 1, "file": "f.conf", "line": 3, "column": 1,
	"hooks": ["FORWARD"], "proto": {"neg": false, "name": "tcp"}, "dports": [],
	"ctorigdstport": [{"neg": false, "ranges": [[port, port]], "column": 40}],
	"target": {"name": "ACCEPT", "kind": "verdict"},
}

test_container_port if {
	fs := ctorigdstport_names_container_port.findings with input as {"rules": [rule(80)], "docker": {"published": [p8000]}}
	count(fs) == 1
	some f in fs
	f.column == 40
	contains(f.msg, "--ctorigdstport 8000")
}

test_also_a_host_port if {
	fs := ctorigdstport_names_container_port.findings with input as {"rules": [rule(80)], "docker": {"published": [p80, p8000]}}
	count(fs) == 0
}

test_host_port if {
	count(ctorigdstport_names_container_port.findings) == 0 with input as {"rules": [rule(8000)], "docker": {"published": [p8000]}}
}

test_ipv6_container_in_brackets if {
	p := object.union(p8000, {"container_addr": "fd00:17::3"})
	fs := ctorigdstport_names_container_port.findings with input as {"rules": [rule(80)], "docker": {"published": [p]}}
	some f in fs
	contains(f.msg, "published tcp/8000 -> [fd00:17::3]:80, which")
	f.related[0].message == "Docker publishes tcp/8000 here: DNAT to [fd00:17::3]:80"
}

test_ipv4_container_without_brackets if {
	fs := ctorigdstport_names_container_port.findings with input as {"rules": [rule(80)], "docker": {"published": [p8000]}}
	some f in fs
	contains(f.msg, "published tcp/8000 -> 172.17.0.3:80, which")
}
