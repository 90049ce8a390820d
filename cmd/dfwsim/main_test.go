package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dfw-project/dfw/sim/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"dfwsim": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", Setup: copyFixtures})
}

// fixtures are copied into each script's work directory: the capture
// fixtures of sim/capture (binary, so not in the txtar files) and the
// seed's rulesets.
var fixtures = map[string]string{
	"incident-sll2.pcap":   "../../sim/capture/testdata/incident-sll2.pcap",
	"incident-sll2.pcapng": "../../sim/capture/testdata/incident-sll2.pcapng",
	"two-ifaces.pcapng":    "../../sim/capture/testdata/two-ifaces.pcapng",
	"gen-eth.pcap":         "../../sim/capture/testdata/gen-eth.pcap",
	"docker-20.10.save":    "../../testdata/seed/docker-20.10.save",
	"iptables.conf":        "../../testdata/seed/iptables.conf",
}

func copyFixtures(env *testscript.Env) error {
	for name, src := range fixtures {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
