# METADATA
# title: the host accepts new connections on every port from outside
# description: |
#   On an external interface, new connections from any address to the host
#   are accepted on every port of a protocol (INPUT's policy ACCEPT with no
#   filtering for that interface, as in the seed's FILTERS hung off one
#   uplink only). Consumes input.analysis.exposure (kind "host"): reported
#   when one exposure whose sources are every address (lib.any_source, as
#   DFW304 reads them) covers all ports 1-65535 of tcp or udp, at the
#   accepting rule or policy. Silent for sources other than every address
#   (a management address, a private network: deliberate), when the
#   exposure depends on a may-match rule, and until computed.
# related_resources:
#   - description: iptables(8), chain policies
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW301
#   severity: error
package dfw.host.input_open

import data.dfw.lib

findings contains f if {
	some x in input.analysis.exposure
	x.kind == "host"
	x.proto in {"tcp", "udp"}
	not x.depends_on_may_match
	lib.any_source(x)
	some rg in x.ports
	rg[0] <= 1
	rg[1] >= 65535
	f := {
		"msg": sprintf("new %s connections from any address to every port of the host are accepted on %s: filter INPUT for this interface too", [x.proto, lib.iface(x.interface)]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": [lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path], "witness": x.witness,
	}
}
