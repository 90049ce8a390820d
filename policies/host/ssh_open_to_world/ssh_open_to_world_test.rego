package dfw.host.ssh_open_to_world_test

import data.dfw.host.ssh_open_to_world

x(sources) := {
	"interface": "ens33", "kind": "host", "proto": "tcp", "ports": [[22, 22]], "sources": sources,
	"witness": {"proto": "tcp", "in": "ens33", "dport": 22},
	"accepted_by": {"file": "f.conf", "line": 30, "column": 1, "table": "filter", "chain": "FILTERS", "rule": 4},
	"policy": false, "path": [], "depends_on_may_match": false,
}

test_world if {
	fs := ssh_open_to_world.findings with input as {"analysis": {"exposure": [x(["0.0.0.0/0"])]}, "config": {"allowed_exposed": []}}
	some f in fs
	f.line == 30
}

test_restricted if {
	count(ssh_open_to_world.findings) == 0 with input as {"analysis": {"exposure": [x(["10.0.0.0/8"])]}, "config": {"allowed_exposed": []}}
}

test_not_computed if {
	count(ssh_open_to_world.findings) == 0 with input as {"analysis": {}, "config": {"allowed_exposed": []}}
}
