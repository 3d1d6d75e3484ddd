#!/bin/sh
# tests/run-unit.sh BIN... - runs the cmocka unit-test binaries and sums them up
# in a closing line "unit: N passed, M failed".
passed=0
failed=0
label=${UNIT_LABEL:-unit}
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	# A binary that crashed (sanitizer, signal) counts as a failure even if
	# cmocka printed nothing.
	if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		echo "$bin: exited $rc" >&2
		failed=$((failed + 1))
	fi
done
echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
