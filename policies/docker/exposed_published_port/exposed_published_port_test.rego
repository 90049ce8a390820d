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

# The exposure's path through DOCKER-USER, rule 2 the one given.
path_through(r) := {
	"x": object.union(exposure, {"path": [
		{"file": "d.save", "line": 10, "column": 1, "table": "filter", "chain": "FORWARD", "rule": 1, "id": "filter/FORWARD/1"},
		{"file": "u.conf", "line": 4, "column": 1, "table": "filter", "chain": "DOCKER-USER", "rule": 2, "id": "filter/DOCKER-USER/2"},
		{"file": "d.save", "line": 20, "column": 1, "table": "filter", "chain": "DOCKER", "rule": 1, "id": "filter/DOCKER/1"},
	]}),
	"rules": [object.union({"id": "filter/DOCKER-USER/2", "table": "filter", "chain": "DOCKER-USER", "dports": [], "ctorigdstport": []}, r)],
	"chains": [
		{"table": "filter", "name": "DOCKER-USER", "docker_owned": false},
		{"table": "filter", "name": "DOCKER", "docker_owned": true},
		{"table": "filter", "name": "DOCKER-FORWARD", "docker_owned": true},
	],
}

findings_through(r) := fs if {
	p := path_through(r)
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [p.x]}, "rules": p.rules, "chains": p.chains, "config": {"allowed_exposed": []}}
}

test_return_names_port if {
	# DOCKER-USER -p tcp -m conntrack --ctorigdstport 5432 -j RETURN before
	# a DROP: the allow-list idiom, the user lets the port on to Docker.
	r := {"ctorigdstport": [{"neg": false, "ranges": [[5432, 5432]]}], "target": {"name": "RETURN", "kind": "verdict"}}
	count(findings_through(r)) == 0
}

test_return_names_container_port if {
	# -p tcp -m multiport --dports 80,5432 -j RETURN: --dport sees the
	# container's port there, and names it.
	r := {"dports": [{"neg": false, "ranges": [[80, 80], [5432, 5432]]}], "target": {"name": "RETURN", "kind": "verdict"}}
	count(findings_through(r)) == 0
}

test_jump_to_docker_names_port if {
	r := {"ctorigdstport": [{"neg": false, "ranges": [[5432, 5432]]}], "target": {"name": "DOCKER-FORWARD", "kind": "chain"}}
	count(findings_through(r)) == 0
}

test_return_names_no_port if {
	# -j RETURN for every packet: nothing singles the port out.
	count(findings_through({"target": {"name": "RETURN", "kind": "verdict"}})) == 1
}

test_return_negated_port if {
	# ! --ctorigdstport 22 -j RETURN lets every port but 22 through.
	r := {"ctorigdstport": [{"neg": true, "ranges": [[22, 22]]}], "target": {"name": "RETURN", "kind": "verdict"}}
	count(findings_through(r)) == 1
}

test_jump_to_user_chain_names_port if {
	# --ctorigdstport 5432 -j LOGGING (a user chain that logs and comes
	# back): the port is named, but not let through by that rule.
	r := {"ctorigdstport": [{"neg": false, "ranges": [[5432, 5432]]}], "target": {"name": "LOGGING", "kind": "chain"}}
	count(findings_through(r)) == 1
}

test_accept_negated_port if {
	# DOCKER-USER -p tcp ! --dport 22 -j ACCEPT accepts every port but 22:
	# the user did not name this one.
	x := object.union(exposure, {"accepted_by": {"file": "u.conf", "line": 3, "column": 1, "table": "filter", "chain": "DOCKER-USER", "rule": 1, "id": "filter/DOCKER-USER/1"}})
	rules := [{"id": "filter/DOCKER-USER/1", "table": "filter", "chain": "DOCKER-USER", "dports": [{"neg": true, "ranges": [[22, 22]]}], "ctorigdstport": []}]
	chains := [{"table": "filter", "name": "DOCKER-USER", "docker_owned": false}]
	count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [x]}, "rules": rules, "chains": chains, "config": {"allowed_exposed": []}}
}

