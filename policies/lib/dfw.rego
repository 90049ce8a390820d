# METADATA
# title: helpers shared by dfwlint's checks
# description: |
#   Builders for finding objects and small predicates over the input
#   document (see input.schema.json). Not a check: it has no entrypoint.
package dfw.lib

# chains maps "table/CHAIN" to the chain object, in a document that holds
# input.chains (see rules_served; lib.chain reads either form).
chains := {c.id: c | some c in input.chains} # one object, built once: a lookup is O(1)

# rules_served holds in the document dfwlint check gives its built-in checks
# when no --policy is given: it leaves input.rules, input.chains,
# input.commands and input.analysis.reachability out, and the functions
# dfw.input_rule, dfw.input_rule_by_id, dfw.input_table_rules,
# dfw.input_table_rules_where, dfw.input_rules_where, dfw.input_reachability_where, dfw.input_chain,
# dfw.input_table_chains, dfw.input_chains_where and dfw.input_commands_on
# serve them, each element as the document would hold it.
# The functions below read them either way; a document without
# rules_served (what dfwlint input prints, what a user's policy and a
# policy test get) has them in input.
rules_served if input.rules_served == true

# chain(id) is the chain of an id ("table/CHAIN"), undefined when there is
# none.
chain(id) := dfw.input_chain(id) if rules_served

chain(id) := chains[id] if not rules_served

# table_chains(name) are the chains of table name, in document order.
table_chains(name) := dfw.input_table_chains(name) if rules_served

table_chains(name) := [c | some c in input.chains; c.table == name] if not rules_served

# unreached_chains are the chains no built-in chain reaches (no hooks).
unreached_chains := dfw.input_chains_where("unreached") if rules_served

unreached_chains := [c | some c in input.chains; count(c.hooks) == 0] if not rules_served

# docker_owned_chains are the chains Docker owns.
docker_owned_chains := dfw.input_chains_where("docker_owned") if rules_served

docker_owned_chains := [c | some c in input.chains; c.docker_owned] if not rules_served

# commands_on(table, names) are the commands on a chain of table whose name
# is in the set names ("" for a command on the whole table), in document
# order within each chain.
commands_on(table, names) := [cmd | some name in names; some cmd in dfw.input_commands_on(table, name)] if rules_served

commands_on(table, names) := [cmd | some cmd in input.commands; cmd.table == table; cmd.chain in names] if not rules_served

# filter_rules are the rules of the filter table, the only table most checks
# read: a kube-proxy host has nearly all its rules in nat, and a walk over
# input.rules that drops them one by one costs a policy more than its
# checks. See table_rules.
filter_rules := table_rules("filter")

# filter_rules_where(field) are the rules of the filter table that field
# selects: "dports" (r.dports not empty), "ctorigdstport"
# (r.ctorigdstport not empty), "accept" (r.target.name ACCEPT) or "jump"
# (r.target.kind chain). A check that reads only such rules asks for them:
# a ruleset of 23,000 DROP rules by source then has none of its rules made
# for it.
filter_rules_where(field) := dfw.input_table_rules_where("filter", field) if rules_served

filter_rules_where("dports") := [r | some r in filter_rules; count(r.dports) > 0] if not rules_served

filter_rules_where("ctorigdstport") := [r | some r in filter_rules; count(r.ctorigdstport) > 0] if not rules_served

filter_rules_where("accept") := [r | some r in filter_rules; r.target.name == "ACCEPT"] if not rules_served

filter_rules_where("jump") := [r | some r in filter_rules; r.target.kind == "chain"] if not rules_served

# rule_at(i) is the rule at position i of input.rules.
rule_at(i) := dfw.input_rule(i) if rules_served

rule_at(i) := input.rules[i] if not rules_served

# chain_rules(c) are the rules of chain c (an element of input.chains), in
# order: the slice its first_rule and rules give, or, in a document
# without them, the rules that name its table and chain.
chain_rules(c) := [rule_at(i) | some i in numbers.range(c.first_rule, (c.first_rule + c.rules) - 1)] if {
	is_number(c.first_rule)
	c.rules > 0
}

chain_rules(c) := [] if {
	is_number(c.first_rule)
	c.rules == 0
}

chain_rules(c) := [r | some r in input.rules; r.table == c.table; r.chain == c.name] if {
	not rules_served
	not is_number(object.get(c, "first_rule", null))
}

# table_rules(name) are the rules of table name. input.rules lists the
# rules table by table: a table's rules are the slice its first_rule and
# rules give. A document without them (a test's own input, say) has its
# rules filtered by table instead.
table_rules(name) := dfw.input_table_rules(name) if rules_served

table_rules(name) := array.slice(input.rules, t.first_rule, t.first_rule + t.rules) if {
	not rules_served
	rules_indexed
	some t in input.tables
	t.name == name
}

