# METADATA
# title: an analysis stopped at its budget
# description: |
#   An exact analysis (reachability, redundancy, exposure, established)
#   hit its budget: its facts are partial, so checks built on them may miss
#   problems. Never a silent pass. Reported at the position the analysis
#   gives, else at line 1 of the last file checked. An analysis that was not
#   run at all ("not computed") is not reported.
# related_resources:
#   - description: dfw DESIGN.md, dfwlint contract
#     ref: https://github.com/dfw-project/dfw
# custom:
#   id: DFW902
#   severity: warning
package dfw.meta.analysis_incomplete

findings contains f if {
	some x in input.analysis.incomplete
	x.budget
	l := where(x)
	f := {
		"msg": sprintf("the %s analysis stopped at its budget (%s): findings that depend on it may be missing", [x.analysis, x.reason]),
		"file": l.file, "line": l.line, "column": l.column, "related": [], "witness": null,
	}
}

where(x) := x.loc

where(x) := {"file": last_file, "line": 1, "column": 1} if not x.loc

last_file := input.files[count(input.files) - 1].name
