#!/usr/bin/env bats
# backup, list and verify against the real engine, including the failure paths:
# a config that is a directory, the lock, a full disk, Ctrl-C and hand edits.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PORT ROOT
	PORT=$(free_port)
	deploy bk-prod v7.1.0 -p "127.0.0.1:$PORT:8317" --restart unless-stopped
	ROOT="$BATS_FILE_TMPDIR/bk-prod"
	wait_port "$PORT"
}

teardown_file() {
	remove_containers bk-prod bk-vol bk-dir bk-big bk-tmpfs bk-die
	docker volume rm bk-vol-auth >/dev/null 2>&1 || true
	umount "$BATS_FILE_TMPDIR/small" 2>/dev/null || true
}

first_id() {
	ls "$ROOT/backup" | grep -v '^\.' | head -n 1
}

@test "backup makes a complete snapshot with private modes" {
	cpactl_run backup --json --container bk-prod
	[ "$status" -eq 0 ] || { show; false; }
	local id
	id=$(jqo .id)
	[[ "$id" =~ ^[0-9]{8}-[0-9]{6}$ ]]
	local dir="$ROOT/backup/$id"
	for f in manifest.json baseline.md container.json image-inspect.json config.yaml auth.tar image-layers.json; do
		[ -f "$dir/$f" ] || { echo "missing $f"; false; }
		[ "$(stat -c %a "$dir/$f")" = 600 ] || { echo "$f is $(stat -c %a "$dir/$f")"; false; }
	done
	[ "$(stat -c %a "$dir")" = 700 ]
	[ "$(stat -c %a "$ROOT/backup")" = 700 ]
	[ "$(stat -c %a "$ROOT/.cpactl")" = 700 ]
	[ "$(stat -c %a "$ROOT/.cpactl/store")" = 700 ]
	[ "$(stat -c %a "$ROOT/.cpactl/history")" = 700 ]
	[ -z "$(ls -a "$ROOT/backup" | grep '\.tmp$')" ]
}

@test "the snapshot's config.yaml is byte for byte the live one" {
	local id
	id=$(first_id)
	cmp "$ROOT/config.yaml" "$ROOT/backup/$id/config.yaml"
}

@test "auth.tar holds every auth file with its mode, relative names" {
	local id
	id=$(first_id)
	run tar -tvf "$ROOT/backup/$id/auth.tar"
	[[ "$output" == *"-rw------- "*"claude-alice@example.com.json"* ]]
	[[ "$output" == *"codex-bob@example.com-plus.json"* ]]
	[[ "$output" == *"gemini-carol@example.com-proj1.json"* ]]
	[[ "$output" != *"/.cli-proxy-api/"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/x"
	tar -xf "$ROOT/backup/$id/auth.tar" -C "$BATS_TEST_TMPDIR/x"
	diff -r "$ROOT/auth" "$BATS_TEST_TMPDIR/x"
}

@test "baseline.md follows the runbook and the manifest records the parts" {
	local id
	id=$(first_id)
	grep -q "^# Baseline $id" "$ROOT/backup/$id/baseline.md"
	grep -q "^Container: bk-prod" "$ROOT/backup/$id/baseline.md"
	grep -q "^Version: CLIProxyAPI Version: v7.1.0" "$ROOT/backup/$id/baseline.md"
	grep -q "^Port: $PORT" "$ROOT/backup/$id/baseline.md"
	run jq -r '.format, .cpactl_version, .parts["config.yaml"].sha256, .baseline.container' "$ROOT/backup/$id/manifest.json"
	[ "${lines[0]}" = 1 ]
	[ "${lines[2]}" = "$(sha256sum "$ROOT/config.yaml" | cut -c1-64)" ]
	[ "${lines[3]}" = bk-prod ]
	! grep -rq SECRET-FIXTURE "$ROOT/backup/$id/manifest.json" "$ROOT/backup/$id/baseline.md"
}

@test "the image is tagged for a local rollback" {
	local id
	id=$(first_id)
	docker image inspect "cpactl-rollback:bk-prod-$id" >/dev/null
}

@test "a second backup of the unchanged image stores no image bytes again, under a new id" {
	cpactl_run backup --json --container bk-prod
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .image_reused)" = true ]
	local second_new
	second_new=$(jqo .new_bytes)
	cpactl_run list --json --container bk-prod
	[ "$(jqo 'length')" -ge 2 ]
	local first_new
	first_new=$(jqo '.[0].new_bytes')
	[ "$second_new" -lt "$((first_new / 5))" ] || { echo "second $second_new first $first_new"; false; }
	[ "$(jqo '.[0].id')" != "$(jqo '.[1].id')" ]
}

@test "two backups in the same second get distinct ids" {
	cpactl_run backup --json --container bk-prod --no-image
	local a
	a=$(jqo .id)
	cpactl_run backup --json --container bk-prod --no-image
	[ "$status" -eq 0 ] || { show; false; }
	[ "$a" != "$(jqo .id)" ]
}

@test "list --json has the documented fields" {
	cpactl_run list --json --container bk-prod
	[ "$status" -eq 0 ]
	for key in id created version image image_id bytes new_bytes offline location; do
		[ "$(jqo "map(has(\"$key\")) | all")" = true ] || { echo "missing $key"; false; }
	done
	[ "$(jqo '.[0].offline')" = true ]
	[ "$(jqo '.[0].version')" = v7.1.0 ]
	[ "$(jqo 'map(select(.offline == false)) | length')" -ge 2 ] # the --no-image ones
	cpactl_run list --root "$ROOT"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *ID*CREATED*VERSION* ]]
}

@test "verify passes on intact snapshots" {
	cpactl_run verify --json --root "$ROOT"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'map(.ok) | all')" = true ]
}

