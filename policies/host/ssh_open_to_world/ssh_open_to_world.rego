# METADATA
# title: ssh is open to every address
# description: |
#   New connections to the host's tcp/22 are accepted from any source on an
#   external interface. Often intended, hence info: consider a source
#   restriction, a VPN, or rate limiting. Consumes input.analysis.exposure
#   (kind "host"): a syntactic reading of the rules cannot tell whether an
#   earlier rule already drops the traffic, so this check waits for the
#   exact facts. Reported at the accepting rule when an exposure's ports
#   take 22 and its sources hold 0.0.0.0/0 (or ::/0), unless allowed_exposed
#   takes it.
# related_resources:
#   - description: Mozilla OpenSSH guidelines
#     ref: https://infosec.mozilla.org/guidelines/openssh
# custom:
#   id: DFW304
#   severity: info
package dfw.host.ssh_open_to_world

import data.dfw.lib

import data.dfw.docker.exposed_published_port as allow

findings contains f if {
	some x in input.analysis.exposure
	x.kind == "host"
	x.proto == "tcp"
	some rg in x.ports
	rg[0] <= 22
	22 <= rg[1]
	lib.any_source(x)
	not allow.allowed(x)
	f := {
		"msg": sprintf("ssh (tcp/22) accepts new connections from any address on %s: restrict the sources (-s), or put it behind a VPN", [lib.iface(x.interface)]),
		"file": x.accepted_by.file, "line": x.accepted_by.line, "column": x.accepted_by.column,
		"table": x.accepted_by.table, "chain": x.accepted_by.chain, "rule": object.get(x.accepted_by, "rule", 0),
		"related": [], "witness": object.union(x.witness, {"dport": 22}),
	}
}
