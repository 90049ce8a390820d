// Package kernel is dfw's harness for asking the real Linux kernel what
// netfilter does with a ruleset and a packet, so that the simulator can be
// checked against it.
//
// New builds a Docker-like host from network namespaces only (nothing is
// attached to, routed in or addressed in the caller's namespace):
//
//	ext  203.0.113.7/24  eth0 --veth-- ens33 203.0.113.10/24 ┐
//	     (default gateway 203.0.113.1 lives here)            │ host: the firewall
//	ext2 198.51.100.7/24 eth0 --veth-- eth1 198.51.100.10/24 │ under test
//	c1   172.17.0.2/16   eth0 --veth-- vethc1 ┐ docker0 172.17.0.1/16
//	c2   172.17.0.3/16   eth0 --veth-- vethc2 ┘
//	c3   172.18.0.2/16   eth0 --veth-- vethc3 -- br-app 172.18.0.1/16
//
// and in parallel, for IPv6 (2001:db8::/32, documentation addresses):
//
//	ext  2001:db8:0:1::7/64 -- ens33 2001:db8:0:1::10/64 (gateway 2001:db8:0:1::1 in ext)
//	ext2 2001:db8:0:2::7/64 -- eth1  2001:db8:0:2::10/64
//	c1   2001:db8:0:17::2, c2 2001:db8:0:17::3 -- docker0 2001:db8:0:17::1/64
//	c3   2001:db8:0:18::2 -- br-app 2001:db8:0:18::1/64
//
// with forwarding on for both families, rp_filter=0,
// bridge-nf-call-ip{,6}tables=1, no duplicate address detection, router
// advertisements or link-local addresses, fixed MACs, permanent neighbours
// and static FDB entries. Leaves never answer.
//
// Load puts an iptables-restore ruleset into the host namespace (LoadFamily
// an ip6tables-restore one); Send and SendFlow inject exact packets, IPv4
// or IPv6, and report what the kernel did: the
// disposition, the packet as last seen (after NAT) and the counter deltas of
// every rule and policy that counted it. See the Observation type.
//
// Tests use Require (skip, or fail in CI, when the kernel is unavailable)
// and NewForTest.
package kernel

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requiredTools are the commands the harness runs.
var requiredTools = []string{
	"ip", "bridge", "nft", "conntrack",
	"iptables-nft-restore", "iptables-nft-save",
	"iptables-legacy-restore", "iptables-legacy-save",
	"ip6tables-nft-restore", "ip6tables-nft-save",
	"ip6tables-legacy-restore", "ip6tables-legacy-save",
}

// Check reports whether the kernel harness can run here: nil when the
// process is root and ip, bridge, nft, conntrack and ip{,6}tables-{nft,legacy}-
// {restore,save} are installed; otherwise an error naming what is missing.
func Check() error {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, "not running as root")
	}
	var missing []string
	for _, tool := range requiredTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing commands: "+strings.Join(missing, ", "))
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		problems = append(problems, "no network namespace support")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Require skips the test when Check fails, or fails it when the
// environment demands kernel tests (CI=true or DFW_REQUIRE_KERNEL=1).
func Require(t testing.TB) {
	t.Helper()
	err := Check()
	if err == nil {
		return
	}
	msg := "kernel tests need root and iptables, nftables, conntrack, iproute2"
	if os.Getenv("CI") == "true" || os.Getenv("DFW_REQUIRE_KERNEL") == "1" {
		t.Fatalf("%s; required here (CI=true or DFW_REQUIRE_KERNEL=1): %v", msg, err)
	}
	t.Skipf("%s; skipping: %v", msg, err)
}

// NewForTest calls Require, builds a topology with the given backend
// ("nft" or "legacy") and a unique prefix, and deletes it when the test
// ends.
func NewForTest(t testing.TB, backend string) *Topology {
	t.Helper()
	Require(t)
	topo, err := New(Options{Backend: backend})
	if err != nil {
		t.Fatalf("kernel topology (%s): %v", backend, err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Errorf("kernel topology cleanup: %v", err)
		}
	})
	return topo
}