@test "verify names a part edited by hand (exit 3)" {
	local id
	id=$(first_id)
	cp "$ROOT/backup/$id/config.yaml" "$BATS_TEST_TMPDIR/keep"
	echo "# edited" >>"$ROOT/backup/$id/config.yaml"
	cpactl_run verify "$id" --json --root "$ROOT"
	cp "$BATS_TEST_TMPDIR/keep" "$ROOT/backup/$id/config.yaml"
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].problems | join(" ")')" == *"config.yaml is corrupt"* ]]
}

@test "verify refuses a manifest rewritten to match an edited part" {
	local id m
	id=$(first_id)
	m="$ROOT/backup/$id/manifest.json"
	cp "$m" "$BATS_TEST_TMPDIR/m"
	jq '.version = "v9.9.9"' "$BATS_TEST_TMPDIR/m" >"$m"
	cpactl_run verify "$id" --json --root "$ROOT"
	cp "$BATS_TEST_TMPDIR/m" "$m"
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].problems | join(" ")')" == *"does not match its seal"* ]]
}

@test "verify names a missing and a corrupt image blob" {
	local id blob
	id=$(first_id)
	blob=$(jq -r '[.entries[] | select(.sha256)][0].sha256' "$ROOT/backup/$id/image-layers.json")
	local path="$ROOT/.cpactl/store/sha256/${blob:0:2}/$blob"
	mv "$path" "$BATS_TEST_TMPDIR/blob"
	cpactl_run verify "$id" --root "$ROOT"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"blob sha256:${blob:0:12} is missing"* ]]
	cpactl_run list --json --root "$ROOT"
	[ "$(jqo ".[] | select(.id == \"$id\") | .offline")" = false ]
	cp "$BATS_TEST_TMPDIR/blob" "$path"
	printf 'x' | dd of="$path" bs=1 seek=10 conv=notrunc 2>/dev/null
	cpactl_run verify "$id" --root "$ROOT"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"is corrupt"* ]]
	mv "$BATS_TEST_TMPDIR/blob" "$path"
	cpactl_run verify "$id" --root "$ROOT"
	[ "$status" -eq 0 ]
}

@test "verify of an unknown id fails with not_found" {
	cpactl_run verify 20000101-000000 --json --root "$ROOT"
	[ "$status" -eq 1 ]
	[ "$(jqo .error.code)" = not_found ]
}

