#!/usr/bin/env bash
# tests/fuzz/run.sh [--merge] BIN... - runs the libFuzzer targets built by
# `make fuzz` and closes with "fuzz: N passed, M failed" (one per target).
#
# Each target first replays every file of its committed corpus,
# tests/fuzz/corpus/<target>/, once (the regression part: crashes found
# earlier live there), then fuzzes for FUZZ_SECONDS.  New inputs go to
# build/fuzz/found/<target>/, never into the committed corpus; crash inputs
# to build/fuzz/crashes/.  A target passes when neither part crashed, leaked
# or hung.
#
# --merge rebuilds the committed corpus from itself and build/fuzz/found/
# <target>/ with libFuzzer's -merge=1, which keeps only inputs that add
# coverage; the named inputs (seed-*, regress-*) are always kept.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
merge=0
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
seconds=${FUZZ_SECONDS:-60}
work=build/fuzz
mkdir -p "$work/found" "$work/crashes" "$work/logs"

# The longest input worth trying, per target: a little above the largest real
# example, so the fuzzer spends its time on shapes, not on length.
max_len() {
	case $1 in
	fuzz_config | fuzz_inspect | fuzz_tar) echo 16384 ;;
	fuzz_manifest | fuzz_layers) echo 8192 ;;
	fuzz_jsonstream) echo 4096 ;;
	fuzz_muxstream) echo 2048 ;;
	*) echo 4096 ;;
	esac
}

# What went wrong, from a libFuzzer log: the input it was running, then the
# sanitizer's or libFuzzer's report.
show_problem() {
	grep '^Running: ' "$1" | tail -n 1 >&2
	grep -A 30 '^==[0-9]*== *ERROR\|runtime error\|ALARM\|deadly signal' "$1" | head -n 60 >&2
}

passed=0
failed=0
fuzz_jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
results=$(mktemp -d /tmp/cpactl-fuzz.XXXXXX)
trap 'rm -rf "$results"' EXIT

# Replays the committed corpus of one target, then fuzzes it for $seconds;
# says what it found; returns 1 on a problem.
fuzz_one() {
	local bin=$1 name corpus found log ok files runs rate
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/$name
	found=$work/found/$name
	log=$work/logs/$name.log
	mkdir -p "$corpus" "$found"
	ok=1
	# Replay: each committed file exactly once, at its full length.
	files=$(find "$corpus" -type f | sort)
	if [ -n "$files" ]; then
		# shellcheck disable=SC2086 # corpus file names are hashes, no spaces
		if ! "$bin" -timeout=10 -rss_limit_mb=2048 $files >"$log" 2>&1; then
			echo "$name: a committed corpus input FAILS, see $log" >&2
			show_problem "$log"
			ok=0
		fi
	fi
	if [ "$ok" -eq 1 ]; then
		if "$bin" -max_total_time="$seconds" -max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$work/crashes/$name-" "$found" "$corpus" >"$log" 2>&1; then
			runs=$(sed -n "s/^stat::number_of_executed_units: *//p" "$log")
			rate=$(sed -n "s/^stat::average_exec_per_sec: *//p" "$log")
			echo "$name: ok, ${runs:-?} runs in ${seconds} s (${rate:-?} execs/s), $(find "$corpus" -type f | wc -l) corpus files"
		else
			echo "$name: FUZZING FOUND A PROBLEM, see $log; the input is in $work/crashes/" >&2
			show_problem "$log"
			ok=0
		fi
	fi
	[ "$ok" -eq 1 ]
}

for bin in "$@"; do
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/$name
	found=$work/found/$name
	log=$work/logs/$name.log
	mkdir -p "$corpus" "$found"
	if [ "$merge" -eq 1 ]; then
		# Into a fresh directory, so inputs made redundant by newer ones
		# leave; the named files (seed-*, regress-*) always stay.
		fresh=$work/merge/$name
		before=$(find "$corpus" -type f | wc -l)
		rm -rf "$fresh"
		mkdir -p "$fresh"
		if "$bin" -merge=1 -max_len="$(max_len "$name")" "$fresh" "$corpus" "$found" >"$log" 2>&1; then
			for kept in "$corpus"/seed-* "$corpus"/regress-*; do
				[ -f "$kept" ] || continue
				cp "$kept" "$fresh/"
				rm -f "$fresh/$(sha1sum "$kept" | cut -d' ' -f1)"
			done
			rm -rf "$corpus"
			mv "$fresh" "$corpus"
			after=$(find "$corpus" -type f | wc -l)
			echo "$name: corpus $before -> $after files ($(du -s --apparent-size -k "$corpus" | cut -f1) KiB)"
			passed=$((passed + 1))
		else
			echo "$name: merge FAILED, see $log" >&2
			tail -n 30 "$log" >&2
			failed=$((failed + 1))
		fi
		continue
	fi
	# The targets run side by side, one a core (FUZZ_JOBS), each
	# reporting into a file of its own.
	while [ "$(jobs -rp | wc -l)" -ge "$fuzz_jobs" ]; do wait -n; done
	( if fuzz_one "$bin"; then : >"$results/ok.$name"; else : >"$results/failed.$name"; fi ) &
done
wait
if [ "$merge" -eq 0 ]; then
	passed=$(find "$results" -name 'ok.*' | wc -l)
	failed=$(find "$results" -name 'failed.*' | wc -l)
	# A target that ended without a word (killed) is a failure too.
	[ $((passed + failed)) -eq $# ] || failed=$(($# - passed))
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
