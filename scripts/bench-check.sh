#!/usr/bin/env bash
# bench-check.sh: dfwlint check and the exact analyses against
# iptables-legacy-restore --test, on this machine, in one go.
#
# On the kube-proxy ruleset of about 80,000 rules (dfwgen kubeproxy -n
# 10000), REPS rounds, each running in turn:
#   ipt     ip netns exec NS iptables-legacy-restore --test FILE
#   check   dfwlint check FILE
#   facts   the analyses dfwlint check runs (reachability with redundancy
#           beside exposure with established: lint/analysis's
#           BenchmarkBigFacts, one run; its own wall and CPU time of the
#           analyses, the parse and the process start left out)
# and prints, per command, the medians of wall time, CPU time (user + sys)
# and peak RSS, and the ratios to iptables (issue targets: check 5× time
# and 6× memory; analyses 3× time).
#
# usage: scripts/bench-check.sh [-r REPS] [-k]     (root: network namespace)
#   -r REPS  rounds (default 3)
#   -k       keep the temporary directory
#
# iptables-legacy-restore runs inside a throwaway network namespace created
# here and deleted on exit; nothing outside it is touched. Peak RSS: GNU
# time (Debian package "time", installed when missing).
set -euo pipefail

reps=3 keep=0
while getopts "r:kh" o; do
	case $o in
	r) reps=$OPTARG ;;
	k) keep=1 ;;
	h) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "usage: $0 [-r REPS] [-k]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/netns.sh"
. "$root/scripts/lib/bench.sh"

[ "$(id -u)" = 0 ] || { echo "$0: needs root (network namespace)" >&2; exit 2; }
dfw_bench_need ip iptables-legacy-restore go

tmp=$(mktemp -d /tmp/dfw-bench.XXXXXX)
cleanup() {
	dfw_netns_cleanup
	if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
dfw_netns_create NS dfwbench
# After dfw_netns_create, which sets its own traps: cleanup deletes the
# namespace and the temporary directory.
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

cd "$root"
go build -o "$tmp/dfwgen" ./cmd/dfwgen
go build -o "$tmp/dfwlint" ./cmd/dfwlint
go test -c -o "$tmp/analysis.test" ./lint/analysis
"$tmp/dfwgen" kubeproxy -n 10000 >"$tmp/k80.save" 2>/dev/null


# run NAME CMD...: one run of CMD; appends its wall and CPU seconds and
# peak RSS (KiB) to NAME's files. Exit status 1 (findings) is success.
run() {
	local name=$1; shift
	local s e a b rc=0
	times >"$tmp/times0"
	s=$(date +%s%N)
	/usr/bin/time -f %M -o "$tmp/rss1" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	e=$(date +%s%N)
	times >"$tmp/times1"
	if [ "$rc" -gt 1 ]; then
		echo "$0: '$*' failed ($rc):" >&2; head -5 "$tmp/$name.err" >&2; exit 1
	fi
	a=$(children_cpu "$tmp/times0") b=$(children_cpu "$tmp/times1")
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", (e - s) / 1e9 }' >>"$tmp/$name.wall"
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", b - a }' >>"$tmp/$name.cpu"
	tail -1 "$tmp/rss1" >>"$tmp/$name.rss"
}

for ((r = 0; r < reps; r++)); do
	run ipt ip netns exec "$NS" iptables-legacy-restore --test "$tmp/k80.save"
	run check "$tmp/dfwlint" check "$tmp/k80.save"
	(cd lint/analysis && DFW_BIG_RULESET="$tmp/k80.save" "$tmp/analysis.test" \
		-test.run '^$' -test.bench '^BenchmarkBigFacts$' -test.benchtime 1x) >"$tmp/facts.out"
	awk '/^BenchmarkBigFacts/ { for (i = 1; i < NF; i++) { if ($(i+1) == "ns/op") w = $i; if ($(i+1) == "cpu-ns/op") c = $i }
		printf "%.6f\n", w / 1e9 >> "'"$tmp"'/facts.wall"; printf "%.6f\n", c / 1e9 >> "'"$tmp"'/facts.cpu" }' "$tmp/facts.out"
	grep -q '^BenchmarkBigFacts' "$tmp/facts.out" || { echo "$0: BenchmarkBigFacts did not run:" >&2; cat "$tmp/facts.out" >&2; exit 1; }
done

m() { median <"$tmp/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a / b }'; }
sec() { awk -v t="$1" 'BEGIN { printf "%.2f s", t }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }

echo
echo "bench-check: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $reps rounds, $(iptables-legacy --version)"
echo "file: $(grep -c '^-A' "$tmp/k80.save") rules, $(stat -c %s "$tmp/k80.save") bytes (dfwgen kubeproxy -n 10000)"
printf '\n%-42s %10s %10s %10s\n' command wall CPU "peak RSS"
printf '%-42s %10s %10s %10s\n' "iptables-legacy-restore --test (in netns)" "$(sec "$(m ipt.wall)")" "$(sec "$(m ipt.cpu)")" "$(mib "$(m ipt.rss)")"
printf '%-42s %10s %10s %10s\n' "dfwlint check" "$(sec "$(m check.wall)")" "$(sec "$(m check.cpu)")" "$(mib "$(m check.rss)")"
printf '%-42s %10s %10s %10s\n' "the analyses (BenchmarkBigFacts)" "$(sec "$(m facts.wall)")" "$(sec "$(m facts.cpu)")" ""
echo
echo "dfwlint check / iptables:   wall $(ratio "$(m check.wall)" "$(m ipt.wall)")   CPU $(ratio "$(m check.cpu)" "$(m ipt.cpu)")   peak RSS $(ratio "$(m check.rss)" "$(m ipt.rss)")"
echo "analyses / iptables:        wall $(ratio "$(m facts.wall)" "$(m ipt.wall)")   CPU $(ratio "$(m facts.cpu)" "$(m ipt.cpu)")"
