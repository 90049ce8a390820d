package dfw.host.input_open_test

import data.dfw.host.input_open

x(ports) := {
	"interface": "ens34", "kind": "host", "proto": "tcp", "ports": ports, "sources": ["any"],
	"witness": {"proto": "tcp", "in": "ens34", "dport": 1},
	"accepted_by": {"file": "f.conf", "line": 2, "column": 1, "table": "filter", "chain": "INPUT"},
	"policy": true, "path": [], "depends_on_may_match": false,
}

test_all_ports if {
	fs := input_open.findings with input as {"analysis": {"exposure": [x([[1, 65535]])]}}
	count(fs) == 1
	some f in fs
	f.msg == "new tcp connections from any address to every port of the host are accepted on ens34: filter INPUT for this interface too"
}

test_some_ports if {
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [x([[22, 22]])]}}
}

# Every address: "any" as the exposure facts summarise it, or the whole
# family's prefix.
test_any_source_prefix if {
	every s in ["0.0.0.0/0", "::/0"] {
		count(input_open.findings) == 1 with input as {"analysis": {"exposure": [object.union(x([[0, 65535]]), {"sources": [s]})]}}
	}
}

# Every port to one management address, or to a private network, is
# deliberate: no finding.
test_some_sources if {
	every s in [["198.51.100.7"], ["10.0.0.0/8"], ["any except 10.0.0.0/8"]] {
		count(input_open.findings) == 0 with input as {"analysis": {"exposure": [object.union(x([[0, 65535]]), {"sources": s})]}}
	}
}
