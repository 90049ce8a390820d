package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// The kernel oracle's recorded answers (tools/kernel-oracle in the shared
// folder, copied to testdata/oracle): every packet must get the kernel's
// disposition, NAT and ordered hits.

type oracleCase struct {
	Name    string       `json:"name"`
	Ruleset string       `json:"ruleset"`
	Overlay string       `json:"overlay"`
	Flows   []oracleFlow `json:"flows"`
}

type oracleFlow struct {
	Name    string           `json:"name"`
	Packets []map[string]any `json:"packets"`
}

type oracleHit struct {
	Table  string `json:"table"`
	Chain  string `json:"chain"`
	Rule   any    `json:"rule"`
	Target any    `json:"target"`
	Goto   bool   `json:"goto"`
}

type oracleLine struct {
	Case        string      `json:"case"`
	Flow        string      `json:"flow"`
	Packet      int         `json:"packet"`
	Step        any         `json:"step"`
	Disposition string      `json:"disposition"`
	DroppedIn   string      `json:"dropped_in"`
	RejectWith  string      `json:"reject_with"`
	DNATDst     string      `json:"dnat_dst"`
	SNATSrc     string      `json:"snat_src"`
	Hits        []oracleHit `json:"hits"`
}

// oracleHost is the harness's topology.
func oracleHost() *Host {
	h := NewHost()
	add := func(name, pfx string, bridge bool, ports ...*Port) {
		i := h.AddIface(name)
		i.Addrs = []netip.Prefix{netip.MustParsePrefix(pfx)}
		i.Bridge = bridge
		i.Ports = ports
	}
	a := netip.MustParseAddr
	add("ens33", "203.0.113.10/24", false)
	add("eth1", "198.51.100.10/24", false)
	add("docker0", "172.17.0.1/16", true, &Port{"vethc1", []netip.Addr{a("172.17.0.2")}}, &Port{"vethc2", []netip.Addr{a("172.17.0.3")}})
	add("br-app", "172.18.0.1/16", true, &Port{"vethc3", []netip.Addr{a("172.18.0.2")}})
	h.Routes = []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: a("203.0.113.1"), Dev: "ens33"}}
	return h
}

var oracleFrom = map[string]struct{ in, physin, src string }{
	"ext":  {"ens33", "", "203.0.113.7"},
	"ext2": {"eth1", "", "198.51.100.7"},
	"c1":   {"docker0", "vethc1", "172.17.0.2"},
	"c2":   {"docker0", "vethc2", "172.17.0.3"},
	"c3":   {"br-app", "vethc3", "172.18.0.2"},
}

func loadOracleCases(t *testing.T, file string) []oracleCase {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var multi struct {
		Cases []oracleCase `json:"cases"`
	}
	if json.Unmarshal(data, &multi) == nil && len(multi.Cases) > 0 {
		return multi.Cases
	}
	var one oracleCase
	if err := json.Unmarshal(data, &one); err != nil {
		t.Fatal(err)
	}
	return []oracleCase{one}
}

func loadRuleset(t testing.TB, files ...string) *parser.Ruleset {
	var srcs []parser.Source
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, parser.Source{Name: filepath.Base(f), Data: data})
	}
	l := parser.Load(srcs, parser.Options{})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		t.Fatalf("load %v: %v", files, errs)
	}
	return l.Ruleset
}

func num(m map[string]any, k string, def int) int {
	if v, ok := m[k].(float64); ok {
		return int(v)
	}
	return def
}

func str(m map[string]any, k, def string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return def
}

