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
	not allow.allowed(x)
	f := {
		"msg": sprintf("new %s connections from %s arriving on %s are forwarded without DNAT (to %s): the host routes for anyone", [x.proto, concat(", ", x.sources), x.interface, object.get(x.witness, "dst", "?")]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": [lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path], "witness": x.witness,
	}
}