@test "an auth dir in a named volume is backed up through the engine" {
	local d
	d=$(deploy_dir bk-vol)
	docker volume create bk-vol-auth >/dev/null
	docker create --name bk-vol -v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v bk-vol-auth:/root/.cli-proxy-api \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null
	docker cp "$d/auth/." bk-vol:/root/.cli-proxy-api/ >/dev/null
	docker start bk-vol >/dev/null
	cpactl_run backup --json --container bk-vol
	[ "$status" -eq 0 ] || { show; false; }
	local snap
	snap=$(jqo .path)
	run tar -tf "$snap/auth.tar"
	[[ "$output" == *"gemini-carol@example.com-proj1.json"* ]]
	# The manifest names each file as the tar does, whole (they once came
	# out cut, "ample.com.json", when read through the engine).
	[ "$(jq -r '.auth_files[].name' "$snap/manifest.json" | sort)" = "$(tar -tf "$snap/auth.tar" | grep -v '/$' |
		sed 's|^\./||' | sort)" ]
}

@test "a config.yaml that is a directory stops the backup unless --no-config" {
	local d="$BATS_FILE_TMPDIR/bk-dir"
	mkdir -p "$d/auth"
	docker run -d --name bk-dir -v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	cpactl_run backup --container bk-dir --no-image
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$stderr" == *"is a directory"*"--no-config"* ]]
	[ -z "$(ls "$d/backup")" ]
	cpactl_run backup --container bk-dir --no-image --no-config
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"config.yaml was not backed up"* ]]
}

@test "what a restore would refuse is left out of the snapshot and named; verify names it in an older one" {
	local d id snap
	d=$(deploy_dir bk-odd)
	ln -s /etc/shadow "$d/auth/claude-escape@example.com.json"
	ln -s ../config.yaml "$d/auth/up.json"
	ln -s claude-user1@example.com.json "$d/auth/alias.json"
	mkfifo "$d/auth/pipe"
	docker run -d --name bk-odd -v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run backup --container bk-odd --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	id=$(jqo .id)
	snap=$(jqo .path)
	for name in claude-escape@example.com.json up.json pipe; do
		[[ "$(jqo '.warnings | join(" ")')" == *"not in the snapshot: '$name'"*"a rollback could not put it back"* ]] ||
			{ echo "$name"; show; false; }
		! tar -tf "$snap/auth.tar" | grep -qx "\(\./\)\?$name"
	done
	# A link inside the dir is kept.
	tar -tf "$snap/auth.tar" | grep -q "alias.json"
	cpactl_run verify "$id" --root "$d"
	[ "$status" -eq 0 ] || { show; false; }
	# A snapshot an earlier cpactl took with the link in it (sealed as it
	# would have been): verify says it cannot be restored whole.
	mkdir "$BATS_TEST_TMPDIR/old"
	tar -C "$BATS_TEST_TMPDIR/old" -xf "$snap/auth.tar"
	ln -s /etc/shadow "$BATS_TEST_TMPDIR/old/claude-escape@example.com.json"
	tar -C "$BATS_TEST_TMPDIR/old" -cf "$snap/auth.tar" .
	jq --arg sha "$(sha256sum <"$snap/auth.tar" | cut -d' ' -f1)" --argjson size "$(stat -c %s "$snap/auth.tar")" \
		'.parts["auth.tar"].sha256 = $sha | .parts["auth.tar"].size = $size' "$snap/manifest.json" >"$BATS_TEST_TMPDIR/m"
	cat "$BATS_TEST_TMPDIR/m" >"$snap/manifest.json"
	sha256sum <"$snap/manifest.json" | cut -d' ' -f1 >"$d/.cpactl/seals/$id.sha256"
	cpactl_run verify "$id" --json --root "$d"
	[ "$status" -eq 3 ] || { show; false; }
	[[ "$(jqo '.[0].problems | join(" ")')" == *"auth.tar holds './claude-escape@example.com.json', which a rollback would refuse (a symlink that points out of the directory)"* ]] ||
		{ show; false; }
	docker rm -f bk-odd >/dev/null
}

