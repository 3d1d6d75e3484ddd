#!/usr/bin/env bats
# upgrade against the real engine: refusals that leave production untouched,
# a good upgrade that keeps every setting, an automatic rollback, a config
# migration, the confirmation rules and the lock.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ROOT TP HC_PORT
	PORT=$(free_port)
	TP=$(free_port)
	HC_PORT=$(free_port)
	deploy up-prod v7.1.0 -p "127.0.0.1:$PORT:8317" --restart unless-stopped \
		-e USER_SETTING=kept --label owner=ops
	ROOT="$BATS_FILE_TMPDIR/up-prod"
	wait_port "$PORT"
}

teardown_file() {
	docker ps -aq --filter name=up- | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker network rm up-net-a up-net-b >/dev/null 2>&1 || true
}

prod_id() {
	docker inspect -f '{{.Id}} {{.State.StartedAt}}' up-prod
}

# upgrade ARGS...: the common options of these tests.
upgrade() {
	cpactl_run upgrade --container up-prod --no-pull --test-port "$TP" --json "$@"
}

@test "without a terminal and without --yes: exit 5, production untouched" {
	local before
	before=$(prod_id)
	upgrade --image eceasy/cli-proxy-api:v7.2.0 --timeout 15 </dev/null
	[ "$status" -eq 5 ] || { show; false; }
	[ "$(jqo .outcome)" = declined ]
	[ "$(jqo .candidate.ok)" = true ]
	[ "$(prod_id)" = "$before" ]
	[ -z "$(docker ps -aq --filter name=up-prod-cpactl)" ]
}

@test "--dry-run tests the candidate, prints the plan with env values hidden, changes nothing" {
	local before
	before=$(prod_id)
	upgrade --image eceasy/cli-proxy-api:v7.2.0 --timeout 15 --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = dry-run ]
	[ "$(jqo .plan.create.Image)" = eceasy/cli-proxy-api:v7.2.0 ]
	[[ "$(jqo '.plan.create.Env | join(" ")')" == *"USER_SETTING=***"* ]]
	[[ "$output" != *"=kept"* ]]
	[ "$(prod_id)" = "$before" ]
	# For a person: the candidate passed, and the offline warnings are one
	# line that says they are harmless, not a failure.
	cpactl_run upgrade --container up-prod --no-pull --test-port "$TP" --image eceasy/cli-proxy-api:v7.2.0 \
		--timeout 15 --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"candidate passed: v7.2.0"* ]]
	[ "$(grep -c 'harmless' <<<"$stderr")" = 1 ]
	[[ "$(grep 'harmless' <<<"$stderr")" == "candidate: note: harmless: the warnings 'failed to refresh antigravity version' and 'failed to fetch latest management release information'"* ]]
	[ "$(prod_id)" = "$before" ]
}

@test "--dry-run's plan holds no secret of the healthcheck or the command" {
	# Healthchecks that send the client key (or the management password)
	# are common.  The interval keeps the check from ever running.
	deploy up-hc v7.1.0 -p "127.0.0.1:$HC_PORT:8317" -e MANAGEMENT_PASSWORD=SECRET-FIXTURE-mgmt-env-41c2 \
		--health-interval 1h \
		--health-cmd "wget -qO- --header 'Authorization: Bearer $FIXTURE_KEY' --header 'X-Pw: SECRET-FIXTURE-mgmt-env-41c2' http://127.0.0.1:8317/v1/models"
	wait_port "$HC_PORT"
	cpactl_run upgrade --container up-hc --no-pull --test-port "$TP" --json --image eceasy/cli-proxy-api:v7.2.0 \
		--timeout 15 --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.plan.create.Healthcheck.Test | join(" ")')" == *"Authorization: Bearer ***' --header 'X-Pw: ***'"* ]]
	[[ "$output$stderr" != *SECRET-FIXTURE* ]]
	docker rm -f up-hc >/dev/null
}

