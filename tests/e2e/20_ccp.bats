#!/usr/bin/env bats
# claude-code-proxy (fuergaosi233) and any HTTP proxy, against the real engine:
# the profiles of cpactl beside CPA.  The main deployment is what the project's
# README sets up: a .env and a docker-compose.yml run by docker-compose.  The
# fake (tests/fixtures/fakeccp.c) answers GET /health and POST /v1/messages
# and enforces ANTHROPIC_API_KEY as the client key.
#
# Deployments (one each, all removed in teardown_file):
#   ccp-prod       compose, v1.0.0: discover, backup, status, config, upgrade, rollback
#   ccp-clean      compose, v1.0.0: the doctor finds nothing above info
#   ccp-public ccp-nonnp ccp-norestart ccp-envmode ccp-git
#                  docker run with DIR/.env bind-mounted on /app/.env: one doctor check each
#   ccp-unhealthy  v1.1.1-unhealthy (/health 503): status exit 3, doctor api-error
#   ccp-hang       v1.1.1-hang (never listens): doctor api-unreachable
#   ccp-envopt     docker run --env-file DIR/.env (nothing tells cpactl where it is)
#   ccp-http       docker run -e ..., no env file: operated with --profile http
#   ccp-cpa        a CPA beside them: still profile cpa

load helpers

IMAGE=fuergaosi233/claude-code-proxy
CLIENT_KEY=SECRET-FIXTURE-ccp-client-93b0
OPENAI_KEY=SECRET-FIXTURE-ccp-openai-5d1e
# What --profile http needs to know of a proxy it has no profile for.
HTTP=(--profile http --api-port 8082 --probe-path /health)

# ccp_compose NAME PORT: a deploy-ccp.sh deployment in $BATS_FILE_TMPDIR/NAME,
# brought up by docker-compose as project $PROJ-NAME, container NAME.
ccp_compose() {
	local name=$1 port=$2 dir="$BATS_FILE_TMPDIR/$1"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$dir" >/dev/null
	CCP_NAME=$name CCP_PORT=$port docker-compose -p "$PROJ-$name" -f "$dir/docker-compose.yml" \
		up -d >/dev/null 2>"$BATS_FILE_TMPDIR/$name.compose.log" ||
		{ cat "$BATS_FILE_TMPDIR/$name.compose.log" >&2; return 1; }
}

# run_ccp NAME TAG [docker run options...]: a deploy-ccp.sh deployment in
# $BATS_FILE_TMPDIR/NAME whose .env is bind-mounted on /app/.env.
run_ccp() {
	local name=$1 tag=$2 dir="$BATS_FILE_TMPDIR/$1"
	shift 2
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$dir" >/dev/null
	docker run -d --name "$name" -v "$dir/.env:/app/.env" "$@" "$IMAGE:$tag" >/dev/null
}

free_port_e2e() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	free_port
}

