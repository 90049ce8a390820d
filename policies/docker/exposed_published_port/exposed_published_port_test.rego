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

test_published_by_docker if {
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [exposure]}, "config": {"allowed_exposed": []}}
	some f in fs
	f.related[0].message == "Docker publishes tcp/5432 here: DNAT to 172.18.0.2:5432"
}

test_published_by_another_chain if {
	# kube-proxy's DNAT of a NodePort, in a KUBE-SEP chain: not Docker's.
	dnat := {"file": "k.save", "line": 900, "table": "nat", "chain": "KUBE-SEP-ABC", "rule": 2}
	x := object.union(exposure, {"container": object.union(exposure.container, {"dnat": dnat})})
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
	some f in fs
	f.related[0].message == "chain KUBE-SEP-ABC publishes tcp/5432 here: DNAT to 172.18.0.2:5432"
}

test_allowed if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": [], "interface": ""}]}
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [exposure]}, "config": cfg}
}

test_allowed_sources_too_narrow if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["10.0.0.0/8"], "interface": ""}]}
	count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [exposure]}, "config": cfg}
}

test_named_by_user if {
	# DOCKER-USER -p tcp -m conntrack --ctorigdstport 5432 -j ACCEPT: the
	# user chose to expose the port.
	x := object.union(exposure, {"accepted_by": {"file": "u.conf", "line": 3, "column": 1, "table": "filter", "chain": "DOCKER-USER", "rule": 1, "id": "filter/DOCKER-USER/1"}})
	rules := [{"id": "filter/DOCKER-USER/1", "table": "filter", "chain": "DOCKER-USER", "dports": [], "ctorigdstport": [{"neg": false, "ranges": [[5432, 5432]]}]}]
	chains := [{"table": "filter", "name": "DOCKER-USER", "docker_owned": false}]
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [x]}, "rules": rules, "chains": chains, "config": {"allowed_exposed": []}}
}

test_docker_rule_names_port if {
	# Docker's own DOCKER chain names the port: still Docker's doing.
	x := object.union(exposure, {"accepted_by": {"file": "d.save", "line": 20, "column": 1, "table": "filter", "chain": "DOCKER", "rule": 1, "id": "filter/DOCKER/1"}})
	rules := [{"id": "filter/DOCKER/1", "table": "filter", "chain": "DOCKER", "dports": [{"neg": false, "ranges": [[5432, 5432]]}], "ctorigdstport": []}]
	chains := [{"table": "filter", "name": "DOCKER", "docker_owned": true}]
	count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [x]}, "rules": rules, "chains": chains, "config": {"allowed_exposed": []}}
}

test_restricted_sources if {
	x := object.union(exposure, {"sources": ["198.51.100.0/24"]})
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
}

test_not_computed if {
	count(exposed_published_port.findings) == 0 with input as {"analysis": {}, "config": {"allowed_exposed": []}}
}
