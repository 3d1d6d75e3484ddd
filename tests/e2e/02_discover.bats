#!/usr/bin/env bats
# discover against the real engine: three CPA containers that differ in name,
# tag, host port and address, config path and auth storage, beside non-CPA ones.

load helpers

setup_file() {
	export P1 P2 P3
	P1=$(free_port_e2e)
	P2=$(free_port_e2e)
	P3=$(free_port_e2e)
	# alpha: v7.1.0, all interfaces, config and auth bind-mounted.
	deploy cpa-alpha v7.1.0 -p "0.0.0.0:$P1:8317" --restart unless-stopped
	# beta: v7.2.0, loopback only, config under another path given with -config,
	# auth in a named volume filled from the fixture.
	local d
	d=$(deploy_dir beta)
	mkdir -p "$d/etc"
	mv "$d/config.yaml" "$d/etc/cpa.yaml"
	docker volume create beta-auth >/dev/null
	docker create --name beta-fill -v beta-auth:/root/.cli-proxy-api eceasy/cli-proxy-api:v7.2.0 >/dev/null
	docker cp "$d/auth/." beta-fill:/root/.cli-proxy-api/ >/dev/null
	docker rm beta-fill >/dev/null
	docker run -d --name cpa-beta -p "127.0.0.1:$P2:8317" -v "$d/etc:/etc/cpa" \
		-v beta-auth:/root/.cli-proxy-api eceasy/cli-proxy-api:v7.2.0 \
		./CLIProxyAPI -config /etc/cpa/cpa.yaml >/dev/null
	# gamma: an older release on another loopback port.
	deploy cpa-gamma v6.9.0 -p "127.0.0.1:$P3:8317"
	# Not CPA: must be ignored.
	docker run -d --name not-cpa cpactl-test/other:1 >/dev/null
	wait_port "$P1" && wait_port "$P2" && wait_port "$P3"
}

teardown_file() {
	remove_containers cpa-alpha cpa-beta cpa-gamma not-cpa labelled cfgdir badyaml stopped-cpa old-cpa
	docker volume rm beta-auth >/dev/null 2>&1 || true
}

free_port_e2e() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	free_port
}

@test "discover --json finds exactly the three CPA containers" {
	cpactl_run discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'map(.name) | sort | join(",")')" = "cpa-alpha,cpa-beta,cpa-gamma" ]
}

@test "each has the required keys" {
	cpactl_run discover --json
	for key in name id image image_id version state api_port config_path auth_dir allow_remote \
		secret_key_set api_keys providers auth_files compose problems; do
		[ "$(jqo "map(has(\"$key\")) | all")" = true ] || { echo "missing $key"; false; }
	done
}

@test "alpha: v7.1.0 from its image's binary, on all interfaces, bind mounts, restart policy" {
	cpactl_run discover --json --container cpa-alpha
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].image')" = "eceasy/cli-proxy-api:v7.1.0" ]
	[ "$(jqo '.[0].version')" = v7.1.0 ]
	[ "$(jqo '.[0].version_source')" = binary ]
	[ "$(jqo '.[0].api_port.host_ip')" = 0.0.0.0 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P1" ]
	[ "$(jqo '.[0].config_path')" = "$BATS_FILE_TMPDIR/cpa-alpha/config.yaml" ]
	[ "$(jqo '.[0].auth_dir')" = "$BATS_FILE_TMPDIR/cpa-alpha/auth" ]
	[ "$(jqo '.[0].restart_policy')" = unless-stopped ]
	[ "$(jqo '.[0].state')" = running ]
}

@test "alpha: keys and providers are counted, never shown" {
	cpactl_run discover --json --container cpa-alpha
	[ "$(jqo '.[0].api_keys')" = 2 ]
	[ "$(jqo '.[0].allow_remote')" = false ]
	[ "$(jqo '.[0].secret_key_set')" = true ]
	[ "$(jqo '.[0].providers["gemini-api-key"]')" = 2 ]
	[ "$(jqo '.[0].providers["claude-api-key"]')" = 1 ]
	[ "$(jqo '.[0].providers["codex-api-key"]')" = 1 ]
	[ "$(jqo '.[0].auth_files.claude')" = 1 ]
	[ "$(jqo '.[0].auth_files.codex')" = 1 ]
	[ "$(jqo '.[0].auth_files.gemini')" = 1 ]
	[[ "$output$stderr" != *SECRET-FIXTURE* ]]
}

@test "beta: loopback port, -config path, auth in a named volume" {
	cpactl_run discover --json --container cpa-beta
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].version')" = v7.2.0 ]
	[ "$(jqo '.[0].api_port.host_ip')" = 127.0.0.1 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P2" ]
	[ "$(jqo '.[0].config_path')" = "$BATS_FILE_TMPDIR/beta/etc/cpa.yaml" ]
	[ "$(jqo '.[0].auth_dir')" = "volume:beta-auth" ]
	[ "$(jqo '.[0].auth_files | add')" = 3 ]
	[ "$(jqo '.[0].problems | length')" = 0 ]
}

@test "gamma: the older release is reported as such" {
	cpactl_run discover --json --container cpa-gamma
	[ "$(jqo '.[0].version')" = v6.9.0 ]
	[ "$(jqo '.[0].api_port.host_port')" = "$P3" ]
}

@test "the table for people goes to stderr and names every container" {
	cpactl_run discover
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *cpa-alpha* && "$stderr" == *cpa-beta* && "$stderr" == *cpa-gamma* ]]
	[[ "$stderr" != *not-cpa* ]]
	[[ "$stderr" != *SECRET-FIXTURE* ]]
}

