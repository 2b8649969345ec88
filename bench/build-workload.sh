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
#    One build = `make clean` (not timed) then `make -j JOBS` (timed with date +%s%N).
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
build=${1:-build}
case $build in
/*) ;;
*) build=$(pwd)/$build ;;
esac
sb=$build/src/cli/sysbroker
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

now() { date +%s%N; }
expected=""
echo "build-workload: $REPS builds of each configuration, $NFILES files, make -j$JOBS" >&2
rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "$configs" | while IFS='|' read -r name prefix; do
		[ "$name" = proot ] && [ "$have_proot" = no ] && continue
		make -s -C "$work" clean >/dev/null 2>&1
		t0=$(now)
		# shellcheck disable=SC2086 # prefix is a word list on purpose
		(cd "$work" && TMPDIR=$work/tmp $prefix make -s -j"$JOBS" prog) </dev/null >"$tmp/out" 2>&1 || {
			echo "build-workload: $name failed: $(cat "$tmp/out")" >&2
			echo fail >>"$tmp/failed"
			continue
		}
		t1=$(now)
		got=$("$work/prog")
		if [ ! -e "$tmp/expected" ]; then
			echo "$got" >"$tmp/expected"
		elif [ "$got" != "$(cat "$tmp/expected")" ]; then
			echo "build-workload: $name built a program that prints $got" >&2
			echo fail >>"$tmp/failed"
		fi
		echo $(((t1 - t0) / 1000000)) >>"$tmp/$name"
		printf '  run %d/%d %-10s %8s ms\n' "$rep" "$REPS" "$name" $(((t1 - t0) / 1000000)) >&2
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

med_native=$(median "$tmp/native")
med_sb=$(median "$tmp/sysbroker")
proot_version=$(dpkg-query -W -f '${Version}' proot 2>/dev/null || echo unknown)
# The tree the binary was built from: the build directory's source (SB_TREE overrides).
srcdir=$(sed -n 's/.*"source": *"\([^"]*\)".*/\1/p' "$build/meson-info/meson-info.json" 2>/dev/null)
commit=${SB_TREE:-$(git -C "${srcdir:-$here/..}" describe --always --dirty 2>/dev/null || echo unknown)}
{
	echo "<!-- build-workload.sh begin -->"
	echo "## Real workload: a build of a $NFILES-file C project (bench/build-workload.sh)"
	echo
	echo "Machine: $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%M:%SZ), load at the end: $(cut -d' ' -f1-3 /proc/loadavg);"
	echo "sysbroker $("$sb" --version | sed 's/^sysbroker //'), tree $commit."
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
	echo "| configuration | median ms | min-max ms | × native |"
	echo "|---|---|---|---|"
	echo "| native | $med_native | $(spread "$tmp/native") | 1.00 |"
	echo "| sysbroker | $med_sb | $(spread "$tmp/sysbroker") | $(ratio "$med_sb" "$med_native") |"
	if [ "$have_proot" = yes ]; then
		med_proot=$(median "$tmp/proot")
		echo "| proot | $med_proot | $(spread "$tmp/proot") | $(ratio "$med_proot" "$med_native") |"
		echo
		r=$(ratio "$med_proot" "$med_sb")
		ok=$(awk -v r="$r" 'BEGIN {print (r >= 3) ? "met" : "NOT met"}')
		echo "- proot / sysbroker: **${r}×** (goal: sysbroker at least 3× faster than proot: $ok)."
		echo "- Time added to the native build: sysbroker $(awk -v a="$med_sb" -v b="$med_native" 'BEGIN {printf "%.0f", a-b}') ms,"
		echo "  proot $(awk -v a="$med_proot" -v b="$med_native" 'BEGIN {printf "%.0f", a-b}') ms."
	else
		echo
		echo "- proot is not installed (\`scripts/install-deps.sh bench\`): no comparison."
	fi
	echo "<!-- build-workload.sh end -->"
} >"$tmp/section"
if [ -f "$RESULTS" ] && grep -q '<!-- build-workload.sh begin -->' "$RESULTS"; then
	# Replace our earlier section in place; the rest of the file is other scripts'.
	awk -v repl="$tmp/section" 'BEGIN {skip=0} /<!-- build-workload.sh begin -->/ {while ((getline l < repl) > 0) print l; skip=1; next} /<!-- build-workload.sh end -->/ {skip=0; next} !skip' "$RESULTS" >"$tmp/new"
	cat "$tmp/new" >"$RESULTS"
else
	printf '\n' >>"$RESULTS"
	cat "$tmp/section" >>"$RESULTS"
fi
cat "$tmp/section"