// oraclePacket builds the packet an oracle flow element sends.
func oraclePacket(t *testing.T, m map[string]any, prev []*Result) Packet {
	var p Packet
	flagsSet := false
	switch {
	case m["reply_to"] != nil:
		k := num(m, "reply_to", 0)
		p = ReplyTo(prev[k])
	case m["related_to"] != nil:
		k := num(m, "related_to", 0)
		p = RelatedTo(prev[k], uint8(num(m, "icmp_type", 3)), uint8(num(m, "icmp_code", 3)))
		return p
	default:
		from := str(m, "from", "")
		if from == "host" {
			p.Local = true
		} else {
			f, ok := oracleFrom[from]
			if !ok {
				t.Fatalf("unknown from %q", from)
			}
			p.In, p.PhysIn, p.Src = f.in, f.physin, netip.MustParseAddr(f.src)
		}
		switch str(m, "proto", "tcp") {
		case "tcp":
			p.Proto = ProtoTCP
		case "udp":
			p.Proto = ProtoUDP
		case "icmp":
			p.Proto = ProtoICMP
		}
		p.Dst = netip.MustParseAddr(str(m, "dst", ""))
		p.Sport = uint16(num(m, "sport", 40000))
		p.Dport = uint16(num(m, "dport", 0))
		if p.Proto == ProtoICMP {
			p.ICMPType = uint8(num(m, "icmp_type", 8))
			p.ICMPCode = uint8(num(m, "icmp_code", 0))
			p.Sport, p.Dport = uint16(num(m, "icmp_id", 0x1234)), 0
		}
		if p.Proto == ProtoTCP {
			p.Flags = parser.FlagSYN
		}
	}
	if s, ok := m["src"].(string); ok {
		p.Src = netip.MustParseAddr(s)
	}
	if f, ok := m["flags"].(string); ok {
		fl, err := ParseFlags(f)
		if err != nil {
			t.Fatal(err)
		}
		p.Flags, flagsSet = fl, true
	}
	_ = flagsSet
	p.TTL = uint8(num(m, "ttl", 64))
	p.TOS = uint8(num(m, "tos", 0))
	p.Len = HeaderLen(p.Proto, false) + uint16(len(str(m, "payload", ""))) + uint16(num(m, "payload_len", 0))
	return p
}

// ctInsert replays a "conntrack -I" step.
func ctInsert(t *testing.T, ct *Conntrack, args []any) {
	var s ConnSpec
	a := map[string]string{}
	for i := 0; i+1 < len(args); i++ {
		k := args[i].(string)
		if strings.HasPrefix(k, "-") && k != "-I" {
			a[k] = args[i+1].(string)
			i++
		}
	}
	proto := ProtoTCP
	if a["-p"] == "udp" {
		proto = ProtoUDP
	}
	port := func(k string) uint16 { v, _ := strconv.Atoi(a[k]); return uint16(v) }
	s.Orig = Tuple{Proto: proto, Src: netip.MustParseAddr(a["-s"]), Dst: netip.MustParseAddr(a["-d"]), SPort: port("--sport"), DPort: port("--dport")}
	s.Reply = Tuple{Proto: proto, Src: netip.MustParseAddr(a["--reply-src"]), Dst: netip.MustParseAddr(a["--reply-dst"]), SPort: port("--reply-port-src"), DPort: port("--reply-port-dst")}
	for _, st := range strings.Split(a["-u"], ",") {
		switch st {
		case "SEEN_REPLY":
			s.Status |= StatusSeenReply
		case "ASSURED":
			s.Status |= StatusAssured
		}
	}
	if v := a["--dst-nat"]; v != "" {
		s.DstNAT = netip.MustParseAddrPort(v)
	}
	if v := a["--src-nat"]; v != "" {
		s.SrcNAT = netip.MustParseAddrPort(v)
	}
	ct.Insert(s)
}

func hitString(table, chain string, rule any, target any, gotoFlag bool) string {
	g := ""
	if gotoFlag {
		g = "goto "
	}
	tg := "(count)"
	if s, ok := target.(string); ok && s != "" {
		tg = s
	}
	return fmt.Sprintf("%s:%s#%v→%s%s", table, chain, rule, g, tg)
}

