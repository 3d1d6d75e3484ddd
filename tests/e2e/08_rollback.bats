#!/usr/bin/env bats
# rollback against the real engine: the confirmation rules, the fast path
# through the kept container, the image loaded back from the blob store, the
# two auth modes, config.yaml restored and committed, a snapshot that fails
# verification refused, an archived snapshot accepted, and a rollback killed
# at every step boundary, then recovered.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT TP ROOT SNAP PORT2 PORT3 PORT4 PORT5
	PORT3=$(free_port)
	PORT4=$(free_port)
	PORT5=$(free_port)
	PORT=$(free_port)
	TP=$(free_port)
	PORT2=$(free_port)
	deploy rb-prod v7.1.0 -p "127.0.0.1:$PORT:8317" --restart unless-stopped \
		-e USER_SETTING=kept --label owner=ops
	ROOT="$BATS_FILE_TMPDIR/rb-prod"
	wait_port "$PORT"
	# The snapshot to come back to is the one this upgrade takes of v7.1.0.
	SNAP=$("$CPACTL" upgrade --container rb-prod --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes \
		--test-port "$TP" --timeout 15 --json 2>/dev/null | jq -r .snapshot)
	[ -n "$SNAP" ] && [ "$SNAP" != null ]
}

teardown_file() {
	docker ps -aq --filter name=rb- | xargs -r docker rm -f >/dev/null 2>&1 || true
	# By tag, never by id: a rollback tag shares its image with the fixtures'
	# eceasy/cli-proxy-api tags, which later files need.
	docker images --format '{{.Repository}}:{{.Tag}}' 'cpactl-rollback' | xargs -r docker rmi >/dev/null 2>&1 || true
}

# The version production answers /v1/models with (the fake sends it in a header).
served_version() {
	served_cpa_version "${1:-$PORT}"
}

prod_id() {
	docker inspect -f '{{.Id}} {{.State.StartedAt}}' rb-prod
}

@test "without a terminal and without --yes: exit 5, production untouched" {
	local before
	before=$(prod_id)
	cpactl_run rollback "$SNAP" --container rb-prod --json </dev/null
	[ "$status" -eq 5 ] || { show; false; }
	[ "$(jqo .outcome)" = declined ]
	[ "$(prod_id)" = "$before" ]
	[ "$(served_version)" = v7.2.0 ]
	[ ! -e "$ROOT/.cpactl/journal.json" ]
}

@test "--dry-run names the fast path and changes nothing" {
	local before
	before=$(prod_id)
	cpactl_run rollback "$SNAP" --container rb-prod --dry-run --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = dry-run ]
	[ "$(jqo .path)" = kept-container ]
	[ "$(jqo .to.version)" = v7.1.0 ]
	[ "$(prod_id)" = "$before" ]
}

@test "an unknown snapshot and a bad option are clear errors" {
	cpactl_run rollback 19990101-000000 --container rb-prod --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"no snapshot '19990101-000000'"* ]]
	cpactl_run rollback --container rb-prod --auth --no-backup --yes
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"--auth"* ]]
}

@test "rollback with no ID takes the last upgrade's snapshot, through the kept container, keeping every setting" {
	local kept_id
	kept_id=$(docker inspect -f '{{.Id}}' "rb-prod-cpactl-prev-$SNAP")
	cpactl_run rollback --container rb-prod --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = rolled-back ]
	[ "$(jqo .snapshot)" = "$SNAP" ]
	[ "$(jqo .path)" = kept-container ]
	[ "$(served_version)" = v7.1.0 ]
	# The kept container itself is production again, with its settings.
	[ "$(docker inspect -f '{{.Id}}' rb-prod)" = "$kept_id" ]
	[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' rb-prod)" = unless-stopped ]
	[ "$(docker inspect -f '{{index .Config.Labels "owner"}}' rb-prod)" = ops ]
	docker inspect -f '{{join .Config.Env " "}}' rb-prod | grep -q USER_SETTING=kept
	# The replaced release is kept stopped, inert, under the name of the backup.
	local prev
	prev=$(jqo .previous_container)
	[ "$(docker inspect -f '{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}' "$prev")" = "false no" ]
	[ "$prev" = "rb-prod-cpactl-prev-$(jqo .backup)" ]
	[ "$(jqo '.downtime_ms | type')" = number ]
	[ ! -e "$ROOT/.cpactl/journal.json" ]
	[ "$(jq -r .operation "$ROOT/.cpactl/last-operation.json")" = rollback ]
}

