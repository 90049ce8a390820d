package lint

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestRawFindingOf: reading a finding from its OPA value gives what
// encoding/json gives from its JSON text, error included, for the
// findings the built-in checks make and for what a user's policy may
// write instead.
func TestRawFindingOf(t *testing.T) {
	fast := 0
	for _, src := range []string{
		`{"msg": "m", "file": "f", "line": 3, "column": 4, "table": "filter", "chain": "INPUT", "rule": 2, "related": [{"file": "f", "line": 1, "column": 1, "message": "r"}], "witness": null}`,
		`{"msg": "m", "file": "f", "line": 3, "related": [], "witness": null}`,
		`{"msg": "m", "file": "f", "line": 3, "related": null, "id": "ORG1", "severity": "info", "message": "x"}`,
		`{"msg": "m", "file": "f", "line": 3, "related": [{"file": "f", "line": 1}]}`,
		`{"msg": "m", "file": null, "line": null}`,
		`{}`,
		`"a plain message"`,
		// Through JSON: a witness, other keys, other types.
		`{"msg": "m", "file": "f", "line": 3, "witness": {"proto": "tcp", "dport": 22}}`,
		`{"msg": "m", "file": "f", "line": 3, "extra": [1, 2]}`,
		`{"Msg": "capitalised", "LINE": 7}`,
		`{"msg": "m", "line": 3.5}`,
		`{"msg": "m", "line": 1e3}`,
		`{"msg": "m", "line": "3"}`,
		`{"msg": 3}`,
		`{"msg": "m", "related": [{"file": "f", "line": 1, "note": "x"}]}`,
		`{"msg": "m", "related": [{"file": "f", "line": 2.5}]}`,
		`{"msg": "m", "related": ["f:1"]}`,
		`{"msg": "m", "related": {"file": "f"}}`,
		`{"msg": "m", "rule": 99999999999999999999}`,
		`{"msg": "m", "line": -0}`,
		`true`,
		`42`,
		`null`,
		`["a", "b"]`,
		`{1: "one"}`,
	} {
		v := ast.MustParseTerm(src).Value
		got, gotErr := rawFindingOf(v)
		var want rawFinding
		var wantErr error
		if s, ok := v.(ast.String); ok {
			want.Msg = string(s)
		} else {
			x, err := ast.JSON(v)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			b, _ := json.Marshal(x)
			wantErr = json.Unmarshal(b, &want)
		}
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, JSON's %v", src, gotErr, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", src, got, want)
		}
		var rf rawFinding
		if obj, ok := v.(ast.Object); ok && fastFinding(obj, &rf) {
			fast++
		}
	}
	if fast != 7 {
		t.Errorf("%d values read directly, want 7 (the first six objects, and -0)", fast)
	}
}
