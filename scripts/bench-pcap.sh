#!/usr/bin/env bash
# bench-pcap.sh: capture replay speed, on this machine, in one go.
#
# Generates a capture of 1,000,000 frames of mixed flows (Ethernet, pcap;
# sim/capture's generator, seed 1) in a temporary directory, then:
#   1. go test -bench 'BareDecode|Reader' ./sim/capture over that file
#      (packets/s of the bare pcapgo + DecodingLayerParser loop, and of
#      capture.Reader);
#   2. whole commands, REPS rounds, interleaved (each round runs every
#      command once, in turn, so a change in the machine's load hits them
#      alike): median wall time and CPU time (user + sys: the machine may
#      be shared, and CPU time is what one core spends), the least CPU
#      time (the least disturbed run), and the median over the rounds of
#      each round's own ratio to bare:
#        bare   pcaptool bare FILE   (the bare loop of the issue, as a command)
#        reader pcaptool read FILE   (capture.Reader, as a command)
#        seed   dfwsim --pcap FILE --in ens33 testdata/seed/docker-20.10.save testdata/seed/iptables.conf
#        kube   dfwsim --pcap FILE --in ens33 KUBE   (dfwgen kubeproxy -n 10000: 80,048 rules)
#      and prints the RATIO of each to bare (the issue's target: seed / bare
#      <= 5), and the kube / seed ratio per packet, the time to load each
#      ruleset (dfwsim on a 1-frame capture) taken off (target <= 5).
#
# usage: scripts/bench-pcap.sh [-r REPS] [-n FRAMES] [-k]   (run from anywhere in the repo)
#   -r REPS    rounds of whole-command runs (default 5)
#   -n FRAMES  frames in the capture (default 1000000)
#   -k         keep the temporary directory
set -euo pipefail

reps=5 frames=1000000 keep=0
while getopts "r:n:kh" o; do
	case $o in
	r) reps=$OPTARG ;;
	n) frames=$OPTARG ;;
	k) keep=1 ;;
	h) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "usage: $0 [-r REPS] [-n FRAMES] [-k]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v go >/dev/null || { echo "$0: go not found" >&2; exit 2; }

