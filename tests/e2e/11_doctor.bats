#!/usr/bin/env bats
# doctor against the real engine: one deployment with nothing to find, and for
# each check of the container's settings, its files, its snapshots and the
# disk a deployment set up to trip it (the API, log and restart checks are in
# 21_doctor_api.bats).  Each test looks for the finding's code and severity in
# --json; the suite's closing grep (and each test) makes sure no secret is
# printed.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	export P_CLEAN P_PUBLIC P_SNAP P_DISK P_ENV P_NONNP P_NORESTART P_PERM
	P_PERM=$(free_port)
	P_CLEAN=$(free_port)
	P_PUBLIC=$(free_port)
	P_SNAP=$(free_port)
	P_DISK=$(free_port)
	P_ENV=$(free_port)
	P_NONNP=$(free_port)
	P_NORESTART=$(free_port)

	doc_deploy dr-clean v7.2.0 -p "127.0.0.1:$P_CLEAN:8317" "${SAFE[@]}"
	doc_deploy dr-public v7.2.0 -p "0.0.0.0:$P_PUBLIC:8317" "${SAFE[@]}"
	doc_deploy dr-env v7.2.0 -p "127.0.0.1:$P_ENV:8317" "${SAFE[@]}" \
		-e MANAGEMENT_PASSWORD=SECRET-FIXTURE-envmgmt-77aa
	doc_deploy dr-nonnp v7.2.0 -p "127.0.0.1:$P_NONNP:8317" --restart unless-stopped
	doc_deploy dr-norestart v7.2.0 -p "127.0.0.1:$P_NORESTART:8317" --security-opt no-new-privileges
	doc_deploy dr-snap v7.2.0 -p "127.0.0.1:$P_SNAP:8317" "${SAFE[@]}"
	local d

	# Files: read-only config, config path that did not exist, auth read-only.
	d=$(deploy_dir dr-ro)
	docker run -d --name dr-ro -v "$d/config.yaml:/CLIProxyAPI/config.yaml:ro" \
		-v "$d/auth:/root/.cli-proxy-api" "${SAFE[@]}" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	d=$(deploy_dir dr-dir)
	# (no restart policy: it fails once and stays down)
	docker run -d --name dr-dir -v "$d/not-there.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" --security-opt no-new-privileges eceasy/cli-proxy-api:v7.2.0 >/dev/null
	d=$(deploy_dir dr-authro)
	docker run -d --name dr-authro -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api:ro" "${SAFE[@]}" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	doc_deploy dr-gone v7.2.0 "${SAFE[@]}"
	doc_deploy dr-noauth v7.2.0 "${SAFE[@]}"
	doc_deploy dr-authmode v7.2.0 "${SAFE[@]}"
	doc_deploy dr-rootmode v7.2.0 "${SAFE[@]}"
	doc_deploy dr-journal v7.2.0 "${SAFE[@]}"

	# A container user (nobody) that may read its config.yaml but does not own
	# the root-owned 0700 auth dir.
	d=$(deploy_dir dr-nobody)
	chown 65534:65534 "$d/config.yaml"
	run_cpa dr-nobody v7.2.0 "$d" --user 65534:65534 "${SAFE[@]}"
	# config.yaml and the auth dir in the container's own filesystem: nothing
	# mounted, config.yaml copied in before the start.
	d=$(deploy_dir dr-inside)
	docker create --name dr-inside "${SAFE[@]}" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	docker cp "$d/config.yaml" dr-inside:/CLIProxyAPI/config.yaml
	docker start dr-inside >/dev/null
	# Files cpactl's user cannot read (see the "unprivileged" tests).
	doc_deploy dr-perm v7.2.0 -p "127.0.0.1:$P_PERM:8317" "${SAFE[@]}"
	# cpactl as root without the capabilities that let root read any file:
	# an operator's account that does not own the files, yet may reach the
	# engine's socket (root-owned) as the tests need.
	printf '#!/bin/sh\nexec setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search "%s" "$@"\n' \
		"$CPACTL" >"$BATS_FILE_TMPDIR/cpactl-nodac"
	chmod 0755 "$BATS_FILE_TMPDIR/cpactl-nodac"

	# Disk: a deployment root on a small tmpfs.
	local small="$BATS_FILE_TMPDIR/small"
	mkdir -p "$small"
	mount -t tmpfs -o size=8m,mode=0700 tmpfs "$small"
	bash "$BATS_TEST_DIRNAME/../fixtures/deploy.sh" "$small" >/dev/null
	run_cpa dr-disk v7.2.0 "$small" -p "127.0.0.1:$P_DISK:8317" "${SAFE[@]}"

	wait_port "$P_CLEAN" && wait_port "$P_PUBLIC" && wait_port "$P_SNAP" && wait_port "$P_DISK" &&
		wait_port "$P_ENV" && wait_port "$P_NONNP" && wait_port "$P_NORESTART" && wait_port "$P_PERM"
	"$CPACTL" backup -q --container dr-clean
	"$CPACTL" backup -q --container dr-snap
	"$CPACTL" backup -q --container dr-disk --root "$small"
	"$CPACTL" backup -q --container dr-perm
}

