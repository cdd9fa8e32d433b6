#!/usr/bin/env bash
# lib.sh - shared by the example tests (sourced). Each test is run by CTest as
#   bash test_X.sh PULL RUN_DIR
# PULL is the built examples-c/pull, RUN_DIR the directory servers.sh started
# the registry in (its env file describes the image to pull).
set -euo pipefail

PULL=${1:?usage: $0 PULL RUN_DIR}
RUN_DIR=${2:?usage: $0 PULL RUN_DIR}
TEST_NAME=$(basename "$0" .sh)

[ -x "$PULL" ] || { echo "$TEST_NAME: $PULL is not an executable" >&2; exit 1; }
[ -f "$RUN_DIR/env" ] || { echo "$TEST_NAME: no $RUN_DIR/env (servers not started?)" >&2; exit 1; }
# exported: screen.py reads them too
set -a
# shellcheck disable=SC1091
. "$RUN_DIR/env"
set +a
: "${IMAGE:?}" "${REPO:?}" "${DIGEST:?}" "${LAYERS:?}" "${LAYER_IDS:?}"
IFS=, read -r -a LAYER_ID_LIST <<< "$LAYER_IDS"

# a scratch directory per test run; removed when the test passes
mkdir -p "$RUN_DIR/tests"
WORK=$(mktemp -d "$RUN_DIR/tests/$TEST_NAME.XXXXXX")
FAILED=0
CLEANUPS=()

on_exit() {
    local rc=$? c
    for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
    if [ "$rc" = 0 ] && [ "$FAILED" = 0 ]; then
        rm -rf "$WORK"
    else
        echo "$TEST_NAME: FAILED; files kept in $WORK" >&2
    fi
}
trap on_exit EXIT

# at_exit CMD - run CMD (a string) when the script exits, whatever happens
at_exit() { CLEANUPS+=("$1"); }

# fail MSG... - report and stop the test
fail() {
    FAILED=1
    echo "$TEST_NAME: FAIL: $*" >&2
    exit 1
}

ok() { echo "ok - $*"; }

# show NAME FILE - print a captured output for the log (control characters
# made visible, trailing blank lines of a screen dropped)
show() {
    echo "----- $1 ($2)"
    cat -v "$2" | awk 'NF { for (; blank > 0; blank--) print ""; print; next } { blank++ }'
    echo "-----"
}

# now_ms - monotonic enough wall clock in ms
now_ms() { date +%s%3N; }

# new_root NAME - a fresh (not yet existing) store directory
new_root() { echo "$WORK/$1"; }

# ingest_clean ROOT - true when ROOT/.ingest holds nothing but index.lock
ingest_clean() {
    local left
    left=$(cd "$1/.ingest" && find . -mindepth 1 ! -path ./index.lock | sort)
    if [ -n "$left" ]; then
        echo "left in $1/.ingest:" >&2
        echo "$left" >&2
        return 1
    fi
}

# has_name ROOT NAME - true when ROOT/index.json names an image NAME
has_name() {
    python3 - "$1/index.json" "$2" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1]))
names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in idx.get("manifests", [])]
sys.exit(0 if sys.argv[2] in names else 1)
PY
}

# blobs_intact ROOT - every file in blobs/sha256 hashes to its name (nothing
# half-written was moved there); prints how many there are
blobs_intact() {
    python3 - "$1/blobs/sha256" <<'PY'
import hashlib, os, sys
d = sys.argv[1]
bad = []
names = sorted(os.listdir(d))
for n in names:
    h = hashlib.sha256()
    with open(os.path.join(d, n), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != n:
        bad.append(n)
print(len(names))
if bad:
    print("blobs whose content does not match their name: " + " ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}
