#!/usr/bin/env bats
# archive against the real engine: rounds of --keep, the live files and the
# running container untouched, archived snapshots that verify, mark and sweep of
# the blob store, the last restorable snapshot kept, --dry-run, a SIGKILL at
# every point followed by a rerun, the lock, an unfinished operation, and the
# containers and rollback tags retired.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export PATH_PORT
	PATH_PORT=$(free_port)
}

teardown_file() {
	local names
	names=$(docker ps -a --format '{{.Names}}' 2>/dev/null | grep '^ar-')
	# shellcheck disable=SC2086
	[ -z "$names" ] || docker rm -f $names >/dev/null 2>&1 || true
	names=$(docker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep '^cpactl-rollback:ar-')
	# shellcheck disable=SC2086
	[ -z "$names" ] || docker rmi $names >/dev/null 2>&1 || true
}

# fresh NAME TAG: a deployment $BATS_FILE_TMPDIR/NAME and its running container.
fresh() {
	deploy "$1" "$2" --restart unless-stopped
}

# switch_image NAME TAG: the same deployment, now from another image.
switch_image() {
	local dir="$BATS_FILE_TMPDIR/$1"
	docker rm -f "$1" >/dev/null
	docker run -d --name "$1" --restart unless-stopped -v "$dir/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$dir/auth:/root/.cli-proxy-api" "eceasy/cli-proxy-api:$2" >/dev/null
}