teardown_file() {
	remove_containers dr-clean dr-public dr-env dr-nonnp dr-norestart dr-snap dr-ro dr-dir dr-authro \
		dr-gone dr-noauth dr-authmode dr-rootmode dr-journal dr-disk dr-nobody dr-inside dr-perm
	umount "$BATS_FILE_TMPDIR/small" 2>/dev/null || true
}

# Every path under a root with its mode, size and mtime: the doctor must change none.
tree_state() {
	find "$1" -printf '%p %m %s %T@\n' | sort
}

@test "a clean deployment: nothing above info, exit 0, nothing changed" {
	local root="$BATS_FILE_TMPDIR/dr-clean" before
	before=$(tree_state "$root")
	cpactl_run doctor --json --container dr-clean
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(tree_state "$root")" = "$before" ]
	[ "$(jqo .container)" = dr-clean ]
	[ "$(jqo .summary.error)" = 0 ] || { show; false; }
	[ "$(jqo .summary.warning)" = 0 ] || { show; false; }
	[ "$(jqo '[.findings[] | select(.severity != "info")] | length')" = 0 ]
	[ "$(jqo '.summary.info')" = "$(jqo '.findings | length')" ]
	# Not even the info ones that the deployments below trip.
	local c
	for c in api-not-published log-trouble remote-store restart-count config-in-container \
		auth-in-container no-deployment-root; do
		absent "$c"
	done
}

@test "the text report goes to stderr: severity, what, fix and a summary" {
	cpactl_run doctor --container dr-public
	[ "$status" -eq 3 ] || { show; false; }
	[ -z "$output" ]
	[[ "$stderr" == *"dr-public: warning port-on-all-interfaces: "* ]]
	[[ "$stderr" == *"fix: publish it on the loopback only"* ]]
	[[ "$stderr" == *"dr-public: 0 errors, "*" warning"* ]]
	cpactl_run doctor --container dr-clean
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$stderr" == *"dr-clean: 0 errors, 0 warnings"* ]]
}

@test "the API port published on all interfaces" {
	doctor dr-public
	finding port-on-all-interfaces warning
	[ "$(jqo '.findings[] | select(.code == "port-on-all-interfaces") | .subject')" = 8317/tcp ]
}

@test "a secret in the container's environment is named, never shown" {
	doctor dr-env
	finding secret-in-environment warning
	[ "$(jqo '.findings[] | select(.code == "secret-in-environment") | .subject')" = MANAGEMENT_PASSWORD ]
	cpactl_run doctor --container dr-env
	[[ "$stderr" == *MANAGEMENT_PASSWORD* ]]
	[[ "$stderr" != *SECRET-FIXTURE* ]]
}

@test "no no-new-privileges" {
	doctor dr-nonnp
	finding no-new-privileges warning
	[ "$(jqo '[.findings[] | select(.code == "no-restart-policy")] | length')" = 0 ]
}

