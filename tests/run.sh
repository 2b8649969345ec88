#!/bin/bash
# Runs every suite of one build directory through meson and prints the closing line
# "N passed, N failed, N skipped", counting TAP test points (not executables).
# Usage: tests/run.sh BUILDDIR [meson test args...]
set -u
build=${1:?usage: tests/run.sh BUILDDIR}
shift
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" >"$build/test-output.txt" 2>&1
rc=$?
tail -n 25 "$build/test-output.txt"
python3 - "$build/meson-logs/testlog.json" "$rc" <<'PY'
import json, re, sys
passed = failed = skipped = 0
bad = []
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    points = re.findall(r"^(ok|not ok) \d+ ?-? ?([^#\n]*)(#\s*SKIP)?", out, re.M)
    if not points:
        if t["result"] == "OK": passed += 1
        elif t["result"] == "SKIP": skipped += 1
        else: failed += 1; bad.append(t["name"])
        continue
    for status, name, skip in points:
        if skip: skipped += 1
        elif status == "ok": passed += 1
        else: failed += 1; bad.append(t["name"] + ": " + name.strip())
    # a test binary that crashed or timed out after its last point still failed
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and all(s == "ok" for s, _, _ in points):
        failed += 1; bad.append(t["name"] + " (" + t["result"] + ")")
for b in bad:
    print("FAILED:", b)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or (int(sys.argv[2]) != 0 and not bad) else 0)
PY
