#!/bin/sh
# Benchmark (e) of bench/README.md: `sysbroker agent` serving containers started by runc.
#  - throughput: emulated openat calls per second that one agent serves across N containers
#    (NS, default "1 4 8"), beside the same N processes under one `sysbroker run` and natively;
#  - latency: the time one intercepted openat+close round takes in a container served by the
#    agent, against the same workload under `sysbroker run`, each minus its unsupervised
#    baseline (a container without a seccomp listener; the program on the host).
# Usage: bench/agent.sh BUILD-DIR   (root; runc; a static libc for the workload)
# Writes its section of bench/results.md between <!-- agent.sh begin/end --> markers.
# Environment: ROUNDS (openat rounds per process, 50000), REPS (interleaved runs of each
#              configuration, 3), NS ("1 4 8"; must start with 1), CC (cc),
#              RESULTS (bench/results.md), SB_TREE (what to call the measured tree).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
bench_build "${1:-build}"
ROUNDS=${ROUNDS:-50000}
REPS=${REPS:-3}
NS=${NS:-1 4 8}
CC=${CC:-cc}
RESULTS=${RESULTS:-$here/results.md}

die() {
	echo "agent.sh: $*" >&2
	exit 1
}
[ -x "$sb" ] || die "$sb not found (build first)"
# Without root or runc there is nothing to measure: say so, and let `make bench` go on.
skip() {
	echo "agent.sh: skipped: $*; bench/results.md keeps its earlier agent section" >&2
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root (runc, and the agent serves other processes)"
command -v runc >/dev/null 2>&1 || skip "runc not installed (scripts/install-deps.sh)"
[ "${NS%% *}" = 1 ] || die "NS must start with 1 (the latency is measured with one process)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-agent-bench.XXXXXX") || exit 1
agent_pid=""
# A CPU cgroup of its own for the workload under `sysbroker run`, as runc gives each
# container (v1 cpu hierarchy, or a v2 child group), when the host lets us make one.
cg=""
for d in /sys/fs/cgroup/cpu /sys/fs/cgroup; do
	if [ -w "$d/cgroup.procs" ] && mkdir "$d/sysbroker-bench-$$" 2>/dev/null; then
		cg=$d/sysbroker-bench-$$
		break
	fi
done
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	for c in $(runc --root "$tmp/runc" list -q 2>/dev/null); do
		runc --root "$tmp/runc" delete -f "$c" >/dev/null 2>&1
	done
	rm -rf "$tmp"
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# One rootfs for every container: the static workload, the file it opens, and /tmp where
# the host sees each container's ready file and creates the go file.
rootfs=$tmp/rootfs
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/dev" "$tmp/pol" "$tmp/runc"
chmod 1777 "$rootfs/tmp"
echo bench >"$rootfs/etc/hostname"
$CC -O2 -static -Wall -Wextra -o "$rootfs/agent-loop" "$here/agent-loop.c" ||
	die "cannot build a static agent-loop (libc6-dev has libc.a)"
echo "default allow" >"$tmp/pol/default.policy"

"$sb" agent --socket "$tmp/agent.sock" --policy-dir "$tmp/pol" --default-policy default \
	2>"$tmp/agent.log" &
agent_pid=$!
i=0
until grep -q "listening on" "$tmp/agent.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 500 ] && die "the agent did not start: $(cat "$tmp/agent.log")"
	kill -0 "$agent_pid" 2>/dev/null || die "the agent exited: $(cat "$tmp/agent.log")"
	sleep 0.01
done

# bundle NAME AGENT(yes|no): a bundle running agent-loop on the shared rootfs; with yes, its
# openat calls go to the agent (runc's seccomp listenerPath).
bundle() {
	d=$tmp/b-$1
	mkdir -p "$d"
	seccomp=""
	if [ "$2" = yes ]; then
		seccomp=$(printf ',\n  "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "listenerPath": "%s", "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_NOTIFY"}]}' "$tmp/agent.sock")
	fi
	cat >"$d/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0},
   "args": ["/agent-loop", "$ROUNDS", "/etc/hostname", "/tmp/ready.$1", "/tmp/go"],
   "env": ["PATH=/"], "cwd": "/", "noNewPrivileges": true},
 "root": {"path": "$rootfs", "readonly": false},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}, {"type": "network"}]$seccomp}}
