#!/usr/bin/env bats
# --notify URL and CPACTL_NOTIFY_URL: one JSON document POSTed to a local
# receiver (tests/fixtures/notify-receiver.py) after each command that
# changes or checks something; a notification that cannot be delivered is
# said on stderr and never changes the exit code; nothing secret is sent.

load helpers

receivers_listen() {
	ss -Htln "sport = :$HOOK" | grep -q . && ss -Htln "sport = :$HOOK500" | grep -q .
}

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP HOOK HOOK500 RECEIVED RECEIVED500 DEAD
	PORT=$(free_port)
	TP=$(free_port)
	HOOK=$(free_port)
	HOOK500=$(free_port)
	DEAD=$(free_port)
	RECEIVED="$BATS_FILE_TMPDIR/received"
	RECEIVED500="$BATS_FILE_TMPDIR/received500"
	: >"$RECEIVED"
	: >"$RECEIVED500"
	python3 "$BATS_TEST_DIRNAME/../fixtures/notify-receiver.py" "$HOOK" "$RECEIVED" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
	python3 "$BATS_TEST_DIRNAME/../fixtures/notify-receiver.py" "$HOOK500" "$RECEIVED500" 500 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/receiver.pid"
	deploy nt-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
	wait_for 30 "the notify receivers listening on 127.0.0.1:$HOOK and :$HOOK500" receivers_listen
}

teardown_file() {
	local pid
	for pid in $(cat "$BATS_FILE_TMPDIR/receiver.pid" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	docker ps -aq --filter name=nt- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

# The last document the receiver got, or field $1 of it.
last() {
	tail -n 1 "$RECEIVED" | jq -r "${1:-.}"
}

received_count() {
	wc -l <"$RECEIVED"
}

@test "a successful backup posts outcome ok with the snapshot id, as JSON" {
	local before
	before=$(received_count)
	cpactl_run backup --container nt-prod --json --notify "http://127.0.0.1:$HOOK/hook/path"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(received_count)" -eq $((before + 1)) ]
	[ "$(last .command)" = backup ]
	[ "$(last .outcome)" = ok ]
	[ "$(last .exit_code)" = 0 ]
	[ "$(last .container)" = nt-prod ]
	[ "$(last .snapshot)" = "$(jqo .id)" ]
	[ "$(last .cpactl_version)" = "$("$CPACTL" --version | cut -d' ' -f2)" ]
	[ "$(last .host)" = "$(hostname)" ]
	[[ "$(last .time)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[ "$(last 'has("reason")')" = false ]
	grep -q '^/hook/path application/json$' "$RECEIVED.meta"
}

@test "a failing upgrade posts failed with the reason, the versions and exit code 1" {
	cpactl_run upgrade --container nt-prod --no-pull --test-port "$TP" --timeout 6 --yes \
		--image eceasy/cli-proxy-api:v7.2.1-crash --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(last .command)" = upgrade ]
	[ "$(last .outcome)" = failed ]
	[ "$(last .exit_code)" = 1 ]
	[ "$(last .result)" = refused ]
	[[ "$(last .reason)" == *"failed its checks; production was not touched"* ]]
	[ "$(last .versions.from)" = v7.1.0 ]
	[ "$(last .versions.to)" = v7.2.1 ]
	[[ "$(last .snapshot)" =~ ^[0-9]{8}-[0-9]{6}$ ]]
	# Only whitelisted fields: no candidate verdict, log tail or plan.
	[ "$(last 'keys | join(" ")')" = "command container cpactl_version exit_code host outcome reason result snapshot time versions" ]
}

@test "CPACTL_NOTIFY_URL is used without --notify; --notify wins over it" {
	local before
	before=$(received_count)
	CPACTL_NOTIFY_URL="http://127.0.0.1:$HOOK/env" cpactl_run status --container nt-prod
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(received_count)" -eq $((before + 1)) ]
	[ "$(last .command)" = status ]
	[ "$(tail -n 1 "$RECEIVED.meta")" = "/env application/json" ]
	CPACTL_NOTIFY_URL="http://127.0.0.1:$DEAD/env" cpactl_run status --container nt-prod \
		--notify "http://127.0.0.1:$HOOK/flag"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(tail -n 1 "$RECEIVED.meta")" = "/flag application/json" ]
	[[ "$stderr" != *"cannot notify"* ]]
}

@test "an unreachable URL: the exit code stays, stderr says so, the URL's path is not shown" {
	cpactl_run backup --container nt-prod --notify "http://127.0.0.1:$DEAD/hook/SECRET-TOKEN-IN-PATH"
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"cannot notify 'http://127.0.0.1:$DEAD/...': "*"(tried 2 times)"* ]] || { show; false; }
	[[ "$stderr" != *"SECRET-TOKEN-IN-PATH"* ]]
	# A failing command keeps its own exit code too.
	cpactl_run verify no-such-snapshot --container nt-prod --json --notify "http://127.0.0.1:$DEAD/"
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$stderr" == *"cannot notify 'http://127.0.0.1:$DEAD'"* ]]
	# stdout is still one JSON document, the verb's own.
	[ "$(jqo .error.code)" = not_found ]
}

@test "a receiver answering HTTP 500 is tried twice and named, the exit code stays" {
	local before
	before=$(wc -l <"$RECEIVED500")
	cpactl_run status --container nt-prod --notify "http://127.0.0.1:$HOOK500/"
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"cannot notify 'http://127.0.0.1:$HOOK500': the server answered HTTP 500 (tried 2 times)"* ]]
	[ "$(wc -l <"$RECEIVED500")" -eq $((before + 2)) ]
}

@test "a usage error is notified as usage, exit 2" {
	cpactl_run backup --bogus --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 2 ]
	[ "$(last .outcome)" = usage ]
	[ "$(last .exit_code)" = 2 ]
	[[ "$(last .reason)" == *"unknown option '--bogus'"* ]]
}

@test "a URL that is not http(s) is a usage error before anything runs" {
	local before url
	before=$(received_count)
	for url in ftp://127.0.0.1/x file:///etc/passwd "127.0.0.1:$HOOK" "http://" ""; do
		cpactl_run backup --container nt-prod --json --notify "$url"
		[ "$status" -eq 2 ] || { echo "url '$url'"; show; false; }
		[ "$(jqo .error.code)" = usage ]
		[[ "$(jqo .error.message)" == *"--notify"* ]]
	done
	CPACTL_NOTIFY_URL=gopher://x cpactl_run backup --container nt-prod
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"CPACTL_NOTIFY_URL wants an http:// or https:// URL"* ]]
	[ "$(received_count)" -eq "$before" ]
	[ -z "$(docker ps -aq --filter name=nt-prod-cpactl)" ]
}

@test "read-only commands and --help send nothing" {
	local before
	before=$(received_count)
	cpactl_run discover --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 0 ]
	cpactl_run list --container nt-prod --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 0 ]
	cpactl_run config log --container nt-prod --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 0 ]
	cpactl_run backup --help --notify "http://127.0.0.1:$HOOK/"
	[ "$status" -eq 0 ]
	[ "$(received_count)" -eq "$before" ]
}

@test "no fixture secret in anything the receivers got" {
	[ "$(received_count)" -ge 4 ]
	if grep -F -f "$BATS_TEST_DIRNAME/../fixtures/secrets.txt" "$RECEIVED" "$RECEIVED.meta" "$RECEIVED500"; then
		echo "a fixture secret was sent" >&2
		false
	fi
	# Every line is one JSON object.
	jq -e 'type == "object"' <"$RECEIVED" >/dev/null
}
