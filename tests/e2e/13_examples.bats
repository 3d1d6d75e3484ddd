#!/usr/bin/env bats
# examples/: the crontab, the systemd units and the Ansible playbook are what
# users copy, so each must parse, use only options cpactl knows, and its cpactl
# command lines must do what the comments say against a real engine.
#
# When run, an example's command line gets the test engine and container
# (-H, --container), and upgrade gets --no-pull, --test-port and --timeout
# (the test engine has no registry and port 8318 may be taken); the example
# webhook URL becomes a local receiver.

load helpers

EX="$BATS_TEST_DIRNAME/../../examples"

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP HOOK RECEIVED
	PORT=$(free_port)
	TP=$(free_port)
	HOOK=$(free_port)
	RECEIVED="$BATS_FILE_TMPDIR/received"
	: >"$RECEIVED"
	python3 "$BATS_TEST_DIRNAME/../fixtures/notify-receiver.py" "$HOOK" "$RECEIVED" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
	deploy ex-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/receiver.pid")" 2>/dev/null || true
	docker ps -aq --filter name=ex- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

# The job lines of the crontab: not comments, not blank, not VAR=value.
cron_jobs() {
	grep -vE '^[[:space:]]*(#|$)|^[A-Za-z_][A-Za-z0-9_]*=' "$EX/cron/cpactl.crontab"
}

# The command part (after five fields) of each job line.
cron_commands() {
	cron_jobs | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }'
}

