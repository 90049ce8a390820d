package gen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Host describes one generated fleet host.
type Host struct {
	Name  string // file name, host-0001.save ...
	Kind  string // docker-20.10, docker-28, ufw, ufw-docker, server, seed
	Rules int    // -A lines, between 20 and 2,000
	Bytes int64
}

// Fleet writes n host dumps (seed 1) into dir; see [FleetWithSeed].
func Fleet(dir string, n int) error {
	_, err := FleetWithSeed(dir, n, 1)
	return err
}

// FleetWithSeed writes n host dumps, host-0001.save ... host-NNNN.save,
// into dir (created if needed) and returns what it wrote. Hosts are varied
// and realistic: Docker 20.10 and Docker 28 hosts with 1-4 bridges and their
// containers, sometimes with DOCKER-USER and INPUT policies; ufw hosts, with
// and without Docker (ufw-docker style DOCKER-USER); hand-written servers
// with INPUT policy DROP and blocklists; hosts laid out like the seed post
// (a FILTERS chain reached from INPUT and DOCKER-USER). Sizes are spread
// log-uniformly from 20 to 2,000 rules. Host i depends only on (seed, i).
func FleetWithSeed(dir string, n int, seed int64) ([]Host, error) {
	if n < 0 {
		return nil, fmt.Errorf("gen: negative host count %d", n)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	width := len(fmt.Sprint(n))
	if width < 4 {
		width = 4
	}
	hosts := make([]Host, 0, n)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("host-%0*d.save", width, i)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return hosts, err
		}
		bw := bufio.NewWriter(f)
		h, err := FleetHost(bw, seed, i)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return hosts, err
		}
		h.Name = name
		hosts = append(hosts, h)
	}
	return hosts, nil
}

const (
	minHostRules = 20
	maxHostRules = 2000
)

// FleetHost writes host number i of the fleet for seed to w.
func FleetHost(w io.Writer, seed int64, i int) (Host, error) {
	r := newRNG(seed).fork(uint64(i) + 1)
	// log-uniform target size in [20, 2000]
	target := int(math.Round(20 * math.Pow(100, float64(r.intn(1<<20))/float64(1<<20))))
	var kind string
	var build func(rs *ruleset, r *rng, target int)
	switch x := r.intn(100); {
	case x < 25:
		kind, build = "docker-20.10", func(rs *ruleset, r *rng, t int) { hostDocker(rs, r, docker2010, t) }
	case x < 45:
		kind, build = "docker-28", func(rs *ruleset, r *rng, t int) { hostDocker(rs, r, docker28, t) }
	case x < 60:
		kind, build = "ufw", func(rs *ruleset, r *rng, t int) { hostUFW(rs, r, t, false) }
	case x < 72:
		kind, build = "ufw-docker", func(rs *ruleset, r *rng, t int) { hostUFW(rs, r, t, true) }
	case x < 90:
		kind, build = "server", hostServer
	default:
		kind, build = "seed", hostSeed
	}
	// The builders aim at the target; when a host comes out outside
	// [minHostRules, maxHostRules] it is built again (same draws) with the
	// target moved by the difference.
	state := *r
	var rs *ruleset
	for attempt := 0; ; attempt++ {
		rr := state
		rs = newRuleset()
		build(rs, &rr, target)
		n := rs.rules()
		if (n >= minHostRules && n <= maxHostRules) || attempt == 20 {
			break
		}
		if n < minHostRules {
			target += minHostRules - n
		} else {
			target -= n - maxHostRules
		}
	}
	n, err := rs.write(w)
	return Host{Kind: kind, Rules: rs.rules(), Bytes: n}, err
}

var uplinks = []string{"eth0", "ens33", "enp1s0", "ens3", "eno1", "ens18"}

var commonPorts = []int{22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 1194, 2222, 3000, 3306, 5432,
	5672, 6379, 8000, 8080, 8443, 9000, 9090, 9100, 9200, 27017}

