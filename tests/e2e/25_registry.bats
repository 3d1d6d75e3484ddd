#!/usr/bin/env bats
# The main job's default path: `cpactl upgrade` pulls (issue: the default
# path for real).  The fake CPA releases are pushed to Debian's
# docker-registry, started privately on 127.0.0.1 and a random port
# (tests/engine.sh registry_start), and production runs an image of that
# registry.  Pull by tag, by `latest` (upgrade's default target), by digest;
# an unknown tag; a registry that asks for credentials, with and without
# them in the docker CLI's config.json, and with a credential helper cpactl
# does not run; the registry killed in the middle of a pull.  After each
# failure production is untouched and every snapshot verifies.

load helpers

REPO=eceasy/cli-proxy-api

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT DIR REGISTRY REGISTRY_PID REGISTRY_DIR AUTH_REGISTRY AUTH_PID AUTH_DIR LOGIN_CONFIG NO_CONFIG
	PORT=$(free_port)
	DIR=$(deploy_dir rg-prod)
	chmod 700 "$DIR"
	# The registry that asks for credentials first, its variables kept aside.
	registry_start rguser SECRET-FIXTURE-regpass-41c7
	AUTH_REGISTRY=$REGISTRY AUTH_PID=$REGISTRY_PID AUTH_DIR=$REGISTRY_DIR
	registry_start
	LOGIN_CONFIG="$BATS_FILE_TMPDIR/docker-login"
	NO_CONFIG="$BATS_FILE_TMPDIR/docker-none"
	mkdir -p -m 700 "$LOGIN_CONFIG" "$NO_CONFIG"
	printf 'SECRET-FIXTURE-regpass-41c7' | DOCKER_CONFIG=$LOGIN_CONFIG \
		docker login -u rguser --password-stdin "$AUTH_REGISTRY" >/dev/null 2>&1
	local tag
	for tag in v7.1.0 v7.2.0 v7.2.1-badauth; do
		push "$REGISTRY" "$tag" "$tag"
	done
	push "$REGISTRY" v7.2.0 latest
	push "$AUTH_REGISTRY" v7.2.0 v7.2.0
	# Only production's image stays in the engine under the registry's name:
	# every target must be pulled.
	docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^127\.0\.0\.1:" | grep -v ":v7.1.0$" |
		xargs -r docker rmi >/dev/null
}

teardown_file() {
	docker ps -aq --filter name=rg- | xargs -r docker rm -f >/dev/null 2>&1 || true
	registry_stop
	REGISTRY_PID=$AUTH_PID REGISTRY_DIR=$AUTH_DIR registry_stop
}

# push REGISTRY LOCAL_TAG REMOTE_TAG
push() {
	docker tag "$REPO:$2" "$1/$REPO:$3"
	DOCKER_CONFIG=$LOGIN_CONFIG docker push "$1/$REPO:$3" >/dev/null
}

setup() {
	docker ps -aq --filter name=rg-prod | xargs -r docker rm -f >/dev/null
	docker run -d --name rg-prod -p "127.0.0.1:$PORT:8317" -v "$DIR/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$DIR/auth:/root/.cli-proxy-api" "$REGISTRY/$REPO:v7.1.0" >/dev/null
	wait_port "$PORT"
	PROD_ID=$(docker inspect -f '{{.Id}}' rg-prod)
	docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^127\.0\.0\.1:" | grep -v ":v7.1.0$" |
		xargs -r docker rmi >/dev/null 2>&1 || true
}

upgrade() {
	cpactl_run upgrade --container rg-prod --yes --timeout 15 --json "$@"
}

# Production as it was, and every snapshot whole.
untouched() {
	[ "$(docker inspect -f '{{.Id}} {{.State.Running}}' rg-prod)" = "$PROD_ID true" ] || {
		echo "production was changed"
		false
	}
	[ "$(served_cpa_version "$PORT")" = v7.1.0 ]
	"$CPACTL" verify --container rg-prod -q || { echo "a snapshot does not verify"; false; }
}

