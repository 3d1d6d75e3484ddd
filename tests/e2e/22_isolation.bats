#!/usr/bin/env bats
# The candidate cannot touch production (issue: faithful to the real CPA).
#
# Production writes its log to logs/main.log (logging-to-file) with CPA's log
# dir cleaner on (logs-max-total-size-mb), loads a plugin from plugins/ (a
# release from v7.2.37 removes the older files of a plugin), and refreshes
# its OAuth token at start against a fake OAuth server that rotates refresh
# tokens and revokes the old one, as Anthropic's and OpenAI's do.  A
# candidate that shared those dirs, or that could reach the OAuth server,
# would delete production's old log and plugin files and leave production
# holding a revoked refresh token.  The last test shows that hazard with
# --candidate-network shared, so the others can fail.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ROOT TP OAUTH_PORT OAUTH_URL
	PORT=$(free_port)
	TP=$(free_port)
	OAUTH_PORT=$(free_port)
	# The provider's token endpoint: a container on the engine's bridge.
	docker run -d --name iso-oauth --entrypoint /CLIProxyAPI/CLIProxyAPI \
		-e FAKE_OAUTH_TOKEN=SECRET-FIXTURE-refresh-iso -p "127.0.0.1:$OAUTH_PORT:9000" \
		eceasy/cli-proxy-api:v7.2.0 fake-oauth >/dev/null
	OAUTH_URL="http://$(docker inspect -f '{{.NetworkSettings.IPAddress}}' iso-oauth):9000"
	wait_for 30 "the fake OAuth server answering /state on 127.0.0.1:$OAUTH_PORT" oauth_state
	ROOT=$(deploy_dir iso-prod)
	chmod 700 "$ROOT"
	mkdir -m 755 "$ROOT/logs" "$ROOT/plugins"
	cat >>"$ROOT/config.yaml" <<-'YAML'
		logging-to-file: true
		logs-max-total-size-mb: 1
		plugins:
		  enabled: true
		  configs:
		    fixture:
		      enabled: true
	YAML
	# Due at once: "expired" in the past.
	printf '%s\n' '{"type":"claude","email":"iso@example.com","access_token":"SECRET-FIXTURE-access-iso",' \
		'"refresh_token":"SECRET-FIXTURE-refresh-iso","expired":"2020-01-01T00:00:00Z"}' |
		tr -d '\n' >"$ROOT/auth/claude-iso@example.com.json"
	chmod 600 "$ROOT/auth/claude-iso@example.com.json"
	docker run -d --name iso-prod -p "127.0.0.1:$PORT:8317" -e FAKECPA_OAUTH_URL="$OAUTH_URL" \
		-v "$ROOT/config.yaml:/CLIProxyAPI/config.yaml" -v "$ROOT/auth:/root/.cli-proxy-api" \
		-v "$ROOT/logs:/CLIProxyAPI/logs" -v "$ROOT/plugins:/CLIProxyAPI/plugins" \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null
	wait_port "$PORT"
	wait_for 30 "production's refresh at start (the OAuth server issued 1 token)" oauth_issued 1
	# Put after production's start: its own cleaner ran then.  A candidate
	# sharing the dirs would delete both old files (2 MB > 1 MB; an older
	# plugin version).
	head -c 2097152 /dev/zero >"$ROOT/logs/main-2026-01-01.log"
	touch -d 2026-01-01 "$ROOT/logs/main-2026-01-01.log"
	printf 'plugin 1.0.0\n' >"$ROOT/plugins/fixture-v1.0.0.so"
	printf 'plugin 1.1.0\n' >"$ROOT/plugins/fixture-v1.1.0.so"
}

