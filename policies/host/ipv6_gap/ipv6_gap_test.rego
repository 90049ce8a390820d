package dfw.host.ipv6_gap_test

import data.dfw.host.ipv6_gap

gap(open, peer_open) := {
	"interface": "eth0", "interfaces": ["eth0"], "kind": "host", "proto": "tcp", "ports": [[5432, 5432]], "ports_text": "5432",
	"family": "ipv6", "open": open, "sources": ["any"],
	"peer_family": "ipv4", "peer_files": ["rules.v4"], "peer_open": peer_open, "peer_shut": false,
	"peer_decided_by": {"file": "rules.v4", "line": 3, "column": 1, "table": "filter", "chain": "INPUT"},
	"peer_policy": true,
	"witness": {"proto": "tcp", "in": "eth0", "dport": 5432},
	"accepted_by": {"file": "rules.v6", "line": 10, "column": 1, "table": "filter", "chain": "INPUT", "rule": 5},
	"policy": false, "path": [{"file": "rules.v6", "line": 10, "column": 1, "table": "filter", "chain": "INPUT"}],
}

test_open_here_closed_there if {
	fs := ipv6_gap.findings with input as {"analysis": {"family_gap": [gap("all", "none")]}}
	count(fs) == 1
	some f in fs
	f.file == "rules.v6"
	f.line == 10
	f.msg == "tcp port 5432 to the host is open to every source over IPv6 but closed over IPv4 (rules.v4), on eth0: close it here, or open it there as well"
	f.related[0] == {"file": "rules.v4", "line": 3, "column": 1, "message": "closed on IPv4 here"}
}

test_open_to_some_there if {
	fs := ipv6_gap.findings with input as {"analysis": {"family_gap": [gap("all", "some")]}}
	some f in fs
	contains(f.msg, "but open only to some sources over IPv4")
}

test_without_peer_silent if {
	count(ipv6_gap.findings) == 0 with input as {"analysis": {"exposure": []}}
}

test_port_ranges if {
	x := object.union(gap("all", "none"), {"ports": [[8000, 8100], [9000, 9000]], "ports_text": "8000-8100, 9000"})
	some f in ipv6_gap.findings with input as {"analysis": {"family_gap": [x]}}
	startswith(f.msg, "tcp ports 8000-8100, 9000 to the host are open to every source")
}

test_interfaces if {
	x := object.union(gap("all", "none"), {"interfaces": ["eth0", "eth1", "(unnamed)"]})
	some f in ipv6_gap.findings with input as {"analysis": {"family_gap": [x]}}
	contains(f.msg, ", on eth0, eth1 and any interface the rules never name (a second uplink, say): ")
}

# The other family accepts no new connection on any port (a host without
# IPv6 keeps rules.v6 at DROP): not served, on purpose, so no gap; the
# same port closed there beside other open ones is one.
test_peer_shut_silent if {
	x := object.union(gap("all", "none"), {"peer_shut": true})
	count(ipv6_gap.findings) == 0 with input as {"analysis": {"family_gap": [x]}}
	count(ipv6_gap.findings) == 1 with input as {"analysis": {"family_gap": [gap("all", "none")]}}
}
