package dfw.meta.analysis_incomplete_test

import data.dfw.meta.analysis_incomplete

test_budget if {
	fs := analysis_incomplete.findings with input as {"files": [{"name": "a.save"}, {"name": "b.conf"}], "analysis": {"incomplete": [{"analysis": "exposure", "reason": "1e6 classes", "budget": true}]}}
	some f in fs
	f.file == "b.conf"
}

test_not_computed_is_silent if {
	count(analysis_incomplete.findings) == 0 with input as {"files": [{"name": "b.conf"}], "analysis": {"incomplete": [{"analysis": "exposure", "reason": "not computed", "budget": false}]}}
}
