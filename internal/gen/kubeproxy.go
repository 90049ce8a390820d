package gen

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"math"
	"strconv"
)

// KubeProxyOptions configures [WriteKubeProxy].
type KubeProxyOptions struct {
	// Services is the number of Services (each with one port). About 8
	// rules per service: 10,000 services give about 80,000 rules (12 MB).
	Services int
	// Seed selects the variation (endpoint counts, ports, NodePorts...).
	Seed int64
	// NoDocker leaves out Docker 20.10's rules (docker0, no containers),
	// which are included by default, as on a dockershim-era node.
	NoDocker bool
}

// Stats describes a generated ruleset.
type Stats struct {
	Rules  int   // -A lines
	Chains int   // user-defined chains, all tables
	Bytes  int64 // bytes written
}

// KubeProxy writes a kube-proxy (iptables mode) node ruleset with the given
// number of services to w, with seed 1 and Docker's rules; see
// [WriteKubeProxy].
func KubeProxy(w io.Writer, services int) error {
	_, err := WriteKubeProxy(w, KubeProxyOptions{Services: services, Seed: 1})
	return err
}

// WriteKubeProxy writes a kube-proxy node ruleset in iptables-save form.
//
// The layout follows kube-proxy's iptables proxier (kubernetes
// pkg/proxy/iptables/proxier.go, and the expected dumps in its
// proxier_test.go), printed as iptables-save prints it:
//
//   - nat: PREROUTING/OUTPUT jump to KUBE-SERVICES ("kubernetes service
//     portals"); KUBE-SERVICES has one rule per cluster IP
//     (-d IP/32 -p tcp -m comment --comment "ns/svc:port cluster IP" -m tcp
//     --dport P -j KUBE-SVC-HASH) and ends in the jump to KUBE-NODEPORTS;
//     KUBE-SVC-* marks off-cluster sources for masquerade (KUBE-MARK-MASQ)
//     and picks an endpoint with -m statistic --mode random --probability
//     1/n, 1/(n-1), ...; KUBE-SEP-* masquerades hairpin traffic and DNATs
//     (--to-destination POD:PORT); NodePort services add KUBE-NODEPORTS and
//     KUBE-EXT-* rules; KUBE-POSTROUTING masquerades marked packets.
//   - filter: KUBE-FIREWALL, KUBE-FORWARD, KUBE-SERVICES and
//     KUBE-EXTERNAL-SERVICES (REJECT for services without endpoints),
//     KUBE-NODEPORTS (health-check node ports), KUBE-PROXY-FIREWALL, and the
//     KUBE-PROXY-CANARY / KUBE-KUBELET-CANARY chains in mangle, nat, filter.
//
// Chain names are KUBE-SVC-/KUBE-SEP-/KUBE-EXT- plus the first 16
// characters of base32(sha256(...)) of the service port name, protocol (and
// endpoint), as kube-proxy names them. Probabilities are printed the way
// iptables-save prints what kube-proxy's "%0.10f" value becomes in the
// kernel (11 decimals).
func WriteKubeProxy(w io.Writer, o KubeProxyOptions) (Stats, error) {
	if o.Services < 0 {
		return Stats{}, fmt.Errorf("gen: negative service count %d", o.Services)
	}
	rs := newRuleset()
	kubeProxyRules(rs, o)
	n, err := rs.write(w)
	return Stats{Rules: rs.rules(), Chains: rs.UserChains(), Bytes: n}, err
}

const (
	kubeMarkMasq    = "KUBE-MARK-MASQ"
	kubeClusterCIDR = "10.244.0.0/16"
)

func portProtoHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// probability renders 1/n as iptables-save prints it after kube-proxy wrote
// it with "%0.10f": the kernel keeps round(p * 2^31) and iptables prints
// that divided by 2^31 with 11 decimals.
func probability(n int) string {
	p, _ := strconv.ParseFloat(fmt.Sprintf("%0.10f", 1/float64(n)), 64)
	v := math.Round(p * 0x80000000)
	return strconv.FormatFloat(v/0x80000000, 'f', 11, 64)
}

