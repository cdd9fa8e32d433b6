#!/usr/bin/env bash
# bench/isulad.sh STOCK_PREFIX LIB_PREFIX [REPS] [ISULA] - compare the stock iSulad (C registry
# module) with one linked with isula-registry: `isula pull` of a 3 x 200 MiB random gzip
# image and of a 20-small-layer image from a docker-registry on 127.0.0.1, the daemons
# alternated (the order flips every repetition), `isula rmi` before each pull. Prints the
# median wall time and the median daemon CPU time (utime + stime of the daemon from
# /proc/PID/stat, before and after the pull) per daemon and image, and the ratios lib/stock.
# REPS defaults to 5. Needs root; ISULAD_LD_LIBRARY_PATH as for integration/isulad/check.sh.
# BENCH_IMAGES="BIG_LAYERS BIG_MIB SMALL_LAYERS SMALL_KIB" changes the images (default
# "3 200 20 64"). Not part of CI.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$here/..
# shellcheck source=../ctest/harness/lib.sh
. "$top/ctest/harness/lib.sh"
# shellcheck source=../integration/isulad/daemons.sh
. "$top/integration/isulad/daemons.sh"

[ $# -ge 2 ] || { echo "usage: bench/isulad.sh STOCK_PREFIX LIB_PREFIX [REPS] [ISULA]" >&2; exit 2; }
stock_prefix=$(cd "$1" 2>/dev/null && pwd) || die "bench/isulad.sh: no such prefix: $1"
lib_prefix=$(cd "$2" 2>/dev/null && pwd) || die "bench/isulad.sh: no such prefix: $2"
reps=${3:-5}
isula=${4:-$stock_prefix/bin/isula}
case "$reps" in '' | *[!0-9]* | 0) die "bench/isulad.sh: REPS must be a positive number, not '$reps'" ;; esac
[ "$(id -u)" = 0 ] || die "bench/isulad.sh: run as root"
for f in "$stock_prefix/bin/isulad" "$lib_prefix/bin/isulad" "$isula"; do
    [ -x "$f" ] || die "bench/isulad.sh: $f is not an executable"
done

run=$(mktemp -d /tmp/isulad-bench.XXXXXX)
registry_pid=
cleanup() {
    daemon_stop_all
    [ -n "$registry_pid" ] && stop_pid docker-registry "$registry_pid"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(pick_free_port)
printf 'version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: %s/registry } }\nhttp: { addr: "127.0.0.1:%s" }\n' \
    "$run" "$port" > "$run/registry.yml"
docker-registry serve "$run/registry.yml" </dev/null >"$run/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
curl -fs -o /dev/null "http://127.0.0.1:$port/v2/" || die "bench/isulad.sh: docker-registry did not start"

echo "bench/isulad.sh: building the images" >&2
# shellcheck disable=SC2086
python3 "$here/mkisulad-images.py" "$run/layout" ${BENCH_IMAGES:-} || die "bench/isulad.sh: mkisulad-images.py"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$run/policy.json"
for tag in big small; do
    TMPDIR=$run skopeo --policy "$run/policy.json" copy -q --preserve-digests --dest-tls-verify=false \
        "oci:$run/layout:$tag" "docker://127.0.0.1:$port/bench/$tag:v1" ||
        die "bench/isulad.sh: pushing $tag failed"
done
rm -rf "$run/layout"

daemon_start stock "$stock_prefix" "127.0.0.1:$port" >&2
daemon_start lib "$lib_prefix" "127.0.0.1:$port" >&2

cpu_ticks() { # PID - utime+stime+cutime+cstime (fields 14-17; the name in field 2 may hold spaces)
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'
}
hz=$(getconf CLK_TCK)

: > "$run/samples"
for rep in $(seq 1 "$reps"); do
    if [ $((rep % 2)) = 1 ]; then order="stock lib"; else order="lib stock"; fi
    for tag in big small; do
        img=127.0.0.1:$port/bench/$tag:v1
        for who in $order; do
            daemon_cli "$who" rmi "$img" >/dev/null 2>&1 || true
            sync
            pid=$(daemon_pid "$who")
            c0=$(cpu_ticks "$pid")
            t0=$(date +%s.%N)
            daemon_cli "$who" pull "$img" >"$run/pull.out" 2>&1 ||
                { cat "$run/pull.out" >&2; die "bench/isulad.sh: $who failed to pull $img"; }
            t1=$(date +%s.%N)
            c1=$(cpu_ticks "$pid")
            echo "$tag $who $t0 $t1 $c0 $c1" | awk -v hz="$hz" '{printf "%s %s %.3f %.3f\n", $1, $2, $4 - $3, ($6 - $5) / hz}' \
                >> "$run/samples"
            echo "bench/isulad.sh: rep $rep $(tail -n 1 "$run/samples")" >&2
        done
    done
    for who in stock lib; do daemon_cli "$who" rmi "127.0.0.1:$port/bench/big:v1" >/dev/null 2>&1 || true; done
done

python3 - "$run/samples" "$reps" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {}
for tag in ("big", "small"):
    for who in ("stock", "lib"):
        s = [(float(w), float(c)) for t, d, w, c in rows if t == tag and d == who]
        med[tag, who] = (statistics.median(x for x, _ in s), statistics.median(y for _, y in s))
print("medians of %s repetition(s); wall = isula pull, cpu = daemon utime+stime" % sys.argv[2])
print("%-6s %11s %11s %7s %11s %11s %7s" % ("image", "stock wall", "lib wall", "ratio",
                                           "stock cpu", "lib cpu", "ratio"))
for tag in ("big", "small"):
    (sw, sc), (lw, lc) = med[tag, "stock"], med[tag, "lib"]
    ratio = lambda a, b: "%.2f" % (a / b) if b > 0 else "-"
    print("%-6s %10.2fs %10.2fs %7s %10.2fs %10.2fs %7s" % (tag, sw, lw, ratio(lw, sw),
                                                           sc, lc, ratio(lc, sc)))
EOF
