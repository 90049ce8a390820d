# METADATA
# title: the host forwards new connections from outside to anywhere
# description: |
#   New connections arriving on an external interface are routed on
#   without DNAT (to container addresses directly, or to any network behind
#   the host): the host is an open router. Consumes
#   input.analysis.exposure (kind "forward"); silent until computed, and
#   when the exposure depends on a may-match rule or allowed_exposed takes
#   it. Reported at the accepting rule or policy.
# related_resources:
#   - description: Docker and iptables (direct routing to containers)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/
# custom:
#   id: DFW206
#   severity: error
package dfw.docker.forward_open

import data.dfw.docker.exposed_published_port as allow
import data.dfw.lib

findings contains f if {
	some x in input.analysis.exposure
	x.kind == "forward"
	not x.depends_on_may_match
	not published_only(x)
	not allow.allowed(x)
	f := {
		"msg": sprintf("new %s connections from %s arriving on %s are forwarded without DNAT (to %s): the host routes for anyone", [x.proto, concat(", ", x.sources), lib.iface(x.interface), object.get(x.witness, "dst", "?")]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": [lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path], "witness": x.witness,
	}
}

# Every port of the row is a container port Docker publishes: a packet
# routed straight to it is accepted by Docker's own DOCKER chain by design
# (Docker 20.10; 28 drops it in raw). That is Docker's exposure of a port
# the user published, not a forward left open.
published_only(x) if {
	x.proto in {"tcp", "udp", "sctp"}
	count(x.ports) > 0
	every rg in x.ports {
		some p in input.docker.published
		p.proto == x.proto
		p.container_port <= rg[0]
		rg[1] <= p.container_port_hi
	}
}