@test "no restart policy" {
	doctor dr-norestart
	finding no-restart-policy warning
	[ "$(jqo '[.findings[] | select(.code == "no-new-privileges")] | length')" = 0 ]
}

@test "config.yaml mounted read-only: only worth knowing on v7.2.0 (no release after v6.7.53 must write it)" {
	doctor dr-ro
	finding config-read-only info
}

@test "config.yaml mounted as a directory" {
	doctor dr-dir
	finding config-is-directory error
	finding not-running error
}

@test "config.yaml gone from the host" {
	rm "$BATS_FILE_TMPDIR/dr-gone/config.yaml"
	doctor dr-gone
	finding config-missing error
}

@test "the auth dir gone from the host" {
	rm -rf "$BATS_FILE_TMPDIR/dr-noauth/auth"
	doctor dr-noauth
	finding auth-dir-missing error
}

@test "the auth dir mounted read-only" {
	doctor dr-authro
	finding auth-dir-read-only error
}

@test "an auth file readable by others (0644), then by the group only (0640)" {
	local f="$BATS_FILE_TMPDIR/dr-authmode/auth/claude-alice@example.com.json"
	chmod 0644 "$f"
	doctor dr-authmode
	finding auth-readable error
	# The finding names the directory, not the file (its name is an e-mail address).
	[[ "$(jqo '.findings[] | select(.code == "auth-readable") | .what')" != *alice* ]]
	chmod 0640 "$f"
	doctor dr-authmode
	finding auth-readable warning
}

@test "a deployment root open to others (0755)" {
	chmod 0755 "$BATS_FILE_TMPDIR/dr-rootmode"
	doctor dr-rootmode
	finding root-readable warning
}

@test "no snapshot" {
	doctor dr-rootmode
	finding no-snapshot warning
}

@test "the newest snapshot older than 24 hours" {
	CPACTL_TEST_NOW=$(($(date +%s) + 2 * 86400)) cpactl_run doctor --json --container dr-clean
	[ "$status" -eq 3 ] || { show; false; }
	finding snapshot-old warning
	[ "$(jqo .summary.error)" = 0 ]
}

@test "a snapshot readable by others" {
	local root="$BATS_FILE_TMPDIR/dr-snap" id
	id=$(ls "$root/backup" | grep -v '^\.' | tail -n 1)
	chmod 0644 "$root/backup/$id/baseline.md"
	doctor dr-snap
	finding snapshot-readable error
	chmod 0600 "$root/backup/$id/baseline.md"
}

@test "the newest snapshot failing verification" {
	local root="$BATS_FILE_TMPDIR/dr-snap" id
	id=$(ls "$root/backup" | grep -v '^\.' | tail -n 1)
	printf '# edited by hand\n' >>"$root/backup/$id/config.yaml"
	doctor dr-snap
	finding snapshot-verify-failed error
	[[ "$(jqo '.findings[] | select(.code == "snapshot-verify-failed") | .what')" == *config.yaml* ]]
}

@test "an unfinished operation in the journal" {
	local root="$BATS_FILE_TMPDIR/dr-journal"
	mkdir -p -m 0700 "$root/.cpactl"
	printf '{"operation":"upgrade","id":"20260101-000000","step":"stop-production","steps":[],"context":{}}\n' \
		>"$root/.cpactl/journal.json"
	doctor dr-journal
	finding unfinished-operation error
	[[ "$(jqo '.findings[] | select(.code == "unfinished-operation") | .what')" == *stop-production* ]]
	# The doctor only read it.
	[ -f "$root/.cpactl/journal.json" ]
	[ ! -e "$root/.cpactl/lock" ] || [ ! -s "$root/.cpactl/lock" ]
}

@test "too little disk for the next backup" {
	local small="$BATS_FILE_TMPDIR/small"
	cpactl_run doctor --json --container dr-disk --root "$small"
	[ "$(jqo '[.findings[] | select(.code == "disk-low")] | length')" = 0 ] || { show; false; }
	dd if=/dev/zero of="$small/fill" bs=64k 2>/dev/null || true
	doctor dr-disk --root "$small"
	finding disk-low warning
	rm -f "$small/fill"
}


