package dfw.host.input_open_test

import data.dfw.host.input_open

x(ports) := {
	"interface": "ens34", "kind": "host", "proto": "tcp", "ports": ports, "sources": ["any"],
	"witness": {"proto": "tcp", "in": "ens34", "dport": 1},
	"accepted_by": {"file": "f.conf", "line": 2, "column": 1, "table": "filter", "chain": "INPUT"},
	"policy": true, "path": [], "depends_on_may_match": false,
}

# diverted(iface, proto, ports) is a DNAT that sends the host's new
# connections to ports away before INPUT (input.analysis.diverted).
diverted(iface, proto, ports) := {
	"interface": iface, "proto": proto, "ports": ports, "sources": ["any"], "to": "172.17.0.2:80",
	"witness": {"proto": proto, "in": iface, "dport": ports[0][0]},
	"dnat": {"file": "docker.save", "line": 30, "column": 1, "table": "nat", "chain": "DOCKER", "rule": 3},
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
	every s in [["198.51.100.7"], ["10.0.0.0/8"], ["any except 0.0.0.0/1"]] {
		count(input_open.findings) == 0 with input as {"analysis": {"exposure": [object.union(x([[0, 65535]]), {"sources": s})]}}
	}
}

# Docker publishes 8080 and 8000-8001: those ports never reach INPUT, the
# host accepts every other one.
test_dnat_fills_hole if {
	div := [
		diverted("ens34", "tcp", [[8080, 8080]]),
		diverted("ens34", "tcp", [[8000, 8000]]),
		diverted("ens34", "tcp", [[8001, 8001]]),
	]
	fs := input_open.findings with input as {"analysis": {"exposure": [x([[0, 7999], [8002, 8079], [8081, 65535]])], "diverted": div}}
	count(fs) == 1
	some f in fs
	f.msg == "new tcp connections from any address to every port of the host are accepted on ens34, those to 8000:8001,8080 once a DNAT forwards them: filter INPUT for this interface too"
}

# A hole at either end of the port range.
test_dnat_fills_ends if {
	div := [diverted("ens34", "tcp", [[1, 1], [65535, 65535]])]
	count(input_open.findings) == 1 with input as {"analysis": {"exposure": [x([[2, 65534]])], "diverted": div}}
}

# 8081 is dropped on INPUT, not forwarded: a real hole.
test_dnat_leaves_hole if {
	div := [diverted("ens34", "tcp", [[8080, 8080]])]
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [x([[0, 8079], [8082, 65535]])], "diverted": div}}
}

# A DNAT on another interface, of another protocol, or of a few sources
# only (the others reach INPUT, which drops them), does not fill the hole.
test_dnat_elsewhere if {
	holed := x([[0, 8079], [8081, 65535]])
	every d in [
		diverted("ens35", "tcp", [[8080, 8080]]),
		diverted("ens34", "udp", [[8080, 8080]]),
		object.union(diverted("ens34", "tcp", [[8080, 8080]]), {"sources": ["10.0.0.0/8"]}),
	] {
		count(input_open.findings) == 0 with input as {"analysis": {"exposure": [holed], "diverted": [d]}}
	}
}

# A port a DNAT diverts fills the hole whatever FORWARD then does with it:
# an exposure of kind container (FORWARD accepts) is not needed, and one
# alone, without the diversion, fills nothing (the facts always list an
# accepted DNAT-ed port among the diverted ones).
test_dnat_dropped_in_forward if {
	holed := x([[0, 8079], [8081, 65535]])
	count(input_open.findings) == 1 with input as {"analysis": {"exposure": [holed], "diverted": [diverted("ens34", "tcp", [[8080, 8080]])]}}
	accepted := {
		"interface": "ens34", "kind": "container", "proto": "tcp", "ports": [[8080, 8080]], "sources": ["any"],
		"witness": {"proto": "tcp", "in": "ens34", "dport": 8080},
		"accepted_by": {"file": "docker.save", "line": 20, "column": 1, "table": "filter", "chain": "DOCKER"},
		"policy": false, "path": [], "depends_on_may_match": false,
	}
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [holed, accepted]}}
}

# The host's own exposure, not a forwarded one, must be from any address.
test_dnat_some_sources if {
	exp := [object.union(x([[0, 8079], [8081, 65535]]), {"sources": ["10.0.0.0/8"]})]
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": exp, "diverted": [diverted("ens34", "tcp", [[8080, 8080]])]}}
}

test_holes if {
	input_open.holes([]) == [[1, 65535]]
	input_open.holes([[0, 65535]]) == []
	input_open.holes([[0, 21], [23, 65535]]) == [[22, 22]]
	input_open.holes([[22, 22]]) == [[1, 21], [23, 65535]]
}

test_ports_text_cut if {
	input_open.ports_text([[1, 1], [3, 3], [5, 5], [7, 7], [9, 9], [11, 12], [14, 14]]) == "1,3,5,7,9,11:12,…"
}

# at(line, ports) is an accepting rule of the host at line.
at(line, ports) := object.union(x(ports), {
	"accepted_by": {"file": "f.conf", "line": line, "column": 1, "table": "filter", "chain": "INPUT", "rule": line},
	"policy": false,
})

# A policy ACCEPT beside a rule that accepts 22: every port is open, and
# the finding points once, at the policy (it takes the most ports), with
# the rule beside it related.
test_rules_fill_hole if {
	exp := [at(3, [[22, 22]]), x([[0, 21], [23, 65535]])]
	fs := input_open.findings with input as {"analysis": {"exposure": exp}}
	count(fs) == 1
	some f in fs
	f.line == 2
	f.msg == "new tcp connections from any address to every port of the host are accepted on ens34, those to 22 by the rules beside this one: filter INPUT for this interface too"
	[r.line | some r in f.related] == [3]
}

# Rules and a DNAT together.
test_rules_and_dnat_fill_holes if {
	exp := [at(3, [[22, 22]]), x([[0, 21], [23, 8079], [8081, 65535]])]
	fs := input_open.findings with input as {"analysis": {"exposure": exp, "diverted": [diverted("ens34", "tcp", [[8080, 8080]])]}}
	count(fs) == 1
	some f in fs
	f.msg == "new tcp connections from any address to every port of the host are accepted on ens34, those to 22 by the rules beside this one, those to 8080 once a DNAT forwards them: filter INPUT for this interface too"
}

# Two rules of equal width: the first in the file takes the finding.
test_rules_tie if {
	exp := [at(5, [[32768, 65535]]), at(4, [[0, 32767]])]
	fs := input_open.findings with input as {"analysis": {"exposure": exp}}
	[f.line | some f in fs] == [4]
}

# A rule from a few sources does not fill a hole; a port no rule accepts
# keeps the check silent.
test_rules_leave_hole if {
	some_src := object.union(at(3, [[22, 22]]), {"sources": ["198.51.100.7"]})
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [some_src, x([[0, 21], [23, 65535]])]}}
	count(input_open.findings) == 0 with input as {"analysis": {"exposure": [at(3, [[22, 22]]), x([[0, 21], [24, 65535]])]}}
}

# Another interface's or protocol's rule does not fill the hole.
test_rules_elsewhere if {
	other_if := object.union(at(3, [[22, 22]]), {"interface": "ens35"})
	other_proto := object.union(at(3, [[22, 22]]), {"proto": "udp"})
	every y in [other_if, other_proto] {
		count(input_open.findings) == 0 with input as {"analysis": {"exposure": [y, x([[0, 21], [23, 65535]])]}}
	}
}
