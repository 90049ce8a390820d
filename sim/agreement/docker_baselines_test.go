package agreement

import (
	"regexp"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/internal/dockerrules"
	"github.com/dfw-project/dfw/sim/kernel"
)

// TestDockerBaselinesLoad loads the baselines dfwlint check --docker puts
// under a FILE into the kernel, in the test topology's fresh namespaces,
// with iptables-restore (the IPv4 ones) and ip6tables-restore (the IPv6
// ones) of both backends, and reads them back with iptables-save: each
// loads, and is printed back as written (tables aside, whose order is the
// backend's). The hosts: docker0 alone (no network with IPv6: only the
// daemon's chains in ip6tables), the topology's dual-stack host, one with
// an IPv6-only network and bindings of every kind, and networks with icc
// and ip-masq off.
func TestDockerBaselinesLoad(t *testing.T) {
	kernel.Require(t)
	type host struct {
		name      string
		publish   []string
		networks  []string
		noICCMasq bool
		since28   bool // an IPv6-only network: not on 20.10
	}
	hosts := []host{
		{name: "docker0 without IPv6", publish: []string{"8080:80", "[::]:8443:443"}},
		{name: "the topology's", publish: []string{"[2001:db8:0:1::10]:9443:443", "8080:80", "127.0.0.1:8443:443", "5432:5432@br-app", "53:53/udp@172.17.0.3"},
			networks: []string{"docker0=2001:db8:0:17::/64", "br-app=172.18.0.0/16,2001:db8:0:18::/64"}},
		{name: "an IPv6-only network", publish: []string{"[::1]:8080:80", "127.0.0.1:8081:81", "8082:82@br6", "[::]:8083:83@fd00:6::9", "0.0.0.0:8084:84@br-app"},
			networks: []string{"docker0=fd00::/64", "br-app=172.18.0.0/16", "br6=fd00:6::/64"}, since28: true},
		{name: "icc and ip-masq off", publish: []string{"8080:80", "5432:5432@br-app"},
			networks: []string{"docker0=fd00::/64", "br-app=172.18.0.0/16,fd00:18::/64"}, noICCMasq: true},
	}
	type baseline struct {
		name, family string
		data         []byte
	}
	var all []baseline
	for _, version := range []string{"20.10", "28", "29"} {
		v, err := dockerrules.ParseVersion(version)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			if h.since28 && v == dockerrules.V2010 {
				continue
			}
			var pubs []dockerrules.Publish
			for _, s := range h.publish {
				p, err := dockerrules.ParsePublish(s)
				if err != nil {
					t.Fatal(err)
				}
				pubs = append(pubs, p...)
			}
			var nets []dockerrules.Network
			for _, s := range h.networks {
				n, err := dockerrules.ParseNetwork(s)
				if err != nil {
					t.Fatal(err)
				}
				nets = append(nets, n)
			}
			dh, err := dockerrules.NewHost(v, pubs, nets...)
			if err != nil {
				t.Fatalf("Docker %s, %s: %v", version, h.name, err)
			}
			if h.noICCMasq {
				for i := range dh.Bridges {
					dh.Bridges[i].NoICC, dh.Bridges[i].NoMasquerade = true, i%2 == 1
				}
			}
			for _, f := range []struct {
				family string
				emit   func(dockerrules.Sink)
			}{{kernel.IPv4, dh.Emit}, {kernel.IPv6, dh.Emit6}} {
				rs := dockerrules.NewRuleset()
				f.emit(rs)
				var b strings.Builder
				if _, err := rs.WriteTo(&b); err != nil {
					t.Fatal(err)
				}
				if b.Len() == 0 {
					if version != "20.10" || f.family != kernel.IPv6 {
						t.Errorf("Docker %s, %s: no %s rules", version, h.name, f.family)
					}
					continue
				}
				all = append(all, baseline{"Docker " + version + ", " + h.name, f.family, []byte(b.String())})
			}
		}
	}
	t.Logf("%d baselines, each loaded on both backends", len(all))
	for _, backend := range []string{"nft", "legacy"} {
		topo := kernel.NewForTest(t, backend)
		for _, b := range all {
			if err := topo.Reset(); err != nil {
				t.Fatal(err)
			}
			if err := topo.LoadFamily(b.family, b.data); err != nil {
				t.Errorf("%s (%s) does not load [%s]: %v\n%s", b.name, b.family, backend, err, b.data)
				continue
			}
			saved, err := topo.Save()
			if err != nil {
				t.Fatal(err)
			}
			got, want := savedTables(string(saved)), savedTables(string(b.data))
			for name, text := range want {
				if got[name] != text {
					t.Errorf("%s (%s) [%s]: table %s is saved as\n%s\nnot as written:\n%s", b.name, b.family, backend, name, got[name], text)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("%s (%s) [%s]: table %s is saved, not written:\n%s", b.name, b.family, backend, name, got[name])
				}
			}
		}
	}
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// savedTables splits iptables-save text into its tables, without comments
// and with every counter zero.
func savedTables(s string) map[string]string {
	out := map[string]string{}
	name := ""
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "*"):
			name = line[1:]
			b.Reset()
		}
		line = strings.TrimPrefix(counters.ReplaceAllString(line, "[0:0]"), "[0:0] ")
		b.WriteString(line + "\n")
		if line == "COMMIT" {
			out[name] = b.String()
		}
	}
	return out
}