tmp=$(mktemp -d /tmp/dfw-bench-pcap.XXXXXX)
cleanup() { if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# A command is NAME and its arguments: CMD_<NAME> holds them.
# warm NAME: one run, to check it works (and warm the page cache).
warm() {
	local -n cmd=CMD_$1
	"${cmd[@]}" >/dev/null 2>&1 || { echo "$0: $1 failed: ${cmd[*]}" >&2; "${cmd[@]}" >/dev/null || true; return 1; }
}

# measure NAME...: REPS rounds, each running every NAME once in turn; sets
# T_<NAME> (wall) and C_<NAME> (user+sys CPU) to the medians, in seconds,
# M_<NAME> to the least CPU, and R_<NAME> to the median of the per-round
# CPU ratios to bare (bare must be among the names).
measure() {
	local name i t
	for name in "$@"; do
		warm "$name"
		: >"$tmp/$name.wall"
		: >"$tmp/$name.cpu"
	done
	for ((i = 0; i < reps; i++)); do
		for name in "$@"; do
			local -n cmd=CMD_$name
			t=$( { TIMEFORMAT='%R %U %S'; time "${cmd[@]}" >/dev/null 2>&1; } 2>&1 )
			echo "$t" | awk '{ print $1 }' >>"$tmp/$name.wall"
			echo "$t" | awk '{ print $2 + $3 }' >>"$tmp/$name.cpu"
		done
	done
	for name in "$@"; do
		printf -v "T_$name" '%s' "$(median <"$tmp/$name.wall")"
		printf -v "C_$name" '%s' "$(median <"$tmp/$name.cpu")"
		printf -v "M_$name" '%s' "$(sort -g "$tmp/$name.cpu" | head -1)"
		printf -v "R_$name" '%s' "$(paste "$tmp/$name.cpu" "$tmp/bare.cpu" | awk '{ print $1 / $2 }' | median)"
	done
}

# row NAME: one line of the table, with the ratios to bare.
row() {
	local t c m r
	t=T_$1 c=C_$1 m=M_$1 r=R_$1
	printf '%-8s %8.3f s wall %8.3f s cpu (min %.3f)  %10.0f packets/s (cpu)  RATIO wall %5.2f  cpu %5.2f  min cpu %5.2f  per-round cpu %5.2f\n' "$1" "${!t}" "${!c}" "${!m}" \
		"$(echo "$frames / ${!c}" | bc -l)" "$(echo "${!t} / $T_bare" | bc -l)" "$(echo "${!c} / $C_bare" | bc -l)" "$(echo "${!m} / $M_bare" | bc -l)" "${!r}"
}

go build -o "$tmp/pcaptool" ./sim/capture/internal/pcaptool
cap=$tmp/mixed-1m.pcap
"$tmp/pcaptool" gen -n "$frames" -seed 1 -o "$cap"

echo "bench-pcap: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(go env GOVERSION), capture $frames frames, $(du -h "$cap" | cut -f1)"
echo
echo "== go test -bench (one op = one pass over the capture)"
DFW_BENCH_PCAP=$cap go test -run '^$' -bench 'BareDecode|Reader' -benchtime 3x ./sim/capture |
	grep -E '^Benchmark' | awk '{ printf "%-24s %s\n", $1, substr($0, index($0, $2)) }'

echo
CMD_bare=("$tmp/pcaptool" bare "$cap")
CMD_reader=("$tmp/pcaptool" read "$cap")
names=(bare reader)

have_dfwsim=0
if go build -o "$tmp/dfwsim" ./cmd/dfwsim 2>"$tmp/dfwsim-build.log" && "$tmp/dfwsim" --help 2>&1 | grep -q -- '--pcap'; then
	have_dfwsim=1
fi
if [ "$have_dfwsim" = 1 ]; then
	seed=(testdata/seed/docker-20.10.save testdata/seed/iptables.conf)
	go run ./cmd/dfwgen kubeproxy -n 10000 >"$tmp/kube.save" 2>/dev/null
	"$tmp/pcaptool" gen -n 1 -seed 1 -o "$tmp/one.pcap"
	CMD_seed=("$tmp/dfwsim" -q --pcap "$cap" --in ens33 "${seed[@]}")
	CMD_kube=("$tmp/dfwsim" -q --pcap "$cap" --in ens33 "$tmp/kube.save")
	CMD_seedload=("$tmp/dfwsim" -q --pcap "$tmp/one.pcap" --in ens33 "${seed[@]}")
	CMD_kubeload=("$tmp/dfwsim" -q --pcap "$tmp/one.pcap" --in ens33 "$tmp/kube.save")
	names+=(seed kube seedload kubeload)
fi

echo
echo "== whole commands, $reps interleaved rounds (medians)"
measure "${names[@]}"
row bare
row reader
if [ "$have_dfwsim" = 1 ]; then
	row seed
	row kube
	printf 'load (1-frame capture): seed %.3f s cpu, kube %.3f s cpu\n' "$C_seedload" "$C_kubeload"
	printf 'seed / bare:            RATIO wall %.2f  cpu %.2f  min cpu %.2f  per-round cpu %.2f (target <= 5)\n' "$(echo "$T_seed / $T_bare" | bc -l)" "$(echo "$C_seed / $C_bare" | bc -l)" "$(echo "$M_seed / $M_bare" | bc -l)" "$R_seed"
	printf 'kube / seed per packet: RATIO wall %.2f  cpu %.2f (load taken off; target <= 5)\n' \
		"$(echo "($T_kube - $T_kubeload) / ($T_seed - $T_seedload)" | bc -l)" "$(echo "($C_kube - $C_kubeload) / ($C_seed - $C_seedload)" | bc -l)"
else
	echo "dfwsim   --pcap is not wired into cmd/dfwsim: no RATIO for dfwsim"
fi
