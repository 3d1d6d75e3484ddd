#!/usr/bin/env bats
# The deployments CPA's own repository ships, run with Debian's docker-compose:
# tests/fixtures/compose/docker-compose.yml (upstream's six published ports,
# config.yaml, auths, logs and plugins binds, ${CLI_PROXY_IMAGE:-...} set in
# .env) and docker-compose.cluster.yml (a cluster node: HOME_JWT, no
# config.yaml).  Each fixture file says what it changes from upstream and why.
# discover, backup, upgrade, rollback and doctor on both (issue: faithful to
# the real CPA, item 9).

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export UP NODE P1 P_NODE HOME_IP HOME_PORT JWT
	UP="$BATS_FILE_TMPDIR/cpa-up"
	NODE="$BATS_FILE_TMPDIR/cpa-node"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy.sh" "$UP" >/dev/null
	chmod 700 "$UP"
	mv "$UP/auth" "$UP/auths"
	mkdir -m 755 "$UP/logs" "$UP/plugins"
	printf 'plugin 1.0.0\n' >"$UP/plugins/fixture-v1.0.0.so"
	cp "$BATS_TEST_DIRNAME/../fixtures/compose/docker-compose.yml" "$UP/"
	P1=$(free_port)
	{
		echo "CLI_PROXY_IMAGE=eceasy/cli-proxy-api:v7.1.0"
		echo "CPA_P1=$P1"
		for n in 2 3 4 5 6; do echo "CPA_P$n=$(free_port)"; done
	} >"$UP/.env"
	(cd "$UP" && docker-compose up -d) >/dev/null 2>&1
	# The cluster node: its home dir is the auth dir, its JWT in .env.  The
	# JWT names a fake CLIProxyAPIHome on the engine's bridge, which serves
	# the node's config and counts subscriptions per identity; its signature
	# is a fixture secret, so the closing grep finds any leak of the JWT.
	mkdir -p "$NODE/home" "$NODE/logs" "$NODE/plugins"
	chmod 700 "$NODE" "$NODE/home"
	cp "$BATS_TEST_DIRNAME/../fixtures/compose/docker-compose.cluster.yml" "$NODE/docker-compose.yml"
	HOME_PORT=$(free_port)
	docker run -d --name cmp-home --entrypoint /CLIProxyAPI/CLIProxyAPI -p "127.0.0.1:$HOME_PORT:9200" \
		-e 'FAKE_HOME_CONFIG=port: 8317\napi-keys:\n  - "SECRET-FIXTURE-homekey-7a1d"\n' \
		eceasy/cli-proxy-api:v7.2.0 fake-home >/dev/null
	HOME_IP=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' cmp-home)
	JWT="$(b64url '{"alg":"none","typ":"JWT"}').$(b64url "{\"certificate_id\":\"node-1\",\"cluster_id\":\"c1\",\"ca_fingerprint\":\"ab:cd\",\"enrollment_secret\":\"SECRET-FIXTURE-enroll-3e9b\",\"ip\":\"$HOME_IP\",\"port\":9200,\"iat\":1764800000}").SECRET-FIXTURE-jwtsig-9c4e"
	P_NODE=$(free_port)
	printf 'CLI_PROXY_IMAGE=eceasy/cli-proxy-api:v7.2.0\nHOME_JWT=%s\nCPA_P1=%s\n' "$JWT" "$P_NODE" >"$NODE/.env"
	(cd "$NODE" && docker-compose up -d) >/dev/null 2>&1
	wait_port "$P1"
	wait_for 30 "the cluster node subscribed to the fake Home" home_connected node-1 1
	wait_for 30 "the cluster node answering /healthz 200 on 127.0.0.1:$P_NODE" node_healthy
}

