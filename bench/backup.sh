#!/usr/bin/env bash
# bench/backup.sh - what does `cpactl backup` cost, against the runbook's step 1 by hand?
#
#   sudo bench/backup.sh
#
# Needs root and Debian's docker.io: it starts a PRIVATE dockerd (tests/engine.sh),
# builds the fake CPA images (tests/fixtures/build-images.sh) and two padded ones
# (tests/fixtures/big-image.sh: eceasy/cli-proxy-api:bench-<MB>m, one layer of random
# bytes), deploys config.yaml and an auth dir of $BENCH_AUTH_FILES files
# (tests/fixtures/deploy.sh, then copies of its three auth files under other names,
# 0600), runs one container per image with both bind-mounted and the API published on
# 127.0.0.1:<free port>, and measures, in the same run, N times each:
#   (a) the runbook:  docker save IMAGE > DIR/image.tar && cp config.yaml DIR/ &&
#                     cp -a auth DIR/          (DIR removed between runs, untimed)
#   (b) the first `cpactl backup --json` into a fresh root (a real first backup: empty
#       blob store, no history)
#   (c) a second `cpactl backup --json` into the same root, image unchanged
# and, once, (d) the peak RSS of a first `cpactl backup` of the $BENCH_BIG_MB MB image
# (/usr/bin/time -v, "Maximum resident set size").  For reference (not in a ratio):
# the runbook followed by `sync`, since cpactl fsyncs every file it writes.
# Each iteration runs (a), (b), (c) one after the other, after one untimed warm-up of
# each, so the page cache treats them alike.  Times are wall-clock (date +%s%N).
#
# The docker client is Debian's /usr/bin/docker when present (/usr/local/bin/docker may
# be another client version): it is put first in PATH for the whole run, and its
# version is recorded.
#
# The result lines are printed and written to bench/results/backup.txt with the date,
# the versions and the exact commands.  Targets (from the issue): (b) <= 1.1x (a);
# (c) adds < 1% of (b)'s bytes and takes < 20% of (b)'s time; (d) < 32 MB.
#
# Environment:
#   CPACTL=PATH            the binary under test (default build/cpactl)
#   N=5                    timed runs of (a), (b) and (c)
#   BENCH_IMAGE_MB=200     padding of the image of (a), (b), (c)
#   BENCH_BIG_MB=1024      padding of the image of (d)
#   BENCH_AUTH_FILES=300   auth files in the auth dir
#
# Always a private engine (CPACTL_TEST_DOCKER_HOST is ignored: the bench builds
# gigabyte images and tags, which it must be free to throw away).  Everything is cleaned
# up on exit, on failure and on Ctrl-C: containers, images, deployment and snapshot
# directories and the engine itself (engine_stop, from the trap).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

CPACTL=${CPACTL:-build/cpactl}
N=${N:-5}
IMAGE_MB=${BENCH_IMAGE_MB:-200}
BIG_MB=${BENCH_BIG_MB:-1024}
AUTH_FILES=${BENCH_AUTH_FILES:-300}
RESULTS=$ROOT/bench/results/backup.txt

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for v in N IMAGE_MB BIG_MB AUTH_FILES; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer, not '${!v}'" ;; esac
done
[ "$AUTH_FILES" -ge 3 ] || die "BENCH_AUTH_FILES must be at least 3"
[ -x "$CPACTL" ] || die "no cpactl binary at '$CPACTL' (run make, or set CPACTL)"
CPACTL=$(cd "$(dirname "$CPACTL")" && pwd)/$(basename "$CPACTL")
[ "$(id -u)" = 0 ] || die "must run as root (a private dockerd needs root)"
command -v dockerd >/dev/null || die "dockerd not found (apt-get install docker.io)"
unset CPACTL_TEST_DOCKER_HOST CPACTL_ROOT

if [ ! -x /usr/bin/time ]; then
    say "/usr/bin/time not found: apt-get install -y time"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1; } ||
        die "cannot install time (GNU time, for the peak RSS)"
fi

