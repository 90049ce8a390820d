#!/usr/bin/env bash
# bench-parse.sh: whole-command comparison, on this machine, in one go, of
#   ip netns exec NS iptables-legacy-restore --test FILE
#   dfwlint parse FILE
# on kube-proxy rulesets at about 8,000 and 80,000 rules (dfwgen kubeproxy
# -n 1000 / -n 10000). Reports medians of wall time, of CPU time (user + sys)
# and of peak RSS, the ratios dfwlint/iptables (time, CPU time, RSS) and, per
# tool, time-per-rule at 80k divided by time-per-rule at 8k (1.0 = linear
# scaling). CPU time, RSS and wall time again are measured round by round
# (each command once per round, in turn), so that other work on a shared
# machine weighs on all commands alike: on such a machine, compare the
# CPU-time ratios and the wall-time ratio of the rounds.
#
# usage: scripts/bench-parse.sh [-r REPS] [-k]      (run from anywhere in the repo; root)
#   -r REPS  repetitions per measurement (default 5)
#   -k       keep the temporary directory (generated files, raw results)
#
# iptables-legacy-restore runs inside a throwaway network namespace created
# here (ip netns add) and deleted on exit; nothing outside it is touched.
# Wall time: hyperfine if installed (Debian package "hyperfine"), else a bash
# loop (also with DFW_BENCH_NO_HYPERFINE=1). CPU time: the shell's children
# times (bash's times builtin, from getrusage) around each run. Peak RSS: GNU
# time (/usr/bin/time; Debian package "time", installed here when missing). dfwlint is built from ./cmd/dfwlint with
# `go build -o` into the temporary directory; when it does not exist or does
# not build yet, only iptables is measured and the script says so.
set -euo pipefail

reps=5 keep=0
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
have_hyperfine=0
[ "${DFW_BENCH_NO_HYPERFINE:-}" = 1 ] || { command -v hyperfine >/dev/null && have_hyperfine=1; }

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
have_dfwlint=0
if [ -d cmd/dfwlint ] && go build -o "$tmp/dfwlint" ./cmd/dfwlint 2>"$tmp/dfwlint-build.log"; then
	if "$tmp/dfwlint" parse /dev/null >/dev/null 2>&1 || "$tmp/dfwlint" parse --help >/dev/null 2>&1; then
		have_dfwlint=1
	else
		echo "NOTE: dfwlint builds but has no working 'parse' command yet; measuring iptables only." >&2
	fi
else
	echo "NOTE: ./cmd/dfwlint does not exist or does not build yet; measuring iptables only." >&2
	[ -s "$tmp/dfwlint-build.log" ] && sed 's/^/  /' "$tmp/dfwlint-build.log" | head -5 >&2
fi

"$tmp/dfwgen" kubeproxy -n 1000 >"$tmp/k8.save" 2>/dev/null
"$tmp/dfwgen" kubeproxy -n 10000 >"$tmp/k80.save" 2>/dev/null


# measure NAME CMD...: sets T_<NAME> (median wall seconds)
measure() {
	local name=$1; shift
	local t
	"$@" >/dev/null 2>"$tmp/$name.err" || { echo "$0: '$*' failed:" >&2; head -5 "$tmp/$name.err" >&2; return 1; }
	if [ "$have_hyperfine" = 1 ]; then
		hyperfine -N --warmup 1 --runs "$reps" --export-json "$tmp/$name.json" "$(printf '%q ' "$@")" >/dev/null 2>&1 ||
			hyperfine --warmup 1 --runs "$reps" --export-json "$tmp/$name.json" "$(printf '%q ' "$@")" >/dev/null
		t=$(tr ',' '\n' <"$tmp/$name.json" | sed -n 's/.*"median": *\([0-9.e+-]*\).*/\1/p' | head -1)
	else
		local i s e
		: >"$tmp/$name.times"
		for ((i = 0; i < reps; i++)); do
			s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
			awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", (e - s) / 1e9 }' >>"$tmp/$name.times"
		done
		t=$(median <"$tmp/$name.times")
	fi
	printf -v "T_$name" '%s' "$t"
}


# rounds NAME...: REPS rounds, each running the command of every NAME (the
# array CMD_<NAME>) once, in turn; sets W_<NAME> (median wall seconds, under
# GNU time, whose own start weighs on every command alike), C_<NAME>
# (median CPU seconds) and M_<NAME> (median peak RSS, KiB).
rounds() {
	local r name a b s e
	for ((r = 0; r < reps; r++)); do
		for name in "$@"; do
			local -n cmd="CMD_$name"
			times >"$tmp/times0"
			s=$(date +%s%N)
			/usr/bin/time -f %M -o "$tmp/rss1" "${cmd[@]}" >/dev/null 2>&1
			e=$(date +%s%N)
			times >"$tmp/times1"
			awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", (e - s) / 1e9 }' >>"$tmp/$name.wall"
			a=$(children_cpu "$tmp/times0") b=$(children_cpu "$tmp/times1")
			awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", b - a }' >>"$tmp/$name.cpu"
			cat "$tmp/rss1" >>"$tmp/$name.rss"
			unset -n cmd
		done
	done
	for name in "$@"; do
		printf -v "W_$name" '%s' "$(median <"$tmp/$name.wall")"
		printf -v "C_$name" '%s' "$(median <"$tmp/$name.cpu")"
		printf -v "M_$name" '%s' "$(median <"$tmp/$name.rss")"
	done
}

