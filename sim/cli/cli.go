// Package cli is dfwsim's command line: flags, output formats, exit codes.
package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/internal/termstyle"
	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
)

// Version is dfwsim's version.
var Version = "0.1.0-dev"

// Exit codes.
const (
	ExitOK     = 0
	ExitExpect = 1
	ExitUsage  = 2
)

const usage = `usage: dfwsim [flags] FILE...

Simulates packets through the iptables ruleset of FILEs (the first applied as
iptables-restore would, the rest as iptables-restore --noflush; - is stdin),
with the kernel's hook order, routing, conntrack and NAT. All --pkt values form
one flow: conntrack is carried from one packet to the next.

The rules are IPv4 (iptables) or IPv6 (ip6tables) as their text tells (the
header, the addresses); when it does not tell, as the addresses of --pkt
(src=, dst=) tell, else those of --iface when all of one family; IPv4 when
nothing tells. Rules, packets and addresses of different families are a usage
error.

examples:
  dfwsim --pkt tcp:ens33:80 iptables.save
  dfwsim --pkt tcp:ens33:8080 --pkt reply --pkt reply,flags=A live.save
  dfwsim --pkt proto=udp,in=docker0,dst=192.0.2.53,dport=53 live.save
  dfwsim --pkt proto=icmp,in=eth1 --expect DROP live.save iptables.conf
  dfwsim --iface ens33=10.0.0.5/24 --format json --pkt tcp:ens33:22 live.save
  dfwsim --pcap uplink.pcap --in ens33 live.save iptables.conf
  dfwsim -q --pkt tcp:ens33:443 --pkt reply live.save
  dfwsim --graph --pkt tcp:ens33:8080 live.save iptables.conf | dot -Tsvg > path.svg

With --pcap, the packets of a capture are replayed in order through one
conntrack table, and a summary tells packets and flows per verdict and, for
each dropped or rejected flow, the rule that first dropped it. Entries time
out by the capture's timestamps with the kernel's default timeouts (UDP 30 s,
120 s once replied; ICMP 30 s; TCP by state: 2 min SYN_SENT, 5 days
ESTABLISHED, 2 min TIME_WAIT...; other protocols 10 min): a reply after its
entry expired is NEW. --pkt flows have no clock: their entries never expire.

--graph writes the chain graph as Graphviz DOT instead, with the chains the
packets entered and the jumps they took highlighted (see dfwlint graph).

Exit status: 0 answered, 1 an --expect failed, 2 usage or input error.

flags:
`