// Address families of a ruleset, as given to LoadFamily.
const (
	IPv4 = "ipv4" // iptables
	IPv6 = "ipv6" // ip6tables
)

// backend names the iptables commands of one backend.
type backend struct {
	name, save, restore string
	save6, restore6     string // ip6tables
}

// cmds returns the save and restore commands for a family.
func (b backend) cmds(family string) (save, restore string) {
	if family == IPv6 {
		return b.save6, b.restore6
	}
	return b.save, b.restore
}

func backendFor(name string) (backend, error) {
	switch name {
	case "", "nft":
		return backend{"nft", "iptables-nft-save", "iptables-nft-restore", "ip6tables-nft-save", "ip6tables-nft-restore"}, nil
	case "legacy":
		return backend{"legacy", "iptables-legacy-save", "iptables-legacy-restore", "ip6tables-legacy-save", "ip6tables-legacy-restore"}, nil
	}
	return backend{}, fmt.Errorf("unknown iptables backend %q (want nft or legacy)", name)
}

// legacyBuiltins are the built-in chains of each legacy table.
var legacyBuiltins = map[string][]string{
	"filter":   {"INPUT", "FORWARD", "OUTPUT"},
	"nat":      {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"mangle":   {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"raw":      {"PREROUTING", "OUTPUT"},
	"security": {"INPUT", "FORWARD", "OUTPUT"},
}

// legacyTables lists the x_tables tables of a family (IPv4, IPv6)
// registered in the host namespace. Must run on the worker thread.
func legacyTables(family string) ([]string, error) {
	names := "/proc/thread-self/net/ip_tables_names"
	if family == IPv6 {
		names = "/proc/thread-self/net/ip6_tables_names"
	}
	b, err := os.ReadFile(names)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // ip{,6}_tables not loaded at all
	}
	if err != nil {
		return nil, fmt.Errorf("legacy tables: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// Reset removes every iptables and ip6tables table of both backends from
// the host namespace and flushes conntrack. Legacy tables cannot be
// unregistered: they are emptied with ACCEPT policies, and Load rebuilds
// the topology when a ruleset lacks one of them.
func (t *Topology) Reset() error {
	if t.w == nil {
		return errors.New("kernel: topology is closed")
	}
	t.lastSave = nil
	t.family = IPv4
	err := t.w.do(func() error {
		if _, err := runCmd([]byte("flush ruleset ip\nflush ruleset ip6\n"), "nft", "-f", "-"); err != nil {
			return fmt.Errorf("reset nft tables: %w", err)
		}
		for _, fam := range []string{IPv4, IPv6} {
			tables, err := legacyTables(fam)
			if err != nil {
				return err
			}
			if len(tables) == 0 {
				continue
			}
			var b strings.Builder
			for _, tb := range tables {
				fmt.Fprintf(&b, "*%s\n", tb)
				for _, c := range legacyBuiltins[tb] {
					fmt.Fprintf(&b, ":%s ACCEPT [0:0]\n", c)
				}
				b.WriteString("COMMIT\n")
			}
			legacy, _ := backendFor("legacy")
			_, restore := legacy.cmds(fam)
			if _, err := runCmd([]byte(b.String()), restore, "-w", "5"); err != nil {
				return fmt.Errorf("reset legacy %s tables: %w", fam, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	return t.FlushConntrack()
}

// FlushConntrack deletes every conntrack entry of the host namespace.
func (t *Topology) FlushConntrack() error {
	if t.w == nil {
		return errors.New("kernel: topology is closed")
	}
	if err := t.w.do(flushConntrack); err != nil {
		return fmt.Errorf("kernel: flush conntrack: %w", err)
	}
	return nil
}

// declaredTables returns the tables ("*name" lines) of restore files.
func declaredTables(files ...[]byte) map[string]bool {
	m := map[string]bool{}
	for _, f := range files {
		for _, line := range strings.Split(string(f), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "*") {
				m[strings.TrimSpace(line[1:])] = true
			}
		}
	}
	return m
}

// Load applies an IPv4 ruleset: LoadFamily(IPv4, base, overlays...).
func (t *Topology) Load(base []byte, overlays ...[]byte) error {
	return t.LoadFamily(IPv4, base, overlays...)
}

// LoadFamily applies base with iptables-restore (ip6tables-restore for
// IPv6), then each overlay with --noflush, with the topology's backend;
// Save then reads that family's counters. It does not Reset first. Because
// legacy tables cannot be unregistered, the topology is rebuilt (fresh
// namespaces, ~0.2 s) when a registered legacy table of the family is not
// declared by base or an overlay, so that no leftover table counts (the
// other family's tables, emptied by Reset, see none of its packets).
func (t *Topology) LoadFamily(family string, base []byte, overlays ...[]byte) error {
	if t.w == nil {
		return errors.New("kernel: topology is closed")
	}
	if family != IPv4 && family != IPv6 {
		return fmt.Errorf("kernel: unknown family %q (want %s or %s)", family, IPv4, IPv6)
	}
	t.lastSave = nil
	want := declaredTables(append([][]byte{base}, overlays...)...)
	rebuild := ""
	for _, fam := range []string{IPv4, IPv6} {
		var registered []string
		if err := t.w.do(func() (err error) { registered, err = legacyTables(fam); return err }); err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		for _, tb := range registered {
			if t.backend.name != "legacy" || (fam == family && !want[tb]) {
				rebuild = fam + " " + tb
			}
		}
	}
	if rebuild != "" {
		if err := t.rebuild(); err != nil {
			return fmt.Errorf("kernel: rebuild for legacy table %s: %w", rebuild, err)
		}
	}
	t.family = family
	_, restore := t.backend.cmds(family)
	if _, err := t.w.run(base, restore, "-w", "5"); err != nil {
		return fmt.Errorf("kernel: load base ruleset: %w", err)
	}
	for i, o := range overlays {
		if _, err := t.w.run(o, restore, "-w", "5", "--noflush"); err != nil {
			return fmt.Errorf("kernel: load overlay %d: %w", i+1, err)
		}
	}
	return nil
}

// Family returns the family of the last ruleset loaded (IPv4 after Reset).
func (t *Topology) Family() string { return t.family }

// Save returns `iptables-save -c` (`ip6tables-save -c` after an IPv6
// LoadFamily) of the host namespace (topology backend).
func (t *Topology) Save() ([]byte, error) {
	if t.w == nil {
		return nil, errors.New("kernel: topology is closed")
	}
	save, _ := t.backend.cmds(t.family)
	out, err := t.w.run(nil, save, "-c")
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	return out, nil
}

// Exec runs a command in the host namespace (e.g. "conntrack", "-L") and
// returns its standard output; for debugging and special set-ups.
func (t *Topology) Exec(stdin []byte, argv ...string) ([]byte, error) {
	if t.w == nil {
		return nil, errors.New("kernel: topology is closed")
	}
	if len(argv) == 0 {
		return nil, errors.New("kernel: Exec needs a command")
	}
	t.lastSave = nil
	return t.w.run(stdin, argv...)
}

// rebuild replaces every namespace of the topology with fresh ones.
func (t *Topology) rebuild() error {
	t.release()
	if err := t.deleteNamespaces(); err != nil {
		return err
	}
	return t.build()
}

// flushConntrack sends an empty IPCTNL_MSG_CT_DELETE (flush) for every
// family (AF_UNSPEC: IPv4 and IPv6) on ctnetlink, in the calling thread's
// namespace.
func flushConntrack() error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	const ipctnlMsgCtDelete = 2
	msg := make([]byte, unix.NLMSG_HDRLEN+4)
	putNlmsghdr(msg, unix.NFNL_SUBSYS_CTNETLINK<<8|ipctnlMsgCtDelete, unix.NLM_F_REQUEST|unix.NLM_F_ACK, 1)
	msg[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	msg[unix.NLMSG_HDRLEN+1] = unix.NFNETLINK_V0
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	return readAck(fd, 1)
}
