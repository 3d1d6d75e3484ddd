#!/usr/bin/env bash
# bench/discover.sh - how long does discovery take: `cpactl discover --json` against
# the runbook's manual sequence, on an engine holding 100 containers of which 3 are CPA.
#
#   sudo bench/discover.sh              (or: make bench)
#
# Needs root and Debian's docker.io: it starts a PRIVATE dockerd (tests/engine.sh),
# builds the fake CPA images (tests/fixtures/build-images.sh), creates
#   3  CPA containers (eceasy/cli-proxy-api:v7.1.0, v7.2.0, v7.2.60), config.yaml and
#      auth/ bind-mounted (tests/fixtures/deploy.sh), API published on 127.0.0.1:<free port>
#   97 cpactl-test/other:1 containers (no network, a read-only config; created and
#      started 4 at a time)
# and times, with hyperfine when installed (it installs Debian's hyperfine if missing),
# else with a loop of N runs timed by `date +%s%N`:
#   (a) $CPACTL discover --json
#   (b) the runbook's step 0 by hand: docker ps --format '{{.Names}} {{.Image}}', then for
#       each container whose image matches cli-proxy-api: docker inspect NAME and
#       docker exec NAME ./CLIProxyAPI --version || true
#   and, for reference only (not in the ratio), (b) plus `docker cp` of config.yaml and of
#   the auth dir: what cpactl also reads, through the same archive endpoint.
# The last line printed reads
#   discover: cpactl 0.21 s, runbook 1.35 s, ratio 6.4x (100 containers, 3 CPA)
# and the result lines are written to bench/results/discover.txt.
#
# Environment:
#   CPACTL=PATH          the binary under test (default build/cpactl)
#   N=10                 timed runs per command (after one warm-up run)
#   BENCH_OTHERS=97      non-CPA containers
#   BENCH_PARALLEL=4     parallel `docker run` while creating them
#   BENCH_NO_INSTALL=1   never apt-get install hyperfine (use the bash loop instead)
#   CPACTL_TEST_DOCKER_HOST=unix:///path   use that engine instead of a private one; the
#                        bench's containers (label io.cpactl.bench) are removed at the end
#
# Everything is cleaned up on exit, on failure and on Ctrl-C: the containers, the
# deployment files and the private engine (engine_stop, from the trap).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

CPACTL=${CPACTL:-build/cpactl}
N=${N:-10}
OTHERS=${BENCH_OTHERS:-97}
PARALLEL=${BENCH_PARALLEL:-4}
CPA_TAGS=(v7.1.0 v7.2.0 v7.2.60)
RESULTS=$ROOT/bench/results/discover.txt
BENCH_LABEL="io.cpactl.bench=$$"

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

case $N in '' | *[!0-9]* | 0) die "N must be a positive integer, not '$N'" ;; esac
case $OTHERS in '' | *[!0-9]*) die "BENCH_OTHERS must be a number, not '$OTHERS'" ;; esac
[ -x "$CPACTL" ] || die "no cpactl binary at '$CPACTL' (run make, or set CPACTL)"
CPACTL=$(cd "$(dirname "$CPACTL")" && pwd)/$(basename "$CPACTL")
if [ -z "${CPACTL_TEST_DOCKER_HOST:-}" ]; then
    [ "$(id -u)" = 0 ] || die "must run as root (a private dockerd needs root)"
    command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
fi
command -v docker >/dev/null || die "docker CLI not found (apt-get install docker.io)"

# shellcheck source=../tests/engine.sh
. tests/engine.sh

