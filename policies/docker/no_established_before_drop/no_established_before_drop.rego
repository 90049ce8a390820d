# METADATA
# title: replies are dropped before any RELATED,ESTABLISHED accept
# description: |
#   The replies to connections containers open come back on the uplink
#   as ESTABLISHED packets through FORWARD (DOCKER-USER first). A DROP or
#   REJECT on that path that takes them before a "--ctstate
#   RELATED,ESTABLISHED" accept or RETURN cuts the outgoing connections
#   of the containers. A TCP or UDP reply comes back to the port the
#   connection was opened from, one of the ephemeral ports the kernel
#   picks (Linux's default net.ipv4.ip_local_port_range, 32768-60999): a
#   DROP of a service's port (--dport 5432) cuts none, one of every tcp
#   packet or of a range that holds such ports does. Consumes
#   input.analysis.established (the fate of a reply per hook and external
#   interface, with the dropping rule); only its FORWARD entries; silent
#   until computed.
# related_resources:
#   - description: iptables-extensions(8), conntrack
#     ref: https://ipset.netfilter.org/iptables-extensions.man.html
# custom:
#   id: DFW204
#   severity: error
package dfw.docker.no_established_before_drop

findings contains f if {
	some x in input.analysis.established

	# The FORWARD path only: the replies of connections containers opened.
	# (A host whose INPUT drops its own replies is broken in a way its owner
	# notices at once; the check is about what Docker hosts get wrong.)
	x.hook == "FORWARD"
	x.verdict in {"DROP", "REJECT"}
	d := x.dropped_by
	f := {
		"msg": sprintf("replies arriving on %s (%s) to connections %s opened are dropped here, before any RELATED,ESTABLISHED accept: put -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT before it", [x.interface, x.hook, opener(x.hook)]),
		"file": d.file, "line": d.line, "column": d.column, "table": d.table, "chain": d.chain,
		"rule": object.get(d, "rule", 0), "related": [], "witness": x.witness,
	}
}

opener("INPUT") := "the host"

opener("FORWARD") := "containers and routed hosts"
