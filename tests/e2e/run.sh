#!/usr/bin/env bash
# tests/e2e/run.sh - the end-to-end suite: cpactl against a real, private engine.
#
# Starts a private dockerd (tests/engine.sh), builds the fake CPA images, runs
# every tests/e2e/*.bats file with bats, then greps everything cpactl printed
# during the suite for the fixtures' secret strings.  The engine is stopped
# and its files removed at the end, on failure and on Ctrl-C too.
#
#   CPACTL=/path/to/cpactl  the binary under test (default build/cpactl)
#   CPACTL_SUITE=name       a label for the summary line (e.g. asan)
#   BATS_FILTER=regex       run only matching tests
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
export CPACTL=${CPACTL:-$top/build/cpactl}
suite=${CPACTL_SUITE:-e2e}
[ -x "$CPACTL" ] || { echo "$suite: no binary at '$CPACTL' (run make)" >&2; exit 1; }

. tests/engine.sh
engine_start || { echo "$suite: cannot start a private docker engine (see above)" >&2; exit 1; }
engine_trap

bash tests/fixtures/build-images.sh >/dev/null || { echo "$suite: building the fake CPA images failed" >&2; exit 1; }

# Every cpactl invocation of the suite appends its stdout and stderr here.
export CPACTL_OUTPUT_LOG
CPACTL_OUTPUT_LOG=$(mktemp -d /tmp/cpactl-output.XXXXXX)
tap=$(mktemp /tmp/cpactl-tap.XXXXXX)

args=(--tap)
[ -n "${BATS_FILTER:-}" ] && args+=(--filter "$BATS_FILTER")
# shellcheck disable=SC2086
bats "${args[@]}" ${E2E_FILES:-tests/e2e/*.bats} | tee "$tap"
passed=$(grep -c '^ok ' "$tap")
failed=$(grep -c '^not ok ' "$tap")
skipped=$(grep -c '^ok .* # skip' "$tap")
passed=$((passed - skipped))

# The secret grep: no fixture secret may appear in anything cpactl printed.
if grep -rl -F -f tests/fixtures/secrets.txt "$CPACTL_OUTPUT_LOG" >/dev/null 2>&1; then
	echo "not ok - a fixture secret leaked into cpactl's output:" >&2
	grep -rl -F -f tests/fixtures/secrets.txt "$CPACTL_OUTPUT_LOG" >&2
	failed=$((failed + 1))
else
	passed=$((passed + 1))
	echo "ok - no fixture secret in $(find "$CPACTL_OUTPUT_LOG" -type f | wc -l) captured outputs of cpactl"
fi
rm -rf "$CPACTL_OUTPUT_LOG" "$tap"
echo "$suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