@test "a non-CPA container with io.cpactl.target=true is a target" {
	docker run -d --name labelled --label io.cpactl.target=true cpactl-test/other:1 >/dev/null
	cpactl_run discover --json
	[ "$(jqo 'map(.name) | index("labelled") != null')" = true ]
	# Taken for a CPA only because it was named: said, never silent, and
	# upgrade refuses it until its kind is given.
	[[ "$(jqo '.[] | select(.name == "labelled") | .problems | join(" ")')" == *"nothing says 'labelled' is a CPA"*"--profile"* ]]
	mkdir -m 700 "$BATS_FILE_TMPDIR/labelled-root"
	cpactl_run upgrade --container labelled --root "$BATS_FILE_TMPDIR/labelled-root" --no-pull \
		--image cpactl-test/other:1 --yes
	[ "$status" -eq 2 ] || { show; false; }
	[[ "$stderr" == *"name its kind with --profile"* ]]
	docker rm -f labelled >/dev/null
}

@test "--container with an unknown name fails with not_found (exit 1)" {
	cpactl_run discover --json --container nope
	[ "$status" -eq 1 ]
	[ "$(jqo .error.code)" = not_found ]
	[[ "$stderr" == *"no such container 'nope'"* ]]
}

@test "a config path that is a directory is a problem, not a failure" {
	local d="$BATS_FILE_TMPDIR/cfgdir"
	mkdir -p "$d/auth"
	# The host path does not exist: docker creates a directory, like in the field.
	docker run -d --name cfgdir -v "$d/missing.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	cpactl_run discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.[] | select(.name=="cfgdir") | .problems | join(" ")')" == *"is a directory"* ]]
	[ "$(jqo 'map(.name) | length')" -ge 4 ]
}

@test "a config that is not valid YAML is a problem with line and column" {
	local d
	d=$(deploy_dir badyaml)
	printf 'port: 8317\napi-keys: ["SECRET-FIXTURE-apikey-1-7f3a"\n  nope: [\n' >"$d/config.yaml"
	docker create --name badyaml -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v7.1.0 >/dev/null
	cpactl_run discover --json --container badyaml
	[ "$status" -eq 0 ] || { show; false; }
	[[ "$(jqo '.[0].problems | join(" ")')" == *"not valid YAML"*"line"*"column"* ]]
	[[ "$output$stderr" != *SECRET-FIXTURE* ]]
}

@test "a stopped container: the version still comes from its image's binary" {
	local d
	d=$(deploy_dir stopped)
	docker create --name stopped-cpa -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" -p "127.0.0.1::8317" eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run discover --json --container stopped-cpa
	[ "$(jqo '.[0].version')" = v7.2.0 ]
	[ "$(jqo '.[0].version_source')" = binary ]
	[ "$(jqo '.[0].state')" = created ]
	[[ "$(jqo '.[0].problems | join(" ")')" != *"image tag"* ]]
}

@test "a binary older than v6.0.0 prints no version: the image tag is used, and said" {
	local d
	d=$(deploy_dir old-cpa)
	docker create --name old-cpa -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" eceasy/cli-proxy-api:v5.9.0 >/dev/null
	cpactl_run discover --json --container old-cpa
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].version')" = v5.9.0 ]
	[ "$(jqo '.[0].version_source')" = image-tag ]
	[[ "$(jqo '.[0].problems | join(" ")')" == *"image tag"*"did not print its version"* ]]
	docker rm -f old-cpa >/dev/null
}

# Engine events of kind KIND (exec_create, create, destroy ...) on containers
# since the engine time $1, one "name image" a line.
container_events() {
	docker events --since "$1" --until "$(date +%s.%N)" --filter type=container --filter "event=$2" \
		--format '{{.Actor.Attributes.name}} {{.Actor.Attributes.image}}'
}

