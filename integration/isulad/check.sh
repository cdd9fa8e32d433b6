#!/usr/bin/env bash
# check.sh STOCK_PREFIX LIB_PREFIX [ISULA] - run two installed iSulad daemons side by side,
# the stock one (iSulad's C registry module) and one linked with isula-registry, against
# docker-registry instances on 127.0.0.1, and check that they store the same images.
# See integration/isulad/README.md. Needs root. Environment:
#   ISULAD_LD_LIBRARY_PATH  extra library directories of the daemons (e.g. where lcr's
#                           libisula_libutils.so is installed)
#   CHECK_RUN_DIR           keep everything in this (new) directory instead of a temporary one
#   KEEP=1                  do not delete the run directory at the end
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness=$here/../../ctest/harness
# shellcheck source=../../ctest/harness/lib.sh
. "$harness/lib.sh"
# shellcheck source=daemons.sh
. "$here/daemons.sh"

usage() {
    echo "usage: check.sh STOCK_PREFIX LIB_PREFIX [ISULA]  (prefixes hold bin/isulad; ISULA defaults to STOCK_PREFIX/bin/isula)" >&2
    exit 2
}
[ $# -ge 2 ] || usage
stock_prefix=$(cd "$1" 2>/dev/null && pwd) || die "check.sh: no such prefix: $1"
lib_prefix=$(cd "$2" 2>/dev/null && pwd) || die "check.sh: no such prefix: $2"
isula=${3:-$stock_prefix/bin/isula}
for f in "$stock_prefix/bin/isulad" "$lib_prefix/bin/isulad" "$isula"; do
    [ -x "$f" ] || die "check.sh: $f is not an executable; build and install the daemons first"
done
[ "$(id -u)" = 0 ] || die "check.sh: run as root (the daemons mount overlay2)"
for c in docker-registry skopeo python3 openssl curl ss; do
    command -v "$c" >/dev/null 2>&1 || die "check.sh: $c is missing (scripts/setup.sh installs it)"
done
python3 -c 'import cryptography' 2>/dev/null || die "check.sh: python3-cryptography is missing"
[ -f /etc/isulad/daemon.json ] || die "check.sh: /etc/isulad/daemon.json is missing; copy iSulad's src/contrib/config there"

if [ -n "${CHECK_RUN_DIR:-}" ]; then
    run=$CHECK_RUN_DIR
    [ ! -e "$run" ] || die "check.sh: $run exists; give a new directory"
    mkdir -p "$run"
else
    run=$(mktemp -d /tmp/isulad-check.XXXXXX)
fi
check_run_dir "$run"
log() { echo "check.sh: $*"; }

# iSulad reads credentials from /root/.isulad and CA files from /etc/isulad/certs.d: the
# ones of this run are removed, a pre-existing auths.json is put back at the end.
auths=/root/.isulad/auths.json
certs_d=/etc/isulad/certs.d
made_certs=()
cleanup() {
    local d
    daemon_stop_all
    [ -f "$run/proxy.pid" ] && stop_pid faultproxy "$(cat "$run/proxy.pid")"
    "$here/registries.sh" stop "$run" >/dev/null 2>&1 || true
    for d in "${made_certs[@]}"; do rm -rf "$d"; done
    if [ -f "$run/auths.json.saved" ]; then
        cp -p "$run/auths.json.saved" "$auths"
    else
        rm -f "$auths"
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        log "run directory kept: $run"
    else
        rm -rf "$run"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ -f "$auths" ] && cp -p "$auths" "$run/auths.json.saved"

# ---- servers and images ------------------------------------------------------------------
"$harness/certs.sh" "$run/certs" >/dev/null || die "check.sh: certificates"
"$here/registries.sh" start "$run" || die "check.sh: registries"
PLAIN=$(env_get "$run" PLAIN_PORT)
TLS=$(env_get "$run" TLS_PORT)
AUTH=$(env_get "$run" AUTH_PORT)
TOKEN=$(env_get "$run" TOKEN_PORT)
USER_=$(env_get "$run" AUTH_USER)
PASS=$(env_get "$run" AUTH_PASSWORD)
PROXY=$(pick_free_port "$PLAIN" "$TLS" "$AUTH" "$TOKEN" "$(env_get "$run" TOKEN_SERVER_PORT)")
python3 "$here/faultproxy.py" "$PROXY" "$PLAIN" "$run/proxy.log" --reset-over 10000 --resets 1 \
    </dev/null >"$run/proxy.out" 2>&1 &
echo $! > "$run/proxy.pid"
# iSulad's C module wants a certs.d directory to hold a CA and a client certificate and key
# together ("failed to load all certs" otherwise), so each gets all three; the registries do
# not ask for the client certificate. The token server's host needs its own directory: both
# modules load certs.d by the host of each URL.
for port in "$TLS" "$AUTH" "$TOKEN" "$(env_get "$run" TOKEN_SERVER_PORT)"; do
    [ -e "$certs_d/127.0.0.1:$port" ] && die "check.sh: $certs_d/127.0.0.1:$port exists already"
    mkdir -p "$certs_d/127.0.0.1:$port"
    made_certs+=("$certs_d/127.0.0.1:$port")
    cp "$run/certs/ca.crt" "$certs_d/127.0.0.1:$port/ca.crt"
    cp "$run/certs/client.cert" "$run/certs/client.key" "$certs_d/127.0.0.1:$port/"
done

layout=$run/images/layout
mkdir -p "$run/images/tmp"
python3 "$harness/mkimage.py" "$layout" "$run/images/images.env" || die "check.sh: mkimage.py"
while IFS='=' read -r k v; do [ -n "$k" ] && env_set "$run" "$k" "$v"; done < "$run/images/images.env"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$run/images/policy.json"
push() { # SRC DEST [skopeo options]
    local src=$1 dest=$2
    shift 2
    TMPDIR=$run/images/tmp REGISTRY_AUTH_FILE=$run/images/auth.json \
        skopeo --policy "$run/images/policy.json" copy -q "$@" "oci:$layout:$src" "docker://$dest" \
        >"$run/images/skopeo.log" 2>&1 || { cat "$run/images/skopeo.log" >&2; die "check.sh: push $src to $dest failed"; }
}
plain_opts=(--dest-tls-verify=false)
push gzip "127.0.0.1:$PLAIN/test/oci:v1" --preserve-digests "${plain_opts[@]}"
push gzip "127.0.0.1:$PLAIN/test/docker:v1" --format v2s2 "${plain_opts[@]}"
push gzip "127.0.0.1:$PLAIN/test/schema1:v1" --format v2s1 "${plain_opts[@]}"
push zstd "127.0.0.1:$PLAIN/test/zstd:v1" --preserve-digests "${plain_opts[@]}"
push plain "127.0.0.1:$PLAIN/test/reset:v1" --preserve-digests "${plain_opts[@]}"
push multi "127.0.0.1:$PLAIN/test/multi:v1" --preserve-digests --all "${plain_opts[@]}"
push gzip "127.0.0.1:$TLS/test/x:v1" --preserve-digests --dest-cert-dir "$certs_d/127.0.0.1:$TLS"
push gzip "127.0.0.1:$AUTH/test/x:v1" --preserve-digests --dest-cert-dir "$certs_d/127.0.0.1:$AUTH" \
    --dest-creds "$USER_:$PASS"
push gzip "127.0.0.1:$TOKEN/test/x:v1" --preserve-digests --dest-cert-dir "$certs_d/127.0.0.1:$TOKEN" \
    --dest-creds "$USER_:$PASS"
GZIP_ID=$(env_get "$run" IMG_GZIP_CONFIG)
MULTI_ID=$(env_get "$run" MULTI_AMD64_CONFIG)
log "registries: plain $PLAIN (proxy $PROXY), tls $TLS, basic $AUTH, token $TOKEN; images pushed"

# ---- the two daemons ---------------------------------------------------------------------
cli() { daemon_cli "$@"; }
daemon_start stock "$stock_prefix" "127.0.0.1:$PLAIN" "127.0.0.1:$PROXY"
daemon_start lib "$lib_prefix" "127.0.0.1:$PLAIN" "127.0.0.1:$PROXY"

# ---- bookkeeping -------------------------------------------------------------------------
fails=0
rows=()
declare -A secs
note() { echo "    $*"; }

pull() { # NAME IMAGE - pull, remember the wall time in secs[NAME]; output in $run/NAME/last.out
    local who=$1 img=$2 t0 t1 rc
    t0=$(date +%s.%N)
    cli "$who" pull "$img" >"$run/$who/last.out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    secs[$who]=$(echo "$t1 $t0" | awk '{printf "%.2f", $1 - $2}')
    return $rc
}

image_id() { # NAME IMAGE (the JSON stays in $run/NAME/inspect.json and inspect-<repo>.json)
    cli "$1" inspect "$2" > "$run/$1/inspect.json" 2>/dev/null || return 1
    local base=${2##*/}
    cp "$run/$1/inspect.json" "$run/$1/inspect-${base%%:*}.json"
    python3 "$here/compare.py" field "$run/$1/inspect.json" id
}

# leftovers of a failed or finished pull: the library downloads into isulad_tmpdir/registry-*
leftovers() { # NAME
    find "$run/$1/root/isulad_tmpdir" -mindepth 1 -maxdepth 1 2>/dev/null | head -n 5
}

record() { # CHECK RESULT(pass|FAIL) STOCK LIB ID
    local name=$1 res=$2
    [ "$res" = pass ] || fails=$((fails + 1))
    rows+=("$(printf '%-22s %-5s %-10s %-10s %-14s %7s %7s' "$name" "$res" "$3" "$4" "${5:0:12}" \
        "${secs[stock]:--}" "${secs[lib]:--}")")
    echo "[$res] $name"
}

# both daemons pull IMAGE; ids equal (and EXPECT when given); inspect and layers equal.
# With STOCK_MAY_FAIL=1 a stock failure is only reported, and the library is checked alone.
same_pull() { # CHECK IMAGE [EXPECTED_ID [STOCK_MAY_FAIL]]
    local name=$1 img=$2 want=${3:-} optional=${4:-0} s=ok l=ok ids idl res=pass
    secs=()
    pull stock "$img" || s=failed
    pull lib "$img" || l=failed
    [ "$s" = ok ] || note "stock: $(tail -n 2 "$run/stock/last.out" | tr '\n' ' ')"
    [ "$l" = ok ] || note "lib: $(tail -n 2 "$run/lib/last.out" | tr '\n' ' ')"
    ids=$(image_id stock "$img" || true)
    idl=$(image_id lib "$img" || true)
    if [ "$s" != ok ] && [ "$optional" = 1 ] && [ "$l" = ok ]; then
        note "stock failure is informative here; the library is checked alone"
        [ -z "$want" ] || [ "$idl" = "${want#sha256:}" ] || { note "image id $idl, expected ${want#sha256:}"; res=FAIL; }
        [ -z "$(leftovers stock)" ] || { note "stock left: $(leftovers stock)"; }
        record "$name" "$res" "$s" "$l" "$idl"
        return
    elif [ "$s" != ok ] || [ "$l" != ok ]; then
        res=FAIL
    elif [ -z "$ids" ] || [ "$ids" != "$idl" ]; then
        note "image ids differ: stock '$ids' lib '$idl' (stored images kept in $run/<daemon>/differs-$name)"
        cp -r "$run/stock/root/storage/overlay-images/$ids" "$run/stock/differs-$name" 2>/dev/null
        cp -r "$run/lib/root/storage/overlay-images/$idl" "$run/lib/differs-$name" 2>/dev/null
        res=FAIL
    elif [ -n "$want" ] && [ "$idl" != "${want#sha256:}" ]; then
        note "image id $idl, expected ${want#sha256:}"
        res=FAIL
    elif ! diff <(python3 "$here/compare.py" inspect "$run/stock/inspect.json") \
            <(python3 "$here/compare.py" inspect "$run/lib/inspect.json") > "$run/diff.out"; then
        note "isula inspect differs:"; head -n 20 "$run/diff.out" | sed 's/^/      /'
        res=FAIL
    fi
    same_layers || res=FAIL
    record "$name" "$res" "$s" "$l" "$idl"
}

same_layers() {
    if ! diff <(python3 "$here/compare.py" layers "$run/stock/root") \
            <(python3 "$here/compare.py" layers "$run/lib/root") > "$run/diff.out"; then
        note "storage layers differ (layer.json, diff trees):"; head -n 10 "$run/diff.out" | sed 's/^/      /'
        return 1
    fi
    return 0
}

rmi_both() { # IMAGE...
    local who i
    for who in stock lib; do
        for i in "$@"; do cli "$who" rmi "$i" >/dev/null 2>&1 || true; done
    done
}

# ---- checks --------------------------------------------------------------------------------
log "checks:"

# 1. a connection reset in the middle of a layer (the proxy cuts the first big blob once per
#    daemon: its budget is reset between the two pulls by restarting it)
reset_pull() { # NAME
    local who=$1
    stop_pid faultproxy "$(cat "$run/proxy.pid")"
    : > "$run/proxy.log"
    python3 "$here/faultproxy.py" "$PROXY" "$PLAIN" "$run/proxy.log" --reset-over 10000 --resets 1 \
        </dev/null >>"$run/proxy.out" 2>&1 &
    echo $! > "$run/proxy.pid"
    for _ in $(seq 1 50); do port_in_use "$PROXY" && break; sleep 0.1; done
    pull "$who" "127.0.0.1:$PROXY/test/reset:v1"
    local rc=$?
    cp "$run/proxy.log" "$run/$who/proxy.log"
    return $rc
}
secs=()
s=ok; l=ok
reset_pull stock || s=failed
reset_pull lib || l=failed
res=pass
grep -q ' reset$' "$run/lib/proxy.log" || { note "the proxy never reset a transfer"; res=FAIL; }
[ "$l" = ok ] || { note "lib: $(tail -n 2 "$run/lib/last.out" | tr '\n' ' ')"; res=FAIL; }
[ "$s" = ok ] || note "stock (informative): $(tail -n 2 "$run/stock/last.out" | tr '\n' ' ')"
note "lib resumed with: $(grep -v ' reset$' "$run/lib/proxy.log" | grep '/blobs/' | grep -v 'range=-' | head -n 1)"
[ -z "$(leftovers lib)" ] || { note "lib left: $(leftovers lib)"; res=FAIL; }
idl=$(image_id lib "127.0.0.1:$PROXY/test/reset:v1" || true)
[ "$idl" = "${GZIP_ID#sha256:}" ] || { note "lib image id '$idl'"; res=FAIL; }
if [ "$s" = ok ]; then same_layers || res=FAIL; fi
record "reset-mid-layer" "$res" "$s" "$l" "$idl"
rmi_both "127.0.0.1:$PROXY/test/reset:v1"

# 2. the manifest kinds
same_pull "oci-manifest" "127.0.0.1:$PLAIN/test/oci:v1" "$GZIP_ID"
same_pull "docker-v2s2" "127.0.0.1:$PLAIN/test/docker:v1" "$GZIP_ID"
same_pull "oci-index-multiarch" "127.0.0.1:$PLAIN/test/multi:v1" "$MULTI_ID"
same_pull "docker-schema1" "127.0.0.1:$PLAIN/test/schema1:v1"
same_pull "zstd-layers" "127.0.0.1:$PLAIN/test/zstd:v1" "$GZIP_ID" 1 # iSulad 2.1.6 has no zstd
rmi_both "127.0.0.1:$PLAIN/test/zstd:v1" # only one daemon may have it: out of the comparisons
same_pull "https-certs.d" "127.0.0.1:$TLS/test/x:v1" "$GZIP_ID"

# 3. rmi, then pull again: the layers go and come back the same
rmi_both "127.0.0.1:$PLAIN/test/oci:v1" "127.0.0.1:$PLAIN/test/docker:v1" "127.0.0.1:$PLAIN/test/zstd:v1" \
    "127.0.0.1:$TLS/test/x:v1" "127.0.0.1:$PLAIN/test/schema1:v1" "127.0.0.1:$PLAIN/test/multi:v1"
res=pass
for who in stock lib; do
    n=$(cli "$who" images -q 2>/dev/null | grep -c . || true)
    [ "$n" = 0 ] || { note "$who still lists $n images after rmi"; res=FAIL; }
    [ -z "$(ls "$run/$who/root/storage/overlay-layers" 2>/dev/null)" ] || { note "$who kept layers after rmi"; res=FAIL; }
done
secs=()
record "rmi-all" "$res" "-" "-" ""
same_pull "pull-after-rmi" "127.0.0.1:$PLAIN/test/oci:v1" "$GZIP_ID"

# 4. two concurrent pulls on each daemon: two manifests over the same layers
rmi_both "127.0.0.1:$PLAIN/test/oci:v1"
secs=()
res=pass; s=ok; l=ok
for who in stock lib; do
    t0=$(date +%s.%N)
    cli "$who" pull "127.0.0.1:$PLAIN/test/oci:v1" >"$run/$who/c1.out" 2>&1 &
    p1=$!
    cli "$who" pull "127.0.0.1:$PLAIN/test/docker:v1" >"$run/$who/c2.out" 2>&1 &
    p2=$!
    ok=ok
    wait "$p1" || ok=failed
    wait "$p2" || ok=failed
    secs[$who]=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}')
    [ "$ok" = ok ] || note "$who: $(cat "$run/$who/c1.out" "$run/$who/c2.out" | grep -i error | head -n 2 | tr '\n' ' ')"
    if [ "$who" = stock ]; then s=$ok; else l=$ok; fi
done
[ "$l" = ok ] || res=FAIL
[ "$s" = ok ] || note "stock (informative): a concurrent pull failed"
idl=$(image_id lib "127.0.0.1:$PLAIN/test/docker:v1" || true)
[ "$idl" = "${GZIP_ID#sha256:}" ] || res=FAIL
if [ "$s" = ok ]; then same_layers || res=FAIL; fi
[ -z "$(leftovers lib)" ] || { note "lib left: $(leftovers lib)"; res=FAIL; }
record "two-concurrent-pulls" "$res" "$s" "$l" "$idl"

# 5. errors: a missing tag, and a wrong password; nothing is left behind
secs=()
res=pass; s=ok; l=ok
pull stock "127.0.0.1:$PLAIN/test/oci:nope" && s=pulled
note "stock says: $(grep -i error "$run/stock/last.out" | head -n 1)"
pull lib "127.0.0.1:$PLAIN/test/oci:nope" && { l=pulled; res=FAIL; }
note "lib says: $(grep -i error "$run/lib/last.out" | head -n 1)"
grep -qi 'nope\|manifest unknown\|not found' "$run/lib/last.out" || { note "lib's message names neither the tag nor the cause"; res=FAIL; }
[ -z "$(leftovers lib)" ] || { note "lib left: $(leftovers lib)"; res=FAIL; }
[ "$s" != pulled ] || res=FAIL
record "missing-tag" "$res" "${s/ok/refused}" "${l/ok/refused}" ""

res=pass; s=refused; l=refused
cli stock login -u "$USER_" -p 'wrong-password' "127.0.0.1:$AUTH" >"$run/stock/last.out" 2>&1 && { s=accepted; res=FAIL; }
note "stock says: $(grep -i -m1 'error\|fail\|unauth' "$run/stock/last.out")"
cli lib login -u "$USER_" -p 'wrong-password' "127.0.0.1:$AUTH" >"$run/lib/last.out" 2>&1 && { l=accepted; res=FAIL; }
note "lib says: $(grep -i -m1 'error\|fail\|unauth' "$run/lib/last.out")"
[ "$(python3 "$here/compare.py" auths "$auths" "127.0.0.1:$AUTH")" = absent ] || { note "a wrong password was stored"; res=FAIL; }
record "wrong-password" "$res" "$s" "$l" ""

# 6. login with one daemon, pull with the other (auths.json and aeskey are shared)
cross_login() { # CHECK PORT LOGIN_WITH PULL_WITH
    local name=$1 port=$2 a=$3 b=$4 img="127.0.0.1:$2/test/x:v1" res=pass st
    secs=()
    if ! cli "$a" login -u "$USER_" -p "$PASS" "127.0.0.1:$port" >"$run/$a/last.out" 2>&1; then
        note "$a login: $(tail -n 1 "$run/$a/last.out")"; res=FAIL
    fi
    [ "$(python3 "$here/compare.py" auths "$auths" "127.0.0.1:$port")" = present ] || { note "auths.json lacks 127.0.0.1:$port"; res=FAIL; }
    st=ok
    pull "$b" "$img" || { st=failed; res=FAIL; note "$b pull: $(tail -n 1 "$run/$b/last.out")"; }
    [ "$(image_id "$b" "$img" || true)" = "${GZIP_ID#sha256:}" ] || res=FAIL
    cli "$b" rmi "$img" >/dev/null 2>&1 || true
    if ! cli "$b" logout "127.0.0.1:$port" >"$run/$b/last.out" 2>&1; then
        note "$b logout: $(tail -n 1 "$run/$b/last.out")"; res=FAIL
    fi
    [ "$(python3 "$here/compare.py" auths "$auths" "127.0.0.1:$port")" = absent ] || { note "logout left 127.0.0.1:$port in auths.json"; res=FAIL; }
    # logged out: the pull must now be refused
    if cli "$a" pull "$img" >"$run/$a/last.out" 2>&1; then
        note "$a pulled from 127.0.0.1:$port after logout"; res=FAIL
        cli "$a" rmi "$img" >/dev/null 2>&1 || true
    fi
    if [ "$b" = lib ]; then record "$name" "$res" "login" "$st" ""; else record "$name" "$res" "$st" "login" ""; fi
}
cross_login "basic:stock-login>lib" "$AUTH" stock lib
cross_login "basic:lib-login>stock" "$AUTH" lib stock
cross_login "token:stock-login>lib" "$TOKEN" stock lib
cross_login "token:lib-login>stock" "$TOKEN" lib stock

# ---- summary -------------------------------------------------------------------------------
echo
echo "iSulad daemons: stock $stock_prefix, library $lib_prefix"
printf '%-22s %-5s %-10s %-10s %-14s %7s %7s\n' check result stock lib "image id" "stock s" "lib s"
printf '%s\n' "${rows[@]}"
echo
if [ "$fails" -ne 0 ]; then
    echo "check.sh: $fails check(s) FAILED (run directory: $run; KEEP=1 keeps it)"
    exit 1
fi
echo "check.sh: all ${#rows[@]} checks passed"
