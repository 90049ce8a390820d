package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/symbolic"
)

// openClasses evaluates a single-packet flow whose spec has open values
// (a CIDR, a range, *, or the short form's source) symbolically. It
// returns false when the spec is not open or cannot be evaluated so
// (the caller then simulates the representative). Each class is printed
// with its witness simulated, and its verdict checked against --expect;
// quiet (-q) prints only the line that sums the classes up.
func openClasses(out *bytes.Buffer, rs *parser.Ruleset, host *sim.Host, sp *sim.Spec, p sim.Packet, as []string,
	format string, quiet, explain bool, expect string, status *int, errs *bytes.Buffer) bool {
	short := false
	if _, has := sp.Vals["src"]; !has && !p.Local && sp.Kind == "" {
		short = true
	}
	anyOpen := short
	for _, k := range []string{"src", "dst", "sport", "dport", "type", "code", "ttl", "tos", "len"} {
		if v, ok := sp.Vals[k]; ok && symbolic.IsOpen(v) {
			anyOpen = true
		}
	}
	if !anyOpen {
		return false
	}
	ev := symbolic.NewEvaluator(rs, host, symbolic.Options{}, p.In)
	set, open, ok, _ := ev.SpecSet(sp, p)
	if !ok {
		return false
	}
	classes, inc := ev.Eval(context.Background(), symbolic.AnalysisOpenFields, symbolic.Entry{In: p.In, Local: p.Local, Mark: p.Mark}, set)
	prim := ev.Primaries(classes, open, set)
	if len(prim) == 0 {
		return false
	}
	var incs []string
	for _, i := range inc {
		incs = append(incs, "INCOMPLETE "+i.String()+": the classes below do not cover every packet")
	}
	if len(prim) == 1 && len(inc) == 0 && short && len(open) == 1 {
		// The short form's open source gives one answer: print the
		// representative as before.
		return false
	}
	summary := ev.Summary(classes, open, set)
	type jsonClass struct {
		// Packets are the values each open field takes in the class, as
		// they are (not relative to the input); Exact says whether the
		// class is every packet of the input with those values, field by
		// field, each listed in full (else Packets is a summary: the class
		// ties fields together, or a list was cut short).
		Packets  map[string]string `json:"packets"`
		Exact    bool              `json:"exact"`
		Witness  jsonPacket        `json:"witness"`
		MayMatch bool              `json:"depends_on_may_match,omitempty"`
		jsonResult
	}
	var jcs []jsonClass
	var texts bytes.Buffer
	for i, c := range prim {
		res := sim.New(rs, host).Run(c.Witness)
		res.Assumptions = append(res.Assumptions, c.Assumptions...)
		if res.Verdict != c.Verdict || res.Disposition != c.Disposition {
			res.Assumptions = append(res.Assumptions, fmt.Sprintf("the symbolic class says %s, %s: please report this disagreement", c.Verdict, c.Disposition))
		}
		pk := map[string]string{}
		exact := format == "json" && ev.IsBox(c, open, set)
		var desc []string
		for _, f := range open {
			v := ev.FieldSummary(c, f, set)
			desc = append(desc, symbolic.FieldKey(f)+" "+v)
			if format == "json" {
				abs, complete := ev.FieldValues(c, f)
				pk[symbolic.FieldKey(f)] = abs
				exact = exact && complete
			}
		}
		if format == "json" {
			jr := toJSON(res)
			jcs = append(jcs, jsonClass{Packets: pk, Exact: exact, Witness: jr.Packet, MayMatch: len(c.MayMatch) > 0, jsonResult: jr})
		} else if !quiet {
			fmt.Fprintf(&texts, "class %d of %d: %s\n", i+1, len(prim), joinOr(desc, "every packet"))
			writeText(&texts, 1, res, explain)
		}
		if expect != "" && !expectOK(expect, res) {
			*status = ExitExpect
			fmt.Fprintf(errs, "dfwsim: packet 1, class %d (%s): expected %s, got %s (%s)\n", i+1, joinOr(desc, "every packet"), expect, res.Verdict, res.Disposition)
		}
	}
	var assumptions []string
	for _, a := range as {
		if !strings.Contains(a, "the representative") {
			assumptions = append(assumptions, a)
		}
	}
	assumptions = append(assumptions, host.Assumptions...)
	if short {
		assumptions = append(assumptions, "short form: the source is open (any outside source; martian sources, which routing drops, left out)")
	}
	assumptions = append(assumptions, incs...)
	if format == "json" {
		pj := packetJSON(&p)
		obj := struct {
			Packet      jsonPacket        `json:"packet"`
			Open        map[string]string `json:"open"`
			Summary     string            `json:"summary"`
			Classes     []jsonClass       `json:"classes"`
			Assumptions []string          `json:"assumptions"`
		}{Packet: pj, Open: map[string]string{}, Summary: summary, Classes: jcs, Assumptions: assumptions}
		for _, f := range open {
			k := symbolic.FieldKey(f)
			v, ok := sp.Vals[k]
			if !ok {
				v = "*"
			}
			obj.Open[k] = v
		}
		b, _ := json.Marshal(obj)
		out.Write(b)
		out.WriteByte('\n')
		return true
	}
	n := fmt.Sprintf("%d classes", len(prim))
	if len(prim) == 1 {
		n = "1 class"
	}
	fmt.Fprintf(out, "packet 1: %s: %s\n", n, summary)
	if quiet {
		return true
	}
	for _, a := range assumptions {
		fmt.Fprintf(out, "  - %s\n", a)
	}
	out.Write(texts.Bytes())
	return true
}

func joinOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	b := s[0]
	for _, x := range s[1:] {
		b += ", " + x
	}
	return b
}
