package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/internal/dockerrules"
	"github.com/dfw-project/dfw/parser"
)

// dockerFlags are --docker, --publish and --network: Docker's own rules
// (package internal/dockerrules) as the first base, so a repository's
// iptables.conf is checked as it will meet Docker on the host.
type dockerFlags struct {
	version  string
	publish  []string
	networks []string
	base     *parser.Source // the baseline, once built
}

func (d *dockerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&d.version, "docker", "", "apply the FILEs on top of the rules Docker VERSION installs (20.10, 28 for 28.2.2+, or 29), as the first base")
	fs.StringArrayVar(&d.publish, "publish", nil, "with --docker: a published port as docker run -p gives it, [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO], optionally @CONTAINER (an address, or a --network name); default container 172.17.0.2 on docker0 (repeatable)")
	fs.StringArrayVar(&d.networks, "network", nil, "with --docker: a user-defined bridge network NAME=SUBNET, created after docker0 (repeatable)")
}

// build makes the baseline; it is a no-op without --docker.
func (d *dockerFlags) build() error {
	if d.version == "" {
		if len(d.publish) > 0 || len(d.networks) > 0 {
			return fmt.Errorf("--publish and --network need --docker VERSION")
		}
		return nil
	}
	var pubs []dockerrules.Publish
	for _, s := range d.publish {
		p, err := dockerrules.ParsePublish(s)
		if err != nil {
			return fmt.Errorf("--publish: %v", err)
		}
		pubs = append(pubs, p...)
	}
	var nets []dockerrules.Network
	for _, s := range d.networks {
		n, err := dockerrules.ParseNetwork(s)
		if err != nil {
			return fmt.Errorf("--network: %v", err)
		}
		nets = append(nets, n)
	}
	b, err := dockerrules.Baseline(d.version, pubs, nets...)
	if err != nil {
		return fmt.Errorf("--docker: %v", err)
	}
	d.base = &parser.Source{Name: "<docker " + d.version + ">", Data: b}
	return nil
}

// withDocker puts the baseline, if any, before the bases read from --base.
func withDocker(c *common, bases []parser.Source) []parser.Source {
	if c.docker.base == nil {
		return bases
	}
	return append([]parser.Source{*c.docker.base}, bases...)
}

// dockerLayout names the Docker layout of a ruleset loaded without bases
// (a live dump), "" when it holds none of Docker's chains.
func dockerLayout(rs *parser.Ruleset) string {
	has := func(t, c string) bool { return rs.Chain(t, c) != nil }
	last := ""
	if c := rs.Chain("filter", "DOCKER-USER"); c != nil && len(c.Rules) > 0 {
		if r := c.Rules[len(c.Rules)-1]; r.Target != nil {
			last = r.Target.Name
		}
	}
	d := dockerrules.Describe(has, last)
	if strings.HasPrefix(d, "unknown") && !has("filter", "DOCKER") && !has("nat", "DOCKER") {
		return "" // DOCKER-USER alone: a user's file for Docker, not Docker's rules
	}
	return d
}

// displayName is how a FILE argument is named in output.
func displayName(f string) string {
	if f == "-" {
		return StdinName
	}
	return f
}
