# METADATA
# title: the host accepts new connections on every port from outside
# description: |
#   On an external interface, new connections from any address to the host
#   are accepted on every port of a protocol (INPUT's policy ACCEPT with no
#   filtering for that interface, as in the seed's FILTERS hung off one
#   uplink only). Consumes input.analysis.exposure: reported when one
#   exposure of kind "host" whose sources are every address (lib.any_source,
#   as DFW304 reads them) covers all ports 1-65535 of tcp or udp, at the
#   accepting rule or policy. A port a DNAT forwards away (a port Docker
#   publishes, a NodePort, a DNAT of the user's) never reaches INPUT and is
#   no hole: an exposure of kind "container" on the same interface and
#   protocol that holds it fills the host exposure's gap (a forwarded port
#   that FORWARD drops gives no such exposure and leaves the gap). Silent
#   for a port dropped before it reaches the host, for sources other than
#   every address (a management address, a private network: deliberate),
#   when the exposure depends on a may-match rule, and until computed.
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
	hs := holes(x.ports)
	every h in hs {
		forwarded_covers(x, h)
	}
	f := {
		"msg": message(x, hs),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": [lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path], "witness": x.witness,
	}
}

# message(x, hs) names the holes of x's ports (hs) that DNATs fill.
message(x, hs) := sprintf("new %s connections from any address to every port of the host are accepted on %s: filter INPUT for this interface too", [x.proto, lib.iface(x.interface)]) if count(hs) == 0

message(x, hs) := sprintf("new %s connections from any address to every port of the host are accepted on %s, those to %s once a DNAT forwards them: filter INPUT for this interface too", [x.proto, lib.iface(x.interface), hole_text(hs)]) if count(hs) > 0

# hole_text lists the holes as ports ("80,8000:8001"), the first six only.
hole_text(hs) := concat(",", [lib.range_text(h) | some h in hs]) if count(hs) <= 6

hole_text(hs) := concat(",", array.concat([lib.range_text(h) | some h in array.slice(hs, 0, 6)], ["…"])) if count(hs) > 6

# holes(ports) are the ranges of ports 1-65535 that ports lacks, in order.
# ports are sorted, disjoint and not adjacent, as the exposure facts give
# them.
holes(ports) := [[1, 65535]] if count(ports) == 0

holes(ports) := [h |
	some h in array.concat(
		array.concat(
			[[1, ports[0][0] - 1]],
			[[ports[i - 1][1] + 1, rg[0] - 1] | some i, rg in ports; i > 0],
		),
		[[ports[count(ports) - 1][1] + 1, 65535]],
	)
	h[0] <= h[1]
] if count(ports) > 0

# forwarded_covers(x, h): the ports of hole h of host exposure x are all
# forwarded by a DNAT on x's interface and protocol (exposures of kind
# container, which give the ports as the packet arrives). Every port of h
# is covered when h's first port and each port right after the end of a
# forwarded range inside h are.
forwarded_covers(x, h) if {
	rs := forwarded[[x.interface, x.proto]]
	ends := {p | some rg in rs; p := rg[1] + 1; h[0] < p; p <= h[1]}
	starts := ends | {h[0]}
	every p in starts {
		some rg in rs
		rg[0] <= p
		p <= rg[1]
	}
}

# forwarded maps [interface, proto] to the port ranges of the container
# exposures there that hold whatever a may-match rule does. Built once (a
# complete rule), grouping by the few interface and protocol pairs.
forwarded := {k: [rg | some y in containers; [y.interface, y.proto] == k; some rg in y.ports] |
	some k in {[y.interface, y.proto] | some y in containers}
}

containers := [y |
	some y in input.analysis.exposure
	y.kind == "container"
	not y.depends_on_may_match
]
