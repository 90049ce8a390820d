# METADATA
# title: a port closed to the outside on one address family is open on the other
# description: |
#   A host's IPv4 and IPv6 rules are two rulesets (iptables and
#   ip6tables): a port closed in one is easily left open in the other, as
#   with an ip6tables file whose INPUT policy is still ACCEPT beside a
#   strict iptables one, or a source restriction (-s) written for IPv4
#   only. Consumes input.analysis.family_gap, computed when the ruleset is
#   checked with the other family's ruleset of the same host (dfwlint check
#   --ipv6 FILE, or both dumps among the FILEs): per external interface, a
#   tcp or udp port that every outside source reaches here while the other
#   family closes it or opens it to some sources only, or that some
#   sources reach here while the other family closes it. Every source is
#   the whole Internet, as lib.any_source has it: on IPv6, -s 2000::/3 or
#   all but fe80::/10 is every source. Silent when the other family is
#   shut (peer_shut: it accepts no new connection from outside on any tcp
#   or udp port, DHCP and DHCPv6 aside, as rules.v6 of a host without
#   IPv6): that family is not served, on purpose; one that opens some
#   ports but not this one still has the gap. Reported at the
#   accepting rule or policy (when that is a --base file's, as Docker's
#   ACCEPT in a live dump, at the checked file's last rule on the path),
#   with the other family's dropping rule or policy in related; silent
#   when either family's analysis is incomplete.
# related_resources:
#   - description: ip6tables(8), the IPv6 counterpart of iptables
#     ref: https://ipset.netfilter.org/ip6tables.man.html
# custom:
#   id: DFW305
#   severity: warning
package dfw.host.ipv6_gap

import data.dfw.lib

findings contains f if {
	some x in input.analysis.family_gap
	not x.peer_shut
	related := array.concat(decided(x), [lib.at(s, sprintf("path: %s", [s.chain])) | some s in x.path])
	f := {
		"msg": sprintf("%s %s %s %s open to %s over %s but %s over %s (%s), on %s: close it here, or open it there as well", [
			x.proto, plural_port(x), destination(x.kind), verb_be(x), here(x), family(x.family),
			there(x), family(x.peer_family), concat(", ", x.peer_files), interfaces(x),
		]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": related, "witness": x.witness,
	}
}

single_port(x) if {
	count(x.ports) == 1
	x.ports[0][0] == x.ports[0][1]
}

plural_port(x) := sprintf("port %s", [x.ports_text]) if single_port(x)

plural_port(x) := sprintf("ports %s", [x.ports_text]) if not single_port(x)

verb_be(x) := "is" if single_port(x)

verb_be(x) := "are" if not single_port(x)

# interfaces(x) names the interfaces of a gap: "eth0", "eth0 and eth1",
# "eth0, eth1 and any interface the rules never name (…)".
interfaces(x) := lib.iface(x.interface) if count(object.get(x, "interfaces", [])) < 2

interfaces(x) := sprintf("%s and %s", [concat(", ", names), last]) if {
	n := count(x.interfaces)
	n >= 2
	names := [lib.iface(i) | some i in array.slice(x.interfaces, 0, n - 1)]
	last := lib.iface(x.interfaces[n - 1])
}

destination("host") := "to the host"

destination("container") := "to a published container port"

destination("forward") := "routed to containers"

here(x) := "every source" if x.open == "all"

here(x) := concat(", ", x.sources) if x.open == "some"

there(x) := "closed" if x.peer_open == "none"

there(x) := "open only to some sources" if x.peer_open == "some"

family("ipv4") := "IPv4"

family("ipv6") := "IPv6"

decided(x) := [lib.at(x.peer_decided_by, sprintf("%s %s here", [verb(x), family(x.peer_family)]))] if x.peer_decided_by

decided(x) := [] if not x.peer_decided_by

verb(x) := "closed on" if x.peer_open == "none"

verb(x) := "other sources dropped on" if x.peer_open == "some"