# What archive must never change: config.yaml and the auth files byte for byte,
# and the container's id, start time and restart count.
live_state() {
	(cd "$BATS_FILE_TMPDIR/$1" && sha256sum config.yaml auth/*)
	docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.RestartCount}} {{.State.Running}}' "$1"
}

backup_id() {
	cpactl_run backup --container "$1" --json "${@:2}"
	[ "$status" -eq 0 ] || { show >&2; return 1; }
	jqo .id
}

# The blobs the snapshots of ROOT reference, and those its store holds.
referenced() {
	(cd "$1" && find backup archive -name image-layers.json | grep -v '/\.' | xargs -r jq -r '.entries[] | .sha256 // empty' | sort -u)
}
stored() {
	find "$1/.cpactl/store/sha256" -type f -printf '%f\n' | sort
}

# Every snapshot verifies, the store holds exactly what they reference, no
# leftover of an interrupted run.
consistent() {
	cpactl_run verify --root "$1" --json
	[ "$status" -eq 0 ] || { show; return 1; }
	[ "$(referenced "$1")" = "$(stored "$1")" ] || { diff <(referenced "$1") <(stored "$1"); return 1; }
	[ -z "$(ls -A "$1/archive" | grep '^\.')" ] || { ls -la "$1/archive"; return 1; }
	[ -z "$(ls -A "$1/backup" | grep '^\.')" ] || { ls -la "$1/backup"; return 1; }
}

managed_archives() {
	ls "$1/archive" | grep -E '^[0-9]{8}-[0-9]{4}(-[0-9]+)?$'
}

@test "archive --keep 2, round after round: backup/ keeps the newest, at most 2 archives, everything verifies" {
	local root="$BATS_FILE_TMPDIR/ar-rounds" before round a b c
	fresh ar-rounds v7.1.0
	before=$(live_state ar-rounds)
	a=$(backup_id ar-rounds)
	for round in 1 2 3 4; do
		b=$(backup_id ar-rounds --no-image)
		c=$(backup_id ar-rounds)
		cpactl_run archive --container ar-rounds --keep 2 --json
		[ "$status" -eq 0 ] || { show; false; }
		[ "$(ls "$root/backup")" = "$c" ]
		[ "$(jqo .stays_in_backup)" = "$c" ]
		[ "$(jqo '.moved | join(" ")')" = "$a $b" ] || { show; false; }
		[ "$(managed_archives "$root" | wc -l)" -le 2 ]
		[ "$(jqo .dry_run)" = false ]
		[ "$(jqo .production.unchanged)" = true ]
		local dir
		dir="$root/$(jqo .archive_dir)"
		[ -d "$dir/$a" ] && [ -d "$dir/$b" ]
		grep -q "^$a " "$dir/PRE_ARCHIVE_SNAPSHOT.txt"
		grep -q "^$c " "$dir/PRE_ARCHIVE_SNAPSHOT.txt"
		grep -q "cpactl rollback <ID>" "$dir/README.md"
		grep -q "\`$a\`" "$dir/README.md"
		grep -q "were not touched" "$dir/README.md"
		[ "$(stat -c %a "$dir")" = 700 ] && [ "$(stat -c %a "$dir/README.md")" = 600 ]
		! grep -rq SECRET-FIXTURE "$dir/README.md" "$dir/PRE_ARCHIVE_SNAPSHOT.txt"
		a=$c
		consistent "$root"
	done
	# The archived snapshots are listed where they are, and verify.
	cpactl_run list --root "$root" --json
	[ "$(jqo '[.[] | select(.location | startswith("archive/"))] | length')" -ge 4 ]
	[ "$(jqo '[.[] | select(.location == "backup")] | length')" = 1 ]
	cpactl_run verify "$(jqo '[.[] | select(.location | startswith("archive/"))][0].id')" --root "$root"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(live_state ar-rounds)" = "$before" ]
	# Nothing to move: nothing happens, and it says so.
	cpactl_run archive --container ar-rounds
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"nothing to move"* ]]
}

@test "--dry-run prints the plan and changes nothing; the real run then does what it said" {
	local root="$BATS_FILE_TMPDIR/ar-rounds" a before_fs before_engine before_live plan
	a=$(ls "$root/backup")
	backup_id ar-rounds --no-image >/dev/null
	backup_id ar-rounds >/dev/null
	docker create --name "ar-rounds-cpactl-prev-$a" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	fs_state() {
		(cd "$root" && find . -printf '%p %y %s %m %T@\n' | sort && find . -type f -exec sha256sum {} + | sort)
	}
	before_fs=$(fs_state)
	before_engine=$(docker ps -a --format '{{.ID}} {{.Names}} {{.State}}' | sort; docker images -a --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort)
	before_live=$(live_state ar-rounds)
	cpactl_run archive --container ar-rounds --keep 1 --dry-run --prune-images --json
	[ "$status" -eq 0 ] || { show; false; }
	plan=$output
	[ "$(jqo .dry_run)" = true ]
	[ "$(jqo '.moved | length')" = 2 ]
	[ "$(jqo '.deleted_archives | length')" -ge 1 ]
	[ "$(jqo '.retired_containers | join(" ")')" = "ar-rounds-cpactl-prev-$a" ]
	[ "$(jqo '.retired_tags | length')" -ge 1 ]
	[ "$(jqo '.bytes_freed')" -gt 0 ]
	[ "$(jqo '.pruned_images | has("deleted")')" = true ]
	[[ "$stderr" == *"would move 2 snapshots"* ]]
	[[ "$stderr" == *"would delete archive/"* ]]
	[[ "$stderr" == *"nothing was changed"* ]]
	[ "$(fs_state)" = "$before_fs" ]
	[ "$(docker ps -a --format '{{.ID}} {{.Names}} {{.State}}' | sort; docker images -a --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort)" = "$before_engine" ]
	[ "$(live_state ar-rounds)" = "$before_live" ]
	cpactl_run archive --container ar-rounds --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	for key in moved deleted_archives deleted_snapshots kept retired_containers retired_tags blobs_removed seals_removed rescued restorable; do
		[ "$(printf '%s' "$output" | jq -c ".$key")" = "$(printf '%s' "$plan" | jq -c ".$key")" ] || { echo "$key differs"; show; false; }
	done
	[ "$(managed_archives "$root" | wc -l)" = 1 ]
	! docker inspect "ar-rounds-cpactl-prev-$a" >/dev/null 2>&1
	consistent "$root"
	[ "$(live_state ar-rounds)" = "$before_live" ]
}

@test "blobs of deleted snapshots go, blobs still referenced stay; a later backup saves the old image again" {
	local root="$BATS_FILE_TMPDIR/ar-blobs" s1 s4 old_image new_image only_old before
	fresh ar-blobs v7.1.0
	s1=$(backup_id ar-blobs)
	old_image=$(jq -r .image_id "$root/backup/$s1/image-layers.json")
	switch_image ar-blobs v7.2.0
	before=$(live_state ar-blobs)
	backup_id ar-blobs >/dev/null
	backup_id ar-blobs >/dev/null
	new_image=$(jq -r .image_id "$root/backup/$(ls "$root/backup" | tail -n 1)/image-layers.json")
	[ "$old_image" != "$new_image" ]
	# Blobs only the old image has.
	only_old=$(comm -23 <(jq -r '.entries[] | .sha256 // empty' "$root/backup/$s1/image-layers.json" | sort -u) \
		<(jq -r '.entries[] | .sha256 // empty' "$root/backup/$(ls "$root/backup" | tail -n 1)/image-layers.json" | sort -u))
	[ -n "$only_old" ]
	cpactl_run archive --container ar-blobs --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .blobs_removed)" = 0 ]
	s4=$(backup_id ar-blobs)
	cpactl_run archive --container ar-blobs --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.deleted_snapshots | join(" ")')" == *"$s1"* ]]
	[ "$(jqo .blobs_removed)" = "$(echo "$only_old" | wc -l)" ]
	[ "$(jqo .image_indexes_removed)" = 1 ]
	[ "$(jqo .blob_bytes_freed)" -gt 0 ]
	local h
	for h in $only_old; do
		[ ! -e "$root/.cpactl/store/sha256/${h:0:2}/$h" ] || { echo "old blob $h still there"; false; }
	done
	[ ! -e "$root/.cpactl/store/images/${old_image#sha256:}.json" ]
	[ -e "$root/.cpactl/store/images/${new_image#sha256:}.json" ]
	[ ! -e "$root/.cpactl/seals/$s1.sha256" ]
	[ "$(ls "$root/backup")" = "$s4" ]
	consistent "$root"
	[ "$(live_state ar-blobs)" = "$before" ]
	# The old image comes back: its index went with its blobs, so it is saved again.
	switch_image ar-blobs v7.1.0
	cpactl_run backup --container ar-blobs --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .image_reused)" = false ]
	consistent "$root"
}

@test "the last snapshot that can be restored offline is never deleted with its archive" {
	local root="$BATS_FILE_TMPDIR/ar-last" s1 before
	fresh ar-last v7.1.0
	before=$(live_state ar-last)
	s1=$(backup_id ar-last)
	# Only --no-image snapshots after it.
	backup_id ar-last --no-image >/dev/null
	cpactl_run archive --container ar-last --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .restorable)" = "$s1" ]
	backup_id ar-last --no-image >/dev/null
	cpactl_run archive --container ar-last --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .rescued.id)" = "$s1" ]
	[ "$(jqo .rescued.to)" = "$(jqo .archive_dir)" ]
	[ "$(jqo .restorable)" = "$s1" ]
	[[ "$stderr" == *"kept $s1 from archive/"*"the last snapshot that can be rolled back to offline"* ]]
	[ -d "$root/$(jqo .archive_dir)/$s1" ]
	grep -q "Kept from a deleted archive" "$root/$(jqo .archive_dir)/README.md"
	# Again, with --keep 2 this time: it stays where it is.
	backup_id ar-last --no-image >/dev/null
	cpactl_run archive --container ar-last --keep 2 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .rescued)" = null ]
	# Nothing to move, one archive fewer: rescued into the archive that stays,
	# whose README.md says so.
	cpactl_run archive --container ar-last --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.moved | length')" = 0 ]
	[ "$(jqo .rescued.id)" = "$s1" ]
	grep -q "\`$s1\` was moved here from" "$root/$(jqo '.kept_archives[0]')/README.md"
	cpactl_run list --root "$root" --json
	[ "$(jqo ".[] | select(.id == \"$s1\") | .offline")" = true ]
	consistent "$root"
	[ "$(live_state ar-last)" = "$before" ]
}

@test "killed at any point, then run again: every snapshot verifies, the store holds what they reference" {
	local point root s1 before
	# Not archive-sweep, the last point: a kill there leaves unreferenced
	# blobs, which the rerun sweeps as it does after any run (the suite's
	# time goes to the points that leave snapshots half moved or deleted).
	for point in archive-move archive-rescue archive-delete; do
		root="$BATS_FILE_TMPDIR/ar-kill-$point"
		fresh "ar-kill-$point" v6.9.0
		backup_id "ar-kill-$point" >/dev/null
		switch_image "ar-kill-$point" v7.1.0
		before=$(live_state "ar-kill-$point")
		s1=$(backup_id "ar-kill-$point")
		backup_id "ar-kill-$point" --no-image >/dev/null
		cpactl_run archive --container "ar-kill-$point" --keep 1
		[ "$status" -eq 0 ] || { show; false; }
		backup_id "ar-kill-$point" --no-image >/dev/null
		backup_id "ar-kill-$point" --no-image >/dev/null
		# This run moves two snapshots, rescues s1 (the only one with its
		# image) out of the archive it deletes, and sweeps v6.9.0's blobs.
		CPACTL_TEST_KILL_AT=$point cpactl_run archive --container "ar-kill-$point" --keep 1
		[ "$status" -eq 137 ] || { echo "$point: not killed"; show; false; }
		# What a crash leaves is consistent: whatever is listed verifies.
		cpactl_run verify --root "$root" --json
		[ "$status" -eq 0 ] || { echo "$point: after the kill"; show; false; }
		[ "$point" != archive-delete ] || [ -n "$(ls -A "$root/archive" | grep '\.deleting$')" ]
		# A half-removed leftover is no different.
		rm -f "$root"/archive/.*.deleting/*/manifest.json
		cpactl_run archive --container "ar-kill-$point" --keep 1 --json
		[ "$status" -eq 0 ] || { echo "$point: the rerun"; show; false; }
		consistent "$root" || { echo "$point: after the rerun"; false; }
		[ "$(managed_archives "$root" | wc -l)" = 1 ]
		cpactl_run list --root "$root" --json
		[ "$(jqo ".[] | select(.id == \"$s1\") | .offline")" = true ] || { echo "$point: $s1 lost"; show; false; }
		[ "$(live_state "ar-kill-$point")" = "$before" ]
		docker rm -f "ar-kill-$point" >/dev/null
	done
}

@test "prev and failed containers and rollback tags of archived snapshots are retired; running ones, production and others are not" {
	local root="$BATS_FILE_TMPDIR/ar-retire" s1 s2 s3 before spare
	fresh ar-retire v7.1.0
	before=$(live_state ar-retire)
	s1=$(backup_id ar-retire)
	s2=$(backup_id ar-retire)
	s3=$(backup_id ar-retire)
	docker image inspect "cpactl-rollback:ar-retire-$s1" >/dev/null
	docker create --name "ar-retire-cpactl-prev-$s1" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker create --name "ar-retire-cpactl-failed-$s1" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	docker create --name "ar-retire-cpactl-prev-$s3" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	docker create --name "ar-other-cpactl-prev-$s1" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	spare=$(deploy_dir ar-retire-spare)
	docker run -d --name "ar-retire-cpactl-prev-$s2" -v "$spare/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$spare/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	[ "$(docker inspect -f '{{.State.Running}}' "ar-retire-cpactl-prev-$s2")" = true ]
	# An old rollback tag that is the only name of an image a container uses:
	# the engine refuses to remove it.
	docker create --name ar-retire-src eceasy/cli-proxy-api:v6.9.0 >/dev/null
	docker commit ar-retire-src cpactl-rollback:ar-retire-20000101-000000 >/dev/null
	docker create --name ar-retire-user cpactl-rollback:ar-retire-20000101-000000 >/dev/null
	cpactl_run archive --container ar-retire --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.retired_containers | sort | join(" ")')" = "ar-retire-cpactl-failed-$s1 ar-retire-cpactl-prev-$s1" ]
	[ "$(jqo '.retired_tags | sort | join(" ")')" = "cpactl-rollback:ar-retire-$s1 cpactl-rollback:ar-retire-$s2" ] || { show; false; }
	! docker inspect "ar-retire-cpactl-prev-$s1" >/dev/null 2>&1
	! docker inspect "ar-retire-cpactl-failed-$s1" >/dev/null 2>&1
	docker inspect "ar-retire-cpactl-prev-$s2" "ar-retire-cpactl-prev-$s3" "ar-other-cpactl-prev-$s1" >/dev/null
	! docker image inspect "cpactl-rollback:ar-retire-$s1" >/dev/null 2>&1
	docker image inspect "cpactl-rollback:ar-retire-$s3" >/dev/null
	docker image inspect cpactl-rollback:ar-retire-20000101-000000 >/dev/null
	[[ "$(jqo '.notes | join("\n")')" == *"'ar-retire-cpactl-prev-$s2' is running: it is not removed"* ]]
	[[ "$(jqo '.notes | join("\n")')" == *"tag 'cpactl-rollback:ar-retire-20000101-000000' is kept"*"container"* ]]
	[ "$(live_state ar-retire)" = "$before" ]
	# The images of the archived snapshots are still restorable from the store.
	consistent "$root"
	docker rm -f ar-retire-user ar-retire-src "ar-retire-cpactl-prev-$s2" >/dev/null
}

@test "the last upgrade's way back survives archive --keep 1: its kept container and tag stay, rollback takes the fast path" {
	local up kept
	deploy ar-path v7.1.0 --restart unless-stopped -p "127.0.0.1:$PATH_PORT:8317"
	wait_port "$PATH_PORT"
	backup_id ar-path --no-image >/dev/null
	cpactl_run upgrade --container ar-path --no-pull --yes --json --image eceasy/cli-proxy-api:v7.2.0 --timeout 15
	[ "$status" -eq 0 ] || { show; false; }
	up=$(jqo .snapshot)
	kept=ar-path-cpactl-prev-$up
	docker inspect "$kept" >/dev/null
	# cron's daily backup, then the runbook's archive, keeping 1.
	backup_id ar-path >/dev/null
	cpactl_run archive --container ar-path --keep 1 --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.retired_containers | join(" ")')" != *"$kept"* ]]
	[[ "$(jqo '.notes | join("\n")')" == *"'$kept' is kept: it is the fast way back of the last upgrade"* ]] || { show; false; }
	docker inspect "$kept" >/dev/null
	docker image inspect "cpactl-rollback:ar-path-$up" >/dev/null
	cpactl_run rollback --container ar-path --yes --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .path)" = kept-container ] || { show; false; }
	[ "$(docker inspect -f '{{.Config.Image}}' ar-path)" = eceasy/cli-proxy-api:v7.1.0 ]
	# The way back lost by hand: doctor says so.
	cpactl_run doctor --container ar-path --json
	absent no-rollback-path
	rm -rf "$BATS_FILE_TMPDIR/ar-path/backup/$up" "$BATS_FILE_TMPDIR"/ar-path/archive/*/"$up"
	cpactl_run doctor --container ar-path --json
	finding no-rollback-path warning
}

@test "--prune-images removes dangling images and says how much it reclaimed" {
	local root="$BATS_FILE_TMPDIR/ar-rounds"
	docker create --name ar-dangle eceasy/cli-proxy-api:v6.9.0 >/dev/null
	docker commit ar-dangle ar-dangling:x >/dev/null
	docker rm ar-dangle >/dev/null
	docker tag eceasy/cli-proxy-api:v6.9.0 ar-dangling:x
	[ -n "$(docker images -q --filter dangling=true)" ]
	cpactl_run archive --container ar-rounds --prune-images --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .pruned_images.deleted)" -ge 1 ]
	[ "$(jqo .pruned_images.bytes)" -ge 0 ]
	[ -z "$(docker images -q --filter dangling=true)" ]
	docker rmi ar-dangling:x >/dev/null
	consistent "$root"
}

@test "another cpactl holds the lock: exit 4 naming it; --wait waits for it" {
	local root="$BATS_FILE_TMPDIR/ar-rounds" before
	before=$(ls -R "$root/backup" "$root/archive")
	# Held as cpactl holds it: flock(2), with the holder written in the file.
	hold_lock "$root/.cpactl/lock" 3 "printf 'pid 4242, '\''backup'\'', since 2026-01-01T00:00:00Z\n' >'$root/.cpactl/lock'"
	wait_for 30 "the holder written in the lock file" grep -q 'pid 4242' "$root/.cpactl/lock"
	cpactl_run archive --container ar-rounds --json
	[ "$status" -eq 4 ] || { show; false; }
	[ "$(jqo .error.code)" = locked ]
	[[ "$(jqo .error.message)" == *"holds the lock"*"pid 4242, 'backup'"* ]]
	[ "$(ls -R "$root/backup" "$root/archive")" = "$before" ]
	cpactl_run archive --container ar-rounds --wait 10
	local s=$status
	wait || true
	[ "$s" -eq 0 ] || { show; false; }
}

@test "an unfinished operation: exit 4, nothing moves" {
	local root="$BATS_FILE_TMPDIR/ar-rounds" before
	backup_id ar-rounds --no-image >/dev/null
	before=$(ls -R "$root/backup" "$root/archive")
	printf '{"operation":"upgrade","id":"20260101-000000","step":"promote-stop-old"}\n' >"$root/.cpactl/journal.json"
	cpactl_run archive --container ar-rounds --json
	local s=$status
	local dry
	cpactl_run archive --container ar-rounds --dry-run
	dry=$status
	rm -f "$root/.cpactl/journal.json"
	[ "$s" -eq 4 ] || { show; false; }
	[ "$dry" -eq 4 ]
	[[ "$stderr" == *"did not finish"*"promote-stop-old"*"cpactl recover"* ]]
	[ "$(ls -R "$root/backup" "$root/archive")" = "$before" ]
}

@test "usage: --keep must be a number from 1" {
	cpactl_run archive --container ar-rounds --keep 0 --json
	[ "$status" -eq 2 ]
	[ "$(jqo .error.code)" = usage ]
	cpactl_run archive --container ar-rounds --keep two
	[ "$status" -eq 2 ]
	cpactl_run archive --container ar-rounds extra
	[ "$status" -eq 2 ]
}

@test "no fixture secret in anything archive printed" {
	! grep -rq SECRET-FIXTURE "$CPACTL_OUTPUT_LOG"
}
