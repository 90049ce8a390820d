package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func kube(t *testing.T, o KubeProxyOptions) ([]byte, Stats) {
	t.Helper()
	var b bytes.Buffer
	st, err := WriteKubeProxy(&b, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(b.Len()) {
		t.Fatalf("Stats.Bytes = %d, wrote %d", st.Bytes, b.Len())
	}
	return b.Bytes(), st
}

func countRules(b []byte) int {
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "-A ") {
			n++
		}
	}
	return n
}

var builtinTargets = map[string]bool{"ACCEPT": true, "DROP": true, "RETURN": true, "REJECT": true,
	"DNAT": true, "SNAT": true, "MASQUERADE": true, "MARK": true, "LOG": true}

// checkWellFormed checks the structure iptables-restore relies on: every
// table ends in COMMIT, every chain a rule is in or jumps to is declared in
// that table, every declared chain is declared once, and user chains are
// sorted as iptables-save sorts them.
func checkWellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	declared := map[string]bool{}
	var users []string
	inTable := false
	jump := regexp.MustCompile(` -[jg] (\S+)`)
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			if inTable {
				t.Fatalf("%s:%d: table without COMMIT", name, i+1)
			}
			inTable, declared, users = true, map[string]bool{}, nil
		case l == "COMMIT":
			inTable = false
		case strings.HasPrefix(l, ":"):
			f := strings.Fields(l[1:])
			if declared[f[0]] {
				t.Fatalf("%s:%d: chain %s declared twice", name, i+1, f[0])
			}
			declared[f[0]] = true
			if f[1] == "-" {
				if len(users) > 0 && users[len(users)-1] >= f[0] {
					t.Fatalf("%s:%d: user chain %s out of order", name, i+1, f[0])
				}
				users = append(users, f[0])
			}
		case strings.HasPrefix(l, "-A "):
			f := strings.Fields(l)
			if !declared[f[1]] {
				t.Fatalf("%s:%d: rule in undeclared chain %s", name, i+1, f[1])
			}
			if m := jump.FindStringSubmatch(l); m != nil && !builtinTargets[m[1]] && !declared[m[1]] {
				t.Fatalf("%s:%d: jump to undeclared chain %s", name, i+1, m[1])
			}
		default:
			t.Fatalf("%s:%d: unexpected line %q", name, i+1, l)
		}
	}
	if inTable {
		t.Fatalf("%s: last table without COMMIT", name)
	}
}

func TestKubeProxyDeterministic(t *testing.T) {
	a, _ := kube(t, KubeProxyOptions{Services: 300, Seed: 7})
	b, _ := kube(t, KubeProxyOptions{Services: 300, Seed: 7})
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	c, _ := kube(t, KubeProxyOptions{Services: 300, Seed: 8})
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
	var d bytes.Buffer
	if err := KubeProxy(&d, 300); err != nil {
		t.Fatal(err)
	}
	e, _ := kube(t, KubeProxyOptions{Services: 300, Seed: 1})
	if !bytes.Equal(d.Bytes(), e) {
		t.Fatal("KubeProxy is not WriteKubeProxy with seed 1")
	}
}

