#!/usr/bin/env bash
# servers.sh start|stop DIR - the servers the example tests pull from.
#
# start: docker-registry (Debian's /usr/bin/docker-registry) on a free
# 127.0.0.1 port, an nginx reverse proxy in front of it that limits every
# connection to $EXAMPLE_RATE (default 6m = 6 MiB/s, so a ~24 MiB layer takes
# about 4 s), a sample image of $EXAMPLE_LAYERS layers (default 4) of about
# $EXAMPLE_MIB MiB (default 24; mkdemo-image.py makes them 2/3, 1 and 4/3 of
# that) pushed straight to the registry by skopeo, and DIR/env, a file of
# KEY=VALUE lines (no spaces, so `. DIR/env` works):
#   REGISTRY_PORT PROXY_PORT  ports on 127.0.0.1
#   IMAGE         the reference to pull, through the throttling proxy
#   REPO TAG      its repository (with the proxy's host:port) and tag
#   DIGEST        the manifest digest (kept by --preserve-digests)
#   LAYERS        the number of layers
#   LAYER_IDS     the layers' 12-hex short ids, comma-separated, manifest order
#   LAYER_SIZES   their compressed sizes in bytes, same order
#   IMAGE_LAYOUT  the pushed OCI image layout (tag `demo`)
# start wipes DIR first (only if it is one of ours and no other live run owns
# it, see other_owner); on failure it stops what it started. stop kills every
# server by the pid it recorded (idempotent) and removes the image data and
# env (logs and failed tests' files stay).
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

REGISTRY=${DOCKER_REGISTRY:-/usr/bin/docker-registry}
NGINX=${NGINX:-/usr/sbin/nginx}
SKOPEO=${SKOPEO:-skopeo}
RATE=${EXAMPLE_RATE:-6m}
LAYERS=${EXAMPLE_LAYERS:-4}
MIB=${EXAMPLE_MIB:-24}

