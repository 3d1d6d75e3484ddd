# shellcheck shell=bash
# tests/engine.sh - sourceable bash library: a PRIVATE Docker engine for cpactl tests.
#
#   . tests/engine.sh
#   engine_start || exit 1   # exports DOCKER_HOST, ENGINE_DIR
#   engine_trap              # engine_stop on EXIT / INT / TERM
#   ...
#   engine_restart           # stop dockerd, start it again (same dirs, bridge, socket, data)
#   engine_stop              # idempotent
#   port=$(free_port)
#
# The private engine has its own bridge (cpa + 6 hex chars) on a free 10.2xx.yyy.0/24,
# runs with --iptables=false --ip-masq=false and never touches /var/run/docker.sock,
# docker0 or another engine's iptables chains. Published 127.0.0.1 ports work through
# docker-proxy (userland proxy).
#
# CPACTL_TEST_DOCKER_HOST=unix:///path (explicit opt-in): use that engine instead; nothing
# is started, stopped or removed (engine_stop only forgets it).
# ENGINE_KEEP=1: engine_stop leaves the engine running (debugging); prints how to reach it.
# ENGINE_DOCKERD_ARGS="...": more dockerd options (split on blanks), e.g. a TLS listener
# (see engine_tls_certs).

_engine_log() { echo "engine: $*" >&2; }

_engine_ping() {
    curl -fsS --max-time 2 --unix-socket "$ENGINE_DIR/docker.sock" http://localhost/_ping >/dev/null 2>&1
}

_engine_pick_bridge() {
    local hex a b used
    used=$(ip -4 addr 2>/dev/null; ip -4 route 2>/dev/null)
    for _ in $(seq 1 200); do
        hex=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
        ENGINE_BRIDGE="cpa$hex"
        ip link show "$ENGINE_BRIDGE" >/dev/null 2>&1 && continue
        a=$((200 + RANDOM % 56)); b=$((RANDOM % 256))
        case $used in *" 10.$a.$b."* | *$'\n'"10.$a.$b."* | "10.$a.$b."*) continue ;; esac
        ENGINE_SUBNET="10.$a.$b"
        return 0
    done
    return 1
}

_engine_make_bridge() {
    ip link add "$ENGINE_BRIDGE" type bridge || return 1
    ip addr add "$ENGINE_SUBNET.1/24" dev "$ENGINE_BRIDGE" || { ip link del "$ENGINE_BRIDGE"; return 1; }
    ip link set "$ENGINE_BRIDGE" up || { ip link del "$ENGINE_BRIDGE"; return 1; }
}

# Start dockerd on the existing ENGINE_DIR / ENGINE_BRIDGE and wait for /_ping.
_engine_launch() {
    local pid
    [ -f "$ENGINE_DIR/daemon.json" ] || echo '{}' > "$ENGINE_DIR/daemon.json"
    # --config-file: ignore any /etc/docker/daemon.json of the machine (hosts, bridge, ... would clash).
    # No /run/containerd socket is shared: dockerd 20.10 would use a *system* containerd if one
    # listens on /run/containerd/containerd.sock, so give ours its own namespaces in that case.
    local ns=()
    if [ -S /run/containerd/containerd.sock ]; then
        ns=(--containerd-namespace "cpactl-${ENGINE_BRIDGE}" --containerd-plugins-namespace "cpactl-${ENGINE_BRIDGE}-plugins")
    fi
    # setsid: own session, so a Ctrl-C sent to the test's process group does not reach
    # dockerd/containerd; engine_stop (from the trap) shuts them down in order.
    # 3>&- and up: bats waits for every holder of its output descriptors, so an
    # engine restarted from inside a test must not keep them open.
    setsid -w dockerd --host "unix://$ENGINE_DIR/docker.sock" \
        --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
        --pidfile "$ENGINE_DIR/docker.pid" --config-file "$ENGINE_DIR/daemon.json" \
        --bridge "$ENGINE_BRIDGE" --iptables=false --ip-masq=false --ip6tables=false \
        "${ns[@]}" ${ENGINE_DOCKERD_ARGS:-} >>"$ENGINE_DIR/dockerd.log" 2>&1 </dev/null 3>&- 4>&- 5>&- &
    pid=$!
    echo "$pid" > "$ENGINE_DIR/dockerd.launch-pid"
    ENGINE_PID=$pid
    for _ in $(seq 1 300); do   # 30 s
        if _engine_ping; then
            [ -s "$ENGINE_DIR/docker.pid" ] && ENGINE_PID=$(cat "$ENGINE_DIR/docker.pid")
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            _engine_log "dockerd (pid $pid) exited during start-up; last log lines ($ENGINE_DIR/dockerd.log):"
            tail -n 25 "$ENGINE_DIR/dockerd.log" >&2
            return 1
        fi
        sleep 0.1
    done
    _engine_log "dockerd (pid $pid) did not answer /_ping on $ENGINE_DIR/docker.sock within 30 s; last log lines:"
    tail -n 25 "$ENGINE_DIR/dockerd.log" >&2
    return 1
}

