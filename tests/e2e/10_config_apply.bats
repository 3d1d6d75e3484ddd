#!/usr/bin/env bats
# config check|apply|restore against the real engine: findings and exit 3, a
# bad file never reaches production (invalid YAML, no api-keys, a file CPA
# rejects at start), a good one does (byte for byte, owner and mode kept,
# history commit, the new key serves), --reload through CPA's file watcher and
# its put-back, restore by revision and by snapshot id, the confirmation rule.

load helpers

NEW_KEY=SECRET-FIXTURE-apikey-new-5a1c
RELOAD_KEY=SECRET-FIXTURE-apikey-reload-77e0

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ROOT TP
	PORT=$(free_port)
	TP=$(free_port)
	deploy cfg-prod v7.1.0 -p "127.0.0.1:$PORT:8317" --restart unless-stopped
	ROOT="$BATS_FILE_TMPDIR/cfg-prod"
	cp "$ROOT/config.yaml" "$BATS_FILE_TMPDIR/original.yaml"
	# A live file with an owner and a mode of its own, to see them kept.
	chown 1234:1234 "$ROOT/config.yaml"
	chmod 0640 "$ROOT/config.yaml"
	wait_port "$PORT"
}

teardown_file() {
	docker ps -aq --filter name=cfg- | xargs -r docker rm -f >/dev/null 2>&1 || true
}

live() {
	echo "$ROOT/config.yaml"
}

prod_id() {
	docker inspect -f '{{.Id}} {{.State.StartedAt}}' cfg-prod
}

# with_key FILE KEY: the original config with its first client key replaced.
with_key() {
	sed "s/SECRET-FIXTURE-apikey-1-7f3a/$2/" "$BATS_FILE_TMPDIR/original.yaml" >"$1"
}

serves_with() {
	curl -fsS -o /dev/null --max-time 3 -H "Authorization: Bearer $1" "http://127.0.0.1:$PORT/v1/models"
}

apply() {
	cpactl_run config apply --container cfg-prod --test-port "$TP" --timeout 10 --json "$@"
}

snapshots() {
	ls "$ROOT/backup" 2>/dev/null | wc -l
}

@test "config check: each kind of finding, exit 3; a clean file exits 0" {
	local f="$BATS_FILE_TMPDIR/findings.yaml" code
	cat >"$f" <<'YAML'
port: "8317"
host: ""
api-keys:
  - your-api-key-1
remote-management:
  allow-remote: true
  secret-key: "SECRET-FIXTURE-mgmt-9d2b"
debug: true
request-log: true
pprof:
  enable: true
  addr: "0.0.0.0:8316"
ampcode:
  upstream-url: "https://ampcode.com"
  upstream-api-key: "SECRET-FIXTURE-amp-3f9a"
amp-upstream-url: "https://ampcode.com"
home:
  enabled: true
auth:
  providers: []
api-key: SECRET-FIXTURE-typo
codex-api-key:
  - api-key: "SECRET-FIXTURE-codex-nourl"
request-retry: 3
request-retry: 4
YAML
	cpactl_run config check "$f" --json
	[ "$status" -eq 3 ] || { show; false; }
	for code in wrong-type api-keys-template remote-management-allowed secret-key-plaintext debug-on \
		request-log-on pprof-exposed key-removed legacy-key-ignored unknown-key entry-dropped \
		duplicate-key; do
		[ "$(jqo "[.findings[] | select(.code == \"$code\")] | length")" -gt 0 ] || { echo "no $code"; show; false; }
	done
	# Judged for the newest CPA: no release after v6.7.53 migrates a key.
	[ "$(jqo '[.findings[] | select(.code == "legacy-key-migrated")] | length')" = 0 ]
	[[ "$(jqo '.findings[] | select(.code == "key-removed" and .subject == "home") | .what')" == *"leaves its cluster"* ]]
	[ "$(jqo '.findings[] | select(.code == "unknown-key") | .fix')" = "did you mean 'api-keys'?" ]
	[ "$(jqo '.findings[] | select(.code == "duplicate-key") | .line')" = 25 ]
	# For people: file:line: severity: what.
	cpactl_run config check "$f"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"$f:1: error: 'port' must be a whole number"* ]] || { show; false; }

	printf 'port: 8317\napi-keys:\n  - "SECRET-FIXTURE-x\n' >"$f"
	cpactl_run config check "$f" --json
	[ "$status" -eq 3 ]
	[ "$(jqo '.findings[0].code')" = yaml-syntax ]
	[ "$(jqo '.findings[0].line')" -ge 3 ]

	# The fixture's file: only the plaintext secret-key (info): exit 0.
	cpactl_run config check "$BATS_FILE_TMPDIR/original.yaml" --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '[.findings[] | select(.severity != "info")] | length')" = 0 ]
	# The live file, judged for the version the container runs.
	cpactl_run config check --container cfg-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .version)" = v7.1.0 ]
}

