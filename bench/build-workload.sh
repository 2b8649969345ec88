#!/bin/sh
# A real workload timed three ways in one run, appended to bench/results.md: a build of a
# generated multi-file C project (make -j), natively, under `sysbroker run` with a realistic
# policy, and under proot (Debian's, ptrace based) with a comparable bind.
#
# Usage: bench/build-workload.sh [BUILD-DIR]   (bench/run.sh calls it after its own table)
# Environment: NFILES (40 C files), JOBS (make -j, 2), REPS (runs per configuration, 5),
#              RESULTS (bench/results.md: its section is replaced, or appended), CC (cc)
#
# Method (also written into results.md):
#  - The project: NFILES small .c files, each including stdio.h, stdlib.h, string.h and the
#    project's header and defining one function, a main.c calling them all, a Makefile.
#    One build = `make clean` (not timed) then `make -j JOBS`, timed: wall clock, and CPU
#    time (user + system) of the whole tree, the supervisor or tracer included.
#  - Configurations, interleaved REPS times (one build of each per round):
#      native:    make
#      sysbroker: sysbroker run --default deny --allow-read /usr --allow-read /lib
#                 --allow-read /etc --allow-read /bin --allow WORK --allow /dev/null -- make
#      proot:     proot -b WORK make   (proot's cost is the same whatever it binds)
#  - Every build's program is run and must print the same line as the native one.
#  - The table shows the median and the spread; the goal (SPEC issue 3) is sysbroker at least
#    3x faster than proot on the same build.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
bench_build "${1:-build}"
NFILES=${NFILES:-40}
JOBS=${JOBS:-2}
REPS=${REPS:-5}
CC=${CC:-cc}
RESULTS=${RESULTS:-$here/results.md}

if [ ! -x "$sb" ]; then
	echo "build-workload: $sb not found (build first: make build)" >&2
	exit 2
fi
for tool in make "$CC"; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build-workload: $tool is needed" >&2
		exit 2
	}
done
if ! command -v proot >/dev/null 2>&1; then
	# proot is a benchmark-only dependency (scripts/install-deps.sh bench).
	"$here/../scripts/install-deps.sh" bench >&2 || true
fi
have_proot=yes
command -v proot >/dev/null 2>&1 || have_proot=no

work=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-build.XXXXXX") || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-build-times.XXXXXX") || exit 1
trap 'rm -rf "$work" "$tmp"' EXIT INT TERM

# The project.
{
	echo "#ifndef LIB_H"
	echo "#define LIB_H"
	i=0
	while [ "$i" -lt "$NFILES" ]; do
		echo "long f$i(long x);"
		i=$((i + 1))
	done
	echo "#endif"
} >"$work/lib.h"
i=0
while [ "$i" -lt "$NFILES" ]; do
	cat >"$work/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib.h"

/* One small unit: what most files of a C project are, headers included. */
long f$i(long x)
{
	char b[32];
	snprintf(b, sizeof(b), "%ld", x * 31 + $i);
	return (long)strlen(b) + atol(b) % 97;
}
EOF
	i=$((i + 1))
done
{
	echo "#include <stdio.h>"
	echo "#include \"lib.h\""
	echo "int main(void)"
	echo "{"
	echo "	long s = 0;"
	i=0
	while [ "$i" -lt "$NFILES" ]; do
		echo "	s += f$i(s);"
		i=$((i + 1))
	done
	printf '%s\n' '	printf("%ld\n", s);' # printf: dash's echo would turn \n into a newline
	echo "	return 0;"
	echo "}"
} >"$work/main.c"
cat >"$work/Makefile" <<EOF
CC = $CC
CFLAGS = -O2 -Wall
SRCS = \$(wildcard *.c)
prog: \$(SRCS:.c=.o)
	\$(CC) -o \$@ \$^
%.o: %.c lib.h
	\$(CC) \$(CFLAGS) -c \$<
clean:
	rm -f *.o prog
.PHONY: clean
EOF
mkdir -p "$work/tmp"

policy="--default deny --allow-read /usr --allow-read /lib --allow-read /etc --allow-read /bin --allow $work --allow /dev/null"
# name|command prefix (make's arguments follow)
configs="native|
sysbroker|$sb run $policy --
proot|proot -b $work"

# Runs a command and prints "WALL_MS CPU_MS": CPU is user + system time of the whole tree
# (supervisor or tracer included), which other load on the machine disturbs less than the
# wall clock.
timed() {
	python3 -c 'import os, sys, time
t = time.monotonic()
pid = os.spawnvp(os.P_NOWAIT, sys.argv[1], sys.argv[1:])
_, st, ru = os.wait4(pid, 0)
w = (time.monotonic() - t) * 1000
c = (ru.ru_utime + ru.ru_stime) * 1000
print("%.0f %.0f" % (w, c), file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(st))' "$@"
}
# One untimed build first, so that no configuration pays for cold caches.
(cd "$work" && TMPDIR=$work/tmp make -s -j"$JOBS" prog) </dev/null >/dev/null 2>&1 || {
	echo "build-workload: the project does not build" >&2
	exit 1
}
echo "build-workload: $REPS builds of each configuration, $NFILES files, make -j$JOBS" >&2
rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "$configs" | while IFS='|' read -r name prefix; do
		[ "$name" = proot ] && [ "$have_proot" = no ] && continue
		make -s -C "$work" clean >/dev/null 2>&1
		# shellcheck disable=SC2086 # prefix is a word list on purpose
		(cd "$work" && TMPDIR=$work/tmp timed $prefix make -s -j"$JOBS" prog) </dev/null >"$tmp/out" 2>"$tmp/time" || {
			echo "build-workload: $name failed: $(cat "$tmp/out" "$tmp/time")" >&2
			echo fail >>"$tmp/failed"
			continue
		}
		read -r wall cpu <<EOT
