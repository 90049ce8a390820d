# METADATA
# title: a user chain that no packet can enter
# description: |
#   A user chain that no rule jumps or goes to, or that is entered only from
#   chains no built-in chain reaches, or only from rules no packet reaches
#   (with the reachability facts), never sees a packet: its rules are dead,
#   or a jump to it is missing or misplaced.
#
#   Reported at the chain's declaration (":CHAIN" or "-N"). Left alone:
#   empty chains nothing enters (a placeholder), DOCKER-USER and Docker's
#   own chains (Docker hooks them itself when it starts, so a rules file
#   linted without Docker's rules legitimately leaves them unreferenced).
# related_resources:
#   - description: iptables(8), user-defined chains
#     ref: https://ipset.netfilter.org/iptables.man.html
# custom:
#   id: DFW103
#   severity: info
package dfw.graph.unused_chain

import data.dfw.lib

docker_hooked := {"DOCKER-USER", "DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-INTERNAL", "DOCKER-INGRESS"}

findings contains f if {
	some c in lib.unreached_chains # most chains are reached
	not c.builtin
	c.rules > 0
	not c.name in docker_hooked
	count(c.referenced_by) == 0
	f := lib.chain_finding(c, sprintf("chain %s has %d rules but no rule jumps or goes to it: no packet ever enters it", [c.name, c.rules]), [])
}

findings contains f if {
	some c in lib.unreached_chains # most chains are reached
	not c.builtin
	c.rules > 0
	not c.name in docker_hooked
	count(c.referenced_by) > 0
	related := [lib.at(r, sprintf("jump from %s, itself entered by no built-in chain", [r.chain])) | some r in c.referenced_by]
	f := lib.chain_finding(c, sprintf("chain %s is entered only from chains that no built-in chain reaches: no packet ever enters it", [c.name]), related)
}

# Chains reached from a built-in chain whose every jump or goto is a rule
# no packet reaches (DFW101 reports the rule; this, the chain it leaves
# dead).
findings contains f if {
	some x in lib.unreachable_facts # few rules are unreachable
	not x.depends_on_may_match
	r := lib.fact_rule(x)
	r.target.kind == "chain"
	c := lib.chain(sprintf("%s/%s", [r.table, r.target.name]))
	count(c.hooks) > 0 # else the findings above
	not c.builtin
	c.rules > 0
	not c.name in docker_hooked
	every ref in c.referenced_by {
		lib.unreachable(ref)
	}
	related := [lib.at(ref, sprintf("jump from %s that no packet reaches", [ref.chain])) | some ref in c.referenced_by]
	f := lib.chain_finding(c, sprintf("chain %s is entered only from rules no packet reaches: no packet ever enters it", [c.name]), related)
}