// Main runs dfwsim and returns its exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("dfwsim", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		pkts    []string
		ifaces  []string
		brnf    bool
		expect  string
		format  string
		explain bool
		drawing bool
		version bool
		help    bool
		ro      replayOptions
		ifnames []string
	)
	fs.StringArrayVar(&pkts, "pkt", nil, "a packet of the flow: PROTO:IFACE:DPORT, key=value,..., reply[,...] or related[,...] (repeatable)")
	fs.StringArrayVar(&ifaces, "iface", nil, "an interface of the host: NAME=ADDR/LEN (repeatable)")
	fs.BoolVar(&brnf, "br-netfilter", true, "bridged traffic crosses iptables (bridge-nf-call-iptables)")
	fs.StringVar(&expect, "expect", "", "expected verdict: one for the whole flow, or one per packet (ACCEPT,DROP); exit 1 when different")
	fs.StringVar(&format, "format", "text", "output format: text or json (JSON Lines)")
	fs.BoolVar(&explain, "explain", false, "also show the rules that did not match and the first option that failed")
	fs.StringVar(&ro.path, "pcap", "", "replay a capture (pcap or pcapng; Ethernet, Linux cooked v1/v2, raw IP) instead of --pkt, with conntrack across it")
	fs.StringVar(&ro.in, "in", "", "with --pcap: the ingress interface of packets whose capture does not name it")
	fs.StringArrayVar(&ifnames, "ifname", nil, "with --pcap: name a Linux cooked v2 interface index: N=NAME (repeatable)")
	fs.IntVar(&ro.maxFlows, "max-flows", 10, "with --pcap: dropped flows listed per rule in the summary (0: all)")
	fs.BoolVar(&ro.reference, "reference", false, "with --pcap: use the reference evaluator (linear scan of every rule) instead of the indexed chains")
	fs.BoolVarP(&ro.quiet, "quiet", "q", false, "one line per packet, its verdict and disposition, instead of the trace; with --pcap: no progress bar")
	fs.BoolVar(&drawing, "graph", false, "write the chain graph as Graphviz DOT, the packets' path highlighted, instead of the text or JSON answer")
	fs.BoolVar(&version, "version", false, "print the version")
	fs.BoolVarP(&help, "help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "dfwsim: %v\n%s%s", err, usage, fs.FlagUsages())
		return ExitUsage
	}
	if help {
		fmt.Fprint(stdout, usage+fs.FlagUsages()+"\n"+sim.SpecForms+"\n")
		return ExitOK
	}
	if version {
		fmt.Fprintf(stdout, "dfwsim %s\n", Version)
		return ExitOK
	}
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "dfwsim: --format %s: expected text or json\n", format)
		return ExitUsage
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "dfwsim: no rules file given\n%s", usage)
		return ExitUsage
	}
	if drawing && (ro.path != "" || format != "text") {
		fmt.Fprintf(stderr, "dfwsim: --graph draws the path of the --pkt packets: it takes neither --pcap nor --format\n")
		return ExitUsage
	}
	if ro.path != "" {
		if len(pkts) > 0 || expect != "" {
			fmt.Fprintf(stderr, "dfwsim: --pcap replays a capture: it takes neither --pkt nor --expect\n")
			return ExitUsage
		}
		ro.format = format
		ro.ifnames = map[uint32]string{}
		for _, v := range ifnames {
			n, name, ok := strings.Cut(v, "=")
			idx, err := strconv.ParseUint(n, 10, 32)
			if !ok || err != nil || name == "" {
				fmt.Fprintf(stderr, "dfwsim: --ifname %s: expected N=NAME (e.g. 2=ens33)\n", v)
				return ExitUsage
			}
			ro.ifnames[uint32(idx)] = name
		}
		return replayMain(ro, files, ifaces, brnf, stdin, stdout, stderr)
	}
	if len(pkts) == 0 {
		fmt.Fprintf(stderr, "dfwsim: no --pkt or --pcap given\n%s\n", sim.SpecForms)
		return ExitUsage
	}
	var specs []*sim.Spec
	for _, s := range pkts {
		sp, err := sim.ParseSpec(s)
		if err != nil {
			fmt.Fprintf(stderr, "dfwsim: --pkt %s\n%s\n", err, sim.SpecForms)
			return ExitUsage
		}
		specs = append(specs, sp)
	}
	if specs[0].Kind != "" {
		fmt.Fprintf(stderr, "dfwsim: --pkt %s: the first packet of a flow cannot be a %s\n%s\n", pkts[0], specs[0].Kind, sim.SpecForms)
		return ExitUsage
	}
	expects, err := parseExpect(expect, len(specs))
	if err != nil {
		fmt.Fprintf(stderr, "dfwsim: --expect %v\n", err)
		return ExitUsage
	}
	given, l, code := loadRules(files, ifaces, pkts, specs, stdin, stderr)
	if l == nil {
		return code
	}

	// Interfaces named by the packets are part of the host too.
	for _, sp := range specs {
		for _, k := range []string{"in", "out"} {
			if n := sp.Vals[k]; n != "" && n != "local" && n != "lo" {
				if _, ok := given[n]; !ok {
					given[n] = nil
				}
			}
		}
	}
	host := sim.InferHost(l.Ruleset, given)
	host.BrNetfilter = brnf
	s := sim.New(l.Ruleset, host)
	s.Explain = explain

	var out bytes.Buffer
	var prev *sim.Result
	var results []*sim.Result
	status := ExitOK
	for i, sp := range specs {
		p, as, err := sp.Resolve(host, prev)
		if err != nil {
			fmt.Fprintf(stderr, "dfwsim: --pkt %s: %v\n%s\n", pkts[i], err, sim.SpecForms)
			return ExitUsage
		}
		if i == 0 && len(specs) == 1 && !drawing {
			want := ""
			if len(expects) > 0 {
				want = expects[0]
			}
			var errs bytes.Buffer
			if openClasses(&out, l.Ruleset, host, sp, p, as, format, ro.quiet, explain, want, &status, &errs) {
				stderr.Write(errs.Bytes())
				break
			}
		}
		res := s.Run(p)
		res.Assumptions = append(res.Assumptions, as...)
		if !s.ConntrackActive() && i == 0 {
			res.Assumptions = append(res.Assumptions, "conntrack is not active: no rule of this ruleset needs it (no nat table, no state/conntrack match)")
		}
		if format == "json" {
			writeJSON(&out, res)
		} else if ro.quiet {
			fmt.Fprintln(&out, packetLine(i+1, res))
		} else {
			writeText(&out, i+1, res, explain)
		}
		if len(expects) > 0 && !expectOK(expects[i], res) {
			status = ExitExpect
			fmt.Fprintf(stderr, "dfwsim: packet %d: expected %s, got %s (%s)\n", i+1, expects[i], res.Verdict, res.Disposition)
		}
		prev = res
		results = append(results, res)
	}
	if drawing {
		if err := writeGraph(stdout, l.Ruleset, files, results); err != nil {
			fmt.Fprintf(stderr, "dfwsim: %v\n", err)
			return ExitUsage
		}
		return status
	}
	stdout.Write(colourText(out.Bytes(), termstyle.Style{On: format == "text" && termstyle.Enabled(stdout)}))
	return status
}

