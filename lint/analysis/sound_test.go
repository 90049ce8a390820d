package analysis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/agreement"
)

var addrPool = []string{
	"203.0.113.7", "203.0.113.10", "203.0.113.200", "198.51.100.7", "198.51.100.10",
	"172.17.0.1", "172.17.0.2", "172.17.0.3", "172.18.0.1", "172.18.0.2", "172.16.5.5",
	"10.0.0.1", "10.1.2.3", "127.0.0.1", "192.168.1.7", "0.0.0.7", "8.8.8.8", "1.2.3.4",
}

var portPool = []uint16{22, 53, 80, 443, 1024, 5432, 5433, 8000, 8080, 40000, 65535}

func randPacket(rng *rand.Rand) sim.Packet {
	p := sim.Packet{
		Proto: []uint8{6, 17, 1, 6, 17, 132}[rng.IntN(6)],
		Src:   netip.MustParseAddr(addrPool[rng.IntN(len(addrPool))]),
		Dst:   netip.MustParseAddr(addrPool[rng.IntN(len(addrPool))]),
		Sport: portPool[rng.IntN(len(portPool))],
		Dport: portPool[rng.IntN(len(portPool))],
		Flags: []uint8{parser.FlagSYN, parser.FlagACK, parser.FlagSYN | parser.FlagACK, parser.FlagFIN | parser.FlagACK, parser.FlagRST}[rng.IntN(5)],
		TTL:   uint8(1 + rng.IntN(128)),
		TOS:   []uint8{0, 0x10, 0xb8}[rng.IntN(3)],
		Mark:  []uint32{0, 0, 1, 2, 0x4000}[rng.IntN(5)],
		State: []string{"", "", "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}[rng.IntN(7)],
	}
	if p.Proto == 1 {
		p.ICMPType = []uint8{0, 3, 8, 11}[rng.IntN(4)]
	}
	switch rng.IntN(8) {
	case 0:
		p.Local = true
	case 1:
		p.In = "eth1"
	case 2:
		p.In, p.PhysIn = "docker0", "vethc1"
	case 3:
		p.In, p.PhysIn = "br-app", "vethc3"
	case 4:
		p.In = "lo"
	default:
		p.In = "ens33"
	}
	if rng.IntN(4) == 0 {
		p.Out = []string{"ens33", "eth1", "docker0", "br-app"}[rng.IntN(4)]
	}
	return p
}

// chainRuleset writes a random ruleset with user chains, jumps, gotos,
// RETURNs and MARKs, over few values so that rules overlap.
func chainRuleset(rng *rand.Rand) string {
	var b strings.Builder
	conds := []string{"", "", "-s 203.0.113.0/24", "-s 172.17.0.0/16", "-d 172.17.0.2/32", "! -s 10.0.0.0/8",
		"-i ens33", "-i docker0", "! -i ens33", "-o docker0", "-p tcp", "-p tcp -m tcp --dport 22",
		"-p tcp -m tcp --dport 80", "-p udp -m udp --dport 53", "-p tcp -m multiport --dports 22,80",
		"-m state --state ESTABLISHED,RELATED", "-m conntrack --ctstate RELATED,ESTABLISHED", "-m conntrack --ctstate NEW",
		"-m mark --mark 0x1", "-m mark --mark 0x2", "-p icmp", "-m limit --limit 1/sec", "-m set --match-set x src"}
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	chains := []string{"A", "B", "C", "D"}
	for _, c := range chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c)
	}
	body := func(chain string, callees []string) {
		n := 1 + rng.IntN(7)
		for i := 0; i < n; i++ {
			c1 := conds[rng.IntN(len(conds))]
			c2 := ""
			if rng.IntN(3) == 0 {
				c2 = conds[rng.IntN(len(conds))]
				if strings.Contains(c1, "-p ") && strings.Contains(c2, "-p ") || strings.Contains(c1, "-i ") && strings.Contains(c2, "-i ") ||
					strings.Contains(c1, "-s ") && strings.Contains(c2, "-s ") {
					c2 = ""
				}
			}
			if (chain == "INPUT" || chain == "OUTPUT") && (strings.Contains(c1+c2, "-o ") && chain == "INPUT" || strings.Contains(c1+c2, "-i ") && chain == "OUTPUT") {
				c1, c2 = "", ""
			}
			targets := []string{"ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "MARK --set-xmark 0x1/0xffffffff"}
			for _, c := range callees {
				targets = append(targets, "J "+c, "G "+c)
			}
			tg := targets[rng.IntN(len(targets))]
			switch {
			case strings.HasPrefix(tg, "J "):
				tg = "-j " + tg[2:]
			case strings.HasPrefix(tg, "G "):
				tg = "-g " + tg[2:]
			default:
				tg = "-j " + tg
			}
			fmt.Fprintf(&b, "-A %s %s %s %s\n", chain, c1, c2, tg)
		}
	}
	for _, c := range []string{"INPUT", "FORWARD", "OUTPUT"} {
		body(c, chains)
	}
	for i, c := range chains {
		body(c, chains[i+1:])
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// TestSoundness: on random rulesets (a third each: agreement cases,
// chainRuleset, longChainRuleset), a rule called unreachable is never
// in the trace of a random packet, and deleting a rule called redundant
// changes no random packet's verdict and disposition.
func TestSoundness(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 60
	}
	if os.Getenv("DFW_ANALYSIS_LONG") != "" {
		n = 1500
	}
	packets := 300
	host := agreement.TopologyHost()
	unreach, redund, runs := 0, 0, 0
	for seed := 0; seed < n; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		var text string
		switch seed % 3 {
		case 0:
			text = agreement.RandomCase(uint64(seed)).RulesetText
		case 1:
			text = chainRuleset(rng)
		default:
			// Long chains: indexed, many shadowed and redundant rules.
			text = longChainRuleset(rng)
		}
		l := parser.Load([]parser.Source{{Name: "r.save", Data: []byte(text)}}, parser.Options{})
		if l.Diags.Err() != nil {
			continue
		}
		rs := l.Ruleset
		res, err := Analyze(context.Background(), rs, Options{}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Incomplete) > 0 {
			t.Fatalf("seed %d: incomplete %v", seed, res.Incomplete)
		}
		bad := map[*parser.Rule]bool{}
		var redundant []RuleResult
		for _, rr := range res.Rules {
			if rr.Status == Unreachable || rr.Status == NotEntered {
				bad[rr.Rule] = true
				unreach++
			}
			if rr.Redundant {
				redundant = append(redundant, rr)
				redund++
			}
		}
		pkts := make([]sim.Packet, packets)
		for i := range pkts {
			pkts[i] = randPacket(rng)
		}
		outcome := func(rs *parser.Ruleset, p sim.Packet) (string, *sim.Result) {
			r := sim.New(rs, host).Run(p)
			return r.Verdict + "/" + r.Disposition, r
		}
		base := make([]string, len(pkts))
		for i, p := range pkts {
			var r *sim.Result
			base[i], r = outcome(rs, p)
			runs++
			for _, st := range r.Trace {
				if st.R != nil && bad[st.R] {
					t.Errorf("seed %d: rule %s:%d %q called unreachable, but packet %s reaches it\n%s",
						seed, st.Table, st.Pos.Line, st.R.Line, p.String(), text)
				}
			}
		}
		for _, rr := range redundant {
			lines := strings.Split(text, "\n")
			lines = append(lines[:rr.Rule.Pos.Line-1:rr.Rule.Pos.Line-1], lines[rr.Rule.Pos.Line:]...)
			l2 := parser.Load([]parser.Source{{Name: "r.save", Data: []byte(strings.Join(lines, "\n"))}}, parser.Options{})
			if l2.Diags.Err() != nil {
				t.Fatalf("seed %d: %v", seed, l2.Diags.Err())
			}
			for i, p := range pkts {
				if got, _ := outcome(l2.Ruleset, p); got != base[i] {
					t.Errorf("seed %d: rule %d %q called redundant, but without it packet %s gets %s, not %s\n%s",
						seed, rr.Rule.Pos.Line, rr.Rule.Line, p.String(), got, base[i], text)
				}
			}
		}
	}
	t.Logf("%d rulesets, %d packet runs, %d rules called unreachable or not entered, %d redundant", n, runs, unreach, redund)
	if os.Getenv("DFW_ANALYSIS_VERBOSE") != "" {
		t.Log(chainRuleset(rand.New(rand.NewPCG(1, 7))))
	}
}
