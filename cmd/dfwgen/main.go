// Command dfwgen writes synthetic iptables-save rulesets for tests and
// benchmarks (package internal/gen).
//
//	dfwgen kubeproxy [-n SERVICES] [-seed N] [-no-docker] > big.save
//	dfwgen fleet [-n HOSTS] [-seed N] DIR
//
// Exit status: 0 success, 2 usage or write error.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dfw-project/dfw/internal/gen"
)

const usage = `usage:
  dfwgen kubeproxy [-n SERVICES] [-seed N] [-no-docker]   kube-proxy node ruleset to stdout
  dfwgen fleet [-n HOSTS] [-seed N] DIR                     HOSTS host dumps into DIR
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "kubeproxy":
		fs := flag.NewFlagSet("kubeproxy", flag.ContinueOnError)
		fs.SetOutput(stderr)
		n := fs.Int("n", 10000, "number of services (about 8 rules each)")
		seed := fs.Int64("seed", 1, "variation seed")
		noDocker := fs.Bool("no-docker", false, "leave out Docker's rules")
		if err := fs.Parse(args[1:]); err != nil {
			return flagExit(err)
		}
		if fs.NArg() != 0 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		bw := bufio.NewWriterSize(stdout, 1<<20)
		st, err := gen.WriteKubeProxy(bw, gen.KubeProxyOptions{Services: *n, Seed: *seed, NoDocker: *noDocker})
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			fmt.Fprintln(stderr, "dfwgen:", err)
			return 2
		}
		fmt.Fprintf(stderr, "dfwgen: %d services, %d rules, %d chains, %d bytes\n", *n, st.Rules, st.Chains, st.Bytes)
		return 0
	case "fleet":
		fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
		fs.SetOutput(stderr)
		n := fs.Int("n", 2000, "number of hosts")
		seed := fs.Int64("seed", 1, "variation seed")
		if err := fs.Parse(args[1:]); err != nil {
			return flagExit(err)
		}
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		hosts, err := gen.FleetWithSeed(fs.Arg(0), *n, *seed)
		if err != nil {
			fmt.Fprintln(stderr, "dfwgen:", err)
			return 2
		}
		rules := 0
		for _, h := range hosts {
			rules += h.Rules
		}
		fmt.Fprintf(stderr, "dfwgen: %d hosts, %d rules in %s\n", len(hosts), rules, fs.Arg(0))
		return 0
	default:
		fmt.Fprintf(stderr, "dfwgen: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

func flagExit(err error) int {
	if err == flag.ErrHelp {
		return 0
	}
	return 2
}