@test "apply refuses invalid YAML and a file without api-keys: exit 3, nothing changed" {
	local before sum n f="$BATS_FILE_TMPDIR/bad.yaml"
	before=$(prod_id)
	sum=$(sha256sum "$(live)")
	n=$(snapshots)
	printf 'api-keys: [\n' >"$f"
	apply "$f" --yes
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo '.findings[0].code')" = yaml-syntax ]
	grep -v -e '^api-keys:' -e 'SECRET-FIXTURE-apikey' "$BATS_FILE_TMPDIR/original.yaml" >"$f"
	apply "$f" --yes
	[ "$status" -eq 3 ] || { show; false; }
	[ "$(jqo '.findings[] | select(.severity == "error") | .code')" = api-keys-empty ]
	[[ "$stderr" == *"nothing was changed"* ]]
	[ "$(prod_id)" = "$before" ]
	[ "$(sha256sum "$(live)")" = "$sum" ]
	[ "$(snapshots)" = "$n" ]
}

@test "apply without a terminal and without --yes: exit 5, production untouched" {
	local before sum f="$BATS_FILE_TMPDIR/new.yaml"
	before=$(prod_id)
	sum=$(sha256sum "$(live)")
	with_key "$f" "$NEW_KEY"
	apply "$f" </dev/null
	[ "$status" -eq 5 ] || { show; false; }
	[ "$(jqo .outcome)" = declined ]
	[ "$(prod_id)" = "$before" ]
	[ "$(sha256sum "$(live)")" = "$sum" ]
}

@test "apply: a file CPA rejects at start fails the candidate: exit 1, production untouched" {
	local before sum f="$BATS_FILE_TMPDIR/rejected.yaml"
	before=$(prod_id)
	sum=$(sha256sum "$(live)")
	with_key "$f" "$NEW_KEY"
	echo "fakecpa-fail-start: true" >>"$f"
	apply "$f" --yes
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = refused ]
	[ "$(jqo .candidate.ok)" = false ]
	[ "$(prod_id)" = "$before" ]
	[ "$(sha256sum "$(live)")" = "$sum" ]
	serves_with "$FIXTURE_KEY"
	[ -z "$(docker ps -aq --filter name=cfg-prod-cpactl-candidate)" ]
}

@test "--dry-run prints the masked diff and changes nothing" {
	local sum f="$BATS_FILE_TMPDIR/new.yaml"
	sum=$(sha256sum "$(live)")
	with_key "$f" "$NEW_KEY"
	sed -i 's/^request-retry: 3/request-retry: 5/' "$f"
	apply "$f" --dry-run
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = dry-run ]
	[[ "$(jqo .config_diff)" == *"+request-retry: 5"* ]] || { show; false; }
	with_key "$f" "$NEW_KEY"
	apply "$f" --dry-run
	[ "$(jqo .config_diff)" = "" ]
	[[ "$stderr" == *"only secret values change"* ]]
	[ "$(sha256sum "$(live)")" = "$sum" ]
}

