# METADATA
# title: a chain shared by INPUT and FORWARD accepts a port for containers too
# description: |
#   A chain entered from INPUT and from FORWARD (through DOCKER-USER) sees
#   connections to the host and to containers alike. After DNAT, --dport
#   sees the container's port: "-p tcp --dport 22 -j ACCEPT", meant for the
#   host's ssh, also accepts every connection forwarded to a container's
#   port 22 — a published -p 2222:22, or a container address routed to
#   directly.
#
#   Reported at the port option of an ACCEPT rule of the filter table whose
#   chain is reached from both INPUT and FORWARD, that matches by
#   destination port (--dport/--dports, not negated), with no state
#   condition that a new DNAT-ed connection fails (ESTABLISHED only,
#   "! --ctstate DNAT"; "--ctstate NEW" is no protection), no
#   --ctorigdstport (which says the published port is meant), no positive
#   -d (after DNAT a host address no longer matches), no -m addrtype
#   --dst-type LOCAL (the container's address is not the host's; the list
#   may add other types, not UNICAST) and no -i naming a Docker bridge
#   (or lo, whose packets are never forwarded).
#   Related: the jumps that enter the chain.
#   The published mappings whose container port it takes are named.
# related_resources:
#   - description: Docker and iptables (packet filtering and firewalls)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/
# custom:
#   id: DFW208
#   severity: warning
package dfw.docker.shared_chain_exposes_containers

import data.dfw.lib

findings contains f if {
	some r in lib.filter_rules_where("accept")
	lib.reached_from(r, "INPUT")
	lib.reached_from(r, "FORWARD")
	count(r.dports) > 0
	every p in r.dports {
		not p.neg
	}
	every s in r.ctstate {
		takes_new_dnat(s)
	}
	count(r.ctorigdstport) == 0
	not lib.has(r, "dst")
	not lib.local_destination_only(r)
	not from_bridge(r)
	c := lib.chain(sprintf("%s/%s", [r.table, r.chain]))
	related := [lib.at(x, sprintf("%s enters %s here", [x.chain, r.chain])) | some x in c.referenced_by]
	f := lib.rule_finding(
		r, r.dports[0].column, sprintf(
			"%s is entered from INPUT and from FORWARD: this ACCEPT of %s/%s, meant for the host, also accepts connections forwarded to any container's %s port %s (after DNAT --dport sees the container's port)%s; accept host ports in a chain only INPUT enters, and published ports with -m conntrack --ctorigdstport",
			[r.chain, proto(r), lib.port_list(r.dports[0]), proto(r), lib.port_list(r.dports[0]), mappings(r)],
		),
		related, null,
	)
}

proto(r) := r.proto.name if lib.has(r, "proto")

proto(r) := "any" if not lib.has(r, "proto")

# takes_new_dnat(s): the state condition s (--ctstate, --state) holds
# for a new connection that DNAT forwarded to a container, whose states are
# NEW and DNAT: a list that names either, or a negated list that names
# neither ("--ctstate NEW" still exposes the container; "ESTABLISHED" or
# "! --ctstate DNAT" does not).
takes_new_dnat(s) if {
	not s.neg
	some x in s.states
	x in {"NEW", "DNAT"}
}

takes_new_dnat(s) if {
	s.neg
	not "NEW" in s.states
	not "DNAT" in s.states
}

from_bridge(r) if {
	lib.has(r, "in")
	lib.is_bridge(r["in"].name)
}

# "-i lo": loopback traffic is the host's own and never forwarded.
from_bridge(r) if {
	lib.has(r, "in")
	r["in"].name == "lo"
	not r["in"].wildcard
}

mappings(r) := sprintf(", such as %s", [concat(", ", ms)]) if {
	ms := {sprintf("published %s/%d -> %s", [p.proto, p.host_port, lib.addr_port(p.container_addr, p.container_port)]) |
		some p in input.docker.published
		lib.proto_is(r, p.proto)
		lib.dports_contain(r, p.container_port)
	}
	count(ms) > 0
}

mappings(r) := "" if {
	not any_mapping(r)
}

any_mapping(r) if {
	some p in input.docker.published
	lib.proto_is(r, p.proto)
	lib.dports_contain(r, p.container_port)
}
