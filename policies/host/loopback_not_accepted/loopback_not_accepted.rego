# METADATA
# title: INPUT drops by default and nothing accepts loopback traffic
# description: |
#   With INPUT's policy DROP (or a final catch-all DROP/REJECT) and no rule
#   that accepts what arrives on lo, the host cannot talk to itself:
#   databases on 127.0.0.1, DNS stubs, docker-proxy's hairpin, health
#   checks. Start INPUT with "-A INPUT -i lo -j ACCEPT".
#
#   Reported at INPUT's policy line (or the catch-all rule) when no ACCEPT
#   rule of a chain INPUT reaches could accept all loopback traffic: one
#   whose -i allows lo (absent, lo, a wildcard taking lo, or a negated name
#   other than lo), with no protocol, no match besides comments, and a -s
#   and -d that are absent, negated or inside 127.0.0.0/8 (resp. ::1).
#   Lenient on purpose: any such rule silences it, unless no packet can
#   reach it (an "-A INPUT -i lo -j ACCEPT" after a catch-all DROP, which
#   DFW101 reports too).
# related_resources:
#   - description: iptables(8)
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW302
#   severity: warning
package dfw.host.loopback_not_accepted

import data.dfw.lib

loopback := "127.0.0.0/8" if input.family == "ipv4"

loopback := "::1/128" if input.family == "ipv6"

# loopback_addr is the family's loopback address, as messages name it.
loopback_addr := "127.0.0.1" if input.family == "ipv4"

loopback_addr := "::1" if input.family == "ipv6"

findings contains f if {
	c := lib.chain("filter/INPUT")
	c.policy == "DROP"
	not accepts_loopback
	f := lib.policy_finding(c, sprintf("INPUT's policy is DROP and no rule accepts loopback traffic: the host cannot reach its own services on %s; add -A INPUT -i lo -j ACCEPT first", [loopback_addr]), [])
}

findings contains f if {
	c := lib.chain("filter/INPUT")
	c.policy == "ACCEPT"
	rs := lib.chain_rules(c)
	r := rs[count(rs) - 1] # INPUT's last rule
	r.target.name in {"DROP", "REJECT"}
	catch_all(r)
	not accepts_loopback
	f := lib.rule_finding(r, r.target.column, sprintf("INPUT ends with a catch-all %s and no rule accepts loopback traffic: the host cannot reach its own services on %s; add -A INPUT -i lo -j ACCEPT first", [r.target.name, loopback_addr]), [], null)
}

catch_all(r) if {
	not r["in"]
	not r.src
	not r.dst
	not r.proto
	count(r.matches) == 0
}

accepts_loopback if {
	some r in lib.filter_rules_where("accept")
	lib.reached_from(r, "INPUT")
	not lib.unreachable(r)
	in_allows_lo(r)
	addr_allows_lo(r, "src")
	addr_allows_lo(r, "dst")
	not r.proto
	every m in r.matches {
		m.name == "comment"
	}
}

in_allows_lo(r) if not r["in"]

in_allows_lo(r) if {
	not r["in"].neg
	r["in"].name == "lo"
}

in_allows_lo(r) if {
	not r["in"].neg
	r["in"].wildcard
	startswith("lo", r["in"].name)
}

in_allows_lo(r) if {
	r["in"].neg
	r["in"].name != "lo"
	not wildcard_lo(r["in"])
}

wildcard_lo(i) if {
	i.wildcard
	startswith("lo", i.name)
}

addr_allows_lo(r, k) if not r[k]

addr_allows_lo(r, k) if r[k].neg

addr_allows_lo(r, k) if {
	not r[k].neg
	net.cidr_contains(r[k].cidr, loopback)
}

addr_allows_lo(r, k) if {
	not r[k].neg
	net.cidr_contains(loopback, r[k].cidr)
}