@test "config.yaml comes back byte for byte and is committed to the history" {
	local snapshot_sha
	# A new snapshot of v7.1.0, then an edit of the live file.
	cpactl_run backup --container rb-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	local id
	id=$(jqo .id)
	snapshot_sha=$(sha256sum <"$ROOT/backup/$id/config.yaml")
	# Another client key since: production reloads it and cpactl reads it,
	# but the restored release runs the snapshot's file and is probed with
	# the snapshot's key (with the live one it would answer 401).
	sed -i 's/SECRET-FIXTURE-apikey-1-7f3a/SECRET-FIXTURE-apikey-1-edited/' "$ROOT/config.yaml"
	printf '# edited after the snapshot\n' >>"$ROOT/config.yaml"
	cpactl_run rollback "$id" --container rb-prod --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .config_changed)" = true ]
	[ "$(sha256sum <"$ROOT/config.yaml")" = "$snapshot_sha" ]
	[ "$(stat -c %a "$ROOT/config.yaml")" = 600 ]
	cpactl_run config log --container rb-prod --json
	[[ "$output" == *"rollback to $id"* ]] || { show; false; }
	[ "$(served_version)" = v7.1.0 ]
}

@test "auth: by default only missing files come back and the ones that differ are named; --auth restores exactly" {
	cpactl_run backup --container rb-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	local id first second
	id=$(jqo .id)
	first=$(ls "$ROOT/auth" | sed -n 1p)
	second=$(ls "$ROOT/auth" | sed -n 2p)
	cp -p "$ROOT/auth/$first" "$BATS_FILE_TMPDIR/first.orig"
	cp -p "$ROOT/auth/$second" "$BATS_FILE_TMPDIR/second.orig"
	rm "$ROOT/auth/$first"
	sed -i 's/SECRET-FIXTURE-refresh-/SECRET-FIXTURE-refresh-rotated-/' "$ROOT/auth/$second"
	cp -p "$ROOT/auth/$second" "$BATS_FILE_TMPDIR/second.rotated"
	printf '{"type":"claude","email":"new@example.com"}\n' >"$ROOT/auth/new-login.json"
	cpactl_run rollback "$id" --container rb-prod --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .auth.mode)" = missing-only ]
	[ "$(jqo '.auth.missing | join(",")')" = "$first" ]
	[ "$(jqo '.auth.differ | join(",")')" = "$second" ]
	cmp "$ROOT/auth/$first" "$BATS_FILE_TMPDIR/first.orig"
	[ "$(stat -c %a "$ROOT/auth/$first")" = 600 ]
	cmp "$ROOT/auth/$second" "$BATS_FILE_TMPDIR/second.rotated"
	[ -e "$ROOT/auth/new-login.json" ]
	[[ "$stderr" == *"'$second' differs"* ]] || { show; false; }
	# --auth: exactly the snapshot's dir, after a backup that has the current one.
	cpactl_run rollback "$id" --container rb-prod --yes --auth --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .auth.mode)" = exact ]
	cmp "$ROOT/auth/$second" "$BATS_FILE_TMPDIR/second.orig"
	[ ! -e "$ROOT/auth/new-login.json" ]
	[ "$(stat -c %a "$ROOT/auth")" = 700 ]
	tar -tf "$ROOT/backup/$(jqo .backup)/auth.tar" | grep -q new-login.json
	[ -z "$(ls -A "$ROOT" | grep cpactl-auth)" ]
	[ "$(served_version)" = v7.1.0 ]
}

