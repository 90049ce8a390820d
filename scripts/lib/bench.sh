# shellcheck shell=bash
# Helpers shared by the bench-*.sh scripts. Source this file; it defines
# functions only and changes nothing until they are called.

# dfw_bench_need TOOL...: exits 2, naming the first TOOL not on PATH;
# installs Debian's "time" package when /usr/bin/time (GNU time, for peak
# RSS) is missing.
dfw_bench_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$0: $t not found" >&2; exit 2; }
	done
	if [ ! -x /usr/bin/time ]; then
		echo "$0: installing Debian's time package for /usr/bin/time" >&2
		apt-get install -y -qq time >/dev/null || { echo "$0: cannot install time" >&2; exit 2; }
	fi
}

# median: the median of the numbers on standard input, one a line ("nan"
# for none).
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# children_cpu FILE: the user + sys seconds of the shell's children in
# FILE, an output of bash's times.
children_cpu() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.6f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
