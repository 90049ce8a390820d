# METADATA
# title: an INPUT rule filters a port Docker publishes, which INPUT never sees
# description: |
#   A connection to a port Docker publishes is DNAT-ed in nat PREROUTING and
#   then takes FORWARD, not INPUT: an INPUT rule that accepts or drops that
#   port never sees it (only docker-proxy's leftovers do: hairpin traffic
#   from the bridge, 127.0.0.0/8). Filter published ports in DOCKER-USER,
#   with -m conntrack --ctorigdstport.
#
#   Reported at the port option of a rule of the filter table whose chain
#   is reached from INPUT and not from FORWARD, whose target is ACCEPT,
#   DROP or REJECT, whose protocol is a published mapping's and whose
#   destination ports (--dport/--dports or --ctorigdstport) take its host
#   port, unless the rule's -i names a Docker bridge, its -d is in
#   127.0.0.0/8 or excludes the mapping's host address, or the mapping is
#   bound to a loopback address (-p 127.0.0.1:8080:80): Docker's DNAT then
#   takes only packets sent to that address, and INPUT sees the connections
#   to the port on every other address of the host. A mapping bound to one
#   address (-p 10.0.0.5:8080:80) is named with it: the rule misses the
#   connections to that address alone.
# related_resources:
#   - description: Docker and iptables (packet filtering and firewalls)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/
# custom:
#   id: DFW202
#   severity: error
package dfw.docker.input_rule_misses_docker

import data.dfw.lib

findings contains f if {
	count(input.docker.published) > 0 # first: a host without published ports has nothing to miss
	some r in lib.filter_rules
	lib.reached_from(r, "INPUT")
	not lib.reached_from(r, "FORWARD")
	r.target.name in {"ACCEPT", "DROP", "REJECT"}
	missed := [p |
		some p in input.docker.published
		sees_not(r, p)
	]
	count(missed) > 0
	ports := concat(", ", {port_text(p) | some p in missed})
	related := [lib.at(p.dnat, sprintf("Docker publishes %s/%d here: DNAT to %s, so the connection takes FORWARD", [p.proto, p.host_port, lib.addr_port(p.container_addr, p.container_port)])) |
		some p in missed
	]
	f := lib.rule_finding(
		r, column(r), sprintf(
			"this rule in a chain reached only from INPUT never sees connections to %s, which Docker publishes: they are DNAT-ed in PREROUTING and take FORWARD; filter them in DOCKER-USER with -m conntrack --ctorigdstport",
			[ports],
		),
		related, null,
	)
}

column(r) := r.dports[0].column if count(r.dports) > 0

column(r) := r.ctorigdstport[0].column if {
	count(r.dports) == 0
	count(r.ctorigdstport) > 0
}

sees_not(r, p) if {
	lib.proto_is(r, p.proto)
	takes_port(r, p.host_port)
	not from_bridge(r)
	not local_only(r, p)
	not loopback_bound(p)
}

# port_text(p) names a published port, with its host address when the
# mapping is bound to one.
port_text(p) := sprintf("%s/%d", [p.proto, p.host_port]) if p.host_addr == ""

port_text(p) := sprintf("%s/%d on %s", [p.proto, p.host_port, p.host_addr]) if p.host_addr != ""

# loopback_bound(p): the mapping is bound to a loopback address. Its DNAT
# takes only packets sent to that address, which no router forwards (a
# neighbour's packet to it is DFW201's business); a connection from outside
# to the port on any other address of the host is not DNAT-ed and reaches
# INPUT, where the rule sees it.
loopback_bound(p) if {
	p.host_addr != ""
	some lo in ["127.0.0.0/8", "::1/128"]
	net.cidr_contains(lo, p.host_addr)
}

takes_port(r, port) if lib.dports_contain(r, port)

takes_port(r, port) if lib.ctorigdstport_contain(r, port)

from_bridge(r) if {
	lib.has(r, "in")
	lib.is_bridge(r["in"].name)
}

local_only(r, _) if {
	lib.has(r, "dst")
	net.cidr_contains("127.0.0.0/8", r.dst.cidr)
}

local_only(r, p) if {
	lib.has(r, "dst")
	p.host_addr != ""
	not net.cidr_contains(r.dst.cidr, p.host_addr)
}