@test "upgrade --check: the newer releases from the registry, latest named, the target pinned by digest; exit 3" {
	local digest
	digest=$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/$REPO/manifests/v7.2.0" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
	cpactl_run upgrade --container rg-prod --check --json
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo .outcome)" = update-available ]
	# The document is the upgrade document of cpactl-json(7).
	printf '%s' "$output" | python3 "$BATS_TEST_DIRNAME/../json_check.py" \
		"$BATS_TEST_DIRNAME/../../man/cpactl-json.7" upgrade || { show; false; }
	[ "$(jqo '[.newer[].tag] | join(" ")')" = v7.2.0 ] || { show; false; }
	[ "$(jqo .latest.version)" = v7.2.0 ]
	[ "$(jqo .target)" = "$REGISTRY/$REPO@$digest" ] || { show; false; }
	[ "$(jqo .from.version)" = v7.1.0 ]
	# A policy that excludes it: nothing to do, exit 0.
	cpactl_run upgrade --container rg-prod --check --to 'v7.1.*' --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.newer | length') $(jqo .outcome)" = "0 up-to-date" ]
	# Nothing changed, nothing pulled.
	untouched
	! docker image inspect "$REGISTRY/$REPO:v7.2.0" >/dev/null 2>&1
	cpactl_run upgrade --container rg-prod --to 'v7.1.*'
	[ "$status" -eq 2 ] || { show; false; }
}

@test "pull by tag: upgraded to the pulled release" {
	upgrade --image "$REGISTRY/$REPO:v7.2.0"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	[[ "$(jqo '.steps | join(" ")')" == *pull* ]]
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
	[ "$(docker inspect -f '{{.Config.Image}}' rg-prod)" = "$REGISTRY/$REPO:v7.2.0" ]
	no_secret
}

@test "no --image: the same repository's latest is pulled" {
	upgrade
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .to.image)" = "$REGISTRY/$REPO:latest" ] || { show; false; }
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
}

@test "pull by digest" {
	local digest
	digest=$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/$REPO/manifests/v7.2.0" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
	[[ "$digest" == sha256:* ]]
	upgrade --image "$REGISTRY/$REPO@$digest"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
	[ "$(docker inspect -f '{{.Config.Image}}' rg-prod)" = "$REGISTRY/$REPO@$digest" ]
}

@test "latest moved between the candidate's test and the promotion: production gets the tested image" {
	local tested hold="$BATS_TEST_TMPDIR/hold" s=0
	touch "$hold"
	CPACTL_TEST_HOLD_AT=confirm CPACTL_TEST_HOLD_FILE=$hold "$CPACTL" upgrade --container rg-prod --yes \
		--timeout 15 --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	wait_for 60 "the upgrade holding after the candidate's verdict ($hold.reached)" test -e "$hold.reached"
	tested=$(docker image inspect -f '{{.Id}}' "$REGISTRY/$REPO:latest")
	# Someone moves latest to a release that fails every request.
	docker pull -q "$REGISTRY/$REPO:v7.2.1-badauth" >/dev/null
	docker tag "$REGISTRY/$REPO:v7.2.1-badauth" "$REGISTRY/$REPO:latest"
	rm -f "$hold"
	wait "$pid" || s=$?
	cp "$BATS_TEST_TMPDIR/out" "$CPACTL_OUTPUT_LOG/moved-tag.json"
	cp "$BATS_TEST_TMPDIR/err" "$CPACTL_OUTPUT_LOG/moved-tag.err"
	[ "$s" -eq 0 ] || { echo "exit $s"; cat "$BATS_TEST_TMPDIR/err"; false; }
	[ "$(docker inspect -f '{{.Image}}' rg-prod)" = "$tested" ]
	[ "$(docker image inspect -f '{{.Id}}' "$REGISTRY/$REPO:latest")" = "$tested" ]
	grep -q "moved to another image" "$BATS_TEST_TMPDIR/err"
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
}

