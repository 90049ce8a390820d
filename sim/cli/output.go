package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dfw-project/dfw/sim"
)

// jsonPacket is the packet object of the JSON output, fields in contract
// order.
type jsonPacket struct {
	Proto  string  `json:"proto"`
	In     string  `json:"in"`
	Out    string  `json:"out,omitempty"`
	PhysIn string  `json:"physin,omitempty"`
	Src    string  `json:"src"`
	Dst    string  `json:"dst"`
	Sport  *uint16 `json:"sport,omitempty"`
	Dport  *uint16 `json:"dport,omitempty"`
	Flags  *string `json:"flags,omitempty"`
	Type   *uint8  `json:"type,omitempty"`
	Code   *uint8  `json:"code,omitempty"`
	TTL    uint8   `json:"ttl,omitempty"`
	TOS    uint8   `json:"tos,omitempty"`
	Len    uint16  `json:"len,omitempty"`
	Mark   uint32  `json:"mark,omitempty"`
	State  string  `json:"state,omitempty"`
}

type jsonNAT struct {
	Src   string  `json:"src,omitempty"`
	Sport *uint16 `json:"sport,omitempty"`
	Dst   string  `json:"dst,omitempty"`
	Dport *uint16 `json:"dport,omitempty"`
}

type jsonStep struct {
	Table  string  `json:"table"`
	Chain  string  `json:"chain"`
	Rule   int     `json:"rule"`
	Policy bool    `json:"policy,omitempty"`
	Goto   bool    `json:"goto,omitempty"`
	Target *string `json:"target"`
	File   string  `json:"file,omitempty"`
	Line   int     `json:"line,omitempty"`
}

type jsonMay struct {
	Table       string `json:"table"`
	Chain       string `json:"chain"`
	Rule        int    `json:"rule"`
	File        string `json:"file,omitempty"`
	Line        int    `json:"line,omitempty"`
	Match       string `json:"match"`
	Target      string `json:"target,omitempty"`
	Verdict     string `json:"verdict"`
	Disposition string `json:"disposition"`
}