# Waits until http://127.0.0.1:PORT/health answers at all (the fake starts in ms).
wait_health() {
	wait_for 30 "the fake claude-code-proxy answering /health on 127.0.0.1:$1" \
		curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$1/health"
}

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PROJ PORT TP ROOT P_CLEAN P_PUBLIC P_NONNP P_NORESTART P_ENVMODE P_GIT P_UNH P_HANG
	export P_ENVOPT P_HTTP HTTP_ROOT P_KEYFILE P_ENVGONE P_MOVED
	PROJ=ccp$RANDOM
	PORT=$(free_port)
	TP=$(free_port)
	P_CLEAN=$(free_port)
	P_PUBLIC=$(free_port)
	P_NONNP=$(free_port)
	P_NORESTART=$(free_port)
	P_ENVMODE=$(free_port)
	P_GIT=$(free_port)
	P_UNH=$(free_port)
	P_HANG=$(free_port)
	P_ENVOPT=$(free_port)
	P_HTTP=$(free_port)
	P_KEYFILE=$(free_port)
	P_ENVGONE=$(free_port)
	P_MOVED=$(free_port)
	ROOT="$BATS_FILE_TMPDIR/ccp-prod"
	HTTP_ROOT="$BATS_FILE_TMPDIR/ccp-http"

	ccp_compose ccp-prod "$PORT"
	ccp_compose ccp-clean "$P_CLEAN"

	# A compose file that spells the client key out, committed with the code.
	local k="$BATS_FILE_TMPDIR/ccp-keyfile"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$k" >/dev/null
	sed -i "s|    env_file: .env|    env_file: .env\n    environment:\n      - ANTHROPIC_API_KEY=$CLIENT_KEY|" \
		"$k/docker-compose.yml"
	git -C "$k" init -q
	git -C "$k" add docker-compose.yml
	git -C "$k" -c user.name=test -c user.email=test@example.invalid commit -q -m compose
	CCP_NAME=ccp-keyfile CCP_PORT=$P_KEYFILE docker-compose -p "$PROJ-ccp-keyfile" -f "$k/docker-compose.yml" \
		up -d >/dev/null 2>&1

	run_ccp ccp-public v1.0.0 -p "0.0.0.0:$P_PUBLIC:8082" "${SAFE[@]}"
	run_ccp ccp-nonnp v1.0.0 -p "127.0.0.1:$P_NONNP:8082" --restart unless-stopped
	run_ccp ccp-norestart v1.0.0 -p "127.0.0.1:$P_NORESTART:8082" --security-opt no-new-privileges
	run_ccp ccp-envmode v1.0.0 -p "127.0.0.1:$P_ENVMODE:8082" "${SAFE[@]}"
	run_ccp ccp-git v1.0.0 -p "127.0.0.1:$P_GIT:8082" "${SAFE[@]}"
	run_ccp ccp-unhealthy v1.1.1-unhealthy -p "127.0.0.1:$P_UNH:8082" "${SAFE[@]}"
	run_ccp ccp-hang v1.1.1-hang -p "127.0.0.1:$P_HANG:8082" "${SAFE[@]}"
	run_ccp ccp-envgone v1.0.0 -p "127.0.0.1:$P_ENVGONE:8082" "${SAFE[@]}"

	local d="$BATS_FILE_TMPDIR/ccp-envopt"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$d" >/dev/null
	docker run -d --name ccp-envopt --env-file "$d/.env" -p "127.0.0.1:$P_ENVOPT:8082" "${SAFE[@]}" \
		"$IMAGE:v1.0.0" >/dev/null

	mkdir -m 0700 "$HTTP_ROOT"
	docker run -d --name ccp-http -e "OPENAI_API_KEY=$OPENAI_KEY" -e "ANTHROPIC_API_KEY=$CLIENT_KEY" \
		-p "127.0.0.1:$P_HTTP:8082" "${SAFE[@]}" "$IMAGE:v1.0.0" >/dev/null

	deploy ccp-cpa v7.2.0

	wait_health "$PORT" && wait_health "$P_CLEAN" && wait_health "$P_PUBLIC" && wait_health "$P_NONNP" &&
		wait_health "$P_NORESTART" && wait_health "$P_ENVMODE" && wait_health "$P_GIT" &&
		wait_health "$P_UNH" && wait_health "$P_ENVOPT" && wait_health "$P_HTTP" && wait_health "$P_KEYFILE" && wait_health "$P_ENVGONE"
}

teardown_file() {
	docker ps -aq --filter name=ccp- | xargs -r docker rm -f >/dev/null 2>&1 || true
	# Tags this file made, by name (the fixture images themselves are shared).
	docker rmi "$IMAGE:moving" >/dev/null 2>&1 || true
	docker images --format '{{.Repository}}:{{.Tag}}' cpactl-rollback | grep ':ccp-' |
		xargs -r docker rmi >/dev/null 2>&1 || true
	# The compose projects' networks (docker-compose up made one each).
	docker network ls -q --filter "name=$PROJ-" | xargs -r docker network rm >/dev/null 2>&1 || true
}

# --- helpers of the assertions ------------------------------------------------

# The version the proxy on PORT names in GET / ("Claude-to-OpenAI API Proxy v1.0.0").
served_version() {
	curl -fsS --max-time 2 "http://127.0.0.1:${1:-$PORT}/" | jq -r .message | sed 's/.* //'
}

# HTTP status of GET /health on PORT.
health_code() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${1:-$PORT}/health"
}

# HTTP status of POST /v1/messages on PORT with the client key KEY.
messages_code() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 2 -X POST -H "x-api-key: $2" \
		-H 'content-type: application/json' \
		-d '{"model":"claude-3-5-sonnet-20241022","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
		"http://127.0.0.1:$1/v1/messages"
}