b64url() {
	printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# GET /state of the fake Home, through its loopback port.
home_state() {
	curl -fsS --max-time 2 "http://127.0.0.1:$HOME_PORT/state"
}

# home_takeovers_at_least ID N
home_takeovers_at_least() {
	[ "$(home_state | jq -r --arg id "$1" '.[$id].takeovers')" -ge "$2" ]
}

# home_connected ID N: N processes hold the membership of ID.
home_connected() {
	[ "$(home_state | jq -r --arg id "$1" '.[$id].connected')" = "$2" ]
}

node_healthy() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$P_NODE/healthz")" = 200 ]
}

node_unavailable() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$P_NODE/healthz")" = 503 ]
}

teardown_file() {
	(cd "$UP" && docker-compose down -t 1) >/dev/null 2>&1 || true
	(cd "$NODE" && docker-compose down -t 1) >/dev/null 2>&1 || true
	docker ps -aq --filter name=cli-proxy-api | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker rm -f cmp-home cmp-twin >/dev/null 2>&1 || true
}

tree_sha() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum)
}

@test "upstream compose: discover sees the project, the six ports, every bind" {
	cpactl_run discover --json --container cli-proxy-api
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].version')" = v7.1.0 ]
	[ "$(jqo '.[0].compose.project')" = cpa-up ]
	[ "$(jqo '.[0].compose.service')" = cli-proxy-api ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P1" ]
	[ "$(jqo '.[0].config_path')" = "$UP/config.yaml" ]
	[ "$(jqo '.[0].auth_dir')" = "$UP/auths" ]
	[ "$(jqo '.[0].problems | length')" = 0 ] || { show; false; }
	[ "$(docker port cli-proxy-api | wc -l)" = 6 ]
}

@test "upstream compose: backup, upgrade (logs and plugins untouched, six ports kept), rollback, doctor" {
	cpactl_run backup --container cli-proxy-api --json
	[ "$status" -eq 0 ] || { show; false; }
	[ -f "$(jqo .path)/plugins.tar" ]
	local logs plugins ports snap
	snap=$(jqo .id)
	logs=$(tree_sha "$UP/logs")
	plugins=$(tree_sha "$UP/plugins")
	ports=$(docker port cli-proxy-api | sort)
	cpactl_run upgrade --container cli-proxy-api --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes \
		--timeout 10 --no-backup --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	[ "$(served_cpa_version "$P1")" = v7.2.0 ]
	[ "$(docker port cli-proxy-api | sort)" = "$ports" ]
	[ "$(tree_sha "$UP/plugins")" = "$plugins" ]
	# The candidate wrote no line into production's logs dir.
	[ "$(tree_sha "$UP/logs")" = "$logs" ]
	# compose still names the old image through ${CLI_PROXY_IMAGE}: said.
	[[ "$stderr" == *"compose"* ]] || { show; false; }
	cpactl_run rollback "$snap" --container cli-proxy-api --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(served_cpa_version "$P1")" = v7.1.0 ]
	[ "$(docker port cli-proxy-api | sort)" = "$ports" ]
	cpactl_run doctor --container cli-proxy-api --json
	[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo '.summary.error')" = 0 ] || { show; false; }
	no_secret
}

@test "upstream compose: doctor names pull_policy: always and a build: section as risks" {
	# Upstream's file has pull_policy: always; the fixture leaves it out
	# (the test host cannot pull), so it is put back for doctor to read.
	cpactl_run doctor --container cli-proxy-api --json
	absent compose-pull-always
	absent compose-build
	# compose v1 records the file relative to the project dir: read there.
	absent compose-unread
	cp "$UP/docker-compose.yml" "$BATS_TEST_TMPDIR/orig.yml"
	sed -i 's|^    image: \${CLI_PROXY_IMAGE.*|&\n    pull_policy: always\n    build: .|' "$UP/docker-compose.yml"
	cpactl_run doctor --container cli-proxy-api --json
	cp "$BATS_TEST_TMPDIR/orig.yml" "$UP/docker-compose.yml"
	finding compose-pull-always warning
	finding compose-build warning
	[[ "$(jqo '.findings[] | select(.code == "compose-pull-always") | .fix')" == *"pull_policy: missing"* ]]
	no_secret
}

