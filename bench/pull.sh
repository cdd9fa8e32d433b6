#!/usr/bin/env bash
# Benchmark: pull a large image from a local docker-registry (no throttle)
# with examples-c/pull and with `skopeo copy`, and print wall time, pull
# throughput and peak memory of each. Not part of CI (no timed tests there).
#
#   bench/pull.sh [LAYERS] [MIB_PER_LAYER]     (default 8 x 64 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-8}
mib=${2:-64}

scripts/setup.sh >&2
command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
cargo build --release --locked -q
cmake -S examples-c -B build/examples -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/examples >/dev/null

work=$(mktemp -d /tmp/isula-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: %s/registry } }\nhttp: { addr: 127.0.0.1:%s }\n' \
  "$work" "$port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done

python3 scripts/mkdemo-image.py "$work/image" "$layers" "$mib" >/dev/null
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$work/image:demo" "docker://127.0.0.1:$port/bench/img:v1"
bytes=$(du -sb "$work/image/blobs" | cut -f1)

measure() { # name, command...
  local name=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  read -r secs kib <"$work/time"
  python3 -c "import sys; b,s,k=$bytes,$secs,$kib; print(f'{sys.argv[1]:<22} {s:6.2f} s  {b/s/1e6:8.1f} MB/s  peak RSS {k/1024:7.1f} MiB')" "$name"
}

echo "image: $layers layers, $((bytes / 1000000)) MB of gzip blobs, registry on 127.0.0.1"
measure "examples-c/pull" build/examples/pull --root "$work/store1" --insecure --progress quiet \
  "127.0.0.1:$port/bench/img:v1" img
measure "skopeo copy" skopeo copy -q --src-tls-verify=false \
  "docker://127.0.0.1:$port/bench/img:v1" "oci:$work/store2:img"
