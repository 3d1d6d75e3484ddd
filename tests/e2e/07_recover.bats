#!/usr/bin/env bats
# Crash recovery against a real engine: cpactl upgrade is killed with SIGKILL
# at step boundaries (the test-only switch CPACTL_TEST_KILL_AT), then `cpactl
# recover` runs.  Every step boundary of every operation is killed and
# recovered in tests/unit/test_crash.c against the stateful fake engine;
# here, the points where the real engine matters: one before production is
# touched, the config rewrite of a migrating release (which the unit fake
# does not do), the stop that makes recover finish instead of undo, and the
# instant between the renames when no container has production's name.  After each: production answers /v1/models on its port with the old
# or the new version, config.yaml and every auth file are byte-identical to
# the state before or the intended state after, and no candidate or
# pre-created container is left running.  Also: the engine restarted in the
# middle of a promotion.

load helpers

STEPS="candidate-judge promote-config promote-stop-old promote-rename-new"

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP DIR BEFORE_SHA AFTER_SHA AUTH_SHA
	PORT=$(free_port)
	TP=$(free_port)
	DIR=$(deploy_dir rc-prod)
	# Legacy keys that the v7.2.1-rewrite release migrates: the intended
	# state after the upgrade has a different config.yaml.
	printf 'amp-upstream-url: "https://ampcode.com"\namp-upstream-api-key: "SECRET-FIXTURE-amp-5c1e"\n' >>"$DIR/config.yaml"
	cp -a "$DIR/config.yaml" "$BATS_FILE_TMPDIR/config.orig"
	BEFORE_SHA=$(sha256sum <"$DIR/config.yaml")
	AUTH_SHA=$(cd "$DIR/auth" && sha256sum ./* | sha256sum)
	# The intended after-state, from one uninterrupted upgrade of a copy.
	local ref port2
	ref=$(deploy_dir rc-ref)
	cp "$BATS_FILE_TMPDIR/config.orig" "$ref/config.yaml"
	port2=$(free_port)
	docker run -d --name rc-ref -p "127.0.0.1:$port2:8317" -v "$ref/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$ref/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$port2"
	"$CPACTL" upgrade --container rc-ref --image eceasy/cli-proxy-api:v7.2.1-rewrite --no-pull --yes \
		--test-port "$TP" --timeout 10 --no-backup -q >/dev/null 2>&1
	AFTER_SHA=$(sha256sum <"$ref/config.yaml")
	docker ps -aq --filter name=rc-ref | xargs -r docker rm -f >/dev/null
}

teardown_file() {
	docker ps -aq --filter name=rc- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

# Production back to v7.1.0 with the original config, nothing else around.
reset_production() {
	docker ps -aq --filter name=rc-prod | xargs -r docker rm -f >/dev/null
	cp "$BATS_FILE_TMPDIR/config.orig" "$DIR/config.yaml"
	rm -f "$DIR/.cpactl/journal.json"
	docker run -d --name rc-prod -p "127.0.0.1:$PORT:8317" --restart unless-stopped \
		-v "$DIR/config.yaml:/CLIProxyAPI/config.yaml" -v "$DIR/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$PORT"
}

# Production serves the old or the new version, files are in a whole state.
assert_consistent() {
	local step=$1 version sha
	version=$(served_cpa_version "$PORT")
	[ "$version" = v7.1.0 ] || [ "$version" = v7.2.1 ] || { echo "$step: production answers version '$version'"; return 1; }
	sha=$(sha256sum <"$DIR/config.yaml")
	if [ "$version" = v7.1.0 ]; then
		[ "$sha" = "$BEFORE_SHA" ] || { echo "$step: old release with a config that is not the old one"; return 1; }
	else
		[ "$sha" = "$AFTER_SHA" ] || { echo "$step: new release with a config that is not the migrated one"; return 1; }
	fi
	[ "$(cd "$DIR/auth" && sha256sum ./* | sha256sum)" = "$AUTH_SHA" ] || { echo "$step: auth files changed"; return 1; }
	[ -z "$(docker ps -q --filter name=rc-prod-cpactl-candidate)" ] || { echo "$step: a candidate runs"; return 1; }
	[ -z "$(docker ps -q --filter name=rc-prod-cpactl-new)" ] || { echo "$step: a pre-created container runs"; return 1; }
	[ "$(docker ps -q --filter name=rc-prod | wc -l)" = 1 ] || { echo "$step: more than one container runs"; return 1; }
	[ ! -e "$DIR/.cpactl/journal.json" ] || { echo "$step: the journal is still there"; return 1; }
}

@test "killed at four step boundaries, recover leaves production serving and every file whole" {
	local step plan outcomes=""
	for step in $STEPS; do
		reset_production
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" upgrade --container rc-prod --image eceasy/cli-proxy-api:v7.2.1-rewrite \
			--no-pull --yes --test-port "$TP" --timeout 10
		[ "$status" -eq 137 ] || { echo "$step: upgrade was not killed (exit $status)"; echo "$output"; false; }
		[ -e "$DIR/.cpactl/journal.json" ] || { echo "$step: no journal after the kill"; false; }
		# --dry-run says what recover will do and changes nothing.
		cpactl_run recover --container rc-prod --json --dry-run
		[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		[ "$(jqo .outcome) $(jqo .stopped_at) $(jqo .in_progress_pid)" = "dry-run $step null" ] || { show; false; }
		plan=$(jqo .plan)
		[ -e "$DIR/.cpactl/journal.json" ] || { echo "$step: the dry run removed the journal"; false; }
		cpactl_run recover --container rc-prod --json
		[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		case "$plan $(jqo .outcome)" in
		"undo undone" | "finish-if-serving finished" | "finish-if-serving undone") ;;
		*) echo "$step: the dry run said '$plan', recover did '$(jqo .outcome)'"; false ;;
		esac
		outcomes="$outcomes $step=$(jqo .outcome)"
		assert_consistent "$step"
	done
	echo "$outcomes" >&3
}

@test "SIGINT or SIGTERM in each phase: stopped at a safe point, production checked and said as it is, one JSON document" {
	local case step sig want
	# One step of each phase (every step of the upgrade is interrupted
	# against the unit fake in tests/unit/test_crash.c): the backup, the
	# candidate's verdict, the new container's creation, the old release's
	# stop, the new one's verification, and the automatic rollback of a
	# release that fails in production (an interrupt must not stop the way
	# back).
	for case in backup:INT candidate-judge:TERM promote-create:INT promote-stop-old:TERM verify:INT \
		rollback-start-old:TERM; do
		step=${case%%:*} sig=${case##*:}
		reset_production
		image=eceasy/cli-proxy-api:v7.2.1-rewrite
		[ "$step" = rollback-start-old ] && image=eceasy/cli-proxy-api:v7.2.1-prodfail
		CPACTL_TEST_INTERRUPT_AT=$step CPACTL_TEST_INTERRUPT_SIGNAL=$sig cpactl_run upgrade --container rc-prod \
			--no-pull --yes --json --image "$image" --test-port "$TP" --timeout 10
		[ "$status" -eq 1 ] || { echo "$case"; show; false; }
		[ "$(printf '%s' "$output" | jq -s length)" = 1 ] || { echo "$case: not one JSON document"; show; false; }
		case $step in
		backup) want="interrupted while the snapshot was taken; production was not touched" ;;
		candidate-*) want="interrupted while the candidate $image was judged; production was not touched" ;;
		promote-create) want="interrupted before production was touched; it still serves" ;;
		*) want="interrupted: the new release was stopped and the previous one serves again under 'rc-prod'" ;;
		esac
		[ "$(jqo .error.message)" = "$want" ] || { echo "$case"; show; false; }
		[ ! -e "$DIR/.cpactl/journal.json" ] || { echo "$case: the journal was left"; show; false; }
		assert_consistent "$step"
	done
}

@test "killed in the middle of an automatic rollback, recover completes it" {
	local step
	for step in rollback-rename-new rollback-start-old; do
		reset_production
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" upgrade --container rc-prod --image eceasy/cli-proxy-api:v7.2.1-prodfail \
			--no-pull --yes --test-port "$TP" --timeout 6
		[ "$status" -eq 137 ] || { echo "$step: upgrade was not killed (exit $status)"; echo "$output"; false; }
		cpactl_run recover --container rc-prod --json
		[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		[ "$(jqo .outcome)" = undone ] || { echo "$step"; show; false; }
		assert_consistent "$step"
	done
}

@test "after a kill, the next upgrade refuses (exit 4) and names the unfinished operation" {
	reset_production
	CPACTL_TEST_KILL_AT=promote-create run "$CPACTL" upgrade --container rc-prod \
		--image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes --test-port "$TP" --timeout 10
	[ "$status" -eq 137 ]
	cpactl_run upgrade --container rc-prod --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes --test-port "$TP" --json
	[ "$status" -eq 4 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"did not finish"*"promote-create"*"cpactl recover"* ]]
	cpactl_run status --container rc-prod --json
	[[ "$(jqo '.[0].reasons | join(" ")')" == *"unfinished"* ]]
	cpactl_run doctor --container rc-prod --json
	finding unfinished-operation error
	# The same journal while a live cpactl holds the lock (flock(1) plays
	# it): work in progress, named with its pid, not a failure to recover.
	hold_lock "$DIR/.cpactl/lock" 5
	cpactl_run status --container rc-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.[0].operation_in_progress')" == *"is in progress (pid "*"at step 'promote-create'"* ]]
	[ "$(jqo '.[0].reasons | length')" = 0 ]
	cpactl_run doctor --container rc-prod --json
	finding operation-in-progress info
	absent unfinished-operation
	cpactl_run recover --container rc-prod --dry-run --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo .in_progress_pid)" =~ ^[0-9]+$ ]]
	wait_for 10 "the lock of rc-prod's root released" flock -n "$DIR/.cpactl/lock" true
	cpactl_run recover --container rc-prod
	[ "$status" -eq 0 ]
	cpactl_run recover --container rc-prod --json
	[ "$(jqo .outcome)" = nothing ]
}

@test "the engine restarted in the middle of a promotion: recover brings production back" {
	reset_production
	CPACTL_TEST_KILL_AT=promote-rename-new run "$CPACTL" upgrade --container rc-prod \
		--image eceasy/cli-proxy-api:v7.2.1-rewrite --no-pull --yes --test-port "$TP" --timeout 10
	[ "$status" -eq 137 ]
	. "$BATS_TEST_DIRNAME/../engine.sh"
	ENGINE_DIR=${DOCKER_HOST#unix://}
	ENGINE_DIR=${ENGINE_DIR%/docker.sock}
	ENGINE_BRIDGE=$(cat "$ENGINE_DIR/bridge")
	engine_restart
	cpactl_run recover --container rc-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	wait_port "$PORT"
	assert_consistent engine-restart
}
