#!/usr/bin/env bash
# The main job: on a fresh Debian 12 machine, build the library and the
# examples-c/pull program, start a local docker-registry behind a
# rate-limiting nginx (so the pull takes a while), push a sample image of a
# few hundred MB with skopeo, and pull it with live progress. Everything it
# starts listens on 127.0.0.1 only and is stopped by pid at the end.
#
#   scripts/demo.sh [--progress auto|tty|plain|json|quiet] [--rate 20m]
set -euo pipefail
cd "$(dirname "$0")/.."

progress=auto
rate=6m
while (($#)); do
  case "$1" in
    --progress) progress=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: scripts/demo.sh [--progress MODE] [--rate NGINX_RATE]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh >&2
echo "== building the library and examples-c/pull" >&2
cargo build --release --locked -q
cmake -S examples-c -B build/examples -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/examples >/dev/null

work=$(mktemp -d /tmp/isula-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "demo: $1 did not come up" >&2; return 1
}

reg_port=$(free_port)
cat >"$work/registry.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$reg_port }
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$reg_port/v2/"

proxy_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$proxy_port;
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:$reg_port;
      proxy_set_header Host \$http_host;
      # keep responses in memory buffers: no temp files for the worker to write
      proxy_max_temp_file_size 0;
      limit_rate $rate;
    }
  }
}
NGX
nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)
wait_http "http://127.0.0.1:$proxy_port/v2/"

echo "== building a sample image and pushing it to 127.0.0.1:$reg_port" >&2
python3 scripts/mkdemo-image.py "$work/image" 6 50 >/dev/null
skopeo copy -q --preserve-digests --dest-tls-verify=false \
  "oci:$work/image:demo" "docker://127.0.0.1:$reg_port/demo/sample:latest"

echo "== pulling through a proxy limited to $rate/s per connection" >&2
build/examples/pull --root "$work/store" --insecure --progress "$progress" \
  "127.0.0.1:$proxy_port/demo/sample:latest" demo/sample:latest
echo "== the store is an OCI layout; skopeo reads it:" >&2
skopeo inspect "oci:$work/store:demo/sample:latest" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Digest"], len(d["Layers"]), "layers")'