EOF
}

# measure KIND N: N copies of the workload, started together; prints "NS_PER_ROUND OPS_PER_S"
# where NS_PER_ROUND is one process's mean round and OPS_PER_S the opens per second of all N
# together, over the span from the first start to the last end.
measure() {
	kind=$1
	n=$2
	rm -f "$rootfs/tmp/go" "$rootfs/tmp/ready."* "$tmp/out."*
	pids=""
	case $kind in
	native | run | runcg)
		script=""
		j=1
		while [ $j -le "$n" ]; do
			# chroot: the same paths as in a container, and a root other than the
			# supervisor's, which its worker enters for each request as for a container.
			script="$script chroot $rootfs /agent-loop $ROUNDS /etc/hostname /tmp/ready.$j /tmp/go >$tmp/out.$j 2>&1 &"
			j=$((j + 1))
		done
		case $kind in
		native) sh -c "$script wait" & ;;
		run) "$sb" run -- sh -c "$script wait" & ;;
		runcg) "$sb" run -- sh -c "echo \$\$ >$cg/cgroup.procs && $script wait" & ;;
		esac
		pids=$!
		;;
	container | agent)
		j=1
		while [ $j -le "$n" ]; do
			id=$kind-$j # runc run removes the container when it ends
			bundle "$id" "$([ "$kind" = agent ] && echo yes || echo no)"
			runc --root "$tmp/runc" run --bundle "$tmp/b-$id" "$id" >"$tmp/out.$j" 2>&1 </dev/null &
			pids="$pids $!"
			j=$((j + 1))
		done
		;;
	esac
	# Everyone ready (their runtimes and supervisors started), then go.
	k=0
	while [ "$(find "$rootfs/tmp" -name 'ready.*' | wc -l)" -lt "$n" ]; do
		k=$((k + 1))
		[ $k -gt 6000 ] && die "$kind x$n: not all ready: $(cat "$tmp"/out.*)"
		sleep 0.01
	done
	: >"$rootfs/tmp/go"
	for p in $pids; do
		wait "$p" || die "$kind x$n failed: $(cat "$tmp"/out.*)"
	done
	rm -rf "$tmp"/b-"$kind"-*
	cat "$tmp"/out.* | awk -v n="$n" '
		NF == 3 && $1 ~ /^[0-9]+$/ {
			k++; if (!lo || $1 < lo) lo = $1; if ($2 > hi) hi = $2
			rounds += $3; per += ($2 - $1) / $3
		}
		END {
			if (k != n) exit 1
			printf "%.1f %.0f\n", per / k, rounds / ((hi - lo) / 1e9)
		}' || die "$kind x$n: bad output: $(cat "$tmp"/out.*)"
}

# say KIND N "NS_PER_ROUND OPS_PER_S": one progress line.
say() {
	printf '  run %d/%d %-9s x%-2d %9s ns/round %9s opens/s\n' "$rep" "$REPS" "$1" "$2" \
		"${3% *}" "${3#* }" >&2
}

load=$(bench_load)
echo "agent.sh: $REPS interleaved runs; $ROUNDS openat+close rounds per process" >&2
rep=1
while [ $rep -le "$REPS" ]; do
	for n in $NS; do
		for kind in native run agent; do
			v=$(measure $kind "$n") || exit 1
			echo "$v" >>"$tmp/res.$kind.$n"
			say "$kind" "$n" "$v"
		done
	done
	# The unsupervised baseline in a container, for the latency of one, and sysbroker run
	# with its workload in a cgroup of its own.
	for kind in container ${cg:+runcg}; do
		v=$(measure "$kind" 1) || exit 1
		echo "$v" >>"$tmp/res.$kind.1"
		say "$kind" 1 "$v"
	done
	rep=$((rep + 1))
