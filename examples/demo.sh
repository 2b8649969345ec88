#!/bin/sh
# The demo behind `make demo`: runs a small shell program under `sysbroker run`, shows its
# output and exit status, then what sysbroker intercepted (from the audit log), and finally
# the same program with one file hidden by a policy rule.
#
# Usage: examples/demo.sh PATH-TO-SYSBROKER
# Needs only /bin/sh and coreutils. Exits non-zero if sysbroker itself fails.
set -u

SB=${1:-}
if [ -z "$SB" ]; then
	echo "usage: $0 PATH-TO-SYSBROKER" >&2
	exit 2
fi
case $SB in
/*) ;;
*) SB=$(pwd)/$SB ;;
esac
if [ ! -x "$SB" ]; then
	echo "demo: $SB is not an executable (run 'make' first)" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sysbroker-demo.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM

# The program: a shell pipeline, a few file writes, a read back, a secret it peeks at.
mkdir -p "$WORK/project/src" "$WORK/project/out"
printf 'alpha\nbeta\ngamma\ndelta\n' >"$WORK/project/src/words.txt"
printf 'API_TOKEN=s3cr3t\n' >"$WORK/project/.env"
cat >"$WORK/project/build.sh" <<'EOF'
#!/bin/sh
# A toy "build": transform the input, write outputs, read them back.
cd "$(dirname "$0")" || exit 1
sort -r src/words.txt | tr 'a-z' 'A-Z' >out/upper.txt
wc -l <out/upper.txt >out/count.txt
for w in $(cat src/words.txt); do
	printf '%s\n' "$w" >"out/$w.txt"
done
echo "built $(ls out | wc -l) files; first line: $(head -n 1 out/upper.txt)"
if key=$(cut -d= -f1 .env 2>/dev/null); then
	echo "secret visible: $key=..."
else
	echo "secret not visible (.env cannot be opened)"
fi
exit 3
EOF
chmod +x "$WORK/project/build.sh"

section() {
	printf '\n=== %s ===\n' "$1"
}

# Counts the audit lines per syscall and per action; JSON lines are flat and written by
# sysbroker itself, so sed is enough here.
summarize() {
	total=$(wc -l <"$1")
	echo "$total intercepted calls"
	echo "per syscall:"
	sed -n 's/.*"syscall":"\([^"]*\)".*/\1/p' "$1" | sort | uniq -c | sort -rn | sed 's/^/  /'
	echo "per action (error: the open itself failed, e.g. ENOENT while a program searches"
	echo "for a locale or library file; the kernel would have answered the same):"
	sed -n 's/.*"action":"\([^"]*\)".*/\1/p' "$1" | sort | uniq -c | sort -rn | sed 's/^/  /'
}

fail=0

section "sysbroker $("$SB" --version 2>/dev/null | sed 's/^sysbroker //')"
echo "kernel: $(uname -r)"
if "$SB" features >"$WORK/features.txt" 2>&1; then
	grep -iE 'notif|addfd' "$WORK/features.txt" | head -n 6 | sed 's/^/  /'
fi

section "1. run the program under the default policy (allow everything, audit all opens)"
echo "\$ sysbroker run --audit audit.jsonl -- sh build.sh"
"$SB" run --audit "$WORK/audit.jsonl" -- sh "$WORK/project/build.sh"
rc=$?
if [ "$rc" -eq 125 ]; then
	echo "demo: sysbroker failed (exit status 125)" >&2
	exit 1
fi
echo "exit status: $rc (the program's own: it ends with 'exit 3')"
if [ "$rc" -ne 3 ]; then
	echo "demo: expected exit status 3, got $rc" >&2
	fail=1
fi
if [ ! -s "$WORK/audit.jsonl" ]; then
	echo "demo: the audit log is empty" >&2
	fail=1
else
	section "what sysbroker intercepted and emulated"
	summarize "$WORK/audit.jsonl"
	echo "files the program wrote (opened for writing):"
	grep -E '"flags":"[^"]*O_(WRONLY|RDWR)' "$WORK/audit.jsonl" |
		sed -n 's/.*"comm":"\([^"]*\)".*"path":"\([^"]*\)".*"result":\(-\{0,1\}[0-9]*\).*/  \1 -> \2 (fd \3)/p' |
		sed "s|$WORK/||" | head -n 8
	echo "a sample audit line:"
	grep '/words.txt"' "$WORK/audit.jsonl" | head -n 1 | sed 's/^/  /'
fi

section "2. same program, with the secret hidden: --hide '**/.env'"
echo "\$ sysbroker run --hide '**/.env' --audit audit2.jsonl -- sh build.sh"
rm -rf "$WORK/project/out" && mkdir "$WORK/project/out"
"$SB" run --hide '**/.env' --audit "$WORK/audit2.jsonl" -- sh "$WORK/project/build.sh"
rc=$?
echo "exit status: $rc"
if [ "$rc" -ne 3 ]; then
	echo "demo: expected exit status 3, got $rc" >&2
	fail=1
fi
echo "the decision, from the audit log:"
grep '"action":"hide"' "$WORK/audit2.jsonl" | head -n 1 | sed 's/^/  /'

section "3. a program that is not found"
"$SB" run -- /nonexistent/program 2>&1 | sed 's/^/  /'
echo "exit status: $("$SB" run -- /nonexistent/program 2>/dev/null; echo $?) (127: not found)"

echo
if [ "$fail" -ne 0 ]; then
	echo "demo: FAILED" >&2
	exit 1
fi
echo "demo: ok"
