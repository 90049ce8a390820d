package cli

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/parser"
	"github.com/dfw-project/dfw/sim"
	"github.com/dfw-project/dfw/sim/symbolic"
)

const exposureUsage = `Usage: dfwlint exposure [flags] FILE...

For each FILE, applied on top of the --base files, list the new connections
from outside that the ruleset accepts (a TCP SYN, a UDP datagram, an ICMP
echo request from any source), per external interface: to the host
(delivered locally), to containers (after DNAT to a published port) and
routed straight to a bridge. Each row gives the protocol, the destination
ports as the packet arrives, the sources, the destination and the rule (or
policy) that accepted it; JSON adds the path and a witness packet to try with
dfwsim.

External interfaces: by default every interface that is not loopback, a
bridge, a veth or a tunnel, including "(unnamed)": any interface the rules
never name (a second uplink). --external gives them instead.

The analysis is exact (packet sets through the netfilter path, NAT and
conntrack included) and has budgets: when one is hit the output says which
part was cut short (INCOMPLETE), never a silent "nothing exposed".

Examples:
  dfwlint exposure /etc/iptables/rules.v4
  dfwlint exposure --base live.save iptables.conf
  dfwlint exposure --external eth0,eth1 --format json live.save

Exit status: 0 listed, 2 usage or input error.
`

const diffUsage = `Usage: dfwlint diff [flags] OLD NEW

Apply OLD and NEW each on top of the --base files and list the packets whose
fate changes: verdict, disposition (delivered, forwarded, dropped…), egress
interface or NAT, for first packets on every interface and from the host
itself, each with the rule that decided before and after and a witness.

Examples:
  dfwlint diff live.save proposed.save
  dfwlint diff --base live.save iptables.conf.old iptables.conf

Exit status: 0 no change, 1 changes (or the analysis was cut short by a
budget and cannot promise there is none), 2 usage or input error.
`

// analysisFlags are the budget and host flags of exposure and diff.
type analysisFlags struct {
	format     string
	timeout    time.Duration
	maxClasses int
	maxNodes   int
	ifaces     []string
}

func (a *analysisFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.format, "format", "text", "output format: text or json")
	fs.DurationVar(&a.timeout, "timeout", symbolic.DefaultTimeout, "time budget of each analysis")
	fs.IntVar(&a.maxClasses, "max-classes", symbolic.DefaultMaxClasses, "budget: packet classes per evaluation")
	fs.IntVar(&a.maxNodes, "max-nodes", symbolic.DefaultMaxNodes, "budget: BDD nodes per ruleset")
	fs.StringArrayVar(&a.ifaces, "iface", nil, "an interface of the host: NAME=ADDR/LEN (repeatable; default: inferred from the rules)")
}

func (a *analysisFlags) options() symbolic.Options {
	return symbolic.Options{Timeout: a.timeout, MaxClasses: a.maxClasses, MaxNodes: a.maxNodes}
}

func (a *analysisFlags) host(rs *parser.Ruleset) (*sim.Host, error) {
	given := map[string][]netip.Prefix{}
	for _, f := range a.ifaces {
		name, addr, ok := strings.Cut(f, "=")
		p, err := netip.ParsePrefix(addr)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("--iface %s: expected NAME=ADDR/LEN (e.g. ens33=203.0.113.10/24)", f)
		}
		given[name] = append(given[name], p)
	}
	return sim.InferHost(rs, given), nil
}

// loadOK loads files and reports input errors; ok is false on any.
func loadOK(cmd string, files []string, c *common, stdin io.Reader, stderr io.Writer) ([]*result, bool) {
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint %s: %v\n", cmd, err)
		return nil, false
	}
	results, err := load(files, c, opts, &reader{stdin: stdin})
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint %s: %v\n", cmd, err)
		return nil, false
	}
	ok := true
	for _, res := range results {
		if res.readErr != nil {
			fmt.Fprintf(stderr, "dfwlint %s: %v\n", cmd, res.readErr)
			ok = false
			continue
		}
		for _, d := range res.diags {
			fmt.Fprintln(stderr, formatDiag(d))
		}
		if len(res.diags.Errors()) > 0 {
			ok = false
		}
	}
	return results, ok
}

func runExposure(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("exposure", exposureUsage, stdout)
	var c common
	c.register(fs)
	var a analysisFlags
	a.register(fs)
	var external []string
	fs.StringSliceVar(&external, "external", nil, "the external interfaces (comma-separated or repeated; default: every interface not loopback, bridge, veth or tunnel, and any unnamed one)")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if a.format != "text" && a.format != "json" {
		fmt.Fprintf(stderr, "dfwlint exposure: --format %s: expected text or json\n", a.format)
		return ExitError
	}
	results, ok := loadOK("exposure", fs.Args(), &c, stdin, stderr)
	if !ok {
		return ExitError
	}
	var docs []symbolic.ExposureJSON
	for i, res := range results {
		rs := res.loaded.Ruleset
		host, err := a.host(rs)
		if err != nil {
			fmt.Fprintf(stderr, "dfwlint exposure: %v\n", err)
			return ExitError
		}
		rows, incs := symbolic.Exposure(context.Background(), rs, host, symbolic.ExposureOptions{Options: a.options(), External: external})
		if a.format == "json" {
			docs = append(docs, symbolic.ExposureJSON{File: res.name, Exposure: rows, Incomplete: incs})
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		title := res.name
		if len(c.bases) > 0 {
			title += " on top of " + strings.Join(c.bases, ", ")
		}
		if err := symbolic.WriteExposureTable(stdout, title+":", rows, incs); err != nil {
			fmt.Fprintf(stderr, "dfwlint exposure: %v\n", err)
			return ExitError
		}
	}
	if a.format == "json" {
		if err := symbolic.WriteExposureJSON(stdout, docs); err != nil {
			fmt.Fprintf(stderr, "dfwlint exposure: %v\n", err)
			return ExitError
		}
	}
	return ExitClean
}

func runDiff(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("diff", diffUsage, stdout)
	var c common
	c.register(fs)
	var a analysisFlags
	a.register(fs)
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintf(stderr, "dfwlint diff: %d files given: expected OLD and NEW\n", fs.NArg())
		return ExitError
	}
	if a.format != "text" && a.format != "json" {
		fmt.Fprintf(stderr, "dfwlint diff: --format %s: expected text or json\n", a.format)
		return ExitError
	}
	results, ok := loadOK("diff", fs.Args(), &c, stdin, stderr)
	if !ok {
		return ExitError
	}
	old, nw := results[0].loaded.Ruleset, results[1].loaded.Ruleset
	host, err := a.host(nw)
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint diff: %v\n", err)
		return ExitError
	}
	rows, incs := symbolic.Diff(context.Background(), old, nw, host, symbolic.DiffOptions{Options: a.options()})
	if a.format == "json" {
		err = symbolic.WriteDiffJSON(stdout, rows, incs)
	} else {
		err = symbolic.WriteDiff(stdout, rows, incs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dfwlint diff: %v\n", err)
		return ExitError
	}
	if len(rows) > 0 || len(incs) > 0 {
		return ExitFindings
	}
	return ExitClean
}