# The container's environment, sorted (its values are fixture secrets: compare, never print).
env_of() {
	docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sort
}

label_of() {
	docker inspect -f "{{index .Config.Labels \"$2\"}}" "$1"
}

# The status --json answer's HTTP status of the probe (http_status as for CPA, or probe_status).
probe_status() {
	jqo '.[0].http_status // .[0].probe_status'
}

# problem CODE: the last doctor --json found CODE as a warning or an error.
problem() {
	local n
	n=$(jqo --arg c "$1" '[.findings[] | select(.code == $c and (.severity == "warning" or .severity == "error"))] | length')
	[ "$n" -ge 1 ] || { echo "no warning or error '$1' among:"; jqo '.findings[] | "\(.severity) \(.code)"'; false; }
}

# upgrade IMAGE-TAG [options]: the common options of the upgrade tests.
upgrade() {
	local tag=$1
	shift
	cpactl_run upgrade --container ccp-prod --image "$IMAGE:$tag" --no-pull --test-port "$TP" --json "$@"
}

# --- the fixture itself ----------------------------------------------------------

@test "fixture: the compose deployment answers /health and enforces the client key" {
	[ "$(health_code)" = 200 ]
	[ "$(served_version)" = v1.0.0 ]
	[ "$(messages_code "$PORT" "$CLIENT_KEY")" = 200 ]
	[ "$(messages_code "$PORT" wrong-key)" = 401 ]
	[ "$(label_of ccp-prod com.docker.compose.service)" = proxy ]
	[ "$(label_of ccp-prod com.docker.compose.project.working_dir)" = "$ROOT" ]
	[ "$(stat -c %a "$ROOT/.env")" = 600 ]
}

# --- discover ----------------------------------------------------------------------

@test "discover: the compose deployment is a claude-code-proxy with its .env, port and compose labels" {
	cpactl_run discover --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].name')" = ccp-prod ]
	[ "$(jqo '.[0].profile')" = claude-code-proxy ]
	[ "$(jqo '.[0].probe_path')" = /health ]
	[ "$(jqo '.[0].container_port')" = 8082 ]
	[ "$(jqo '.[0].api_port.host_ip')" = 127.0.0.1 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$PORT" ]
	[ "$(jqo '.[0].config_path')" = "$ROOT/.env" ]
	[ "$(jqo '.[0].compose.project')" = "$PROJ-ccp-prod" ]
	[ "$(jqo '.[0].compose.service')" = proxy ]
}

@test "discover: a .env bind-mounted into the container is its config_path" {
	cpactl_run discover --json --container ccp-public
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].profile')" = claude-code-proxy ]
	[ "$(jqo '.[0].config_path')" = "$BATS_FILE_TMPDIR/ccp-public/.env" ]
	[ "$(jqo '.[0].api_port.host_ip')" = 0.0.0.0 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P_PUBLIC" ]
}

@test "discover: --env-file names the settings of a container run with docker run --env-file" {
	local env="$BATS_FILE_TMPDIR/ccp-envopt/.env"
	cpactl_run discover --json --container ccp-envopt --env-file "$env"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].profile')" = claude-code-proxy ]
	[ "$(jqo '.[0].config_path')" = "$env" ]
}

@test "discover: every proxy at once, each with its profile; a CPA is still profile cpa" {
	cpactl_run discover --json
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[] | select(.name == "ccp-cpa") | .profile')" = cpa ]
	[ "$(jqo '.[] | select(.name == "ccp-prod") | .profile')" = claude-code-proxy ]
	[ "$(jqo '.[] | select(.name == "ccp-clean") | .profile')" = claude-code-proxy ]
}

# --- backup, list, verify, status, config ----------------------------------------

@test "backup: settings.env is the .env byte for byte (0600), no auth.tar; list and verify see it" {
	cpactl_run backup --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	local id dir
	id=$(jqo .id)
	[[ "$id" =~ ^[0-9]{8}-[0-9]{6}$ ]] || { show; false; }
	dir="$ROOT/backup/$id"
	[ -d "$dir" ]
	cmp "$ROOT/.env" "$dir/settings.env"
	[ "$(stat -c %a "$dir/settings.env")" = 600 ]
	[ ! -e "$dir/auth.tar" ]
	[ ! -e "$dir/config.yaml" ]
	# For the rollback test: the snapshot to come back to and the .env it holds.
	echo "$id" >"$BATS_FILE_TMPDIR/first-id"
	cp -p "$ROOT/.env" "$BATS_FILE_TMPDIR/env-at-backup"

	cpactl_run list --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo --arg id "$id" '[.[] | select(.id == $id)] | length')" = 1 ] || { show; false; }
	[ "$(jqo --arg id "$id" '.[] | select(.id == $id) | .version')" = v1.0.0 ] || { show; false; }

	cpactl_run verify --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'map(.ok) | all')" = true ]
}