engine_start() {
    if [ -n "${CPACTL_TEST_DOCKER_HOST:-}" ]; then
        export DOCKER_HOST="$CPACTL_TEST_DOCKER_HOST"
        ENGINE_EXTERNAL=1
        export ENGINE_DIR=""
        if ! docker version >/dev/null 2>&1; then
            _engine_log "CPACTL_TEST_DOCKER_HOST=$CPACTL_TEST_DOCKER_HOST does not answer"
            return 1
        fi
        _engine_log "using external engine $DOCKER_HOST (not started/stopped by tests)"
        return 0
    fi
    ENGINE_EXTERNAL=0
    if [ -n "${ENGINE_DIR:-}" ] && [ -S "${ENGINE_DIR}/docker.sock" ] && _engine_ping; then
        _engine_log "already running ($ENGINE_DIR)"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        _engine_log "must run as root (a private dockerd needs root); skip or use CPACTL_TEST_DOCKER_HOST"
        return 1
    fi
    local bin
    for bin in dockerd docker curl ip; do
        command -v "$bin" >/dev/null 2>&1 || { _engine_log "'$bin' not found in PATH (need docker.io, curl, iproute2)"; return 1; }
    done
    ENGINE_DIR=$(mktemp -d /tmp/cpactl-engine.XXXXXX) || { _engine_log "mktemp failed"; return 1; }
    export ENGINE_DIR
    chmod 0711 "$ENGINE_DIR"
    if ! _engine_pick_bridge; then
        _engine_log "could not find a free bridge name / 10.2xx.yyy.0/24 subnet"
        rm -rf "$ENGINE_DIR"; ENGINE_DIR=""; return 1
    fi
    if ! _engine_make_bridge; then
        _engine_log "could not create bridge $ENGINE_BRIDGE ($ENGINE_SUBNET.1/24)"
        rm -rf "$ENGINE_DIR"; ENGINE_DIR=""; return 1
    fi
    echo "$ENGINE_BRIDGE" > "$ENGINE_DIR/bridge"
    export DOCKER_HOST="unix://$ENGINE_DIR/docker.sock"
    if ! _engine_launch; then
        engine_stop
        return 1
    fi
    _engine_log "started dockerd pid $ENGINE_PID, $DOCKER_HOST, bridge $ENGINE_BRIDGE ($ENGINE_SUBNET.1/24)"
    return 0
}