var (
	kubeNamespaces = []string{"default", "kube-system", "monitoring", "ingress-nginx", "payments",
		"checkout", "search", "identity", "data", "ml", "platform", "logging", "web", "mobile-api", "billing"}
	kubeApps = []string{"api", "web", "auth", "cart", "catalog", "search", "orders", "users", "gateway",
		"redis", "postgres", "kafka", "metrics", "worker", "frontend", "backend", "cache", "queue", "mailer", "images"}
	kubePorts = []struct {
		name  string
		port  int
		proto string
	}{
		{"http", 80, "tcp"}, {"https", 443, "tcp"}, {"grpc", 9090, "tcp"}, {"http", 8080, "tcp"},
		{"metrics", 9100, "tcp"}, {"redis", 6379, "tcp"}, {"postgres", 5432, "tcp"}, {"dns", 53, "udp"},
		{"http-alt", 8000, "tcp"}, {"statsd", 8125, "udp"},
	}
)

func kubeProxyRules(rs *ruleset, o KubeProxyOptions) {
	r := newRNG(o.Seed)

	// Canary chains and the fixed jumps.
	for _, t := range []string{"mangle", "nat", "filter"} {
		rs.chain(t, "KUBE-PROXY-CANARY")
	}
	rs.chain("mangle", "KUBE-KUBELET-CANARY")
	rs.chain("nat", "KUBE-KUBELET-CANARY")
	rs.chain("filter", "KUBE-KUBELET-CANARY")

	rs.add("filter", "INPUT", "-m conntrack --ctstate NEW "+comment("kubernetes load balancer firewall")+" -j KUBE-PROXY-FIREWALL")
	rs.add("filter", "INPUT", comment("kubernetes health check service ports")+" -j KUBE-NODEPORTS")
	rs.add("filter", "INPUT", "-m conntrack --ctstate NEW "+comment("kubernetes externally-visible service portals")+" -j KUBE-EXTERNAL-SERVICES")
	rs.add("filter", "INPUT", "-j KUBE-FIREWALL")
	rs.add("filter", "FORWARD", "-m conntrack --ctstate NEW "+comment("kubernetes load balancer firewall")+" -j KUBE-PROXY-FIREWALL")
	rs.add("filter", "FORWARD", comment("kubernetes forwarding rules")+" -j KUBE-FORWARD")
	rs.add("filter", "FORWARD", "-m conntrack --ctstate NEW "+comment("kubernetes service portals")+" -j KUBE-SERVICES")
	rs.add("filter", "FORWARD", "-m conntrack --ctstate NEW "+comment("kubernetes externally-visible service portals")+" -j KUBE-EXTERNAL-SERVICES")
	rs.add("filter", "OUTPUT", "-m conntrack --ctstate NEW "+comment("kubernetes load balancer firewall")+" -j KUBE-PROXY-FIREWALL")
	rs.add("filter", "OUTPUT", "-m conntrack --ctstate NEW "+comment("kubernetes service portals")+" -j KUBE-SERVICES")
	rs.add("filter", "OUTPUT", "-j KUBE-FIREWALL")
	rs.add("filter", "KUBE-FIREWALL", "! -s 127.0.0.0/8 -d 127.0.0.0/8 "+comment("block incoming localnet connections")+" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")
	rs.add("filter", "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP")
	rs.add("filter", "KUBE-FORWARD", comment("kubernetes forwarding rules")+" -m mark --mark 0x4000/0x4000 -j ACCEPT")
	rs.add("filter", "KUBE-FORWARD", comment("kubernetes forwarding conntrack rule")+" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	for _, c := range []string{"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"} {
		rs.chain("filter", c)
	}

	rs.add("nat", "PREROUTING", comment("kubernetes service portals")+" -j KUBE-SERVICES")
	rs.add("nat", "OUTPUT", comment("kubernetes service portals")+" -j KUBE-SERVICES")
	rs.add("nat", "POSTROUTING", comment("kubernetes postrouting rules")+" -j KUBE-POSTROUTING")
	rs.add("nat", kubeMarkMasq, "-j MARK --set-xmark 0x4000/0x4000")
	rs.add("nat", "KUBE-POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN")
	rs.add("nat", "KUBE-POSTROUTING", "-j MARK --set-xmark 0x4000/0x0")
	rs.add("nat", "KUBE-POSTROUTING", comment("kubernetes service traffic requiring SNAT")+" -j MASQUERADE --random-fully")
	rs.chain("nat", "KUBE-NODEPORTS")

	nodePort := 30000
	for i := 0; i < o.Services; i++ {
		sr := r.fork(uint64(i))
		ns := kubeNamespaces[i%len(kubeNamespaces)]
		if i >= len(kubeNamespaces) && sr.chance(40) {
			ns = fmt.Sprintf("team-%03d", sr.intn(200))
		}
		name := fmt.Sprintf("%s-%d", pick(sr, kubeApps), i)
		if i == 0 {
			ns, name = "default", "kubernetes"
		}
		pt := pick(sr, kubePorts)
		if i == 0 {
			pt = kubePorts[1]
		}
		spn := fmt.Sprintf("%s/%s:%s", ns, name, pt.name)
		// cluster IPs from 10.96.0.1 on
		ipn := 1 + i
		clusterIP := fmt.Sprintf("10.%d.%d.%d", 96+ipn>>16, (ipn>>8)&0xff, ipn&0xff)
		targetPort := pt.port
		if sr.chance(50) {
			targetPort = pick(sr, []int{8080, 8443, 3000, 5000, 9000, 8000})
		}
		var nEP int
		switch x := sr.intn(100); {
		case x < 3:
			nEP = 0
		case x < 43:
			nEP = 1
		case x < 78:
			nEP = 2
		case x < 93:
			nEP = 3
		case x < 98:
			nEP = 4
		default:
			nEP = 6
		}
		isNodePort := i > 0 && sr.chance(15)
		np := 0
		if isNodePort {
			np = nodePort
			nodePort++
			if nodePort > 32767 {
				nodePort = 30000
			}
		}
		proto := pt.proto
		svcChain := "KUBE-SVC-" + portProtoHash(spn+proto)
		extChain := "KUBE-EXT-" + portProtoHash(spn+proto)

		if nEP == 0 {
			rs.add("filter", "KUBE-SERVICES", fmt.Sprintf("-d %s/32 -p %s %s -m %s --dport %d -j REJECT --reject-with icmp-port-unreachable",
				clusterIP, proto, comment(spn+" has no endpoints"), proto, pt.port))
			if isNodePort {
				rs.add("filter", "KUBE-EXTERNAL-SERVICES", fmt.Sprintf("-p %s %s -m addrtype --dst-type LOCAL -m %s --dport %d -j REJECT --reject-with icmp-port-unreachable",
					proto, comment(spn+" has no endpoints"), proto, np))
			}
			continue
		}

		rs.add("nat", "KUBE-SERVICES", fmt.Sprintf("-d %s/32 -p %s %s -m %s --dport %d -j %s",
			clusterIP, proto, comment(spn+" cluster IP"), proto, pt.port, svcChain))
		rs.add("nat", svcChain, fmt.Sprintf("! -s %s -d %s/32 -p %s %s -m %s --dport %d -j %s",
			kubeClusterCIDR, clusterIP, proto, comment(spn+" cluster IP"), proto, pt.port, kubeMarkMasq))
		if isNodePort {
			rs.add("nat", "KUBE-NODEPORTS", fmt.Sprintf("-p %s %s -m %s --dport %d -j %s", proto, comment(spn), proto, np, extChain))
			rs.add("nat", extChain, comment("masquerade traffic for "+spn+" external destinations")+" -j "+kubeMarkMasq)
			rs.add("nat", extChain, "-j "+svcChain)
		}
		for e := 0; e < nEP; e++ {
			pod := fmt.Sprintf("10.244.%d.%d", sr.intn(256), sr.between(2, 254))
			ep := fmt.Sprintf("%s:%d", pod, targetPort)
			sepChain := "KUBE-SEP-" + portProtoHash(spn+proto+ep)
			stat := ""
			if e < nEP-1 {
				stat = " -m statistic --mode random --probability " + probability(nEP-e)
			}
			rs.add("nat", svcChain, comment(spn+" -> "+ep)+stat+" -j "+sepChain)
			rs.add("nat", sepChain, fmt.Sprintf("-s %s/32 %s -j %s", pod, comment(spn), kubeMarkMasq))
			rs.add("nat", sepChain, fmt.Sprintf("-p %s %s -m %s -j DNAT --to-destination %s", proto, comment(spn), proto, ep))
		}
	}
	rs.add("nat", "KUBE-SERVICES", comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")+" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")

	if !o.NoDocker {
		d := &dockerHost{version: docker2010, bridges: []dockerBridge{{"docker0", "172.17.0.0/16"}}}
		d.emit(rs)
	}
}