func simHits(r *Result) []string {
	var out []string
	for _, s := range r.Trace {
		var rule any = s.Rule
		if s.Policy {
			rule = "policy"
		}
		out = append(out, hitString(s.Table, s.Chain, rule, s.Target, s.Goto))
	}
	return out
}

func addrPort(a netip.Addr, port uint16, ports bool) string {
	if ports {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

func TestKernelOracle(t *testing.T) {
	dir := "testdata/oracle"
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("no oracle cases")
	}
	agree, total := 0, 0
	for _, file := range files {
		want := map[string]oracleLine{}
		rf, err := os.Open(strings.TrimSuffix(file, ".json") + ".jsonl")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rf)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l oracleLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprintf("%s/%s/%d", l.Case, l.Flow, l.Packet)] = l
		}
		rf.Close()
		for _, c := range loadOracleCases(t, file) {
			files := []string{filepath.Join(dir, filepath.Base(c.Ruleset))}
			if c.Overlay != "" {
				files = append(files, filepath.Join(dir, filepath.Base(c.Overlay)))
			}
			rs := loadRuleset(t, files...)
			for _, fl := range c.Flows {
				s := New(rs, oracleHost())
				prev := make([]*Result, len(fl.Packets))
				for i, m := range fl.Packets {
					key := fmt.Sprintf("%s/%s/%d", c.Name, fl.Name, i)
					if args, ok := m["conntrack"].([]any); ok {
						ctInsert(t, s.CT, args)
						continue
					}
					p := oraclePacket(t, m, prev)
					res := s.Run(p)
					prev[i] = res
					w, ok := want[key]
					if !ok {
						t.Errorf("%s: no recorded kernel answer", key)
						continue
					}
					total++
					var diffs []string
					disp := res.Disposition
					if disp == Sent {
						disp = Forwarded
					}
					if disp != w.Disposition {
						diffs = append(diffs, fmt.Sprintf("disposition %s, kernel %s", disp, w.Disposition))
					}
					if w.RejectWith != "" && res.RejectWith != w.RejectWith {
						diffs = append(diffs, fmt.Sprintf("reject_with %s, kernel %s", res.RejectWith, w.RejectWith))
					}
					wd := w.DroppedIn
					if strings.HasPrefix(wd, "routing") {
						wd = "routing"
					}
					if w.Disposition == Dropped && res.DroppedIn != wd {
						diffs = append(diffs, fmt.Sprintf("dropped_in %s, kernel %s", res.DroppedIn, wd))
					}
					ports := HasPorts(p.Proto)
					dn, sn := "", ""
					if res.Final.Dst != res.Packet.Dst || (ports && res.Final.Dport != res.Packet.Dport) {
						dn = addrPort(res.Final.Dst, res.Final.Dport, ports)
					}
					if res.Final.Src != res.Packet.Src || (ports && res.Final.Sport != res.Packet.Sport) {
						sn = addrPort(res.Final.Src, res.Final.Sport, ports)
					}
					if dn != w.DNATDst {
						diffs = append(diffs, fmt.Sprintf("dnat_dst %q, kernel %q", dn, w.DNATDst))
					}
					if sn != w.SNATSrc {
						diffs = append(diffs, fmt.Sprintf("snat_src %q, kernel %q", sn, w.SNATSrc))
					}
					var wh []string
					for _, h := range w.Hits {
						wh = append(wh, hitString(h.Table, h.Chain, h.Rule, h.Target, h.Goto))
					}
					gh := simHits(res)
					if strings.Join(wh, " ") != strings.Join(gh, " ") {
						diffs = append(diffs, fmt.Sprintf("hits\n\tsim:    %s\n\tkernel: %s", strings.Join(gh, " "), strings.Join(wh, " ")))
					}
					if len(diffs) > 0 {
						t.Errorf("%s (%s): %s", key, res.Packet.String(), strings.Join(diffs, "; "))
					} else {
						agree++
					}
				}
			}
		}
	}
	t.Logf("kernel oracle: %d/%d packets agree", agree, total)
}
