#!/usr/bin/env bash
# bench-fleet.sh: dfwlint check over a fleet of generated hosts (dfwgen
# fleet), on this machine, in one go:
#   wall  -j 2 / -j 1 over N hosts          (target: at most 0.7 on two cores)
#   RSS   N hosts / N/10 hosts, at -j 2     (target: at most 1.10)
# and checks that the output is the same byte for byte at -j 1 and -j 2.
# Reports each run, then the medians and their ratios. The machine may be
# shared and noisy: read the ratios, repeat (-r).
#
# usage: scripts/bench-fleet.sh [-n HOSTS] [-r REPS] [-k]   (from anywhere in the repo)
#   -n HOSTS  fleet size (default 2000; the small fleet is HOSTS/10)
#   -r REPS   repetitions per measurement (default 3)
#   -k        keep the temporary directory (generated hosts, outputs)
#
# Peak RSS and wall time: GNU time (/usr/bin/time -v; Debian package
# "time"). dfwlint and dfwgen are built from ./cmd into the temporary
# directory. Nothing outside the temporary directory is written.
set -euo pipefail

n=2000 reps=3 keep=0
while getopts "n:r:kh" o; do
	case $o in
	n) n=$OPTARG ;;
	r) reps=$OPTARG ;;
	k) keep=1 ;;
	h) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "usage: $0 [-n HOSTS] [-r REPS] [-k]" >&2; exit 2 ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || { echo "$0: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
command -v go >/dev/null || { echo "$0: go not found" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-fleet.XXXXXX")
if [ "$keep" = 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

(cd "$root" && go build -o "$tmp/dfwlint" ./cmd/dfwlint && go build -o "$tmp/dfwgen" ./cmd/dfwgen)
"$tmp/dfwgen" fleet -n "$n" "$tmp/hosts" >/dev/null
small=$((n / 10))
ls "$tmp/hosts"/*.save | sort >"$tmp/all.txt"
head -n "$small" "$tmp/all.txt" >"$tmp/small.txt"
echo "$(nproc) CPUs; $n hosts, $(cat "$tmp/hosts"/*.save | grep -c '^-A') rules; small fleet $small hosts"

# run LABEL LIST JOBS: one timed run; prints "wall_s rss_kb".
run() {
	local label=$1 list=$2 jobs=$3
	/usr/bin/time -f '%e %M' -o "$tmp/time.$label" \
		"$tmp/dfwlint" check -j "$jobs" --format json $(cat "$list") >"$tmp/out.$label.json" || true
	read -r wall rss < <(tail -n 1 "$tmp/time.$label") # GNU time may write "Command exited with non-zero status" first
	echo "$wall $rss"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$tmp/j1.wall" ; : >"$tmp/j2.wall" ; : >"$tmp/big.rss" ; : >"$tmp/small.rss"
for r in $(seq 1 "$reps"); do
	read -r w1 m1 < <(run "j1-$r" "$tmp/all.txt" 1)
	read -r w2 m2 < <(run "j2-$r" "$tmp/all.txt" 2)
	read -r ws ms < <(run "small-$r" "$tmp/small.txt" 2)
	echo "run $r: $n hosts -j 1 ${w1}s ${m1} KB; -j 2 ${w2}s ${m2} KB; $small hosts -j 2 ${ws}s ${ms} KB"
	echo "$w1" >>"$tmp/j1.wall"; echo "$w2" >>"$tmp/j2.wall"
	echo "$m2" >>"$tmp/big.rss"; echo "$ms" >>"$tmp/small.rss"
	if ! cmp -s "$tmp/out.j1-$r.json" "$tmp/out.j2-$r.json"; then
		echo "run $r: the output at -j 1 and -j 2 differs (a time budget cut short on a loaded machine?)"
	fi
done
w1=$(median <"$tmp/j1.wall") w2=$(median <"$tmp/j2.wall")
mb=$(median <"$tmp/big.rss") ms=$(median <"$tmp/small.rss")
awk -v w1="$w1" -v w2="$w2" -v mb="$mb" -v ms="$ms" -v n="$n" -v s="$small" 'BEGIN {
	printf "median wall: -j 1 %.1fs, -j 2 %.1fs; ratio -j2/-j1 %.2f (target <= 0.70)\n", w1, w2, w2 / w1
	printf "median peak RSS at -j 2: %d hosts %d KB, %d hosts %d KB; ratio %.2f (target <= 1.10)\n", n, mb, s, ms, mb / ms
}'