@test "cluster compose: discover, backup and doctor know the node; upgrade and rollback refuse with what to do" {
	cpactl_run discover --json --container cli-proxy-api-cluster
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].cluster')" = HOME_JWT ] || { show; false; }
	[ "$(jqo '.[0].probe_path')" = /healthz ] || { show; false; }
	[ "$(jqo '.[0].compose.project')" = cpa-node ]
	# Its keys live in Home: probed where no key is needed, it is healthy,
	# and doctor does not ask for api-keys.
	cpactl_run status --json --container cli-proxy-api-cluster
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].healthy') $(jqo '.[0].http_status')" = "true 200" ] || { show; false; }
	cpactl_run backup --container cli-proxy-api-cluster --root "$NODE" --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.warnings | join(" ")')" == *"cluster node"* ]] || { show; false; }
	local snap
	snap=$(jqo .id)
	cpactl_run doctor --container cli-proxy-api-cluster --root "$NODE" --json
	[ "$(jqo '[.findings[] | select(.code == "cluster-node")] | length')" = 1 ] || { show; false; }
	[ "$(jqo '.summary.error')" = 0 ] || { show; false; }
	cpactl_run upgrade --container cli-proxy-api-cluster --root "$NODE" --no-pull \
		--image eceasy/cli-proxy-api:v7.2.60 --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"cluster node (HOME_JWT)"* ]] || { show; false; }
	cpactl_run rollback "$snap" --container cli-proxy-api-cluster --root "$NODE" --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"cluster node"*"eceasy/cli-proxy-api:v7.2.0"*"CLI_PROXY_IMAGE"* ]] ||
		{ show; false; }
	[ -z "$(docker ps -aq --filter name=cli-proxy-api-cluster-cpactl)" ]
	no_secret
	[[ "$output$stderr" != *"$JWT"* ]]
	# No verb ran a second process with the node's identity: one
	# subscription, never taken over, and the node still serves.
	[ "$(home_state | jq -c '."node-1"')" = '{"connected":1,"subscriptions":1,"takeovers":0}' ] || { home_state; false; }
	node_healthy
}

@test "cluster: the fake Home catches a second process with the node's identity (what cpactl must never start)" {
	local before
	before=$(home_state | jq -r '."node-1".subscriptions')
	# As a candidate with production's environment would: same JWT, same image.
	docker run -d --name cmp-twin -e HOME_JWT="$JWT" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	wait_for 30 "the twin taking the membership over" home_takeovers_at_least node-1 1
	# The node lost its heartbeat: every API path answers 503.
	wait_for 30 "the node answering 503 while its membership is taken" node_unavailable
	docker rm -f cmp-twin >/dev/null
	# It subscribes again and serves.
	wait_for 30 "the node serving again" node_healthy
	[ "$(home_state | jq -r '."node-1".subscriptions')" -ge $((before + 2)) ]
}

@test "cluster: with Home down the node refuses requests; status and doctor say why" {
	curl -fsS --max-time 2 "http://127.0.0.1:$HOME_PORT/outage/on" >/dev/null
	wait_for 30 "the node answering 503 without Home" node_unavailable
	cpactl_run status --json --container cli-proxy-api-cluster
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"/healthz answered 503: the cluster node has no heartbeat from CLIProxyAPIHome"* ]] ||
		{ show; false; }
	cpactl_run doctor --container cli-proxy-api-cluster --root "$NODE" --json
	[ "$(jqo '[.findings[] | select(.code == "cluster-heartbeat-down")] | length')" = 1 ] || { show; false; }
	no_secret
	curl -fsS --max-time 2 "http://127.0.0.1:$HOME_PORT/outage/off" >/dev/null
	wait_for 30 "the node serving again once Home is back" node_healthy
}