# The ExecStart= command lines of the systemd services.
systemd_commands() {
	sed -n 's/^ExecStart=//p' "$EX"/systemd/*.service
}

# Is field $1 (one of the five) valid between $2 and $3?
cron_field_ok() {
	local field=$1 lo=$2 hi=$3 part n
	[[ $field =~ ^[0-9*,/-]+$ ]] || return 1
	IFS=, read -ra parts <<<"$field"
	for part in "${parts[@]}"; do
		[[ $part =~ ^(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?$ ]] || return 1
		for n in $(grep -oE '[0-9]+' <<<"${part%%/*}"); do
			[ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ] || return 1
		done
	done
}

# Runs command line $1 of an example against the test engine; $status etc. as
# cpactl_run leaves them.
run_example() {
	local line=$1
	line=${line//'${CPACTL_NOTIFY_URL}'/http://127.0.0.1:$HOOK/hook}
	line=${line//https:\/\/hooks.example.com\/cpactl/http://127.0.0.1:$HOOK/hook}
	read -ra words <<<"$line"
	words=("${words[@]:1}" -H "$DOCKER_HOST" --container ex-prod)
	[ "${words[0]}" = upgrade ] && words+=(--no-pull --test-port "$TP" --timeout 15)
	echo "# running: cpactl ${words[*]}" >&3
	cpactl_run "${words[@]}"
}

last_notification() {
	tail -n 1 "$RECEIVED" | jq -r "$1"
}

@test "crontab: every job line has five valid time fields and a known cpactl command" {
	local n=0 m h dom mon dow cmd
	while read -r m h dom mon dow cmd; do
		n=$((n + 1))
		cron_field_ok "$m" 0 59 || { echo "bad minute '$m'"; false; }
		cron_field_ok "$h" 0 23 || { echo "bad hour '$h'"; false; }
		cron_field_ok "$dom" 1 31 || { echo "bad day of month '$dom'"; false; }
		cron_field_ok "$mon" 1 12 || { echo "bad month '$mon'"; false; }
		cron_field_ok "$dow" 0 7 || { echo "bad day of week '$dow'"; false; }
		[[ $cmd != *%* ]] || { echo "'%' in a cron command: $cmd"; false; }
		known_invocation "$cmd"
	done < <(cron_jobs)
	[ "$n" -eq 3 ]
	cron_commands | grep -qx 'cpactl backup -q'
	cron_commands | grep -q '^cpactl archive --keep 2'
	cron_commands | grep -q '^cpactl upgrade --dry-run --json --notify '
}

@test "the checks of this file can fail: a bad field, an unknown option, an unknown verb" {
	! cron_field_ok 60 0 59
	! cron_field_ok '1-99' 1 31
	! cron_field_ok 'x' 0 23
	run known_invocation "cpactl backup --no-such-option"
	[ "$status" -ne 0 ]
	run known_invocation "cpactl frobnicate"
	[ "$status" -ne 0 ]
	run known_invocation "rm -rf /"
	[ "$status" -ne 0 ]
}

@test "systemd: the services run known cpactl command lines and log to the journal only" {
	local cmd n=0
	while read -r cmd; do
		n=$((n + 1))
		known_invocation "$cmd"
	done < <(systemd_commands)
	[ "$n" -eq 2 ]
	systemd_commands | grep -q '^/usr/local/bin/cpactl upgrade --yes --notify '
	for unit in "$EX"/systemd/*.service; do
		grep -qx 'StandardError=journal' "$unit"
		grep -qx 'NoNewPrivileges=yes' "$unit"
		grep -qx 'ProtectSystem=strict' "$unit"
		! grep -qiE 'StandardOutput=(file|append)|\.log\b' "$unit"
	done
	[ -f "$EX/systemd/cpactl-backup.timer" ] && [ -f "$EX/systemd/cpactl-upgrade.timer" ]
}

@test "systemd: systemd-analyze verify accepts the units" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local dir="$BATS_TEST_TMPDIR/units" out
	mkdir -p "$dir"
	# The units name /usr/local/bin/cpactl, which verify wants to exist.
	for f in "$EX"/systemd/*; do
		sed "s|/usr/local/bin/cpactl|$CPACTL|" "$f" >"$dir/$(basename "$f")"
	done
	out=$(cd "$dir" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1)
	[ -z "$out" ] || { echo "$out"; false; }
}

@test "ansible: the playbook passes --syntax-check and asks only for known options" {
	local opt
	for opt in $(grep -oE -- "'--[a-z-]+'" "$EX/ansible/upgrade.yml" | tr -d "'" | sort -u); do
		"$CPACTL" help upgrade | grep -qE -- " $opt( |$)" ||
			"$CPACTL" help backup | grep -qE -- " $opt( |$)" ||
			{ echo "the playbook uses '$opt', which neither backup nor upgrade knows"; false; }
	done
	grep -qx '  serial: 1' "$EX/ansible/upgrade.yml"
	grep -qx '  any_errors_fatal: true' "$EX/ansible/upgrade.yml"
	grep -qx '  max_fail_percentage: 0' "$EX/ansible/upgrade.yml"
	command -v ansible-playbook >/dev/null || skip "ansible is not installed (apt-get install ansible)"
	run ansible-playbook --syntax-check -i "$EX/ansible/inventory.ini" "$EX/ansible/upgrade.yml"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "cron: the jobs' command lines exit 0 in order: backup, archive, the monthly upgrade check" {
	local cmd
	while read -r cmd; do
		run_example "$cmd"
		[ "$status" -eq 0 ] || { show; false; }
	done < <(cron_commands)
	# The last one: a dry run, reported as JSON and to the webhook.
	[ "$(jqo .outcome)" = dry-run ]
	[ "$(last_notification .command)" = upgrade ]
	[ "$(last_notification .result)" = dry-run ]
	[ "$(last_notification .outcome)" = ok ]
	[ "$(docker inspect -f '{{.Config.Image}}' ex-prod)" = eceasy/cli-proxy-api:v7.1.0 ]
	[ -n "$(ls "$BATS_FILE_TMPDIR/ex-prod/backup")" ]
}

@test "systemd: the services' command lines exit 0: a backup, then an upgrade that notifies" {
	local cmd
	export CPACTL_NOTIFY_URL="http://127.0.0.1:$HOOK/hook"
	while read -r cmd; do
		run_example "$cmd"
		[ "$status" -eq 0 ] || { show; false; }
	done < <(systemd_commands)
	[ "$(last_notification .command)" = upgrade ]
	[ "$(last_notification .result)" = upgraded ]
	[ "$(last_notification .versions.to)" = v7.2.0 ]
	# No --image: the same repository, tag latest (v7.2.0 in the fixtures).
	[ "$(docker inspect -f '{{.Config.Image}}' ex-prod)" = eceasy/cli-proxy-api:latest ]
}

# The playbook for real, on localhost: up to date passes, a release that fails
# its checks stops the play.
@test "ansible: the playbook passes when up to date and fails on a refused release" {
	command -v ansible-playbook >/dev/null || skip "ansible is not installed (apt-get install ansible)"
	local inv="$BATS_TEST_TMPDIR/inventory.ini" vars="$BATS_TEST_TMPDIR/vars.json"
	printf '[cpa]\nlocalhost ansible_connection=local ansible_python_interpreter=%s cpactl_container=ex-prod\n' \
		"$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)" >"$inv"
	jq -n --arg c "$CPACTL" --arg h "$DOCKER_HOST" --arg tp "$TP" \
		'{cpactl: $c, cpactl_global: ["-H", $h],
		  cpactl_upgrade_options: ["--no-pull", "--test-port", $tp, "--timeout", "15"]}' >"$vars"
	run ansible-playbook -i "$inv" -e "@$vars" "$EX/ansible/upgrade.yml"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"ex-prod: up-to-date"* ]] || { echo "$output"; false; }
	run ansible-playbook -i "$inv" -e "@$vars" -e cpactl_image=eceasy/cli-proxy-api:v7.2.1-crash \
		"$EX/ansible/upgrade.yml"
	[ "$status" -ne 0 ] || { echo "$output"; false; }
	[[ "$output" == *"cpactl upgrade ended 'refused' (exit 1)"* ]] || { echo "$output"; false; }
	[[ "$output" != *SECRET-FIXTURE* ]]
	[ "$(docker inspect -f '{{.Config.Image}}' ex-prod)" = eceasy/cli-proxy-api:latest ]
}
