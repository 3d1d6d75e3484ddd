#!/usr/bin/env bats
# doctor against the real engine, the checks that ask the running proxy: its
# /v1/models answer (a wrong key, safe mode, a key that does not arrive, a 500,
# no model, nothing listening, no published port), its recent log, its
# restarts and its memory.  Each deployment is set up to trip one check; the
# clean deployment of 11_doctor.bats shows each of them absent.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export P_HOG P_BADAUTH P_SAFE P_SAFEPAGE P_MISSING P_ERR500 P_NOMODELS P_STUCK P_PANIC P_STANDBY
	P_STANDBY=$(free_port)
	P_HOG=$(free_port)
	P_BADAUTH=$(free_port)
	P_SAFE=$(free_port)
	P_SAFEPAGE=$(free_port)
	P_MISSING=$(free_port)
	P_ERR500=$(free_port)
	P_NOMODELS=$(free_port)
	P_STUCK=$(free_port)
	P_PANIC=$(free_port)

	doc_deploy dr-loop v7.2.1-crash --restart always --security-opt no-new-privileges
	doc_deploy dr-hog v7.2.1-memhog -p "127.0.0.1:$P_HOG:8317" "${SAFE[@]}"
	doc_deploy dr-badauth v7.2.1-badauth -p "127.0.0.1:$P_BADAUTH:8317" "${SAFE[@]}"
	doc_deploy dr-missing v7.2.1-missingkey -p "127.0.0.1:$P_MISSING:8317" "${SAFE[@]}"

	# Safe mode: a v7.2.51+ release with the template's example keys.
	local d
	d=$(deploy_dir dr-safe)
	sed -i 's/SECRET-FIXTURE-apikey-1-7f3a/your-api-key-1/; s/SECRET-FIXTURE-apikey-2-c81e/your-api-key-2/' "$d/config.yaml"
	run_cpa dr-safe v7.2.60 "$d" -p "127.0.0.1:$P_SAFE:8317" "${SAFE[@]}"
	# The same keys on a v7.1.46 to v7.2.50 release, one of them with the
	# blanks CPA trims away: a warning page instead of the API server.
	d=$(deploy_dir dr-safepage)
	sed -i 's/"SECRET-FIXTURE-apikey-1-7f3a"/" your-api-key-1 "/; s/SECRET-FIXTURE-apikey-2-c81e/your-api-key-2/' "$d/config.yaml"
	grep -q '" your-api-key-1 "' "$d/config.yaml"
	run_cpa dr-safepage v7.2.0 "$d" -p "127.0.0.1:$P_SAFEPAGE:8317" "${SAFE[@]}"

	# DEPLOY=cloud (upstream compose sets DEPLOY) with no config.yaml in the
	# container: CPA stands by without its API server.
	docker run -d --name dr-standby -e DEPLOY=cloud -p "127.0.0.1:$P_STANDBY:8317" "${SAFE[@]}" \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null

	# The API: a 500, an empty model list (no auth file, no provider key), a CPA
	# stuck before it listens, a panic in the log.
	doc_deploy dr-err500 v7.2.1-err500 -p "127.0.0.1:$P_ERR500:8317" "${SAFE[@]}"
	d=$(deploy_dir dr-nomodels)
	sed -i '/^gemini-api-key:/,$d' "$d/config.yaml"
	rm -f "$d"/auth/*
	run_cpa dr-nomodels v7.2.0 "$d" -p "127.0.0.1:$P_NOMODELS:8317" "${SAFE[@]}"
	doc_deploy dr-stuck v7.2.1-neverready -p "127.0.0.1:$P_STUCK:8317" "${SAFE[@]}"
	doc_deploy dr-panic v7.2.1-panic -p "127.0.0.1:$P_PANIC:8317" "${SAFE[@]}"
	# A store back-end named in the environment (a URL, not a secret).
	doc_deploy dr-store v7.2.0 "${SAFE[@]}" -e GITSTORE_GIT_URL=https://git.example.invalid/cpa.git
	# Crashes once, brought back by its restart policy (see the test).
	doc_deploy dr-kill v7.2.0 "${SAFE[@]}"

	# The warning page answers on / alone (no /healthz, which wait_port asks).
	wait_for 30 "the safe-mode warning page on 127.0.0.1:$P_SAFEPAGE/" \
		curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$P_SAFEPAGE/"
	wait_port "$P_HOG" && wait_port "$P_BADAUTH" && wait_port "$P_SAFE" && wait_port "$P_MISSING" &&
		wait_port "$P_ERR500" && wait_port "$P_NOMODELS" && wait_port "$P_PANIC"
}

teardown_file() {
	remove_containers dr-standby dr-loop dr-hog dr-badauth dr-missing dr-safe dr-safepage dr-err500 dr-nomodels dr-stuck dr-panic \
		dr-store dr-kill
}

restarted_at_least() {
	[ "$(docker inspect -f '{{.RestartCount}}' "$1")" -ge "$2" ]
}

@test "a restart loop" {
	wait_for 60 "dr-loop restarted at least 3 times" restarted_at_least dr-loop 3
	doctor dr-loop
	finding restart-loop error
}

@test "memory above 512 MB" {
	doctor dr-hog
	finding memory-high warning
	# A release that does not hoard memory uses little.
	cpactl_run doctor --json --container dr-store
	[ "$(jqo .container)" = dr-store ] || { show; false; }
	[ "$(jqo '[.findings[] | select(.code == "memory-high")] | length')" = 0 ]
}

@test "/v1/models: a wrong key (401 Invalid API key), with the upstream-key trap named" {
	doctor dr-badauth
	finding api-key-invalid error
	[[ "$(jqo '.findings[] | select(.code == "api-key-invalid") | .fix')" == *"provider keys"* ]]
}

@test "/v1/models: safe mode (403 unsafe_example_api_key)" {
	doctor dr-safe
	finding api-safe-mode error
}

@test "/v1/models: safe mode's warning page of v7.1.46 to v7.2.50 (404, said in the log)" {
	# As CPA: the page on /, Go's 404 everywhere else, no version header.
	[[ "$(curl -sS "http://127.0.0.1:$P_SAFEPAGE/")" == *"Example API key detected"* ]]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_SAFEPAGE/v1/models")" = 404 ]
	doctor dr-safepage
	finding api-safe-mode error
	[[ "$(jqo '.findings[] | select(.code == "api-safe-mode") | .what')" == *"warning page"*"404"* ]]
	[ -z "$(jqo '.findings[] | select(.code == "api-error") | .code')" ]
	cpactl_run status --container dr-safepage --json
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"safe-mode warning page"* ]]
}

@test "DEPLOY=cloud without a usable config.yaml: CPA stands by, doctor and status say so" {
	wait_for 30 "dr-standby's log line that it stands by" \
		bash -c 'docker logs dr-standby 2>&1 | grep -q "standing by for configuration"'
	doctor dr-standby
	finding api-standby error
	cpactl_run status --container dr-standby --json
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"cloud deploy mode (DEPLOY=cloud)"* ]] || { show; false; }
}

@test "/v1/models: the key does not arrive (401 Missing API key)" {
	doctor dr-missing
	finding api-key-missing error
}

@test "/v1/models: any other status (500)" {
	doctor dr-err500
	finding api-error error
	[[ "$(jqo '.findings[] | select(.code == "api-error") | .what')" == *500* ]]
}

@test "/v1/models: an empty model list (no auth file, no provider key)" {
	doctor dr-nomodels
	finding api-no-models warning
}

@test "/v1/models: nothing answers (a CPA stuck before it listens)" {
	doctor dr-stuck --timeout 2
	finding api-unreachable error
}

@test "no host port reaches the API: nothing probed" {
	doctor dr-store
	finding api-not-published info
	absent api-unreachable
}

@test "trouble in the recent log (a panic)" {
	doctor dr-panic
	finding log-trouble info
}

@test "a remote store named in the environment" {
	doctor dr-store
	finding remote-store info
	[ "$(jqo '.findings[] | select(.code == "remote-store") | .subject')" = GITSTORE_GIT_URL ]
	absent secret-in-environment
}

# The warning (3 restarts, the last more than 10 minutes ago) needs a
# container up for 10 minutes: tests/unit/test_doctor.c judges it.
@test "a restart brought about by the restart policy" {
	local i
	# A crash: its process killed from the host ('docker kill' counts as a
	# manual stop, which unless-stopped does not restart).
	kill -KILL "$(docker inspect -f '{{.State.Pid}}' dr-kill)"
	# Running is true while the engine is still restarting the container:
	# wait for the restart to be over, not only begun.
	wait_for 60 "dr-kill restarted once and running (RestartCount 1, Running, not Restarting)" \
		inspect_is dr-kill '{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}' "1 true false"
	doctor dr-kill
	finding restart-count info
	[[ "$(jqo '.findings[] | select(.code == "restart-count") | .what')" == *"restarted 1 time"* ]]
}