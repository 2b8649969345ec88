#!/bin/sh
# Benchmarks (b) and (d) of bench/README.md: the cost of a syscall sysbroker does not
# intercept, against the same loop under a one-instruction allow-all filter and natively;
# and the supervisor's resident memory over a long run of emulated opens.
# Usage: bench/floor.sh BUILD-DIR   Writes its section of bench/results.md.
# Environment: N (getppid calls per run, 2000000), REPS (5), OPENS (opens for the RSS run,
#              1000000), CC (cc), RESULTS (bench/results.md).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
bench_build "${1:-build}"
N=${N:-2000000}
REPS=${REPS:-5}
OPENS=${OPENS:-1000000}
CC=${CC:-cc}
RESULTS=${RESULTS:-$here/results.md}
[ -x "$sb" ] || { echo "floor: $sb not found (build first)" >&2; exit 2; }
out=$build/bench
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-floor.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
for prog in getppid-loop allow-all openat-loop; do
	$CC -O2 -Wall -Wextra -o "$out/$prog" "$here/$prog.c" || exit 1
done

# (b) Interleaved runs: native, allow-all filter, sysbroker run (getppid is not notified).
configs="native|$out/getppid-loop
allow-all|$out/allow-all $out/getppid-loop
sysbroker|$sb run -- $out/getppid-loop"
rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "$configs" | while IFS='|' read -r name cmd; do
		# shellcheck disable=SC2086
		v=$($cmd "$N") || { echo "floor: $name failed" >&2; exit 1; }
		echo "$v" >>"$tmp/$name"
		printf '  run %d/%d %-10s %8s ns/call\n' "$rep" "$REPS" "$name" "$v" >&2
	done
	rep=$((rep + 1))
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
m_nat=$(median "$tmp/native")
m_all=$(median "$tmp/allow-all")
m_sb=$(median "$tmp/sysbroker")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

# (d) The supervisor's RSS: sampled every 0.2 s while the program makes OPENS emulated opens.
"$sb" run -- "$out/openat-loop" "$OPENS" /etc/hostname >/dev/null &
spid=$!
: >"$tmp/rss"
while kill -0 "$spid" 2>/dev/null; do
	awk '/^VmRSS:/ {print $2}' "/proc/$spid/status" 2>/dev/null >>"$tmp/rss"
	sleep 0.2
done
wait "$spid" || { echo "floor: the RSS run failed" >&2; exit 1; }
rss_first=$(sed -n 2p "$tmp/rss")
rss_last=$(tail -n 1 "$tmp/rss")
rss_max=$(sort -n "$tmp/rss" | tail -n 1)
samples=$(wc -l <"$tmp/rss")

section=$(cat <<MD
<!-- floor.sh begin -->
## Syscalls sysbroker does not intercept, and the supervisor's memory (bench/floor.sh)

$(bench_machine), load before: $(bench_load).
Method: \`getppid-loop $N\` ($N raw getppid calls, ns per call), $REPS interleaved runs of
each configuration, median shown. \`allow-all\` installs a one-instruction
\`SECCOMP_RET_ALLOW\` filter and execs the loop: the floor any seccomp-based tool pays.
Under \`sysbroker run\` getppid is not notified, so only sysbroker's BPF program runs.

| configuration | ns per getppid | × native | × allow-all |
|---|---|---|---|
| native | $m_nat | 1.000 | $(ratio "$m_nat" "$m_all") |
| allow-all filter | $m_all | $(ratio "$m_all" "$m_nat") | 1.000 |
| \`sysbroker run --\` | $m_sb | $(ratio "$m_sb" "$m_nat") | **$(ratio "$m_sb" "$m_all")** (goal ≤ 1.05) |

Supervisor memory: VmRSS of the \`sysbroker run\` process sampled every 0.2 s while the
program makes $OPENS emulated opens ($samples samples): first $rss_first kB, last
$rss_last kB, peak $rss_max kB.
<!-- floor.sh end -->
MD
)
printf '%s\n' "$section" >"$tmp/section"
bench_section floor.sh "$tmp/section"
