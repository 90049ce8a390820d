package dfw.docker.exposed_published_port_test

import data.dfw.docker.exposed_published_port

exposure := {
	"interface": "ens33", "kind": "container", "proto": "tcp", "ports": [[5432, 5432]], "sources": ["0.0.0.0/0"],
	"container": {"proto": "tcp", "host_port": 5432, "container_addr": "172.18.0.2", "container_port": 5432, "dnat": {"file": "d.save", "line": 60}},
	"witness": {"proto": "tcp", "in": "ens33", "src": "203.0.113.7", "dport": 5432},
	"accepted_by": {"file": "d.save", "line": 20, "column": 1, "table": "filter", "chain": "DOCKER", "rule": 1},
	"policy": false, "path": [], "depends_on_may_match": false,
}

test_exposed if {
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [exposure]}, "config": {"allowed_exposed": []}}
	count(fs) == 1
	some f in fs
	f.line == 20
	f.witness.dport == 5432
	f.related[0].line == 60
}

test_allowed if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": [], "interface": ""}]}
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [exposure]}, "config": cfg}
}

test_allowed_sources_too_narrow if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["10.0.0.0/8"], "interface": ""}]}
	count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [exposure]}, "config": cfg}
}

test_not_computed if {
	count(exposed_published_port.findings) == 0 with input as {"analysis": {}, "config": {"allowed_exposed": []}}
}
