#!/usr/bin/env bash
# The benchmark suite: pulls each image from a local docker-registry over plain HTTP and over
# HTTPS with three contenders, alternated in one run, and prints a markdown table of the medians
# (wall, CPU = user+sys of the process tree, peak RSS) and the wall ratios:
#   library  examples-c/pull through the C API into the embedded store, progress quiet
#   skopeo   skopeo copy to an OCI layout (copies blobs, decompresses nothing)
#   curl     curl --parallel of the config and every layer blob to disk (the wire's bound)
# Not part of CI. Benchmark on a quiet machine: any other load skews every number.
#
#   bench/suite.sh [IMAGE...]        IMAGE: big bigtext many-small zstd uncompressed (default all)
#
# Environment: REPS (default 5) runs of each contender; BENCH_SCALE (default 1) multiplies every
# layer size, e.g. 0.01 to check the suite quickly; BENCH_PROTOS (default "http https");
# BENCH_CACHE (default /tmp/isula-bench-cache) keeps generated images and the registry's storage
# between runs, keyed by image, scale and generator. Servers listen on 127.0.0.1 only and are
# stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

all="big bigtext many-small zstd uncompressed"
images=${*:-$all}
for i in $images; do
  case " $all " in
    *" $i "*) ;;
    *) echo "bench/suite.sh: unknown image '$i'; choose from: $all" >&2; exit 2 ;;
  esac
done
reps=${REPS:-5}
scale=${BENCH_SCALE:-1}
protos=${BENCH_PROTOS:-http https}
cache=${BENCH_CACHE:-/tmp/isula-bench-cache}
case "$reps" in '' | *[!0-9]* | 0) echo "bench/suite.sh: REPS must be a positive integer" >&2; exit 2 ;; esac
for p in $protos; do
  case "$p" in http | https) ;; *) echo "bench/suite.sh: BENCH_PROTOS takes http and https" >&2; exit 2 ;; esac
done
python3 -c 'import sys; s=float(sys.argv[1]); sys.exit(0 if 0 < s <= 1 else 1)' "$scale" 2>/dev/null ||
  { echo "bench/suite.sh: BENCH_SCALE must be a number in (0, 1], e.g. 0.01" >&2; exit 2; }

scripts/setup.sh >&2
echo "suite: building the library and examples-c/pull (release)" >&2
cargo build --release --locked -q
cmake -S examples-c -B build/examples -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/examples >/dev/null

