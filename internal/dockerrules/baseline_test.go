package dockerrules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated baselines in testdata/docker")

func mustPublish(t *testing.T, specs ...string) []Publish {
	t.Helper()
	var out []Publish
	for _, s := range specs {
		p, err := ParsePublish(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p...)
	}
	return out
}

// The host of testdata/docker (c1 -p 8080:80, c2 unpublished on docker0, db
// -p 5432:5432 on br-app): the baseline is the dump replayed from Docker's
// commands in the kernel, byte for byte.
func TestBaselineMatchesTestdata(t *testing.T) {
	pubs := append(mustPublish(t, "8080:80"), Publish{Container: "172.17.0.3"})
	pubs = append(pubs, mustPublish(t, "5432:5432@br-app")...)
	brApp, err := ParseNetwork("br-app=172.18.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ version, file string }{
		{"28", "docker-28.save"},
		{"28.5.2", "docker-28.save"},
		{"20.10", "docker-20.10-two-bridges.save"},
	} {
		got, err := Baseline(tc.version, pubs, brApp)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "docker", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Baseline(%s) differs from %s:\n--- got\n%s--- want\n%s", tc.version, tc.file, got, want)
		}
	}
}

// The generated baselines in testdata/docker (baseline-*.save) are what
// Baselines gives; the kernel-agreement suite (sim/agreement) loads them
// into the kernel. -update rewrites them. Each version's host is the
// kernel test topology's: docker0 and br-app with the topology's IPv6
// subnets, containers at its c1, c3 and c2. The IPv4 files are those of
// the same host without IPv6 (IPv6 changes no iptables rule); 20.10 has no
// ip6tables rules, so no IPv6 file.
func TestBaselineFiles(t *testing.T) {
	brApp := Network{Name: "br-app", Subnet: "172.18.0.0/16"}
	publish := []string{"8080:80", "127.0.0.1:8443:443", "5432:5432@br-app", "53:53/udp@172.17.0.3"}
	dual := []Network{{Name: "docker0", Subnet6: "2001:db8:0:17::/64"}, {Name: "br-app", Subnet: "172.18.0.0/16", Subnet6: "2001:db8:0:18::/64"}}
	publish6 := append([]string{"[2001:db8:0:1::10]:9443:443"}, publish...)
	for _, tc := range []struct{ v4, v6, version string }{
		{"baseline-20.10.save", "", "20.10"},
		{"baseline-28.save", "baseline-28-ipv6.save", "28"},
		{"baseline-29.save", "baseline-29-ipv6.save", "29"},
	} {
		v4, err := Baseline(tc.version, mustPublish(t, publish...), brApp)
		if err != nil {
			t.Fatal(err)
		}
		dual4, v6, err := Baselines(tc.version, mustPublish(t, publish6...), dual...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dual4, v4) {
			t.Errorf("%s: IPv6 subnets and an IPv6 binding change the IPv4 rules:\n%s", tc.version, dual4)
		}
		for _, f := range []struct {
			name string
			data []byte
		}{{tc.v4, v4}, {tc.v6, v6}} {
			if f.name == "" {
				if len(f.data) > 0 {
					t.Errorf("%s: ip6tables rules:\n%s", tc.version, f.data)
				}
				continue
			}
			path := filepath.Join("..", "..", "testdata", "docker", f.name)
			if *update {
				if err := os.WriteFile(path, f.data, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.data, want) {
				t.Errorf("%s is not the baseline of Docker %s (go test ./internal/dockerrules -update rewrites it):\n%s", f.name, tc.version, f.data)
			}
		}
	}
}

// Docker 29 as moby's generated listing
// integration/network/bridge/iptablesdoc/generated/usernet-portmap.md
// (docker-v29.5.1) shows it: network bridge1 192.0.2.0/24, c1 -p 8080:80.
func TestBaseline29Listing(t *testing.T) {
	got, err := Baseline("29", mustPublish(t, "8080:80@bridge1"), Network{Name: "bridge1", Subnet: "192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n",
		"-A DOCKER -d 192.0.2.2/32 ! -i bridge1 -o bridge1 -p tcp -m tcp --dport 80 -j ACCEPT\n-A DOCKER ! -i docker0 -o docker0 -j DROP\n-A DOCKER ! -i bridge1 -o bridge1 -j DROP\n",
		"-A DOCKER-FORWARD -j DOCKER-CT\n-A DOCKER-FORWARD -j DOCKER-INTERNAL\n-A DOCKER-FORWARD -j DOCKER-BRIDGE\n-A DOCKER-FORWARD -i docker0 -j ACCEPT\n-A DOCKER-FORWARD -i bridge1 -j ACCEPT\n",
		":DOCKER-INTERNAL - [0:0]\n:DOCKER-USER - [0:0]\n",
		"-A POSTROUTING -s 192.0.2.0/24 ! -o bridge1 -j MASQUERADE\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n-A DOCKER ! -i bridge1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80\n",
		"*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -j DROP\nCOMMIT\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("baseline 29 lacks\n%s\nin\n%s", want, got)
		}
	}
	for _, not := range []string{"ISOLATION", "-j RETURN"} {
		if strings.Contains(string(got), not) {
			t.Errorf("baseline 29 has %s", not)
		}
	}
}

// A port on a loopback address (usernet-portmap-lo.md, v28.5.2): DNAT to
// that address only, and a raw DROP of it from anywhere but lo.
func TestBaselineLoopback(t *testing.T) {
	got, err := Baseline("28", mustPublish(t, "127.0.0.1:8080:80@bridge1"), Network{Name: "bridge1", Subnet: "192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -j DROP\n-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 8080 -j DROP\n",
		"-A DOCKER -d 127.0.0.1/32 ! -i bridge1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("baseline lacks\n%s\nin\n%s", want, got)
		}
	}
}

// TestParsePublish: what the docker CLI of 20.10, 28 and 29 accepts in -p
// (go-connections' nat.ParsePortSpec, v0.4.0 and v0.6.0) is read as Docker
// reads it; what it refuses, or what leaves the host port to Docker, is an
// error.
func TestParsePublish(t *testing.T) {
	tcp := func(ip string, h, c int) []Publish {
		return []Publish{{HostIP: ip, HostPort: h, CtrPort: c, Proto: "tcp"}}
	}
	for in, want := range map[string][]Publish{
		"8080:80":                   tcp("", 8080, 80),
		"8080:80/udp":               {{HostPort: 8080, CtrPort: 80, Proto: "udp"}},
		"0.0.0.0:8080:80":           tcp("0.0.0.0", 8080, 80),
		"10.0.0.5:8080:80/tcp@db":   {{HostIP: "10.0.0.5", HostPort: 8080, CtrPort: 80, Proto: "tcp", Container: "db"}},
		"8080:80@172.17.0.9":        {{HostPort: 8080, CtrPort: 80, Proto: "tcp", Container: "172.17.0.9"}},
		"8000-8001:80-81":           {{HostPort: 8000, CtrPort: 80, Proto: "tcp"}, {HostPort: 8001, CtrPort: 81, Proto: "tcp"}},
		"127.0.0.1:53:53/udp@br-ap": {{HostIP: "127.0.0.1", HostPort: 53, CtrPort: 53, Proto: "udp", Container: "br-ap"}},
		// the protocol in any case, and an empty one, as Docker
		"8080:80/TCP": tcp("", 8080, 80),
		"8080:80/Udp": {{HostPort: 8080, CtrPort: 80, Proto: "udp"}},
		"8080:80/":    tcp("", 8080, 80),
		// IPv6 host addresses, bracketed or not; :: is every IPv6 address
		"[::]:8080:80":                tcp("::", 8080, 80),
		":::8080:80":                  tcp("::", 8080, 80),
		"[::1]:8080:80":               tcp("::1", 8080, 80),
		"::1:8080:80":                 tcp("::1", 8080, 80),
		"[2001:db8::1]:8080:80/udp":   {{HostIP: "2001:db8::1", HostPort: 8080, CtrPort: 80, Proto: "udp"}},
		"2001:DB8:0::1:8080:80":       tcp("2001:db8::1", 8080, 80),
		"[2001:db8::1]:8080:80@br-ap": {{HostIP: "2001:db8::1", HostPort: 8080, CtrPort: 80, Proto: "tcp", Container: "br-ap"}},
		// brackets around IPv4, an IPv4-mapped address (Docker unmaps
		// it), empty brackets (no address)
		"[10.0.0.5]:8080:80":         tcp("10.0.0.5", 8080, 80),
		"[::ffff:10.0.0.5]:8080:80":  tcp("10.0.0.5", 8080, 80),
		"[]:8080:80":                 tcp("", 8080, 80),
		"080:80":                     tcp("", 80, 80),
		"8000-8001-8009:80-81-99":    {{HostPort: 8000, CtrPort: 80, Proto: "tcp"}, {HostPort: 8001, CtrPort: 81, Proto: "tcp"}},
		"[::]:8000-8001:80-81/tcp":   {{HostIP: "::", HostPort: 8000, CtrPort: 80, Proto: "tcp"}, {HostIP: "::", HostPort: 8001, CtrPort: 81, Proto: "tcp"}},
		"0000:0000::0:8080:80/udp@x": {{HostIP: "::", HostPort: 8080, CtrPort: 80, Proto: "udp", Container: "x"}},
	} {
		got, err := ParsePublish(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		// Docker picks the host port
		"80", ":80", "1.2.3.4::80", "[::]::80", "0:80", "8000-8009:80",
		// Docker refuses these
		"8080:80/icmp", "8080:80/tcp/udp", "8080:", "70000:80", "x:80", "+8080:80", "8080:-80",
		"8000-8002:80", "8000:80-82", "8080:80:90:1", "999.1.1.1:80:80", "8002-8000:80-78",
		"::8080:80", "[::1:8080:80", "[::1]x:8080:80", "[fe80::1%eth0]:8080:80", "fe80::1%eth0:8080:80",
		"1.2.3.4/24:8080:80", "[[::1]]:8080:80", "localhost:8080:80",
		// not modelled
		"8080:80/sctp", "8080:80/SCTP", "8080:0",
	} {
		if got, err := ParsePublish(in); err == nil {
			t.Errorf("ParsePublish(%q) = %+v, want an error", in, got)
		}
	}
}

// An IPv6 host address adds no iptables rule: the container (IPv4 only)
// gets the port through docker-proxy, so the baseline is that of the
// container started with no port (on 28 and 29 its raw-table DROP).
// 0.0.0.0 is every IPv4 address, as no address is.
func TestBaselineIPv6HostAddress(t *testing.T) {
	for _, v := range []string{"20.10", "28", "29"} {
		bare, err := Baseline(v, []Publish{{Container: "172.17.0.2"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range []string{"[::]:8080:80", ":::8080:80", "[2001:db8::1]:8080:80/udp", "[::1]:8080:80"} {
			got, err := Baseline(v, mustPublish(t, spec))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, bare) {
				t.Errorf("Baseline(%s, %s) has rules of its own:\n%s--- want\n%s", v, spec, got, bare)
			}
		}
		all, err := Baseline(v, mustPublish(t, "8080:80"))
		if err != nil {
			t.Fatal(err)
		}
		for _, spec := range []string{"0.0.0.0:8080:80", "[0.0.0.0]:8080:80", "8080:80/TCP"} {
			got, err := Baseline(v, mustPublish(t, spec))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, all) {
				t.Errorf("Baseline(%s, %s) is not Baseline(%s, 8080:80):\n%s", v, spec, v, got)
			}
		}
		// the IPv4 mapping of a pair stays as Docker makes it
		both, err := Baseline(v, mustPublish(t, "0.0.0.0:8080:80", "[::]:8080:80"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(both, all) {
			t.Errorf("Baseline(%s, 0.0.0.0:8080:80 [::]:8080:80) is not Baseline(%s, 8080:80):\n%s", v, v, both)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{"20.10": V2010, "20.10.12": V2010, "28": V28, "28.2.2": V28, "28.5": V28, "v28.5.2": V28, "29": V29, "29.1.3": V29} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "27", "28.0", "28.2.1", "28.1.0", "19.03", "30", "x", "28.a"} {
		if got, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", in, got)
		}
	}
}

func TestNewHostErrors(t *testing.T) {
	for _, tc := range []struct {
		pubs []string
		nets []Network
	}{
		{pubs: []string{"8080:80", "8080:81@172.17.0.3"}},
		{pubs: []string{"10.0.0.1:8080:80", "8080:81"}},
		{pubs: []string{"8080:80@10.9.0.2"}},
		{pubs: []string{"8080:80@nosuchnet"}},
		{pubs: []string{"8080:80@172.17.0.1"}},
		// no address binds [::] too; :: clashes with every IPv6 address
		{pubs: []string{"8080:80", "[::]:8080:80@172.17.0.3"}},
		{pubs: []string{"[::]:8080:80", "[2001:db8::1]:8080:80@172.17.0.3"}},
		{pubs: []string{"[::1]:8080:80", "::1:8080:80@172.17.0.3"}},
		{pubs: []string{"0.0.0.0:8080:80", "10.0.0.1:8080:80@172.17.0.3"}},
		{nets: []Network{{Name: "br-a", Subnet: "172.17.5.0/24"}}},
		{nets: []Network{{Name: "docker0", Subnet: "172.20.0.0/16"}}},
	} {
		if _, err := NewHost(V28, mustPublish(t, tc.pubs...), tc.nets...); err == nil {
			t.Errorf("NewHost(%v, %v): no error", tc.pubs, tc.nets)
		}
	}
	// two addresses, one host port each: fine; IPv4 and IPv6 ones apart
	for _, pubs := range [][]string{
		{"10.0.0.1:8080:80", "10.0.0.2:8080:80@172.17.0.3"},
		{"0.0.0.0:8080:80", "[::]:8080:80@172.17.0.3"},
		{"[::1]:8080:80", "[2001:db8::1]:8080:80@172.17.0.3", "127.0.0.1:8080:80@172.17.0.4"},
		{"[::]:8080:80", "[::]:8080:80/udp@172.17.0.3"},
	} {
		if _, err := NewHost(V28, mustPublish(t, pubs...)); err != nil {
			t.Errorf("NewHost(%v): %v", pubs, err)
		}
	}
	// containers take addresses from .2 upward, explicit ones kept
	h, err := NewHost(V28, mustPublish(t, "80:80@172.17.0.2", "81:81@172.17.0.4", "82:82", "83:83@br-x"), Network{Name: "br-x", Subnet: "10.5.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, c := range h.Containers {
		ips = append(ips, c.IP)
	}
	if want := []string{"172.17.0.2", "172.17.0.4", "10.5.0.2"}; !reflect.DeepEqual(ips, want) {
		t.Errorf("containers %v, want %v", ips, want)
	}
}