// benchNet returns the k-th /32 of 198.18.0.0/15 (RFC 2544, benchmarking).
func benchNet(k int) string {
	k %= 1 << 17
	return fmt.Sprintf("198.%d.%d.%d/32", 18+k>>16, (k>>8)&0xff, k&0xff)
}

func hex12(r *rng) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < 12; i++ {
		b.WriteByte(digits[r.intn(16)])
	}
	return b.String()
}

// dockerLayout builds a Docker host with about `rules` rules worth of
// containers.
func dockerLayout(r *rng, v dockerVersion, budget int) *dockerHost {
	d := &dockerHost{version: v}
	nb := r.between(1, 4)
	for b := 0; b < nb; b++ {
		if b == 0 {
			d.bridges = append(d.bridges, dockerBridge{"docker0", "172.17.0.0/16"})
			continue
		}
		d.bridges = append(d.bridges, dockerBridge{"br-" + hex12(r), fmt.Sprintf("172.%d.0.0/16", 17+b)})
	}
	// base rules: about 12 + 6 per bridge; each published port 2-3 more,
	// each container on 28 one more.
	left := budget - 12 - 6*nb
	hostPort := 1024 + r.intn(2000)
	used := map[int]bool{}
	next := make([]int, nb)
	for left > 0 && len(d.containers) < 2000 {
		c := dockerContainer{bridge: r.intn(nb)}
		next[c.bridge]++
		if next[c.bridge] > 250*250 {
			break
		}
		k := next[c.bridge] + 1
		c.ip = fmt.Sprintf("172.%d.%d.%d", 17+c.bridge, k/250, k%250+1)
		if v == docker28 {
			left--
		}
		np := pick(r, []int{0, 1, 1, 1, 2, 3})
		for p := 0; p < np && left > 0; p++ {
			ctr := pick(r, commonPorts)
			host := ctr
			if used[host] || r.chance(40) {
				for used[hostPort] {
					hostPort++
				}
				host = hostPort
			}
			used[host] = true
			proto := "tcp"
			if r.chance(8) {
				proto = "udp"
			}
			c.ports = append(c.ports, dockerPort{proto, host, ctr})
			if v == docker28 {
				left -= 2
			} else {
				left -= 3
			}
		}
		d.containers = append(d.containers, c)
	}
	return d
}

