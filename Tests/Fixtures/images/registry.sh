#!/bin/bash
# A private OCI registry on loopback for the image-pull tests.
#
#   registry.sh start DIR PORT [--auth htpasswd|token]
#   registry.sh stop DIR
#
# `start` runs Debian's docker-registry (distribution 2.8, package `docker-registry`)
# on 127.0.0.1:PORT with its config, storage, log and pid file all under DIR, so
# several registries (and the system one, if any) never share state. It returns once
# /v2/ answers. Auth modes, both with user `skiff` and password `secret`:
#   htpasswd  basic auth against DIR/htpasswd (bcrypt, made by `htpasswd` from apache2-utils)
#   token     bearer tokens from token-server.py on 127.0.0.1:PORT+1, RS256-signed with a
#             throw-away key/cert made by `openssl`; the registry trusts that cert only
# `stop` kills exactly the pids that `start` recorded, and only if they still are
# the processes started for DIR (a pid can be reused after a crash).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
USER_NAME=skiff
PASSWORD=secret

die() { echo "registry.sh: $*" >&2; exit 1; }

# Is PID alive and running with a path under DIR/ in its command line?
ours() {
    local pid=$1 dir=$2
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/"
}

# Kill the process whose pid is in FILE if it is ours; wait for it to go.
stop_pidfile() {
    local file=$1 dir=$2 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if ours "$pid" "$dir"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do ours "$pid" "$dir" || break; sleep 0.1; done
        if ours "$pid" "$dir"; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$file"
}

# Wait until URL answers with any HTTP status (401 counts: auth is on) while PID lives.
wait_http() {
    local url=$1 pid=$2 log=$3 code
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "process $pid exited, log above"; }
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
        [ "$code" != 000 ] && return 0
        sleep 0.1
    done
    die "$url did not answer within 10 s (log: $log)"
}

port_free() {
    # curl's 000 means nothing listens; anything else would make our readiness check lie.
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" || true)" = 000 ]
}

start() {
    local dir=$1 port=$2 auth=${3:-none}
    command -v docker-registry >/dev/null || die "docker-registry missing (apt-get install docker-registry)"
    mkdir -p "$dir/storage"
    dir=$(cd "$dir" && pwd)  # absolute: the registry resolves paths from its own cwd
    [ -f "$dir/registry.pid" ] && ours "$(cat "$dir/registry.pid")" "$dir" && die "already running in $dir"
    port_free "$port" || die "127.0.0.1:$port is already in use"
    # From here on, a failed start must not leave a token server or registry behind.
    START_DIR=$dir
    trap 'stop "$START_DIR"' EXIT

    local auth_yaml=""
    case $auth in
    none) ;;
    htpasswd)
        command -v htpasswd >/dev/null || die "htpasswd missing (apt-get install apache2-utils)"
        # distribution accepts bcrypt entries only (-B).
        htpasswd -Bbn "$USER_NAME" "$PASSWORD" >"$dir/htpasswd"
        auth_yaml="auth:
  htpasswd:
    realm: skiff-test
    path: $dir/htpasswd"
        ;;
    token)
        local tport=$((port + 1))
        port_free "$tport" || die "127.0.0.1:$tport (token server) is already in use"
        # The registry checks the token's x5c leaf against this bundle; Go also wants
        # digitalSignature in the leaf's key usage.
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=skiff-token-issuer \
            -addext keyUsage=digitalSignature -keyout "$dir/token.key" -out "$dir/token.crt" 2>/dev/null
        python3 "$HERE/token-server.py" --port "$tport" --key "$dir/token.key" --cert "$dir/token.crt" \
            --issuer skiff-token-issuer --service skiff-registry --user "$USER_NAME" --password "$PASSWORD" \
            </dev/null >"$dir/token.log" 2>&1 &
        echo $! >"$dir/token.pid"
        wait_http "http://127.0.0.1:$tport/token" "$!" "$dir/token.log"
        auth_yaml="auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: skiff-registry
    issuer: skiff-token-issuer
    rootcertbundle: $dir/token.crt"
        ;;
    *) die "unknown auth mode $auth (htpasswd|token)" ;;
    esac

    # The health check is off: it would only add periodic storage stats to the log.
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: skiff-test-only-secret
$auth_yaml
EOF
    docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    wait_http "http://127.0.0.1:$port/v2/" "$!" "$dir/registry.log"
    trap - EXIT
    echo "registry on 127.0.0.1:$port (auth: $auth), pid $(cat "$dir/registry.pid")"
}

stop() {
    local dir
    dir=$(cd "$1" && pwd)
    stop_pidfile "$dir/registry.pid" "$dir"
    stop_pidfile "$dir/token.pid" "$dir"
}

case ${1:-} in
start)
    [ $# -eq 3 ] || { [ $# -eq 5 ] && [ "$4" = --auth ]; } || die "usage: registry.sh start DIR PORT [--auth htpasswd|token]"
    start "$2" "$3" "${5:-none}"
    ;;
stop)
    [ $# -eq 2 ] || die "usage: registry.sh stop DIR"
    stop "$2"
    ;;
*) die "usage: registry.sh start DIR PORT [--auth htpasswd|token] | stop DIR" ;;
esac