teardown_file() {
	docker ps -aq --filter name=iso- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

oauth_state() {
	curl -fsS --max-time 2 "http://127.0.0.1:$OAUTH_PORT/state"
}

# oauth_issued N: the OAuth server has issued N tokens.
oauth_issued() {
	[ "$(oauth_state | jq -r .issued)" = "$1" ]
}

# The refresh token production holds in its auth file.
prod_token() {
	jq -r .refresh_token "$ROOT/auth/claude-iso@example.com.json"
}

# Everything of production's a candidate could have changed: the old log,
# the plugins, the auth files (main.log is production's own, and grows).
state_sums() {
	(cd "$ROOT" && sha256sum logs/main-2026-01-01.log plugins/* auth/*)
}

upgrade() {
	cpactl_run upgrade --container iso-prod --no-pull --timeout 20 --json "$@"
}

@test "a failed candidate leaves production's logs, plugins and refresh token as they were" {
	local before
	before=$(state_sums)
	# v7.2.61 cleans up plugin files and would refresh the token; it drops models.
	upgrade --image eceasy/cli-proxy-api:v7.2.61-dropmodels --yes
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = refused ]
	[ "$(jqo .candidate.ok)" = false ]
	no_secret
	[ "$(state_sums)" = "$before" ]
	# Its log went to its own scratch dir, never into production's main.log.
	! grep -q 'v7.2.61' "$ROOT/logs/main.log"
	# It had no route to the OAuth server: nothing refreshed, nothing revoked.
	[ "$(oauth_state | jq -r '"\(.issued) \(.rejected)"')" = "1 0" ]
	[ "$(prod_token)" = "$(oauth_state | jq -r .current)" ]
}

@test "a good candidate leaves them as they were; after the upgrade production's refresh token is valid" {
	local before
	before=$(state_sums)
	upgrade --image eceasy/cli-proxy-api:v7.2.60 --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = dry-run ]
	[ "$(jqo .candidate.ok)" = true ]
	[[ "$stderr" == *"started with no network"* ]]
	# Its client count came from its own logs/main.log (logging-to-file):
	# 4 auth files and 4 API keys, as production's from production's.
	[ "$(jqo .candidate.clients)" = 8 ]
	no_secret
	[ "$(state_sums)" = "$before" ]
	! grep -q 'v7.2.60' "$ROOT/logs/main.log"
	[ "$(oauth_state | jq -r '"\(.issued) \(.rejected)"')" = "1 0" ]

	upgrade --image eceasy/cli-proxy-api:v7.2.60 --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	# Promoted, its count came from what it wrote to production's main.log
	# after the old release's lines (read through the engine).
	[ "$(jqo .production.clients)" = 8 ] || { show; false; }
	[[ "$(jqo '.production.notes | join(" ")')" != *"no client-load line"* ]]
	no_secret
	# The new production refreshed with the token production held: valid,
	# rotated once more, nothing rejected.
	wait_for 30 "the new production's refresh at start (2 tokens issued)" oauth_issued 2
	[ "$(oauth_state | jq -r .rejected)" = 0 ]
	wait_for 30 "production's auth file holding the current refresh token" \
		test "$(prod_token)" = "$(oauth_state | jq -r .current)"
	# Now production itself runs v7.2.60, which removes the older plugin file,
	# as the real release does.
	[ ! -e "$ROOT/plugins/fixture-v1.0.0.so" ]
	[ -e "$ROOT/plugins/fixture-v1.1.0.so" ]
	# The upgrade's snapshot holds the plugins, by name and version...
	[ "$(jq -r '[.plugin_files[] | "\(.plugin) \(.version)"] | join(",")' \
		"$ROOT/backup/$(jqo .snapshot)/manifest.json")" = "fixture 1.0.0,fixture 1.1.0" ]
	# ...and the rollback brings back the file the new release removed,
	# leaving the others as they are.
	cpactl_run rollback --container iso-prod --yes --timeout 20 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.plugins.missing | join(" ")')" = fixture-v1.0.0.so ] || { show; false; }
	[ "$(cat "$ROOT/plugins/fixture-v1.0.0.so")" = "plugin 1.0.0" ]
	[ "$(cat "$ROOT/plugins/fixture-v1.1.0.so")" = "plugin 1.1.0" ]
	no_secret
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
}

@test "--candidate-network shared: the candidate can refresh, and production's token is then revoked" {
	local issued
	issued=$(oauth_state | jq -r .issued)
	cpactl_run upgrade --container iso-prod --no-pull --timeout 20 --json --dry-run \
		--candidate-network shared --test-port "$TP" --image eceasy/cli-proxy-api:v7.2.60
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"it can reach the network"* ]]
	no_secret
	# The candidate's copy of the token was rotated: production holds a revoked one.
	[ "$(oauth_state | jq -r .issued)" = $((issued + 1)) ]
	[ "$(prod_token)" != "$(oauth_state | jq -r .current)" ]
}

@test "a refresh token that a provider echoes into CPA's debug log is masked where cpactl quotes the log" {
	local held
	# After the test above production holds a revoked refresh token, due at
	# once: a candidate that can reach the provider sends it and gets it
	# back in the error, which CPA logs at debug (conductor_refresh.go:537).
	held=$(prod_token)
	cp "$ROOT/config.yaml" "$BATS_TEST_TMPDIR/config.before"
	printf 'debug: true\n' >>"$ROOT/config.yaml"
	upgrade --dry-run --candidate-network shared --test-port "$TP" --image eceasy/cli-proxy-api:v7.2.1-badauth
	cat "$BATS_TEST_TMPDIR/config.before" >"$ROOT/config.yaml"
	[ "$status" -eq 1 ] || { show; false; }
	# The line is quoted, with the token masked: the test can see the line.
	[[ "$stderr" == *"token refresh failed with status 400"*"refresh token *** is revoked"* ]] || { show; false; }
	[[ "$stderr" != *"$held"* ]]
	no_secret
	[ "$(oauth_state | jq -r .rejected)" -ge 1 ]
}

@test "--candidate-network: a bad value is a usage error" {
	cpactl_run upgrade --container iso-prod --candidate-network none
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"'isolated' or 'shared'"* ]]
}

@test "a cluster node (home_jwt, no config.yaml): discover, backup and doctor know it; upgrade refuses with what to do" {
	local dir
	dir=$(deploy_dir iso-node)
	chmod 700 "$dir"
	# As CPA's docker-compose.cluster.yml: no config.yaml, the JWT in the
	# environment (lower-case, which CPA accepts too).  The fake has no Home
	# to reach and stops; cpactl reads a stopped container all the same.
	docker run -d --name iso-node -e home_jwt=SECRET-FIXTURE-homejwt-iso \
		-v "$dir/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run discover --json --container iso-node
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].cluster')" = HOME_JWT ] || { show; false; }
	[ "$(jqo '[.[0].problems[] | select(test("cannot be read"))] | length')" = 0 ] || { show; false; }
	no_secret
	cpactl_run backup --container iso-node --root "$dir" --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.warnings | join(" ")')" == *"cluster node"* ]] || { show; false; }
	no_secret
	cpactl_run doctor --container iso-node --root "$dir" --json
	[ "$(jqo '[.findings[] | select(.code == "cluster-node")] | length')" = 1 ] || { show; false; }
	[ "$(jqo '[.findings[] | select(.code == "config-unreadable" or .code == "config-in-container")] | length')" = 0 ] ||
		{ show; false; }
	no_secret
	cpactl_run upgrade --container iso-node --root "$dir" --no-pull --image eceasy/cli-proxy-api:v7.2.60 --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"cluster node (HOME_JWT)"*"cpactl backup"* ]] || { show; false; }
	no_secret
	[ -z "$(docker ps -aq --filter name=iso-node-cpactl)" ]
}

@test "a remote store (pgstore_dsn) is refused unless --candidate-without-store, which tests on the local files" {
	local dir
	dir=$(deploy_dir iso-store)
	# As real CPA on an offline host: the store cannot be dialled, so this
	# production logs an error and exits 0 (cmd/server/main.go:390).
	run_cpa iso-store v7.2.0 "$dir" -e "pgstore_dsn=postgres://cpa:SECRET-FIXTURE-pgpass@10.255.0.1/cpa"
	wait_for 30 "iso-store exited (its store cannot be reached)" inspect_is iso-store '{{.State.Status}}' exited
	cpactl_run upgrade --container iso-store --no-pull --image eceasy/cli-proxy-api:v7.2.60 --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"remote store (PGSTORE_DSN)"*"--candidate-without-store"* ]]
	no_secret
	cpactl_run upgrade --container iso-store --no-pull --image eceasy/cli-proxy-api:v7.2.60 --dry-run --timeout 20 \
		--candidate-without-store --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .candidate.ok)" = true ]
	[[ "$stderr" == *"neither tested nor touched"* ]]
	no_secret
}

@test "auth-dir '~auths' with HOME=/data: discover finds /data/auths, as CPA resolves it" {
	local dir
	dir=$(deploy_dir iso-home)
	sed -i 's|^auth-dir: .*|auth-dir: "~auths"|' "$dir/config.yaml"
	docker run -d --name iso-home -e HOME=/data -v "$dir/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$dir/auth:/data/auths" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run discover --json --container iso-home
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].auth_in_container')" = /data/auths ] || { show; false; }
	[ "$(jqo '.[0].auth_storage')" = bind ] || { show; false; }
	[ "$(jqo '.[0].auth_dir')" = "$dir/auth" ] || { show; false; }
	[ "$(jqo '.[0].auth_files.claude')" = 1 ] || { show; false; }
	no_secret
}

@test "tls.enable: discover, status and upgrade speak https to the port, as CPA serves only TLS there" {
	local dir port
	dir=$(deploy_dir iso-tls)
	. "$BATS_TEST_DIRNAME/../engine.sh" # free_port
	port=$(free_port)
	mkdir -m 755 "$dir/certs"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/certs/key.pem" -out "$dir/certs/cert.pem" \
		-days 2 -subj /CN=cpa.example.com 2>/dev/null
	cat >>"$dir/config.yaml" <<-'YAML'
		tls:
		  enable: true
		  cert: /CLIProxyAPI/certs/cert.pem
		  key: /CLIProxyAPI/certs/key.pem
	YAML
	docker run -d --name iso-tls -p "127.0.0.1:$port:8317" -v "$dir/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$dir/auth:/root/.cli-proxy-api" -v "$dir/certs:/CLIProxyAPI/certs:ro" \
		eceasy/cli-proxy-api:v7.2.0-tls >/dev/null
	wait_for 30 "the fake CPA answering https://127.0.0.1:$port/healthz" \
		curl -kfsS -o /dev/null --max-time 1 "https://127.0.0.1:$port/healthz"
	# Plain HTTP gets what Go's server answers on a TLS port.
	[[ "$(curl -sS --max-time 2 "http://127.0.0.1:$port/v1/models")" == *"HTTP request to an HTTPS server"* ]]
	cpactl_run discover --json --container iso-tls
	[ "$(jqo '.[0].tls')" = true ] || { show; false; }
	cpactl_run status --json --container iso-tls
	[ "$status" -eq 0 ] || { show; false; }
	cpactl_run upgrade --container iso-tls --no-pull --image eceasy/cli-proxy-api:v7.2.60-tls --timeout 20 --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	[ "$(jqo .candidate.ok)" = true ]
	no_secret
	[ "$(curl -ksS -D - -o /dev/null "https://127.0.0.1:$port/v0/management/config" | tr -d '\r' |
		sed -n 's/^[Xx]-[Cc][Pp][Aa]-[Vv][Ee][Rr][Ss][Ii][Oo][Nn]: //p')" = v7.2.60 ]
}
