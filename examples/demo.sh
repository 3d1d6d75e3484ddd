#!/usr/bin/env bash
# examples/demo.sh - what `make demo` runs: cpactl's main job on a built-in demo
# deployment.  It starts a private docker engine (never the machine's own),
# builds the fake CPA images, runs a "production" fake CPA laid out like the
# runbook's /opt/cliproxyapi, walks through cpactl's verbs, and leaves nothing
# running: the engine, its containers and the demo directory are removed at the
# end, on failure and on Ctrl-C too.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
CPACTL=${CPACTL:-$top/build/cpactl}

. tests/engine.sh
engine_start || { echo "demo: cannot start a private docker engine (see above)" >&2; exit 1; }
DEMO_DIR=$(mktemp -d /tmp/cpactl-demo.XXXXXX)
trap 'engine_stop; rm -rf "$DEMO_DIR"' EXIT
trap 'exit 130' INT TERM

# Bold headings only on a terminal, and never with NO_COLOR set.
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() {
	printf '\n%s# %s%s\n' "$bold" "$1" "$plain" >&2
}

run() {
	printf '$ cpactl %s\n' "$*" >&2
	"$CPACTL" "$@"
	local rc=$?
	printf '(exit %d)\n' "$rc" >&2
	return 0
}

step "building the fake CPA images (no registry is needed)"
bash tests/fixtures/build-images.sh | sed 's/^/  /' >&2

step "a production CPA v7.1.0, laid out like the runbook's /opt/cliproxyapi"
ROOT="$DEMO_DIR/opt/cliproxyapi"
bash tests/fixtures/deploy.sh "$ROOT" >/dev/null
PORT=$(free_port)
docker run -d --name cli-proxy-api --restart unless-stopped \
	-p "127.0.0.1:$PORT:8317" \
	-v "$ROOT/config.yaml:/CLIProxyAPI/config.yaml" \
	-v "$ROOT/auth:/root/.cli-proxy-api" \
	eceasy/cli-proxy-api:v7.1.0 >/dev/null
# A container that is not CPA: discovery must leave it alone.
docker run -d --name some-other-service cpactl-test/other:1 >/dev/null
for _ in $(seq 1 100); do
	curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
	sleep 0.05
done
echo "  docker run -d --name cli-proxy-api -p 127.0.0.1:$PORT:8317 -v $ROOT/config.yaml:... -v $ROOT/auth:... eceasy/cli-proxy-api:v7.1.0" >&2

step "discover: find every CPA container without assuming a name, port or path"
run discover

step "discover --json: the same for scripts and agents (counts and flags, never a secret)"
"$CPACTL" discover --json | jq -c '.[] | {name, version, api_port, config_path, auth_dir, api_keys, providers, auth_files}' >&2

step "status: does it serve? (/v1/models with its own key, stats, log)"
run status

step "doctor: what is wrong and how to fix it (read-only; exit 3 when anything is above info)"
run doctor

step "backup: image, config.yaml, auth dir and baseline, atomically (the runbook's step 1)"
run backup
run list

step "a second backup of the unchanged image stores no image bytes again"
run backup -q
run list

step "verify: every part and image blob re-hashed against the sealed manifest"
run verify

TEST_PORT=$(free_port)
step "upgrade --dry-run: the new release tested on a scratch copy, production untouched"
run upgrade --image eceasy/cli-proxy-api:v7.2.0 --no-pull --test-port "$TEST_PORT" --timeout 20 --dry-run

step "upgrade without a terminal and without --yes: refused (exit 5), nothing changed"
"$CPACTL" upgrade --image eceasy/cli-proxy-api:v7.2.0 --no-pull --test-port "$TEST_PORT" --timeout 20 --no-backup \
	</dev/null 2>&1 | tail -n 1 >&2

step "upgrade v7.1.0 -> v7.2.0: snapshot, candidate, promotion, verification"
run upgrade --image eceasy/cli-proxy-api:v7.2.0 --no-pull --test-port "$TEST_PORT" --timeout 20 --yes
run status

step "a bad release (it refuses the good key): refused before production is touched (exit 1)"
run upgrade --image eceasy/cli-proxy-api:v7.2.1-badauth --no-pull --test-port "$TEST_PORT" --timeout 8 --yes
run status

step "the config history: every backup and upgrade committed, secrets masked"
run config log

step "rollback --dry-run: which way back to v7.1.0 (the last upgrade's snapshot)"
run rollback --dry-run

step "rollback to v7.1.0: the kept container of the upgrade serves again (a stop and a start)"
run rollback --yes
run status
run list

step "done: stopping the private engine; nothing is left running"
