#!/usr/bin/env bash
# tests/check.sh - everything `make check` runs, with one closing summary line.
#
#   1. documentation check: every option in --help, man page and completions
#   2. the AddressSanitizer + UBSan build: the unit tests (cmocka) and the
#      end-to-end tests (bats), against private docker engines, two side by
#      side (tests/e2e/run.sh); the plain build runs the same code with less
#      checking, so its tests (`make unit`, `make e2e`) are not repeated
#      here: it is built (warnings are errors) for install, demo and docs
#   3. fuzz (short run): every committed corpus input once, then 5 s of
#      libFuzzer per target, one a core (tests/fuzz/run.sh)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
log=$(mktemp /tmp/cpactl-check.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0

step() {
	local name=$1 start=$SECONDS
	echo "== $name" >&2
	shift
	"$@" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	echo "== $name: $((SECONDS - start)) s" >&2
}

step "documentation" bash tests/docs_check.sh
step "AddressSanitizer + UBSan build and tests" env UNIT_LABEL=unit-asan make --no-print-directory check-asan
step "fuzz (short run)" make --no-print-directory -j"$(nproc)" fuzz FUZZ_SECONDS=5

# Sum the closing lines of every runner ("label: N passed, M failed").
passed=$(sed -n 's/^[a-z0-9-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^[a-z0-9-]*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | awk '{s+=$1} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "check: $passed passed, $failed failed"
exit $status