func TestKubeProxyShape(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		b, st := kube(t, KubeProxyOptions{Services: n, Seed: 1})
		checkWellFormed(t, "kubeproxy", b)
		if got := countRules(b); got != st.Rules {
			t.Fatalf("n=%d: Stats.Rules = %d, file has %d", n, st.Rules, got)
		}
		if n == 1000 {
			// about 8 rules a service, 150 bytes a rule: 10,000 services ≈ 80,000 rules ≈ 12 MB
			if st.Rules < 7500 || st.Rules > 8500 {
				t.Errorf("n=1000: %d rules, want about 8,000", st.Rules)
			}
			if st.Bytes < 1_100_000 || st.Bytes > 1_400_000 {
				t.Errorf("n=1000: %d bytes, want about 1.2 MB", st.Bytes)
			}
			for _, want := range []string{
				`-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-`,
				` -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-`,
				` -j DNAT --to-destination 10.244.`,
				"-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n",
				`-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
				"-A KUBE-NODEPORTS -p tcp -m comment --comment ",
				" has no endpoints\" -m tcp --dport ",
				"-A FORWARD -j DOCKER-USER\n",
			} {
				if !bytes.Contains(b, []byte(want)) {
					t.Errorf("n=1000: output lacks %q", want)
				}
			}
		}
	}
	b, _ := kube(t, KubeProxyOptions{Services: 10, Seed: 1, NoDocker: true})
	if bytes.Contains(b, []byte("DOCKER")) {
		t.Error("NoDocker output has Docker rules")
	}
	if _, err := WriteKubeProxy(&bytes.Buffer{}, KubeProxyOptions{Services: -1}); err == nil {
		t.Error("negative services: no error")
	}
}

func TestProbability(t *testing.T) {
	// values iptables-nft-save printed for kube-proxy's "%0.10f" of 1/n
	for n, want := range map[int]string{2: "0.50000000000", 3: "0.33333333349", 4: "0.25000000000", 6: "0.16666666651"} {
		if got := probability(n); got != want {
			t.Errorf("probability(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"ns/svc:port":  `"ns/svc:port"`,
		"KUBE-SEP_x1":  "KUBE-SEP_x1",
		"[UFW BLOCK] ": `"[UFW BLOCK] "`,
		`a"b\c'd`:      `"a\"b\\c\'d"`,
		"":             `""`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The Docker emitter must reproduce the dumps that were replayed from
// Docker's own commands and saved by iptables (testdata/seed, testdata/docker).
func TestDockerMatchesTestdata(t *testing.T) {
	twoBridges := func(v dockerVersion) *dockerHost {
		return &dockerHost{version: v,
			bridges: []dockerBridge{{"docker0", "172.17.0.0/16"}, {"br-app", "172.18.0.0/16"}},
			containers: []dockerContainer{
				{bridge: 0, ip: "172.17.0.2", ports: []dockerPort{{"tcp", 8080, 80}}},
				{bridge: 0, ip: "172.17.0.3"},
				{bridge: 1, ip: "172.18.0.2", ports: []dockerPort{{"tcp", 5432, 5432}}},
			}}
	}
	for _, tc := range []struct {
		file string
		host *dockerHost
	}{
		{"../../testdata/seed/docker-20.10.save", &dockerHost{version: docker2010,
			bridges: []dockerBridge{{"docker0", "172.17.0.0/16"}},
			containers: []dockerContainer{
				{bridge: 0, ip: "172.17.0.2", ports: []dockerPort{{"tcp", 8080, 8080}, {"tcp", 80, 80}}},
				{bridge: 0, ip: "172.17.0.3", ports: []dockerPort{{"tcp", 8000, 80}}},
			}}},
		{"../../testdata/docker/docker-20.10-two-bridges.save", twoBridges(docker2010)},
		{"../../testdata/docker/docker-28.save", twoBridges(docker28)},
	} {
		want, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		rs := newRuleset()
		tc.host.emit(rs)
		var got bytes.Buffer
		if _, err := rs.write(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: generated layout differs:\n--- got\n%s\n--- want\n%s", tc.file, got.Bytes(), want)
		}
	}
}

func TestFleet(t *testing.T) {
	dir := t.TempDir()
	hosts, err := FleetWithSeed(dir, 40, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 40 {
		t.Fatalf("%d hosts, want 40", len(hosts))
	}
	for _, h := range hosts {
		b, err := os.ReadFile(filepath.Join(dir, h.Name))
		if err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, h.Name, b)
		if got := countRules(b); got != h.Rules || h.Bytes != int64(len(b)) {
			t.Errorf("%s: Host says %d rules %d bytes, file has %d rules %d bytes", h.Name, h.Rules, h.Bytes, got, len(b))
		}
	}
	// determinism, and the spread of kinds and sizes over more hosts
	kinds := map[string]int{}
	minR, maxR := 1<<30, 0
	for i := 1; i <= 300; i++ {
		var a, b bytes.Buffer
		h, err := FleetHost(&a, 3, i)
		if err != nil {
			t.Fatal(err)
		}
		if i <= 40 {
			if _, err := FleetHost(&b, 3, i); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("host %d: not deterministic", i)
			}
			f, _ := os.ReadFile(filepath.Join(dir, hosts[i-1].Name))
			if !bytes.Equal(f, a.Bytes()) {
				t.Fatalf("host %d: FleetHost and FleetWithSeed differ", i)
			}
		}
		kinds[h.Kind]++
		minR, maxR = min(minR, h.Rules), max(maxR, h.Rules)
		if h.Rules < 20 || h.Rules > 2000 {
			t.Errorf("host %d (%s): %d rules, want 20-2000", i, h.Kind, h.Rules)
		}
	}
	for _, k := range []string{"docker-20.10", "docker-28", "ufw", "ufw-docker", "server", "seed"} {
		if kinds[k] == 0 {
			t.Errorf("no %s host among 300", k)
		}
	}
	if minR > 60 || maxR < 1000 {
		t.Errorf("sizes %d-%d: not spread over 20-2000", minR, maxR)
	}
	t.Logf("kinds %v, rules %d-%d", kinds, minR, maxR)
}
