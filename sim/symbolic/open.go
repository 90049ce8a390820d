package symbolic

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/pset"
)

// specFields maps dfwsim's --pkt keys to fields.
var specFields = map[string]pset.Field{
	"src": pset.Src, "dst": pset.Dst, "sport": pset.Sport, "dport": pset.Dport,
	"type": pset.ICMPType, "code": pset.ICMPCode, "ttl": pset.TTL, "tos": pset.TOS, "len": pset.Length,
}

// FieldKey names a field as dfwsim's --pkt key.
func FieldKey(f pset.Field) string {
	for k, g := range specFields {
		if g == f {
			return k
		}
	}
	return f.String()
}

// IsOpen reports whether a --pkt value is open: *, a CIDR shorter than a
// host, or a range a-b (a:b) with a < b.
func IsOpen(v string) bool {
	if v == "*" {
		return true
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Bits() < p.Addr().BitLen()
	}
	lo, hi, ok := strings.Cut(v, "-")
	if !ok {
		lo, hi, ok = strings.Cut(v, ":")
	}
	if ok {
		a, e1 := strconv.ParseUint(lo, 0, 32)
		b, e2 := strconv.ParseUint(hi, 0, 32)
		return e1 == nil && e2 == nil && a != b
	}
	return false
}

// SpecSet builds the set of packets a new-packet --pkt spec stands for: p
// is the spec resolved with representatives (sim.Spec.Resolve), whose
// values are taken for every field that is not open. A short-form spec
// (no src=) has an open source: any outside source. Martian sources (that
// routing drops) are left out of an open source. ok is false, with a
// reason, for a spec the evaluator cannot take (a reply, related, state=,
// out=, physin=, mac=).
func (e *Evaluator) SpecSet(sp *sim.Spec, p sim.Packet) (s pset.Set, open []pset.Field, ok bool, why string) {
	u := e.U
	if sp.Kind != "" {
		return s, nil, false, "a " + sp.Kind + " packet depends on the flow before it"
	}
	for _, k := range []string{"state", "out", "physin", "mac"} {
		if _, has := sp.Vals[k]; has {
			return s, nil, false, k + "= is not evaluated symbolically"
		}
	}
	if !e.addrOK(p.Dst) || (p.Src.IsValid() && !e.addrOK(p.Src)) {
		return s, nil, false, "the packet's family is not the ruleset's"
	}
	vals := map[string]string{}
	for k, v := range sp.Vals {
		vals[k] = v
	}
	if _, has := vals["src"]; !has && !p.Local {
		vals["src"] = "*"
	}
	s = e.FirstPackets().Intersect(u.Eq(pset.Proto, uint64(p.Proto)))
	if p.Proto == sim.ProtoTCP {
		s = s.Intersect(u.Eq(pset.TCPFlags, uint64(p.Flags)))
	}
	ttl, ln := uint64(p.TTL), uint64(p.Len)
	if ttl == 0 {
		ttl = 64
	}
	if ln == 0 {
		ln = uint64(sim.HeaderLen(p.Proto, e.v6))
	}
	fixed := map[pset.Field]uint64{pset.Sport: uint64(p.Sport), pset.Dport: uint64(p.Dport),
		pset.ICMPType: uint64(p.ICMPType), pset.ICMPCode: uint64(p.ICMPCode), pset.TTL: ttl, pset.TOS: uint64(p.TOS), pset.Length: ln}
	for _, k := range []string{"src", "dst", "sport", "dport", "type", "code", "ttl", "tos", "len"} {
		f := specFields[k]
		v, has := vals[k]
		if has && IsOpen(v) && (k == "src" || k == "dst") {
			open = append(open, f)
			switch {
			case v == "*" && f == pset.Src:
				s = s.Diff(e.martian())
			case v == "*":
			default:
				pf, _ := netip.ParsePrefix(v)
				if !e.addrOK(pf.Addr()) {
					return s, nil, false, "the packet's family is not the ruleset's"
				}
				s = s.Intersect(u.CIDR(f, pf.Masked()))
			}
			continue
		}
		if has && IsOpen(v) {
			open = append(open, f)
			if v != "*" {
				lo, hi, ok := strings.Cut(v, "-")
				if !ok {
					lo, hi, _ = strings.Cut(v, ":")
				}
				a, _ := strconv.ParseUint(lo, 0, 32)
				b, _ := strconv.ParseUint(hi, 0, 32)
				s = s.Intersect(u.Range(f, a, b))
			}
			if f == pset.TTL {
				s = s.Intersect(u.Range(pset.TTL, 1, 255))
			}
			continue
		}
		switch k {
		case "src":
			if p.Src.IsValid() {
				s = s.Intersect(u.EqAddr(pset.Src, p.Src))
			}
		case "dst":
			s = s.Intersect(u.EqAddr(pset.Dst, p.Dst))
		default:
			s = s.Intersect(u.Eq(f, fixed[f]))
		}
	}
	return s, open, true, ""
}

