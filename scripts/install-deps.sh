#!/bin/sh
# Installs the Debian 12 packages the build, the tests and the benchmarks need; installs only
# what is missing, so a second run is quick. Needs root (or sudo) for apt-get.
set -eu
build="meson ninja-build pkg-config gcc libseccomp-dev libjson-c-dev"
tests="python3 libpython3.11-testsuite busybox-static runc crun iproute2 make gcc strace"
extra="${SB_EXTRA_PACKAGES:-}"
# With the argument "bench": what only the benchmarks need (proot, bench/build-workload.sh).
[ "${1:-}" = bench ] && extra="$extra proot"
want="$build $tests $extra"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
