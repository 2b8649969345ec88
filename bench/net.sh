#!/bin/sh
# Network benchmarks in one run, written into bench/results.md (its own section, replaced or
# appended): bulk TCP throughput and connection rate on loopback, natively and under
# sysbroker's network configurations.
#
# Usage: bench/net.sh [BUILD-DIR]
# Environment: MB (MiB per bulk transfer, 2048), CONNS (connections per rate run, 2000),
#              REPS (runs per configuration, 5), CC (cc), RESULTS (bench/results.md)
#
# Method (also written into results.md):
#  - bench/net-load.c: `sink` accepts connections one at a time and reads each to EOF;
#    `bulk` writes MB MiB on one connection with write(2) in 256 KiB chunks and waits for
#    the sink's close (MiB/s); `sendbulk` the same with send(2) in 4 KiB chunks (a sendto
#    without an address, which the filter leaves to the kernel); `rate` makes CONNS
#    connections one after the other, each connect, shutdown, wait for the sink's close
#    (connections/s).
#  - Configurations, interleaved (one run of each, REPS times), all on 127.0.0.1:
#      native:  client and sink without sysbroker;
#      rules:   client under `sysbroker run --net-default deny --net-allow 127.0.0.1:PORT`
#               (its connect is decided and performed by sysbroker, its writes are native);
#      broker:  client under `sysbroker run --unshare-net --net-broker --net-default deny
#               --net-allow 127.0.0.1:PORT`: an empty namespace, the connection made by
#               sysbroker in its own and swapped in (ADDFD|SETFD);
#      publish: the sink under `sysbroker run --unshare-net --publish PORT2:9000`, the
#               client native: every accept is answered by sysbroker (ADDFD|SEND).
#  - After a connection is established the data path is the kernel's in every case: bulk
#    throughput should be native within the noise; the connection rate pays sysbroker's
#    per-connection work.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
bench_build "${1:-build}"
MB=${MB:-2048}
CONNS=${CONNS:-2000}
REPS=${REPS:-5}
CC=${CC:-cc}
RESULTS=${RESULTS:-$here/results.md}

if [ ! -x "$sb" ]; then
	echo "net.sh: $sb not found (build first: make build)" >&2
	exit 2
fi
if ! unshare -n true 2>/dev/null; then
	echo "net.sh: cannot create a network namespace (needs root)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-net.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

load=$tmp/net-load
$CC -O2 -Wall -Wextra -o "$load" "$here/net-load.c" || {
	echo "net.sh: cannot build net-load" >&2
	exit 1
}

# Two free ports: the native sink's and the published one.
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1",0))
print(" ".join(str(x.getsockname()[1]) for x in s))') || exit 1
set -- $ports
port=$1
pub=$2

wait_file() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 500 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	[ -e "$1" ]
}

"$load" sink "$port" "$tmp/ready-native" &
pids="$pids $!"
"$sb" run --unshare-net --publish "$pub:9000" -- "$load" sink 9000 "$tmp/ready-pub" &
pids="$pids $!"
wait_file "$tmp/ready-native" && wait_file "$tmp/ready-pub" || {
	echo "net.sh: the sinks did not start" >&2
	exit 1
}

rules="--net-default deny --net-allow 127.0.0.1:$port"
run_cfg() { # CONFIG WHAT ARGS...
	cfg=$1
	shift
	case $cfg in
	native) "$load" "$@" ;;
	rules) "$sb" run $rules -- "$load" "$@" ;;
	broker) "$sb" run --unshare-net --net-broker $rules -- "$load" "$@" ;;
	publish) "$load" "$@" ;;
	esac
}
target_port() { [ "$1" = publish ] && echo "$pub" || echo "$port"; }

configs="native rules broker publish"
for rep in $(seq "$REPS"); do
	for cfg in $configs; do
		p=$(target_port "$cfg")
		v=$(run_cfg "$cfg" bulk 127.0.0.1 "$p" "$MB") || {
			echo "net.sh: bulk under $cfg failed" >&2
			exit 1
		}
		echo "$v" >>"$tmp/bulk-$cfg"
		v=$(run_cfg "$cfg" sendbulk 127.0.0.1 "$p" "$MB") || {
			echo "net.sh: sendbulk under $cfg failed" >&2
			exit 1
		}
		echo "$v" >>"$tmp/send-$cfg"
		v=$(run_cfg "$cfg" rate 127.0.0.1 "$p" "$CONNS") || {
			echo "net.sh: rate under $cfg failed" >&2
			exit 1
		}
		echo "$v" >>"$tmp/rate-$cfg"
	done
	echo "net.sh: round $rep of $REPS done" >&2
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
range() { sort -n "$1" | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }

nb=$(median "$tmp/bulk-native")
ns=$(median "$tmp/send-native")
nr=$(median "$tmp/rate-native")
section=$tmp/section
{
	echo "<!-- net.sh begin -->"
	echo "## Network: bulk TCP throughput and connection rate (bench/net.sh)"
	echo
	echo "$(bench_machine), load at the end:"
	echo "$(bench_load); sysbroker $(bench_version), tree $(bench_tree)."
	echo
	echo "- \`bench/net-load.c\` on 127.0.0.1: \`bulk\` sends $MB MiB on one connection with"
	echo "  write(2), 256 KiB at a time, to a sink that reads to EOF; \`sendbulk\` the same with"
	echo "  send(2), 4 KiB at a time; \`rate\` makes $CONNS connections one after the other"
	echo "  (connect, shutdown, wait for the sink's close)."
	echo "- **native**: no sysbroker. **rules**: the client under \`sysbroker run --net-default"
	echo "  deny --net-allow 127.0.0.1:PORT\` (connect decided and performed by sysbroker)."
	echo "  **broker**: the client under \`sysbroker run --unshare-net --net-broker\` and the same"
	echo "  rules (connection made in sysbroker's namespace, swapped in with ADDFD|SETFD)."
	echo "  **publish**: the sink under \`sysbroker run --unshare-net --publish PORT:9000\`"
	echo "  (every accept answered by sysbroker with ADDFD|SEND)."
	echo "- $REPS runs of each, interleaved; median and min-max."
	echo
	echo "| configuration | bulk MiB/s | min-max | × native | send() MiB/s | min-max | × native | connections/s | min-max | × native |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for cfg in $configs; do
		b=$(median "$tmp/bulk-$cfg")
		d=$(median "$tmp/send-$cfg")
		r=$(median "$tmp/rate-$cfg")
		echo "| $cfg | $b | $(range "$tmp/bulk-$cfg") | $(awk "BEGIN{printf \"%.2f\", $b/$nb}") | $d | $(range "$tmp/send-$cfg") | $(awk "BEGIN{printf \"%.2f\", $d/$ns}") | $r | $(range "$tmp/rate-$cfg") | $(awk "BEGIN{printf \"%.2f\", $r/$nr}") |"
	done
	echo
	echo "After the connection is made the bytes never pass through sysbroker: bulk"
	echo "throughput is the kernel's in every configuration, with write(2) and with send(2)"
	echo "alike (a sendto without an address is not notified), and differences there are the"
	echo "machine's noise. The connection rate pays what sysbroker does once per connection:"
	echo "the notification round trip, the socket taken with pidfd_getfd, the decision, and"
	echo "for the broker a new socket plus ADDFD|SETFD, for publish the accept, a loopback"
	echo "connection in the program's namespace that keeps its listener readable, and"
	echo "ADDFD|SEND."
	echo "<!-- net.sh end -->"
} >"$section"

bench_section net.sh "$section"
echo "net.sh: written to $RESULTS" >&2