@test "a backup/ that cannot be read is an error naming it, never 'no snapshot'" {
	# As a user who may not read it (nobody; the binary copied where that
	# user can run it), and as root when backup/ is not a directory.
	local t
	t=$(mktemp -d /tmp/cpactl-perm.XXXXXX)
	chmod 755 "$t"
	cp "$CPACTL" "$t/cpactl"
	mkdir -p "$t/root/backup/20260101-000000"
	chmod 755 "$t/root"
	chmod 700 "$t/root/backup"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$t/cpactl" list --json --root "$t/root"
	[ "$status" -eq 1 ] || { show; rm -rf "$t"; false; }
	[[ "$(jqo .error.message)" == *"cannot read the snapshots in '$t/root/backup': Permission denied"* ]] ||
		{ show; rm -rf "$t"; false; }
	rm -rf "$t/root/backup"
	touch "$t/root/backup"
	for verb in list verify; do
		cpactl_run "$verb" --json --root "$t/root"
		[ "$status" -eq 1 ] || { show; rm -rf "$t"; false; }
		[[ "$(jqo .error.message)" == *"refusing to trust '$t/root/backup': it is not a directory"* ]] ||
			{ show; rm -rf "$t"; false; }
	done
	rm -rf "$t"
}

@test "a snapshot another local user forged in an open root is never trusted: every verb refuses, nothing runs" {
	# The root of a bind-mounted config is often world-writable.  nobody
	# plants a snapshot whose container would mount / and run privileged,
	# with its seal and a last-upgraded record pointing at it.
	local t d id=20990101-000000 before
	t=$(mktemp -d /tmp/cpactl-forge.XXXXXX)
	chmod 755 "$t"
	d="$t/deploy"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy.sh" "$d" >/dev/null
	chmod 777 "$d"
	docker run -d --name bk-forge -v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null
	before=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' bk-forge)
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '
		d=$1 id=$2
		mkdir -p "$d/backup/$id" "$d/.cpactl/seals"
		printf "{\"Config\":{\"Image\":\"eceasy/cli-proxy-api:v7.2.0\",\"Cmd\":[\"sh\",\"-c\",\"touch /host/PWNED\"]},\"HostConfig\":{\"Privileged\":true,\"Binds\":[\"/:/host\"]},\"Name\":\"/bk-forge\"}" >"$d/backup/$id/container.json"
		printf "{\"format\":1,\"id\":\"%s\",\"parts\":{}}" "$id" >"$d/backup/$id/manifest.json"
		sha256sum <"$d/backup/$id/manifest.json" | cut -d" " -f1 >"$d/.cpactl/seals/$id.sha256"
		printf "{\"outcome\":\"upgraded\",\"context\":{\"snapshot\":\"%s\",\"container\":\"bk-forge\"}}" "$id" >"$d/.cpactl/last-upgraded.json"
	' _ "$d" "$id"
	for args in "verify" "list" "rollback --yes" "rollback $id --yes" "backup --no-image" "recover"; do
		# shellcheck disable=SC2086
		cpactl_run $args --container bk-forge --json
		[ "$status" -eq 1 ] || { echo "$args"; show; rm -rf "$t"; false; }
		[ "$(jqo .error.code)" = untrusted ] || { echo "$args"; show; rm -rf "$t"; false; }
		[[ "$(jqo .error.message)" == *"refusing to trust '$d': its mode 0777 lets every local user write in it"* ]] ||
			{ echo "$args"; show; rm -rf "$t"; false; }
	done
	# The root closed again, but backup/ and .cpactl/ are still nobody's.
	chmod 755 "$d"
	cpactl_run rollback --container bk-forge --yes --json
	[ "$status" -eq 1 ] || { show; rm -rf "$t"; false; }
	[[ "$(jqo .error.message)" == *"refusing to trust '$d/backup': it is owned by uid 65534"* ]] || { show; rm -rf "$t"; false; }
	cpactl_run doctor --container bk-forge --json
	finding untrusted-state error
	# No trace: production as it was, no other container, nothing on the host.
	[ "$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' bk-forge)" = "$before" ]
	[ "$(docker ps -aq | wc -l)" = "$(docker ps -aq --filter name=^bk- | wc -l)" ]
	[ -z "$(docker ps -aq --filter name=bk-forge-cpactl)" ]
	[ ! -e /PWNED ]
	docker rm -f bk-forge >/dev/null
	rm -rf "$t"
}

