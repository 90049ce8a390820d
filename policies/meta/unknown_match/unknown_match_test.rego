package dfw.meta.unknown_match_test

import data.dfw.meta.unknown_match

# As the document has it: an unknown match may match, and so does the rule.
rule(m, t) := {
	"table": "filter", "chain": "INPUT", "index": 1, "file": "f.conf", "line": 3, "column": 1, "matches": [m], "target": t,
	"may_match": m.unknown,
}

test_unknown_match if {
	fs := unknown_match.findings with input as {"rules": [rule({"name": "foo", "unknown": true, "column": 14}, {"name": "ACCEPT", "unknown": false})]}
	count(fs) == 1
	some f in fs
	f.column == 14
}

test_unknown_target if {
	fs := unknown_match.findings with input as {"rules": [rule({"name": "tcp", "unknown": false}, {"name": "FOO", "unknown": true, "column": 30})]}
	count(fs) == 1
}

test_known if {
	count(unknown_match.findings) == 0 with input as {"rules": [rule({"name": "tcp", "unknown": false}, {"name": "ACCEPT", "unknown": false})]}
}