@test "a snapshot that fails verification is refused with the reason; production untouched" {
	cpactl_run backup --container rb-prod --json
	local id before
	id=$(jqo .id)
	before=$(prod_id)
	printf 'x' >>"$ROOT/backup/$id/container.json"
	cpactl_run rollback "$id" --container rb-prod --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"fails verification"* ]]
	[[ "$(jqo .error.message)" == *"container.json"* ]]
	[ "$(prod_id)" = "$before" ]
	[ ! -e "$ROOT/.cpactl/journal.json" ]
	rm -rf "$ROOT/backup/$id" "$ROOT/.cpactl/seals/$id.sha256"
}

@test "with the image gone from the engine, it is loaded back from the blob store" {
	local port=$PORT2 dir image_id snap
	# An image of its own, so removing it touches no other test.
	docker create --name rb-mk eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker commit --change 'LABEL rbtest=1' rb-mk eceasy/cli-proxy-api:v7.1.0-rbtest >/dev/null
	docker rm rb-mk >/dev/null
	image_id=$(docker image inspect -f '{{.Id}}' eceasy/cli-proxy-api:v7.1.0-rbtest)
	deploy rb-blob v7.1.0-rbtest -p "127.0.0.1:$port:8317"
	dir="$BATS_FILE_TMPDIR/rb-blob"
	wait_port "$port"
	snap=$("$CPACTL" upgrade --container rb-blob --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes \
		--test-port "$TP" --timeout 15 --json 2>/dev/null | jq -r .snapshot)
	[ "$(served_version "$port")" = v7.2.0 ]
	docker rm "rb-blob-cpactl-prev-$snap" >/dev/null
	docker rmi "cpactl-rollback:rb-blob-$snap" eceasy/cli-proxy-api:v7.1.0-rbtest >/dev/null
	! docker image inspect "$image_id" >/dev/null 2>&1
	cpactl_run rollback "$snap" --container rb-blob --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .path)" = blob-store ]
	[ "$(served_version "$port")" = v7.1.0 ]
	[ "$(docker inspect -f '{{.Image}}' rb-blob)" = "$image_id" ]
	# Its own reference is gone: it runs under the rollback tag, and discovery finds it.
	[ "$(docker inspect -f '{{.Config.Image}}' rb-blob)" = "cpactl-rollback:rb-blob-$snap" ]
	cpactl_run discover --container rb-blob --json
	[ "$(jqo 'length')" = 1 ] || { show; false; }
	docker ps -aq --filter name=rb-blob | xargs -r docker rm -f >/dev/null
}

@test "rollback before and after cpactl archive: an archived snapshot is restored from archive/" {
	local name=ra-prod port=$PORT3 dir snap b
	deploy "$name" v7.1.0 -p "127.0.0.1:$port:8317"
	dir="$BATS_FILE_TMPDIR/$name"
	wait_port "$port"
	snap=$("$CPACTL" upgrade --container "$name" --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes \
		--test-port "$TP" --timeout 15 --json 2>/dev/null | jq -r .snapshot)
	# Before: back to v7.1.0 through the kept container.
	cpactl_run rollback "$snap" --container "$name" --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .location)" = backup ]
	b=$(jqo .backup)
	[ "$(served_version "$port")" = v7.1.0 ]
	cpactl_run archive --container "$name" --keep 2 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ -d "$dir/backup/$b" ] && [ ! -e "$dir/backup/$snap" ]
	# After: forward to v7.2.0 (the newest, in backup/), then back to the archived one.
	cpactl_run rollback "$b" --container "$name" --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(served_version "$port")" = v7.2.0 ]
	cpactl_run rollback "$snap" --container "$name" --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo .location)" == archive/* ]] || { show; false; }
	[ "$(served_version "$port")" = v7.1.0 ]
	cpactl_run verify --container "$name"
	[ "$status" -eq 0 ] || { show; false; }
	docker ps -aq --filter "name=$name" | xargs -r docker rm -f >/dev/null
}

# --- killed at every step boundary ------------------------------------------