@test "a second mutating cpactl exits 4 and names the lock" {
	hold_lock "$ROOT/.cpactl/lock" 3
	cpactl_run backup --container bk-prod --json
	wait
	[ "$status" -eq 4 ] || { show; false; }
	[ "$(jqo .error.code)" = locked ]
	[[ "$(jqo .error.message)" == *"holds the lock"* ]]
}

@test "read-only commands do not wait for the lock" {
	hold_lock "$ROOT/.cpactl/lock" 3
	cpactl_run list --root "$ROOT"
	local s=$status
	kill %1 2>/dev/null || true
	wait || true
	[ "$s" -eq 0 ]
}

@test "a full disk: clear error, no snapshot, earlier snapshots still verify" {
	local small="$BATS_FILE_TMPDIR/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=2m tmpfs "$small"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy.sh" "$small" >/dev/null
	bash "$BATS_TEST_DIRNAME/../fixtures/big-image.sh" v7.2.0-pad8 8
	docker run -d --name bk-tmpfs -v "$small/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$small/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.2.0-pad8 >/dev/null
	cpactl_run backup --container bk-tmpfs --no-image
	[ "$status" -eq 0 ] || { show; false; }
	cpactl_run backup --container bk-tmpfs --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"no space left on device"* ]]
	cpactl_run list --json --root "$small"
	[ "$(jqo length)" = 1 ]
	[ -z "$(ls -a "$small/backup" | grep '\.tmp$')" ]
	[ -z "$(ls "$small/.cpactl/store/tmp" 2>/dev/null)" ]
	cpactl_run verify --root "$small"
	[ "$status" -eq 0 ] || { show; false; }
	# Full before the small parts: the same errno named, whichever file met it
	# (libarchive alone says "Write error").
	# 400 KB left: the small parts fit, auth.tar with a 500 KB login does not.
	printf '{"type":"claude","pad":"%0500000d"}' 0 >"$small/auth/claude-big@example.com.json"
	dd if=/dev/zero of="$small/filler" bs=4k count=$(($(df --output=avail -B4k "$small" | tail -n 1) - 100)) 2>/dev/null
	cpactl_run backup --container bk-tmpfs --no-image --json
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$(jqo .error.message)" == *"auth.tar': No space left on device"* ]] || { show; false; }
	cpactl_run list --json --root "$small"
	[ "$(jqo length)" = 1 ]
	rm -f "$small/filler" "$small/auth/claude-big@example.com.json"
	docker rm -f bk-tmpfs >/dev/null
	umount "$small"
}

@test "Ctrl-C during the image save: no snapshot, no temporary files" {
	bash "$BATS_TEST_DIRNAME/../fixtures/big-image.sh" v7.2.0-pad200 200
	local d
	d=$(deploy_dir bk-big)
	docker run -d --name bk-big -v "$d/config.yaml:/CLIProxyAPI/config.yaml" -v "$d/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.2.0-pad200 >/dev/null
	"$CPACTL" backup --container bk-big --json >"$BATS_TEST_TMPDIR/json" 2>"$BATS_TEST_TMPDIR/out" &
	local pid=$!
	# Wait until the image is being stored, then interrupt.
	wait_for 60 "the image being stored (a file in $d/.cpactl/store/tmp)" store_tmp_busy "$d"
	kill -INT "$pid"
	local s=0
	wait "$pid" || s=$?
	[ "$s" -eq 1 ] || { echo "exit $s"; cat "$BATS_TEST_TMPDIR/out"; false; }
	grep -q interrupted "$BATS_TEST_TMPDIR/out"
	# With --json, one document: the error.
	[ "$(jq -s length "$BATS_TEST_TMPDIR/json")" = 1 ]
	[[ "$(jq -r .error.message "$BATS_TEST_TMPDIR/json")" == *interrupted* ]]
	cp "$BATS_TEST_TMPDIR/out" "$CPACTL_OUTPUT_LOG/ctrlc.err"
	cp "$BATS_TEST_TMPDIR/json" "$CPACTL_OUTPUT_LOG/ctrlc.json"
	[ -z "$(ls "$d/backup")" ]
	[ -z "$(ls -a "$d/backup" | grep '\.tmp$')" ]
	[ -z "$(ls "$d/.cpactl/store/tmp" 2>/dev/null)" ]
}