type jsonMiss struct {
	Table  string `json:"table"`
	Chain  string `json:"chain"`
	Rule   int    `json:"rule"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Option string `json:"option"`
}

type jsonResult struct {
	Packet      jsonPacket `json:"packet"`
	CTState     string     `json:"ct_state"`
	Path        []string   `json:"path"`
	Verdict     string     `json:"verdict"`
	Disposition string     `json:"disposition"`
	DroppedIn   string     `json:"dropped_in,omitempty"`
	RejectWith  string     `json:"reject_with,omitempty"`
	Out         string     `json:"out,omitempty"`
	NAT         *jsonNAT   `json:"nat,omitempty"`
	Trace       []jsonStep `json:"trace"`
	Assumptions []string   `json:"assumptions"`
	MayMatch    []jsonMay  `json:"may_match,omitempty"`
	Explain     []jsonMiss `json:"explain,omitempty"`
}

func packetJSON(p *sim.Packet) jsonPacket {
	j := jsonPacket{Proto: sim.ProtoName(p.Proto), In: p.In, Out: p.Out, PhysIn: p.PhysIn, Src: p.Src.String(), Dst: p.Dst.String(), State: p.State}
	if p.Local {
		j.In = "local"
	}
	if sim.HasPorts(p.Proto) {
		sp, dp := p.Sport, p.Dport
		j.Sport, j.Dport = &sp, &dp
	}
	if p.Proto == sim.ProtoTCP {
		f := sim.FlagLetters(p.Flags)
		j.Flags = &f
	}
	if sim.IsICMP(p.Proto) {
		t, c := p.ICMPType, p.ICMPCode
		j.Type, j.Code = &t, &c
	}
	if p.TTL != 64 {
		j.TTL = p.TTL
	}
	j.TOS, j.Mark = p.TOS, p.Mark
	if p.Len != sim.HeaderLen(p.Proto, p.Is6()) && p.Inner == nil {
		j.Len = p.Len
	}
	return j
}

func toJSON(r *sim.Result) jsonResult {
	j := jsonResult{Packet: packetJSON(&r.Packet), CTState: r.CTState, Path: r.Path, Verdict: r.Verdict,
		Disposition: r.Disposition, DroppedIn: r.DroppedIn, RejectWith: r.RejectWith, Out: r.Out,
		Trace: []jsonStep{}, Assumptions: r.Assumptions}
	if j.Path == nil {
		j.Path = []string{}
	}
	if j.Assumptions == nil {
		j.Assumptions = []string{}
	}
	if !r.NAT.Empty() {
		n := &jsonNAT{}
		if r.NAT.Src.IsValid() {
			n.Src = r.NAT.Src.String()
		}
		if r.NAT.Dst.IsValid() {
			n.Dst = r.NAT.Dst.String()
		}
		if r.NAT.HasSport {
			v := r.NAT.Sport
			n.Sport = &v
		}
		if r.NAT.HasDport {
			v := r.NAT.Dport
			n.Dport = &v
		}
		j.NAT = n
	}
	for _, s := range r.Trace {
		st := jsonStep{Table: s.Table, Chain: s.Chain, Rule: s.Rule, Policy: s.Policy, Goto: s.Goto}
		if s.Target != "" {
			t := s.Target
			st.Target = &t
		}
		if !s.Policy {
			st.File, st.Line = s.Pos.File, s.Pos.Line
		}
		j.Trace = append(j.Trace, st)
	}
	for _, m := range r.MayMatch {
		j.MayMatch = append(j.MayMatch, jsonMay{Table: m.Table, Chain: m.Chain, Rule: m.Rule, File: m.Pos.File, Line: m.Pos.Line,
			Match: m.Match, Target: m.Target, Verdict: m.Verdict, Disposition: m.Disposition})
	}
	for _, m := range r.Explain {
		j.Explain = append(j.Explain, jsonMiss{Table: m.Table, Chain: m.Chain, Rule: m.Rule, File: m.Pos.File, Line: m.Pos.Line, Column: m.Col, Option: m.Option})
	}
	return j
}

func writeJSON(w *bytes.Buffer, r *sim.Result) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(toJSON(r))
}

func writeText(w *bytes.Buffer, n int, r *sim.Result, explain bool) {
	p := &r.Packet
	where := "in " + p.In
	if p.Local {
		where = "generated locally"
	}
	if p.PhysIn != "" {
		where += " (port " + p.PhysIn + ")"
	}
	fmt.Fprintf(w, "packet %d: %s %s\n", n, p.String(), where)
	fmt.Fprintf(w, "  ct state: %s\n", r.CTState)
	if len(r.Path) > 0 {
		fmt.Fprintf(w, "  path: %s\n", strings.Join(r.Path, " → "))
	}
	misses := map[string][]sim.Miss{}
	if explain {
		for _, m := range r.Explain {
			k := m.Table + "/" + m.Chain
			misses[k] = append(misses[k], m)
		}
	}
	for _, s := range r.Trace {
		tg := s.Target
		if tg == "" {
			tg = "(no target: count, continue)"
		}
		if s.Goto {
			tg = "goto " + tg
		}
		if s.Policy {
			fmt.Fprintf(w, "  %s/%s policy  → %s\n", s.Table, s.Chain, tg)
			continue
		}
		fmt.Fprintf(w, "  %s/%s#%d %s:%d  %s  → %s\n", s.Table, s.Chain, s.Rule, s.Pos.File, s.Pos.Line, s.R.String(), tg)
	}
	if explain && len(r.Explain) > 0 {
		fmt.Fprintf(w, "  rules that did not match:\n")
		for _, m := range r.Explain {
			fmt.Fprintf(w, "    %s/%s#%d %s:%d:%d  %s\n", m.Table, m.Chain, m.Rule, m.Pos.File, m.Pos.Line, m.Col, m.Option)
		}
	}
	line := fmt.Sprintf("  verdict: %s, %s", r.Verdict, r.Disposition)
	if r.Out != "" && (r.Disposition == sim.Forwarded || r.Disposition == sim.Sent) {
		line += " out " + r.Out
		if r.PhysOut != "" {
			line += " (port " + r.PhysOut + ")"
		}
	}
	if r.DroppedIn != "" {
		line += " in " + r.DroppedIn
	}
	if r.RejectWith != "" {
		line += " with " + r.RejectWith
	}
	fmt.Fprintln(w, line)
	if !r.NAT.Empty() {
		var parts []string
		if r.NAT.Src.IsValid() {
			parts = append(parts, "src "+r.NAT.Src.String())
		}
		if r.NAT.HasSport {
			parts = append(parts, fmt.Sprintf("sport %d", r.NAT.Sport))
		}
		if r.NAT.Dst.IsValid() {
			parts = append(parts, "dst "+r.NAT.Dst.String())
		}
		if r.NAT.HasDport {
			parts = append(parts, fmt.Sprintf("dport %d", r.NAT.Dport))
		}
		fmt.Fprintf(w, "  nat: %s (seen as %s)\n", strings.Join(parts, ", "), r.Final.String())
	}
	for _, m := range r.MayMatch {
		fmt.Fprintf(w, "  may match: %s/%s#%d %s:%d (-m %s) is taken as not matching; if it matches: %s, %s\n",
			m.Table, m.Chain, m.Rule, m.Pos.File, m.Pos.Line, m.Match, m.Verdict, m.Disposition)
	}
	if len(r.Assumptions) > 0 {
		fmt.Fprintf(w, "  assumptions:\n")
		for _, a := range r.Assumptions {
			fmt.Fprintf(w, "    - %s\n", a)
		}
	}
}
