# METADATA
# title: a DROP in DOCKER-USER without -i also drops what containers send
# description: |
#   Every forwarded packet crosses DOCKER-USER: connections from outside to
#   containers, but also what containers send out and between bridges, and
#   the replies to it. A DROP or REJECT there without "-i <external
#   interface>" cuts the containers' own traffic too. Docker's documentation
#   writes it "-i ext_if ! -s 192.0.2.2 -j DROP".
#
#   Reported at the rule's target for a DROP or REJECT in DOCKER-USER, or in
#   a chain DOCKER-USER reaches through jumps none of which has a positive
#   -i, when the rule itself has no -i (even negated: "! -i docker0" says
#   which side is meant; what it does to replies is DFW204's business) and
#   no positive -s or -o (those too say which traffic is meant) and does not match only INVALID packets (dropping
#   INVALID everywhere is good practice). Once input.analysis.outbound is
#   computed (and complete), only when the rule drops some new connection a container
#   opens to the outside, or to another container of its bridge (with
#   br_netfilter the frames between them cross FORWARD; only when deleting
#   the rule would let that connection through): a DROP that earlier rules
#   keep the containers' traffic from ("-i docker0 -j RETURN", "-i br-+ -j
#   RETURN" first) is the external-interface filter the check asks for.
# related_resources:
#   - description: Docker and iptables (restrict connections to the Docker host)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/#restrict-external-connections-to-containers
# custom:
#   id: DFW205
#   severity: warning
package dfw.docker.docker_user_drop_without_iface

import data.dfw.lib

# jumps: [from, to] for each jump without a positive -i (filter table).
jumps contains [r.chain, r.target.name] if {
	some r in lib.filter_rules_where("jump")
	not lib.has(r, "in")
}

# edges: the jumps from chain to chain. "tos := {... from == name}" in a
# rule body is indexed once by OPA (comprehension indexing), so this is
# linear in the jumps; a comprehension per chain in the rule head was
# chains × rules (minutes on 10,000 chains).
edges := {name: tos |
	some c in lib.table_chains("filter")
	name := c.name
	tos := {to | some j in jumps; j[0] == name; to := j[1]}
}

unconstrained := graph.reachable(edges, {"DOCKER-USER"})

findings contains f if {
	some name in unconstrained
	some r in lib.chain_rules(lib.chain(sprintf("filter/%s", [name])))
	r.target.name in {"DROP", "REJECT"}
	not r["in"]
	not lib.has(r, "src")
	not lib.has(r, "out")
	not invalid_only(r)
	drops_containers(r)
	via := via_text(r.chain)
	f := lib.rule_finding(
		r, r.target.column, sprintf(
			"%s%s without -i: it also drops %s, and the replies to it; restrict it to the external interface (-i %s)",
			[r.target.name, via, dropped_text(r), iface_hint],
		),
		[], null,
	)
}

# The bridges whose containers' connections to each other the rule drops.
peers_dropped(r) := {x.bridge |
	some x in input.analysis.outbound
	x.dropped_by.id == r.id
	x.to == "bridge"
}

drops_outside(r) if {
	some x in input.analysis.outbound
	x.dropped_by.id == r.id
	object.get(x, "to", "outside") == "outside"
}

dropped_text(r) := "what containers send out and between bridges" if {
	count(peers_dropped(r)) == 0
}

dropped_text(r) := sprintf("what the containers of %s send each other (with br_netfilter the frames between them cross FORWARD)", [concat(", ", sort(peers_dropped(r)))]) if {
	count(peers_dropped(r)) > 0
	not drops_outside(r)
}

dropped_text(r) := sprintf("what containers send out and between bridges, what the containers of %s send each other", [concat(", ", sort(peers_dropped(r)))]) if {
	count(peers_dropped(r)) > 0
	drops_outside(r)
}

via_text(chain) := "" if chain == "DOCKER-USER"

via_text(chain) := sprintf(" in %s, reached from DOCKER-USER without an -i condition,", [chain]) if chain != "DOCKER-USER"

iface_hint := concat(" or -i ", input.host.external_interfaces) if count(input.host.external_interfaces) > 0

iface_hint := "<external interface>" if count(input.host.external_interfaces) == 0

# drops_containers(r): the outbound analysis found a container's new
# connection to the outside dropped by r; without the analysis, or when it
# stopped short, every such rule may.
drops_containers(r) if {
	some x in input.analysis.outbound
	x.dropped_by.id == r.id
}

drops_containers(_) if not object.get(input, ["analysis", "computed", "outbound"], false)

drops_containers(_) if {
	some i in input.analysis.incomplete
	i.analysis == "outbound"
}

invalid_only(r) if {
	some s in r.ctstate
	not s.neg
	every st in s.states {
		st == "INVALID"
	}
}
