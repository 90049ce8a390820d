# METADATA
# title: --ctorigdstport names a container port instead of the published one
# description: |
#   --ctorigdstport is the destination port before DNAT, as the client
#   sent it. With -p 8000:80, "--ctorigdstport 8000" matches the published
#   connections and "--ctorigdstport 80" does not: 80 is the container's
#   port, which the client never used.
#
#   Reported at the --ctorigdstport of a rule of the filter table reached
#   from FORWARD, for every published mapping HOST->CONTAINER with HOST !=
#   CONTAINER whose protocol is the rule's, when the rule's --ctorigdstport
#   takes CONTAINER but not HOST, and CONTAINER is not itself a host port
#   Docker publishes (then the rule is right for that other mapping: with
#   the seed's -p 80:80 and -p 8000:80, "--ctorigdstport 80" is fine).
# related_resources:
#   - description: Docker and iptables (match the original destination)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/#match-the-original-ip-and-ports
# custom:
#   id: DFW209
#   severity: warning
package dfw.docker.ctorigdstport_names_container_port

import data.dfw.lib

host_ports contains p.host_port if some p in input.docker.published

findings contains f if {
	some r in lib.filter_rules_where("ctorigdstport") # names_container needs one; most rules have none
	lib.reached_from(r, "FORWARD")
	missed := [p |
		some p in input.docker.published
		names_container(r, p)
	]
	count(missed) > 0
	some p0 in missed
	related := [lib.at(p.dnat, sprintf("Docker publishes %s/%d here: DNAT to %s", [p.proto, p.host_port, lib.addr_port(p.container_addr, p.container_port)])) |
		some p in missed
	]
	f := lib.rule_finding(
		r, r.ctorigdstport[0].column, sprintf(
			"--ctorigdstport sees the port before DNAT: %d is the container port of published %s/%d -> %s, which clients never use; write --ctorigdstport %d (or --dport %d after DNAT)",
			[p0.container_port, p0.proto, p0.host_port, lib.addr_port(p0.container_addr, p0.container_port), p0.host_port, p0.container_port],
		),
		related, null,
	)
}

names_container(r, p) if {
	p.host_port == p.host_port_hi
	p.host_port != p.container_port
	not p.container_port in host_ports
	lib.proto_is(r, p.proto)
	lib.ctorigdstport_contain(r, p.container_port)
	not lib.ctorigdstport_contain(r, p.host_port)
}