@test "apply: byte for byte, owner and mode kept, history commit, production serves the new key" {
	local f="$BATS_FILE_TMPDIR/new.yaml"
	with_key "$f" "$NEW_KEY"
	apply "$f" --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = applied ]
	cmp "$f" "$(live)"
	[ "$(stat -c '%u:%g %a' "$(live)")" = "1234:1234 640" ]
	serves_with "$NEW_KEY"
	! serves_with "$FIXTURE_KEY"
	cpactl_run config log --root "$ROOT" --json
	[[ "$(jqo '.[0].message')" == "config apply "*": $f" ]] || { show; false; }
	# Applying the same file again changes nothing.
	apply "$f" --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = unchanged ]
}

@test "--reload: replaced in place, no restart, CPA reloads it and serves the new key" {
	local before inode f="$BATS_FILE_TMPDIR/reload.yaml"
	before=$(prod_id)
	inode=$(stat -c %i "$(live)")
	with_key "$f" "$RELOAD_KEY"
	apply "$f" --reload --yes
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = applied ]
	[ "$(jqo .in_place)" = true ]
	jqo .snapshot >"$BATS_FILE_TMPDIR/reload-snapshot"
	[ "$(prod_id)" = "$before" ]
	cmp "$f" "$(live)"
	[ "$(stat -c %i "$(live)")" = "$inode" ]
	[ "$(stat -c '%u:%g %a' "$(live)")" = "1234:1234 640" ]
	serves_with "$RELOAD_KEY"
	cpactl_run config log --root "$ROOT" --json
	[[ "$(jqo '.[0].message')" == *"(reload)" ]]
}

@test "--reload: a file CPA rejects is put back, production serves as before, exit 1" {
	local before sum f="$BATS_FILE_TMPDIR/reload-bad.yaml"
	before=$(prod_id)
	cp "$(live)" "$BATS_FILE_TMPDIR/before-bad.yaml"
	with_key "$f" "$NEW_KEY"
	echo "fakecpa-fail-start: true" >>"$f"
	apply "$f" --reload --yes --timeout 3 --no-backup
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo .outcome)" = rolled-back ]
	cmp "$BATS_FILE_TMPDIR/before-bad.yaml" "$(live)"
	[ "$(prod_id)" = "$before" ]
	serves_with "$RELOAD_KEY"
	[ ! -e "$ROOT/.cpactl/journal.json" ]
}

@test "restore by snapshot id and by history revision" {
	local snap rev
	snap=$(cat "$BATS_FILE_TMPDIR/reload-snapshot")
	# The snapshot before --reload held the file with NEW_KEY.
	cpactl_run config restore "$snap" --container cfg-prod --test-port "$TP" --timeout 10 --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = applied ]
	cmp "$BATS_FILE_TMPDIR/new.yaml" "$(live)"
	serves_with "$NEW_KEY"
	# The oldest revision is the deployment's original file.
	cpactl_run config log --root "$ROOT" --json
	rev=$(jqo '.[-1].commit')
	cpactl_run config restore "${rev:0:12}" --container cfg-prod --test-port "$TP" --timeout 10 --yes --reload --json
	[ "$status" -eq 0 ] || { show; false; }
	cmp "$BATS_FILE_TMPDIR/original.yaml" "$(live)"
	serves_with "$FIXTURE_KEY"
	cpactl_run config restore 20000101-000000 --container cfg-prod --yes
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$stderr" == *"neither a snapshot"* ]]
}

# Serves with KEY within a few seconds (the fake CPA polls its file every 200 ms).
serves_soon_with() {
	wait_for 10 "the fake CPA serving with the expected key" serves_with "$1"
}

