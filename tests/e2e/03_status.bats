#!/usr/bin/env bats
# status against the real engine: healthy, refusing the key, and stopped.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PG PB
	PG=$(free_port)
	PB=$(free_port)
	deploy st-good v7.2.0 -p "127.0.0.1:$PG:8317"
	deploy st-badauth v7.2.1-badauth -p "127.0.0.1:$PB:8317"
	wait_port "$PG" && wait_port "$PB"
}

teardown_file() {
	remove_containers st-good st-badauth st-stopped
}

@test "a healthy CPA: 200, its models, exit 0" {
	cpactl_run status --json --container st-good
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].healthy')" = true ]
	[ "$(jqo '.[0].http_status')" = 200 ]
	[ "$(jqo '.[0].models')" -gt 0 ]
	[ "$(jqo '.[0].loaded_clients')" = 7 ]
	[ "$(jqo '.[0].memory_bytes')" != null ]
	[ "$(jqo '.[0].error_lines')" = 0 ]
}

@test "a release that refuses the good key: 401 named, exit 3" {
	cpactl_run status --json --container st-badauth
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo '.[0].healthy')" = false ]
	[ "$(jqo '.[0].http_status')" = 401 ]
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"Invalid API key"* ]]
}

@test "status over all containers exits 3 when one is unhealthy, and prints a table" {
	cpactl_run status
	[ "$status" -eq 3 ]
	[[ "$stderr" == *st-good*ok* ]]
	[[ "$stderr" == *st-badauth*FAIL* ]]
	[[ "$stderr" != *SECRET-FIXTURE* ]]
}

@test "a stopped container is not healthy" {
	local d
	d=$(deploy_dir st-stopped)
	docker create --name st-stopped -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run status --json --container st-stopped
	[ "$status" -eq 3 ]
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"not running"* ]]
}

@test "a --container that is gone: exit 3 with not_found, as when no CPA is there at all" {
	cpactl_run status --json --container st-never-existed
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo .error.code)" = not_found ]
	cpactl_run status --container st-never-existed
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"st-never-existed"* ]]
}

# (Here rather than in 11_doctor: doctoring every container of that file's
# twenty-odd takes 17 s; two show the same.)
@test "doctor: --root with several containers is refused; without --container each is doctored" {
	cpactl_run doctor --json --root /tmp
	[ "$status" -eq 2 ] || { show; false; }
	[ "$(jqo .error.code)" = usage ]
	cpactl_run doctor --json
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo 'type')" = array ]
	[ "$(jqo '[.[] | select(.container == "st-good")][0].summary.error')" = 0 ] || { show; false; }
	[ "$(jqo '[.[] | select(.container == "st-badauth")][0].summary.error')" -ge 1 ] || { show; false; }
	[[ "$output$stderr" != *SECRET-FIXTURE* ]]
}

@test "--timeout is validated" {
	cpactl_run status --timeout nope
	[ "$status" -eq 2 ]
}
