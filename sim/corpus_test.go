package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestRulesetsRun simulates a few flows through every ruleset of the
// repository and of the corpus (DFW_CORPUS, or ../../shared/corpus when it
// exists): none may panic, each packet gets a verdict, and evalMatch
// answers maybe only for a match undecidable reports (the simulator keeps
// the conntrack table for a may-match rule's other outcome only when New
// saw one). The packets carry no mac=, no SCTP chunks, and meet rules with
// every kind of match.
func TestRulesetsRun(t *testing.T) {
	files := repoRulesets(t)
	if dir := corpusDir(); dir != "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*.save"))
		for _, name := range m {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, parser.Source{Name: name, Data: data})
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d rulesets found", len(files))
	}
	for _, src := range files {
		l := parser.Load([]parser.Source{src}, parser.Options{})
		if len(l.Diags.Errors()) > 0 || l.Ruleset == nil {
			continue
		}
		runFlows(t, src.Name, l.Ruleset)
	}
}

// flows are the --pkt values run through each ruleset, %s the interface
// (a flow is cut short at the first value that does not resolve).
var flows = [][]string{
	{"tcp:%s:22", "reply", "proto=tcp,in=%s,dport=22,flags=A", "proto=tcp,in=%s,dport=22,flags=FA", "reply,flags=FA"},
	{"udp:%s:53", "reply", "related"},
	{"icmp:%s:8", "reply"},
	{"proto=sctp,in=%s,dport=5"},
	{"proto=tcp,in=%s,dport=8080,flags=A,ttl=1,len=1500"},
	{"proto=tcp,in=local,dport=443", "reply"},
}

func runFlows(t *testing.T, name string, rs *parser.Ruleset) {
	h := InferHost(rs, nil)
	var ifaces []string
	for _, i := range h.Ifaces {
		if i.Name != "lo" && len(ifaces) < 3 {
			ifaces = append(ifaces, i.Name)
		}
	}
	if len(ifaces) == 0 {
		ifaces = []string{"eth0"}
	}
	s := New(rs, h)
	var spec string
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("%s: --pkt %s: panic: %v", name, spec, v)
		}
	}()
	for _, dev := range ifaces {
		for _, flow := range flows {
			var prev *Result
			for _, f := range flow {
				spec = f
				if strings.Contains(f, "%s") {
					spec = fmt.Sprintf(f, dev)
				}
				sp, err := ParseSpec(spec)
				if err != nil {
					t.Fatalf("%s: %v", spec, err)
				}
				p, _, err := sp.Resolve(h, prev)
				if err != nil {
					break
				}
				r := s.Run(p)
				if r.Verdict == "" || r.Disposition == "" {
					t.Fatalf("%s: --pkt %s: no verdict or disposition", name, spec)
				}
				checkUndecidable(t, name, spec, s, r)
				prev = r
			}
		}
	}
}

// checkUndecidable evaluates every match of the ruleset on the packet r
// ended with, in each hook, and fails on a maybe from a match that
// undecidable does not report.
func checkUndecidable(t *testing.T, name, spec string, s *Sim, r *Result) {
	p := r.Final
	for _, hook := range []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"} {
		e := env{p: &p, hook: hook, in: p.In, out: r.Out, host: s.Host, hix: s.hostIx(), ct: &ctInfo{}}
		for _, tb := range s.Ruleset.Tables {
			for _, c := range tb.Order {
				for _, rule := range c.Rules {
					for _, m := range rule.Matches {
						if evalMatch(m, &e) == maybe && !undecidable(m) {
							t.Fatalf("%s: --pkt %s: -m %s at line %d answers maybe, undecidable says it never does", name, spec, m.Name, m.Pos.Line)
						}
					}
				}
			}
		}
	}
}

// repoRulesets returns the rulesets of the repository: files by name, and
// the members of the test archives that are not expectations.
func repoRulesets(t *testing.T) []parser.Source {
	var out []parser.Source
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		switch ext := filepath.Ext(name); {
		case ext == ".save", ext == ".rules", ext == ".v4", ext == ".v6", name == "iptables.conf":
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, parser.Source{Name: path, Data: data})
		case ext == ".txtar":
			a, err := txtar.ParseFile(path)
			if err != nil {
				return err
			}
			for _, f := range a.Files {
				if strings.Contains(string(f.Data), "COMMIT") {
					out = append(out, parser.Source{Name: path + ":" + f.Name, Data: f.Data})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusDir is the ruleset corpus: DFW_CORPUS, or ../../shared/corpus;
// "" when it does not exist.
func corpusDir() string {
	dir := os.Getenv("DFW_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "corpus")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}
