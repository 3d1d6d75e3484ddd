#!/usr/bin/env bats
# config.yaml and the auth dir in named volumes, as many operators keep them
# (issue: faithful to the real CPA, item 10).  The candidate gets scratch
# copies read through the engine's archive endpoint; a migrated or applied
# config.yaml, a rollback's and recovery's old one, are written back through
# the same endpoint into the volume (the old container mounts it, running or
# stopped).  After a failed candidate both volumes are byte for byte as they
# were; the owner and mode of config.yaml survive every rewrite.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ROOT SRC CONF_SHA AUTH_SHA
	PORT=$(free_port)
	ROOT="$BATS_FILE_TMPDIR/vol-root"
	SRC=$(deploy_dir vol-src)
	# Legacy keys that v7.2.1-rewrite migrates: promotion has a new file to write.
	printf 'amp-upstream-url: "https://ampcode.com"\namp-upstream-api-key: "SECRET-FIXTURE-amp-vol9"\n' \
		>>"$SRC/config.yaml"
	docker volume create vol-conf >/dev/null
	docker volume create vol-auth >/dev/null
	docker create --name vol-fill -v vol-conf:/CLIProxyAPI/conf -v vol-auth:/root/.cli-proxy-api \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker cp "$SRC/config.yaml" vol-fill:/CLIProxyAPI/conf/config.yaml >/dev/null
	docker cp "$SRC/auth/." vol-fill:/root/.cli-proxy-api/ >/dev/null
	docker rm vol-fill >/dev/null
	docker run -d --name vol-prod -p "127.0.0.1:$PORT:8317" -v vol-conf:/CLIProxyAPI/conf \
		-v vol-auth:/root/.cli-proxy-api eceasy/cli-proxy-api:v7.1.0 \
		./CLIProxyAPI -config /CLIProxyAPI/conf/config.yaml >/dev/null
	wait_port "$PORT"
	CONF_SHA=$(conf_sha)
	AUTH_SHA=$(auth_sha)
}

teardown_file() {
	docker ps -aq --filter name=vol- | xargs -r docker rm -f >/dev/null 2>&1 || true
	docker volume rm vol-conf vol-auth >/dev/null 2>&1 || true
}

# The volumes' bytes, read through the engine as a person would.
conf_sha() {
	docker cp vol-prod:/CLIProxyAPI/conf/config.yaml - | tar -xO | sha256sum
}
auth_sha() {
	docker cp vol-prod:/root/.cli-proxy-api - | tar -xO | sha256sum
}
conf_text() {
	docker cp vol-prod:/CLIProxyAPI/conf/config.yaml - | tar -xO
}
# "mode uid/gid" of config.yaml in the volume.
conf_owner() {
	docker cp vol-prod:/CLIProxyAPI/conf/config.yaml - | tar -tv --numeric-owner | awk '{print $1, $2}'
}

upgrade() {
	cpactl_run upgrade --container vol-prod --root "$ROOT" --no-pull --timeout 10 --json "$@"
}

@test "volumes: a failed candidate leaves config.yaml and every auth file byte-identical" {
	upgrade --image eceasy/cli-proxy-api:v7.2.1-crash --yes
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = refused ]
	[[ "$stderr" == *"scratch copies"* ]]
	[ "$(conf_sha)" = "$CONF_SHA" ]
	[ "$(auth_sha)" = "$AUTH_SHA" ]
}

@test "volumes: a migrating upgrade writes config.yaml into the volume, owner and mode kept; rollback puts it back" {
	local owner
	owner=$(conf_owner)
	upgrade --image eceasy/cli-proxy-api:v7.2.1-rewrite --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	conf_text | grep -q '^ampcode:'
	[ "$(conf_owner)" = "$owner" ]
	[ "$(auth_sha)" = "$AUTH_SHA" ]
	[ "$(served_cpa_version "$PORT")" = v7.2.1 ]
	local snap
	snap=$(jqo .snapshot)
	cpactl_run rollback "$snap" --container vol-prod --root "$ROOT" --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(conf_sha)" = "$CONF_SHA" ]
	[ "$(conf_owner)" = "$owner" ]
	[ "$(served_cpa_version "$PORT")" = v7.1.0 ]
}

@test "volumes: a migration that fails on the production port is undone through the engine, also by recover" {
	# v7.2.1-rewriteprodfail migrates config.yaml in the candidate and fails
	# in production: promotion writes the migrated file into the volume, the
	# automatic rollback puts the old one back the same way.
	upgrade --image eceasy/cli-proxy-api:v7.2.1-rewriteprodfail --yes --no-backup
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = rolled-back ]
	[ "$(conf_sha)" = "$CONF_SHA" ]
	[ "$(auth_sha)" = "$AUTH_SHA" ]
	[ "$(served_cpa_version "$PORT")" = v7.1.0 ]
	# Killed in that rollback before the old file went back: recover puts
	# it back through the engine.
	CPACTL_TEST_KILL_AT=rollback-config run "$CPACTL" upgrade --container vol-prod --root "$ROOT" \
		--image eceasy/cli-proxy-api:v7.2.1-rewriteprodfail --no-pull --yes --timeout 10 --no-backup
	[ "$status" -eq 137 ] || { show; false; }
	conf_text | grep -q '^ampcode:'
	cpactl_run recover --container vol-prod --root "$ROOT" --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"config.yaml restored"* ]] || { show; false; }
	[ "$(conf_sha)" = "$CONF_SHA" ]
	wait_port "$PORT"
	[ "$(served_cpa_version "$PORT")" = v7.1.0 ]
	docker ps -aq --filter name=vol-prod-cpactl | xargs -r docker rm -f >/dev/null
}

@test "volumes: config apply replaces config.yaml in the volume after a candidate accepted it" {
	local new="$BATS_FILE_TMPDIR/applied.yaml"
	conf_text >"$new"
	printf '# applied into the volume\n' >>"$new"
	cpactl_run config apply "$new" --container vol-prod --root "$ROOT" --timeout 10 --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(conf_text | sha256sum)" = "$(sha256sum <"$new")" ]
	[ "$(auth_sha)" = "$AUTH_SHA" ]
}

@test "no fixture secret in anything cpactl printed here" {
	no_secret
}