WORK=$(mktemp -d /tmp/cpactl-bench-backup.XXXXXX) || die "mktemp failed"
chmod 0700 "$WORK"
# Debian's client first in PATH, for this script and the fixture scripts alike.
if [ -x /usr/bin/docker ]; then
    DOCKER_BIN=/usr/bin/docker
else
    DOCKER_BIN=$(command -v docker) || die "docker CLI not found (apt-get install docker.io)"
fi
mkdir -p "$WORK/bin" && ln -s "$DOCKER_BIN" "$WORK/bin/docker" || die "cannot set up $WORK/bin"
export PATH="$WORK/bin:$PATH"
hash -r

# shellcheck source=../tests/engine.sh
. tests/engine.sh

cleanup() {
    # The engine goes first (its containers and images with it): engine_stop needs
    # the docker client, which lives in $WORK/bin.
    engine_stop
    [ -n "$WORK" ] && rm -rf "$WORK"
    WORK=""
}
trap 'cleanup' EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM

engine_start || die "cannot start a private docker engine (see above)"
bash tests/fixtures/build-images.sh >/dev/null || die "building the fake images failed"
IMAGE=eceasy/cli-proxy-api:bench-${IMAGE_MB}m
BIG=eceasy/cli-proxy-api:bench-${BIG_MB}m
say "building $IMAGE and $BIG (random padding)"
bash tests/fixtures/big-image.sh "bench-${IMAGE_MB}m" "$IMAGE_MB" || die "big-image.sh $IMAGE_MB failed"
bash tests/fixtures/big-image.sh "bench-${BIG_MB}m" "$BIG_MB" || die "big-image.sh $BIG_MB failed"

