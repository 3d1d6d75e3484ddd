#!/usr/bin/env bats
# The completions, loaded in their own shells and asked for candidates as if
# TAB were pressed (tests/completion/complete.sh: bash through COMP_WORDS and
# COMPREPLY, fish through `complete -C`, zsh through an interactive zsh in a
# pty with compadd wrapped).  The engine data comes from cpactl itself: the
# container names from the private engine named with -H on the line (the
# shell has no DOCKER_HOST), the snapshot ids from a real deployment's backups.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ENGINE_HOST SNAP1 SNAP2 BIN
	PORT=$(free_port)
	ENGINE_HOST=$DOCKER_HOST
	deploy cm-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
	SNAP1=$("$CPACTL" backup --container cm-prod --no-image --json 2>/dev/null | jq -r .id)
	SNAP2=$("$CPACTL" backup --container cm-prod --no-image --json 2>/dev/null | jq -r .id)
	[ -n "$SNAP1" ] && [ "$SNAP1" != null ] && [ -n "$SNAP2" ] && [ "$SNAP2" != null ]
	[ "$SNAP1" != "$SNAP2" ]
	# The completions run `cpactl` from PATH: the binary under test.
	BIN="$BATS_FILE_TMPDIR/bin"
	mkdir -p "$BIN"
	ln -s "$CPACTL" "$BIN/cpactl"
}

teardown_file() {
	remove_containers cm-prod
}

# complete SHELL LINE...: the candidates, one per line, with cpactl in PATH
# and no DOCKER_HOST (the engine is reached only through -H on the line).
complete() {
	run env -u DOCKER_HOST PATH="$BIN:$PATH" bash "$BATS_TEST_DIRNAME/../completion/complete.sh" "$@"
}

# has WORD...: each word is a whole line of $output.
has() {
	local w
	for w in "$@"; do
		printf '%s\n' "$output" | grep -qxF -- "$w" || { echo "'$w' not offered; offered: $output"; return 1; }
	done
}

lacks() {
	local w
	for w in "$@"; do
		! printf '%s\n' "$output" | grep -qxF -- "$w" || { echo "'$w' offered: $output"; return 1; }
	done
}

@test "every shell offers every verb, and only verbs, after 'cpactl '" {
	local verbs shell
	verbs=$("$CPACTL" --help | awk '$0 == "verbs:" { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on { print $1 }' | sort)
	[ -n "$verbs" ]
	for shell in bash zsh fish; do
		complete "$shell" "cpactl "
		[ "$status" -eq 0 ] || { echo "$shell: $output"; false; }
		[ "$output" = "$verbs" ] || { echo "$shell offers: $output"; echo "verbs: $verbs"; false; }
		complete "$shell" "cpactl re"
		[ "$output" = recover ] || { echo "$shell: 'cpactl re' -> $output"; false; }
	done
}

@test "every shell offers the options of upgrade, and not those of other verbs" {
	local shell
	for shell in bash zsh fish; do
		complete "$shell" "cpactl upgrade --"
		[ "$status" -eq 0 ] || { echo "$shell: $output"; false; }
		has --image --test-port --timeout --yes --dry-run --no-backup --no-pull --force \
			--allow-missing-models --allow-fewer-clients --allow-downgrade --keep-config \
			--root --wait --update-compose-file --json --host --container --quiet || { echo "$shell"; false; }
		lacks --auth --keep --prune-images --show-secrets --no-image --upgrade || { echo "$shell"; false; }
		complete "$shell" "cpactl upgrade --allow-d"
		[ "$output" = --allow-downgrade ] || { echo "$shell: $output"; false; }
	done
}

@test "every shell offers the containers of the engine named by -H/--host" {
	local shell
	for shell in bash zsh fish; do
		complete "$shell" "cpactl -H $ENGINE_HOST status --container "
		[ "$status" -eq 0 ] || { echo "$shell: $output"; false; }
		has cm-prod || { echo "$shell"; false; }
		complete "$shell" "cpactl --host $ENGINE_HOST discover --container cm-"
		has cm-prod || { echo "$shell"; false; }
		# Without -H (and without DOCKER_HOST) the default engine is not this one.
		complete "$shell" "cpactl status --container cm-"
		lacks cm-prod || { echo "$shell"; false; }
	done
}

@test "every shell offers the snapshot ids of the deployment to rollback and verify" {
	local shell verb
	for shell in bash zsh fish; do
		for verb in rollback verify; do
			complete "$shell" "cpactl -H $ENGINE_HOST $verb --container cm-prod "
			[ "$status" -eq 0 ] || { echo "$shell $verb: $output"; false; }
			has "$SNAP1" "$SNAP2" || { echo "$shell $verb"; false; }
		done
	done
}

@test "every shell offers config's subcommands, then HEAD and snapshot ids to show and diff" {
	local shell
	for shell in bash zsh fish; do
		complete "$shell" "cpactl -H $ENGINE_HOST config --container cm-prod "
		has log diff show || { echo "$shell"; false; }
		complete "$shell" "cpactl -H $ENGINE_HOST config --container cm-prod show "
		has HEAD "$SNAP1" "$SNAP2" || { echo "$shell show"; false; }
		complete "$shell" "cpactl -H $ENGINE_HOST config --container cm-prod diff $SNAP1 "
		has HEAD "$SNAP2" || { echo "$shell diff"; false; }
		# log takes no revision.
		complete "$shell" "cpactl -H $ENGINE_HOST config --container cm-prod log "
		lacks HEAD "$SNAP1" || { echo "$shell log"; false; }
	done
}

@test "an engine that does not answer gives no candidates and no noise" {
	local shell
	for shell in bash zsh fish; do
		complete "$shell" "cpactl -H unix:///nonexistent/docker.sock rollback --container cm-prod "
		[ "$status" -eq 0 ] || { echo "$shell: $output"; false; }
		[ -z "$output" ] || { echo "$shell offers: $output"; false; }
	done
}