run=$(mktemp -d /tmp/isula-bench-run.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true
  done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Images, generated once per spec.
gen=$(sha256sum bench/mkbench-image.py | cut -c1-12)
mkdir -p "$cache/images"
layout() { echo "$cache/images/$1-$scale-$gen"; }
for i in $images; do
  d=$(layout "$i")
  if [ ! -f "$d/.done" ]; then
    echo "suite: generating image $i (scale $scale) in $d" >&2
    rm -rf "$d" "$d.tmp"
    python3 bench/mkbench-image.py "$i" "$d.tmp" "$scale" >/dev/null
    mv "$d.tmp" "$d"
    touch "$d/.done"
  fi
done

# Two registries on the same storage (cached): plain HTTP and HTTPS with a generated CA.
ctest/harness/certs.sh "$run/certs" >/dev/null
storage="$cache/registry-storage"
start_registry() { # name port [tls]
  local conf="$run/registry-$1.yml"
  printf 'version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: %s } }\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$storage" "$2" >"$conf"
  if [ "${3:-}" = tls ]; then
    printf '  tls: { certificate: %s, key: %s }\n' "$run/certs/server.crt" "$run/certs/server.key" >>"$conf"
  fi
  docker-registry serve "$conf" >"$run/registry-$1.log" 2>&1 &
  pids+=($!)
}
hport=$(free_port)
start_registry http "$hport"
sport=$(free_port)
start_registry https "$sport" tls
mkdir -p "$run/certs.d/127.0.0.1:$sport"
cp "$run/certs/ca.crt" "$run/certs.d/127.0.0.1:$sport/ca.crt"
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$hport/v2/" &&
    curl -fs -o /dev/null --cacert "$run/certs/ca.crt" "https://127.0.0.1:$sport/v2/" && break
  sleep 0.1
done
curl -fs -o /dev/null "http://127.0.0.1:$hport/v2/" || { cat "$run"/registry-*.log >&2; exit 1; }

repo() { echo "bench/$1-$scale-$gen"; }
for i in $images; do
  if ! curl -fs -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$hport/v2/$(repo "$i")/manifests/v1"; then
    echo "suite: pushing $i" >&2
    skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$(layout "$i"):bench" \
      "docker://127.0.0.1:$hport/$(repo "$i"):v1"
  fi
done

# contender_cmd CONTENDER PROTO IMAGE DEST: the command line, one word a line
contender_cmd() {
  local c=$1 proto=$2 i=$3 dest=$4 host url d
  if [ "$proto" = http ]; then host=127.0.0.1:$hport; else host=127.0.0.1:$sport; fi
  case "$c" in
    library)
      printf '%s\n' build/examples/pull --root "$dest" --progress quiet
      if [ "$proto" = http ]; then echo --insecure; else printf '%s\n' --certs-dir "$run/certs.d"; fi
      printf '%s\n' "$host/$(repo "$i"):v1" img ;;
    skopeo)
      printf '%s\n' skopeo copy -q
      if [ "$proto" = http ]; then echo --src-tls-verify=false; else printf '%s\n' --src-cert-dir "$run/certs.d/$host"; fi
      printf '%s\n' "docker://$host/$(repo "$i"):v1" "oci:$dest:img" ;;
    curl)
      printf '%s\n' curl -sSf --parallel --parallel-max 5
      [ "$proto" = https ] && printf '%s\n' --cacert "$run/certs/ca.crt"
      while read -r d; do
        printf '%s\n' "$proto://$host/v2/$(repo "$i")/blobs/$d" -o "$dest/${d#sha256:}"
      done <"$(layout "$i")/blobs.txt" ;;
  esac
}

# measure IMAGE PROTO CONTENDER REP: one timed run, appended to results.tsv
measure() {
  local i=$1 proto=$2 c=$3 rep=$4 dest="$run/dest" cmd
  rm -rf "$dest"
  [ "$c" = curl ] && mkdir -p "$dest"
  mapfile -t cmd < <(contender_cmd "$c" "$proto" "$i" "$dest")
  sync
  if ! /usr/bin/time -f '%e %U %S %M' -o "$run/time" "${cmd[@]}" >/dev/null 2>"$run/err"; then
    echo "suite: $c failed on $i over $proto:" >&2
    cat "$run/err" >&2
    exit 1
  fi
  read -r wall user sys kib <"$run/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$proto" "$c" "$rep" "$wall" "$user+$sys" "$kib" >>"$run/results.tsv"
  rm -rf "$dest"
}

contenders=(library skopeo curl)
for i in $images; do # warm the registry's page cache, untimed
  for proto in $protos; do measure "$i" "$proto" curl 0; done
done
: >"$run/results.tsv"
for rep in $(seq "$reps"); do
  for i in $images; do
    for proto in $protos; do
      for k in 0 1 2; do # the order rotates from one repetition to the next
        c=${contenders[$(((k + rep) % 3))]}
        echo "suite: rep $rep/$reps $i $proto $c" >&2
        measure "$i" "$proto" "$c" "$rep"
      done
    done
  done
done

sizes=$run/sizes.tsv
for i in $images; do
  printf '%s\t%s\n' "$i" "$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))
print(sum(l["size"] for l in m["layers"]), len(m["layers"]))' "$(layout "$i")/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$(layout "$i")/index.json")")" >>"$sizes"
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
libcurl=$(curl-config --version 2>/dev/null || curl --version | head -n 1 | grep -o 'libcurl/[^ ]*')
python3 bench/suite-table.py "$run/results.tsv" "$sizes" "$reps" "$scale" \
  "$(nproc) cores, $cpu, kernel $(uname -r), $libcurl, $(date -u '+%Y-%m-%d %H:%M UTC')"
