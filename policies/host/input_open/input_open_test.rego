package dfw.host.input_open_test

import data.dfw.host.input_open

x(ports) := {
	"interface": "ens34", "kind": "host", "proto": "tcp", "ports": ports, "sources": ["0.0.0.0/0"],
	"witness": {"proto": "tcp", "in": "ens34", "dport": 1},
	"accepted_by": {"file": "f.conf", "line": 2, "column": 1, "table": "filter", "chain": "INPUT"},
	"policy": true, "path": [], "depends_on_may_match": false,
}

test_all_ports if {
	count(input_open.findings) == 1 with input as {"analysis": {"exposure": [x([[1, 65535]])]}}
}

test_some_ports if {
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [x([[22, 22]])]}}
}