# ------------------------------------------------------------------ the deployment
DEP=$WORK/dep
bash tests/fixtures/deploy.sh "$DEP" >/dev/null || die "deploy.sh failed"
(
    umask 077
    set -- "$DEP"/auth/*.json
    [ $# -eq 3 ] || exit 1
    i=0 have=3
    while [ "$have" -lt "$AUTH_FILES" ]; do
        for f in "$@"; do
            [ "$have" -lt "$AUTH_FILES" ] || break
            i=$((i + 1))
            b=$(basename "$f" .json)
            cp -p "$f" "$DEP/auth/${b%%@*}-bench$i@example.com.json" || exit 1
            have=$((have + 1))
        done
    done
    chmod 0600 "$DEP"/auth/*
) || die "cannot fill $DEP/auth"
nauth=$(find "$DEP/auth" -type f | wc -l)
[ "$nauth" -eq "$AUTH_FILES" ] || die "expected $AUTH_FILES auth files, found $nauth"
auth_kb=$(du -sk "$DEP/auth" | cut -f1)

run_cpa() { # NAME IMAGE
    local port
    port=$(free_port) || die "no free port"
    docker run -d --name "$1" -p "127.0.0.1:$port:8317" \
        -v "$DEP/config.yaml:/CLIProxyAPI/config.yaml" \
        -v "$DEP/auth:/root/.cli-proxy-api" "$2" >/dev/null || die "cannot run $1 ($2)"
}
run_cpa bench-cpa "$IMAGE"
run_cpa bench-cpa-big "$BIG"
sleep 1
for c in bench-cpa bench-cpa-big; do
    [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || die "$c is not running"
done
image_bytes=$(docker image inspect -f '{{.Size}}' "$IMAGE")

# ------------------------------------------------------------------ the commands
# (a) exactly what the runbook says, into $WORK/runbook (removed between runs).
RB=$WORK/runbook
cat >"$WORK/runbook.sh" <<EOF
#!/bin/sh
mkdir -p "$RB" &&
docker save "$IMAGE" > "$RB/image.tar" && cp "$DEP/config.yaml" "$RB/" && cp -a "$DEP/auth" "$RB/"
EOF
chmod 0700 "$WORK/runbook.sh"
runbook() { "$WORK/runbook.sh"; }
runbook_sync() { "$WORK/runbook.sh" && sync; }
CMD_BACKUP="$CPACTL backup --container bench-cpa --root ROOT --json"
backup() { # ROOT OUT [CONTAINER]: ROOT is created (0700) when missing, as --root wants
    mkdir -p -m 0700 "$1" || return 1
    "$CPACTL" backup --container "${3:-bench-cpa}" --root "$1" --json >"$2" 2>>"$WORK/cpactl.log"
}
json_int() { # KEY FILE: the first integer member KEY of a cpactl --json document
    sed -n "s/^  \"$1\": \([0-9][0-9]*\),\{0,1\}\$/\1/p" "$2" | head -n 1
}
now() { date +%s%N; }

# Sanity: the runbook works, and a backup is complete and verifies.
runbook || die "the runbook sequence failed"
rb_bytes=$(du -sb "$RB" | cut -f1)
rm -rf "$RB"
backup "$WORK/check" "$WORK/check.json" || die "cpactl backup failed (see $WORK/cpactl.log): $(tail -n 3 "$WORK/cpactl.log")"
"$CPACTL" verify --root "$WORK/check" -q || die "cpactl verify failed on a fresh snapshot"
if grep -q 'SECRET-FIXTURE-' "$WORK/check.json" "$WORK/cpactl.log"; then
    die "cpactl backup printed a secret of the fixtures"
fi
rm -rf "$WORK/check"

# ------------------------------------------------------------------ (a) (b) (c)
ta=() tb=() tc=() ts=() bb=() nb=() bc=() nc=()
say "warm-up: one untimed run of each"
runbook >/dev/null 2>&1; rm -rf "$RB"
backup "$WORK/warm" "$WORK/warm1.json" && backup "$WORK/warm" "$WORK/warm2.json" ||
    die "cpactl backup failed during the warm-up: $(tail -n 3 "$WORK/cpactl.log")"
rm -rf "$WORK/warm"
for i in $(seq 1 "$N"); do
    t=$(now); runbook || die "runbook run $i failed"; ta+=($(($(now) - t)))
    rm -rf "$RB"; sync
    t=$(now); runbook_sync || die "runbook+sync run $i failed"; ts+=($(($(now) - t)))
    rm -rf "$RB"; sync
    r=$WORK/root-$i
    t=$(now); backup "$r" "$WORK/first-$i.json" || die "first backup $i failed: $(tail -n 3 "$WORK/cpactl.log")"
    tb+=($(($(now) - t)))
    sync
    t=$(now); backup "$r" "$WORK/second-$i.json" || die "second backup $i failed: $(tail -n 3 "$WORK/cpactl.log")"
    tc+=($(($(now) - t)))
    bb+=("$(json_int bytes "$WORK/first-$i.json")")
    nb+=("$(json_int new_bytes "$WORK/first-$i.json")")
    bc+=("$(json_int bytes "$WORK/second-$i.json")")
    nc+=("$(json_int new_bytes "$WORK/second-$i.json")")
    grep -q '"image_reused": true' "$WORK/second-$i.json" || say "run $i: the second backup did not reuse the image"
    rm -rf "$r"; sync
    say "run $i/$N: runbook $((ta[-1] / 1000000)) ms, first backup $((tb[-1] / 1000000)) ms, second $((tc[-1] / 1000000)) ms, second new_bytes ${nc[-1]}"
done

# ------------------------------------------------------------------ (d)
say "peak RSS: first backup of the ${BIG_MB} MB image"
mkdir -m 0700 "$WORK/root-big" "$WORK/root-small" || die "mkdir failed"
/usr/bin/time -v -o "$WORK/time-big.txt" \
    "$CPACTL" backup --container bench-cpa-big --root "$WORK/root-big" --json >"$WORK/big.json" 2>>"$WORK/cpactl.log" ||
    die "backup of the big image failed: $(tail -n 3 "$WORK/cpactl.log")"
rss_big=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time-big.txt")
wall_big=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$WORK/time-big.txt")
rm -rf "$WORK/root-big"
/usr/bin/time -v -o "$WORK/time-small.txt" \
    "$CPACTL" backup --container bench-cpa --root "$WORK/root-small" --json >/dev/null 2>>"$WORK/cpactl.log" ||
    die "backup of the image failed: $(tail -n 3 "$WORK/cpactl.log")"
rss_small=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time-small.txt")
rm -rf "$WORK/root-small"

# ------------------------------------------------------------------ report
stats() { # NS...: "mean X s (min Y, max Z)"
    printf '%s\n' "$@" | awk '{ s += $1; if (NR == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
        END { printf "mean %.3f s (min %.3f, max %.3f, %d runs)", s / NR / 1e9, mn / 1e9, mx / 1e9, NR }'
}
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
ma=$(mean "${ta[@]}") mb=$(mean "${tb[@]}") mc=$(mean "${tc[@]}") msy=$(mean "${ts[@]}")
mbb=$(mean "${bb[@]}") mnb=$(mean "${nb[@]}") mnc=$(mean "${nc[@]}")
pass() { # X LIMIT [le]: "met" when X < LIMIT (X <= LIMIT with le)
    awk -v x="$1" -v lim="$2" -v le="${3:-}" 'BEGIN { print (x + 0 < lim + 0 || (le == "le" && x + 0 == lim + 0)) ? "met" : "MISSED" }'
}
ratio_b=$(awk -v b="$mb" -v a="$ma" 'BEGIN { printf "%.2f", b / a }')
pct_t=$(awk -v c="$mc" -v b="$mb" 'BEGIN { printf "%.1f", 100 * c / b }')
pct_n=$(awk -v c="$mnc" -v b="$mbb" 'BEGIN { printf "%.4f", 100 * c / b }')
rss_mb=$(awk -v k="$rss_big" 'BEGIN { printf "%.1f", k / 1024 }')
rss_small_mb=$(awk -v k="$rss_small" 'BEGIN { printf "%.1f", k / 1024 }')

mkdir -p "$(dirname "$RESULTS")" || die "cannot create $(dirname "$RESULTS")"
{
    echo "# bench/backup.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), $("$CPACTL" --version), docker client $DOCKER_BIN $(docker version -f '{{.Client.Version}}, engine {{.Server.Version}}' 2>/dev/null)"
    echo "# host: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%d MB RAM", $2 / 1024 }' /proc/meminfo), /tmp on $(df -T /tmp | awk 'NR == 2 { print $2 }')"
    echo "# image $IMAGE: $image_bytes bytes (${IMAGE_MB} MB of random padding); $AUTH_FILES auth files (${auth_kb} kB); runbook output $rb_bytes bytes"
    echo "# wall-clock, date +%s%N; $N runs each, interleaved (a, a+sync, b, c), after one untimed warm-up"
    echo "# (a)  $(sed -n '3p' "$WORK/runbook.sh" | sed "s|$WORK|\$WORK|g")"
    echo "# (b)  $CMD_BACKUP   (ROOT a fresh empty directory for every run)"
    echo "# (c)  $CMD_BACKUP   (the same ROOT again, image unchanged)"
    echo "# (d)  /usr/bin/time -v $CPACTL backup --container bench-cpa-big --root ROOT --json   (fresh ROOT, $BIG)"
    echo "(a) runbook (docker save > tar, cp config.yaml, cp -a auth): $(stats "${ta[@]}")"
    echo "(a') runbook + sync (reference, not in a ratio): $(stats "${ts[@]}")"
    echo "(b) first cpactl backup, fresh root: $(stats "${tb[@]}"); bytes $mbb, new_bytes $mnb"
    echo "(b)/(a) = ${ratio_b}x (target <= 1.1x: $(pass "$ratio_b" 1.1 le)); (b)/(a') = $(awk -v b="$mb" -v a="$msy" 'BEGIN { printf "%.2f", b / a }')x"
    echo "(c) second cpactl backup, image unchanged: $(stats "${tc[@]}"); new_bytes $mnc = ${pct_n}% of (b)'s bytes (target < 1%: $(pass "$pct_n" 1)); time ${pct_t}% of (b) (target < 20%: $(pass "$pct_t" 20))"
    echo "(d) peak RSS of the first cpactl backup of a ${BIG_MB} MB image: Maximum resident set size $rss_big kB = ${rss_mb} MB (target < 32 MB: $(pass "$rss_mb" 32)); wall $wall_big; with the ${IMAGE_MB} MB image: $rss_small kB = ${rss_small_mb} MB"
} >"$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS" || die "cannot write $RESULTS"
cat "$RESULTS"