# state_of DIR: one line per file (config and auth), for comparing whole states.
state_of() {
	(cd "$1" && sha256sum config.yaml auth/*)
}

# Production answers with v7.1.0 and the snapshot's files, or with v7.2.0 and
# the files as they were before; one container runs; nothing is left over.
assert_whole() {
	local step=$1 name=$2 port=$3 dir=$4 version
	version=$(served_version "$port")
	case $version in
	v7.1.0) [ "$(state_of "$dir")" = "$(cat "$BATS_FILE_TMPDIR/$name.after")" ] ||
		{ echo "$step: v7.1.0 serves with files that are not the snapshot's"; return 1; } ;;
	v7.2.0) [ "$(state_of "$dir")" = "$(cat "$BATS_FILE_TMPDIR/$name.before")" ] ||
		{ echo "$step: v7.2.0 serves with files that are not the ones before"; return 1; } ;;
	*) echo "$step: production answers version '$version'"; return 1 ;;
	esac
	[ "$(docker ps -q --filter "name=$name" | wc -l)" = 1 ] || { echo "$step: not exactly one container runs"; return 1; }
	[ -z "$(docker ps -aq --filter "name=$name-cpactl-new")" ] || { echo "$step: a pre-created container is left"; return 1; }
	[ ! -e "$dir/.cpactl/journal.json" ] || { echo "$step: the journal is still there"; return 1; }
	[ -z "$(ls -A "$dir" | grep cpactl-auth)" ] || { echo "$step: a staged auth dir is left"; return 1; }
}

@test "rollback (recreated, --auth) killed at two step boundaries: recover leaves production serving, every file whole" {
	local name=rk-prod port=$PORT2 dir snap step outcomes=""
	docker ps -aq --filter name=rb-blob | xargs -r docker rm -f >/dev/null
	deploy "$name" v7.1.0 -p "127.0.0.1:$port:8317" --restart unless-stopped
	dir="$BATS_FILE_TMPDIR/$name"
	wait_port "$port"
	snap=$("$CPACTL" backup --container "$name" --json 2>/dev/null | jq -r .id)
	state_of "$dir" >"$BATS_FILE_TMPDIR/$name.after"
	# The state before each rollback: v7.2.0, an edited config, a rotated token, a new login.
	printf '# edited\n' >>"$dir/config.yaml"
	sed -i 's/SECRET-FIXTURE-refresh-/SECRET-FIXTURE-refresh-rotated-/' "$dir/auth/$(ls "$dir/auth" | sed -n 1p)"
	printf '{"type":"claude"}\n' >"$dir/auth/zz-new.json"
	chmod 600 "$dir/auth/zz-new.json"
	state_of "$dir" >"$BATS_FILE_TMPDIR/$name.before"
	cp -a "$dir/config.yaml" "$BATS_FILE_TMPDIR/$name.config"
	cp -a "$dir/auth" "$BATS_FILE_TMPDIR/$name.auth"
	# Every step: tests/unit/test_crash.c (test_rollback_auth); here, the
	# auth restore and the instant between the renames, against the real
	# engine (a kill before production is touched has nothing to undo).
	for step in promote-auth promote-rename-new; do
		docker ps -aq --filter "name=$name" | xargs -r docker rm -f >/dev/null
		cp -a "$BATS_FILE_TMPDIR/$name.config" "$dir/config.yaml"
		rm -rf "$dir/auth" && cp -a "$BATS_FILE_TMPDIR/$name.auth" "$dir/auth"
		docker run -d --name "$name" -p "127.0.0.1:$port:8317" --restart unless-stopped \
			-v "$dir/config.yaml:/CLIProxyAPI/config.yaml" -v "$dir/auth:/root/.cli-proxy-api" \
			eceasy/cli-proxy-api:v7.2.0 >/dev/null
		wait_port "$port"
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" rollback "$snap" --container "$name" --auth --yes -q
		[ "$status" -eq 137 ] || { echo "$step: rollback exited $status, not killed"; false; }
		# Between the two renames no container carries the name: then only
		# recover (which looks for the ones set aside) can find the deployment.
		if docker inspect "$name" >/dev/null 2>&1; then
			cpactl_run status --container "$name" --json
			[[ "$output" == *unfinished* ]] || { echo "$step: status does not report the unfinished rollback"; show; false; }
			cpactl_run backup --container "$name" --json
			[ "$status" -eq 4 ] || { echo "$step: backup did not refuse (exit $status)"; false; }
		fi
		cpactl_run recover --container "$name" --json
		[ "$status" -eq 0 ] || { echo "$step: recover failed"; show; false; }
		outcomes="$outcomes $step:$(jqo .outcome)"
		assert_whole "$step" "$name" "$port" "$dir"
	done
	echo "$outcomes" >&3
}

@test "rollback through the kept container killed at two step boundaries: recover restores the kept one or finishes" {
	local name=rf-prod port=$PORT2 dir snap step kept_id
	docker ps -aq --filter name=rk-prod | xargs -r docker rm -f >/dev/null
	# Every step: tests/unit/test_crash.c (test_rollback); here, one that is
	# undone and one that is finished.
	for step in promote-config promote-start-new; do
		docker ps -aq --filter "name=$name" | xargs -r docker rm -f >/dev/null
		rm -rf "$BATS_FILE_TMPDIR/$name"
		deploy "$name" v7.1.0 -p "127.0.0.1:$port:8317" --restart unless-stopped
		dir="$BATS_FILE_TMPDIR/$name"
		wait_port "$port"
		state_of "$dir" >"$BATS_FILE_TMPDIR/$name.after"
		snap=$("$CPACTL" upgrade --container "$name" --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes \
			--test-port "$TP" --timeout 15 --json 2>/dev/null | jq -r .snapshot)
		kept_id=$(docker inspect -f '{{.Id}}' "$name-cpactl-prev-$snap")
		printf '# edited\n' >>"$dir/config.yaml"
		rm "$dir/auth/$(ls "$dir/auth" | sed -n 1p)"
		state_of "$dir" >"$BATS_FILE_TMPDIR/$name.before"
		CPACTL_TEST_KILL_AT=$step run "$CPACTL" rollback --container "$name" --yes -q
		[ "$status" -eq 137 ] || { echo "$step: rollback exited $status, not killed"; false; }
		cpactl_run recover --container "$name" --json
		[ "$status" -eq 0 ] || { echo "$step: recover failed"; show; false; }
		assert_whole "$step" "$name" "$port" "$dir"
		# Undone: the kept container is kept again, stopped and inert, under its name.
		if [ "$(served_version "$port")" = v7.2.0 ]; then
			[ "$(docker inspect -f '{{.Id}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}' \
				"$name-cpactl-prev-$snap")" = "$kept_id false no" ] || { echo "$step: the kept container was not kept"; false; }
		else
			[ "$(docker inspect -f '{{.Id}} {{.HostConfig.RestartPolicy.Name}}' "$name")" = "$kept_id unless-stopped" ] ||
				{ echo "$step: production is not the kept container with its policy"; false; }
		fi
	done
}

# --- hostile snapshots --------------------------------------------------------

# reseal ROOT ID: rewrites the manifest's hash of auth.tar and the seal, as an
# attacker with write access to the backups could: the snapshot then verifies.
reseal() {
	local root=$1 id=$2 dir="$1/backup/$2" sha size
	sha=$(sha256sum <"$dir/auth.tar" | cut -d' ' -f1)
	size=$(stat -c %s "$dir/auth.tar")
	jq --arg s "$sha" --argjson n "$size" '.parts["auth.tar"] = {sha256: $s, size: $n}' "$dir/manifest.json" >"$dir/m.tmp"
	mv "$dir/m.tmp" "$dir/manifest.json"
	sha256sum <"$dir/manifest.json" | cut -d' ' -f1 >"$root/.cpactl/seals/$id.sha256"
}

@test "hostile auth.tar in a sealed snapshot: verify names it, rollback refuses, nothing written outside, production untouched" {
	local id before case out="$BATS_FILE_TMPDIR/outside" version
	mkdir -p "$out"
	version=$(served_version)
	cpactl_run backup --container rb-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	id=$(jqo .id)
	cp "$ROOT/backup/$id/auth.tar" "$BATS_FILE_TMPDIR/good-auth.tar"
	for case in dotdot absolute symlink-escape hardlink-escape device; do
		python3 - "$ROOT/backup/$id/auth.tar" "$case" "$out" <<'PY'
import io, sys, tarfile
path, case, out = sys.argv[1:]
t = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)
def add(name, data=b'{"type":"claude"}\n', **kw):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o600
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
add("ok.json")
if case == "dotdot": add("../../../../../../.." + out + "/dotdot.json")
if case == "absolute": add(out + "/absolute.json")
if case == "symlink-escape":
    add("esc", b"", type=tarfile.SYMTYPE, linkname=out); add("esc/through-link.json")
if case == "hardlink-escape":
    add("hard.json", b"", type=tarfile.LNKTYPE, linkname=out + "/target")
if case == "device":
    add("dev", b"", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
t.close()
PY
		echo keep >"$out/target"
		reseal "$ROOT" "$id"
		cpactl_run verify "$id" --container rb-prod --json
		[ "$status" -eq 3 ] || { echo "$case: verify passed what a restore refuses"; show; false; }
		[[ "$(jqo '.[0].problems | join(" ")')" == *"auth.tar holds '"*"which a rollback would refuse"* ]] ||
			{ echo "$case"; show; false; }
		before=$(prod_id)
		cpactl_run rollback "$id" --container rb-prod --yes --json
		[ "$status" -eq 1 ] || { echo "$case: exit $status"; show; false; }
		[ "$(prod_id)" = "$before" ] || { echo "$case: production was touched"; false; }
		[ "$(ls "$out")" = target ] || { echo "$case: written outside: $(ls "$out")"; false; }
		[ "$(cat "$out/target")" = keep ] || { echo "$case: a file outside was changed"; false; }
		[ -z "$(ls -A "$ROOT" | grep cpactl-auth)" ] || { echo "$case: the staged dir is left"; false; }
		[ ! -e "$ROOT/.cpactl/journal.json" ] || { echo "$case: the journal is left"; false; }
		[ ! -e "$ROOT/auth/ok.json" ] || { echo "$case: a file of the hostile tar reached the live auth dir"; false; }
	done
	cp "$BATS_FILE_TMPDIR/good-auth.tar" "$ROOT/backup/$id/auth.tar"
	reseal "$ROOT" "$id"
	[ "$(served_version)" = "$version" ]
}

@test "two containers sharing a root: list names each snapshot's container; rollback, verify and archive refuse the other's" {
	local d a_id a_snap b_snap b_old_id
	d=$(deploy_dir rb-share)
	docker run -d --name rb-share-a -p "127.0.0.1:$PORT4:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker run -d --name rb-share-b -p "127.0.0.1:$PORT5:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$PORT4" && wait_port "$PORT5"
	cpactl_run backup --container rb-share-a --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	a_snap=$(jqo .id)
	b_old_id=$(docker inspect -f '{{.Id}}' rb-share-b)
	cpactl_run upgrade --container rb-share-b --image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes --timeout 15 --json
	[ "$status" -eq 0 ] || { show; false; }
	b_snap=$(jqo .snapshot)
	cpactl_run list --root "$d" --json
	[ "$(jqo '[.[].container] | join(" ")')" = "rb-share-a rb-share-b" ] || { show; false; }
	a_id=$(docker inspect -f '{{.Id}}' rb-share-a)
	[ "$(jqo '[.[].container_id] | join(" ")')" = "$a_id $b_old_id" ] || { show; false; }
	# verify checks a container's own snapshots and names the others.
	cpactl_run verify --container rb-share-a --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '[.[].id] | join(" ")')" = "$a_snap" ] || { show; false; }
	[[ "$stderr" == *"$b_snap not verified: it was taken of container 'rb-share-b', not of 'rb-share-a'"* ]] || { show; false; }
	cpactl_run verify "$b_snap" --container rb-share-a --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"was taken of container 'rb-share-b', not of 'rb-share-a' (another published API port)"* ]] || { show; false; }
	# B's last upgrade is not A's way back.
	cpactl_run rollback --container rb-share-a --yes --json
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"no upgrade of 'rb-share-a' has been made here yet"* ]]
	cpactl_run rollback "$b_snap" --container rb-share-a --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"snapshot $b_snap was taken of container 'rb-share-b', not of 'rb-share-a'"*"--container rb-share-b"* ]] ||
		{ show; false; }
	[ "$(docker inspect -f '{{.Id}} {{.State.Running}}' rb-share-a)" = "$a_id true" ]
	# Keeping N would keep or drop B's way back by A's count.
	cpactl_run archive --container rb-share-a --keep 1 --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"holds snapshots of another container, 'rb-share-b'"* ]] || { show; false; }
	[ "$(ls "$d/backup" | grep -c '^20')" = 2 ]
	# A renamed container keeps its past: its snapshots are found by the
	# id lineage the upgrade recorded (the old id is not the running one).
	docker rename rb-share-b rb-share-c
	cpactl_run verify --container rb-share-c --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '[.[].id] | join(" ")')" = "$b_snap" ] || { show; false; }
	cpactl_run rollback --container rb-share-c --dry-run --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .snapshot)" = "$b_snap" ] || { show; false; }
	# A container recreated by hand under another name, same config, auth
	# and port: A's snapshot is taken when named, with a note; not by default.
	docker rm -f rb-share-a >/dev/null
	docker run -d --name rb-share-d -p "127.0.0.1:$PORT4:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$PORT4"
	cpactl_run rollback "$a_snap" --container rb-share-d --dry-run --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"snapshot $a_snap was taken of container 'rb-share-a'; its config, auth dir and port are 'rb-share-d''s"* ]] || { show; false; }
	cpactl_run verify --container rb-share-d --json
	[ "$(jqo '. | length')" = 0 ] || { show; false; }
	docker ps -aq --filter name=rb-share | xargs -r docker rm -f >/dev/null
}

@test "a snapshot whose container may do more on the host is refused; --allow-wider needs a person, even with --yes" {
	local d id before
	d=$(deploy_dir rb-wide)
	# Once run loose (the host's pid namespace, / mounted; --privileged
	# itself cannot start where the test engine runs) ...
	docker run -d --name rb-wide --pid host -v /:/hostroot:ro -p "127.0.0.1:$PORT4:8317" \
		-v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$PORT4"
	cpactl_run backup --container rb-wide --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	id=$(jqo .id)
	# ... then hardened by its operator.
	docker rm -f rb-wide >/dev/null
	docker run -d --name rb-wide --security-opt no-new-privileges --cap-drop NET_RAW -p "127.0.0.1:$PORT4:8317" \
		-v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	wait_port "$PORT4"
	before=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' rb-wide)
	cpactl_run rollback "$id" --container rb-wide --yes --json
	[ "$status" -eq 1 ] || { show; false; }
	[ "$(jqo '.widening | join("; ")')" = "no longer drops the capability NET_RAW; mounts the host path / (on /hostroot); shares the host's pid namespace; drops the security option no-new-privileges" ] ||
		{ show; false; }
	[[ "$(jqo .error.message)" == *"would let 'rb-wide' do more on the host than it does now (no longer drops"*"--allow-wider"* ]]
	# --yes does not answer for a person; without a terminal nobody can.
	cpactl_run rollback "$id" --container rb-wide --yes --allow-wider --json </dev/null
	[ "$status" -eq 5 ] || { show; false; }
	[ "$(jqo .outcome)" = declined ]
	[ "$(docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.HostConfig.PidMode}}' rb-wide)" = "$before " ]
	[ ! -e "$d/.cpactl/journal.json" ]
	docker rm -f rb-wide >/dev/null
}