@test "the auth dir not writable by the container's user" {
	local auth="$BATS_FILE_TMPDIR/dr-nobody/auth"
	doctor dr-nobody
	finding auth-dir-not-writable error
	[[ "$(jqo '.findings[] | select(.code == "auth-dir-not-writable") | .what')" == *"uid 65534"* ]]
	# Its group (given by --user 65534:65534) with group write may write.
	chown 0:65534 "$auth"
	chmod 0770 "$auth"
	doctor dr-nobody
	absent auth-dir-not-writable
	# So may its owner.
	chown 65534:65534 "$auth"
	chmod 0700 "$auth"
	doctor dr-nobody
	absent auth-dir-not-writable
}

@test "config.yaml and the auth dir in the container's filesystem; no deployment root" {
	cpactl_run doctor --json --container dr-inside
	[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || { show; false; }
	[[ "$output$stderr" != *SECRET-FIXTURE* ]]
	finding config-in-container info
	finding auth-in-container info
	finding no-deployment-root info
	doctor dr-inside --root "$BATS_FILE_TMPDIR/dr-inside"
	absent no-deployment-root
	finding no-snapshot warning
}

@test "config.yaml readable by others (0644), then by the group only (0640)" {
	local f="$BATS_FILE_TMPDIR/dr-authmode/config.yaml"
	chmod 0644 "$f"
	doctor dr-authmode
	finding config-readable error
	chmod 0640 "$f"
	doctor dr-authmode
	finding config-readable warning
	chmod 0600 "$f"
	doctor dr-authmode
	absent config-readable
}

# Tests run as root, who reads every file: cpactl-nodac is root without
# CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so files owned by another user
# with mode 0600/0700 are as closed to it as to an operator who does not own
# the deployment.
@test "unprivileged cpactl: config.yaml, the journal and the snapshots it cannot read" {
	local root="$BATS_FILE_TMPDIR/dr-perm"
	# Owned by cpactl's user: all three read.
	CPACTL="$BATS_FILE_TMPDIR/cpactl-nodac" cpactl_run doctor --json --container dr-perm
	[ "$(jqo .container)" = dr-perm ] || { show; false; }
	absent config-unreadable
	absent journal-unreadable
	absent snapshots-unreadable
	[ -d "$root/backup" ] && [ -d "$root/.cpactl" ]
	chown 65534:65534 "$root/config.yaml"
	chown -R 65534:65534 "$root/backup" "$root/.cpactl"
	CPACTL="$BATS_FILE_TMPDIR/cpactl-nodac" doctor dr-perm
	finding config-unreadable warning
	# Another user's backup/ and .cpactl/ are not read at all (they could
	# hold a forged snapshot or journal), by anyone: said as such, never
	# taken for "no snapshot".
	finding untrusted-state error
	absent journal-unreadable
	absent no-snapshot
	cpactl_run doctor --json --container dr-perm
	[ "$(jqo .container)" = dr-perm ] || { show; false; }
	absent config-unreadable
	finding untrusted-state error
	chown -R 0:0 "$root/config.yaml" "$root/backup" "$root/.cpactl"
	# Trusted again, but unreadable to this user (root's, 0700, without
	# CAP_DAC_OVERRIDE it would be read as the owner): the journal and the
	# snapshots read, nothing untrusted.
	CPACTL="$BATS_FILE_TMPDIR/cpactl-nodac" cpactl_run doctor --json --container dr-perm
	absent untrusted-state
	absent journal-unreadable
}

@test "bad input: an unknown container, a bad --timeout" {
	cpactl_run doctor --container dr-nosuch
	[ "$status" -eq 1 ] || { show; false; }
	[[ "$stderr" == *dr-nosuch* ]]
	cpactl_run doctor --timeout soon
	[ "$status" -eq 2 ]
	[[ "$stderr" == *--timeout* ]]
}