@test "--reload killed at every step boundary: recover puts the old bytes back where the running CPA reads them" {
	local step before f="$BATS_FILE_TMPDIR/reload-kill.yaml" steps=0
	cp "$(live)" "$BATS_FILE_TMPDIR/before-kill.yaml"
	before=$(prod_id)
	with_key "$f" "$RELOAD_KEY"
	for step in preflight backup scratch confirm promote-config verify; do
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" config apply "$f" --container cfg-prod --reload --yes --timeout 10
		[ "$status" -eq 137 ] || { echo "step $step: exit $status: $output"; false; }
		[ -e "$ROOT/.cpactl/journal.json" ]
		cpactl_run recover --container cfg-prod --json
		[ "$status" -eq 0 ] || { echo "step $step"; show; false; }
		[ ! -e "$ROOT/.cpactl/journal.json" ]
		# Byte for byte the file before, on the same inode, owner and mode ...
		cmp "$BATS_FILE_TMPDIR/before-kill.yaml" "$(live)"
		[ "$(stat -c '%u:%g %a' "$(live)")" = "1234:1234 640" ]
		# ... and the running container sees it: the old key serves again,
		# the new one is refused.
		serves_soon_with "$FIXTURE_KEY" || { echo "step $step: the old key does not serve"; false; }
		! serves_with "$RELOAD_KEY" 2>/dev/null
		[ "$(prod_id)" = "$before" ]
		steps=$((steps + 1))
	done
	[ "$steps" -eq 6 ]
}

@test "apply killed at two step boundaries: recover leaves the old file serving or the new one, nothing stray" {
	local step f="$BATS_FILE_TMPDIR/kill-new.yaml" old="$BATS_FILE_TMPDIR/kill-old.yaml" steps outcomes=""
	local key2=SECRET-FIXTURE-apikey-kill-3b9d
	cp "$(live)" "$old"
	with_key "$f" "$key2"
	# The steps of one uninterrupted apply, then the file back.
	apply "$f" --yes --no-backup
	[ "$status" -eq 0 ] || { show; false; }
	steps=$(jqo '.steps | join(" ")')
	[[ "$steps" == *promote-config*verify* ]] || { echo "steps: $steps"; false; }
	apply "$old" --yes --no-backup
	[ "$status" -eq 0 ] || { show; false; }
	# Every step: tests/unit/test_crash.c (test_config_apply); here, the new
	# file written and the new container started (a kill before production
	# is touched: 07_recover's upgrade, the same steps).
	for step in promote-config promote-start-new; do
		[[ " $steps " == *" $step "* ]] || { echo "$step is not a step of apply: $steps"; false; }
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" config apply "$f" --container cfg-prod --test-port "$TP" \
			--timeout 10 --yes --no-backup
		[ "$status" -eq 137 ] || { echo "$step: not killed (exit $status): $output"; false; }
		cpactl_run recover --container cfg-prod --json
		[ "$status" -eq 0 ] || { echo "$step"; show; false; }
		outcomes="$outcomes $step=$(jqo .outcome)"
		[ ! -e "$ROOT/.cpactl/journal.json" ]
		[ -z "$(docker ps -q --filter name=cfg-prod-cpactl-candidate)" ] || { echo "$step: a candidate runs"; false; }
		[ -z "$(docker ps -q --filter name=cfg-prod-cpactl-new)" ] || { echo "$step: a pre-created container runs"; false; }
		[ "$(docker ps -q --filter name=cfg-prod | wc -l)" = 1 ] || { echo "$step: more than one container runs"; false; }
		[ "$(stat -c '%u:%g %a' "$(live)")" = "1234:1234 640" ]
		if cmp -s "$old" "$(live)"; then
			serves_soon_with "$FIXTURE_KEY" || { echo "$step: old file, old key refused"; false; }
		else
			cmp "$f" "$(live)" || { echo "$step: config.yaml is neither the old nor the new file"; false; }
			serves_soon_with "$key2" || { echo "$step: new file, new key refused"; false; }
			apply "$old" --yes --no-backup
			[ "$status" -eq 0 ] || { show; false; }
		fi
	done
	echo "$outcomes" >&3
}