@test "an unknown tag: a clear error naming the image, production untouched" {
	upgrade --image "$REGISTRY/$REPO:v9.9.9"
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == "pulling $REGISTRY/$REPO:v9.9.9: the registry $REGISTRY has no such image or tag"*"production was not touched" ]] ||
		{ show; false; }
	untouched
}

@test "a registry that asks for credentials: refused without them, said how; pulled with them from config.json" {
	DOCKER_CONFIG=$NO_CONFIG upgrade --image "$AUTH_REGISTRY/$REPO:v7.2.0"
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == "pulling $AUTH_REGISTRY/$REPO:v7.2.0: the registry $AUTH_REGISTRY refused it"*"run 'docker login'"*"production was not touched" ]] ||
		{ show; false; }
	untouched
	# A credential helper is a program cpactl does not run: said.
	printf '{"credsStore": "pass"}\n' >"$NO_CONFIG/config.json"
	DOCKER_CONFIG=$NO_CONFIG upgrade --image "$AUTH_REGISTRY/$REPO:v7.2.0"
	rm -f "$NO_CONFIG/config.json"
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"credential helper, which cpactl does not run"* ]] || { show; false; }
	# A config.json others may write is not read.
	chmod 666 "$LOGIN_CONFIG/config.json"
	DOCKER_CONFIG=$LOGIN_CONFIG upgrade --image "$AUTH_REGISTRY/$REPO:v7.2.0"
	chmod 600 "$LOGIN_CONFIG/config.json"
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .error.code)" = untrusted ] || { show; false; }
	untouched
	# With `docker login`'s auths: pulled, upgraded; the password is nowhere.
	DOCKER_CONFIG=$LOGIN_CONFIG upgrade --image "$AUTH_REGISTRY/$REPO:v7.2.0"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
	no_secret
}

@test "the registry killed in the middle of a pull: a clear error, production untouched" {
	bash "$BATS_TEST_DIRNAME/../fixtures/big-image.sh" v7.2.0-pad100 100
	push "$REGISTRY" v7.2.0-pad100 v7.2.0-pad100
	docker rmi "$REGISTRY/$REPO:v7.2.0-pad100" "$REPO:v7.2.0-pad100" >/dev/null
	"$CPACTL" upgrade --container rg-prod --yes --timeout 15 --json --image "$REGISTRY/$REPO:v7.2.0-pad100" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! s=0 layer
	layer=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REGISTRY/v2/$REPO/manifests/v7.2.0-pad100" | jq -r '.layers[0].digest')
	# The request for the big layer came in: freeze the registry at once (a
	# 100 MB blob over loopback takes well under a second), then kill it.
	local deadline=$((SECONDS + 60))
	until layer_requested "$layer"; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: the request for the big layer $layer"; false; }
		sleep 0.01
	done
	kill -STOP "$REGISTRY_PID"
	kill -9 "$REGISTRY_PID"
	wait "$pid" || s=$?
	cp "$BATS_TEST_TMPDIR/out" "$CPACTL_OUTPUT_LOG/registry-killed.json"
	cp "$BATS_TEST_TMPDIR/err" "$CPACTL_OUTPUT_LOG/registry-killed.err"
	# (The last test of the file: the registry stays dead.)
	[ "$s" -eq 1 ] || { echo "exit $s"; cat "$BATS_TEST_TMPDIR/err"; false; }
	[ "$(jq -s length "$BATS_TEST_TMPDIR/out")" = 1 ]
	[[ "$(jq -r .error.message "$BATS_TEST_TMPDIR/out")" == "pulling $REGISTRY/$REPO:v7.2.0-pad100 from $REGISTRY failed: "*"production was not touched" ]] ||
		{ cat "$BATS_TEST_TMPDIR/out"; false; }
	untouched
}

# layer_requested DIGEST: the registry logged the request for that blob
# (at debug level, before it serves a byte).
layer_requested() {
	grep -aq "uri=\"/v2/$REPO/blobs/$1\"" "$REGISTRY_DIR/log"
}
