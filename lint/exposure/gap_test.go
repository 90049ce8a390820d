package exposure

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/sim/symbolic"
)

func gapRows(t *testing.T, a, b string) []string {
	t.Helper()
	rs, peer := load(t, a), load(t, b)
	rows, inc, err := FamilyGap(context.Background(), rs, peer, []string{b}, facts.Host{Source: "inferred"}, symbolic.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatal(err, inc)
	}
	var out []string
	for _, r := range rows {
		dec := "-"
		if r.PeerDecidedBy != nil {
			dec = fmt.Sprintf("%s:%d %s", r.PeerDecidedBy.File, r.PeerDecidedBy.Line, r.PeerDecidedBy.Chain)
			if r.PeerPolicy {
				dec += " policy"
			}
		}
		out = append(out, fmt.Sprintf("%s %s %s %s open=%s %v peer=%s by %s:%d; peer decided by %s",
			r.Interface, r.Kind, r.Proto, r.PortsText, r.Open, r.Sources, r.PeerOpen, r.AcceptedBy.File, r.AcceptedBy.Line, dec))
	}
	return out
}

// The IPv6 file forgot the office-only source of postgres and opens 8080,
// which IPv4 keeps closed.
func TestFamilyGap(t *testing.T) {
	v4, v6 := "../../testdata/dualstack/rules.v4", "../../testdata/dualstack/rules.v6"
	got := strings.Join(gapRows(t, v6, v4), "\n")
	want := strings.Join([]string{
		"(unnamed) host tcp 5432 open=all [any] peer=some by ../../testdata/dualstack/rules.v6:10; peer decided by ../../testdata/dualstack/rules.v4:3 INPUT policy",
		"(unnamed) host tcp 8080 open=all [any] peer=none by ../../testdata/dualstack/rules.v6:11; peer decided by ../../testdata/dualstack/rules.v4:3 INPUT policy",
	}, "\n")
	if got != want {
		t.Errorf("IPv6 against IPv4:\n%s\nwant\n%s", got, want)
	}
	if got := gapRows(t, v4, v6); len(got) != 0 {
		t.Errorf("IPv4 against IPv6: want no gap, got\n%s", strings.Join(got, "\n"))
	}
}

// An IPv6 ruleset is analysed as one: its uplinks get an IPv6 address and
// a default route in the host model, so new connections from outside
// reach the host.
func TestExposureIPv6(t *testing.T) {
	rs := load(t, "../../testdata/dualstack/rules.v6")
	ex, _, inc, err := Exposure(context.Background(), rs, facts.Host{Source: "inferred"}, symbolic.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatal(err, inc)
	}
	var ports []string
	for _, e := range ex {
		if e.Kind == "host" && e.Proto == "tcp" {
			ports = append(ports, fmt.Sprint(e.Ports))
		}
	}
	if got, want := strings.Join(ports, " "), "[[22 22]] [[80 80] [443 443]] [[5432 5432]] [[8080 8080]]"; got != want {
		t.Errorf("tcp ports open to the host: %s, want %s\n%+v", got, want, ex)
	}
}

// Docker's rules on both families (IPv6 in its default NAT mode): the
// same ports published, no gap. Against the host rules.v6, which opens
// 80 and 8080 to the host itself, the ports a container serves over IPv4
// (8080 published, 80 routed) are open on both families: where a
// connection ends does not matter to the outside.
func TestFamilyGapDocker(t *testing.T) {
	dv4, dv6, hv6 := "../../testdata/dualstack/docker.v4", "../../testdata/dualstack/docker.v6", "../../testdata/dualstack/rules.v6"
	for _, pair := range [][2]string{{dv4, dv6}, {dv6, dv4}, {dv4, hv6}} {
		if got := gapRows(t, pair[0], pair[1]); len(got) != 0 {
			t.Errorf("%s against %s: want no gap, got\n%s", pair[0], pair[1], strings.Join(got, "\n"))
		}
	}
	var ports []string
	for _, r := range gapRows(t, hv6, dv4) {
		ports = append(ports, strings.Fields(r)[3])
	}
	if got := strings.Join(ports, " "); got != "22 443 5432" {
		t.Errorf("rules.v6 against docker.v4: gaps at tcp %s, want 22 443 5432", got)
	}
}

// Docker 28 on both families, the user's rules applied on top: IPv4's
// DOCKER-USER drops the published 8080 on eth0, IPv6's lets it through.
// The IPv4 rule that closes it is the user's DROP, not Docker's raw rule
// against packets sent straight to the container's address (which drops
// other connections to port 8080).
func TestFamilyGapDockerUser(t *testing.T) {
	const dir = "../../testdata/dualstack/"
	v4 := load(t, dir+"docker28.v4", dir+"docker-user.v4")
	v6 := load(t, dir+"docker28.v6", dir+"docker-user.v6")
	rows, inc, err := FamilyGap(context.Background(), v6, v4, []string{"docker-user.v4"}, facts.Host{Source: "inferred"}, symbolic.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatal(err, inc)
	}
	var got []string
	for _, r := range rows {
		dec := "-"
		if d := r.PeerDecidedBy; d != nil {
			dec = fmt.Sprintf("%s:%d %s/%s", d.File, d.Line, d.Table, d.Chain)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s open=%s peer=%s by %s:%d; peer decided by %s",
			r.Interface, r.Kind, r.Proto, r.PortsText, r.Open, r.PeerOpen, r.AcceptedBy.File, r.AcceptedBy.Line, dec))
	}
	want := "eth0 container tcp 8080 open=all peer=none by " + dir + "docker28.v6:20; peer decided by " + dir + "docker-user.v4:9 filter/DOCKER-USER"
	if strings.Join(got, "\n") != want {
		t.Errorf("IPv6 against IPv4:\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}
