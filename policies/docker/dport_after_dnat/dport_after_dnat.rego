# METADATA
# title: --dport names a published host port where the packet already has the container port
# description: |
#   Docker publishes a port with a DNAT rule in nat PREROUTING: by the time
#   a connection reaches FORWARD (and DOCKER-USER) its destination is the
#   container's address and port. With -p 8000:80, "--dport 8000" in
#   FORWARD never matches those connections ("--dport 80" does, for every
#   container listening on 80); "-m conntrack --ctorigdstport 8000" matches
#   the port as published, and "--ctorigdst" the host address.
#
#   Reported at the --dport option of a rule of the filter table reached
#   from FORWARD, outside Docker's own chains, for every published mapping
#   HOST->CONTAINER with HOST != CONTAINER such that the rule's protocol is
#   the mapping's, its destination ports take HOST but not CONTAINER, and it
#   could see the DNAT-ed connection: no -i naming a Docker bridge, no -s
#   inside a bridge subnet (traffic that containers send is not DNAT-ed), no
#   -o naming a non-bridge interface, no "! -o" naming the container's
#   bridge, no -d or "! -d" that excludes the container, no state condition
#   no DNAT-ed connection meets ("! --ctstate DNAT": the rule says it is for
#   connections no DNAT rewrote; "--ctstate INVALID") and no -m addrtype
#   --dst-type LOCAL (after DNAT the destination is not the host's). A rule that also takes the container
#   port works for it and is left alone.
# related_resources:
#   - description: Docker and iptables (match the original destination)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/#match-the-original-ip-and-ports
#   - description: iptables-extensions conntrack --ctorigdstport
#     ref: https://ipset.netfilter.org/iptables-extensions.man.html#lbAO
# custom:
#   id: DFW203
#   severity: error
package dfw.docker.dport_after_dnat

import data.dfw.lib

findings contains f if {
	some r in lib.filter_rules_where("dports") # misses needs one; most rules have none
	lib.reached_from(r, "FORWARD")
	not lib.chain(sprintf("%s/%s", [r.table, r.chain])).docker_owned
	missed := [p |
		some p in input.docker.published
		misses(r, p)
	]
	count(missed) > 0
	some p0 in missed
	col := r.dports[0].column
	hosts := concat(", ", {sprintf("%s/%d", [p.proto, p.host_port]) | some p in missed})
	related := [lib.at(p.dnat, sprintf("Docker publishes %s/%d here: DNAT to %s", [p.proto, p.host_port, lib.addr_port(p.container_addr, p.container_port)])) |
		some p in missed
	]
	f := lib.rule_finding(
		r, col, sprintf(
			"--dport %d in a chain reached from FORWARD never sees connections to published port %s: Docker DNATs them in PREROUTING, so here the port is the container's (%d); match the published port with -m conntrack --ctorigdstport %d (and the host address with --ctorigdst)",
			[p0.host_port, hosts, p0.container_port, p0.host_port],
		),
		related, null,
	)
}

misses(r, p) if {
	p.host_port == p.host_port_hi
	p.host_port != p.container_port
	lib.proto_is(r, p.proto)
	lib.dports_contain(r, p.host_port)
	not lib.dports_contain(r, p.container_port)
	not from_containers(r)
	not elsewhere(r, p)
	not lib.local_destination_only(r) # after DNAT the address is no longer the host's
}

from_containers(r) if {
	lib.positive(r["in"])
	lib.is_bridge(r["in"].name)
}

from_containers(r) if {
	lib.positive(r.src)
	some b in input.docker.bridges
	some s in b.subnets
	net.cidr_contains(s, r.src.cidr)
}

elsewhere(r, _) if {
	lib.positive(r.out)
	not lib.is_bridge(r.out.name)
}

elsewhere(r, p) if {
	lib.positive(r.dst)
	not net.cidr_contains(r.dst.cidr, p.container_addr)
}

# "! -o docker0": the container is behind the interface the rule excludes.
elsewhere(r, p) if {
	r.out.neg
	names_iface(r.out, p.bridge)
}

# "! -d 172.16.0.0/12": the rule excludes the container's address.
elsewhere(r, p) if {
	r.dst.neg
	net.cidr_contains(r.dst.cidr, p.container_addr)
}

# A state condition no DNAT-ed connection meets ("--ctstate INVALID").
elsewhere(r, _) if {
	some s in r.ctstate
	not takes_dnat(s)
}

names_iface(i, name) if {
	not i.wildcard
	i.name == name
}

names_iface(i, name) if {
	i.wildcard
	startswith(name, i.name)
}

# takes_dnat(s): the state condition s holds for some DNAT-ed connection,
# whose states are DNAT and one of NEW, ESTABLISHED and RELATED.
takes_dnat(s) if {
	not s.neg
	some x in s.states
	x in {"NEW", "ESTABLISHED", "RELATED", "DNAT"}
}

takes_dnat(s) if {
	s.neg
	not "DNAT" in s.states
	some x in {"NEW", "ESTABLISHED", "RELATED"}
	not x in s.states
}
