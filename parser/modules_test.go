package parser

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// moduleSample is one rule that uses a match module or a target.
type moduleSample struct {
	name   string // module or target name as listed in modules.go
	target bool
	v6     bool
	table  string
	chain  string
	spec   string
	want   any // the Spec type the module builds
}

var moduleSamples = []moduleSample{
	{name: "tcp", spec: "-p tcp -m tcp --sport 1024:65535 --dport 22 --tcp-flags SYN,ACK SYN -j ACCEPT", want: &TCPMatch{}},
	{name: "udp", spec: "-p udp -m udp --sport 53 --dport 1024: -j ACCEPT", want: &UDPMatch{}},
	{name: "sctp", spec: "-p sctp -m sctp --dport 3868 --chunk-types any INIT -j ACCEPT", want: &SCTPMatch{}},
	{name: "dccp", spec: "-p dccp -m dccp --dport 5004 -j ACCEPT", want: &UDPMatch{}},
	{name: "multiport", spec: "-p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT", want: &MultiportMatch{}},
	{name: "icmp", spec: "-p icmp -m icmp --icmp-type 3/4 -j ACCEPT", want: &ICMPMatch{}},
	{name: "icmp6", v6: true, spec: "-p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT", want: &ICMPMatch{}},
	{name: "icmpv6", v6: true, spec: "-p ipv6-icmp -m icmpv6 --icmpv6-type 135 -j ACCEPT", want: &ICMPMatch{}},
	{name: "state", spec: "-m state --state RELATED,ESTABLISHED -j ACCEPT", want: &StateMatch{}},
	{name: "conntrack", spec: "-m conntrack --ctstate DNAT --ctorigdst 203.0.113.1 --ctorigdstport 8080 --ctproto tcp --ctdir ORIGINAL -j ACCEPT", want: &ConntrackMatch{}},
	{name: "addrtype", spec: "-m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT", want: &AddrtypeMatch{}},
	{name: "iprange", spec: "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.0-10.1.0.255 -j ACCEPT", want: &IPRangeMatch{}},
	{name: "mac", spec: "-m mac --mac-source 52:54:00:12:34:56 -j ACCEPT", want: &MACMatch{}},
	{name: "mark", spec: "-m mark --mark 0x4000/0x4000 -j ACCEPT", want: &MarkMatch{}},
	{name: "connmark", spec: "-m connmark ! --mark 0x1 -j ACCEPT", want: &MarkMatch{}},
	{name: "comment", spec: `-m comment --comment "allow \"ssh\"" -j ACCEPT`, want: &CommentMatch{}},
	{name: "physdev", chain: "FORWARD", spec: "-m physdev --physdev-in veth1 --physdev-out veth2 --physdev-is-bridged -j ACCEPT", want: &PhysdevMatch{}},
	{name: "set", spec: "-m set --match-set blocklist src,dst -j DROP", want: &SetMatch{}},
	{name: "pkttype", spec: "-m pkttype --pkt-type broadcast -j DROP", want: &PkttypeMatch{}},
	{name: "length", spec: "-m length --length 0:40 -j ACCEPT", want: &LengthMatch{}},
	{name: "ttl", spec: "-m ttl --ttl-lt 5 -j DROP", want: &TTLMatch{}},
	{name: "hl", v6: true, spec: "-m hl --hl-eq 255 -j ACCEPT", want: &TTLMatch{}},
	{name: "tos", spec: "-m tos --tos 0x10/0x3f -j ACCEPT", want: &TOSMatch{}},
	{name: "dscp", spec: "-m dscp --dscp-class EF -j ACCEPT", want: &TOSMatch{}},
	{name: "limit", spec: "-m limit --limit 5/min --limit-burst 10 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "hashlimit", spec: "-m hashlimit --hashlimit-upto 10/sec --hashlimit-mode srcip --hashlimit-name ssh -j ACCEPT", want: &OpaqueMatch{}},
	{name: "recent", spec: "-m recent --set --name ssh --rsource", want: &OpaqueMatch{}},
	{name: "statistic", spec: "-m statistic --mode random --probability 0.5 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "time", spec: "-m time --timestart 08:00 --timestop 18:00 --weekdays Mon,Tue -j ACCEPT", want: &OpaqueMatch{}},
	{name: "connlimit", spec: "-p tcp -m connlimit --connlimit-above 20 --connlimit-mask 32 -j REJECT", want: &OpaqueMatch{}},
	{name: "owner", chain: "OUTPUT", spec: "-m owner --uid-owner 1000 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "string", spec: `-m string --string "GET /" --algo bm -j DROP`, want: &OpaqueMatch{}},
	{name: "u32", spec: `-m u32 --u32 "0>>22&0x3C@12>>26&0x3F=0x10" -j DROP`, want: &OpaqueMatch{}},
	{name: "rt", v6: true, spec: "-m rt --rt-type 0 -j DROP", want: &OpaqueMatch{}},
	{name: "frag", v6: true, spec: "-m frag --fragmore -j DROP", want: &OpaqueMatch{}},
	{name: "hbh", v6: true, spec: "-m hbh --hbh-len 8 -j DROP", want: &OpaqueMatch{}},
	{name: "dst", v6: true, spec: "-m dst --dst-len 8 -j DROP", want: &OpaqueMatch{}},
	{name: "ipv6header", v6: true, spec: "-m ipv6header --header frag --soft -j DROP", want: &OpaqueMatch{}},
	{name: "policy", spec: "-m policy --dir in --pol ipsec -j ACCEPT", want: &OpaqueMatch{}},
	{name: "nfacct", spec: "-m nfacct --nfacct-name http -j ACCEPT", want: &OpaqueMatch{}},
	{name: "rpfilter", table: "raw", chain: "PREROUTING", spec: "-m rpfilter --invert -j DROP", want: &OpaqueMatch{}},
	{name: "tcpmss", spec: "-p tcp -m tcpmss --mss 1:500 -j DROP", want: &OpaqueMatch{}},
	{name: "quota", spec: "-m quota --quota 1000000 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "helper", spec: `-m helper --helper ftp -j ACCEPT`, want: &OpaqueMatch{}},
	{name: "realm", spec: "-m realm --realm 0x1 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "socket", table: "mangle", chain: "PREROUTING", spec: "-m socket --transparent -j ACCEPT", want: &OpaqueMatch{}},
	{name: "cgroup", chain: "OUTPUT", spec: "-m cgroup --path user.slice -j ACCEPT", want: &OpaqueMatch{}},
	{name: "devgroup", spec: "-m devgroup --src-group 0x2 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "ecn", spec: "-p tcp -m ecn --ecn-tcp-ece -j ACCEPT", want: &OpaqueMatch{}},
	{name: "esp", spec: "-p esp -m esp --espspi 500 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "ah", spec: "-p ah -m ah --ahspi 500 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "cpu", spec: "-m cpu --cpu 0 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "bpf", spec: `-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0" -j ACCEPT`, want: &OpaqueMatch{}},
	{name: "connbytes", spec: "-m connbytes --connbytes 10000: --connbytes-dir both --connbytes-mode bytes -j ACCEPT", want: &OpaqueMatch{}},
	{name: "connlabel", spec: "-m connlabel --label 1 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "ipvs", spec: "-m ipvs --ipvs --vdir ORIGINAL -j ACCEPT", want: &OpaqueMatch{}},
	{name: "mh", v6: true, spec: "-p mh -m mh --mh-type 1 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "osf", spec: "-m osf --genre Linux -j ACCEPT", want: &OpaqueMatch{}},
	{name: "rateest", spec: "-m rateest --rateest1 a --rateest-bps 1 --rateest-gt -j ACCEPT", want: &OpaqueMatch{}},
	{name: "cluster", spec: "-m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 0x10 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "ipcomp", spec: "-m ipcomp --ipcompspi 1 -j ACCEPT", want: &OpaqueMatch{}},
	{name: "condition", spec: "-m condition --condition up -j ACCEPT", want: &OpaqueMatch{}},

	{name: "REJECT", target: true, spec: "-p tcp -j REJECT --reject-with tcp-reset", want: &RejectTarget{}},
	{name: "DNAT", target: true, table: "nat", chain: "PREROUTING", spec: "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80", want: &NATTarget{}},
	{name: "SNAT", target: true, table: "nat", chain: "POSTROUTING", spec: "-o eth0 -j SNAT --to-source 203.0.113.1-203.0.113.5 --random", want: &NATTarget{}},
	{name: "MASQUERADE", target: true, table: "nat", chain: "POSTROUTING", spec: "-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE", want: &NATTarget{}},
	{name: "REDIRECT", target: true, table: "nat", chain: "PREROUTING", spec: "-p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3128", want: &NATTarget{}},
	{name: "NETMAP", target: true, table: "nat", chain: "PREROUTING", spec: "-d 10.0.0.0/24 -j NETMAP --to 192.168.0.0/24", want: &NATTarget{}},
	{name: "MARK", target: true, table: "mangle", chain: "PREROUTING", spec: "-j MARK --set-xmark 0x1/0xffffffff", want: &MarkTarget{}},
	{name: "CONNMARK", target: true, table: "mangle", chain: "PREROUTING", spec: "-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff", want: &MarkTarget{}},
	{name: "CT", target: true, table: "raw", chain: "PREROUTING", spec: "-p udp -m udp --dport 53 -j CT --notrack", want: &CTTarget{}},
	{name: "NOTRACK", target: true, table: "raw", chain: "OUTPUT", spec: "-j NOTRACK", want: &CTTarget{}},
	{name: "LOG", target: true, spec: `-j LOG --log-prefix "dropped: " --log-level 4`, want: &ContinueTarget{}},
	{name: "NFLOG", target: true, spec: "-j NFLOG --nflog-group 5 --nflog-prefix x", want: &ContinueTarget{}},
	{name: "ULOG", target: true, spec: "-j ULOG --ulog-nlgroup 1", want: &ContinueTarget{}},
	{name: "AUDIT", target: true, spec: "-j AUDIT --type drop", want: &ContinueTarget{}},
	{name: "TRACE", target: true, table: "raw", chain: "PREROUTING", spec: "-j TRACE", want: &ContinueTarget{}},
	{name: "NFQUEUE", target: true, spec: "-j NFQUEUE --queue-num 1 --queue-bypass", want: &NFQueueTarget{}},
	{name: "TCPMSS", target: true, chain: "FORWARD", spec: "-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu", want: &ContinueTarget{}},
	{name: "CHECKSUM", target: true, table: "mangle", chain: "POSTROUTING", spec: "-p udp -m udp --dport 68 -j CHECKSUM --checksum-fill", want: &ContinueTarget{}},
	{name: "CLASSIFY", target: true, table: "mangle", chain: "POSTROUTING", spec: "-j CLASSIFY --set-class 1:10", want: &ContinueTarget{}},
	{name: "TOS", target: true, table: "mangle", chain: "PREROUTING", spec: "-j TOS --set-tos 0x10/0x3f", want: &ContinueTarget{}},
	{name: "DSCP", target: true, table: "mangle", chain: "PREROUTING", spec: "-j DSCP --set-dscp 0x2e", want: &ContinueTarget{}},
	{name: "TTL", target: true, table: "mangle", chain: "PREROUTING", spec: "-j TTL --ttl-set 64", want: &ContinueTarget{}},
	{name: "HL", target: true, v6: true, table: "mangle", chain: "PREROUTING", spec: "-j HL --hl-set 64", want: &ContinueTarget{}},
	{name: "SET", target: true, spec: "-j SET --add-set seen src --exist", want: &ContinueTarget{}},
	{name: "TEE", target: true, table: "mangle", chain: "PREROUTING", spec: "-j TEE --gateway 10.0.0.9", want: &ContinueTarget{}},
	{name: "SECMARK", target: true, table: "mangle", chain: "INPUT", spec: "-j SECMARK --selctx system_u:object_r:ssh_packet_t:s0", want: &ContinueTarget{}},
	{name: "CONNSECMARK", target: true, table: "mangle", chain: "INPUT", spec: "-j CONNSECMARK --save", want: &ContinueTarget{}},
	{name: "IDLETIMER", target: true, spec: "-j IDLETIMER --timeout 60 --label idle", want: &ContinueTarget{}},
	{name: "LED", target: true, spec: "-j LED --led-trigger-id ssh", want: &ContinueTarget{}},
	{name: "RATEEST", target: true, table: "mangle", chain: "PREROUTING", spec: "-j RATEEST --rateest-name a --rateest-interval 250ms --rateest-ewmalog 0.5s", want: &ContinueTarget{}},
	{name: "TPROXY", target: true, table: "mangle", chain: "PREROUTING", spec: "-p tcp -m tcp --dport 80 -j TPROXY --on-port 3129 --tproxy-mark 0x1/0x1", want: &UnknownTarget{}},
	{name: "SYNPROXY", target: true, spec: "-p tcp -m tcp --dport 80 -j SYNPROXY --mss 1460 --wscale 7 --sack-perm --timestamp", want: &UnknownTarget{}},
}

// TestModules loads one rule per match module and target of modules.go:
// each loads without diagnostics, builds the expected typed spec, and its
// canonical text loads to the same text.
func TestModules(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range moduleSamples {
		key := s.name
		if s.target {
			key = "-j " + s.name
		}
		seen[key] = true
		t.Run(key, func(t *testing.T) {
			table, chain := s.table, s.chain
			if table == "" {
				table = "filter"
			}
			if chain == "" {
				chain = "INPUT"
			}
			fam := IPv4
			if s.v6 {
				fam = IPv6
			}
			src := fmt.Sprintf("*%s\n-A %s %s\nCOMMIT\n", table, chain, s.spec)
			l := loadOne("t.rules", []byte(src), Options{Family: fam})
			if len(l.Diags) > 0 {
				t.Fatalf("diagnostics for %q:\n%s", s.spec, l.Diags)
			}
			rules := l.Ruleset.Chain(table, chain).Rules
			if len(rules) != 1 {
				t.Fatalf("got %d rules, want 1", len(rules))
			}
			r := rules[0]
			var got any
			if s.target {
				if r.Target == nil || r.Target.Name != s.name {
					t.Fatalf("target %+v, want %s", r.Target, s.name)
				}
				got = r.Target.Spec
			} else {
				for _, m := range r.Matches {
					if m.Name == s.name {
						got = m.Spec
					}
				}
			}
			if reflect.TypeOf(got) != reflect.TypeOf(s.want) {
				t.Errorf("spec %T, want %T", got, s.want)
			}
			roundTrip(t, "t.rules", l.Ruleset)
		})
	}
	var missing []string
	for n := range matchModules {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	for n := range targetDefs {
		if !seen["-j "+n] {
			missing = append(missing, "-j "+n)
		}
	}
	sort.Strings(missing)
	if missing != nil {
		t.Errorf("modules.go lists modules without a sample here: %s", strings.Join(missing, ", "))
	}
}

// checkU32 reads --u32 as libxt_u32 does (the kernel snippets pin the
// same cases against iptables-restore).
func TestCheckU32(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"0>>22&0x3C@12>>26&0x3C@0=0x12345678", true},
		{" 6 & 0xFF = 1 && 0 & 0xFFFF = 100 : 200 ", true},
		{"0=1,2,3:4", true},
		{"6<<2=1", true},
		{"010=07", true},
		{"0@4@8@12@16@20@24@28@32@36=1", true},
		{"bogus", false},
		{"6&0xFF", false},
		{"6&0xFF=", false},
		{"6&&0xFF=1", false},
		{"6<0xFF=1", false},
		{"0x100000000=1", false},
		{"0=1:2:3", false},
		{"0=1&&", false},
		{"=1", false},
		{"0=1,,2", false},
		{"010=08", false},
		{"0=-1", false},
		{"0@4@8@12@16@20@24@28@32@36@40=1", false},
		{"0=1,2,3,4,5,6,7,8,9,10,11", false},
		{"0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1", false},
		{"", false},
	} {
		at, msg := checkU32(c.s)
		if (msg == "") != c.ok {
			t.Errorf("checkU32(%q) = %d, %q; want ok %v", c.s, at, msg, c.ok)
		}
	}
}

// TestNetmapTo: NETMAP's --to reads as libxt_NETMAP reads it, not as -s
// and -d do. The answers are what iptables-save 1.8.9 printed after
// iptables-restore loaded each (nft and legacy alike), or its refusal
// ("neither a valid network mask nor valid CIDR").
func TestNetmapTo(t *testing.T) {
	for _, tc := range []struct {
		fam      Family
		to, want string // want "" for refused
	}{
		{IPv4, "10.1.2.3/24", "10.1.2.0/24"},
		{IPv4, "10.1.2.3", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/0", "0.0.0.0/0"},
		{IPv4, "10.1.2.3/016", "10.0.0.0/14"},
		{IPv4, "10.1.2.3/0x10", "10.1.0.0/16"},
		{IPv4, "10.1.2.3/ 8", "10.0.0.0/8"},
		{IPv4, "10.1.2.3/33", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/100", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/4294967295", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/4294967040", "10.1.2.0/24"},
		{IPv4, "10.1.2.3/0xffffff00", "10.1.2.0/24"},
		{IPv4, "10.1.2.3/255", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/255.255", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/255.255.255", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/255.255.0.0", "10.1.0.0/16"},
		{IPv4, "10.1.2.3/255.255.255.254", "10.1.2.2/31"},
		{IPv4, "10.1.2.3/255.0.255.0", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/0.0.0.255", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/0.0.0.0", "0.0.0.0/0"},
		{IPv4, "10.1.2.3/0377.0.0.0", "10.0.0.0/8"},
		{IPv4, "10.1.2.3/010.0.0.0", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/1.2", "10.1.2.3/32"},
		{IPv4, "10.1.2.3/-1", ""},
		{IPv4, "10.1.2.3/x", ""},
		{IPv4, "10.1.2.3/08", ""},
		{IPv4, "10.1.2.3/8 ", ""},
		{IPv4, "10.1.2.3/", ""},
		{IPv4, "10.1.2.3/4294967296", ""},
		{IPv4, "10.1.2.3/1.2.3.4.5", ""},
		{IPv4, "10.1.2.3/255.255.255.0.", ""},
		{IPv6, "2001:db8:2::5/64", "2001:db8:2::/64"},
		{IPv6, "2001:db8:2::5/0x40", "2001:db8:2::/64"},
		{IPv6, "2001:db8:2::5/ffff:ffff::", "2001:db8::/32"},
		{IPv6, "2001:db8:2::5/ffff::ffff", "2001:db8:2::5/128"},
		{IPv6, "2001:db8:2::5/::", "::/0"},
		{IPv6, "2001:db8:2::5", "2001:db8:2::5/128"},
		{IPv6, "2001:db8:2::5/129", ""},
		{IPv6, "2001:db8:2::5/200", ""},
		{IPv6, "2001:db8:2::5/1.2.3.4", ""},
	} {
		p, err := parseNetmapTo(tc.to, tc.fam)
		got := ""
		if err == nil {
			got = p.String()
		}
		if got != tc.want {
			t.Errorf("--to %s (%s): %q (%v), want %q", tc.to, tc.fam, got, err, tc.want)
		}
	}
}