@test "a production someone stopped is not started behind their back: refused without --start" {
	local d
	d=$(deploy_dir up-stopped)
	docker create --name up-stopped -p "127.0.0.1:$HC_PORT:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	cpactl_run upgrade --container up-stopped --no-pull --yes --json --image eceasy/cli-proxy-api:v7.2.0 --timeout 15
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"'up-stopped' is created"*"--start"* ]]
	inspect_is up-stopped '{{.State.Status}} {{.Config.Image}}' "created eceasy/cli-proxy-api:v7.1.0"
	cpactl_run upgrade --container up-stopped --no-pull --yes --json --image eceasy/cli-proxy-api:v7.2.0 --timeout 15 \
		--start --no-backup
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"the new release will be started (--start)"* ]]
	inspect_is up-stopped '{{.State.Status}} {{.Config.Image}}' "running eceasy/cli-proxy-api:v7.2.0"
	docker ps -aq --filter name=up-stopped | xargs -r docker rm -f >/dev/null
}

@test "each bad release is refused before promotion, with reasons that name what went wrong; production keeps its id and start time" {
	local before mode reasons
	before=$(prod_id)
	for mode in crash exit0 neverready badauth err500 panic dropmodels fewerclients; do
		# neverready never answers: it only waits out the deadline.
		upgrade --image "eceasy/cli-proxy-api:v7.2.1-$mode" --timeout "$([ "$mode" = neverready ] && echo 3 || echo 6)" --yes
		[ "$status" -eq 1 ] || { echo "mode $mode"; show; false; }
		[ "$(jqo .outcome)" = refused ] || { echo "mode $mode"; show; false; }
		[ "$(jqo '.candidate.reasons | length')" -gt 0 ] || { echo "mode $mode: no reason"; show; false; }
		[ "$(prod_id)" = "$before" ] || { echo "mode $mode touched production"; false; }
		echo "$mode: $(jqo '.candidate.reasons[0]')" >&3
		# The reasons name what went wrong; bad releases fail on the lines
		# real CPA logs as errors, not on its warnings.
		reasons=$(jqo '.candidate.reasons | join(" ")')
		case $mode in
		badauth) [[ "$reasons" == *"401"*"Invalid API key"* ]] ;;
		dropmodels) [[ "$reasons" == *"is missing"* ]] ;;
		fewerclients) [[ "$reasons" == *"clients where production loads 7"* ]] ;;
		crash) [[ "$reasons" == *"exited with code"* && "$stderr" == *"last log lines"* ]] ;;
		panic) [[ "$reasons" == *"[error] [gin_logger.go:129] recovered from panic"* && "$reasons" != *"antigravity"* ]] ;;
		exit0) [[ "$reasons" == *"[error] [main.go:531] failed to load config"* && "$reasons" != *"management release"* ]] ;;
		esac || { echo "mode $mode: the reasons do not say what went wrong: $reasons"; false; }
	done
	curl -fsS -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$PORT/v1/models"
	[ -z "$(docker ps -aq --filter name=up-prod-cpactl-candidate)" ]
}

@test "a second upgrade while one holds the lock exits 4" {
	hold_lock "$ROOT/.cpactl/lock" 3
	upgrade --image eceasy/cli-proxy-api:v7.2.0 --yes
	wait
	[ "$status" -eq 4 ] || { show; false; }
}

@test "a good upgrade v7.1.0 -> v7.2.0: same port, settings kept, old defaults gone, old kept stopped" {
	upgrade --image eceasy/cli-proxy-api:v7.2.0 --timeout 20 --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	# The test host is offline, as many real ones are: both releases logged
	# CPA's two "failed to ..." warnings, and each verdict names them once,
	# as harmless, instead of refusing the release.
	docker logs up-prod 2>&1 | grep -q '\[warn \] \[antigravity_version.go:94\] failed to refresh antigravity version'
	[ "$(jqo '.candidate.notes | map(select(startswith("harmless"))) | length')" = 1 ]
	[[ "$(jqo '.candidate.notes | join(" ")')" == *"failed to refresh antigravity version"*"failed to fetch latest management release information"* ]]
	local snap prev
	snap=$(jqo .snapshot)
	prev="up-prod-cpactl-prev-$snap"
	[ "$(jqo .previous_container)" = "$prev" ]
	run curl -fsS -D - -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$PORT/v1/models"
	[ "$status" -eq 0 ]
	# CPA names its version on /v0/management/* only, and in its log.
	[[ "$output" != *"X-Cpa-Version"* && "$output" != *"X-CPA-VERSION"* ]]
	docker logs up-prod 2>&1 | grep -q 'CLIProxyAPI Version: v7.2.0,'
	[ "$(docker inspect -f '{{.Config.Image}}' up-prod)" = eceasy/cli-proxy-api:v7.2.0 ]
	run docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' up-prod
	[[ "$output" == *"USER_SETTING=kept"* ]]
	[[ "$output" == *"TZ=UTC"* ]]
	[[ "$output" != *"FAKECPA_DEFAULT=v1-only"* ]]
	[[ "$output" != *"Asia/Shanghai"* ]]
	[ "$(docker inspect -f '{{index .Config.Labels "owner"}}' up-prod)" = ops ]
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' up-prod)" = unless-stopped ]
	[ "$(docker inspect -f '{{(index (index .HostConfig.PortBindings "8317/tcp") 0).HostIp}}' up-prod)" = 127.0.0.1 ]
	[ "$(docker inspect -f '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}' "$prev")" = "false no" ]
	[ ! -e "$ROOT/.cpactl/journal.json" ]
	[ -z "$(ls "$ROOT/.cpactl/scratch" 2>/dev/null)" ]
}

