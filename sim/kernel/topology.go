package kernel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Hosts of the topology, as used in Packet.From and Observation.ArrivedIn.
const (
	Host = "host" // the firewall under test
	Ext  = "ext"  // outside, behind ens33 (also the default gateway 203.0.113.1)
	Ext2 = "ext2" // outside, behind eth1
	C1   = "c1"   // container 172.17.0.2 on docker0 (port vethc1)
	C2   = "c2"   // container 172.17.0.3 on docker0 (port vethc2)
	C3   = "c3"   // container 172.18.0.2 on br-app (port vethc3)
)

// leaf describes a namespace that injects and captures packets but never
// answers.
type leaf struct {
	name    string
	addr    netip.Prefix // address/len on its eth0
	addr6   netip.Prefix // IPv6 address/len on its eth0
	mac     net.HardwareAddr
	hostIf  string // the host-side interface (uplink or bridge port)
	bridge  string // "" for an uplink
	gw, gw6 netip.Addr
	portMAC net.HardwareAddr // MAC of the bridge port (bridged leaves)
	anyIP   netip.Prefix     // prefix the leaf accepts as local (routers only)
}

// hostIface is an addressed interface of the host namespace.
type hostIface struct {
	name  string
	addr  netip.Prefix
	addr6 netip.Prefix
	mac   net.HardwareAddr
}

// src returns the leaf's address of the family of dst.
func (l *leaf) src(dst netip.Addr) netip.Addr {
	if dst.Is6() {
		return l.addr6.Addr()
	}
	return l.addr.Addr()
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err) // constant table below; cannot happen
	}
	return m
}

var (
	uplinks = []hostIface{
		{"ens33", netip.MustParsePrefix("203.0.113.10/24"), netip.MustParsePrefix("2001:db8:0:1::10/64"), mustMAC("02:00:cb:00:71:0a")},
		{"eth1", netip.MustParsePrefix("198.51.100.10/24"), netip.MustParsePrefix("2001:db8:0:2::10/64"), mustMAC("02:00:c6:33:64:0a")},
	}
	bridges = []hostIface{
		{"docker0", netip.MustParsePrefix("172.17.0.1/16"), netip.MustParsePrefix("2001:db8:0:17::1/64"), mustMAC("02:42:ac:11:00:01")},
		{"br-app", netip.MustParsePrefix("172.18.0.1/16"), netip.MustParsePrefix("2001:db8:0:18::1/64"), mustMAC("02:42:ac:12:00:01")},
	}
	leaves = []*leaf{
		{name: Ext, addr: netip.MustParsePrefix("203.0.113.7/24"), addr6: netip.MustParsePrefix("2001:db8:0:1::7/64"),
			mac: mustMAC("02:00:cb:00:71:07"), hostIf: "ens33",
			gw: netip.MustParseAddr("203.0.113.10"), gw6: netip.MustParseAddr("2001:db8:0:1::10"),
			anyIP: netip.MustParsePrefix("203.0.113.0/24")},
		{name: Ext2, addr: netip.MustParsePrefix("198.51.100.7/24"), addr6: netip.MustParsePrefix("2001:db8:0:2::7/64"),
			mac: mustMAC("02:00:c6:33:64:07"), hostIf: "eth1",
			gw: netip.MustParseAddr("198.51.100.10"), gw6: netip.MustParseAddr("2001:db8:0:2::10"),
			anyIP: netip.MustParsePrefix("198.51.100.0/24")},
		{name: C1, addr: netip.MustParsePrefix("172.17.0.2/16"), addr6: netip.MustParsePrefix("2001:db8:0:17::2/64"),
			mac: mustMAC("02:42:ac:11:00:02"), hostIf: "vethc1", bridge: "docker0",
			gw: netip.MustParseAddr("172.17.0.1"), gw6: netip.MustParseAddr("2001:db8:0:17::1"),
			portMAC: mustMAC("0a:58:00:00:11:02")},
		{name: C2, addr: netip.MustParsePrefix("172.17.0.3/16"), addr6: netip.MustParsePrefix("2001:db8:0:17::3/64"),
			mac: mustMAC("02:42:ac:11:00:03"), hostIf: "vethc2", bridge: "docker0",
			gw: netip.MustParseAddr("172.17.0.1"), gw6: netip.MustParseAddr("2001:db8:0:17::1"),
			portMAC: mustMAC("0a:58:00:00:11:03")},
		{name: C3, addr: netip.MustParsePrefix("172.18.0.2/16"), addr6: netip.MustParsePrefix("2001:db8:0:18::2/64"),
			mac: mustMAC("02:42:ac:12:00:02"), hostIf: "vethc3", bridge: "br-app",
			gw: netip.MustParseAddr("172.18.0.1"), gw6: netip.MustParseAddr("2001:db8:0:18::1"),
			portMAC: mustMAC("0a:58:00:00:12:02")},
	}
	// The host's default gateways; ext answers for them.
	defaultGW  = netip.MustParseAddr("203.0.113.1")
	defaultGW6 = netip.MustParseAddr("2001:db8:0:1::1")
)

