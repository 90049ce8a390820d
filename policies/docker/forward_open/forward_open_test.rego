package dfw.docker.forward_open_test

import data.dfw.docker.forward_open

x := {
	"interface": "ens33", "kind": "forward", "proto": "tcp", "ports": [[1, 65535]], "sources": ["0.0.0.0/0"],
	"witness": {"proto": "tcp", "in": "ens33", "dst": "172.17.0.2", "dport": 6379},
	"accepted_by": {"file": "f.conf", "line": 3, "column": 1, "table": "filter", "chain": "FORWARD"},
	"policy": true, "path": [], "depends_on_may_match": false,
}

test_forward_open if {
	count(forward_open.findings) == 1 with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
}

test_host_kind_is_not_forward if {
	count(forward_open.findings) == 0 with input as {"analysis": {"exposure": [object.union(x, {"kind": "host"})]}, "config": {"allowed_exposed": []}}
}

published := {"published": [{"proto": "tcp", "host_port": 8080, "host_port_hi": 8080, "container_addr": "172.17.0.2", "container_port": 80, "container_port_hi": 80}]}

test_published_container_port_is_dockers_doing if {
	row := object.union(x, {"ports": [[80, 80]], "policy": false})
	count(forward_open.findings) == 0 with input as {"analysis": {"exposure": [row]}, "docker": published, "config": {"allowed_exposed": []}}
}

test_unpublished_port_beside_a_published_one if {
	row := object.union(x, {"ports": [[80, 80], [443, 443]], "policy": false})
	count(forward_open.findings) == 1 with input as {"analysis": {"exposure": [row]}, "docker": published, "config": {"allowed_exposed": []}}
}

test_icmp_is_never_published if {
	row := object.union(x, {"proto": "icmp", "ports": [], "policy": false})
	count(forward_open.findings) == 1 with input as {"analysis": {"exposure": [row]}, "docker": published, "config": {"allowed_exposed": []}}
}

test_not_computed if {
	count(forward_open.findings) == 0 with input as {"analysis": {}, "config": {"allowed_exposed": []}}
}
