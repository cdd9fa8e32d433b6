#!/usr/bin/env bash
# registries.sh start|stop DIR - the docker-registry instances check.sh pulls from, all on
# 127.0.0.1 with filesystem storage under DIR (certificates from ctest/harness/certs.sh in
# DIR/certs):
#   plain  PLAIN_PORT  HTTP; schema1 manifests accepted (so skopeo can push v2s1)
#   tls    TLS_PORT    HTTPS with the harness CA
#   auth   AUTH_PORT   HTTPS + htpasswd Basic auth (AUTH_USER / AUTH_PASSWORD)
#   token  TOKEN_PORT  HTTPS + bearer tokens from tokenserver.py on TOKEN_SERVER_PORT
#                      (same user and password)
# Ports and credentials go to DIR/env; pids to DIR/<name>.pid; logs to DIR/<name>.log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness=$here/../../ctest/harness
# shellcheck source=../../ctest/harness/lib.sh
. "$harness/lib.sh"

REGISTRY=${DOCKER_REGISTRY:-/usr/bin/docker-registry}
AUTH_USER=alice
AUTH_PASSWORD='s3cr3t!pw'
INSTANCES="plain tls auth token"

action=${1:?usage: registries.sh start|stop DIR}
dir=${2:?usage: registries.sh start|stop DIR}
check_run_dir "$dir"

key_of() { echo "$(echo "$1" | tr '[:lower:]' '[:upper:]')_PORT"; }

write_conf() { # NAME PORT
    local name=$1 port=$2
    cat <<CONF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/$name-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: isulad-check-$name
CONF
    if [ "$name" != plain ]; then
        printf '  tls:\n    certificate: %s\n    key: %s\n' "$dir/certs/server.crt" "$dir/certs/server.key"
    fi
    case "$name" in
        plain) printf 'compatibility:\n  schema1:\n    enabled: true\n' ;;
        auth) printf 'auth:\n  htpasswd:\n    realm: isulad-check\n    path: %s\n' "$dir/htpasswd" ;;
        token)
            printf 'auth:\n  token:\n    realm: https://127.0.0.1:%s/token\n' "$(env_get "$dir" TOKEN_SERVER_PORT)"
            printf '    service: isulad-check\n    issuer: isulad-check-issuer\n'
            printf '    rootcertbundle: %s\n' "$dir/token/signer.crt"
            ;;
    esac
}

answers() { # NAME PORT
    local code
    case "$1" in
        plain) code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$2/v2/" || true) ;;
        *) code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$dir/certs/ca.crt" \
            "https://127.0.0.1:$2/v2/" || true) ;;
    esac
    case "$1:$code" in
        plain:200 | tls:200 | auth:401 | token:401) return 0 ;;
    esac
    return 1
}

taken_ports() {
    local n
    for n in $INSTANCES; do env_get "$dir" "$(key_of "$n")"; done
    env_get "$dir" TOKEN_SERVER_PORT
    env_get "$dir" PROXY_PORT
}

start_token_server() {
    local port pid i
    mkdir -p "$dir/token"
    # shellcheck disable=SC2046
    port=$(pick_free_port $(taken_ports))
    python3 "$here/tokenserver.py" "$port" "$dir/certs/server.crt" "$dir/certs/server.key" \
        "$dir/token" isulad-check-issuer "$AUTH_USER" "$AUTH_PASSWORD" \
        </dev/null >"$dir/tokenserver.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/tokenserver.pid"
    for i in $(seq 1 100); do
        pid_alive "$pid" || break
        if [ -s "$dir/token/signer.crt" ] && curl -s -o /dev/null --max-time 2 --cacert "$dir/certs/ca.crt" \
                "https://127.0.0.1:$port/healthz"; then
            env_set "$dir" TOKEN_SERVER_PORT "$port"
            return 0
        fi
        sleep 0.1
    done
    cat "$dir/tokenserver.log" >&2
    die "registries.sh: the token server did not start"
}

start_one() { # NAME
    local name=$1 key port pid i
    key=$(key_of "$name")
    mkdir -p "$dir/$name-data"
    # shellcheck disable=SC2046
    port=$(pick_free_port $(taken_ports))
    write_conf "$name" "$port" > "$dir/$name.yml"
    "$REGISTRY" serve "$dir/$name.yml" </dev/null >"$dir/$name.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/$name.pid"
    for i in $(seq 1 100); do
        pid_alive "$pid" || break
        if answers "$name" "$port"; then
            env_set "$dir" "$key" "$port"
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/$name.log" >&2 || true
    die "registries.sh: docker-registry ($name) did not start"
}

case "$action" in
    start)
        [ -f "$dir/certs/server.crt" ] || die "registries.sh: run ctest/harness/certs.sh $dir/certs first"
        if command -v htpasswd >/dev/null 2>&1; then
            htpasswd -Bbn "$AUTH_USER" "$AUTH_PASSWORD" | sed '/^$/d' > "$dir/htpasswd"
        else
            python3 -W ignore -c 'import crypt, sys
print("%s:%s" % (sys.argv[1], crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))))' \
                "$AUTH_USER" "$AUTH_PASSWORD" > "$dir/htpasswd"
        fi
        env_set "$dir" AUTH_USER "$AUTH_USER"
        env_set "$dir" AUTH_PASSWORD "$AUTH_PASSWORD"
        start_token_server
        for name in $INSTANCES; do
            start_one "$name"
        done
        ;;
    stop)
        rc=0
        for name in $INSTANCES tokenserver; do
            pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
            [ -n "$pid" ] || continue
            stop_pid "$name" "$pid" || rc=1
            rm -f "$dir/$name.pid"
        done
        exit $rc
        ;;
    *) die "usage: registries.sh start|stop DIR" ;;
esac
