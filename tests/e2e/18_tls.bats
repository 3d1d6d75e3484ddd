#!/usr/bin/env bats
# A remote engine over TLS, as the docker CLI reaches it: DOCKER_HOST=tcp://,
# DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem).  This
# file starts its OWN private dockerd with a TLS listener on a random loopback
# port (--tlsverify: it demands a client certificate signed by the test CA),
# with certificates made by openssl (tests/engine.sh engine_tls_certs), and
# stops it at the end.  The shared engine is left alone.

load helpers

setup_file() {
	. "$BATS_TEST_DIRNAME/../engine.sh"
	if [ -n "${CPACTL_TEST_DOCKER_HOST:-}" ]; then
		return 0 # an external engine: no private TLS engine (the tests skip)
	fi
	export CERTS OTHER TLS_HOST TLS_SOCK TLS_ENGINE_DIR PORT
	CERTS="$BATS_FILE_TMPDIR/certs"
	OTHER="$BATS_FILE_TMPDIR/other-ca"
	engine_tls_certs "$CERTS"
	engine_tls_certs "$OTHER"
	local port shared_host=$DOCKER_HOST shared_dir=$ENGINE_DIR
	port=$(free_port)
	TLS_HOST="tcp://127.0.0.1:$port"
	# engine_start sets DOCKER_HOST and ENGINE_DIR to the new engine: keep
	# them apart from the shared engine's.
	ENGINE_DIR="" ENGINE_BRIDGE="" \
		ENGINE_DOCKERD_ARGS="--tlsverify --tlscacert $CERTS/ca.pem --tlscert $CERTS/server-cert.pem --tlskey $CERTS/server-key.pem -H $TLS_HOST" \
		engine_start
	TLS_ENGINE_DIR=$ENGINE_DIR
	TLS_SOCK=$DOCKER_HOST
	export DOCKER_HOST=$shared_host ENGINE_DIR=$shared_dir
	# The fake CPA image, copied from the shared engine, and one deployment.
	docker save eceasy/cli-proxy-api:v7.1.0 | DOCKER_HOST=$TLS_SOCK docker load >/dev/null
	PORT=$(free_port)
	DOCKER_HOST=$TLS_SOCK deploy tls-prod v7.1.0 -p "127.0.0.1:$PORT:8317"
	wait_port "$PORT"
}

teardown_file() {
	[ -n "${TLS_ENGINE_DIR:-}" ] || return 0
	ENGINE_DIR=$TLS_ENGINE_DIR ENGINE_BRIDGE=$(cat "$TLS_ENGINE_DIR/bridge") ENGINE_EXTERNAL=0 engine_stop
}

setup() {
	[ -n "${TLS_ENGINE_DIR:-}" ] || skip "CPACTL_TEST_DOCKER_HOST: no private TLS engine"
}

# tls_run [VAR=VALUE...] -- ARGS...: cpactl against the TLS engine, with no
# TLS setting but the ones given.
tls_run() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	run --separate-stderr env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_TLS \
		DOCKER_HOST="$TLS_HOST" "${envs[@]}" "$CPACTL" "$@"
	printf '%s\n%s\n' "$output" "$stderr" >"$CPACTL_OUTPUT_LOG/tls-$(date +%s%N).out"
}

@test "discover and status over TLS with the client certificate" {
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$CERTS" -- discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[].name')" = tls-prod ]
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$CERTS" -- status --container tls-prod --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[0].name')" = tls-prod ] || { show; false; }
	[ "$(jqo '.[0].healthy')" = true ] || { show; false; }
	# -H works as DOCKER_HOST does.
	run --separate-stderr env -u DOCKER_HOST DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$CERTS" \
		"$CPACTL" -H "$TLS_HOST" discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[].name')" = tls-prod ]
}

