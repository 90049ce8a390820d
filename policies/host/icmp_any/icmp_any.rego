# METADATA
# title: every ICMP type is accepted
# description: |
#   "-p icmp -j ACCEPT" (or "--icmp-type any") accepts every ICMP type:
#   echo requests, but also redirects, timestamp and address-mask requests,
#   router advertisements. Accept the types the host needs (echo-request;
#   destination-unreachable, time-exceeded and parameter-problem, or let a
#   RELATED rule take the errors about connections it knows). When the
#   chain is also reached from FORWARD, the rule forwards them to the
#   containers and to every host routed behind this one.
#
#   Reported at the rule's -p option for an IPv4 ACCEPT rule of the filter
#   table reached from INPUT or FORWARD, with no ICMP type (or type any),
#   no positive -s (a trusted source is a choice) and no conntrack state
#   condition, that some packet can reach (DFW101 reports one that none
#   can: it accepts nothing). IPv6 is left alone: ICMPv6 is needed for
#   neighbour discovery and path MTU discovery, and accepting it all is
#   common advice (RFC 4890 lists what to drop).
# related_resources:
#   - description: RFC 792, Internet Control Message Protocol
#     ref: https://www.rfc-editor.org/rfc/rfc792
# custom:
#   id: DFW303
#   severity: info
package dfw.host.icmp_any

import data.dfw.lib

findings contains f if {
	input.family == "ipv4"
	some r in lib.filter_rules_where("accept")
	lib.proto_is(r, "icmp")
	some hook in ["INPUT", "FORWARD"]
	lib.reached_from(r, hook)
	not typed(r)
	not lib.has(r, "src")
	count(r.ctstate) == 0
	not lib.unreachable(r)
	f := lib.rule_finding(r, r.proto.column, message(r), [], null)
}

typed(r) if {
	some m in r.matches
	m.icmp
	not m.icmp.any
}

message(r) := concat("", [base, forwarded]) if {
	base := "accepts every ICMP type (echo, redirect, timestamp, router advertisement…): accept the types you need, e.g. --icmp-type echo-request, and let a RELATED,ESTABLISHED rule take the errors"
	forwarded := forward_note(r)
}

forward_note(r) := "; reached from FORWARD, it also forwards them to containers and routed hosts" if lib.reached_from(r, "FORWARD")

forward_note(r) := "" if not lib.reached_from(r, "FORWARD")