// leafByName returns the leaf called name, or nil.
func leafByName(name string) *leaf {
	for _, l := range leaves {
		if l.name == name {
			return l
		}
	}
	return nil
}

// ifaceByName returns the host uplink or bridge called name, or nil.
func ifaceByName(name string) *hostIface {
	for _, group := range [][]hostIface{uplinks, bridges} {
		for i := range group {
			if group[i].name == name {
				return &group[i]
			}
		}
	}
	return nil
}

// gwMAC is the MAC a leaf sends routed traffic to: the host's interface.
func (l *leaf) gwMAC() net.HardwareAddr {
	if l.bridge != "" {
		return ifaceByName(l.bridge).mac
	}
	return ifaceByName(l.hostIf).mac
}

// dstMAC is the L2 destination of a frame from l to dst: the peer's MAC for
// a container on the same bridge (the frame is bridged), else the host's.
func (l *leaf) dstMAC(dst netip.Addr) net.HardwareAddr {
	if l.bridge != "" {
		for _, o := range leaves {
			if o != l && o.bridge == l.bridge && (o.addr.Addr() == dst || o.addr6.Addr() == dst) {
				return o.mac
			}
		}
	}
	return l.gwMAC()
}

// hostSourceFor is the source address the host's routing picks for dst.
func hostSourceFor(dst netip.Addr) netip.Addr {
	if dst.IsLoopback() {
		return dst
	}
	for _, group := range [][]hostIface{uplinks, bridges} {
		for _, i := range group {
			if i.addr.Addr() == dst || i.addr.Contains(dst) {
				return i.addr.Addr()
			}
			if i.addr6.Addr() == dst || i.addr6.Contains(dst) {
				return i.addr6.Addr()
			}
		}
	}
	if dst.Is6() {
		return uplinks[0].addr6.Addr()
	}
	return uplinks[0].addr.Addr() // default route via ens33
}

const (
	obsGroup = 47119      // NFLOG group of the observer (per namespace)
	outMark  = 0x4f524330 // SO_MARK of locally injected test packets
	obsTable = "dfwk_obs"
)

// observerNft is the observer table of the host namespace: filter chains at
// priority -1000 and +1000 on every IPv4 and IPv6 hook (an inet table sees
// both families), logging every packet to NFLOG.
// It has no ct expressions (they would switch conntrack on). Its only drops
// are the sentinels and the host stack's own answers (anything in OUTPUT not
// injected by the harness), which it logs first ("resp").
var observerNft = fmt.Sprintf(`table inet %[3]s {
  chain pre0 {
    type filter hook prerouting priority -1000; policy accept;
    ip protocol 253 log prefix "SENT" group %[1]d queue-threshold 1 drop
    meta nfproto { ipv4, ipv6 } log prefix "pre0" group %[1]d queue-threshold 1
  }
  chain pre1 {
    type filter hook prerouting priority 1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "pre1" group %[1]d queue-threshold 1
  }
  chain in0 {
    type filter hook input priority -1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "in0" group %[1]d queue-threshold 1
  }
  chain in1 {
    type filter hook input priority 1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "in1" group %[1]d queue-threshold 1
  }
  chain fwd0 {
    type filter hook forward priority -1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "fwd0" group %[1]d queue-threshold 1
  }
  chain fwd1 {
    type filter hook forward priority 1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "fwd1" group %[1]d queue-threshold 1
  }
  chain out0 {
    type filter hook output priority -1000; policy accept;
    meta nfproto { ipv4, ipv6 } meta mark %[2]d meta mark set 0 log prefix "out0" group %[1]d queue-threshold 1 accept
    meta nfproto { ipv4, ipv6 } log prefix "resp" group %[1]d queue-threshold 1 drop
  }
  chain out1 {
    type filter hook output priority 1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "out1" group %[1]d queue-threshold 1
  }
  chain post0 {
    type filter hook postrouting priority -1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "post0" group %[1]d queue-threshold 1
  }
  chain post1 {
    type filter hook postrouting priority 1000; policy accept;
    meta nfproto { ipv4, ipv6 } log prefix "post1" group %[1]d queue-threshold 1
  }
}
`, obsGroup, outMark, obsTable)