@test "status: /health answers 200 healthy, exit 0" {
	cpactl_run status --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].healthy')" = true ]
	[ "$(probe_status)" = 200 ]
}

@test "status: /health answers 503 unhealthy, exit 3" {
	cpactl_run status --json --container ccp-unhealthy
	[ "$status" -eq 3 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].healthy')" = false ]
	[ "$(probe_status)" = 503 ]
}

@test "config log and config show: the .env with every value of a secret masked" {
	cpactl_run config log --json --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo 'length')" -ge 1 ]
	cpactl_run config log --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	cpactl_run config show HEAD --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[[ "$output" == *"OPENAI_API_KEY="* ]]
	[[ "$output" == *"ANTHROPIC_API_KEY="* ]]
	[[ "$output" == *"BIG_MODEL="* ]]
	[[ "$output" == *"# claude-code-proxy settings (cpactl test fixture)"* ]]
	# Line for line the live file, but for the masked values.
	[ "$(printf '%s\n' "$output" | wc -l)" = "$(wc -l <"$ROOT/.env")" ]
	# A diff of the live file against the history: masked on both sides.
	cp -p "$ROOT/.env" "$BATS_FILE_TMPDIR/env-keep"
	sed -i "s/^OPENAI_API_KEY=.*/OPENAI_API_KEY=SECRET-FIXTURE-ccp-rotated-77c2/; s/^SMALL_MODEL=.*/SMALL_MODEL=gpt-4.1-mini/" \
		"$ROOT/.env"
	cpactl_run config diff --container ccp-prod
	cp -p "$BATS_FILE_TMPDIR/env-keep" "$ROOT/.env"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[[ "$output" == *"+SMALL_MODEL=gpt-4.1-mini"* ]] || { show; false; }
	# A changed key shows as changed, never as its value.
	[[ "$output" != *"OPENAI_API_KEY"* ]] || [[ "$output" == *"OPENAI_API_KEY=***"* ]] || { show; false; }
	# config apply is CPA's: a usage error that says what to do instead.
	cpactl_run config apply "$ROOT/.env" --container ccp-prod --yes
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"env file"* ]] || { show; false; }
}

# --- upgrade -------------------------------------------------------------------------

@test "upgrade v1.0.0 -> v1.1.0: same port on 127.0.0.1, same env, no-new-privileges, compose labels" {
	local env_before
	env_before=$(env_of ccp-prod)
	upgrade v1.1.0 --timeout 20 --yes
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(docker inspect -f '{{.Config.Image}}' ccp-prod)" = "$IMAGE:v1.1.0" ]
	[ "$(docker inspect -f '{{.State.Running}}' ccp-prod)" = true ]
	[ "$(served_version)" = v1.1.0 ]
	[ "$(health_code)" = 200 ]
	[ "$(docker inspect -f '{{(index (index .HostConfig.PortBindings "8082/tcp") 0).HostIp}}' ccp-prod)" = 127.0.0.1 ]
	[ "$(docker inspect -f '{{(index (index .HostConfig.PortBindings "8082/tcp") 0).HostPort}}' ccp-prod)" = "$PORT" ]
	[[ "$(docker inspect -f '{{join .HostConfig.SecurityOpt " "}}' ccp-prod)" == *no-new-privileges* ]]
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' ccp-prod)" = unless-stopped ]
	[ "$(env_of ccp-prod)" = "$env_before" ] || { echo "the environment changed"; false; }
	# The client key is still enforced.
	[ "$(messages_code "$PORT" "$CLIENT_KEY")" = 200 ]
	[ "$(messages_code "$PORT" wrong-key)" = 401 ]
	[ "$(label_of ccp-prod com.docker.compose.project)" = "$PROJ-ccp-prod" ]
	[ "$(label_of ccp-prod com.docker.compose.service)" = proxy ]
	[ "$(label_of ccp-prod com.docker.compose.project.working_dir)" = "$ROOT" ]
	[ -z "$(docker ps -aq --filter name=ccp-prod-cpactl-candidate)" ]
	# The old release kept aside was stopped, not killed: its stderr ends with uvicorn's
	# last shutdown line (the fake's graceful shutdown, as uvicorn/server.py's).
	local prev
	prev=$(docker ps -aq --filter name=ccp-prod-cpactl-prev- | head -1)
	[ "$(docker logs "$prev" 2>&1 >/dev/null | tail -1)" = "INFO:     Finished server process [1]" ] ||
		{ echo "old container '$prev' not stopped gracefully:"; docker logs "$prev" 2>&1 | tail -5; false; }
}

