#!/usr/bin/env bats
# man/cpactl-json.7 describes the --json document of every command; here each
# command runs against the real engine, once succeeding and once failing, and
# tests/json_check.py checks the document against the page: every documented
# member present with its type, no undocumented top-level member, and a valid
# .error on failure.  Commands this binary does not have (doctor, config
# check, added on other branches) are skipped, saying so.

load helpers

PAGE="$BATS_TEST_DIRNAME/../../man/cpactl-json.7"
CHECK="$BATS_TEST_DIRNAME/../json_check.py"

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP
	PORT=$(free_port)
	TP=$(free_port)
	deploy js-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
	: >"$BATS_FILE_TMPDIR/covered"
}

teardown_file() {
	docker ps -aq --filter name=js- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

# expect_json COMMAND STATUS|STATUS,STATUS ok|failure ARGS...: runs cpactl ARGS
# --json, wants one of the exit statuses and a document the page describes.
expect_json() {
	local command=$1 want=$2 kind=$3 report
	shift 3
	cpactl_run "$@" --json </dev/null
	[[ ",$want," == *",$status,"* ]] || { echo "cpactl $* --json: exit $status, want $want"; show; false; }
	if [ "$kind" = failure ]; then
		report=$(printf '%s' "$output" | python3 "$CHECK" "$PAGE" "$command" --failure) ||
			{ echo "$report"; show; false; }
	else
		report=$(printf '%s' "$output" | python3 "$CHECK" "$PAGE" "$command") || { echo "$report"; show; false; }
	fi
	echo "$command $kind" >>"$BATS_FILE_TMPDIR/covered"
}

# Skips unless this binary has verb $1 (and config subcommand $2).
need_command() {
	"$CPACTL" help "$1" >/dev/null 2>&1 || skip "this cpactl has no '$1' verb"
	if [ -n "${2:-}" ]; then
		"$CPACTL" help "$1" | grep -qE "(^|[ |])$2([ |]|$)" || skip "this cpactl has no '$1 $2'"
	fi
}

@test "the checker fails on a wrong type, a missing and an undocumented member" {
	run python3 "$CHECK" "$PAGE" backup <<<'{"id": 1, "api_key": "x"}'
	[ "$status" -eq 1 ]
	[[ "$output" == *".id: 1 is not string"* ]]
	[[ "$output" == *".path: documented but missing"* ]]
	[[ "$output" == *".api_key: not documented"* ]]
	run python3 "$CHECK" "$PAGE" status --failure <<<'[]'
	[ "$status" -eq 1 ]
	run python3 "$CHECK" "$PAGE" no-such-command <<<'{}'
	[ "$status" -eq 1 ]
}

@test "discover" {
	expect_json discover 0 ok discover
	[ "$(jqo '.[] | select(.name == "js-prod") | .version')" = v7.1.0 ]
	expect_json discover 1 failure discover --container js-none
}

@test "status" {
	expect_json status 0 ok status --container js-prod
	expect_json status 3 failure status --container js-none
}

@test "backup" {
	expect_json backup 0 ok backup --container js-prod
	expect_json backup 2 failure backup --container js-prod --no-such-option
}

@test "list" {
	expect_json list 0 ok list --container js-prod
	[ "$(jqo length)" -ge 1 ]
	expect_json list 1 failure list --container js-none
}

@test "verify" {
	expect_json verify 0 ok verify --container js-prod
	expect_json verify 1 failure verify no-such-snapshot --container js-prod
}

@test "upgrade: dry run, a refused release, an upgrade, up to date" {
	local up=(upgrade --container js-prod --no-pull --test-port "$TP" --timeout 15)
	expect_json upgrade 0 ok "${up[@]}" --image eceasy/cli-proxy-api:v7.2.0 --dry-run
	[ "$(jqo .outcome)" = dry-run ]
	expect_json upgrade 1 failure "${up[@]}" --image eceasy/cli-proxy-api:v7.2.1-crash --yes --timeout 6
	[ "$(jqo .outcome)" = refused ]
	expect_json upgrade 0 ok "${up[@]}" --image eceasy/cli-proxy-api:v7.2.0 --yes
	[ "$(jqo .outcome)" = upgraded ]
	expect_json upgrade 0 ok "${up[@]}" --image eceasy/cli-proxy-api:v7.2.0 --yes
	[ "$(jqo .outcome)" = up-to-date ]
}

@test "rollback" {
	expect_json rollback 0 ok rollback --container js-prod --dry-run
	expect_json rollback 0 ok rollback --container js-prod --yes
	[ "$(jqo .outcome)" = rolled-back ]
	expect_json rollback 1 failure rollback no-such-snapshot --container js-prod --yes
}

@test "recover" {
	expect_json recover 0 ok recover --container js-prod
	expect_json recover 1 failure recover --container js-none
}

@test "archive" {
	expect_json archive 0 ok archive --container js-prod --dry-run
	expect_json archive 0 ok archive --container js-prod --keep 2
	expect_json archive 2 failure archive --container js-prod --keep 0
}

@test "config log, diff, show" {
	expect_json "config log" 0 ok config log --container js-prod
	expect_json "config log" 1 failure config log --container js-none
	expect_json "config diff" 0 ok config diff --container js-prod
	expect_json "config diff" 1 failure config diff no-such-rev --container js-prod
	expect_json "config show" 0 ok config show HEAD --container js-prod
	expect_json "config show" 1 failure config show no-such-rev --container js-prod
}

@test "config check" {
	need_command config check
	expect_json "config check" 0,3 ok config check --container js-prod
	expect_json "config check" 1,2 failure config check --container js-none
}

@test "config apply, restore" {
	local dir=$BATS_FILE_TMPDIR/js-prod new=$BATS_FILE_TMPDIR/js-new.yaml
	cp "$dir/config.yaml" "$new"
	printf '# applied by the JSON test\n' >>"$new"
	expect_json "config apply" 0 ok config apply "$new" --container js-prod --dry-run
	[ "$(jqo .outcome)" = dry-run ]
	expect_json "config apply" 0 ok config apply "$new" --container js-prod --yes --test-port "$TP" --timeout 15
	[ "$(jqo .outcome)" = applied ]
	cmp "$new" "$dir/config.yaml"
	expect_json "config apply" 1,2 failure config apply "$BATS_FILE_TMPDIR/no-such.yaml" --container js-prod --yes
	expect_json "config restore" 0 ok config restore HEAD~1 --container js-prod --yes --test-port "$TP" --timeout 15
	[ "$(jqo .outcome)" = applied ]
	! cmp -s "$new" "$dir/config.yaml"
	expect_json "config restore" 1,2 failure config restore no-such-rev --container js-prod --yes
}

@test "doctor" {
	need_command doctor
	expect_json doctor 0,3 ok doctor --container js-prod
	expect_json doctor 1 failure doctor --container js-none
}

@test "a usage error before the verb runs is the error document too" {
	cpactl_run no-such-verb --json
	[ "$status" -eq 2 ]
	[ "$(jqo .error.code)" = usage ]
	[ "$(jqo 'keys | join(" ")')" = error ]
}

@test "every command the page documents was checked here (or skipped as absent)" {
	local command documented
	documented=$(python3 "$CHECK" "$PAGE" --commands)
	while read -r command; do
		if ! "$CPACTL" help "${command%% *}" >/dev/null 2>&1; then
			continue
		fi
		if [[ $command == *" "* ]] && ! "$CPACTL" help "${command%% *}" | grep -qE "(^|[ |])${command#* }([ |]|$)"; then
			continue
		fi
		grep -qx "$command ok" "$BATS_FILE_TMPDIR/covered" || { echo "'$command' succeeding was not checked"; false; }
		grep -qx "$command failure" "$BATS_FILE_TMPDIR/covered" || { echo "'$command' failing was not checked"; false; }
	done <<<"$documented"
	# And every verb of the binary has a section in the page.
	for command in $("$CPACTL" --help | awk '$0 == "verbs:" { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on { print $1 }'); do
		[ "$command" = help ] && continue
		grep -qE "^$command( |$)" <<<"$documented" || { echo "'$command' is not in the page"; false; }
	done
}