@test "upgrading to the image it runs says already up to date (exit 0)" {
	upgrade --image eceasy/cli-proxy-api:v7.2.0 --yes --no-backup
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = up-to-date ]
	[[ "$stderr" == *"already up to date"* ]]
}

@test "a downgrade needs --allow-downgrade" {
	upgrade --image eceasy/cli-proxy-api:v6.9.0 --yes --no-backup
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"--allow-downgrade"* ]]
}

@test "a release that passes the candidate but fails on the production port is rolled back" {
	local before_image
	before_image=$(docker inspect -f '{{.Image}}' up-prod)
	upgrade --image eceasy/cli-proxy-api:v7.2.1-prodfail --timeout 8 --yes
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = rolled-back ]
	[ "$(jqo .candidate.ok)" = true ]
	[ "$(jqo .production.ok)" = false ]
	[ "$(docker inspect -f '{{.Image}}' up-prod)" = "$before_image" ]
	[ "$(docker inspect -f '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}' up-prod)" = "true unless-stopped" ]
	curl -fsS -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$PORT/v1/models"
	[ -n "$(docker ps -aq --filter name=up-prod-cpactl-failed)" ]
	[ ! -e "$ROOT/.cpactl/journal.json" ]
}

@test "a release that rewrites config.yaml: production's file untouched until promotion, diff masked, history commit" {
	local d port
	d=$(deploy_dir up-rw)
	port=$(free_port_e2e)
	printf 'amp-upstream-url: "https://ampcode.com"\namp-upstream-api-key: "SECRET-FIXTURE-amp-77aa"\n' >>"$d/config.yaml"
	docker run -d --name up-rw -p "127.0.0.1:$port:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$port"
	local before
	before=$(sha256sum <"$d/config.yaml")
	cpactl_run upgrade --container up-rw --no-pull --test-port "$TP" --json \
		--image eceasy/cli-proxy-api:v7.2.1-rewrite --timeout 10 --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(sha256sum <"$d/config.yaml")" = "$before" ]
	[[ "$(jqo .config_diff)" == *"+ampcode:"* ]]
	[[ "$(jqo .config_diff)" == *"upstream-api-key: ***"* ]]
	cpactl_run upgrade --container up-rw --no-pull --test-port "$TP" --json \
		--image eceasy/cli-proxy-api:v7.2.1-rewrite --timeout 10 --yes
	[ "$status" -eq 0 ] || { show; false; }
	grep -q '^ampcode:' "$d/config.yaml"
	cpactl_run config log --container up-rw --json
	[[ "$(jqo '.[0].message')" == upgrade* ]]
}

free_port_e2e() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	free_port
}