@test "upgrade to a release that crashes, answers /health 503 or checks no key: exit 1, production untouched" {
	local before tag
	before=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' ccp-prod)
	# (one that never listens waits out the deadline as in 06_upgrade: not again here)
	for tag in v1.1.1-crash v1.1.1-unhealthy v1.1.1-nokeycheck; do
		upgrade "$tag" --timeout 6 --yes
		[ "$status" -eq 1 ] || { echo "$tag"; show; false; }
		no_secret
		# /health is 200 there: only count_tokens with a wrong key tells.
		[ "$tag" != v1.1.1-nokeycheck ] ||
			[[ "$(jqo '.candidate.reasons | join(" ")')" == *"count_tokens answered 200 to a wrong client key"* ]] ||
			{ show; false; }
		[ "$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' ccp-prod)" = "$before" ] ||
			{ echo "$tag touched production"; false; }
		[ "$(docker inspect -f '{{.Config.Image}}' ccp-prod)" = "$IMAGE:v1.1.0" ]
		[ "$(health_code)" = 200 ]
		[ -z "$(docker ps -aq --filter name=ccp-prod-cpactl-candidate)" ] || { echo "$tag left a candidate"; false; }
	done
	[ "$(served_version)" = v1.1.0 ]
}

# --- rollback ------------------------------------------------------------------------

@test "rollback to the first backup: v1.0.0 again, the .env edited since restored byte for byte" {
	local id
	id=$(cat "$BATS_FILE_TMPDIR/first-id")
	sed -i 's/^BIG_MODEL=.*/BIG_MODEL=gpt-4.1/' "$ROOT/.env"
	run ! cmp -s "$ROOT/.env" "$BATS_FILE_TMPDIR/env-at-backup"
	cpactl_run rollback "$id" --container ccp-prod --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(served_version)" = v1.0.0 ]
	[ "$(health_code)" = 200 ]
	[ "$(docker inspect -f '{{.Config.Image}}' ccp-prod)" = "$IMAGE:v1.0.0" ]
	cmp "$ROOT/.env" "$BATS_FILE_TMPDIR/env-at-backup"
	[ "$(stat -c %a "$ROOT/.env")" = 600 ]
	# The container runs on the restored settings: the client key, BIG_MODEL.
	[ "$(messages_code "$PORT" "$CLIENT_KEY")" = 200 ]
	[ "$(messages_code "$PORT" wrong-key)" = 401 ]
	curl -fsS -X POST -H "x-api-key: $CLIENT_KEY" -d '{}' "http://127.0.0.1:$PORT/v1/messages" |
		jq -e '.model == "gpt-4o"' >/dev/null
	[ "$(label_of ccp-prod com.docker.compose.service)" = proxy ]
}

# --- crash recovery ------------------------------------------------------------------