WORK=""
cleanup() {
    local ids
    if [ "${ENGINE_EXTERNAL:-0}" = 1 ]; then
        # Not our engine: remove only what this run created.
        ids=$(docker ps -aq --filter "label=$BENCH_LABEL" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    fi
    [ -n "$WORK" ] && rm -rf "$WORK"
    WORK=""
    engine_stop
}
trap 'cleanup' EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM

engine_start || die "cannot start a private docker engine (see above)"
bash tests/fixtures/build-images.sh >/dev/null || die "building the fake images failed"
WORK=$(mktemp -d /tmp/cpactl-bench.XXXXXX) || die "mktemp failed"

# ------------------------------------------------------------------ containers
t0=$(date +%s%N)
i=0
for tag in "${CPA_TAGS[@]}"; do
    i=$((i + 1))
    port=$(free_port) || die "no free port"
    bash tests/fixtures/deploy.sh "$WORK/cpa-$i" >/dev/null || die "deploy.sh failed"
    docker run -d --name "bench-cpa-$i" --label "$BENCH_LABEL" \
        -p "127.0.0.1:$port:8317" \
        -v "$WORK/cpa-$i/config.yaml:/CLIProxyAPI/config.yaml" \
        -v "$WORK/cpa-$i/auth:/root/.cli-proxy-api" \
        "eceasy/cli-proxy-api:$tag" >/dev/null || die "cannot run bench-cpa-$i ($tag)"
done
# The fake server refuses to start without a config: give the others one, read-only.
# They need no network (--network none also halves the start time); creating and
# starting them in parallel is what the engine does fastest.
bash tests/fixtures/deploy.sh "$WORK/other" >/dev/null || die "deploy.sh failed"
export BENCH_LABEL WORK
seq 1 "$OTHERS" | xargs -r -P "$PARALLEL" -I{} \
    sh -c 'docker create --name "bench-other-$1" --label "$BENCH_LABEL" --network none \
        -v "$WORK/other/config.yaml:/app/config.yaml:ro" cpactl-test/other:1' sh {} >"$WORK/others" ||
    die "creating the $OTHERS other containers failed"
xargs -r -P "$PARALLEL" -n 8 docker start <"$WORK/others" >/dev/null ||
    die "starting the $OTHERS other containers failed"
sleep 1   # a container that fails does so at once: count them after a moment
total=$(docker ps -q --filter "label=$BENCH_LABEL" | wc -l)
cpa=${#CPA_TAGS[@]}
[ "$total" -eq $((cpa + OTHERS)) ] || die "expected $((cpa + OTHERS)) running containers, found $total"
say "$total containers running ($cpa CPA) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# The runbook's step 0, as a person would type it.
cat >"$WORK/runbook.sh" <<'EOF'
#!/bin/sh
docker ps --format '{{.Names}} {{.Image}}' | while read -r name image; do
    case $image in
    *cli-proxy-api*)
        docker inspect "$name"
        docker exec "$name" ./CLIProxyAPI --version || true
        ;;
    esac
done
EOF
# For reference, not in the ratio: the same sequence plus reading what cpactl also reads
# (config.yaml and the auth dir listing, through the same archive endpoint: `docker cp`).
cat >"$WORK/runbook-files.sh" <<'EOF'
#!/bin/sh
docker ps --format '{{.Names}} {{.Image}}' | while read -r name image; do
    case $image in
    *cli-proxy-api*)
        docker inspect "$name"
        docker exec "$name" ./CLIProxyAPI --version || true
        docker cp "$name:/CLIProxyAPI/config.yaml" - | tar -xOf - | grep -c -- '-api-key:'
        docker cp "$name:/root/.cli-proxy-api" - | tar -tf -
        ;;
    esac
done
EOF
chmod 0755 "$WORK/runbook.sh" "$WORK/runbook-files.sh"

# Both must find the same three containers before they are timed.
found=$("$CPACTL" discover --json 2>/dev/null | grep -c '"config_storage"')
[ "$found" = "$cpa" ] || die "cpactl discover found $found CPA containers, expected $cpa"
found=$("$WORK/runbook.sh" 2>&1 | grep -c 'CLIProxyAPI Version:')
[ "$found" = "$cpa" ] || die "the runbook sequence found $found versions, expected $cpa"
if "$CPACTL" discover --json 2>&1 | grep -q 'SECRET-FIXTURE-'; then
    die "cpactl discover printed a secret of the fixtures"
