package symbolic

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
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
		// -p 127.0.0.1:8443:443: a row via 127.0.0.1 on 20.10, whose DNAT
		// forwards a neighbour's packet to 127.0.0.1; none on 28, whose
		// raw table drops it. 8080's packets to 127.0.0.1 are in no row:
		// the same packets to the host's address are.
		{"baseline-20.10", []string{"../../testdata/docker/baseline-20.10.save"}},
		{"baseline-28", []string{"../../testdata/docker/baseline-28.save"}},
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

// TestExposureRowPerReturn: Docker's DOCKER rule accepts every connection
// to the published 8080, but DOCKER-USER lets those from ports 1024 and up
// through by a RETURN that names the port and the others by a RETURN of
// everything. They are two rows, each with the path of its own classes:
// a row's path does not claim a RETURN that some of its connections never
// passed.
func TestExposureRowPerReturn(t *testing.T) {
	base, err := os.ReadFile("../../testdata/docker/docker-28.save")
	if err != nil {
		t.Fatal(err)
	}
	user := "*filter\n:DOCKER-USER - [0:0]\n" +
		"-A DOCKER-USER -i eth0 -p tcp --sport 1024:65535 -m conntrack --ctorigdstport 8080 -j RETURN\n" +
		"-A DOCKER-USER -i eth0 -j RETURN\n" +
		"COMMIT\n"
	l := parser.Load([]parser.Source{{Name: "docker-28.save", Data: base}, {Name: "user.conf", Data: []byte(user)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	rs := l.Ruleset
	rows, inc := Exposure(context.Background(), rs, sim.InferHost(rs, nil), ExposureOptions{External: []string{"eth0"}})
	if len(inc) > 0 {
		t.Fatal(inc)
	}
	got := map[int]WitnessJSON{} // the DOCKER-USER rule on the path: the row's witness
	for _, r := range rows {
		if r.Kind != KindContainer || len(r.Ports) != 1 || r.Ports[0] != [2]int{8080, 8080} {
			continue
		}
		n := 0
		for _, s := range r.Path {
			if s.Chain == "DOCKER-USER" {
				if _, dup := got[s.Rule]; dup {
					t.Errorf("two rows pass DOCKER-USER#%d", s.Rule)
				}
				got[s.Rule] = r.Witness
				n++
			}
		}
		if n != 1 {
			t.Errorf("row %+v: %d DOCKER-USER steps on its path, want 1", r, n)
		}
	}
	if len(got) != 2 {
		t.Fatalf("rows of tcp/8080 by DOCKER-USER rule: %v, want rules 1 and 2", got)
	}
	if w, ok := got[1]; !ok || w.Sport < 1024 {
		t.Errorf("the row through DOCKER-USER#1 has witness %+v, want sport >= 1024", w)
	}
	if w, ok := got[2]; !ok || w.Sport >= 1024 {
		t.Errorf("the row through DOCKER-USER#2 has witness %+v, want sport < 1024", w)
	}
}

// TestExposureDiverted: a DNAT of PREROUTING sends the host's new
// connections away before INPUT whatever FORWARD then does: Docker's
// published 8080, which DOCKER-USER drops, and the user's own DNAT of 2222
// to another machine, which FORWARD's policy drops, are diverted (and no
// exposure); the published 5432, accepted, is diverted and a container
// exposure. Each diverted row's witness, simulated, gets the row's DNAT
// and never enters INPUT.
func TestExposureDiverted(t *testing.T) {
	base, err := os.ReadFile("../../testdata/docker/docker-28.save")
	if err != nil {
		t.Fatal(err)
	}
	user := "*nat\n:PREROUTING ACCEPT [0:0]\n" +
		"-A PREROUTING -i eth0 -p tcp --dport 2222 -j DNAT --to-destination 192.0.2.50:22\n" +
		"COMMIT\n*filter\n:DOCKER-USER - [0:0]\n" +
		"-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP\n" +
		"-A DOCKER-USER -j RETURN\n" +
		"COMMIT\n"
	l := parser.Load([]parser.Source{{Name: "docker-28.save", Data: base}, {Name: "user.conf", Data: []byte(user)}}, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	rs := l.Ruleset
	h := sim.InferHost(rs, nil)
	e := NewEvaluator(rs, h, Options{OnlyAccepted: true}, "eth0")
	rows, divs, inc := e.ExposureDiverted(context.Background(), []string{"eth0"})
	if len(inc) > 0 {
		t.Fatal(inc)
	}
	got := map[string]string{}
	for _, d := range divs {
		got[FormatRanges(d.Ports)] = d.To
		w, ok := d.Set.Witness()
		if !ok {
			t.Fatalf("row %+v: no witness", d)
		}
		p := e.packetOf(w, Entry{In: "eth0"})
		r := sim.New(rs, h).Run(p)
		if slices.Contains(r.Path, "INPUT") || r.NAT.Dst.String() != strings.Split(d.To, ":")[0] {
			t.Errorf("%s: witness %s: sim path %v, DNAT to %s", d.To, p.String(), r.Path, r.NAT.Dst)
		}
	}
	want := map[string]string{"8080": "172.17.0.2:80", "5432": "172.18.0.2:5432", "2222": "192.0.2.50:22"}
	if !maps.Equal(got, want) {
		t.Errorf("diverted %v, want %v", got, want)
	}
	for _, r := range rows {
		if r.Kind == KindContainer && FormatRanges(r.Ports) != "5432" {
			t.Errorf("container exposure %s %s: only 5432 is accepted", r.Proto, FormatRanges(r.Ports))
		}
	}
}

// TestExposureRelabeled: the rows of an interface indistinguishable from
// one evaluated before are that one's rows under its own name and with
// its own witnesses: equal to the rows of its own evaluation, on the
// golden rulesets (whose interfaces include the unnamed ones) and on the
// diverted case, with two more external interfaces no rule names.
func TestExposureRelabeled(t *testing.T) {
	user := "*nat\n:PREROUTING ACCEPT [0:0]\n" +
		"-A PREROUTING -p tcp --dport 2222 -j DNAT --to-destination 192.0.2.50:22\n" +
		"COMMIT\n"
	base, err := os.ReadFile("../../testdata/docker/docker-28.save")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		srcs     []parser.Source
		external []string
	}{
		{"docker-28+dnat", []parser.Source{{Name: "docker-28.save", Data: base}, {Name: "user.conf", Data: []byte(user)}}, []string{"eth0", "eth1", "wlan0"}},
	}
	for _, f := range []string{"../../testdata/docker/docker-28.save", "../../testdata/docker/baseline-20.10.save", "../../testdata/docker/docker-20.10-two-bridges.save"} {
		d, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name     string
			srcs     []parser.Source
			external []string
		}{filepath.Base(f), []parser.Source{{Name: filepath.Base(f), Data: d}}, nil})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := parser.Load(c.srcs, parser.Options{})
			if errs := l.Diags.Errors(); len(errs) > 0 {
				t.Fatal(errs)
			}
			rs := l.Ruleset
			h := sim.InferHost(rs, nil)
			e := NewEvaluator(rs, h, Options{OnlyAccepted: true}, c.external...)
			rows, divs, inc := e.ExposureDiverted(context.Background(), c.external)
			if len(inc) > 0 {
				t.Fatal(inc)
			}
			// Each interface evaluated on its own.
			d := NewEvaluator(rs, h, Options{OnlyAccepted: true}, c.external...)
			var ifaces []ExternalIface
			if c.external == nil {
				ifaces = DefaultExternal(d.U, d.Host)
			} else {
				for _, n := range c.external {
					ifaces = append(ifaces, ExternalIface{Name: n, Label: n})
				}
			}
			if len(ifaces) < 2 || !d.indistinguishable(ifaces[0].Name, ifaces[1].Name) {
				t.Fatalf("interfaces %v: no two indistinguishable ones to reuse the rows of", ifaces)
			}
			var want []ExposureRow
			var wantDivs []DivertedRow
			for _, x := range ifaces {
				var dv []diverted
				d.diverted = &dv
				classes, _ := d.Eval(context.Background(), AnalysisExposure, Entry{In: x.Name}, d.NewConnections(d.ExposedDestinations()))
				d.diverted = nil
				want = append(want, d.exposureRows(x, classes)...)
				wantDivs = append(wantDivs, d.divertedRows(x, dv)...)
			}
			if len(rows) == 0 || len(rows) != len(want) || len(divs) != len(wantDivs) {
				t.Fatalf("%d rows and %d diverted, evaluated one by one %d and %d", len(rows), len(divs), len(want), len(wantDivs))
			}
			for i := range rows {
				a, b := rows[i], want[i]
				a.Set, b.Set = pset.Set{}, pset.Set{}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, a, b)
				}
			}
			for i := range divs {
				a, b := divs[i], wantDivs[i]
				a.Set, b.Set = pset.Set{}, pset.Set{}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("diverted %d:\n got %+v\nwant %+v", i, a, b)
				}
			}
		})
	}
}