test_return_every_port if {
	# --dport 1:65535 -j RETURN names no port in particular: a RETURN of
	# everything.
	every rg in [[1, 65535], [0, 65535]] {
		r := {"dports": [{"neg": false, "ranges": [rg]}], "target": {"name": "RETURN", "kind": "verdict"}}
		count(findings_through(r)) == 1
	}
}

test_ipv6_container_in_brackets if {
	# An IPv6 container address's colons would run into the port's.
	x := object.union(exposure, {"container": object.union(exposure.container, {"container_addr": "fd00:dead:beef::2", "container_port": 80})})
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
	some f in fs
	startswith(f.msg, "tcp/5432, published to [fd00:dead:beef::2]:80, accepts")
	f.related[0].message == "Docker publishes tcp/5432 here: DNAT to [fd00:dead:beef::2]:80"
}

# -p 127.0.0.1:8443:443 on Docker 20.10: a neighbour on the link sends to
# 127.0.0.1, Docker's DNAT forwards it before routing drops it.
loopback_exposure := object.union(exposure, {
	"ports": [[8443, 8443]], "sources": ["any"], "any_source": false, "loopback": true,
	"container": object.union(exposure.container, {"host_port": 8443, "container_addr": "172.17.0.2", "container_port": 443}),
	"witness": {"proto": "tcp", "in": "ens33", "src": "203.0.113.7", "dst": "127.0.0.1", "dport": 8443},
})

test_loopback_reported_for_the_link if {
	fs := exposed_published_port.findings with input as {"analysis": {"exposure": [loopback_exposure]}, "config": {"allowed_exposed": []}}
	count(fs) == 1
	some f in fs
	f.msg == "tcp/8443, published to 172.17.0.2:443, accepts new connections from hosts on the same link as ens33 that send them to 127.0.0.1 (no router forwards 127.0.0.0/8: the link's neighbours, not the whole Internet)"
	f.related[0].line == 60
}

test_loopback_allowed if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[8443, 8443]], "sources": [], "interface": ""}]}
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [loopback_exposure]}, "config": cfg}
}

test_loopback_may_match_silent if {
	x := object.union(loopback_exposure, {"depends_on_may_match": true})
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
}

# The exposure's sources as the analysis writes them: "any", "any except
# …" and lists cut short with "…" are summaries, not prefixes.
test_allowed_every_address_takes_any if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["0.0.0.0/0"], "interface": ""}]}
	every s in [["any"], ["any except 10.0.0.0/8"], ["any except 10.0.0.0/8,… (more)"]] {
		x := object.union(exposure, {"sources": s, "any_source": true})
		count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [x]}, "config": cfg}
	}
}

test_allowed_prefix_does_not_take_any if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["0.0.0.0/1", "128.0.0.0/1"], "interface": ""}]}
	every s in [["any"], ["any except 10.0.0.0/8"]] {
		x := object.union(exposure, {"sources": s, "any_source": true})
		count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [x]}, "config": cfg}
	}
}

test_allowed_other_family_does_not_take_any if {
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["::/0"], "interface": ""}]}
	x := object.union(exposure, {"sources": ["any"]})
	count(exposed_published_port.findings) == 1 with input as {"family": "ipv4", "analysis": {"exposure": [x]}, "config": cfg}
}

test_allowed_list_cut_short if {
	# "…": sources the summary does not list may lie outside 10.0.0.0/8.
	cfg := {"allowed_exposed": [{"proto": "tcp", "ports": [[5432, 5432]], "sources": ["10.0.0.0/8"], "interface": ""}]}
	x := object.union(exposure, {"sources": ["10.0.0.0/24", "10.0.2.0/24", "…"], "any_source": true})
	count(exposed_published_port.findings) == 1 with input as {"analysis": {"exposure": [x]}, "config": cfg}
	y := object.union(x, {"sources": ["10.0.0.0/24", "10.0.2.0/24"]})
	count(exposed_published_port.findings) == 0 with input as {"analysis": {"exposure": [y]}, "config": cfg}
}