@test "an engine certificate from another CA: refused, naming the trust problem and ca.pem" {
	mkdir -p "$BATS_TEST_TMPDIR/wrong"
	cp "$OTHER/ca.pem" "$BATS_TEST_TMPDIR/wrong/ca.pem"
	cp "$CERTS/cert.pem" "$CERTS/key.pem" "$BATS_TEST_TMPDIR/wrong/"
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/wrong" -- discover
	[ "$status" -ne 0 ] || { show; false; }
	[[ $stderr == *"is not trusted"* ]] || { show; false; }
	[[ $stderr == *"certificate"* ]] || { show; false; }
	[[ $stderr == *"$BATS_TEST_TMPDIR/wrong/ca.pem"* ]] || { show; false; }
	# The same as one JSON document.
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/wrong" -- discover --json
	[ "$status" -ne 0 ]
	[[ $(jqo .error.message) == *"is not trusted"* ]] || { show; false; }
}

@test "no client certificate: the engine's refusal is explained, naming cert.pem and key.pem" {
	mkdir -p "$BATS_TEST_TMPDIR/nocert"
	cp "$CERTS/ca.pem" "$BATS_TEST_TMPDIR/nocert/"
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/nocert" -- discover
	[ "$status" -ne 0 ] || { show; false; }
	[[ $stderr == *"no client certificate"* ]] || { show; false; }
	[[ $stderr == *"cert.pem and key.pem in '$BATS_TEST_TMPDIR/nocert'"* ]] || { show; false; }
}

@test "a certificate without its key, or no ca.pem with DOCKER_TLS_VERIFY: refused before connecting, naming the file" {
	mkdir -p "$BATS_TEST_TMPDIR/nokey"
	cp "$CERTS/ca.pem" "$CERTS/cert.pem" "$BATS_TEST_TMPDIR/nokey/"
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/nokey" -- discover
	[ "$status" -eq 2 ] || { show; false; }
	[[ $stderr == *"'$BATS_TEST_TMPDIR/nokey/key.pem' cannot be read"* ]] || { show; false; }
	mkdir -p "$BATS_TEST_TMPDIR/noca"
	cp "$CERTS/cert.pem" "$CERTS/key.pem" "$BATS_TEST_TMPDIR/noca/"
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/noca" -- discover
	[ "$status" -eq 2 ] || { show; false; }
	[[ $stderr == *"'$BATS_TEST_TMPDIR/noca/ca.pem' cannot be read"* ]] || { show; false; }
}

@test "DOCKER_TLS_VERIFY unset against the TLS engine: a clear error that says what to set" {
	tls_run -- discover
	[ "$status" -ne 0 ] || { show; false; }
	[[ $stderr == *"speaks TLS"* ]] || { show; false; }
	[[ $stderr == *"DOCKER_TLS_VERIFY=1"* ]] || { show; false; }
	[[ $stderr != *"does not look like a docker engine"* ]] || { show; false; }
}

@test "DOCKER_CERT_PATH without DOCKER_TLS_VERIFY: TLS without checking the engine (as docker --tls)" {
	mkdir -p "$BATS_TEST_TMPDIR/noverify"
	# A CA that did not sign the engine: not checked in this mode.
	cp "$OTHER/ca.pem" "$BATS_TEST_TMPDIR/noverify/"
	cp "$CERTS/cert.pem" "$CERTS/key.pem" "$BATS_TEST_TMPDIR/noverify/"
	tls_run DOCKER_CERT_PATH="$BATS_TEST_TMPDIR/noverify" -- discover --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo '.[].name')" = tls-prod ]
}

@test "upgrade over tcp:// on loopback: the engine is on this machine, the candidate isolated as on a socket" {
	docker save eceasy/cli-proxy-api:v7.2.0 | DOCKER_HOST=$TLS_SOCK docker load >/dev/null
	tls_run DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$CERTS" -- upgrade --container tls-prod \
		--image eceasy/cli-proxy-api:v7.2.0 --no-pull --yes --timeout 10 --json
	[ "$status" -eq 0 ] || { show; false; }
	[ "$(jqo .outcome)" = upgraded ]
	[[ $stderr == *"started with no network"* ]] || { show; false; }
	[ "$(served_cpa_version "$PORT")" = v7.2.0 ]
}

@test "ssh:// is refused with the advice to forward the socket" {
	run --separate-stderr "$CPACTL" -H ssh://admin@example.invalid discover
	[ "$status" -eq 2 ] || { show; false; }
	[[ $stderr == *"ssh:// is not supported"* ]] || { show; false; }
	[[ $stderr == *"ssh -L"* ]] || { show; false; }
}