@test "upgrade killed between the renames: recover leaves the proxy serving, .env whole" {
	local step sum
	sum=$(sha256sum <"$ROOT/.env")
	# Every step: tests/unit/test_crash.c (test_upgrade_ccp); here, the
	# instant between the renames, when no container has production's name,
	# against the real engine (the other real-engine steps: 07_recover's CPA).
	for step in promote-rename-new; do
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" upgrade --container ccp-prod --image "$IMAGE:v1.1.0" --no-pull \
			--yes --test-port "$TP" --timeout 10
		[ "$status" -eq 137 ] || { echo "$step: upgrade was not killed (exit $status)"; echo "$output"; false; }
		cpactl_run recover --container ccp-prod --json
		[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		no_secret
		[ "$(health_code)" = 200 ] || { echo "$step: production does not serve"; false; }
		[ "$(sha256sum <"$ROOT/.env")" = "$sum" ] || { echo "$step: the .env changed"; false; }
		[ "$(docker ps -q --filter name=ccp-prod | wc -l)" = 1 ] || { echo "$step: not one container runs"; false; }
		[ ! -e "$ROOT/.cpactl/journal.json" ] || { echo "$step: the journal is still there"; false; }
		# Back to v1.0.0 for the next round, whichever way recover went.
		if [ "$(served_version)" != v1.0.0 ]; then
			cpactl_run rollback "$(cat "$BATS_FILE_TMPDIR/first-id")" --container ccp-prod --yes
			[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		fi
		docker ps -aq --filter name=ccp-prod-cpactl | xargs -r docker rm -f >/dev/null
	done
}

# --- doctor --------------------------------------------------------------------------

@test "doctor: the clean compose deployment has nothing above info, exit 0" {
	cpactl_run backup -q --container ccp-clean
	[ "$status" -eq 0 ] || { show; false; }
	cpactl_run doctor --json --container ccp-clean
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo .container)" = ccp-clean ]
	[ "$(jqo '[.findings[] | select(.severity != "info")] | length')" = 0 ] || { show; false; }
	local c
	for c in port-on-all-interfaces no-new-privileges no-restart-policy env-file-readable \
		env-file-committed env-file-missing env-file-unknown secret-committed api-error api-unreachable; do
		absent "$c"
	done
}

@test "doctor: the API port published on all interfaces" {
	doctor ccp-public
	finding port-on-all-interfaces warning
	absent no-new-privileges
	absent no-restart-policy
}

@test "doctor: an image built with the .env in it (ADD . /app, no .dockerignore); its snapshot kept root-only" {
	local port dir="$BATS_FILE_TMPDIR/ccp-addall"
	port=$(free_port_e2e)
	# The deployment mounts its own .env; the image still carries the builder's.
	run_ccp ccp-addall v1.1.0-addall -p "127.0.0.1:$port:8082" "${SAFE[@]}"
	wait_health "$port"
	doctor ccp-addall
	finding image-holds-env-file error
	[[ "$(jqo '.findings[] | select(.code == "image-holds-env-file") | .what')" == *"/app/.env"* ]]
	no_secret
	# The clean image has none (and the check started no process: created only).
	absent image-unchecked
	cpactl_run doctor --container ccp-public --json
	absent image-holds-env-file
	cpactl_run backup --container ccp-addall --json
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ -z "$(find "$dir/.cpactl/store" "$dir/backup" -perm /077 ! -type l)" ] ||
		{ find "$dir/.cpactl/store" "$dir/backup" -perm /077 -ls; false; }
	docker rm -f ccp-addall >/dev/null
}

@test "doctor: no no-new-privileges" {
	doctor ccp-nonnp
	finding no-new-privileges warning
	absent no-restart-policy
}

@test "doctor: no restart policy" {
	doctor ccp-norestart
	finding no-restart-policy warning
	absent no-new-privileges
}

@test "doctor: a .env readable by others (0644)" {
	local env="$BATS_FILE_TMPDIR/ccp-envmode/.env"
	cpactl_run doctor --json --container ccp-envmode
	no_secret
	absent env-file-readable
	chmod 0644 "$env"
	doctor ccp-envmode
	problem env-file-readable
	chmod 0600 "$env"
}

@test "doctor: a .env committed to a git repository" {
	local dir="$BATS_FILE_TMPDIR/ccp-git"
	cpactl_run doctor --json --container ccp-git
	no_secret
	absent env-file-committed
	git -C "$dir" init -q
	git -C "$dir" add .env
	git -C "$dir" -c user.name=test -c user.email=test@example.invalid commit -q -m settings
	doctor ccp-git
	problem env-file-committed
}

@test "doctor: a committed compose file that spells out a key (secret-committed)" {
	doctor ccp-keyfile
	finding secret-committed error
	# Its .env is not in git (only the compose file was added).
	absent env-file-committed
	cpactl_run doctor --json --container ccp-clean
	absent secret-committed
}

@test "doctor: the mounted .env gone from the host (env-file-missing)" {
	cpactl_run doctor --json --container ccp-envgone
	no_secret
	absent env-file-missing
	rm "$BATS_FILE_TMPDIR/ccp-envgone/.env"
	doctor ccp-envgone
	finding env-file-missing error
}

