#!/usr/bin/env bats
# cpactl for a person at a terminal: the progress line of a backup (bytes, rate
# and time left) on a TTY, and nothing of it when stderr is a pipe, with -q or
# with --json; no escape sequence with NO_COLOR (https://no-color.org); with
# --json, stdout is one JSON document even on a TTY.  The TTY comes from
# script(1) (util-linux): `script -qfec CMD /dev/null` runs CMD in a pseudo-
# terminal and copies what it wrote there to its own stdout.  The image is
# 200 MB of random bytes, so the save stream lasts long enough to be drawn;
# each test backs up into a new root, so the whole image is streamed each time
# (an unchanged image is not saved again into the same root).

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT
	bash "$BATS_TEST_DIRNAME/../fixtures/big-image.sh" v7.2.0-pad200 200
	PORT=$(free_port)
	deploy tt-prod v7.2.0-pad200 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
}

teardown_file() {
	remove_containers tt-prod
	docker images --format '{{.Repository}}:{{.Tag}}' cpactl-rollback | grep ':tt-prod-' |
		xargs -r docker rmi >/dev/null 2>&1 || true
}

# on_tty CMD: runs the shell command CMD on a pseudo-terminal; $output is what
# appeared on it.  The cpactl output log gets a copy for the secret grep.
on_tty() {
	run script -qfec "$1" /dev/null </dev/null
	printf '$ %s\n%s\n' "$1" "$output" >"$CPACTL_OUTPUT_LOG/tty-$(date +%s%N).out"
}

ESC=$'\033'

@test "on a terminal, a backup draws a progress line with bytes, rate and time left" {
	on_tty "env -u NO_COLOR $CPACTL backup --container tt-prod --root $BATS_TEST_TMPDIR/root"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *$'\r'"image: "*" MB"*"MB/s"* ]] || { echo "$output" | cat -v; false; }
	[[ $output == *" left)"* ]] || { echo "$output" | cat -v; false; }
	# Erased with the ANSI sequence, and the final message stands on a clean line.
	[[ $output == *"$ESC[K"* ]] || { echo "$output" | cat -v; false; }
	[[ $output == *"snapshot "*", "*" new on disk"* ]] || { echo "$output" | cat -v; false; }
}

@test "with NO_COLOR the line is drawn and erased without any escape sequence" {
	on_tty "NO_COLOR=1 $CPACTL backup --container tt-prod --root $BATS_TEST_TMPDIR/root"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output == *$'\r'"image: "*"MB/s"* ]] || { echo "$output" | cat -v; false; }
	[[ $output != *"$ESC"* ]] || { echo "$output" | cat -v; false; }
}

@test "when stderr is a pipe, the same backup prints plain lines only" {
	run bash -c "env -u NO_COLOR '$CPACTL' backup --container tt-prod --root '$BATS_TEST_TMPDIR/root' 2>&1 | cat"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	printf '%s\n' "$output" >"$CPACTL_OUTPUT_LOG/pipe-$(date +%s%N).out"
	[[ $output != *$'\r'* ]] || { echo "$output" | cat -v; false; }
	[[ $output != *"MB/s"* ]] || { echo "$output"; false; }
	[[ $output != *"$ESC"* ]] || { echo "$output" | cat -v; false; }
	[[ $output == *"backing up 'tt-prod'"* ]] || { echo "$output"; false; }
	# The image was streamed (so there was something to draw).
	[[ $output != *"image unchanged"* ]] || { echo "$output"; false; }
}

@test "when stderr is a pipe, a long transfer logs plain lines (every 30 s; here every 0.1 s)" {
	run bash -c "env -u NO_COLOR CPACTL_TEST_PROGRESS_SECONDS=0.1 '$CPACTL' backup --container tt-prod \
		--root '$BATS_TEST_TMPDIR/root' 2>&1 | cat"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	printf '%s\n' "$output" >"$CPACTL_OUTPUT_LOG/pipe-$(date +%s%N).out"
	# Whole lines: no carriage return, no escape sequence; bytes and a rate.
	[[ $output != *$'\r'* ]] || { echo "$output" | cat -v; false; }
	[[ $output != *"$ESC"* ]] || { echo "$output" | cat -v; false; }
	[ "$(grep -cE '^image: [0-9.]+ (kB|MB|GB)( of [0-9.]+ (MB|GB))? \([0-9.]+ (B|kB|MB|GB)/s(, [0-9hms]+ left)?\)$' <<<"$output")" -ge 2 ] ||
		{ echo "$output"; false; }
	[[ $output == *"snapshot "*", "*" new on disk"* ]] || { echo "$output"; false; }
}

@test "-q on a terminal: no progress line, no message" {
	on_tty "env -u NO_COLOR $CPACTL -q backup --container tt-prod --root $BATS_TEST_TMPDIR/root"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output != *"MB/s"* ]] || { echo "$output" | cat -v; false; }
	[[ $output != *"backing up"* ]] || { echo "$output"; false; }
	[ -z "$(printf '%s' "$output" | tr -d '\r\n')" ] || { echo "$output" | cat -v; false; }
}

@test "--json on a terminal: stdout is one JSON document and no progress is drawn" {
	on_tty "env -u NO_COLOR $CPACTL backup --container tt-prod --root $BATS_TEST_TMPDIR/root --json >$BATS_TEST_TMPDIR/out.json"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ $output != *"MB/s"* ]] || { echo "$output" | cat -v; false; }
	[[ $output != *"$ESC"* ]] || { echo "$output" | cat -v; false; }
	cp "$BATS_TEST_TMPDIR/out.json" "$CPACTL_OUTPUT_LOG/json-$(date +%s%N).out"
	[ "$(jq -s length "$BATS_TEST_TMPDIR/out.json")" = 1 ]
	jq -e '.id | test("^[0-9]{8}-[0-9]{6}")' "$BATS_TEST_TMPDIR/out.json" >/dev/null
}