@test "read-only verbs start no process in a production container; the version is read once per image, in a throwaway" {
	local since root="$BATS_FILE_TMPDIR/cpa-alpha" images
	# A fresh cache: the first discover must probe each image once.
	export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
	since=$(date +%s.%N)
	cpactl_run discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo 'map(.version_source) | unique | join(",")')" = binary ]
	# One throwaway per image, none left behind, none seen by discover as a
	# deployment.
	images=$(jqo 'map(.image_id) | unique | length')
	[ "$images" -ge 3 ]
	[ "$(container_events "$since" create | wc -l)" -eq "$images" ] || { container_events "$since" create; false; }
	[ "$(container_events "$since" destroy | wc -l)" -eq "$images" ]
	[ -z "$(docker ps -aq --filter label=cpactl.version-probe)" ]
	[ "$(stat -c %a "$XDG_CACHE_HOME/cpactl/image-versions.json")" = 600 ]
	# Then every read-only verb, again and again: no exec anywhere, and no
	# container created (the versions come from the cache).
	since=$(date +%s.%N)
	cpactl_run discover --json
	cpactl_run status --json --container cpa-alpha
	cpactl_run doctor --container cpa-alpha --json
	cpactl_run backup --container cpa-alpha --no-image --json
	[ "$status" -eq 0 ] || { show; false; }
	cpactl_run list --root "$root" --json
	[ "$status" -eq 0 ] || { show; false; }
	[ -z "$(container_events "$since" exec_create)" ] || { container_events "$since" exec_create; false; }
	[ -z "$(container_events "$since" create)" ] || { container_events "$since" create; false; }
	# A cache another user could have written is not believed.
	since=$(date +%s.%N)
	chmod 0666 "$XDG_CACHE_HOME/cpactl/image-versions.json"
	cpactl_run discover --json --container cpa-alpha
	[ "$(jqo '.[0].version_source')" = binary ]
	[ "$(container_events "$since" create | wc -l)" -eq 1 ]
	[ -z "$(container_events "$since" exec_create)" ]
}

@test "v7.2.93 loads its plugins even for --version: the read-only verbs leave production's plugins alone" {
	local d port
	d=$(deploy_dir plug93)
	mkdir -m 755 "$d/plugins"
	printf 'plugins:\n  enabled: true\n  configs:\n    fixture:\n      enabled: true\n' >>"$d/config.yaml"
	port=$(free_port_e2e)
	docker run -d --name plug93 -p "127.0.0.1:$port:8317" -v "$d/config.yaml:/CLIProxyAPI/config.yaml" \
		-v "$d/auth:/root/.cli-proxy-api" -v "$d/plugins:/CLIProxyAPI/plugins" eceasy/cli-proxy-api:v7.2.93 >/dev/null
	wait_port "$port"
	# After production's start (its own cleanup ran then): two versions.
	printf 'plugin 1.0.0\n' >"$d/plugins/fixture-v1.0.0.so"
	printf 'plugin 1.1.0\n' >"$d/plugins/fixture-v1.1.0.so"
	export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
	cpactl_run discover --json --container plug93
	[ "$(jqo '.[0].version')" = v7.2.93 ] || { show; false; }
	cpactl_run status --json --container plug93
	cpactl_run doctor --json --container plug93
	cpactl_run backup --json --container plug93 --no-image
	[ "$status" -eq 0 ] || { show; false; }
	[ -f "$d/plugins/fixture-v1.0.0.so" ] && [ -f "$d/plugins/fixture-v1.1.0.so" ]
	# What reading the version inside production would do (the fake is as
	# unkind as v7.2.93): the older plugin file is gone.
	docker exec plug93 ./CLIProxyAPI --version >/dev/null 2>&1 || true
	[ ! -e "$d/plugins/fixture-v1.0.0.so" ]
	docker rm -f plug93 >/dev/null
}

@test "compose labels are reported" {
	docker rm -f labelled >/dev/null 2>&1 || true
	docker run -d --name labelled --label com.docker.compose.project=cpa \
		--label com.docker.compose.service=cli-proxy-api \
		--label com.docker.compose.project.config_files=/opt/cpa/docker-compose.yml \
		eceasy/cli-proxy-api:v7.2.0 >/dev/null
	cpactl_run discover --json --container labelled
	[ "$(jqo '.[0].compose.project')" = cpa ]
	[ "$(jqo '.[0].compose.service')" = cli-proxy-api ]
	[ "$(jqo '.[0].compose.config_files')" = /opt/cpa/docker-compose.yml ]
	docker rm -f labelled >/dev/null
}