// sinkNft makes a leaf silent: everything it receives or would send is
// dropped (AF_PACKET taps see frames before that).
const sinkNft = `table inet dfwk_sink {
  chain pre { type filter hook prerouting priority -1000; policy drop; }
  chain out { type filter hook output priority -1000; policy drop; }
}
`

// ipv6Early are the IPv6 settings of every namespace, written before its
// links exist so that every interface inherits them: IPv6 on, addresses
// usable at once (no duplicate address detection), no link-local
// addresses, no router advertisements, solicitations or autoconfiguration.
// Nothing then sends IPv6 of its own accord but MLD reports for the
// addresses' solicited-node groups, which the leaves' sink and the host's
// observer drop in OUTPUT.
var ipv6Early = map[string]string{
	"net/ipv6/conf/all/disable_ipv6":             "0",
	"net/ipv6/conf/default/disable_ipv6":         "0",
	"net/ipv6/conf/all/accept_dad":               "0",
	"net/ipv6/conf/default/accept_dad":           "0",
	"net/ipv6/conf/all/accept_ra":                "0",
	"net/ipv6/conf/default/accept_ra":            "0",
	"net/ipv6/conf/all/autoconf":                 "0",
	"net/ipv6/conf/default/autoconf":             "0",
	"net/ipv6/conf/all/router_solicitations":     "0",
	"net/ipv6/conf/default/router_solicitations": "0",
	"net/ipv6/conf/default/addr_gen_mode":        "1",
}

var (
	hostSysctlsEarly = mergeMaps(ipv6Early, map[string]string{
		"net/ipv6/conf/all/forwarding":     "1",
		"net/ipv6/conf/default/forwarding": "1",
		"net/ipv4/conf/all/rp_filter":      "0",
		"net/ipv4/conf/default/rp_filter":  "0",
		// Before the links exist, so that every interface inherits it: the
		// kernel sends a redirect when either "all" or the interface's own
		// setting is on, and a redirect would look like a REJECT.
		"net/ipv4/conf/all/send_redirects":     "0",
		"net/ipv4/conf/default/send_redirects": "0",
	})
	hostSysctls = map[string]string{
		"net/ipv4/ip_forward":                    "1",
		"net/ipv4/conf/all/send_redirects":       "0",
		"net/ipv4/conf/default/send_redirects":   "0",
		"net/ipv4/conf/all/accept_redirects":     "0",
		"net/ipv4/conf/default/accept_redirects": "0",
		"net/ipv4/icmp_ratelimit":                "0",
		"net/ipv4/icmp_ratemask":                 "0",
		"net/ipv6/icmp/ratelimit":                "0",
		"net/ipv6/icmp/ratemask":                 "\n", // no type rate-limited
		"net/ipv6/conf/all/accept_redirects":     "0",
		"net/ipv6/conf/default/accept_redirects": "0",
		"net/bridge/bridge-nf-call-iptables":     "1",
		"net/bridge/bridge-nf-call-ip6tables":    "1",
	}
	leafSysctls   = ipv6Early
	routerSysctls = map[string]string{
		"net/ipv4/conf/all/accept_local":     "1",
		"net/ipv4/conf/default/accept_local": "1",
	}
)

