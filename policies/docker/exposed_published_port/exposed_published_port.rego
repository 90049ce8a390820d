# METADATA
# title: a published port is open to the outside
# description: |
#   New connections arriving on an external interface reach a container
#   through a port Docker publishes (docker run -p), often without the
#   user knowing that Docker's rules bypass INPUT. Consumes
#   input.analysis.exposure (kind "container"); silent until computed.
#   Reported at the rule (or policy) that accepted the witness, with the
#   DNAT rule and the path in related. Not reported when
#   .dfwlint.yaml's allowed_exposed takes the port (protocol, port, the
#   exposure's sources within the allowed sources, interface), nor when the
#   exposure depends on a may-match rule, nor when the user names the port:
#   a rule outside Docker's chains that matches it by a non-negated
#   --dport, --dports or --ctorigdstport accepts the connection or, on its
#   path through the filter table, RETURNs it (or jumps to a Docker chain),
#   as DOCKER-USER's allow-list "--ctorigdstport 8080 -j RETURN" before
#   "-j DROP" does.
#
#   A port published on 127.0.0.1 (-p 127.0.0.1:8080:80) is reported too
#   when a machine on the link of an external interface can reach it by
#   sending its packet to 127.0.0.1 (an exposure with loopback set):
#   Docker's DNAT in PREROUTING forwards it to the container before
#   routing would drop it. No router forwards 127.0.0.0/8, so the
#   message names the link's neighbours, not the Internet. Docker 28's
#   raw-table DROP of such packets (-d 127.0.0.1/32 ! -i lo) closes it.
# related_resources:
#   - description: Docker and iptables (published ports bypass INPUT)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/
# custom:
#   id: DFW201
#   severity: warning
package dfw.docker.exposed_published_port

import data.dfw.lib

findings contains f if {
	some x in input.analysis.exposure
	x.kind == "container"
	not x.loopback
	not x.depends_on_may_match
	lib.any_source(x)
	not named_by_user(x)
	not allowed(x)
	p := x.container
	related := array.concat(
		[lib.at(p.dnat, sprintf("%s publishes %s/%d here: DNAT to %s", [publisher(p.dnat), p.proto, p.host_port, lib.addr_port(p.container_addr, p.container_port)]))],
		[lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path],
	)
	f := {
		"msg": sprintf("%s/%d, published to %s, accepts new connections from %s on %s", [x.proto, x.witness.dport, lib.addr_port(p.container_addr, p.container_port), concat(", ", x.sources), lib.iface(x.interface)]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": related, "witness": x.witness,
	}
}

# A port published on the loopback address, reached by the machines on the
# link through that address.
findings contains f if {
	some x in input.analysis.exposure
	x.kind == "container"
	x.loopback
	not x.depends_on_may_match
	not named_by_user(x)
	not allowed(x)
	p := x.container
	related := array.concat(
		[lib.at(p.dnat, sprintf("%s publishes %s/%d on %s here: DNAT to %s, in PREROUTING, before routing would drop a packet to %s from outside", [publisher(p.dnat), p.proto, p.host_port, x.witness.dst, lib.addr_port(p.container_addr, p.container_port), x.witness.dst]))],
		[lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path],
	)
	f := {
		"msg": sprintf("%s/%d, published to %s, accepts new connections from hosts on the same link as %s that send them to %s (no router forwards 127.0.0.0/8: the link's neighbours, not the whole Internet)", [x.proto, x.witness.dport, lib.addr_port(p.container_addr, p.container_port), lib.iface(x.interface), x.witness.dst]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": related, "witness": x.witness,
	}
}

# publisher(d) names what published the port: Docker for its DNAT rules in
# nat DOCKER, else the chain of the DNAT rule (kube-proxy's KUBE-SEP-…
# chains for a NodePort, a user's own chain).
publisher(d) := "Docker" if object.get(d, "chain", "DOCKER") == "DOCKER"

publisher(d) := sprintf("chain %s", [d.chain]) if object.get(d, "chain", "DOCKER") != "DOCKER"

# The user chose to expose the port: a rule outside Docker's own chains
# that names it accepts the connection...
named_by_user(x) if {
	r := lib.rule_by_id(x.accepted_by.id)
	user_names_port(r)
}

# ... or, on the packet's path through the filter table, lets it on to
# Docker's rules: a RETURN, or a jump to one of Docker's chains. That is
# DOCKER-USER's allow-list ("--ctorigdstport 8080 -j RETURN" before
# "-j DROP"), in DOCKER-USER or a chain it enters. A RETURN that names no
# port (every packet, replies only) says nothing about this one.
named_by_user(x) if {
	some s in x.path
	s.table == "filter"
	r := lib.rule_by_id(s.id)
	passes_to_docker(r)
	user_names_port(r)
}

passes_to_docker(r) if r.target.name == "RETURN"

passes_to_docker(r) if {
	r.target.kind == "chain"
	docker_owned[["filter", r.target.name]]
}

# A rule of a chain Docker does not own names destination ports (a
# non-negated --dport, --dports or --ctorigdstport). On the packet's path
# it matched, so the connection's port is among them.
user_names_port(r) if {
	not docker_owned[[r.table, r.chain]]
	some p in array.concat(r.dports, r.ctorigdstport)
	not p.neg
	not every_port(p)
}

# every_port(p): the port condition p takes every port from 1 up
# ("--dport 1:65535" names no port in particular).
every_port(p) if {
	some rg in p.ranges
	rg[0] <= 1
	rg[1] >= 65535
}

# Docker's own chains, built once per ruleset: a lookup per exposure
# instead of a walk over every chain. A complete rule (a comprehension):
# OPA caches its value, where a partial set looked up with a key is
# evaluated anew for each lookup.
docker_owned := {[c.table, c.name] | some c in lib.docker_owned_chains}

allowed(x) if {
	some a in input.config.allowed_exposed
	a.proto in {"", x.proto}
	a.interface in {"", x.interface}
	every rg in x.ports {
		some ar in a.ports
		ar[0] <= rg[0]
		rg[1] <= ar[1]
	}
	sources_allowed(a, x)
}

sources_allowed(a, _) if count(a.sources) == 0

sources_allowed(a, x) if {
	count(a.sources) > 0
	every s in x.sources {
		source_allowed(s, a.sources)
	}
}

# An exposure's sources are a summary: prefixes and addresses, "any",
# "any except …" (nearly every address) and "…" (a list cut short). A
# prefix or an address is allowed within an allowed prefix; "any" and
# "any except …" within an allowed 0.0.0.0/0 (::/0 on IPv6) alone; "…"
# within none, since the sources it stands for are not listed.
source_allowed(s, allowed) if {
	not startswith(s, "any")
	s != "…"
	some src in allowed
	net.cidr_contains(src, s)
}

source_allowed(s, allowed) if {
	startswith(s, "any")
	some src in allowed
	src == every_address[object.get(input, "family", "ipv4")]
}

every_address := {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}
