package dfw.docker.forward_open_test

import data.dfw.docker.forward_open

x := {
	"interface": "ens33", "kind": "forward", "proto": "tcp", "ports": [[1, 65535]], "sources": ["0.0.0.0/0"],
	"witness": {"proto": "tcp", "in": "ens33", "dst": "172.17.0.2", "dport": 6379},
	"accepted_by": {"file": "f.conf", "line": 3, "column": 1, "table": "filter", "chain": "FORWARD"},
	"policy": true, "path": [], "depends_on_may_match": false,
}

test_forward_open if {
	count(forward_open.findings) == 1 with input as {"analysis": {"exposure": [x]}, "config": {"allowed_exposed": []}}
}

test_host_kind_is_not_forward if {
	count(forward_open.findings) == 0 with input as {"analysis": {"exposure": [object.union(x, {"kind": "host"})]}, "config": {"allowed_exposed": []}}
}

test_not_computed if {
	count(forward_open.findings) == 0 with input as {"analysis": {}, "config": {"allowed_exposed": []}}
}