// writeSysctls sets sysctls of the calling thread's network namespace.
func writeSysctls(m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(m[k]), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(k, "/", "."), m[k], err)
		}
	}
	return nil
}

// Options configure New.
type Options struct {
	// Prefix of the namespace names ("<Prefix>host", "<Prefix>ext", ...).
	// Empty means "dfwk<pid>-<n>-", unique within and across processes.
	Prefix string
	// Backend is the iptables backend used by Load and for counters:
	// "nft" (the default when empty) or "legacy".
	Backend string
}

// Topology is a Docker-like host built from network namespaces: the host
// namespace is the firewall under test, the leaves (ext, ext2, c1, c2, c3)
// inject packets and capture what reaches them.
//
// A Topology is not safe for concurrent use; build one per parallel test.
type Topology struct {
	prefix  string
	backend backend
	family  string // of the ruleset loaded: IPv4 or IPv6

	mu     sync.Mutex // guards nsList against the signal handler
	nsList []string   // namespaces created (full names)

	hostFD  int
	leafFD  map[string]int
	w       *worker           // thread in the host namespace, pinned
	caps    map[string]int    // leaf -> AF_PACKET socket bound to eth0
	loFD    int               // AF_PACKET on the host's lo (host sentinels)
	rawFD   int               // IPPROTO_RAW in the host ns, SO_MARK outMark
	raw6FD  int               // the same for IPv6 (IPPROTO_RAW implies IPV6_HDRINCL)
	nfl     *nflog            // observer's NFLOG group
	ifnames map[uint32]string // host ifindex -> name

	ident       uint16 // IP ID of the last test packet
	sentinelSeq uint32
	lastSave    []byte // cached counters (iptables-save -c) after the last packet
	builds      int    // times the namespaces were built
}

var nsSeq atomic.Uint64

// New builds the topology from scratch in fresh network namespaces. Only
// `modprobe br_netfilter` touches the machine outside of them. Call Close
// when done; namespaces are also deleted on SIGINT/SIGTERM.
func New(opts Options) (*Topology, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	be, err := backendFor(opts.Backend)
	if err != nil {
		return nil, err
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("dfwk%d-%d-", os.Getpid(), nsSeq.Add(1))
	}
	reapStale()
	t := &Topology{prefix: prefix, backend: be, hostFD: -1, loFD: -1, rawFD: -1, raw6FD: -1, ident: 0x100, family: IPv4}
	if err := t.build(); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	return t, nil
}

// Prefix returns the prefix of the topology's namespace names.
func (t *Topology) Prefix() string { return t.prefix }

// Backend returns the iptables backend in use ("nft" or "legacy").
func (t *Topology) Backend() string { return t.backend.name }

// Rebuilds returns how often Load had to rebuild the namespaces (legacy
// tables that a ruleset lacked).
func (t *Topology) Rebuilds() int { return max(t.builds-1, 0) }

// Namespace returns the full network namespace name of a host of the
// topology (Host, Ext, ... ), e.g. for `ip netns exec` while debugging.
func (t *Topology) Namespace(short string) string { return t.prefix + short }

