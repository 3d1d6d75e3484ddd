#!/usr/bin/env bash
# tests/e2e/run.sh - the end-to-end suite: cpactl against real, private engines.
#
# The bats files are shared out among E2E_JOBS workers (default 2, one a core).
# Each worker starts a private dockerd of its own (tests/engine.sh: own socket,
# data-root, exec-root and bridge), builds the fake CPA images into it, then
# takes the next file from a common queue, longest files first, until none is
# left.  A file runs whole on one engine, which is emptied of containers,
# volumes and networks before it, so a file that restarts or kills its engine,
# or lists every container of it, sees only its own; each worker draws its free
# ports from its own range.  Everything cpactl printed is grepped for
# the fixtures' secret strings.  Engines are stopped and their files removed at
# the end, on failure and on Ctrl-C too.
#
#   CPACTL=/path/to/cpactl  the binary under test (default build/cpactl)
#   CPACTL_SUITE=name       a label for the summary line (e.g. asan)
#   BATS_FILTER=regex       run only matching tests
#   E2E_FILES="a.bats ..."  run only these files
#   E2E_JOBS=N              workers (engines) side by side; 1 runs the files in order
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
export CPACTL=${CPACTL:-$top/build/cpactl}
suite=${CPACTL_SUITE:-e2e}
[ -x "$CPACTL" ] || { echo "$suite: no binary at '$CPACTL' (run make)" >&2; exit 1; }

# The files that take longest go first, so that no worker is left with a long
# one at the end (each run prints the seconds every file took).
slow_first="20_ccp 08_rollback 07_recover 11_doctor 21_doctor_api 06_upgrade 25_registry 10_config_apply 04_backup 09_archive 18_tls 05_config 17_terminal 12_notify 13_examples 15_json 19_install 02_discover"

# ---- one worker: an engine, the images, then files from the queue ----------
if [ "${1:-}" = --worker ]; then
	worker=$2 queue=$3 out=$4
	export CPACTL_OUTPUT_LOG="$CPACTL_OUTPUT_LOG/worker$worker"
	mkdir -p "$CPACTL_OUTPUT_LOG"
	# cpactl caches each image's version (read once in a throwaway container)
	# under XDG_CACHE_HOME: one cache a worker, gone with the run, never the
	# user's own.
	export XDG_CACHE_HOME="$(dirname "$queue")/cache.$worker"
	. tests/engine.sh
	engine_start || { echo "worker $worker: cannot start a private docker engine (see above)" >&2; exit 1; }
	engine_trap
	# Building into a fresh engine is the same work for each worker; the
	# static fakes were compiled once before the workers started.
	bash tests/fixtures/build-images.sh >/dev/null || { echo "worker $worker: building the fake images failed" >&2; exit 1; }
	# What the images are once built: a file that removed or retagged one
	# (archive --prune-images does) changes this, and only then is
	# build-images.sh (two dozen docker calls) run again.
	images() {
		docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' |
			grep -E '^(eceasy/cli-proxy-api|fuergaosi233/claude-code-proxy|cpactl-test/other):' | sort
	}
	built=$(images)
	while :; do
		file=$(flock "$queue.lock" sh -c 'f=$(head -n 1 "$1"); [ -n "$f" ] && sed -i 1d "$1"; printf %s "$f"' _ "$queue")
		[ -n "$file" ] || break
		# Each file starts on an engine as fresh as the first file had it: no
		# container, volume or network another file left (a file that lists
		# every container counts only its own), and every fixture image back
		# (archive --prune-images removes some).
		docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
		docker volume ls -q | xargs -r docker volume rm -f >/dev/null 2>&1
		docker network prune -f >/dev/null 2>&1
		if [ "$(images)" != "$built" ]; then
			bash tests/fixtures/build-images.sh >/dev/null || { echo "worker $worker: rebuilding the fake images failed" >&2; exit 1; }
			built=$(images)
		fi
		args=(--tap --timing)
		[ -n "${BATS_FILTER:-}" ] && args+=(--filter "$BATS_FILTER")
		start=$SECONDS
		bats "${args[@]}" "$file" >"$out.cur" 2>&1
		rc=$?
		# A file that cannot even load reports nothing: count it as failed.
		if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out.cur"; then
			echo "not ok - $file: bats exited $rc without a failing test" >>"$out.cur"
		fi
		sed "s|^|[$worker] $(basename "$file" .bats): |" "$out.cur"
		cat "$out.cur" >>"$out"
		echo "# $(basename "$file"): $((SECONDS - start)) s on worker $worker" | tee -a "$out"
	done
	rm -f "$out.cur"
	exit 0
fi

# ---- the suite --------------------------------------------------------------
jobs=${E2E_JOBS:-2}
case $jobs in '' | *[!0-9]* | 0) echo "$suite: E2E_JOBS must be a positive number" >&2; exit 2 ;; esac
files=${E2E_FILES:-$(ls tests/e2e/*.bats)}
work=$(mktemp -d /tmp/cpactl-e2e.XXXXXX)
export CPACTL_OUTPUT_LOG="$work/output"
mkdir -p "$CPACTL_OUTPUT_LOG"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The queue: the slow files first, in that order, then the rest as listed.
for name in $slow_first; do
	for f in $files; do [ "$(basename "$f" .bats)" = "$name" ] && echo "$f"; done
done >"$work/queue"
for f in $files; do grep -qxF "$f" "$work/queue" || echo "$f"; done >>"$work/queue"
[ "$jobs" -gt "$(wc -l <"$work/queue")" ] && jobs=$(wc -l <"$work/queue")
[ "$jobs" -eq 1 ] && sort -o "$work/queue" "$work/queue"

# Compile the static fakes once, before the workers build images at once.
bash tests/fixtures/build-images.sh --compile-only || { echo "$suite: compiling the fakes failed" >&2; exit 1; }

# Ports from 17000 to the ephemeral range only (engine.sh: ephemeral_low;
# below 17000 are the unit tests', which run beside).
. tests/engine.sh
span=$((($(ephemeral_low) - 17000) / jobs))
for w in $(seq 1 "$jobs"); do
	FREE_PORT_MIN=$((17000 + (w - 1) * span)) FREE_PORT_SPAN=$span \
		bash "$0" --worker "$w" "$work/queue" "$work/tap.$w" &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
pids=()

cat "$work"/tap.* >"$work/tap" 2>/dev/null
passed=$(grep -c '^ok ' "$work/tap")
failed=$(grep -c '^not ok ' "$work/tap")
skipped=$(grep -c '^ok .* # skip' "$work/tap")
passed=$((passed - skipped))
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1   # a worker that could not start
if [ -s "$work/queue" ]; then
	echo "not ok - files never run: $(tr '\n' ' ' <"$work/queue")" >&2
	failed=$((failed + 1))
fi

# The secret grep: no fixture secret may appear in anything cpactl printed.
if grep -rl -F -f tests/fixtures/secrets.txt "$CPACTL_OUTPUT_LOG" >/dev/null 2>&1; then
	echo "not ok - a fixture secret leaked into cpactl's output:" >&2
	grep -rl -F -f tests/fixtures/secrets.txt "$CPACTL_OUTPUT_LOG" >&2
	failed=$((failed + 1))
else
	passed=$((passed + 1))
	echo "ok - no fixture secret in $(find "$CPACTL_OUTPUT_LOG" -type f | wc -l) captured outputs of cpactl"
fi
grep '^# .*\.bats: [0-9]* s on worker' "$work/tap" >&2
echo "$suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
