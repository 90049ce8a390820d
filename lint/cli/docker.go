package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/internal/dockerrules"
	"github.com/dfw-project/dfw/parser"
)

// dockerFlags are --docker, --publish and --network: Docker's own rules
// (package internal/dockerrules) as the first base, its iptables rules
// under the IPv4 FILEs and its ip6tables rules under the IPv6 ones, so a
// repository's rules.v4 and rules.v6 are checked as they will meet Docker
// on the host.
type dockerFlags struct {
	version  string
	publish  []string
	networks []string
	bases    []base // the baselines, once built: iptables, then ip6tables
}

func (d *dockerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&d.version, "docker", "", "apply the FILEs on top of the rules Docker VERSION installs (20.10, 28 for 28.2.2+, or 29), as the first base: its iptables rules under IPv4 FILEs, its ip6tables rules under IPv6 ones (20.10 has none: its ip6tables option is experimental and off by default)")
	fs.StringArrayVar(&d.publish, "publish", nil, "with --docker: a published port as docker run -p gives it, [HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO], optionally @CONTAINER (an IPv4 or IPv6 address, or a --network name); default container 172.17.0.2 on docker0; mapped over IPv6 too where the container's network has IPv6 (repeatable)")
	fs.StringArrayVar(&d.networks, "network", nil, "with --docker: a user-defined bridge network NAME=SUBNET, created after docker0; SUBNET is IPv4, IPv6 (an IPv6-only network) or both, comma-separated (NAME=172.18.0.0/16,fd00:18::/64); docker0=SUBNET6 gives docker0 IPv6 (repeatable)")
}

// build makes the baselines; it is a no-op without --docker.
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
	v4, v6, err := dockerrules.Baselines(d.version, pubs, nets...)
	if err != nil {
		return fmt.Errorf("--docker: %v", err)
	}
	d.bases = []base{
		{Source: parser.Source{Name: "<docker " + d.version + ">", Data: v4}, fam: parser.IPv4, docker: true},
		{Source: parser.Source{Name: "<docker " + d.version + " ip6tables>", Data: v6}, fam: parser.IPv6, docker: true},
	}
	if len(v6) == 0 {
		d.bases[1].none = "Docker " + d.version + " makes no chain in ip6tables: its ip6tables option is experimental and off by default"
	}
	return nil
}

// explainNoDocker adds to the errors of a FILE of family fam that names a
// Docker chain that does not exist (-A DOCKER-USER, -j DOCKER-USER) why
// it does not, when --docker gives no rules of that family.
func explainNoDocker(l *parser.Loaded, bases []base, fam parser.Family) {
	for _, b := range bases {
		if !b.docker || b.fam != fam || b.none == "" {
			continue
		}
		for _, d := range l.Diags {
			if errors.Is(d, parser.ErrUnknownChain) && strings.Contains(d.Msg, " DOCKER") {
				d.Msg += "; " + b.none
			}
		}
	}
}

// withDocker puts the baselines, if any, before the bases read from --base.
func withDocker(c *common, bases []base) []base {
	return append(append([]base{}, c.docker.bases...), bases...)
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
