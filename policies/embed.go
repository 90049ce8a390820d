// Package policies holds dfwlint's built-in checks as Rego files, one check
// a directory (<category>/<name>/<name>.rego with its <name>_test.rego), the
// shared helpers in lib/, and the JSON Schema of the input document.
//
// Categories: graph (DFW1xx, the rule graph and the reachability facts),
// docker (DFW2xx, Docker's layout and published ports), host (DFW3xx, the
// host's own services), meta (DFW9xx, what dfw could not know).
package policies

import "embed"

// FS holds every .rego file (tests included) and input.schema.json.
//
//go:embed input.schema.json lib/*.rego */*/*.rego
var FS embed.FS
