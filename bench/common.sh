# What the benchmark scripts share (sourced, after each has set here, its own directory):
# the build directory they measure, the header they write above their sections of
# bench/results.md (machine, load, sysbroker and the tree it was built from), and the
# writing of a section in place of its earlier run's.

# bench_build [DIR]: build, DIR (default build) made absolute, and sb, its sysbroker.
bench_build() {
	build=${1:-build}
	case $build in /*) ;; *) build=$(pwd)/$build ;; esac
	sb=$build/src/cli/sysbroker
}

# The load average over 1, 5 and 15 minutes, now.
bench_load() {
	cut -d' ' -f1-3 /proc/loadavg
}

# The time now, UTC.
bench_date() {
	date -u +%Y-%m-%dT%H:%M:%SZ
}

# bench_machine [WHAT]: "Machine: N CPUs, kernel K, [WHAT, ]DATE" (no newline after it);
# each script ends the line with the load it reports.
bench_machine() {
	printf 'Machine: %s CPUs, kernel %s, %s%s' "$(nproc)" "$(uname -r)" "${1:+$1, }" "$(bench_date)"
}

# The version of $sb.
bench_version() {
	"$sb" --version | sed 's/^sysbroker //'
}

# The tree $sb was built from: its build directory's source (SB_TREE overrides).
bench_tree() {
	bench_src=$(sed -n 's/.*"source": *"\([^"]*\)".*/\1/p' "$build/meson-info/meson-info.json" 2>/dev/null)
	echo "${SB_TREE:-$(git -C "${bench_src:-$here/..}" describe --always --dirty 2>/dev/null || echo unknown)}"
}

# bench_section NAME FILE: FILE, a section from "<!-- NAME begin -->" to "<!-- NAME end -->",
# takes the place of NAME's earlier section in $RESULTS (the rest of the file is other
# scripts'), or is appended after an empty line; then it is printed.
bench_section() {
	if [ -f "$RESULTS" ] && grep -q "^<!-- $1 begin -->" "$RESULTS"; then
		awk -v repl="$2" -v name="$1" '
			index($0, "<!-- " name " begin -->") == 1 {
				while ((getline l < repl) > 0) print l; skip = 1; next
			}
			index($0, "<!-- " name " end -->") == 1 { skip = 0; next }
			!skip' "$RESULTS" >"$2.new" && cat "$2.new" >"$RESULTS"
	else
		{ echo; cat "$2"; } >>"$RESULTS"
	fi
	cat "$2"
}
