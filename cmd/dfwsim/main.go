// Command dfwsim simulates packets through an iptables ruleset, with the
// real netfilter path, conntrack and NAT. See sim/cli.
package main

import (
	"os"

	"github.com/dfw-project/dfw/sim/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
