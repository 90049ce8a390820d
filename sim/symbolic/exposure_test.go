package symbolic

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
)

var update = flag.Bool("update", false, "rewrite the golden exposure tables")

func load(t testing.TB, files ...string) *parser.Ruleset {
	t.Helper()
	var srcs []parser.Source
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: filepath.Base(f), Data: d})
	}
	l := parser.Load(srcs, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return l.Ruleset
}

// TestExposureGolden: the exposure tables of the seed's rulesets over
// Docker's, as testdata/*.exposure.
func TestExposureGolden(t *testing.T) {
	cases := []struct {
		name  string
		files []string
	}{
		{"seed-iptables.conf-over-docker-20.10", []string{"../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf"}},
		{"seed-impl1", []string{"../../testdata/seed/impl1.save"}},
		{"seed-impl2", []string{"../../testdata/seed/impl2.save"}},
		{"docker-28", []string{"../../testdata/docker/docker-28.save"}},
		{"docker-20.10-two-bridges", []string{"../../testdata/docker/docker-20.10-two-bridges.save"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := load(t, c.files...)
			rows, inc := Exposure(context.Background(), rs, sim.InferHost(rs, nil), ExposureOptions{})
			var b bytes.Buffer
			if err := WriteExposureTable(&b, "", rows, inc); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".exposure")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, b.Bytes()) {
				t.Errorf("%s differs (go test -run TestExposureGolden -update):\n--- got\n%s--- want\n%s", golden, b.String(), want)
			}
			for _, r := range rows {
				if r.Witness.Src == "" {
					t.Errorf("row without witness: %+v", r)
				}
			}
		})
	}
}

// TestExposureWitnesses: every exposure row's witness, simulated, is
// accepted with the row's disposition.
func TestExposureWitnesses(t *testing.T) {
	rs := load(t, "../../testdata/seed/docker-20.10.save", "../../testdata/seed/iptables.conf")
	h := sim.InferHost(rs, nil)
	e := NewEvaluator(rs, h, Options{OnlyAccepted: true})
	for _, x := range DefaultExternal(e.U, h) {
		cs, inc := e.Eval(context.Background(), AnalysisExposure, Entry{In: x.Name}, e.NewConnections(e.ExposedDestinations()))
		if len(inc) > 0 {
			t.Fatal(inc)
		}
		for _, c := range cs {
			r := sim.New(rs, sim.InferHost(rs, nil)).Run(c.Witness)
			if r.Verdict != c.Verdict || r.Disposition != c.Disposition || traceKey(r.Trace) != traceKey(c.Trace) {
				t.Errorf("%s: witness %s: sim %s/%s %s, class %s/%s %s", x.Name, c.Witness.String(), r.Verdict, r.Disposition, traceKey(r.Trace), c.Verdict, c.Disposition, traceKey(c.Trace))
			}
		}
	}
}
