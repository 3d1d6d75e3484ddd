#!/usr/bin/env bash
# bench/rollback.sh - how fast does `cpactl rollback` bring the previous release back
# after an upgrade, on its fast path (the kept previous container: a stop and a start).
#
#   sudo bench/rollback.sh
#
# Needs root and Debian's docker.io: a PRIVATE dockerd (tests/engine.sh), the fake CPA
# images (tests/fixtures/build-images.sh), a deployment (tests/fixtures/deploy.sh) run as
#   docker run -d --name bench-rb --restart unless-stopped -p 127.0.0.1:<free port>:8317
#       -v DEP/config.yaml:/CLIProxyAPI/config.yaml -v DEP/auth:/root/.cli-proxy-api
#       eceasy/cli-proxy-api:v7.1.0
# Each round (production reset first: containers removed, DEP/backup and DEP/.cpactl
# deleted, v7.1.0 run again and serving):
#   cpactl upgrade --container bench-rb --image eceasy/cli-proxy-api:v7.2.0 --no-pull
#       --test-port <free port> --yes          (untimed)
#   then, timed, under the poller of bench/upgrade.sh (bench/poller.c: GET /v1/models
#   with the client key every 5 ms, open loop):
#   cpactl rollback --container bench-rb --yes --json
# Figures per round: the poller's longest gap between two good answers (service back),
# cpactl's own downtime_ms (the stop of v7.2.0 to the first 200 of v7.1.0), and the whole
# command's wall time (it also backs up the current state and verifies the snapshot
# first, while production serves).  Target (from the issue): service back in under
# 2 seconds.  Results go to bench/results/rollback.txt; the last line reads
#   rollback fast path: service gap median 700 ms (max 750), cpactl downtime_ms median
#   690, command 1.9 s (5 rounds)
#
#   CPACTL=PATH  binary under test (default build/cpactl)    N=5  rounds
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
CPACTL=${CPACTL:-build/cpactl}
N=${N:-5}
RESULTS=$ROOT/bench/results/rollback.txt
NAME=bench-rb
KEY=SECRET-FIXTURE-apikey-1-7f3a
POLLER=$ROOT/build/bench/poller

die() { echo "bench: $*" >&2; exit 1; }
case $N in '' | *[!0-9]* | 0) die "N must be a positive integer, not '$N'" ;; esac
[ -x "$CPACTL" ] || die "no cpactl binary at '$CPACTL' (run make, or set CPACTL)"
CPACTL=$(cd "$(dirname "$CPACTL")" && pwd)/$(basename "$CPACTL")
[ "$(id -u)" = 0 ] || die "must run as root (a private dockerd needs root)"
for bin in gcc curl jq dockerd; do command -v "$bin" >/dev/null || die "'$bin' not found (make deps)"; done
mkdir -p "$(dirname "$POLLER")"
if [ ! -x "$POLLER" ] || [ bench/poller.c -nt "$POLLER" ]; then
	gcc -O2 -Wall -Wextra -Werror -o "$POLLER.tmp" bench/poller.c && mv "$POLLER.tmp" "$POLLER" ||
		die "cannot compile bench/poller.c"
fi

. tests/engine.sh
WORK=$(mktemp -d /tmp/cpactl-bench-rb.XXXXXX)
engine_start || die "cannot start a private docker engine"
trap 'engine_stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
bash tests/fixtures/build-images.sh >/dev/null || die "building the fake CPA images failed"
DEP=$WORK/dep
PORT=$(free_port)
TP=$(free_port)

reset_production() {
	docker ps -aq | xargs -r docker rm -f >/dev/null
	rm -rf "$DEP"
	bash tests/fixtures/deploy.sh "$DEP" >/dev/null
	docker run -d --name "$NAME" --restart unless-stopped -p "127.0.0.1:$PORT:8317" \
		-v "$DEP/config.yaml:/CLIProxyAPI/config.yaml" -v "$DEP/auth:/root/.cli-proxy-api" \
		eceasy/cli-proxy-api:v7.1.0 >/dev/null
	for _ in $(seq 1 200); do
		curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && return 0
		sleep 0.05
	done
	die "production does not come up"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$WORK/rows"
for round in $(seq 1 "$N"); do
	reset_production
	"$CPACTL" upgrade --container "$NAME" --image eceasy/cli-proxy-api:v7.2.0 --no-pull --test-port "$TP" \
		--yes -q >/dev/null 2>&1 || die "round $round: the upgrade failed"
	rm -f "$WORK/stop"
	POLLER_KEY=$KEY "$POLLER" -p "$PORT" -i 5 -c 50 -t 500 -s "$WORK/stop" -m 120 >"$WORK/poller" 2>"$WORK/poller.err" &
	poller_pid=$!
	sleep 0.3
	start=$(date +%s%N)
	"$CPACTL" rollback --container "$NAME" --yes --json >"$WORK/report" 2>"$WORK/stderr" ||
		die "round $round: the rollback failed: $(tail -n 3 "$WORK/stderr")"
	end=$(date +%s%N)
	sleep 0.3
	touch "$WORK/stop"
	wait "$poller_pid" || die "round $round: the poller failed: $(cat "$WORK/poller.err")"
	[ "$(jq -r .path "$WORK/report")" = kept-container ] || die "round $round: not the fast path"
	gap=$(sed -n 's/^longest_gap_ms=//p' "$WORK/poller")
	down=$(jq -r '.downtime_ms | floor' "$WORK/report")
	wall=$(((end - start) / 1000000))
	printf '%s %s %s\n' "$gap" "$down" "$wall" >>"$WORK/rows"
	echo "bench: round $round: service gap ${gap} ms, cpactl downtime_ms ${down}, command ${wall} ms" >&2
done

gap_med=$(cut -d' ' -f1 "$WORK/rows" | median)
gap_max=$(cut -d' ' -f1 "$WORK/rows" | sort -n | tail -n 1)
down_med=$(cut -d' ' -f2 "$WORK/rows" | median)
wall_med=$(cut -d' ' -f3 "$WORK/rows" | median)
summary=$(printf 'rollback fast path: service gap median %.0f ms (max %s), cpactl downtime_ms median %.0f, command %.1f s (%s rounds)' \
	"$gap_med" "$gap_max" "$down_med" "$(awk -v w="$wall_med" 'BEGIN { print w / 1000 }')" "$N")
{
	echo "# bench/rollback.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(dockerd --version)"
	echo "# per round: service gap (poller, ms), cpactl downtime_ms, command wall time (ms)"
	cat "$WORK/rows"
	echo "$summary"
} >"$RESULTS"
echo "$summary"
