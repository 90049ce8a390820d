package gen

import "github.com/dfw-project/dfw/internal/dockerrules"

// Docker's iptables layouts come from package dockerrules (the rules of
// moby v20.10.12 and v28.5.2, replayed and saved in a network namespace by
// testdata/docker/build.sh); these are the generators' names for them.

type dockerVersion = dockerrules.Version

const (
	docker2010 = dockerrules.V2010 // Docker 20.10 (also 19.03-24.x in shape)
	docker28   = dockerrules.V28   // Docker 28.2.2 and later 28.x
)

type dockerBridge struct {
	name   string // docker0, br-xxxx
	subnet string // 172.17.0.0/16
}

type dockerPort struct {
	proto     string // tcp or udp
	host, ctr int
}

type dockerContainer struct {
	bridge int    // index into dockerHost.bridges
	ip     string // 172.17.0.2
	ports  []dockerPort
}

// dockerHost is the Docker part of a host: its bridges in creation order and
// its containers in start order.
type dockerHost struct {
	version    dockerVersion
	bridges    []dockerBridge
	containers []dockerContainer
}

// emit adds Docker's rules to rs. Rules other parts of the host put in
// DOCKER-USER must be added before (they sit above Docker's RETURN).
func (d *dockerHost) emit(rs *ruleset) {
	h := dockerrules.Host{Version: d.version}
	for _, b := range d.bridges {
		h.Bridges = append(h.Bridges, dockerrules.Bridge{Name: b.name, Subnet: b.subnet})
	}
	for _, c := range d.containers {
		dc := dockerrules.Container{Bridge: c.bridge, IP: c.ip}
		for _, p := range c.ports {
			dc.Ports = append(dc.Ports, dockerrules.Port{Proto: p.proto, Host: p.host, Ctr: p.ctr})
		}
		h.Containers = append(h.Containers, dc)
	}
	h.Emit(rs)
}