done
kill "$agent_pid" && wait "$agent_pid"
agent_pid=""
grep -q "refused" "$tmp/agent.log" && die "the agent refused a container: $(cat "$tmp/agent.log")"

# median FILE COLUMN
median() { awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
us() { awk -v v="$1" 'BEGIN {printf "%.2f", v/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
kops() { awk -v v="$1" 'BEGIN {printf "%.0f", v/1000}'; }

l_native=$(median "$tmp/res.native.1" 1)
l_ctr=$(median "$tmp/res.container.1" 1)
l_run=$(median "$tmp/res.run.1" 1)
l_agent=$(median "$tmp/res.agent.1" 1)
add_run=$(awk -v a="$l_run" -v b="$l_native" 'BEGIN {print a-b}')
add_agent=$(awk -v a="$l_agent" -v b="$l_ctr" 'BEGIN {print a-b}')
cgrow=""
if [ -n "$cg" ]; then
	l_runcg=$(median "$tmp/res.runcg.1" 1)
	add_runcg=$(awk -v a="$l_runcg" -v b="$l_native" 'BEGIN {print a-b}')
	cgrow="| \`sysbroker run -- chroot\`, the workload in a CPU cgroup of its own | $(us "$l_runcg") | $(us "$add_runcg") |"
fi

section=$(
	cat <<MD
<!-- agent.sh begin -->
## The OCI agent: containers served by one \`sysbroker agent\` (bench/agent.sh)

$(bench_machine "$(runc --version | head -n 1)"), load before: $load.
sysbroker $(bench_version), tree $(bench_tree).
Method: the workload (\`bench/agent-loop.c\`, static) creates a ready file, waits for a go
file, makes 200 warm-up rounds, then times $ROUNDS rounds of \`openat(/etc/hostname)\` +
\`close\`. N copies are started and released together once all are ready, so runtime and
supervisor start-up are not timed. Configurations, $REPS interleaved runs each, medians shown:
**native** (N processes on the host, each \`chroot\`ed into the containers' rootfs so that
it opens the same path and, as in a container, runs in a root other than the supervisor's),
**run** (the N processes under one \`sysbroker run --\`), **agent** (N runc containers, each with a seccomp filter notifying
\`openat\` to one \`sysbroker agent\`, policy \`default allow\`), **container** (one runc
container with no seccomp listener: the unsupervised baseline of the agent's latency).
Opens per second: all N processes' rounds over the span from the first start to the last end.

| N | native opens/s | \`sysbroker run\` opens/s | agent opens/s | agent / run |
|---|---|---|---|---|
$(for n in $NS; do
		a=$(median "$tmp/res.native.$n" 2)
		r=$(median "$tmp/res.run.$n" 2)
		g=$(median "$tmp/res.agent.$n" 2)
		printf '| %s | %sk | %sk | %sk | %s |\n' "$n" "$(kops "$a")" "$(kops "$r")" "$(kops "$g")" "$(ratio "$g" "$r")"
	done)

Latency of one intercepted call (N = 1, one openat+close round):

| configuration | µs per round | added by the supervisor, µs |
|---|---|---|
| native, on the host (chroot) | $(us "$l_native") | |
| \`sysbroker run -- chroot\` | $(us "$l_run") | $(us "$add_run") |
$cgrow
| runc container, no listener | $(us "$l_ctr") | |
| runc container, \`sysbroker agent\` | $(us "$l_agent") | $(us "$add_agent") |

The agent adds **$(us "$add_agent") µs** per intercepted call where \`sysbroker run\` adds
$(us "$add_run") µs ($(ratio "$add_agent" "$add_run")×). Both serve the call with the same engine and
handlers, and the worker enters the program's root for each request in both. What differs:
the container has its own namespaces and capabilities (the worker takes its capability set
for each request, two \`capset\` calls), and runc puts it in a CPU cgroup of its own, so each
hand-over between the program and the worker thread crosses group scheduling (the
cgroup row, where present, is the \`sysbroker run\` workload in a cgroup of its own).
<!-- agent.sh end -->
MD
)
printf '%s\n' "$section" >"$tmp/section"
bench_section agent.sh "$tmp/section"