@test "every setting the user gave survives; networks keep aliases and static IPs; the candidate gets none" {
	docker network create up-net-a --subnet 10.231.77.0/24 >/dev/null
	docker network create up-net-b >/dev/null
	local d port
	d=$(deploy_dir up-full)
	port=$(free_port_e2e)
	docker create --name up-full -p "127.0.0.1:$port:8317" -p "127.0.0.1::8085" \
		-v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		--tmpfs /run/cpa:size=1m -e USER_SETTING=kept -e TZ=Europe/Berlin --label owner=ops \
		--restart on-failure:3 --network up-net-a --network-alias cpa-api --ip 10.231.77.50 \
		--log-driver json-file --log-opt max-size=5m --memory 256m --security-opt no-new-privileges \
		--cap-drop NET_RAW --add-host upstream.local:10.0.0.9 --dns 10.0.0.53 --hostname cpa-host \
		--stop-signal SIGINT --stop-timeout 7 --health-cmd "/CLIProxyAPI/CLIProxyAPI --version" \
		--health-interval 30s eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker network connect --alias cpa-b up-net-b up-full
	docker start up-full >/dev/null
	wait_port "$port"
	cpactl_run upgrade --container up-full --no-pull --test-port "$TP" --json \
		--image eceasy/cli-proxy-api:v7.2.0 --timeout 15 --yes
	[ "$status" -eq 0 ] || { show; false; }
	f() { docker inspect -f "$1" up-full; }
	[ "$(f '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')" = on-failure:3 ]
	[ "$(f '{{.HostConfig.Memory}}')" = 268435456 ]
	[ "$(f '{{.HostConfig.SecurityOpt}}')" = "[no-new-privileges]" ]
	[[ "$(f '{{.HostConfig.CapDrop}}')" == *NET_RAW* ]]
	[ "$(f '{{.HostConfig.ExtraHosts}}')" = "[upstream.local:10.0.0.9]" ]
	[ "$(f '{{.HostConfig.Dns}}')" = "[10.0.0.53]" ]
	[ "$(f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}')" = "json-file 5m" ]
	[ "$(f '{{index .HostConfig.Tmpfs "/run/cpa"}}')" = size=1m ]
	[ "$(f '{{.Config.Hostname}}')" = cpa-host ]
	[ "$(f '{{.Config.StopSignal}} {{.Config.StopTimeout}}')" = "SIGINT 7" ]
	[ -n "$(f '{{.Config.Healthcheck.Test}}')" ]
	[ "$(f '{{(index (index .HostConfig.PortBindings "8085/tcp") 0).HostIp}}')" = 127.0.0.1 ]
	run docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' up-full
	[[ "$output" == *"USER_SETTING=kept"* && "$output" == *"TZ=Europe/Berlin"* ]]
	[[ "$output" == *"FAKECPA_NEWDEFAULT=v2"* && "$output" != *"FAKECPA_DEFAULT=v1-only"* ]]
	[ "$(f '{{(index .NetworkSettings.Networks "up-net-a").IPAMConfig.IPv4Address}}')" = 10.231.77.50 ]
	[[ "$(f '{{(index .NetworkSettings.Networks "up-net-a").Aliases}}')" == *cpa-api* ]]
	[[ "$(f '{{(index .NetworkSettings.Networks "up-net-b").Aliases}}')" == *cpa-b* ]]
	curl -fsS -o /dev/null -H "Authorization: Bearer $FIXTURE_KEY" "http://127.0.0.1:$port/v1/models"
}

@test "compose: the file that pins the old image is named, and --update-compose-file changes it" {
	local d port
	d=$(deploy_dir up-cmp)
	port=$(free_port_e2e)
	printf 'services:\n  cli-proxy-api:\n    image: eceasy/cli-proxy-api:v7.1.0\n    ports:\n      - "127.0.0.1:%s:8317"\n' \
		"$port" >"$d/docker-compose.yml"
	docker run -d --name up-cmp -p "127.0.0.1:$port:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" --label com.docker.compose.project=cpa \
		--label com.docker.compose.service=cli-proxy-api \
		--label "com.docker.compose.project.config_files=$d/docker-compose.yml" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$port"
	cpactl_run upgrade --container up-cmp --no-pull --test-port "$TP" --image eceasy/cli-proxy-api:v7.2.0 \
		--timeout 15 --yes --no-backup --update-compose-file
	[ "$status" -eq 0 ] || { show; false; }
	grep -q 'image: eceasy/cli-proxy-api:v7.2.0' "$d/docker-compose.yml"
	ls "$d/.cpactl/"compose-*.yml >/dev/null
	grep -q 'image: eceasy/cli-proxy-api:v7.1.0' "$d"/.cpactl/compose-*.yml
	[ "$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' up-cmp)" = cli-proxy-api ]
	cpactl_run upgrade --container up-cmp --no-pull --test-port "$TP" --image eceasy/cli-proxy-api:v7.2.60 \
		--timeout 15 --yes --no-backup
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"compose manages 'up-cmp'"*"$d/docker-compose.yml"*"v7.2.0"* ]]
}

@test "no fixture secret in anything upgrade printed" {
	! grep -rq SECRET-FIXTURE "$CPACTL_OUTPUT_LOG"
}
