package dfw.docker.no_established_before_drop_test

import data.dfw.docker.no_established_before_drop

x(verdict) := {
	"hook": "FORWARD", "interface": "ens33", "verdict": verdict, "policy": false,
	"witness": {"proto": "tcp", "in": "ens33", "state": "ESTABLISHED"},
	"dropped_by": {"file": "f.conf", "line": 4, "column": 1, "table": "filter", "chain": "DOCKER-USER", "rule": 1},
}

test_dropped if {
	fs := no_established_before_drop.findings with input as {"analysis": {"established": [x("DROP")]}}
	some f in fs
	f.line == 4
}

test_accepted if {
	count(no_established_before_drop.findings) == 0 with input as {"analysis": {"established": [x("ACCEPT")]}}
}

test_not_computed if {
	count(no_established_before_drop.findings) == 0 with input as {"analysis": {}}
}