table_rules(name) := [] if {
	not rules_served
	rules_indexed
	every t in input.tables {
		t.name != name
	}
}

table_rules(name) := [r | some r in input.rules; r.table == name] if {
	not rules_served
	not rules_indexed
}

rules_indexed if {
	count(input.tables) > 0
	every t in input.tables {
		is_number(t.first_rule)
		is_number(t.rules)
	}
}

# may_match_rules are the rules with a match that may match (r.may_match).
may_match_rules := dfw.input_rules_where("may_match") if rules_served

may_match_rules := [r | some r in input.rules; r.may_match] if not rules_served

# unknown_target_rules are the rules whose target dfw does not know.
unknown_target_rules := dfw.input_rules_where("target.unknown") if rules_served

unknown_target_rules := [r | some r in input.rules; r.target.unknown] if not rules_served

# unreachable_facts are the reachability facts of the rules no packet
# reaches (input.analysis.reachability, x.reachable false).
unreachable_facts := dfw.input_reachability_where("unreachable") if rules_served

unreachable_facts := [x | some x in input.analysis.reachability; not x.reachable] if not rules_served

# unreachable(r) holds for a rule no packet reaches (an unreachable fact that
# does not depend on a may-match): what it would do never happens.
unreachable(r) if r.id in unreachable_rule_ids

unreachable_rule_ids := {x.rule | some x in unreachable_facts; not x.depends_on_may_match}

# may_match_dependent_facts are the reachability facts of the rules whose
# reachability depends on a may-match rule (x.depends_on_may_match).
may_match_dependent_facts := dfw.input_reachability_where("depends_on_may_match") if rules_served

may_match_dependent_facts := [x | some x in input.analysis.reachability; x.depends_on_may_match] if not rules_served

# deciding_may_match_rules are the may-match rules (r.may_match) other
# than the rules of load-balancing groups (r.load_balancing): rules whose
# outcome changes more than which rule of such a group a packet takes.
deciding_may_match_rules := dfw.input_rules_where("may_match_deciding") if rules_served

deciding_may_match_rules := [r | some r in input.rules; r.may_match; not r.load_balancing] if not rules_served

# deciding_may_match_facts are the reachability facts of the rules whose
# reachability depends on a may-match rule other than the rules of
# load-balancing groups (x.may_match_load_balancing).
deciding_may_match_facts := dfw.input_reachability_where("depends_on_deciding_may_match") if rules_served

deciding_may_match_facts := [x |
	some x in input.analysis.reachability
	x.depends_on_may_match
	not x.may_match_load_balancing
] if not rules_served

# rule_by_id(id) is the rule with id id.
rule_by_id(id) := dfw.input_rule_by_id(id) if rules_served

rule_by_id(id) := rules_by_id[id] if not rules_served

# rules_by_id is built once per document: a lookup per call instead of a
# walk over every rule (a complete rule is cached; a function is not).
rules_by_id := {r.id: r | some r in input.rules}

# fact_rule(x) is the rule of a reachability or redundancy fact x: the rule
# at x.position (a lookup, where finding it by id walks every rule), or,
# in a document without positions, the rule with id x.rule.
fact_rule(x) := r if {
	rules_served
	r := dfw.input_rule(x.position)
	r.id == x.rule
}

fact_rule(x) := r if {
	not rules_served
	positioned(x)
	r := input.rules[x.position]
}

fact_rule(x) := r if {
	not rules_served
	not positioned(x)
	some r in input.rules
	r.id == x.rule
}

positioned(x) if input.rules[x.position].id == x.rule

# bridge_names are Docker's bridges and the bridge interfaces the rules name.
bridge_names contains b.name if some b in input.docker.bridges

bridge_names contains n if some n in input.host.bridges

# is_bridge(name) holds for a Docker bridge interface (by detection or by
# name: docker0, br-*).
is_bridge(name) if name in bridge_names

is_bridge("docker0")

is_bridge(name) if startswith(name, "br-")

# positive(x) holds for a present, non-negated match field. Beware: with
# an undefined argument, "not positive(r.src)" is undefined, not true; use
# "not has(r, "src")".
positive(x) if {
	x
	not x.neg
}

# has(r, field) holds when rule r has a non-negated field (src, dst, in,
# out, proto).
has(r, field) if positive(r[field])

# reached_from(r, hook) holds when r's chain is reached from hook.
reached_from(r, hook) if hook in r.hooks

# ports_contain(p, port) holds when the port set p (with its negation)
# contains port.
ports_contain(p, port) if {
	not p.neg
	some rg in p.ranges
	rg[0] <= port
	port <= rg[1]
}

ports_contain(p, port) if {
	p.neg
	every rg in p.ranges {
		not in_range(rg, port)
	}
}

