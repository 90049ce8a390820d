// Command dfwlint checks iptables rulesets: see "dfwlint --help" and the
// README at the repository root. The logic lives in package lint/cli.
package main

import (
	"os"

	"github.com/dfw-project/dfw/lint/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