@test "doctor: no env file at all, the settings only in the environment (env-file-unknown)" {
	cpactl_run doctor --json --container ccp-http "${HTTP[@]}"
	no_secret
	finding env-file-unknown info
	cpactl_run doctor --json --container ccp-clean
	absent env-file-unknown
}

@test "doctor: /health answers 503 unhealthy (api-error)" {
	doctor ccp-unhealthy
	finding api-error error
	[[ "$(jqo '.findings[] | select(.code == "api-error") | .what')" == *503* ]]
}

@test "doctor: nothing answers on the API port (api-unreachable)" {
	doctor ccp-hang --timeout 2
	finding api-unreachable error
}

# --- any HTTP proxy: --profile http ----------------------------------------------------

@test "--profile http: discover takes the port and probe path given" {
	cpactl_run discover --json --container ccp-http "${HTTP[@]}"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].name')" = ccp-http ]
	[ "$(jqo '.[0].profile')" = http ]
	[ "$(jqo '.[0].probe_path')" = /health ]
	[ "$(jqo '.[0].container_port')" = 8082 ]
	[ "$(jqo '.[0].api_port.host_ip')" = 127.0.0.1 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P_HTTP" ]
	# For people: the profile, the health path, where the settings are.
	cpactl_run discover --container ccp-http "${HTTP[@]}"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[[ "$stderr" == *"profile       http, health GET /health"* ]] || { show; false; }
	[[ "$stderr" == *"settings      the container's environment (no env file found)"* ]] || { show; false; }
	[[ "$stderr" != *"(null)"* ]] || { show; false; }
	cpactl_run discover --container ccp-prod
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"settings      $ROOT/.env (host)"* ]] || { show; false; }
	[[ "$stderr" == *"client key    set"* ]] || { show; false; }
}

@test "--profile http: backup under --root, list and verify" {
	cpactl_run backup --json --container ccp-http "${HTTP[@]}" --root "$HTTP_ROOT"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	local id
	id=$(jqo .id)
	[ -d "$HTTP_ROOT/backup/$id" ] || { show; false; }
	[ ! -e "$HTTP_ROOT/backup/$id/auth.tar" ]
	cpactl_run list --json --root "$HTTP_ROOT"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo --arg id "$id" '[.[] | select(.id == $id)] | length')" = 1 ]
	cpactl_run verify --json --root "$HTTP_ROOT"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'map(.ok) | all')" = true ]
}

@test "--profile http: status probes /health, healthy, exit 0" {
	cpactl_run status --json --container ccp-http "${HTTP[@]}"
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(jqo '.[0].healthy')" = true ]
	[ "$(probe_status)" = 200 ]
}

@test "--profile http: upgrade to v1.1.0 and rollback to the backup, the environment kept" {
	local env_before id
	env_before=$(env_of ccp-http)
	cpactl_run upgrade --container ccp-http "${HTTP[@]}" --root "$HTTP_ROOT" --image "$IMAGE:v1.1.0" --no-pull \
		--test-port "$TP" --timeout 20 --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(served_version "$P_HTTP")" = v1.1.0 ]
	[ "$(env_of ccp-http)" = "$env_before" ] || { echo "the environment changed"; false; }
	[[ "$stderr" == *"candidate passed: /health answered healthy (HTTP 200)"* ]] || { show; false; }
	id=$(jqo .snapshot)
	[ -n "$id" ] && [ "$id" != null ] || { show; false; }
	# A release that never says it is healthy is refused, production untouched.
	cpactl_run upgrade --container ccp-http "${HTTP[@]}" --root "$HTTP_ROOT" --image "$IMAGE:v1.1.1-unhealthy" \
		--no-pull --test-port "$TP" --timeout 6 --yes
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(served_version "$P_HTTP")" = v1.1.0 ]
	cpactl_run rollback "$id" --container ccp-http "${HTTP[@]}" --root "$HTTP_ROOT" --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(served_version "$P_HTTP")" = v1.0.0 ]
	[ "$(health_code "$P_HTTP")" = 200 ]
	[ "$(env_of ccp-http)" = "$env_before" ] || { echo "the environment changed"; false; }
	[ "$(messages_code "$P_HTTP" "$CLIENT_KEY")" = 200 ]
	[ "$(messages_code "$P_HTTP" wrong-key)" = 401 ]
}