in_range(rg, port) if {
	rg[0] <= port
	port <= rg[1]
}

# dports_contain(r, port) holds when r has destination-port conditions and
# all of them take port.
dports_contain(r, port) if {
	count(r.dports) > 0
	every p in r.dports {
		ports_contain(p, port)
	}
}

# ctorigdstport_contain(r, port): the same for --ctorigdstport.
ctorigdstport_contain(r, port) if {
	count(r.ctorigdstport) > 0
	every p in r.ctorigdstport {
		ports_contain(p, port)
	}
}

# proto_is(r, name) holds when r matches protocol name and no other.
proto_is(r, name) if {
	positive(r.proto)
	r.proto.name == name
}

# port_list(ps) formats a port set as iptables writes it ("80,8000:8080").
port_list(p) := concat(",", [s |
	some rg in p.ranges
	s := range_text(rg)
])

range_text(rg) := sprintf("%d", [rg[0]]) if rg[0] == rg[1]

range_text(rg) := sprintf("%d:%d", [rg[0], rg[1]]) if rg[0] != rg[1]

# addr_port(addr, port) writes an address and a port as each family does:
# "172.17.0.2:80", "[fd00::2]:80" (an IPv6 address's own colons would run
# into the port's otherwise).
addr_port(addr, port) := sprintf("[%s]:%d", [addr, port]) if contains(addr, ":")

addr_port(addr, port) := sprintf("%s:%d", [addr, port]) if not contains(addr, ":")

# local_destination_only(r) holds when rule r's -m addrtype --dst-type
# takes the host's own addresses and not unicast ones ("--dst-type LOCAL",
# also with BROADCAST or MULTICAST listed): a connection forwarded to a
# container, DNAT-ed or routed to its address, goes to an address that is
# not the host's, of type UNICAST and not LOCAL for iptables and ip6tables
# alike. --limit-iface-in/out only narrow which of the host's addresses
# count as LOCAL.
local_destination_only(r) if {
	some m in r.matches
	t := m.dst_type
	not t.neg
	"LOCAL" in t.types
	not "UNICAST" in t.types
}

# any_source(x) holds when the exposure or diverted fact x
# (input.analysis.exposure, input.analysis.diverted) takes new
# connections from the whole Internet: x.any_source, which dfw computes
# from the sources themselves, not from their summary. Every outside
# address but a small part counts (at most 1/64 of it: a fail2ban ban
# list, the private networks, Tailscale's spoofed 100.64.0.0/10), and on
# IPv6 only the global unicast space 2000::/3 is the Internet: -s
# 2000::/3, or everything but link-local fe80::/10 or unique local
# fc00::/7, is any source. DFW305's "open to every source" is the same
# test, port by port. A fact without any_source (one written by hand)
# takes every address only when its sources say so.
any_source(x) if x.any_source == true

any_source(x) if {
	not "any_source" in object.keys(x)
	some s in x.sources
	s in {"any", "0.0.0.0/0", "::/0"}
}

# at(x, message) is a related position.
# iface names an external interface in a message; "(unnamed)" stands for
# every interface the rules never name, such as a second uplink.
iface(name) := "any interface the rules never name (a second uplink, say)" if name == "(unnamed)"

iface(name) := name if name != "(unnamed)"

at(x, message) := {"file": x.file, "line": x.line, "column": object.get(x, "column", 1), "message": message}

# rule_finding(r, column, msg, related, witness) is a finding at rule r.
rule_finding(r, column, msg, related, witness) := {
	"msg": msg,
	"file": r.file,
	"line": r.line,
	"column": column,
	"table": r.table,
	"chain": r.chain,
	"rule": r.index,
	"related": related,
	"witness": witness,
}

# chain_finding(c, msg, related) is a finding at chain c's declaration.
chain_finding(c, msg, related) := {
	"msg": msg,
	"file": c.file,
	"line": c.line,
	"column": c.column,
	"table": c.table,
	"chain": c.name,
	"related": related,
	"witness": null,
}

# policy_finding(c, msg, related) is a finding at the line that set chain
# c's policy (its declaration when no file set it).
policy_finding(c, msg, related) := {
	"msg": msg,
	"file": c.policy_loc.file,
	"line": c.policy_loc.line,
	"column": c.policy_loc.column,
	"table": c.table,
	"chain": c.name,
	"related": related,
	"witness": null,
} if c.policy_loc

policy_finding(c, msg, related) := chain_finding(c, msg, related) if not c.policy_loc

# command_finding(cmd, msg) is a finding at a restore command.
command_finding(cmd, msg) := {
	"msg": msg,
	"file": cmd.file,
	"line": cmd.line,
	"column": cmd.column,
	"table": cmd.table,
	"chain": cmd.chain,
	"related": [],
	"witness": null,
}
