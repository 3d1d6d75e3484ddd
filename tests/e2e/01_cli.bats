#!/usr/bin/env bats
# The command line itself: help, versions, usage errors, engine errors.

load helpers

@test "--help lists the verbs and exits 0" {
	cpactl_run --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"discover"* ]]
	[[ "$output" == *"status"* ]]
}

@test "--version prints the version" {
	cpactl_run --version
	[ "$status" -eq 0 ]
	[[ "$output" == "cpactl "* ]]
}

@test "--json --help and --json --version print one JSON document" {
	cpactl_run --json --help
	[ "$status" -eq 0 ]
	[ "$(jqo .verb)" = null ]
	[[ "$(jqo .help)" == *"usage: cpactl [global options] VERB"* ]]
	cpactl_run upgrade --help --json
	[ "$status" -eq 0 ]
	[ "$(jqo .verb)" = upgrade ]
	[[ "$(jqo .help)" == *"--test-port"* ]]
	cpactl_run help --json rollback
	[ "$(jqo .verb)" = rollback ]
	cpactl_run --version --json
	[ "$status" -eq 0 ]
	[ "$(jqo .cpactl_version)" = "$("$CPACTL" --version | cut -d' ' -f2)" ]
}

@test "every verb with --json: --help and a usage error are one JSON document each" {
	local verb n=0
	for verb in $("$CPACTL" --help | awk '$0 == "verbs:" { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on { print $1 }'); do
		[ "$verb" = help ] && continue
		cpactl_run "$verb" --help --json
		[ "$status" -eq 0 ] || { echo "$verb --help"; show; false; }
		[ "$(printf '%s' "$output" | jq -s length)" = 1 ] || { echo "$verb --help: not one document"; show; false; }
		[ "$(jqo .verb)" = "$verb" ] || { echo "$verb --help"; show; false; }
		cpactl_run "$verb" --no-such-option --json
		[ "$status" -eq 2 ] || { echo "$verb --no-such-option"; show; false; }
		[ "$(printf '%s' "$output" | jq -s length)" = 1 ] || { echo "$verb: not one document"; show; false; }
		[ "$(jqo .error.code)" = usage ] || { echo "$verb"; show; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 10 ]
}

@test "help VERB and VERB --help print the same text" {
	cpactl_run help discover
	[ "$status" -eq 0 ]
	local a=$output
	cpactl_run discover --help
	[ "$status" -eq 0 ]
	[ "$a" = "$output" ]
	[[ "$output" == *"--container"* ]]
}

@test "no verb is a usage error (exit 2)" {
	cpactl_run
	[ "$status" -eq 2 ]
}

@test "an unknown verb exits 2 and names it" {
	cpactl_run frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unknown verb 'frobnicate'"* ]]
}

@test "an unknown option exits 2; with --json the error is a JSON document" {
	cpactl_run discover --bogus --json
	[ "$status" -eq 2 ] || { show; false; }
	[ "$(jqo .error.code)" = usage ]
	[[ "$(jqo .error.message)" == *"--bogus"* ]]
}

@test "--timeout is one rule in every verb: more than 0, at most 3600, fractions allowed" {
	local verb bad
	for verb in status doctor upgrade rollback "config apply x.yaml"; do
		for bad in 0 -1 3601 abc ""; do
			# shellcheck disable=SC2086
			cpactl_run $verb --timeout "$bad" -H unix:///nonexistent/docker.sock
			[ "$status" -eq 2 ] || { echo "$verb --timeout '$bad'"; show; false; }
			[[ "$stderr" == *"--timeout wants seconds, more than 0 and at most 3600 (fractions allowed), not '$bad'"* ]] ||
				{ echo "$verb"; show; false; }
		done
		# A good value gets past the options (to the missing engine: exit 1).
		# shellcheck disable=SC2086
		cpactl_run $verb --timeout 0.5 -H unix:///nonexistent/docker.sock
		[ "$status" -eq 1 ] || { echo "$verb --timeout 0.5"; show; false; }
	done
}

@test "a missing socket is named, with the way to point elsewhere (exit 1)" {
	cpactl_run discover -H unix:///nonexistent/docker.sock
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$stderr" == *"'/nonexistent/docker.sock'"* ]]
	[[ "$stderr" == *"DOCKER_HOST"* ]]
}

@test "engine errors are one JSON document with --json" {
	cpactl_run status --json -H unix:///nonexistent/docker.sock
	[ "$status" -eq 1 ]
	[ "$(jqo .error.code)" = engine_unreachable ]
}

@test "DOCKER_HOST is honoured and a bad scheme is a usage error" {
	DOCKER_HOST=ftp://x cpactl_run discover
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"invalid docker host 'ftp://x'"* ]]
}

@test "the engine's default socket is never used when DOCKER_HOST points elsewhere" {
	cpactl_run discover -v
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"$DOCKER_HOST"* ]]
	[[ "$stderr" != *"/var/run/docker.sock"* ]]
}

@test "every short option a verb's help shows is accepted (-y, -n ...), an unknown one is exit 2" {
	local verb letters letter
	for verb in $("$CPACTL" --help | awk '/^verbs:/{f=1; next} /^$/{f=0} f {print $1}'); do
		[ "$verb" = help ] && continue
		# Options without an argument: "  -y, --yes   text"; -h and -V end the run.
		letters=$("$CPACTL" help "$verb" | grep -E '^  -[a-zA-Z], --[a-z-]+ {2,}' | cut -c4 | grep -v '^[hV]$' || true)
		[ "$verb" != upgrade ] || [[ "$letters" == *y* ]]
		for letter in $letters; do
			if [ "$verb" = config ]; then
				cpactl_run config apply /nonexistent/config.yaml "-$letter" -H unix:///nonexistent/docker.sock
			else
				cpactl_run "$verb" "-$letter" -H unix:///nonexistent/docker.sock
			fi
			[ "$status" -ne 2 ] || { echo "$verb -$letter: $stderr"; false; }
		done
	done
	cpactl_run upgrade -Z -H unix:///nonexistent/docker.sock
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unknown option '-Z'"* ]]
}