@test "bad values of the profile options: a usage error that says what is wrong, exit 2" {
	cpactl_run discover --profile nginx
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"unknown profile 'nginx' (known: cpa, claude-code-proxy, http)"* ]] || { show; false; }
	cpactl_run status --api-port 70000
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"--api-port '70000' is not a port"* ]] || { show; false; }
	cpactl_run --api-port x status
	[ "$status" -eq 2 ] || { show; false; }
	cpactl_run status --probe-path health
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"must be a path that starts with '/'"* ]] || { show; false; }
	cpactl_run backup --env-file "$BATS_FILE_TMPDIR/no-such.env" --container ccp-http
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"no-such.env"* ]] || { show; false; }
	# A container without an env file and without --root: where would the backup go?
	cpactl_run backup --container ccp-http "${HTTP[@]}"
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"--env-file FILE"* ]] || { show; false; }
	# Before the verb as well as after it.
	cpactl_run --profile http --api-port 8082 --probe-path /health --container ccp-http status --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].profile')" = http ]
}

@test "rollback when the snapshot's tag has moved: cpactl's rollback tag, still a claude-code-proxy" {
	docker tag "$IMAGE:v1.0.0" "$IMAGE:moving"
	run_ccp ccp-moved moving -p "127.0.0.1:$P_MOVED:8082" "${SAFE[@]}"
	wait_health "$P_MOVED"
	cpactl_run backup --json --container ccp-moved
	[ "$status" -eq 0 ] || { show; false; }
	local id
	id=$(jqo .id)
	# The tag moves on to another release, and production follows it.
	docker tag "$IMAGE:v1.1.0" "$IMAGE:moving"
	cpactl_run upgrade --container ccp-moved --image "$IMAGE:moving" --no-pull --test-port "$TP" --timeout 20 --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(served_version "$P_MOVED")" = v1.1.0 ]
	cpactl_run rollback "$id" --container ccp-moved --yes
	[ "$status" -eq 0 ] || { show; false; }
	no_secret
	[ "$(served_version "$P_MOVED")" = v1.0.0 ]
	[[ "$(docker inspect -f '{{.Config.Image}}' ccp-moved)" == cpactl-rollback:ccp-moved-* ]]
	[ "$(label_of ccp-moved io.cpactl.profile)" = claude-code-proxy ]
	# Without any option, discovery and status still know what it is.
	cpactl_run discover --json --container ccp-moved
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].profile')" = claude-code-proxy ]
	cpactl_run status --json --container ccp-moved
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].probe_path')" = /health ]
}

@test "a PORT in the bind-mounted .env (the image sets none): discover and the candidate use it" {
	local dir="$BATS_FILE_TMPDIR/ccp-dotport" port
	. "$BATS_TEST_DIRNAME/../engine.sh" # free_port
	port=$(free_port)
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$dir" >/dev/null
	sed -i 's/^PORT=8082$/PORT=8090/' "$dir/.env"
	docker run -d --name ccp-dotport -v "$dir/.env:/app/.env" -p "127.0.0.1:$port:8090" "$IMAGE:v1.0.0" >/dev/null
	wait_health "$port"
	cpactl_run discover --json --container ccp-dotport
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].container_port')" = 8090 ] || { show; false; }
	cpactl_run upgrade --container ccp-dotport --image "$IMAGE:v1.1.0" --no-pull --root "$dir" --timeout 20 --dry-run --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .candidate.ok)" = true ] || { show; false; }
	no_secret
}

@test "an image built by the upstream compose file (<project>-proxy:latest) is known by its command" {
	local dir="$BATS_FILE_TMPDIR/ccp-built"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy-ccp.sh" "$dir" >/dev/null
	docker tag "$IMAGE:v1.0.0" ccpbuilt-proxy:latest
	docker run -d --name ccp-built -v "$dir/.env:/app/.env" ccpbuilt-proxy:latest >/dev/null
	cpactl_run discover --json --container ccp-built
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].profile')" = claude-code-proxy ] || { show; false; }
	[ "$(jqo '.[0].problems | length')" = 0 ] || { show; false; }
	docker rm -f ccp-built >/dev/null
	docker rmi ccpbuilt-proxy:latest >/dev/null
}
