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
#   publishes, a NodePort, a DNAT of the user's to another machine) never
#   reaches INPUT, whatever FORWARD then does with it, and is no hole:
#   input.analysis.diverted, from the same evaluation, holds those ports
#   per interface and protocol, and one from every address fills the host
#   exposure's gap. Silent for a port dropped before it reaches the host
#   (raw or mangle PREROUTING), for sources other than every address (a
#   management address, a private network: deliberate), when the exposure
#   or the DNAT depends on a may-match rule, and until computed.
# related_resources:
#   - description: iptables(8), chain policies
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW301
#   severity: error
package dfw.host.input_open

import data.dfw.lib

findings contains f if {
	some x in host_open
	widest(x)
	hs := holes(x.ports)
	every h in hs {
		covered(others(x), h)
	}
	f := {
		"msg": message(x, hs),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": array.concat(
			[lib.at(y.accepted_by, sprintf("also accepts %s %s", [y.proto, ports_text(y.ports)])) | some y in host_open; y != x; same(x, y)],
			[lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path],
		),
		"witness": x.witness,
	}
}

# host_open are the host's accepted new tcp and udp connections from any
# address, one entry per interface, protocol and accepting rule (or
# policy): a host may accept every port through several rules (a policy
# ACCEPT beside a rule for 22), which together leave no port filtered.
host_open := [x |
	some x in input.analysis.exposure
	x.kind == "host"
	x.proto in {"tcp", "udp"}
	not x.depends_on_may_match
	lib.any_source(x)
]

same(x, y) if [x.interface, x.proto] == [y.interface, y.proto]

# widest(x): x accepts the most ports of its interface and protocol (the
# first in the document on a tie): the finding points at it, once.
widest(x) if {
	every y in host_open {
		not wider(y, x)
	}
}

wider(y, x) if {
	same(x, y)
	y != x
	size(y.ports) > size(x.ports)
}

wider(y, x) if {
	same(x, y)
	y != x
	size(y.ports) == size(x.ports)
	[y.accepted_by.file, y.accepted_by.line] < [x.accepted_by.file, x.accepted_by.line]
}

size(ports) := sum([n | some rg in ports; n := (rg[1] - rg[0]) + 1])

# others(x) are the port ranges that fill x's holes: those the host's
# other accepting rules take on its interface and protocol
# (beside_ports), and those a DNAT sends away from the host there
# (forwarded_ports: they never reach INPUT, which is then no filter for
# them, whether FORWARD accepts or drops them).
others(x) := array.concat(beside_ports(x), forwarded_ports(x))

beside_ports(x) := [rg | some y in host_open; y != x; same(x, y); some rg in y.ports]

# forwarded_ports(x) are the ports a DNAT forwards on x's interface and
# protocol (object.get would read an array key as a path).
default forwarded_ports(_) := []

forwarded_ports(x) := forwarded[[x.interface, x.proto]]

message(x, hs) := sprintf("new %s connections from any address to every port of the host are accepted on %s%s: filter INPUT for this interface too", [x.proto, lib.iface(x.interface), filled(x, hs)])

# filled(x, hs) says how x's holes hs are filled: by the host's other
# accepting rules, or by a DNAT that forwards them.
filled(_, hs) := "" if count(hs) == 0

filled(x, hs) := sprintf(", those to %s by the rules beside this one", [ports_text(hs)]) if {
	count(hs) > 0
	count(dnat_holes(x, hs)) == 0
}

filled(x, hs) := sprintf(", those to %s once a DNAT forwards them", [ports_text(hs)]) if {
	count(hs) > 0
	count(dnat_holes(x, hs)) == count(hs)
}

filled(x, hs) := sprintf(", those to %s by the rules beside this one, those to %s once a DNAT forwards them", [ports_text(by_rules), ports_text(by_dnat)]) if {
	by_dnat := dnat_holes(x, hs)
	count(by_dnat) > 0
	count(by_dnat) < count(hs)
	by_rules := [h | some h in hs; not h in by_dnat]
}

# dnat_holes(x, hs) are the holes of x the host's other rules do not fill
# alone.
dnat_holes(x, hs) := [h | some h in hs; not covered(beside_ports(x), h)]

ports_text(ports) := concat(",", [lib.range_text(rg) | some rg in ports]) if count(ports) <= 6

ports_text(ports) := concat(",", array.concat([lib.range_text(rg) | some rg in array.slice(ports, 0, 6)], ["…"])) if count(ports) > 6

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

# covered(rs, h): the ranges rs cover every port of the range h.
covered(rs, h) if {
	ends := {p | some rg in rs; p := rg[1] + 1; h[0] < p; p <= h[1]}
	starts := ends | {h[0]}
	every p in starts {
		some rg in rs
		rg[0] <= p
		p <= rg[1]
	}
}

forwarded := {k: [rg | some y in diverted; [y.interface, y.proto] == k; some rg in y.ports] |
	some k in {[y.interface, y.proto] | some y in diverted}
}

# diverted are the DNATs that send the host's new connections from every
# address away before INPUT (the facts hold only those that depend on no
# may-match rule). A DNAT of a few sources only leaves the others to
# INPUT.
diverted := [y |
	some y in input.analysis.diverted
	lib.any_source(y)
]