$(tail -n 1 "$tmp/time")
EOT
		got=$("$work/prog")
		if [ ! -e "$tmp/expected" ]; then
			echo "$got" >"$tmp/expected"
		elif [ "$got" != "$(cat "$tmp/expected")" ]; then
			echo "build-workload: $name built a program that prints $got" >&2
			echo fail >>"$tmp/failed"
		fi
		echo "$wall" >>"$tmp/$name"
		echo "$cpu" >>"$tmp/$name.cpu"
		printf '  run %d/%d %-10s %8s ms wall %8s ms cpu\n' "$rep" "$REPS" "$name" "$wall" "$cpu" >&2
	done
	rep=$((rep + 1))
done
if [ -e "$tmp/failed" ]; then
	echo "build-workload: a configuration failed; no results written" >&2
	exit 1
fi

median() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.0f\n", (v[NR/2]+v[NR/2+1])/2}'; }
spread() { sort -n "$1" | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

load_end=$(cut -d' ' -f1 /proc/loadavg)
med_native=$(median "$tmp/native")
med_sb=$(median "$tmp/sysbroker")
proot_version=$(dpkg-query -W -f '${Version}' proot 2>/dev/null || echo unknown)
{
	echo "<!-- build-workload.sh begin -->"
	echo "## Real workload: a build of a $NFILES-file C project (bench/build-workload.sh)"
	echo
	echo "$(bench_machine), load at the end: $(bench_load);"
	echo "sysbroker $(bench_version), tree $(bench_tree)."
	echo
	echo "- Project: $NFILES small generated \`.c\` files (one function each, including \`stdio.h\`,"
	echo "  \`stdlib.h\`, \`string.h\` and the project header), a \`main.c\` and a Makefile; one build is"
	echo "  \`make clean\` (not timed) then \`make -j$JOBS\` with \`$CC -O2\`, timed whole."
	echo "- **sysbroker**: \`sysbroker run --default deny --allow-read /usr --allow-read /lib"
	echo "  --allow-read /etc --allow-read /bin --allow WORK --allow /dev/null -- make\`: every"
	echo "  open of the build is emulated and decided, exec goes through Landlock."
	echo "- **proot**: \`proot -b WORK make\` (Debian proot $proot_version), which stops at every"
	echo "  system call of the build (ptrace)."
	echo "- $REPS builds of each, interleaved; every build's program printed $(cat "$tmp/expected")."
	echo
	echo "| configuration | median wall ms | min-max wall ms | × native | median CPU ms | × native |"
	echo "|---|---|---|---|---|---|"
	for c in native sysbroker proot; do
		[ -e "$tmp/$c" ] || continue
		echo "| $c | $(median "$tmp/$c") | $(spread "$tmp/$c") | $(ratio "$(median "$tmp/$c")" "$med_native") | $(median "$tmp/$c.cpu") | $(ratio "$(median "$tmp/$c.cpu")" "$(median "$tmp/native.cpu")") |"
	done
	if [ "$have_proot" = yes ]; then
		med_proot=$(median "$tmp/proot")
		echo
		r=$(ratio "$med_proot" "$med_sb")
		ok=$(awk -v r="$r" 'BEGIN {print (r >= 3) ? "met" : "NOT met"}')
		rc=$(ratio "$(median "$tmp/proot.cpu")" "$(median "$tmp/sysbroker.cpu")")
		okc=$(awk -v r="$rc" 'BEGIN {print (r >= 3) ? "met" : "NOT met"}')
		echo "- proot / sysbroker, wall clock: **${r}×**; CPU time: **${rc}×** (goal: sysbroker at"
		echo "  least 3× faster than proot: wall $ok, CPU $okc)."
		if awk -v l="$load_end" -v n="$(nproc)" 'BEGIN {exit !(l > n)}'; then
			echo "- The machine was busy (load $load_end on $(nproc) CPUs): wall-clock times include"
			echo "  waiting for a CPU, and a build that often sleeps (on its supervisor or tracer) is"
			echo "  favoured by the scheduler over one that only computes. CPU time is the steadier"
			echo "  measure in such a run."
		fi
		echo "- proot / native: $(ratio "$med_proot" "$med_native")× (CPU: $(ratio "$(median "$tmp/proot.cpu")" "$(median "$tmp/native.cpu")")×), which is where a supervisor that cost"
		echo "  nothing would stand: most of a build's time is the compiler's own work, which"
		echo "  neither tool slows."
	else
		echo
		echo "- proot is not installed (\`scripts/install-deps.sh bench\`): no comparison."
	fi
	echo "<!-- build-workload.sh end -->"
} >"$tmp/section"
bench_section build-workload.sh "$tmp/section"