store_tmp_busy() {
	[ -n "$(ls "$1/.cpactl/store/tmp" 2>/dev/null)" ]
}

@test "the auth dir rewritten while it is read: every archived file whole, hashed as archived" {
	local d pid i
	d="$ROOT"
	# A token refresh storm: CPA rewrites files in place (truncate, write).
	( for i in $(seq 1 400); do
		printf '{"access_token":"SECRET-FIXTURE-access-storm-%04d","refresh_token":"SECRET-FIXTURE-refresh-storm-%04d","pad":"%0900d"}' \
			"$i" "$i" 0 >"$d/auth/claude-alice@example.com.json"
	done ) &
	pid=$!
	cpactl_run backup --container bk-prod --no-image --json
	wait "$pid"
	[ "$status" -eq 0 ] || { show; false; }
	local snap
	snap=$(jqo .path)
	mkdir -p "$BATS_TEST_TMPDIR/a"
	tar -xf "$snap/auth.tar" -C "$BATS_TEST_TMPDIR/a"
	for f in "$BATS_TEST_TMPDIR"/a/*.json; do
		jq -e . "$f" >/dev/null || { echo "torn: $f"; false; }
		want=$(jq -r --arg n "$(basename "$f")" '.auth_files[] | select(.name == $n) | .sha256' "$snap/manifest.json")
		[ "$(sha256sum <"$f" | cut -c1-64)" = "$want" ] || { echo "hash differs: $f"; false; }
	done
}

@test "the engine dies in the middle of an image save: clear error, no snapshot, store consistent" {
	local d
	bash "$BATS_TEST_DIRNAME/../fixtures/big-image.sh" v7.2.0-pad200 200
	d=$(deploy_dir bk-die)
	docker run -d --name bk-die --restart always -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.2.0-pad200 >/dev/null
	"$CPACTL" backup --container bk-die --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	wait_for 60 "the image being stored (a file in $d/.cpactl/store/tmp)" store_tmp_busy "$d"
	. "$BATS_TEST_DIRNAME/../engine.sh"
	ENGINE_DIR=${DOCKER_HOST#unix://}
	ENGINE_DIR=${ENGINE_DIR%/docker.sock}
	ENGINE_BRIDGE=$(cat "$ENGINE_DIR/bridge")
	# Dies, not stops: SIGKILL, so no request is finished gracefully.
	kill -KILL "$(cat "$ENGINE_DIR/docker.pid")"
	local s=0
	wait "$pid" || s=$?
	cp "$BATS_TEST_TMPDIR/out" "$CPACTL_OUTPUT_LOG/die.out"
	cp "$BATS_TEST_TMPDIR/err" "$CPACTL_OUTPUT_LOG/die.err"
	# Its containerd outlives it: stop that too, as a reboot would, and start afresh.
	engine_kill
	rm -f "$ENGINE_DIR/exec/containerd/containerd.pid" "$ENGINE_DIR/exec/containerd/containerd.sock"
	engine_restart
	[ "$s" -eq 1 ] || { cat "$BATS_TEST_TMPDIR/err"; false; }
	[ "$(jq -r .error.code "$BATS_TEST_TMPDIR/out")" != null ]
	[ -z "$(ls "$d/backup")" ]
	[ -z "$(ls -a "$d/backup" | grep '\.tmp$')" ]
	[ -z "$(ls "$d/.cpactl/store/tmp" 2>/dev/null)" ]
	# Every blob in the store is whole: its name is its hash.
	for f in $(find "$d/.cpactl/store/sha256" -type f 2>/dev/null); do
		[ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || { echo "bad blob $f"; false; }
	done
	# The engine is back: the same backup now works.
	wait_for 30 "the restarted engine answering 'docker ps'" docker ps
	cpactl_run backup --container bk-die --no-image
	[ "$status" -eq 0 ] || { show; false; }
}

@test "no fixture secret in anything backup, list or verify printed" {
	! grep -rq SECRET-FIXTURE "$CPACTL_OUTPUT_LOG"
}
