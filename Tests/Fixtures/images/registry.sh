#!/bin/bash
# A private OCI registry on loopback for the image-pull tests.
#
#   registry.sh start DIR PORT [--auth htpasswd|token] [--tls]
#   registry.sh stop DIR
#
# `start` runs Debian's docker-registry (distribution 2.8, package `docker-registry`)
# on 127.0.0.1:PORT with its config, storage, log and pid file all under DIR, so
# several registries (and the system one, if any) never share state. It returns once
# /v2/ answers. Auth modes, both with user `skiff` and password `secret`:
#   htpasswd  basic auth against DIR/htpasswd (bcrypt, made by `htpasswd` from apache2-utils)
#   token     bearer tokens from token-server.py on 127.0.0.1:PORT+1, RS256-signed with a
#             throw-away key/cert made by `openssl`; the registry trusts that cert only
#   --tls     HTTPS with a server certificate for 127.0.0.1/localhost signed by a throw-away
#             CA in DIR/tls/ca.crt (what a hosts.toml `ca` entry points at)
#   The token server also trades the refresh token `skiff-refresh-token` (OAuth2 POST).
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
        code=$(curl -sk -o /dev/null -w '%{http_code}' "$url" || true)
        [ "$code" != 000 ] && return 0
        sleep 0.1
    done
    die "$url did not answer within 10 s (log: $log)"
}

port_free() {
    # curl's 000 means nothing listens; anything else would make our readiness check lie.
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" || true)" = 000 ]
}

# A CA and a server certificate for 127.0.0.1 and localhost, all under DIR/tls.
make_tls() {
    local tls=$1/tls
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=skiff-test-ca \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
        -extfile "$tls/ext.cnf" -out "$tls/server.crt" 2>/dev/null
}

start() {
    local dir=$1 port=$2 auth=$3 tls=$4
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
            --refresh-token skiff-refresh-token \
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

    local tls_yaml="" scheme=http
    if [ "$tls" = yes ]; then
        make_tls "$dir"
        scheme=https
        tls_yaml="  tls:
    certificate: $dir/tls/server.crt
    key: $dir/tls/server.key"
    fi

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
$tls_yaml
$auth_yaml
EOF
    docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    wait_http "$scheme://127.0.0.1:$port/v2/" "$!" "$dir/registry.log"
    trap - EXIT
    echo "registry on $scheme://127.0.0.1:$port (auth: $auth), pid $(cat "$dir/registry.pid")"
}

stop() {
    local dir
    dir=$(cd "$1" && pwd)
    stop_pidfile "$dir/registry.pid" "$dir"
    stop_pidfile "$dir/token.pid" "$dir"
}

usage() { die "usage: registry.sh start DIR PORT [--auth htpasswd|token] [--tls] | stop DIR"; }

case ${1:-} in
start)
    [ $# -ge 3 ] || usage
    dir=$2 port=$3 auth=none tls=no
    shift 3
    while [ $# -gt 0 ]; do
        case $1 in
        --auth) [ $# -ge 2 ] || usage; auth=$2; shift 2 ;;
        --tls) tls=yes; shift ;;
        *) usage ;;
        esac
    done
    start "$dir" "$port" "$auth" "$tls"
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac
