#!/usr/bin/env bash
# tests/check.sh - everything `make check` runs, with one closing summary line.
#
#   1. the end-to-end tests (bats) with the AddressSanitizer + UBSan binary,
#      against private docker engines, two side by side (tests/e2e/run.sh).
#      They are the long pole, and they leave the cores idle now and then
#      (engines and containers starting, waits for a state), so they start
#      first, in the background, and everything below runs beside them; their
#      output is printed when they end
#   2. documentation check: every option in --help, man page and completions
#   3. the unit tests (cmocka) of the AddressSanitizer + UBSan build
#   4. fuzz (short run): every committed corpus input once, then
#      FUZZ_SECONDS (default 1) of libFuzzer per target, one a core (the
#      long runs are `make fuzz`, 60 s a target)
#      (tests/fuzz/run.sh)
# The plain build runs the same code with less checking, so its tests
# (`make unit`, `make e2e`) are not repeated here: it is built (warnings are
# errors) for install, demo and docs.  The documentation check and the fuzzers
# run at a lower priority (nice): they have no deadline, and the end-to-end
# tests' waits do.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp /tmp/cpactl-check.XXXXXX)
e2e_log=$(mktemp /tmp/cpactl-check-e2e.XXXXXX)
e2e_pid=
status=0

# Ctrl-C or a kill stops the background suite too (its own session, so the
# signal reaches run.sh, its workers and their engines' traps).
stop_e2e() {
	[ -n "$e2e_pid" ] && kill -TERM -- "-$e2e_pid" 2>/dev/null
	[ -n "$e2e_pid" ] && wait "$e2e_pid" 2>/dev/null
	e2e_pid=
}
trap 'stop_e2e; rm -f "$log" "$e2e_log"' EXIT
trap 'exit 130' INT TERM

step() {
	local name=$1 start=$SECONDS
	echo "== $name" >&2
	shift
	"$@" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	echo "== $name: $((SECONDS - start)) s" >&2
}

e2e_start=$SECONDS
echo "== end-to-end tests (AddressSanitizer + UBSan): started in the background; their output follows when they end" >&2
setsid make --no-print-directory e2e-asan >"$e2e_log" 2>&1 &
e2e_pid=$!

step "documentation" nice -n 10 bash tests/docs_check.sh
step "unit tests (AddressSanitizer + UBSan)" make --no-print-directory unit-asan
step "fuzz (short run)" nice -n 10 make --no-print-directory -j"$(nproc)" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-1}"

echo "== end-to-end tests: waiting for them" >&2
wait "$e2e_pid" || status=1
e2e_pid=
cat "$e2e_log" | tee -a "$log"
echo "== end-to-end tests (AddressSanitizer + UBSan): $((SECONDS - e2e_start)) s" >&2

# Sum the closing lines of every runner ("label: N passed, M failed").
passed=$(sed -n 's/^[a-z0-9-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^[a-z0-9-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "check: $passed passed, $failed failed"
exit $status
