package gen

import "fmt"

// Docker's iptables layouts, as iptables-save prints them after the daemon
// has set up its bridges and started its containers. The rule text and
// order follow testdata/docker/README.md (moby v20.10.12 and v28.5.2,
// replayed and saved in a network namespace by testdata/docker/build.sh).

type dockerVersion int

const (
	docker2010 dockerVersion = iota // Docker 20.10 (also 19.03-24.x in shape)
	docker28                        // Docker 28.2.2 and later 28.x
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
	switch d.version {
	case docker2010:
		d.emit2010(rs)
	case docker28:
		d.emit28(rs)
	}
}

func portMatch(proto string, port int) string {
	return fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, port)
}

func (d *dockerHost) natCommon(rs *ruleset, hairpin bool) {
	rs.add("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j DOCKER")
	rs.add("nat", "OUTPUT", "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER")
	rs.chain("nat", "DOCKER")
	for i := len(d.bridges) - 1; i >= 0; i-- {
		b := d.bridges[i]
		rs.add("nat", "POSTROUTING", fmt.Sprintf("-s %s ! -o %s -j MASQUERADE", b.subnet, b.name))
	}
	if hairpin {
		for _, c := range d.containers {
			for _, p := range c.ports {
				rs.add("nat", "POSTROUTING", fmt.Sprintf("-s %s/32 -d %s/32 %s -j MASQUERADE", c.ip, c.ip, portMatch(p.proto, p.ctr)))
			}
		}
	}
	for i := len(d.bridges) - 1; i >= 0; i-- {
		rs.add("nat", "DOCKER", fmt.Sprintf("-i %s -j RETURN", d.bridges[i].name))
	}
	for _, c := range d.containers {
		br := d.bridges[c.bridge].name
		for _, p := range c.ports {
			rs.add("nat", "DOCKER", fmt.Sprintf("! -i %s %s -j DNAT --to-destination %s:%d", br, portMatch(p.proto, p.host), c.ip, p.ctr))
		}
	}
}

func (d *dockerHost) acceptRule(c dockerContainer, p dockerPort) string {
	br := d.bridges[c.bridge].name
	return fmt.Sprintf("-d %s/32 ! -i %s -o %s %s -j ACCEPT", c.ip, br, br, portMatch(p.proto, p.ctr))
}

func (d *dockerHost) emit2010(rs *ruleset) {
	rs.policy("filter", "FORWARD", "DROP")
	for _, c := range []string{"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"} {
		rs.chain("filter", c)
	}
	rs.add("filter", "FORWARD", "-j DOCKER-USER")
	rs.add("filter", "FORWARD", "-j DOCKER-ISOLATION-STAGE-1")
	for i := len(d.bridges) - 1; i >= 0; i-- {
		br := d.bridges[i].name
		rs.add("filter", "FORWARD", "-o "+br+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
		rs.add("filter", "FORWARD", "-o "+br+" -j DOCKER")
		rs.add("filter", "FORWARD", "-i "+br+" ! -o "+br+" -j ACCEPT")
		rs.add("filter", "FORWARD", "-i "+br+" -o "+br+" -j ACCEPT")
	}
	for _, c := range d.containers {
		for _, p := range c.ports {
			rs.add("filter", "DOCKER", d.acceptRule(c, p))
		}
	}
	for i := len(d.bridges) - 1; i >= 0; i-- {
		br := d.bridges[i].name
		rs.add("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+br+" ! -o "+br+" -j DOCKER-ISOLATION-STAGE-2")
	}
	rs.add("filter", "DOCKER-ISOLATION-STAGE-1", "-j RETURN")
	for i := len(d.bridges) - 1; i >= 0; i-- {
		rs.add("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+d.bridges[i].name+" -j DROP")
	}
	rs.add("filter", "DOCKER-ISOLATION-STAGE-2", "-j RETURN")
	rs.add("filter", "DOCKER-USER", "-j RETURN")
	d.natCommon(rs, true)
}

func (d *dockerHost) emit28(rs *ruleset) {
	for _, c := range d.containers {
		br := d.bridges[c.bridge].name
		rs.add("raw", "PREROUTING", fmt.Sprintf("-d %s/32 ! -i %s -j DROP", c.ip, br))
	}
	rs.policy("filter", "FORWARD", "DROP")
	for _, c := range []string{"DOCKER", "DOCKER-BRIDGE", "DOCKER-CT", "DOCKER-FORWARD",
		"DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"} {
		rs.chain("filter", c)
	}
	rs.add("filter", "FORWARD", "-j DOCKER-USER")
	rs.add("filter", "FORWARD", "-j DOCKER-FORWARD")
	for i := len(d.containers) - 1; i >= 0; i-- { // inserted at the top: newest first
		c := d.containers[i]
		for j := len(c.ports) - 1; j >= 0; j-- {
			rs.add("filter", "DOCKER", d.acceptRule(c, c.ports[j]))
		}
	}
	for _, b := range d.bridges {
		rs.add("filter", "DOCKER", "! -i "+b.name+" -o "+b.name+" -j DROP")
	}
	for _, b := range d.bridges {
		rs.add("filter", "DOCKER-BRIDGE", "-o "+b.name+" -j DOCKER")
	}
	for _, b := range d.bridges {
		rs.add("filter", "DOCKER-CT", "-o "+b.name+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	rs.add("filter", "DOCKER-FORWARD", "-j DOCKER-CT")
	rs.add("filter", "DOCKER-FORWARD", "-j DOCKER-ISOLATION-STAGE-1")
	rs.add("filter", "DOCKER-FORWARD", "-j DOCKER-BRIDGE")
	for _, b := range d.bridges {
		rs.add("filter", "DOCKER-FORWARD", "-i "+b.name+" -j ACCEPT")
	}
	for _, b := range d.bridges {
		rs.add("filter", "DOCKER-ISOLATION-STAGE-1", "-i "+b.name+" ! -o "+b.name+" -j DOCKER-ISOLATION-STAGE-2")
	}
	for i := len(d.bridges) - 1; i >= 0; i-- {
		rs.add("filter", "DOCKER-ISOLATION-STAGE-2", "-o "+d.bridges[i].name+" -j DROP")
	}
	d.natCommon(rs, false)
}