// FieldSummary describes the values of field f in a class, relative to
// the input set of the evaluation ("any except X" is within the input).
func (e *Evaluator) FieldSummary(c *Class, f pset.Field, input pset.Set) string {
	a := e.Arrival(c)
	switch f {
	case pset.Src, pset.Dst:
		dc := project(input, f).Not()
		if f == pset.Src {
			dc = dc.Union(e.martian())
		}
		return strings.Join(AddrSummary(a, f, dc), ",")
	}
	return FormatRanges(PortRanges(a, f))
}

// FieldValues describes the values of field f in a class as they are,
// not relative to the input (FieldSummary's "any" may mean "any of the
// input's"): the source 10.1.0.0/16 of an input that gave it reads
// 10.1.0.0/16. Martian sources, which no class holds, may be counted in
// to shorten the text. complete is false when the text is cut short ("…").
func (e *Evaluator) FieldValues(c *Class, f pset.Field) (text string, complete bool) {
	a := e.Arrival(c)
	switch f {
	case pset.Src, pset.Dst:
		dc := e.U.Empty()
		if f == pset.Src {
			dc = e.martian()
		}
		text = strings.Join(addrSummary(a, f, dc, fieldValuesPrefixes), ",")
	default:
		text = FormatRanges(PortRanges(a, f))
	}
	return text, !strings.Contains(text, "…")
}

// fieldValuesPrefixes is how many prefixes FieldValues lists before it
// cuts the list short: enough for an input's /24 less a range.
const fieldValuesPrefixes = 64

// IsBox reports whether a class holds exactly the packets of the input
// whose open fields take the values the class's packets take, field by
// field (so that FieldValues describe it whole). A class that ties fields
// together (port 100 from some sources, 101 from the others) is not.
func (e *Evaluator) IsBox(c *Class, open []pset.Field, input pset.Set) bool {
	a := e.Arrival(c)
	box := e.arrival(input, c.Entry)
	for _, f := range open {
		box = box.Intersect(project(a, f))
	}
	return box.Equal(a)
}

// Via names what decided a class: "DOCKER-USER#2 (iptables.conf:14)",
// "INPUT policy (f:3)", "routing".
func Via(c *Class) string {
	r, ok := decidedBy(c)
	if !ok {
		if c.DroppedIn == "routing" {
			return "routing"
		}
		return "no rule"
	}
	s := r.Short()
	if r.File != "" {
		s += fmt.Sprintf(" (%s:%d)", r.File, r.Line)
	}
	return s
}

// Summary is the one-line answer for classes of an open packet:
// "ACCEPT for src 198.51.100.0/24 via DOCKER-USER#2 (iptables.conf:14);
// DROP otherwise via DOCKER-USER#3 (iptables.conf:15)". The class said
// "otherwise" is one whose first open field is "any except …" (else the
// last).
func (e *Evaluator) Summary(cs []Class, open []pset.Field, input pset.Set) string {
	prim := e.Primaries(cs, open, input)
	if len(prim) == 1 {
		c := prim[0]
		return fmt.Sprintf("%s for every packet via %s", verdictText(c), Via(c))
	}
	var parts []string
	for i, c := range prim {
		if i == len(prim)-1 {
			parts = append(parts, fmt.Sprintf("%s otherwise via %s", verdictText(c), Via(c)))
			continue
		}
		var d []string
		for _, f := range open {
			d = append(d, FieldKey(f)+" "+e.FieldSummary(c, f, input))
		}
		parts = append(parts, fmt.Sprintf("%s for %s via %s", verdictText(c), strings.Join(d, ", "), Via(c)))
	}
	return strings.Join(parts, "; ")
}

// Primaries returns the classes that are the simulator's primary answers
// (not may-match alternatives), in the order Summary names them: the
// "otherwise" class (whose first open field reads "any except …", else
// the last) at the end.
func (e *Evaluator) Primaries(cs []Class, open []pset.Field, input pset.Set) []*Class {
	var prim []*Class
	for i := range cs {
		if !cs[i].Alternative {
			prim = append(prim, &cs[i])
		}
	}
	if len(prim) < 2 || len(open) == 0 {
		return prim
	}
	for i, c := range prim {
		if strings.HasPrefix(e.FieldSummary(c, open[0], input), "any") {
			o := prim[i]
			prim = append(prim[:i:i], prim[i+1:]...)
			return append(prim, o)
		}
	}
	return prim
}

func verdictText(c *Class) string {
	if c.Disposition == sim.Dropped && c.Verdict == sim.Reject {
		return c.Verdict + " (dropped)"
	}
	return c.Verdict
}