func inputBasics(rs *ruleset, r *rng, up string) {
	rs.policy("filter", "INPUT", "DROP")
	rs.add("filter", "INPUT", "-i lo -j ACCEPT")
	if r.chance(50) {
		rs.add("filter", "INPUT", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	} else {
		rs.add("filter", "INPUT", "-m state --state RELATED,ESTABLISHED -j ACCEPT")
	}
	if r.chance(30) {
		rs.add("filter", "INPUT", "-m conntrack --ctstate INVALID -j DROP")
	}
	rs.add("filter", "INPUT", "-p icmp -m icmp --icmp-type 8 -j ACCEPT")
	rs.add("filter", "INPUT", "-i "+up+" -p tcp -m tcp --dport 22 -j ACCEPT")
}

func hostDocker(rs *ruleset, r *rng, v dockerVersion, target int) {
	up := pick(r, uplinks)
	userRules := 0
	if r.chance(60) {
		inputBasics(rs, r, up)
		if r.chance(50) {
			rs.add("filter", "INPUT", "-p tcp -m multiport --dports 80,443 -j ACCEPT")
		}
		userRules += 6
	}
	if r.chance(50) {
		// a DOCKER-USER policy: only some published ports reachable from the uplink
		rs.add("filter", "DOCKER-USER", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
		for _, p := range []int{80, 443} {
			rs.add("filter", "DOCKER-USER", fmt.Sprintf("-i %s -p tcp -m conntrack --ctorigdstport %d -j ACCEPT", up, p))
		}
		if r.chance(50) {
			rs.add("filter", "DOCKER-USER", "-s 203.0.113.0/24 -i "+up+" -j ACCEPT")
		}
		rs.add("filter", "DOCKER-USER", "-i "+up+" -j DROP")
		userRules += 5
	}
	d := dockerLayout(r, v, target-userRules)
	d.emit(rs)
}

func ufwBase(rs *ruleset, r *rng) {
	rs.policy("filter", "INPUT", "DROP")
	rs.policy("filter", "FORWARD", "DROP")
	for _, c := range []string{"after-forward", "after-input", "after-logging-forward", "after-logging-input",
		"after-logging-output", "after-output", "before-forward", "before-input", "before-logging-forward",
		"before-logging-input", "before-logging-output", "before-output", "logging-allow", "logging-deny",
		"not-local", "reject-forward", "reject-input", "reject-output", "skip-to-policy-forward",
		"skip-to-policy-input", "skip-to-policy-output", "track-forward", "track-input", "track-output",
		"user-forward", "user-input", "user-limit", "user-limit-accept", "user-logging-forward",
		"user-logging-input", "user-logging-output", "user-output"} {
		rs.chain("filter", "ufw-"+c)
	}
	for _, h := range []struct{ builtin, suffix string }{{"INPUT", "input"}, {"FORWARD", "forward"}, {"OUTPUT", "output"}} {
		for _, s := range []string{"before-logging-", "before-", "after-", "after-logging-", "reject-", "track-"} {
			rs.add("filter", h.builtin, "-j ufw-"+s+h.suffix)
		}
	}
	for _, p := range []string{"-p udp -m udp --dport 137", "-p udp -m udp --dport 138", "-p tcp -m tcp --dport 139",
		"-p tcp -m tcp --dport 445", "-p udp -m udp --dport 67", "-p udp -m udp --dport 68", "-m addrtype --dst-type BROADCAST"} {
		rs.add("filter", "ufw-after-input", p+" -j ufw-skip-to-policy-input")
	}
	lim := "-m limit --limit 3/min --limit-burst 10"
	rs.add("filter", "ufw-after-logging-forward", lim+" -j LOG --log-prefix "+quote("[UFW BLOCK] "))
	rs.add("filter", "ufw-after-logging-input", lim+" -j LOG --log-prefix "+quote("[UFW BLOCK] "))
	rs.add("filter", "ufw-before-forward", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	for _, t := range []int{3, 11, 12, 8} {
		rs.add("filter", "ufw-before-forward", fmt.Sprintf("-p icmp -m icmp --icmp-type %d -j ACCEPT", t))
	}
	rs.add("filter", "ufw-before-forward", "-j ufw-user-forward")
	rs.add("filter", "ufw-before-input", "-i lo -j ACCEPT")
	rs.add("filter", "ufw-before-input", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	rs.add("filter", "ufw-before-input", "-m conntrack --ctstate INVALID -j ufw-logging-deny")
	rs.add("filter", "ufw-before-input", "-m conntrack --ctstate INVALID -j DROP")
	for _, t := range []int{3, 11, 12, 8} {
		rs.add("filter", "ufw-before-input", fmt.Sprintf("-p icmp -m icmp --icmp-type %d -j ACCEPT", t))
	}
	rs.add("filter", "ufw-before-input", "-p udp -m udp --sport 67 --dport 68 -j ACCEPT")
	rs.add("filter", "ufw-before-input", "-j ufw-not-local")
	rs.add("filter", "ufw-before-input", "-d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT")
	rs.add("filter", "ufw-before-input", "-d 239.255.255.250/32 -p udp -m udp --dport 1900 -j ACCEPT")
	rs.add("filter", "ufw-before-input", "-j ufw-user-input")
	rs.add("filter", "ufw-before-output", "-o lo -j ACCEPT")
	rs.add("filter", "ufw-before-output", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	rs.add("filter", "ufw-before-output", "-j ufw-user-output")
	rs.add("filter", "ufw-logging-allow", lim+" -j LOG --log-prefix "+quote("[UFW ALLOW] "))
	rs.add("filter", "ufw-logging-deny", "-m conntrack --ctstate INVALID "+lim+" -j RETURN")
	rs.add("filter", "ufw-logging-deny", lim+" -j LOG --log-prefix "+quote("[UFW BLOCK] "))
	rs.add("filter", "ufw-not-local", "-m addrtype --dst-type LOCAL -j RETURN")
	rs.add("filter", "ufw-not-local", "-m addrtype --dst-type MULTICAST -j RETURN")
	rs.add("filter", "ufw-not-local", "-m addrtype --dst-type BROADCAST -j RETURN")
	rs.add("filter", "ufw-not-local", lim+" -j ufw-logging-deny")
	rs.add("filter", "ufw-not-local", "-j DROP")
	rs.add("filter", "ufw-skip-to-policy-forward", "-j DROP")
	rs.add("filter", "ufw-skip-to-policy-input", "-j DROP")
	rs.add("filter", "ufw-skip-to-policy-output", "-j ACCEPT")
	rs.add("filter", "ufw-track-output", "-p tcp -m conntrack --ctstate NEW -j ACCEPT")
	rs.add("filter", "ufw-track-output", "-p udp -m conntrack --ctstate NEW -j ACCEPT")
	rs.add("filter", "ufw-user-limit", "-m limit --limit 3/min -j LOG --log-prefix "+quote("[UFW LIMIT BLOCK] "))
	rs.add("filter", "ufw-user-limit", "-j REJECT --reject-with icmp-port-unreachable")
	rs.add("filter", "ufw-user-limit-accept", "-j ACCEPT")
	if r.chance(50) {
		rs.add("filter", "ufw-user-input", "-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource")
		rs.add("filter", "ufw-user-input", "-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 --name DEFAULT --mask 255.255.255.255 --rsource -j ufw-user-limit")
		rs.add("filter", "ufw-user-input", "-p tcp -m tcp --dport 22 -j ufw-user-limit-accept")
	} else {
		rs.add("filter", "ufw-user-input", "-p tcp -m tcp --dport 22 -j ACCEPT")
	}
}

func hostUFW(rs *ruleset, r *rng, target int, docker bool) {
	ufwBase(rs, r)
	var d *dockerHost
	if docker {
		rs.chain("filter", "ufw-docker-logging-deny")
		rs.add("filter", "DOCKER-USER", "-j ufw-user-forward")
		for _, n := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
			rs.add("filter", "DOCKER-USER", "-s "+n+" -j RETURN")
		}
		rs.add("filter", "DOCKER-USER", "-p udp -m udp --sport 53 --dport 1024:65535 -j RETURN")
		for _, n := range []string{"192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"} {
			rs.add("filter", "DOCKER-USER", "-d "+n+" -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ufw-docker-logging-deny")
			rs.add("filter", "DOCKER-USER", "-d "+n+" -p udp -m udp --dport 0:32767 -j ufw-docker-logging-deny")
		}
		rs.add("filter", "ufw-docker-logging-deny", "-m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "+quote("[UFW DOCKER BLOCK] "))
		rs.add("filter", "ufw-docker-logging-deny", "-j DROP")
		d = dockerLayout(r, docker2010, 40+r.intn(60))
	}
	budget := target - rs.rules()
	if d != nil {
		budget -= 30 + 3*len(d.containers)
	}
	// ufw user rules: allow ports, allow from networks, deny from addresses
	k := 0
	for budget > 0 {
		switch x := r.intn(10); {
		case x < 4:
			p := pick(r, commonPorts)
			proto := pick(r, []string{"tcp", "tcp", "tcp", "udp"})
			rs.add("filter", "ufw-user-input", fmt.Sprintf("-p %s -m %s --dport %d -j ACCEPT", proto, proto, p))
		case x < 6:
			rs.add("filter", "ufw-user-input", fmt.Sprintf("-s 203.0.113.%d/32 -p tcp -m tcp --dport %d -j ACCEPT", r.intn(256), pick(r, commonPorts)))
		case x < 7 && d != nil:
			c := d.containers[r.intn(len(d.containers))]
			rs.add("filter", "ufw-user-forward", fmt.Sprintf("-d %s/32 -p tcp -m tcp --dport %d -j ACCEPT", c.ip, pick(r, commonPorts)))
		default:
			rs.add("filter", "ufw-user-input", "-s "+benchNet(k)+" -j DROP")
			k++
		}
		budget--
	}
	if d != nil {
		d.emit(rs)
	}
}

func hostServer(rs *ruleset, r *rng, target int) {
	up := pick(r, uplinks)
	inputBasics(rs, r, up)
	if r.chance(50) {
		rs.policy("filter", "FORWARD", "DROP")
	}
	rs.chain("filter", "BLOCKLIST")
	rs.insert("filter", "INPUT", "-j BLOCKLIST")
	open := r.between(1, 6)
	for i := 0; i < open; i++ {
		p := pick(r, commonPorts)
		switch r.intn(3) {
		case 0:
			rs.add("filter", "INPUT", fmt.Sprintf("-p tcp -m tcp --dport %d -j ACCEPT", p))
		case 1:
			rs.add("filter", "INPUT", fmt.Sprintf("-s 198.51.100.0/24 -p tcp -m tcp --dport %d -j ACCEPT", p))
		default:
			rs.add("filter", "INPUT", fmt.Sprintf("-p tcp -m tcp --dport %d -m conntrack --ctstate NEW -m limit --limit 25/min --limit-burst 100 -j ACCEPT", p))
		}
	}
	if r.chance(40) {
		rs.add("filter", "INPUT", "-m limit --limit 5/min -j LOG --log-prefix "+quote("iptables denied: ")+" --log-level 7")
	}
	if r.chance(50) {
		rs.add("filter", "INPUT", "-p tcp -j REJECT --reject-with tcp-reset")
		rs.add("filter", "INPUT", "-j REJECT --reject-with icmp-port-unreachable")
	}
	if r.chance(30) {
		// a port forward to a LAN machine
		rs.add("nat", "PREROUTING", fmt.Sprintf("-i %s -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.0.0.%d:22", up, r.between(2, 250)))
		rs.add("nat", "POSTROUTING", "-s 10.0.0.0/24 -o "+up+" -j MASQUERADE")
		rs.add("filter", "FORWARD", "-d 10.0.0.0/24 -o "+up+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	}
	for k := 0; rs.rules() < target; k++ {
		if r.chance(90) {
			rs.add("filter", "BLOCKLIST", "-s "+benchNet(k)+" -j DROP")
		} else {
			rs.add("filter", "BLOCKLIST", fmt.Sprintf("-s 198.%d.%d.0/24 -j DROP", 18+(k>>8)&1, k&0xff))
		}
	}
}

// hostSeed lays a host out like the seed post's implementation 2: a FILTERS
// chain reached from INPUT and DOCKER-USER, on top of Docker 20.10.
func hostSeed(rs *ruleset, r *rng, target int) {
	up := pick(r, uplinks)
	rs.add("filter", "INPUT", "-i lo -j ACCEPT")
	rs.add("filter", "INPUT", "-i "+up+" -j FILTERS")
	rs.add("filter", "DOCKER-USER", "-i "+up+" -j FILTERS")
	rs.add("filter", "FILTERS", "-p icmp -m icmp --icmp-type any -j ACCEPT")
	rs.add("filter", "FILTERS", "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	rs.add("filter", "FILTERS", "-p tcp -m multiport --dports 22 -j ACCEPT")
	ports := r.between(1, 8)
	for i := 0; i < ports; i++ {
		rs.add("filter", "FILTERS", fmt.Sprintf("-p tcp -m tcp -m conntrack --ctorigdstport %d -j ACCEPT", pick(r, commonPorts)))
	}
	k := 0
	for rs.rules() < target/3 {
		rs.add("filter", "FILTERS", "-s "+benchNet(k)+" -j DROP")
		k++
	}
	rs.add("filter", "FILTERS", "-i "+up+" -j DROP")
	rs.add("filter", "FILTERS", "-j RETURN")
	d := dockerLayout(r, docker2010, target-rs.rules())
	d.emit(rs)
}