func (t *Topology) build() error {
	if _, err := runCmd(nil, "modprobe", "br_netfilter"); err != nil {
		// Built in, or already loaded without modprobe: fine if the sysctl shows up later.
		if _, serr := os.Stat("/proc/sys/net/bridge"); serr != nil {
			return fmt.Errorf("br_netfilter: %w", err)
		}
	}
	t.builds++
	names := []string{Host}
	for _, l := range leaves {
		names = append(names, l.name)
	}
	existing, err := listNetns()
	if err != nil {
		return err
	}
	var batch strings.Builder
	for _, n := range names {
		full := t.prefix + n
		if existing[full] {
			return fmt.Errorf("network namespace %s already exists (another run with prefix %q?)", full, t.prefix)
		}
		fmt.Fprintf(&batch, "netns add %s\n", full)
	}
	t.mu.Lock()
	for _, n := range names {
		t.nsList = append(t.nsList, t.prefix+n)
	}
	t.mu.Unlock()
	register(t)
	if _, err := runCmd([]byte(batch.String()), "ip", "-batch", "-"); err != nil {
		return fmt.Errorf("create namespaces: %w", err)
	}
	open := func(short string) (int, error) {
		fd, err := unix.Open("/run/netns/"+t.prefix+short, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open namespace %s: %w", t.prefix+short, err)
		}
		return fd, nil
	}
	if t.hostFD, err = open(Host); err != nil {
		return err
	}
	t.leafFD = map[string]int{}
	for _, l := range leaves {
		fd, err := open(l.name)
		if err != nil {
			return err
		}
		t.leafFD[l.name] = fd
	}
	if err := inNetns(t.hostFD, func() error { return writeSysctls(hostSysctlsEarly) }); err != nil {
		return fmt.Errorf("host namespace: %w", err)
	}
	// The leaves' settings and sink before their eth0 exists: it inherits
	// the IPv6 defaults, and what it would send of its own accord (MLD) is
	// dropped from the start.
	for _, l := range leaves {
		err := inNetns(t.leafFD[l.name], func() error {
			sys := leafSysctls
			if l.anyIP.IsValid() {
				sys = mergeMaps(leafSysctls, routerSysctls)
			}
			if err := writeSysctls(sys); err != nil {
				return err
			}
			_, err := runCmd([]byte(sinkNft), "nft", "-f", "-")
			return err
		})
		if err != nil {
			return fmt.Errorf("leaf %s: %w", l.name, err)
		}
	}

	// Host side: bridges, uplinks, veth pairs into the leaves, neighbours, routes.
	var hb, fdb strings.Builder
	hb.WriteString("link set lo up\n")
	for _, b := range bridges {
		fmt.Fprintf(&hb, "link add %s address %s type bridge stp_state 0 forward_delay 0\n", b.name, b.mac)
		fmt.Fprintf(&hb, "addr add %s dev %s\n", b.addr, b.name)
		fmt.Fprintf(&hb, "addr add %s dev %s nodad\n", b.addr6, b.name)
		fmt.Fprintf(&hb, "link set %s up\n", b.name)
	}
	for _, l := range leaves {
		hmac := l.portMAC
		if l.bridge == "" {
			hmac = ifaceByName(l.hostIf).mac
		}
		fmt.Fprintf(&hb, "link add %s address %s type veth peer name eth0 address %s netns %s\n",
			l.hostIf, hmac, l.mac, t.prefix+l.name)
		if l.bridge == "" {
			fmt.Fprintf(&hb, "addr add %s dev %s\n", ifaceByName(l.hostIf).addr, l.hostIf)
			fmt.Fprintf(&hb, "addr add %s dev %s nodad\n", ifaceByName(l.hostIf).addr6, l.hostIf)
			fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", l.addr.Addr(), l.mac, l.hostIf)
			fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", l.addr6.Addr(), l.mac, l.hostIf)
		} else {
			fmt.Fprintf(&hb, "link set %s master %s\n", l.hostIf, l.bridge)
			fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", l.addr.Addr(), l.mac, l.bridge)
			fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", l.addr6.Addr(), l.mac, l.bridge)
			fmt.Fprintf(&fdb, "fdb replace %s dev %s master static\n", l.mac, l.hostIf)
		}
		fmt.Fprintf(&hb, "link set %s up\n", l.hostIf)
	}
	fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", defaultGW, leafByName(Ext).mac, "ens33")
	fmt.Fprintf(&hb, "route add default via %s dev %s\n", defaultGW, "ens33")
	fmt.Fprintf(&hb, "neigh replace %s lladdr %s dev %s nud permanent\n", defaultGW6, leafByName(Ext).mac, "ens33")
	fmt.Fprintf(&hb, "route add ::/0 via %s dev %s\n", defaultGW6, "ens33")
	if _, err := runCmd([]byte(hb.String()), "ip", "-n", t.prefix+Host, "-batch", "-"); err != nil {
		return fmt.Errorf("host links: %w", err)
	}
	if _, err := runCmd([]byte(fdb.String()), "bridge", "-n", t.prefix+Host, "-batch", "-"); err != nil {
		return fmt.Errorf("bridge fdb: %w", err)
	}

	// Leaves (in parallel): address, route, static neighbour, silence,
	// capture socket.
	t.caps = map[string]int{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, l := range leaves {
		wg.Go(func() {
			fd, err := t.setupLeaf(l)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("leaf %s: %w", l.name, err))
				return
			}
			t.caps[l.name] = fd
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Host namespace: sysctls, observer, sockets, worker thread.
	if t.w, err = startWorker(t.hostFD); err != nil {
		return err
	}
	err = t.w.do(func() error {
		if err := writeSysctls(mergeMaps(hostSysctlsEarly, hostSysctls)); err != nil {
			return err
		}
		if _, err := runCmd([]byte(observerNft), "nft", "-f", "-"); err != nil {
			return fmt.Errorf("observer table: %w", err)
		}
		var err error
		if t.loFD, _, err = openPacketSocket("lo", false); err != nil {
			return err
		}
		if t.rawFD, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		if err := unix.SetsockoptInt(t.rawFD, unix.SOL_SOCKET, unix.SO_MARK, outMark); err != nil {
			return fmt.Errorf("SO_MARK: %w", err)
		}
		if t.raw6FD, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw IPv6 socket: %w", err)
		}
		if err := unix.SetsockoptInt(t.raw6FD, unix.SOL_SOCKET, unix.SO_MARK, outMark); err != nil {
			return fmt.Errorf("SO_MARK: %w", err)
		}
		if t.nfl, err = openNflog(obsGroup); err != nil {
			return err
		}
		ifs, err := net.Interfaces()
		if err != nil {
			return fmt.Errorf("host interfaces: %w", err)
		}
		t.ifnames = map[uint32]string{}
		for _, i := range ifs {
			t.ifnames[uint32(i.Index)] = i.Name
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("host namespace: %w", err)
	}
	// Every path must be observable before the first case.
	err = t.w.do(func() error {
		for _, from := range append([]string{Host}, leafNames()...) {
			if _, err := t.sentinel(from); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.lastSave = nil
	return nil
}

// setupLeaf configures leaf l's namespace (its sysctls and sink are set
// before its link exists, in build) and returns its capture socket.
func (t *Topology) setupLeaf(l *leaf) (int, error) {
	var lb strings.Builder
	lb.WriteString("link set lo up\n")
	fmt.Fprintf(&lb, "addr add %s dev eth0\n", l.addr)
	fmt.Fprintf(&lb, "addr add %s dev eth0 nodad\n", l.addr6)
	lb.WriteString("link set eth0 up\n")
	fmt.Fprintf(&lb, "neigh replace %s lladdr %s dev eth0 nud permanent\n", l.gw, l.gwMAC())
	fmt.Fprintf(&lb, "neigh replace %s lladdr %s dev eth0 nud permanent\n", l.gw6, l.gwMAC())
	fmt.Fprintf(&lb, "route add default via %s\n", l.gw)
	fmt.Fprintf(&lb, "route add ::/0 via %s\n", l.gw6)
	if l.anyIP.IsValid() {
		fmt.Fprintf(&lb, "route add local %s dev lo\n", l.anyIP)
	}
	if _, err := runCmd([]byte(lb.String()), "ip", "-n", t.prefix+l.name, "-batch", "-"); err != nil {
		return -1, err
	}
	fd := -1
	err := inNetns(t.leafFD[l.name], func() error {
		var err error
		fd, _, err = openPacketSocket("eth0", true)
		return err
	})
	return fd, err
}

func leafNames() []string {
	out := make([]string, len(leaves))
	for i, l := range leaves {
		out[i] = l.name
	}
	return out
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// openPacketSocket opens an AF_PACKET socket bound to ifname in the calling
// thread's namespace. With capture it receives all protocols (non-blocking,
// large buffer); otherwise it is used to send only.
func openPacketSocket(ifname string, capture bool) (fd, ifindex int, err error) {
	proto := 0
	if capture {
		proto = int(htons(unix.ETH_P_ALL))
	}
	fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, 0, fmt.Errorf("packet socket on %s: %w", ifname, err)
	}
	fail := func(e error) (int, int, error) {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("packet socket on %s: %w", ifname, e)
	}
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fail(err)
	}
	ifindex = int(ifr.Uint32())
	if capture {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifindex}); err != nil {
		return fail(err)
	}
	return fd, ifindex, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close deletes every namespace of the topology and releases its sockets.
// It is safe to call more than once.
func (t *Topology) Close() error {
	t.release()
	err := t.deleteNamespaces()
	unregister(t)
	if err != nil {
		return fmt.Errorf("kernel: delete namespaces: %w", err)
	}
	return nil
}

// release closes the sockets, namespace handles and worker thread.
func (t *Topology) release() {
	// Closing a packet socket waits for an RCU grace period: close them
	// all at once.
	var fds []int
	for _, fd := range t.caps {
		fds = append(fds, fd)
	}
	t.caps = nil
	for _, fd := range []*int{&t.loFD, &t.rawFD, &t.raw6FD} {
		if *fd >= 0 {
			fds = append(fds, *fd)
			*fd = -1
		}
	}
	var wg sync.WaitGroup
	for _, fd := range fds {
		wg.Go(func() { unix.Close(fd) })
	}
	if t.nfl != nil {
		wg.Go(t.nfl.close)
	}
	wg.Wait()
	t.nfl = nil
	if t.w != nil {
		t.w.stop()
		t.w = nil
	}
	if t.hostFD >= 0 {
		unix.Close(t.hostFD)
		t.hostFD = -1
	}
	for _, fd := range t.leafFD {
		unix.Close(fd)
	}
	t.leafFD = nil
	t.lastSave = nil
}

// deleteNamespaces removes the topology's namespaces (their mounts); it is
// what the signal handler calls, so it only touches t.nsList under t.mu.
func (t *Topology) deleteNamespaces() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.nsList) == 0 {
		return nil
	}
	err := deleteNetns(t.nsList)
	t.nsList = nil
	return err
}

// deleteNetns deletes the named namespaces that exist.
func deleteNetns(names []string) error {
	existing, err := listNetns()
	if err != nil {
		return err
	}
	var batch strings.Builder
	var todo []string
	for _, n := range names {
		if existing[n] {
			fmt.Fprintf(&batch, "netns del %s\n", n)
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if _, err := runCmd([]byte(batch.String()), "ip", "-batch", "-"); err != nil {
		// One by one, so one failure does not leave the others behind.
		var errs []error
		for _, n := range todo {
			if _, err := runCmd(nil, "ip", "netns", "del", n); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	return nil
}

// listNetns returns the names of the namespaces in /run/netns.
func listNetns() (map[string]bool, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	m := make(map[string]bool, len(ents))
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m, nil
}

var staleName = regexp.MustCompile(`^dfwk(\d+)-\d+-(host|ext|ext2|c1|c2|c3)$`)

// reapStale deletes namespaces left by a harness process that no longer
// exists (e.g. killed with SIGKILL). Only default-prefixed names whose pid is
// dead are touched.
func reapStale() {
	existing, err := listNetns()
	if err != nil {
		return
	}
	var stale []string
	for n := range existing {
		m := staleName.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			stale = append(stale, n)
		}
	}
	if len(stale) > 0 {
		_ = deleteNetns(stale)
	}
}

// Signal handling: live topologies are deleted on SIGINT/SIGTERM, then the
// signal is re-raised with its default action.
var (
	liveMu sync.Mutex
	live   = map[*Topology]bool{}
)

func register(t *Topology) {
	startSignals()
	liveMu.Lock()
	defer liveMu.Unlock()
	live[t] = true
}

func unregister(t *Topology) {
	liveMu.Lock()
	defer liveMu.Unlock()
	delete(live, t)
}

func cleanupAndReraise(sig os.Signal) {
	liveMu.Lock()
	ts := make([]*Topology, 0, len(live))
	for t := range live {
		ts = append(ts, t)
	}
	liveMu.Unlock()
	for _, t := range ts {
		if err := t.deleteNamespaces(); err != nil {
			fmt.Fprintf(os.Stderr, "kernel: cleanup on %v: %v\n", sig, err)
		}
	}
	if s, ok := sig.(syscall.Signal); ok {
		_ = unix.Kill(os.Getpid(), s)
		time.Sleep(2 * time.Second) // the default action ends us meanwhile
	}
	os.Exit(1) // in case it did not
}