action=${1:?usage: servers.sh start|stop DIR}
dir=${2:?usage: servers.sh start|stop DIR}
case "$dir" in
    /*) ;;
    *) echo "servers.sh: DIR must be absolute: $dir" >&2; exit 2 ;;
esac
case "$dir" in
    *[[:space:]]*) echo "servers.sh: DIR must not contain blanks: $dir" >&2; exit 2 ;;
esac

log() { echo "servers.sh: $*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

alive() {
    local st
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    st=$(ps -o stat= -p "$1" 2>/dev/null || true)
    case "$st" in Z*|"") return 1 ;; esac
}

# stop_one NAME - SIGTERM the pid in DIR/NAME.pid, wait up to 5 s, then SIGKILL
stop_one() {
    local f="$dir/$1.pid" pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "$1 (pid $pid) ignored SIGTERM, killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $1 (pid $pid)"
    fi
    rm -f "$f"
}

stop_all() {
    stop_one nginx
    stop_one registry
}

# The process that ran `start` (CTest, or a shell) owns the servers until it
# ends: several sessions may share one build tree, and a second `ctest` must
# neither wipe nor stop the servers a first one is still testing against.
# DIR/owner holds "PID START-TIME"; `start` and `stop` leave alone servers
# whose owner is another live process (EXAMPLE_FORCE=1 overrides), and treat
# those of a dead owner (an interrupted run) as stale.
owner_id() { echo "$1 $(ps -o lstart= -p "$1" 2>/dev/null | tr -s ' ' _)"; }
# other_owner - print the owner if it is alive and not our parent
other_owner() {
    local pid rest
    [ -f "$dir/owner" ] || return 1
    read -r pid rest < "$dir/owner" || return 1
    [ "$pid" != "$PPID" ] || return 1
    [ "${EXAMPLE_FORCE:-0}" != 1 ] || return 1
    [ "$(owner_id "$pid")" = "$pid $rest" ] || return 1
    echo "pid $pid ($(ps -o args= -p "$pid" 2>/dev/null | cut -c1-80))"
}

# wait_http NAME URL PID - until URL answers 200 (10 s), or PID died
wait_http() {
    local i
    for i in $(seq 100); do
        curl -fs -o /dev/null "$2" && return 0
        alive "$3" || { log "$1 exited during start-up"; return 1; }
        sleep 0.1
    done
    log "$1 did not answer on $2"
    return 1
}

start() {
    if [ -d "$dir" ]; then
        if [ ! -e "$dir/.example-run" ] && [ -n "$(ls -A "$dir")" ]; then
            log "$dir exists and is not ours; refusing to wipe it"
            exit 1
        fi
        local other
        if other=$(other_owner); then
            log "$dir is in use by another run, $other; not touching it"
            log "(if that is wrong: EXAMPLE_FORCE=1 $0 stop $dir)"
            exit 1
        fi
        stop_all
        rm -rf "$dir"
    fi
    mkdir -p "$dir/nginx"
    touch "$dir/.example-run"
    owner_id "$PPID" > "$dir/owner"
    trap 'log "start failed; stopping what was started"; for f in "$dir"/*.log "$dir"/nginx/error.log; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; stop_all' ERR
    local t0=$SECONDS

    # --- docker-registry ---------------------------------------------------------
    local reg_port proxy_port
    reg_port=$(free_port)
    cat > "$dir/registry.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $dir/registry-data } }
http: { addr: 127.0.0.1:$reg_port }
YML
    "$REGISTRY" serve "$dir/registry.yml" </dev/null >"$dir/registry.log" 2>&1 &
    echo $! > "$dir/registry.pid"
    wait_http docker-registry "http://127.0.0.1:$reg_port/v2/" "$(cat "$dir/registry.pid")"
    log "docker-registry pid $(cat "$dir/registry.pid") on 127.0.0.1:$reg_port"

    # --- nginx, throttling ----------------------------------------------------------
    proxy_port=$(free_port)
    # proxy_max_temp_file_size 0: responses stay in memory buffers, so the
    # workers (user nobody) never write temp files under a 0700 root dir.
    cat > "$dir/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  server {
    listen 127.0.0.1:$proxy_port;
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:$reg_port;
      proxy_set_header Host \$http_host;
      proxy_max_temp_file_size 0;
      limit_rate $RATE;
    }
  }
}
NGX
    "$NGINX" -c "$dir/nginx.conf" -p "$dir/nginx" </dev/null >"$dir/nginx.log" 2>&1 &
    echo $! > "$dir/nginx.pid"
    wait_http nginx "http://127.0.0.1:$proxy_port/v2/" "$(cat "$dir/nginx.pid")"
    log "nginx pid $(cat "$dir/nginx.pid") on 127.0.0.1:$proxy_port (limit_rate $RATE)"

    # --- the image ----------------------------------------------------------------------
    local layout="$dir/image" repo_path="example/big" tag="v1"
    python3 "$repo/scripts/mkdemo-image.py" "$layout" "$LAYERS" "$MIB" >/dev/null
    "$SKOPEO" copy -q --preserve-digests --dest-tls-verify=false \
        "oci:$layout:demo" "docker://127.0.0.1:$reg_port/$repo_path:$tag"
    local facts
    facts=$(python3 - "$layout" <<'PY'
import json, os, sys
root = sys.argv[1]
idx = json.load(open(os.path.join(root, "index.json")))
desc = idx["manifests"][0]
m = json.load(open(os.path.join(root, "blobs", "sha256", desc["digest"].split(":", 1)[1])))
ls = m["layers"]
print("DIGEST=" + desc["digest"])
print("LAYERS=%d" % len(ls))
print("LAYER_IDS=" + ",".join(l["digest"].split(":", 1)[1][:12] for l in ls))
print("LAYER_SIZES=" + ",".join(str(l["size"]) for l in ls))
PY
)
    {
        echo "REGISTRY_PORT=$reg_port"
        echo "PROXY_PORT=$proxy_port"
        echo "REPO=127.0.0.1:$proxy_port/$repo_path"
        echo "TAG=$tag"
        echo "IMAGE=127.0.0.1:$proxy_port/$repo_path:$tag"
        echo "IMAGE_LAYOUT=$layout"
        echo "$facts"
    } > "$dir/env.tmp"
    # the manifest answers through the proxy too
    curl -fs -o /dev/null \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://127.0.0.1:$proxy_port/v2/$repo_path/manifests/$tag"
    mv "$dir/env.tmp" "$dir/env"
    trap - ERR
    log "ready in $((SECONDS - t0)) s; $dir/env:"
    cat "$dir/env"
}

case "$action" in
    start) start ;;
    stop)
        if other=$(other_owner); then
            log "$dir belongs to another run, $other; leaving its servers alone"
            exit 0
        fi
        stop_all
        rm -f "$dir/owner"
        # the ~200 MB of image data; logs and failed tests' files stay
        rm -rf "$dir/registry-data" "$dir/image" "$dir/env"
        ;;
    *) echo "usage: servers.sh start|stop DIR" >&2; exit 2 ;;
esac