func parseExpect(s string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		switch strings.ToUpper(p) {
		case "ACCEPT", "DROP", "REJECT":
			parts[i] = strings.ToUpper(p)
		default:
			switch strings.ToLower(p) {
			case sim.DeliveredLocal, sim.Forwarded, sim.Sent, sim.Dropped, sim.Rejected:
				parts[i] = strings.ToLower(p)
			default:
				return nil, fmt.Errorf("%s: expected ACCEPT, DROP or REJECT (or a disposition such as forwarded)", p)
			}
		}
	}
	if len(parts) == 1 {
		out := make([]string, n)
		for i := range out {
			out[i] = parts[0]
		}
		return out, nil
	}
	if len(parts) != n {
		return nil, fmt.Errorf("%s: %d values for %d packets (give one for the flow, or one per packet)", s, len(parts), n)
	}
	return parts, nil
}

func expectOK(want string, r *sim.Result) bool {
	if want == r.Verdict || want == r.Disposition {
		return true
	}
	return false
}

// loadRules reads the --iface values and the rules files (stacked: the
// first as iptables-restore, the others as --noflush; "-" is standard
// input), in the family decideFamily gives from them, the --iface values and
// the --pkt specs. It prints the input errors with what to do, and the
// warnings; on an error the ruleset is nil and code is the exit status.
func loadRules(files, ifaces, pkts []string, specs []*sim.Spec, stdin io.Reader, stderr io.Writer) (given map[string][]netip.Prefix, l *parser.Loaded, code int) {
	given = map[string][]netip.Prefix{}
	for _, f := range ifaces {
		name, addr, ok := strings.Cut(f, "=")
		p, err := netip.ParsePrefix(addr)
		if !ok || name == "" || err != nil {
			fmt.Fprintf(stderr, "dfwsim: --iface %s: expected NAME=ADDR/LEN (e.g. ens33=203.0.113.10/24)\n", f)
			return nil, nil, ExitUsage
		}
		given[name] = append(given[name], p)
	}
	var srcs []parser.Source
	for _, f := range files {
		var data []byte
		var err error
		name := f
		if f == "-" {
			data, err = io.ReadAll(stdin)
			name = "<stdin>"
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfwsim: %v\n", err)
			return nil, nil, ExitUsage
		}
		srcs = append(srcs, parser.Source{Name: name, Data: data})
	}
	fam, err := decideFamily(srcs, ifaces, pkts, specs)
	if err != nil {
		fmt.Fprintf(stderr, "dfwsim: %v\n", err)
		return nil, nil, ExitUsage
	}
	l = parser.Load(srcs, parser.Options{Family: fam})
	if errs := l.Diags.Errors(); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "dfwsim: the rules have %d error(s): fix them first (dfwlint check shows every problem of a rules file)\n", len(errs))
		return nil, nil, ExitUsage
	}
	for _, w := range l.Diags.Warnings() {
		fmt.Fprintln(stderr, w.Error())
	}
	return given, l, 0
}