names=()
for s in 8 80; do
	measure "ipt$s" ip netns exec "$NS" iptables-legacy-restore --test "$tmp/k$s.save"
	declare -a "CMD_ipt$s=(ip netns exec $NS iptables-legacy-restore --test $tmp/k$s.save)"
	names+=("ipt$s")
	if [ "$have_dfwlint" = 1 ]; then
		if measure "dfw$s" "$tmp/dfwlint" parse "$tmp/k$s.save"; then
			declare -a "CMD_dfw$s=($tmp/dfwlint parse $tmp/k$s.save)"
			names+=("dfw$s")
		else
			have_dfwlint=0
		fi
	fi
done
measure base ip netns exec "$NS" true
declare -a "CMD_base=(ip netns exec $NS true)"
rounds "${names[@]}" base

rules() { grep -c '^-A' "$1"; }
r8=$(rules "$tmp/k8.save") r80=$(rules "$tmp/k80.save")
b8=$(stat -c %s "$tmp/k8.save") b80=$(stat -c %s "$tmp/k80.save")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.3f", a / b }'; }
ms() { awk -v t="$1" 'BEGIN { printf "%.1f ms", t * 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

echo
echo "bench-parse: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $reps runs each, timer: $([ $have_hyperfine = 1 ] && echo hyperfine || echo 'bash loop'), $(iptables-legacy --version)"
echo "files: 8k = $r8 rules, $b8 bytes; 80k = $r80 rules, $b80 bytes (dfwgen kubeproxy -n 1000 / -n 10000)"
echo "baseline 'ip netns exec NS true': $(ms "$T_base") wall, $(ms "$C_base") CPU, $(mib "$M_base")"
printf '\n%-44s %10s %10s %10s %10s %10s %10s\n' "command" "wall 8k" "wall 80k" "CPU 8k" "CPU 80k" "RSS 8k" "RSS 80k"
row() { printf '%-44s %10s %10s %10s %10s %10s %10s\n' "$1" "$(ms "$2")" "$(ms "$3")" "$(ms "$4")" "$(ms "$5")" "$(mib "$6")" "$(mib "$7")"; }
row "iptables-legacy-restore --test (in netns)" "$T_ipt8" "$T_ipt80" "$C_ipt8" "$C_ipt80" "$M_ipt8" "$M_ipt80"
if [ "$have_dfwlint" = 1 ]; then
	row "dfwlint parse" "$T_dfw8" "$T_dfw80" "$C_dfw8" "$C_dfw80" "$M_dfw8" "$M_dfw80"
	echo
	echo "ratio dfwlint/iptables, wall:     8k $(ratio "$T_dfw8" "$T_ipt8")   80k $(ratio "$T_dfw80" "$T_ipt80")"
	echo "  the same, in the rounds:        8k $(ratio "$W_dfw8" "$W_ipt8")   80k $(ratio "$W_dfw80" "$W_ipt80")   (medians $(ms "$W_dfw80") and $(ms "$W_ipt80") at 80k)"
	echo "ratio dfwlint/iptables, CPU:      8k $(ratio "$C_dfw8" "$C_ipt8")   80k $(ratio "$C_dfw80" "$C_ipt80")"
	echo "ratio dfwlint/iptables, peak RSS: 8k $(ratio "$M_dfw8" "$M_ipt8")   80k $(ratio "$M_dfw80" "$M_ipt80")"
fi
scale() { awk -v t8="$1" -v t80="$2" -v r8="$r8" -v r80="$r80" 'BEGIN { printf "%.2f", (t80 / r80) / (t8 / r8) }'; }
echo "time-per-rule 80k / time-per-rule 8k (1.00 = linear), wall: iptables $(scale "$T_ipt8" "$T_ipt80")$([ "$have_dfwlint" = 1 ] && echo ", dfwlint $(scale "$T_dfw8" "$T_dfw80")")"
echo "                                                   CPU:  iptables $(scale "$C_ipt8" "$C_ipt80")$([ "$have_dfwlint" = 1 ] && echo ", dfwlint $(scale "$C_dfw8" "$C_dfw80")")"
[ "$have_dfwlint" = 1 ] || echo "dfwlint: not measured (see NOTE above)"
