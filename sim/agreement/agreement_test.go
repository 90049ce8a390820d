package agreement

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/kernel"
)

var (
	randomCases = flag.Int("random", 250, "number of random cases compared with the kernel")
	onlyCases   = flag.String("cases", "", "compare only the hand-written cases whose name matches this regular expression (and no random case unless -random is given)")
)

// handWritten loads the hand-written cases and the kept regressions (only
// those -cases names, when it is given).
func handWritten(t *testing.T) []*Case {
	t.Helper()
	var only *regexp.Regexp
	if *onlyCases != "" {
		var err error
		if only, err = regexp.Compile(*onlyCases); err != nil {
			t.Fatalf("-cases: %v", err)
		}
	}
	var all []*Case
	for _, dir := range []string{"cases", "regress"} {
		cs, err := LoadCases(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if only == nil || only.MatchString(c.Name) {
				all = append(all, c)
			}
		}
	}
	return all
}

// randomCount is how many random cases to run: -random, which defaults to
// none when -cases picks hand-written ones.
func randomCount() int {
	if *onlyCases != "" && !flagSet("random") {
		return 0
	}
	return *randomCases
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// compare reports every packet whose simulator answer differs from the
// kernel's and returns how many packets were compared.
func compare(t *testing.T, c *Case, kernelAns, simAns [][]Answer) (packets, disagreements int) {
	t.Helper()
	for fi, f := range c.Flows {
		for i := range f.Packets {
			k, s := kernelAns[fi][i], simAns[fi][i]
			if k.Disposition == Skipped {
				continue
			}
			packets++
			if d := k.Diff(s); d != "" {
				disagreements++
				t.Errorf("%s / %s / packet %d: kernel vs simulator: %s", c.Name, f.Name, i+1, d)
			}
		}
	}
	return packets, disagreements
}

// TestRecordedAgreement compares the simulator with the kernel's recorded
// answers for every hand-written case. It needs no root.
func TestRecordedAgreement(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cases := handWritten(t)
	for _, backend := range []string{"nft", "legacy"} {
		rec, err := LoadRecorded(filepath.Join("testdata", "recorded"), backend)
		if err != nil {
			t.Fatal(err)
		}
		npk, nd := 0, 0
		for _, c := range cases {
			flows := rec[c.Name]
			if flows == nil {
				t.Errorf("%s: no recorded kernel answers for case %s (run with -record as root)", backend, c.Name)
				continue
			}
			var kans [][]Answer
			for _, f := range c.Flows {
				a, ok := flows[f.Name]
				if !ok || len(a) != len(f.Packets) {
					t.Fatalf("%s: case %s flow %s: recorded answers do not match the case (run with -record)", backend, c.Name, f.Name)
				}
				kans = append(kans, a)
			}
			sans, err := SimRun(c, root, SkipsOf(kans))
			if err != nil {
				t.Fatal(err)
			}
			p, d := compare(t, c, kans, sans)
			npk, nd = npk+p, nd+d
		}
		t.Logf("recorded kernel agreement: %d cases, %d packets, %d disagreements [%s]", len(cases), npk, nd, backend)
	}
}

// TestKernelAgreement sends every hand-written case and -random random cases
// through real netfilter on both backends and compares each packet with the
// simulator.
func TestKernelAgreement(t *testing.T) {
	kernel.Require(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cases := handWritten(t)
	for seed := 1; seed <= randomCount(); seed++ {
		cases = append(cases, RandomCase(uint64(seed)))
	}
	var summary []string
	for _, backend := range []string{"nft", "legacy"} {
		topo := kernel.NewForTest(t, backend)
		npk, nd := 0, 0
		for _, c := range cases {
			kans, err := KernelRun(topo, c, root)
			if err != nil {
				t.Fatalf("%s: %v", backend, err)
			}
			sans, err := SimRun(c, root, SkipsOf(kans))
			if err != nil {
				t.Fatalf("%s: %v", backend, err)
			}
			p, d := compare(t, c, kans, sans)
			npk, nd = npk+p, nd+d
			if d > 0 && c.RulesetText != "" {
				small := Shrink(c, func(try *Case) bool {
					k, err := KernelRun(topo, try, root)
					if err != nil {
						return false
					}
					s, err := SimRun(try, root, SkipsOf(k))
					if err != nil {
						return false
					}
					for fi := range k {
						for i := range k[fi] {
							if k[fi][i].Disposition != Skipped && k[fi][i].Diff(s[fi][i]) != "" {
								return true
							}
						}
					}
					return false
				})
				t.Logf("shrunk disagreement (keep it in testdata/regress):\n%s", mustJSON(small))
			}
		}
		summary = append(summary, fmt.Sprintf("kernel agreement: %d cases, %d packets, %d disagreements [%s]", len(cases), npk, nd, backend))
	}
	for _, s := range summary {
		t.Log(s)
		fmt.Println(s)
	}
	// CI prints the summary last: go test shows a passing test's output
	// only with -v, so the lines also go to the file DFW_AGREEMENT_SUMMARY
	// names.
	if path := os.Getenv("DFW_AGREEMENT_SUMMARY"); path != "" {
		if err := os.WriteFile(path, []byte(strings.Join(summary, "\n")+"\n"), 0o644); err != nil {
			t.Errorf("writing the summary: %v", err)
		}
	}
}

// TestAssertedReplies: a reply asserted as such (state ESTABLISHED, ctdir
// REPLY: what the symbolic evaluator's Entry.Reply models; an entry
// without NAT, or, when the flow's first packet had its source address
// changed, one with that source NAT, Packet.CTOrigSrc) gets the kernel's
// recorded answer for the real reply of its flow, wherever the first
// packet had no other NAT and its reply was ESTABLISHED. The case ctdir-replies tells the directions apart with
// --ctdir and the tuples' addresses and ports.
func TestAssertedReplies(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := LoadRecorded(filepath.Join("testdata", "recorded"), "nft")
	if err != nil {
		t.Fatal(err)
	}
	checked, ctdir, snat := 0, 0, 0
	for _, c := range handWritten(t) {
		if c.IPv6() {
			continue
		}
		rs, err := LoadRuleset(c, root)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range c.Flows {
			ans := rec[c.Name][f.Name]
			if len(f.Packets) < 2 || f.Packets[1].ReplyTo != 1 || len(ans) < 2 || ans[1].Disposition == Skipped {
				continue
			}
			s := sim.New(rs, TopologyHostFor(c))
			first, err := simPacket(f.Packets[0], nil)
			if err != nil {
				t.Fatal(err)
			}
			r1 := s.Run(first)
			// A source NAT of the address alone is asserted too, with
			// the connection's original source (Packet.CTOrigSrc).
			srcNAT := r1.NAT.Src.IsValid() && !r1.NAT.Dst.IsValid() && !r1.NAT.HasDport && !r1.NAT.HasSport
			if (r1.NAT != (sim.NAT{}) && !srcNAT) || r1.Disposition == sim.Dropped || r1.Disposition == sim.Rejected {
				continue
			}
			reply := sim.ReplyTo(r1)
			if r2 := s.Run(reply); r2.CTState != "ESTABLISHED" {
				continue
			}
			reply.State, reply.CTDir = "ESTABLISHED", "REPLY"
			if srcNAT {
				reply.CTOrigSrc = r1.Packet.Src
				snat++
			}
			got := fromResult(sim.New(rs, TopologyHostFor(c)).Run(reply))
			checked++
			if c.Name == "ctdir-replies" {
				ctdir++
			}
			if d := ans[1].Diff(got); d != "" {
				t.Errorf("%s / %s: kernel's reply vs the asserted reply: %s", c.Name, f.Name, d)
			}
		}
	}
	t.Logf("%d asserted replies checked against the kernel's recorded replies (%d of source-NATed connections)", checked, snat)
	if snat < 3 {
		t.Errorf("only %d replies of source-NATed connections checked", snat)
	}
	if ctdir < 5 {
		t.Errorf("only %d replies of ctdir-replies checked", ctdir)
	}
}
