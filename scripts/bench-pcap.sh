#!/usr/bin/env bash
# bench-pcap.sh: capture replay speed, on this machine, in one go.
#
# Generates a capture of 1,000,000 frames of mixed flows (Ethernet, pcap;
# sim/capture's generator, seed 1) in a temporary directory, then:
#   1. go test -bench 'BareDecode|Reader' ./sim/capture over that file
#      (packets/s of the bare pcapgo + DecodingLayerParser loop, and of
#      capture.Reader);
#   2. whole commands, wall time, median of REPS runs:
#        bare   pcaptool bare FILE   (the bare loop of the issue, as a command)
#        reader pcaptool read FILE   (capture.Reader, as a command)
#        dfwsim dfwsim --pcap FILE testdata/docker/docker-20.10.save
#      and prints the RATIO of each to bare. The issue's target is
#      dfwsim / bare <= 5.
# dfwsim is measured only when `dfwsim --help` lists --pcap; otherwise the
# script says it is not wired yet.
#
# usage: scripts/bench-pcap.sh [-r REPS] [-n FRAMES] [-k]   (run from anywhere in the repo)
#   -r REPS    runs per whole-command measurement (default 5)
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

# measure NAME CMD...: sets T_<NAME> to the median wall time in seconds.
measure() {
	local name=$1 i s e
	shift
	"$@" >/dev/null 2>&1 || { echo "$0: $name failed: $*" >&2; "$@" >/dev/null || true; return 1; }
	: >"$tmp/$name.times"
	for ((i = 0; i < reps; i++)); do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		echo "$e - $s" | bc -l >>"$tmp/$name.times"
	done
	printf -v "T_$name" '%s' "$(median <"$tmp/$name.times")"
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
echo "== whole commands, median wall time of $reps runs"
measure bare "$tmp/pcaptool" bare "$cap"
measure reader "$tmp/pcaptool" read "$cap"
printf '%-8s %8.3f s  %10.0f packets/s\n' bare "$T_bare" "$(echo "$frames / $T_bare" | bc -l)"
printf '%-8s %8.3f s  %10.0f packets/s  RATIO %.2f\n' reader "$T_reader" "$(echo "$frames / $T_reader" | bc -l)" "$(echo "$T_reader / $T_bare" | bc -l)"

have_dfwsim=0
if go build -o "$tmp/dfwsim" ./cmd/dfwsim 2>"$tmp/dfwsim-build.log" && "$tmp/dfwsim" --help 2>&1 | grep -q -- '--pcap'; then
	have_dfwsim=1
fi
if [ "$have_dfwsim" = 1 ]; then
	rules=testdata/docker/docker-20.10.save
	if measure dfwsim "$tmp/dfwsim" --pcap "$cap" --in ens33 "$rules"; then
		printf '%-8s %8.3f s  %10.0f packets/s  RATIO %.2f (target <= 5)\n' dfwsim "$T_dfwsim" "$(echo "$frames / $T_dfwsim" | bc -l)" "$(echo "$T_dfwsim / $T_bare" | bc -l)"
	fi
else
	echo "dfwsim   --pcap is not wired into cmd/dfwsim yet: no RATIO for dfwsim"
fi
