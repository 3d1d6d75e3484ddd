#!/usr/bin/env bats
# config log|diff|show: the history of config.yaml, masked secrets, usage errors.
#
# The tests that need commits in the history take them with `cpactl backup`.
# Never use cpactl_run with --show-secrets: the suite's closing grep would
# rightly call it a leak.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT1 PORT2 ROOT1 EMPTY
	PORT1=$(free_port)
	PORT2=$(free_port)
	deploy cfg-one v7.1.0 -p "127.0.0.1:$PORT1:8317"
	deploy cfg-two v7.2.0 -p "127.0.0.1:$PORT2:8317"
	ROOT1="$BATS_FILE_TMPDIR/cfg-one"
	EMPTY="$BATS_FILE_TMPDIR/empty-root"
	mkdir -p "$EMPTY"
	wait_port "$PORT1" && wait_port "$PORT2"
}

teardown_file() {
	remove_containers cfg-one cfg-two
}

# Rewrites the live config.yaml in place: a bind-mounted file must keep its inode.
edit_live_config() {
	local tmp="$BATS_TEST_TMPDIR/config.yaml"
	sed "$1" "$ROOT1/config.yaml" >"$tmp"
	cat "$tmp" >"$ROOT1/config.yaml"
}

# --- usage ---------------------------------------------------------------------

@test "config without a subcommand is a usage error naming the subcommands" {
	cpactl_run config
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"name a subcommand: log, diff, show"* ]]
	[[ "$stderr" == *"usage: cpactl config"* ]]
}

@test "an unknown subcommand exits 2 and names it; --json gives a usage error document" {
	cpactl_run config frobnicate --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"unknown subcommand 'frobnicate'"* ]]
	cpactl_run config frobnicate --json
	[ "$status" -eq 2 ]
	[ "$(jqo .error.code)" = usage ]
}

@test "config show needs exactly one revision" {
	cpactl_run config show --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"revision or snapshot id"* ]]
	cpactl_run config show HEAD HEAD~1 --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"unexpected argument 'HEAD~1'"* ]]
}

@test "config diff takes at most two revisions, config log none" {
	cpactl_run config diff a b c --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"unexpected argument 'c'"* ]]
	cpactl_run config log HEAD --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
}

@test "--show-secrets does not apply to config log; unknown options are refused" {
	cpactl_run config log --show-secrets --root "$EMPTY"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"'--show-secrets' does not apply to 'config log'"* ]]
	cpactl_run config log --bogus --json
	[ "$status" -eq 2 ]
	[[ "$(jqo .error.message)" == *"--bogus"* ]]
}

@test "help config lists every option and subcommand" {
	cpactl_run help config
	[ "$status" -eq 0 ]
	for word in --root --show-secrets --container --json log diff show; do
		[[ "$output" == *"$word"* ]] || { echo "missing $word"; false; }
	done
}

# --- no history yet ------------------------------------------------------------

@test "config log with no history: an empty list, and how to make one" {
	cpactl_run config log --root "$EMPTY" --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'type')" = array ]
	[ "$(jqo 'length')" = 0 ]
	[[ "$stderr" == *"no config history yet under '$EMPTY' (cpactl backup creates it)"* ]]
	# Reading creates nothing.
	[ ! -e "$EMPTY/.cpactl" ]
}

@test "config log without --json says the same on stderr, nothing on stdout" {
	cpactl_run config log --root "$EMPTY"
	[ "$status" -eq 0 ] || { show; false; }
	[ -z "$output" ]
	[[ "$stderr" == *"no config history yet"* ]]
	cpactl_run config log --root "$EMPTY" -q
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "CPACTL_ROOT is the root when --root is not given" {
	CPACTL_ROOT=$EMPTY cpactl_run config log --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'length')" = 0 ]
	[[ "$stderr" == *"'$EMPTY'"* ]]
}

@test "a relative --root is a usage error" {
	cpactl_run config log --root relative/dir
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"absolute path"* ]]
}

@test "config show and diff with no history fail with not_found (exit 1)" {
	cpactl_run config show HEAD --root "$EMPTY" --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = not_found ]
	[[ "$(jqo .error.message)" == *"no config history yet under '$EMPTY'"* ]]
	cpactl_run config diff HEAD~1 HEAD --root "$EMPTY" --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = not_found ]
	cpactl_run config show 20261122-043000 --root "$EMPTY"
	[ "$status" -eq 1 ] || { show; false; }
	[ -z "$output" ]
}

@test "without --root the root is the directory of the container's config.yaml" {
	cpactl_run config log --container cfg-one --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'length')" = 0 ]
	[[ "$stderr" == *"no config history yet under '$ROOT1'"* ]]
	cpactl_run config diff --container cfg-one --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = not_found ]
	[[ "$(jqo .error.message)" == *"'$ROOT1'"* ]]
}

@test "several CPA containers and no --container: a usage error" {
	cpactl_run config diff
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"several CPA containers"*"--container"* ]]
}

@test "an unknown container is not_found" {
	cpactl_run config log --container no-such-cpa --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = not_found ]
}

# --- with a history (needs cpactl backup) --------------------------------------