# Stop only dockerd (and its managed containerd), leave dirs/bridge.
_engine_kill_daemon() {
    local pid="" p
    [ -f "$ENGINE_DIR/docker.pid" ] && pid=$(cat "$ENGINE_DIR/docker.pid" 2>/dev/null)
    [ -z "$pid" ] && [ -f "$ENGINE_DIR/dockerd.launch-pid" ] && pid=$(cat "$ENGINE_DIR/dockerd.launch-pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            _engine_log "dockerd $pid did not stop in 15 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            sleep 0.2
        fi
    fi
    wait "$pid" 2>/dev/null || true
    # Leftovers that belong to THIS engine only (their command line names ENGINE_DIR):
    # managed containerd, containerd-shims, docker-proxy of our containers.
    local left=()
    local args
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
        args=()
        { mapfile -d '' args < "/proc/$p/cmdline"; } 2>/dev/null || continue
        case " ${args[*]} " in *"$ENGINE_DIR/"*) left+=("$p") ;; esac
    done
    if [ ${#left[@]} -gt 0 ]; then
        kill -TERM "${left[@]}" 2>/dev/null
        sleep 0.3
        for p in "${left[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    fi
    rm -f "$ENGINE_DIR/docker.pid"
}

engine_stop() {
    if [ "${ENGINE_EXTERNAL:-0}" = 1 ]; then
        return 0
    fi
    [ -n "${ENGINE_DIR:-}" ] && [ -d "$ENGINE_DIR" ] || return 0
    case $ENGINE_DIR in /tmp/cpactl-engine.*) ;; *) _engine_log "refusing to clean up unexpected ENGINE_DIR=$ENGINE_DIR"; return 1 ;; esac
    if [ "${ENGINE_KEEP:-0}" = 1 ]; then
        _engine_log "ENGINE_KEEP=1: leaving engine running: export DOCKER_HOST=unix://$ENGINE_DIR/docker.sock"
        return 0
    fi
    local ids m
    if [ -S "$ENGINE_DIR/docker.sock" ] && _engine_ping; then
        ids=$(DOCKER_HOST="unix://$ENGINE_DIR/docker.sock" docker ps -aq 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && DOCKER_HOST="unix://$ENGINE_DIR/docker.sock" timeout 30 docker rm -f $ids >/dev/null 2>&1
    fi
    _engine_kill_daemon
    # unmount everything left under ENGINE_DIR, deepest first
    for m in $(awk -v d="$ENGINE_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
        umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    if [ -z "${ENGINE_BRIDGE:-}" ] && [ -f "$ENGINE_DIR/bridge" ]; then
        ENGINE_BRIDGE=$(cat "$ENGINE_DIR/bridge")
    fi
    if [ -n "${ENGINE_BRIDGE:-}" ] && ip link show "$ENGINE_BRIDGE" >/dev/null 2>&1; then
        ip link del "$ENGINE_BRIDGE" 2>/dev/null || _engine_log "could not delete bridge $ENGINE_BRIDGE"
    fi
    rm -rf "$ENGINE_DIR" 2>/dev/null || { sleep 0.5; rm -rf "$ENGINE_DIR" || _engine_log "could not remove $ENGINE_DIR"; }
    ENGINE_DIR=""
    ENGINE_BRIDGE=""
    return 0
}

# Stop dockerd and start it again on the same dirs, bridge and socket; data is kept.
# Containers without a restart policy come back stopped (no live-restore).
engine_restart() {
    if [ "${ENGINE_EXTERNAL:-0}" = 1 ]; then
        _engine_log "engine_restart: not possible with CPACTL_TEST_DOCKER_HOST"
        return 1
    fi
    [ -n "${ENGINE_DIR:-}" ] && [ -d "$ENGINE_DIR" ] || { _engine_log "engine_restart: no engine"; return 1; }
    _engine_kill_daemon
    _engine_launch
}

# Stop only the daemon (simulate "engine died"); engine_stop still cleans up later.
engine_kill() {
    [ "${ENGINE_EXTERNAL:-0}" = 1 ] && return 1
    _engine_kill_daemon
}

engine_trap() {
    trap 'engine_stop' EXIT
    trap 'engine_stop; trap - EXIT; exit 130' INT
    trap 'engine_stop; trap - EXIT; exit 143' TERM
}

# engine_tls_certs DIR: a CA, a server certificate for IP 127.0.0.1 and a client
# certificate signed by it, as the docker CLI and dockerd name them: DIR/ca.pem,
# DIR/server-cert.pem, DIR/server-key.pem, DIR/cert.pem, DIR/key.pem.  For a
# TLS listener: ENGINE_DOCKERD_ARGS="--tlsverify --tlscacert DIR/ca.pem
# --tlscert DIR/server-cert.pem --tlskey DIR/server-key.pem -H tcp://127.0.0.1:PORT".
engine_tls_certs() {
    local d=$1
    mkdir -p "$d" || return 1
    (
        cd "$d" || exit 1
        set -e
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cpactl test CA" \
            -keyout ca-key.pem -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout server-key.pem -out server.csr
        printf 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -extfile server.ext -out server-cert.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=cpactl test client" \
            -keyout key.pem -out client.csr
        printf 'extendedKeyUsage = clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
            -extfile client.ext -out cert.pem
        rm -f server.csr client.csr server.ext client.ext
    ) >"$d/openssl.log" 2>&1 || { _engine_log "engine_tls_certs: openssl failed (see $d/openssl.log)"; return 1; }
}

# The first port of the kernel's ephemeral range: the local ports of outgoing
# connections come from there, so a port picked in it can be taken by any
# curl between the pick and the test's bind ("address already in use").
ephemeral_low() {
    local low
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
    echo "${low:-32768}"
}

# A free random TCP port on 127.0.0.1 (never 8317/8318), from 17000 up to the
# ephemeral range (10000-16999 belong to tests/unit/test_crash.c, which runs
# beside the end-to-end suite) or, when the suite runs workers side by side,
# from this worker's own part of it (FREE_PORT_MIN, FREE_PORT_SPAN), so two
# workers never pick the same port.
free_port() {
    local p i min=${FREE_PORT_MIN:-17000} span=${FREE_PORT_SPAN:-$(($(ephemeral_low) - 17000))} listening=0 answering=0
    for ((i = 0; i < 100; i++)); do
        p=$((min + (RANDOM * 32768 + RANDOM) % span))
        if [ "$p" = 8317 ] || [ "$p" = 8318 ]; then continue; fi
        if ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then listening=$((listening + 1)); continue; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then answering=$((answering + 1)); continue; fi
        echo "$p"
        return 0
    done
    echo "free_port: no free port in $min-$((min + span - 1)) after 100 tries ($listening listening, $answering answering)" >&2
    return 1
}

# registry_start [USER PASSWORD]: Debian's docker-registry, private to the
# test: its own config and storage under a temp dir, on 127.0.0.1 and a
# random port (the engine pulls from 127.0.0.0/8 over plain HTTP without
# --insecure-registry).  With USER and PASSWORD it asks for them (htpasswd,
# bcrypt).  Sets REGISTRY (host:port), REGISTRY_DIR and REGISTRY_PID.
registry_start() {
    local port user=${1:-} pass=${2:-} auth=""
    REGISTRY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cpactl-registry.XXXXXX")
    port=$(free_port) || return 1
    if [ -n "$user" ]; then
        htpasswd -Bbn "$user" "$pass" >"$REGISTRY_DIR/htpasswd" 2>/dev/null || return 1
        auth="auth:
  htpasswd:
    realm: cpactl-test
    path: $REGISTRY_DIR/htpasswd"
    fi
    cat >"$REGISTRY_DIR/config.yml" <<YAML
version: 0.1
log:
  level: debug
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
$auth
YAML
    docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/log" 2>&1 &
    REGISTRY_PID=$!
    REGISTRY=127.0.0.1:$port
    local i
    for i in $(seq 1 100); do
        case $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$REGISTRY/v2/") in
        200 | 401) return 0 ;;
        esac
        kill -0 "$REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "registry_start: the registry did not answer /v2/ on $REGISTRY:" >&2
    cat "$REGISTRY_DIR/log" >&2
    return 1
}

# registry_stop: stops it (and any registry serving its config: a test may
# have started it again) and removes its storage.
registry_stop() {
    [ -n "${REGISTRY_PID:-}" ] && kill "$REGISTRY_PID" 2>/dev/null && wait "$REGISTRY_PID" 2>/dev/null
    [ -n "${REGISTRY_DIR:-}" ] && pkill -f "docker-registry serve $REGISTRY_DIR/config.yml" 2>/dev/null
    [ -n "${REGISTRY_DIR:-}" ] && rm -rf "$REGISTRY_DIR"
    REGISTRY_PID= REGISTRY_DIR=
    return 0
}