fi

# ------------------------------------------------------------------ timing
if ! command -v hyperfine >/dev/null && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    say "hyperfine not found: apt-get install -y hyperfine"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1; } ||
        say "could not install hyperfine: timing with a bash loop"
fi

# mean_of CMD...: mean wall time in nanoseconds of N runs (after one warm-up run).
mean_of() {
    local i t sum=0
    "$@" >/dev/null 2>&1
    for i in $(seq 1 "$N"); do
        t=$(date +%s%N)
        "$@" >/dev/null 2>&1
        sum=$((sum + $(date +%s%N) - t))
    done
    echo $((sum / N))
}

if command -v hyperfine >/dev/null; then
    tool="hyperfine $(hyperfine --version | awk '{print $2}'), $N runs, 1 warm-up"
    hyperfine --style basic --warmup 1 --runs "$N" --export-csv "$WORK/times.csv" \
        -n cpactl "$CPACTL discover --json" \
        -n runbook "$WORK/runbook.sh" \
        -n runbook-files "$WORK/runbook-files.sh" >&2 || die "hyperfine failed"
    # command,mean,stddev,median,user,system,min,max (seconds)
    a=$(awk -F, '$1 == "cpactl" { print $2 }' "$WORK/times.csv")
    b=$(awk -F, '$1 == "runbook" { print $2 }' "$WORK/times.csv")
    a_sd=$(awk -F, '$1 == "cpactl" { print $3 }' "$WORK/times.csv")
    b_sd=$(awk -F, '$1 == "runbook" { print $3 }' "$WORK/times.csv")
    c=$(awk -F, '$1 == "runbook-files" { print $2 }' "$WORK/times.csv")
    c_sd=$(awk -F, '$1 == "runbook-files" { print $3 }' "$WORK/times.csv")
else
    tool="bash loop (date +%s%N), $N runs, 1 warm-up"
    a=$(mean_of "$CPACTL" discover --json | awk '{ printf "%.6f", $1 / 1e9 }')
    b=$(mean_of "$WORK/runbook.sh" | awk '{ printf "%.6f", $1 / 1e9 }')
    c=$(mean_of "$WORK/runbook-files.sh" | awk '{ printf "%.6f", $1 / 1e9 }')
    a_sd="" b_sd="" c_sd=""
fi
[ -n "$a" ] && [ -n "$b" ] || die "no timing figures"

mkdir -p "$(dirname "$RESULTS")" || die "cannot create $(dirname "$RESULTS")"
{
    echo "# bench/discover.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), $("$CPACTL" --version), $(docker version -f 'client {{.Client.Version}}, engine {{.Server.Version}}' 2>/dev/null)"
    echo "# $tool"
    awk -v s="$a" -v sd="$a_sd" 'BEGIN { printf "cpactl discover --json: mean %.3f s%s\n", s, sd == "" ? "" : sprintf(" (sd %.3f s)", sd) }'
    awk -v s="$b" -v sd="$b_sd" 'BEGIN { printf "runbook (docker ps, inspect, exec --version): mean %.3f s%s\n", s, sd == "" ? "" : sprintf(" (sd %.3f s)", sd) }'
    awk -v s="$c" -v sd="$c_sd" 'BEGIN { printf "runbook + docker cp of config.yaml and auth dir (reference, not in the ratio): mean %.3f s%s\n", s, sd == "" ? "" : sprintf(" (sd %.3f s)", sd) }'
    awk -v a="$a" -v b="$b" -v n="$total" -v c="$cpa" \
        'BEGIN { printf "discover: cpactl %.2f s, runbook %.2f s, ratio %.1fx (%d containers, %d CPA)\n", a, b, b / a, n, c }'
} >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS" || die "cannot write $RESULTS"
cat "$RESULTS"