@test "after a backup, config log lists one commit naming the snapshot" {
	cpactl_run backup --container cfg-one --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	local id
	id=$(jqo .id)
	cpactl_run config log --container cfg-one --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'length')" = 1 ]
	[[ "$(jqo '.[0].message')" == *"$id"* ]]
	[[ "$(jqo '.[0].commit')" =~ ^[0-9a-f]{40}$ ]]
	[[ "$(jqo '.[0].date')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
	# An unchanged config makes no second commit.
	cpactl_run backup --container cfg-one --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	cpactl_run config log --container cfg-one --json
	[ "$(jqo 'length')" = 1 ]
}

@test "config show HEAD prints the file with every secret masked" {
	cpactl_run config show HEAD --container cfg-one
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$output" != *"SECRET-FIXTURE-"* ]]
	[[ "$output" == *"secret-key: ***"* ]]
	[[ "$output" == *"  - ***"* ]]
	[[ "$output" == *"  - api-key: ***"* ]]
	[[ "$output" == *'base-url: "https://api.anthropic.com"'* ]]
	[[ "$output" == *"# CLIProxyAPI config (cpactl test fixture)"* ]]
	# Keys commented out are keys still.
	[[ "$output" == *"  # - ***"* ]]
	[[ "$output" == *"# secret-key: ***"* ]]
	# Line for line the live file, but for the masked values.
	[ "$(printf '%s\n' "$output" | wc -l)" = "$(wc -l <"$ROOT1/config.yaml")" ]
}

@test "config show by snapshot id and --json" {
	local id
	id=$(ls "$ROOT1/backup" | grep -v '^\.' | head -n 1)
	cpactl_run config show "$id" --container cfg-one --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo .commit)" =~ ^[0-9a-f]{40}$ ]]
	[ "$(jqo .masked)" = true ]
	[[ "$(jqo .text)" == *"secret-key: ***"* ]]
	cpactl_run config show 19990101-000000 --container cfg-one --json
	[ "$status" -eq 1 ]
	[ "$(jqo .error.code)" = not_found ]
}

@test "--show-secrets shows the values (not captured: it would trip the leak check)" {
	run --separate-stderr "$CPACTL" config show HEAD --container cfg-one --show-secrets
	[ "$status" -eq 0 ]
	[[ "$output" == *"SECRET-FIXTURE-mgmt-9d2b"* ]]
	cmp <(printf '%s\n' "$output") "$ROOT1/config.yaml"
}

@test "config diff: HEAD against the live file, secrets masked on both sides" {
	cpactl_run config diff --container cfg-one
	[ "$status" -eq 0 ] || { show; false; }
	[ -z "$output" ]
	[[ "$stderr" == *"no differences"* ]]
	edit_live_config 's/request-retry: 3/request-retry: 5/; s/SECRET-FIXTURE-apikey-2-c81e/SECRET-FIXTURE-apikey-2-new0/'
	cpactl_run config diff --container cfg-one
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$output" == *"-request-retry: 3"* ]]
	[[ "$output" == *"+request-retry: 5"* ]]
	[[ "$output" == *"+++ b/live/config.yaml"* ]]
	[[ "$output" != *"SECRET-FIXTURE-"* ]]
	cpactl_run config diff HEAD --container cfg-one --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .to)" = live ]
	[[ "$(jqo .from)" =~ ^[0-9a-f]{40}$ ]]
	[[ "$(jqo .patch)" == *"+request-retry: 5"* ]]
}

@test "only a secret changed: the diff is empty and says so" {
	cpactl_run backup --container cfg-one --no-image
	[ "$status" -eq 0 ] || { show; false; }
	edit_live_config 's/SECRET-FIXTURE-mgmt-9d2b/SECRET-FIXTURE-mgmt-new1/'
	cpactl_run config diff --container cfg-one
	[ "$status" -eq 0 ] || { show; false; }
	[ -z "$output" ]
	[[ "$stderr" == *"only secret values differ"* ]]
}

@test "config diff A B between two commits, by hash and HEAD~1" {
	cpactl_run config log --container cfg-one --json
	[ "$(jqo 'length')" = 2 ] || { show; false; }
	local old new
	old=$(jqo '.[1].commit')
	new=$(jqo '.[0].commit')
	cpactl_run config diff "${old:0:7}" HEAD --container cfg-one --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .from)" = "$old" ]
	[ "$(jqo .to)" = "$new" ]
	[[ "$(jqo .patch)" == *"+request-retry: 5"* ]]
	cpactl_run config diff HEAD~1 HEAD --container cfg-one
	[ "$status" -eq 0 ]
	[[ "$output" == *"--- a/${old:0:12}/config.yaml"* ]]
	cpactl_run config diff HEAD~9 --container cfg-one --json
	[ "$status" -eq 1 ]
	[ "$(jqo .error.code)" = not_found ]
}

@test "plugin settings and TURN credentials are masked in a diff" {
	# plugins.configs.<id>.* (but enabled) and ice-servers[].credential
	# (internal/config/config_types.go).
	cat >>"$ROOT1/config.yaml" <<-'EOF'
	plugins:
	  enabled: true
	  configs:
	    weather:
	      enabled: true
	      endpoint: "SECRET-FIXTURE-plugin-setting-5a0c"
	codex:
	  live-media-relay:
	    ice-servers:
	      - urls: ["turn:turn.example.com:3478"]
	        username: "relay"
	        credential: "SECRET-FIXTURE-turn-credential-9b1f"
	EOF
	cpactl_run config diff --container cfg-one
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$output" == *"+      enabled: true"* ]]
	[[ "$output" == *"+      endpoint: ***"* ]]
	[[ "$output" == *"+        credential: ***"* ]]
	[[ "$output" != *"SECRET-FIXTURE-"* ]]
}

@test "a live config.yaml that is not YAML is never printed unmasked" {
	printf 'api-keys:\n  - "SECRET-FIXTURE-broken\n' >"$BATS_TEST_TMPDIR/bad"
	cat "$BATS_TEST_TMPDIR/bad" >"$ROOT1/config.yaml"
	cpactl_run config diff --container cfg-one --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = parse_error ]
	[[ "$output" != *"SECRET-FIXTURE-"* ]]
	[[ "$stderr" != *"SECRET-FIXTURE-"* ]]
}
