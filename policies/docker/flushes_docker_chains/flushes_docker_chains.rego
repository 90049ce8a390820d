# METADATA
# title: a file declares, flushes or deletes a chain Docker owns
# description: |
#   Docker creates and rewrites its own chains (filter DOCKER,
#   DOCKER-ISOLATION-STAGE-1/2, DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT,
#   DOCKER-INTERNAL, DOCKER-INGRESS; nat DOCKER, DOCKER-INGRESS) while
#   containers start and stop. A rules file that flushes or deletes one of
#   them wipes the published ports and the isolation rules of the running
#   containers until Docker is restarted; DOCKER-USER is the chain left to
#   the user.
#
#   Reported at the command that does it:
#   - "-F CHAIN" or "-X CHAIN" naming a Docker chain, in any file;
#   - a ":CHAIN" line or "-N CHAIN" for a Docker chain in a file applied
#     with --noflush (every file after the first): under --noflush a
#     ":CHAIN" line flushes an existing user chain;
#   - "-F" or "-X" without a chain in the filter or nat table, when Docker's
#     chains are present in the result or the file is applied with
#     --noflush.
#   Not reported: the ":CHAIN" lines of the first file (a full
#   iptables-save dump of a Docker host declares Docker's chains, and
#   restoring it recreates them), and DOCKER-USER.
# related_resources:
#   - description: Docker and iptables (packet filtering and firewalls)
#     ref: https://docs.docker.com/engine/network/packet-filtering-firewalls/
# custom:
#   id: DFW207
#   severity: error
package dfw.docker.flushes_docker_chains

import data.dfw.lib

docker_chains := {
	"filter": {
		"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-FORWARD",
		"DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-INTERNAL", "DOCKER-INGRESS",
	},
	"nat": {"DOCKER", "DOCKER-INGRESS"},
}

findings contains f if {
	some table, names in docker_chains
	some cmd in lib.commands_on(table, names)
	what := effect(cmd)
	f := lib.command_finding(cmd, sprintf(
		"%s %s chain %s, which Docker owns: the published ports and isolation rules of running containers are lost until Docker restarts; put your rules in DOCKER-USER and leave Docker's chains alone",
		[what, cmd.table, cmd.chain],
	))
}

findings contains f if {
	some table, _ in docker_chains
	some cmd in lib.commands_on(table, {""})
	cmd.op in {"flush", "delete-chain"}
	whole_table_matters(cmd)
	verb := {"flush": "-F flushes every chain", "delete-chain": "-X deletes every user chain"}[cmd.op]
	f := lib.command_finding(cmd, sprintf(
		"%s of the %s table, Docker's chains included: the published ports and isolation rules of running containers are lost until Docker restarts; flush your own chains by name",
		[verb, cmd.table],
	))
}

effect(cmd) := "-F flushes" if cmd.op == "flush"

effect(cmd) := "-X deletes" if cmd.op == "delete-chain"

effect(cmd) := "this line, under --noflush, flushes" if {
	cmd.op == "chain"
	cmd.noflush
}

effect(cmd) := "-N declares" if {
	cmd.op == "new-chain"
	cmd.noflush
}

whole_table_matters(cmd) if cmd.noflush

whole_table_matters(cmd) if {
	some id in input.docker.chains
	startswith(id, sprintf("%s/", [cmd.table]))
}
