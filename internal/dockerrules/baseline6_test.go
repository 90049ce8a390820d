package dockerrules

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/parser"
)

// corpusDir is where moby's golden rules are: $DFW_CORPUS, else
// ../shared/corpus beside the repository root.
func corpusDir() string {
	if dir := os.Getenv("DFW_CORPUS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "..", "shared", "corpus")
}

// readCorpus reads a corpus file; without the corpus the test is skipped,
// unless CI=true, where it fails.
func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(), name))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: the corpus must be there; set DFW_CORPUS)", err)
		}
		t.Skipf("corpus file not found: %v (set DFW_CORPUS to run)", err)
	}
	return data
}

// emitted prints what emit adds to an empty ruleset.
func emitted(t *testing.T, emit func(Sink)) string {
	t.Helper()
	rs := NewRuleset()
	emit(rs)
	var b bytes.Buffer
	if _, err := rs.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// networkLevel drops from a baseline what moby's iptabler tests do not
// make: DOCKER-USER and its jump (libnetwork's setupUserChain makes them)
// and the FORWARD policy (the bridge driver sets it when it turns
// forwarding on). What is left is the iptabler's: the daemon's chains and
// the network's, endpoint's and port's rules.
func networkLevel(s string) string {
	s = strings.Replace(s, ":FORWARD DROP [0:0]\n", ":FORWARD ACCEPT [0:0]\n", 1)
	s = strings.Replace(s, ":DOCKER-USER - [0:0]\n", "", 1)
	return strings.Replace(s, "-A FORWARD -j DOCKER-USER\n", "", 1)
}

// mobyHost is the host of moby's iptabler tests (iptabler_test.go, tags
// v28.5.2 and docker-v29.5.1): one network br-dummy, 192.168.0.0/24 and
// fd49:efd7:54aa::/64, one endpoint 192.168.0.2 and fd49:efd7:54aa::1 (an
// address NewHost would not give: the test picks it), port 8080 mapped to
// its port 80 on every address of both families.
func mobyHost(v Version, icc, masq bool) *Host {
	p := []Port{{Proto: "tcp", Host: 8080, Ctr: 80}}
	return &Host{
		Version:    v,
		Bridges:    []Bridge{{Name: "br-dummy", Subnet: "192.168.0.0/24", Subnet6: "fd49:efd7:54aa::/64", NoICC: !icc, NoMasquerade: !masq}},
		Containers: []Container{{Bridge: 0, IP: "192.168.0.2", IP6: "fd49:efd7:54aa::1", Ports: p, Ports6: p}},
	}
}

// The network-level rules agree with moby's own golden rules for the same
// configuration: the corpus holds two of them (Docker 29, icc off, the
// network's IPv6 rules without masquerading and its IPv4 rules with it).
func TestBaselineMobyGoldenCorpus(t *testing.T) {
	for _, tc := range []struct {
		file      string
		v6        bool
		icc, masq bool
	}{
		// hairpin=false,internal=false,icc=false,masq=false,snat=false,gwm=nat,bindlh=false__ip6tables.golden
		{"moby-iptabler-golden-nat-ip6.save", true, false, false},
		// hairpin=false,internal=false,icc=false,masq=true,snat=false,gwm=nat,bindlh=false__iptables.golden
		{"moby-iptabler-golden-nat-masq.save", false, false, true},
	} {
		want := string(readCorpus(t, tc.file))
		h := mobyHost(V29, tc.icc, tc.masq)
		emit := h.Emit
		if tc.v6 {
			emit = h.Emit6
		}
		if got := networkLevel(emitted(t, emit)); got != want {
			t.Errorf("%s: the model's rules for the same network differ:\n--- model\n%s--- moby\n%s", tc.file, got, want)
		}
	}
}

// moby's golden ip6tables rules of the same network with the default
// settings (icc and ip-masq on), as iptabler_test.go's testdata holds them
// at v28.5.2 and docker-v29.5.1
// (hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false__ip6tables.golden).
const (
	mobyGolden6v28 = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
-A FORWARD -j DOCKER-FORWARD
-A DOCKER -d fd49:efd7:54aa::1/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i br-dummy -o br-dummy -j DROP
-A DOCKER-BRIDGE -o br-dummy -j DOCKER
-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i br-dummy -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i br-dummy ! -o br-dummy -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o br-dummy -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s fd49:efd7:54aa::/64 ! -o br-dummy -j MASQUERADE
-A DOCKER -i br-dummy -j RETURN
-A DOCKER ! -s fe80::/10 ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80
COMMIT
`
	mobyGolden6v29 = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-INTERNAL - [0:0]
-A FORWARD -j DOCKER-FORWARD
-A DOCKER -d fd49:efd7:54aa::1/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i br-dummy -o br-dummy -j DROP
-A DOCKER-BRIDGE -o br-dummy -j DOCKER
-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-INTERNAL
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i br-dummy -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s fd49:efd7:54aa::/64 ! -o br-dummy -j MASQUERADE
-A DOCKER ! -s fe80::/10 ! -i br-dummy -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80
COMMIT
`
)

func TestBaselineMobyGoldenDefaults(t *testing.T) {
	for v, want := range map[Version]string{V28: mobyGolden6v28, V29: mobyGolden6v29} {
		if got := networkLevel(emitted(t, mobyHost(v, true, true).Emit6)); got != want {
			t.Errorf("Docker %s: the model's ip6tables rules differ from moby's:\n--- model\n%s--- moby\n%s", v, got, want)
		}
	}
}

// testdata/dualstack/docker28.v6 (Docker 28, docker0 with IPv6, -p 8080:80)
// is the IPv6 baseline of that host, its header aside.
func TestBaseline6Dualstack(t *testing.T) {
	_, got, err := Baselines("28", mustPublish(t, "8080:80"), Network{Name: "docker0", Subnet6: "fd00:dead:beef::/64"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dualstack", "docker28.v6"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(want, []byte("\n"))
	if !bytes.Equal(got, body) {
		t.Errorf("docker28.v6 differs from the IPv6 baseline:\n--- baseline\n%s--- docker28.v6\n%s", got, body)
	}
}

// Without a network with IPv6, Docker 28 and 29 still make their chains in
// ip6tables, DOCKER-USER included, with the FORWARD policy left as it was;
// 20.10 makes nothing there. The IPv4 rules do not depend on IPv6.
func TestBaseline6NoIPv6Network(t *testing.T) {
	for _, v := range []string{"20.10", "28", "29"} {
		v4, v6, err := Baselines(v, mustPublish(t, "8080:80", "[::]:8443:443"))
		if err != nil {
			t.Fatal(err)
		}
		if v4bare, err := Baseline(v, mustPublish(t, "8080:80")); err != nil || !bytes.Equal(v4, v4bare) {
			t.Errorf("%s: [::]:8443:443 on a container without IPv6 changes the IPv4 rules (%v):\n%s", v, err, v4)
		}
		if v == "20.10" {
			if len(v6) != 0 {
				t.Errorf("20.10: ip6tables rules without its experimental ip6tables option:\n%s", v6)
			}
			continue
		}
		for _, want := range []string{
			":FORWARD ACCEPT [0:0]\n", ":DOCKER-USER - [0:0]\n",
			"-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n",
			"-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER\n",
		} {
			if !strings.Contains(string(v6), want) {
				t.Errorf("%s: the IPv6 baseline lacks\n%s\nin\n%s", v, want, v6)
			}
		}
		for _, not := range []string{"*raw", "DNAT", "MASQUERADE", "docker0", "--dport"} {
			if strings.Contains(string(v6), not) {
				t.Errorf("%s: the IPv6 baseline has %s without a network with IPv6:\n%s", v, not, v6)
			}
		}
	}
}

// Which bindings a publish makes on a dual-stack network, an IPv4-only one
// and an IPv6-only one (port_mapping_linux.go addPortMappings).
func TestNewHostBindings6(t *testing.T) {
	nets := []Network{
		{Name: "docker0", Subnet6: "fd00::/64"},
		{Name: "br-v4", Subnet: "172.18.0.0/16"},
		{Name: "br-v6", Subnet6: "fd00:6::/64"},
	}
	h, err := NewHost(V28, mustPublish(t,
		"8080:80", "0.0.0.0:8081:81", "[::]:8082:82", "[::1]:8083:83", "127.0.0.1:8084:84", "[2001:db8::1]:8085:85@172.17.0.2",
		"9080:80@br-v4", "[::]:9081:81@br-v4",
		"7080:80@br-v6", "127.0.0.1:7081:81@br-v6", "7082:82@fd00:6::7",
		"6080:80@[fd00::9]",
	), nets...)
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(host, ctr int, ip string) Port { return Port{Proto: "tcp", Host: host, Ctr: ctr, HostIP: ip} }
	want := []Container{
		{Bridge: 0, IP: "172.17.0.2", IP6: "fd00::2",
			Ports:  []Port{tcp(8080, 80, ""), tcp(8081, 81, ""), tcp(8084, 84, "127.0.0.1")},
			Ports6: []Port{tcp(8080, 80, ""), tcp(8082, 82, ""), tcp(8083, 83, "::1"), tcp(8085, 85, "2001:db8::1")}},
		// no IPv6 address: [::]:9081 goes through docker-proxy alone
		{Bridge: 1, IP: "172.18.0.2", Ports: []Port{tcp(9080, 80, "")}},
		// IPv6 only: no IPv4 binding, not even for 127.0.0.1
		{Bridge: 2, IP6: "fd00:6::2", Ports6: []Port{tcp(7080, 80, "")}},
		{Bridge: 2, IP6: "fd00:6::7", Ports6: []Port{tcp(7082, 82, "")}},
		// an IPv6 address on a dual-stack network: the first free IPv4 one
		{Bridge: 0, IP: "172.17.0.3", IP6: "fd00::9", Ports: []Port{tcp(6080, 80, "")}, Ports6: []Port{tcp(6080, 80, "")}},
	}
	if !reflect.DeepEqual(h.Containers, want) {
		t.Errorf("containers\n%+v\nwant\n%+v", h.Containers, want)
	}
	v4 := emitted(t, h.Emit)
	if strings.Contains(v4, "br-v6") || strings.Contains(v4, "fd00") {
		t.Errorf("an IPv6-only network in the IPv4 rules:\n%s", v4)
	}
	v6 := emitted(t, h.Emit6)
	for _, want := range []string{
		"-A DOCKER ! -s fe80::/10 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80\n",
		"-A DOCKER ! -s fe80::/10 -d ::1/128 ! -i docker0 -p tcp -m tcp --dport 8083 -j DNAT --to-destination [fd00::2]:83\n",
		"-A DOCKER ! -s fe80::/10 -d 2001:db8::1/128 ! -i docker0 -p tcp -m tcp --dport 8085 -j DNAT --to-destination [fd00::2]:85\n",
		"-A DOCKER ! -s fe80::/10 ! -i br-v6 -p tcp -m tcp --dport 7082 -j DNAT --to-destination [fd00:6::7]:82\n",
		"-A PREROUTING -d fd00::2/128 ! -i docker0 -j DROP\n-A PREROUTING -d fd00:6::2/128 ! -i br-v6 -j DROP\n",
		"-A DOCKER -d fd00::9/128 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n",
		"-A POSTROUTING -s fd00:6::/64 ! -o br-v6 -j MASQUERADE\n-A POSTROUTING -s fd00::/64 ! -o docker0 -j MASQUERADE\n",
		":FORWARD DROP [0:0]\n",
	} {
		if !strings.Contains(v6, want) {
			t.Errorf("the IPv6 rules lack\n%s\nin\n%s", want, v6)
		}
	}
	for _, not := range []string{"br-v4", "8081", "8084", "9081", "7081", "! -i lo"} {
		if strings.Contains(v6, not) {
			t.Errorf("the IPv6 rules have %q:\n%s", not, v6)
		}
	}
	// 20.10: no ip6tables rules, whatever the networks
	h.Version = V2010
	if got := emitted(t, h.Emit6); got != "" {
		t.Errorf("20.10's ip6tables rules:\n%s", got)
	}
}

func TestParseNetwork(t *testing.T) {
	for in, want := range map[string]Network{
		"br-app=172.18.0.0/16":                 {Name: "br-app", Subnet: "172.18.0.0/16"},
		"br-app=172.18.0.1/16":                 {Name: "br-app", Subnet: "172.18.0.0/16"},
		"br-app=172.18.0.0/16,fd00:18::/64":    {Name: "br-app", Subnet: "172.18.0.0/16", Subnet6: "fd00:18::/64"},
		"br-app=FD00:18::1/64,172.18.0.0/16":   {Name: "br-app", Subnet: "172.18.0.0/16", Subnet6: "fd00:18::/64"},
		"br6=2001:db8:6::/48":                  {Name: "br6", Subnet6: "2001:db8:6::/48"},
		"docker0=fd00::/64":                    {Name: "docker0", Subnet6: "fd00::/64"},
		"docker0=172.17.0.0/16,fd00::/64":      {Name: "docker0", Subnet: "172.17.0.0/16", Subnet6: "fd00::/64"},
		"ll=fe80::/64":                         {Name: "ll", Subnet6: "fe80::/64"},
		"small=fd00::/126,10.0.0.0/30":         {Name: "small", Subnet: "10.0.0.0/30", Subnet6: "fd00::/126"},
		"my.net=192.168.10.0/24,2001:db8::/64": {Name: "my.net", Subnet: "192.168.10.0/24", Subnet6: "2001:db8::/64"},
	} {
		if got, err := ParseNetwork(in); err != nil || got != want {
			t.Errorf("ParseNetwork(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"br-app":                             "want NAME=SUBNET",
		"=172.18.0.0/16":                     "want NAME=SUBNET",
		"br-app=":                            "is not a subnet",
		"br-app=172.18.0.0":                  "is not a subnet",
		"br-app=172.18.0.0/31":               "at most /30",
		"br-app=fd00::/127":                  "at most /126",
		"br-app=172.18.0.0/16,172.19.0.0/16": "two IPv4 subnets",
		"br-app=fd00::/64,fd01::/64":         "two IPv6 subnets",
		"br-app=172.18.0.0/16,":              "is not a subnet",
		"br-app=a,b,c":                       "3 subnets",
		"br-app=::ffff:10.0.0.0/104":         "IPv4-mapped",
		"br-app=ff00::/64":                   "multicast",
		"0123456789abcdef=10.0.0.0/24":       "longer than 15 characters",
		"..=10.0.0.0/24":                     "not an interface name",
		"br:1=10.0.0.0/24":                   "has ':'",
		"br+=10.0.0.0/24":                    "has '+'",
		"!=10.0.0.0/24":                      "has '!'",
		"-br=10.0.0.0/24":                    "begins with '-'",
		"br-app=fe80::/56":                   "link-local",
		"br-app=fe80::1:0:0:0/80":            "link-local",
		"br-app=fe80::%eth0/64":              "is not a subnet",
		"br,app=172.18.0.0/16":               "want NAME=SUBNET",
	} {
		if got, err := ParseNetwork(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseNetwork(%q) = %+v, %v; want an error saying %q", in, got, err, why)
		}
	}
}

func TestNewHostNetworks6(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		nets []Network
		pubs []string
		why  string
	}{
		{V28, []Network{{Name: "docker0", Subnet6: "fd00::/64"}, {Name: "docker0", Subnet6: "fd01::/64"}}, nil, "docker0 given twice"},
		{V28, []Network{{Name: "docker0", Subnet: "172.20.0.0/16", Subnet6: "fd00::/64"}}, nil, "docker0 is 172.17.0.0/16 here"},
		{V28, []Network{{Name: "docker0", Subnet: "172.17.0.0/16"}}, nil, "give it an IPv6 subnet"},
		{V28, []Network{{Name: "br-a", Subnet6: "fd00::/64"}, {Name: "br-a", Subnet: "172.18.0.0/16"}}, nil, "br-a=SUBNET4,SUBNET6"},
		{V28, []Network{{Name: "br-a", Subnet6: "fd00::/64"}, {Name: "br-b", Subnet6: "fd00::/48"}}, nil, "network br-b (fd00::/48) overlaps br-a (fd00::/64)"},
		{V28, []Network{{Name: "docker0", Subnet6: "fd00::/64"}, {Name: "br-b", Subnet6: "fd00::/80"}}, nil, "overlaps docker0"},
		{V28, []Network{{Name: "br-a"}}, nil, "has no subnet"},
		{V28, []Network{{Name: "br-a", Subnet6: "172.18.0.0/16"}}, nil, "is not an IPv6 subnet"},
		{V2010, []Network{{Name: "br6", Subnet6: "fd00::/64"}}, nil, "Docker 20.10 gives every network an IPv4 subnet"},
		{V28, []Network{{Name: "br6", Subnet6: "fd00::/64"}}, []string{"80:80@fd00::1"}, "network's and its gateway's"},
		{V28, []Network{{Name: "br6", Subnet6: "fd00::/64"}}, []string{"80:80@fd01::5"}, "on none of the networks"},
		{V28, nil, []string{"80:80@172.17.255.255"}, "broadcast address"},
		{V28, []Network{{Name: "br6", Subnet6: "fd00::/126"}}, []string{"80:80@br6", "81:81@fd00::3", "82:82@fd00::3", "83:83@br6"}, ""},
		{V28, []Network{{Name: "br4", Subnet: "10.0.0.0/30", Subnet6: "fd00::/126"}}, []string{"80:80@br4", "81:81@fd00::3"}, "network br4 is full"},
	} {
		_, err := NewHost(tc.v, mustPublish(t, tc.pubs...), tc.nets...)
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("NewHost(%v, %+v, %v): %v", tc.v, tc.nets, tc.pubs, err)
		case tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("NewHost(%v, %+v, %v): error %v, want one saying %q", tc.v, tc.nets, tc.pubs, err, tc.why)
		}
	}
	// A dual-stack network on 20.10: the IPv4 rules are those of the
	// network without IPv6.
	with, err := Baseline("20.10", mustPublish(t, "8080:80@br-a"), Network{Name: "br-a", Subnet: "172.18.0.0/16", Subnet6: "fd00::/64"})
	if err != nil {
		t.Fatal(err)
	}
	without, err := Baseline("20.10", mustPublish(t, "8080:80@br-a"), Network{Name: "br-a", Subnet: "172.18.0.0/16"})
	if err != nil || !bytes.Equal(with, without) {
		t.Errorf("20.10: IPv6 changes the IPv4 rules (%v):\n%s", err, with)
	}
}

// icc and ip-masq off on 20.10 and 28: the DROP of bridge-internal traffic
// where the ACCEPT was, no masquerading and no DNAT skip for the bridge.
func TestBaselineNoICCNoMasquerade(t *testing.T) {
	host := func(v Version) *Host {
		return &Host{Version: v, Bridges: []Bridge{
			{Name: "docker0", Subnet: "172.17.0.0/16", NoICC: true},
			{Name: "br-a", Subnet: "172.18.0.0/16", NoMasquerade: true},
			{Name: "br-b", Subnet: "172.19.0.0/16", NoICC: true},
		}}
	}
	v2010 := emitted(t, host(V2010).Emit)
	if want := "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n-A FORWARD -i docker0 -o docker0 -j DROP\n-A FORWARD -i br-b -o br-b -j DROP\n"; !strings.Contains(v2010, want) {
		t.Errorf("20.10: want the icc DROPs appended to FORWARD, oldest bridge first:\n%s\nin\n%s", want, v2010)
	}
	v28 := emitted(t, host(V28).Emit)
	if want := "-A DOCKER-FORWARD -i docker0 -o docker0 -j DROP\n-A DOCKER-FORWARD -i docker0 ! -o docker0 -j ACCEPT\n-A DOCKER-FORWARD -i br-a -j ACCEPT\n-A DOCKER-FORWARD -i br-b -o br-b -j DROP\n-A DOCKER-FORWARD -i br-b ! -o br-b -j ACCEPT\n"; !strings.Contains(v28, want) {
		t.Errorf("28: want\n%s\nin\n%s", want, v28)
	}
	for v, out := range map[string]string{"20.10": v2010, "28": v28} {
		if strings.Contains(out, "-s 172.18.0.0/16 ! -o br-a -j MASQUERADE") || strings.Contains(out, "-i br-a -j RETURN") {
			t.Errorf("%s: br-a masquerades:\n%s", v, out)
		}
		if strings.Contains(out, "-i docker0 -o docker0 -j ACCEPT") {
			t.Errorf("%s: docker0 accepts its own traffic:\n%s", v, out)
		}
	}
}

// FuzzBaselines: whatever --docker, --publish and --network say, Baselines
// gives rules or an error, never a panic; the iptables rules name no IPv6
// address and the ip6tables rules no IPv4 one.
func FuzzBaselines(f *testing.F) {
	for _, seed := range [][3]string{
		{"28", "8080:80", "docker0=fd00::/64"},
		{"29", "[::1]:8080:80@br6", "br6=fd00:6::/126"},
		{"28", "8080:80@fd00:6::3", "br6=172.18.0.0/30,fd00:6::/126"},
		{"20.10", "53:53/udp@br-a", "br-a=172.18.0.0/16,fd00::/64"},
		{"29", "0.0.0.0:8000-8001:80-81@[fd00::2]", "docker0=172.17.0.0/16,fd00::/64"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, version, publish, network string) {
		var pubs []Publish
		for _, s := range strings.Split(publish, " ") {
			if p, err := ParsePublish(s); err == nil {
				pubs = append(pubs, p...)
			}
		}
		var nets []Network
		for _, s := range strings.Split(network, " ") {
			if n, err := ParseNetwork(s); err == nil {
				nets = append(nets, n)
			}
		}
		v4, v6, err := Baselines(version, pubs, nets...)
		if err != nil {
			return
		}
		// Each baseline loads, as a ruleset of its family: an address of
		// the other family is an error there (an interface may be named
		// like an address, 0.0.0.0 say, and is not one).
		for _, b := range []struct {
			fam  parser.Family
			text []byte
		}{{parser.IPv4, v4}, {parser.IPv6, v6}} {
			if len(b.text) == 0 {
				continue // Docker 20.10 makes no ip6tables rules
			}
			l := parser.Load([]parser.Source{{Name: b.fam.String(), Data: b.text}}, parser.Options{Family: b.fam})
			if errs := l.Diags.Errors(); len(errs) > 0 {
				t.Errorf("the %s baseline does not load: %v\n%s", b.fam, errs, b.text)
			}
		}
	})
}
