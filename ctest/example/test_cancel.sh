#!/usr/bin/env bash
# test_cancel.sh PULL RUN_DIR - Ctrl-C during examples-c/pull, then pull again.
#
# 1. `pull --progress plain ... > file` in the background; as soon as it
#    reports `Downloading`, SIGINT. 2. The same in a tmux pane (tty progress)
#    with a real Ctrl-C (`tmux send-keys C-c`) once a layer is 30 % in, after
#    checking that download temp files exist then. Each time: the pull exits
#    within 2 s with status 130 and says `cancelled`; the store (one for all
#    three pulls) has nothing in .ingest but index.lock (no pull-* directory,
#    no partial blob nor its lock: a cancel, unlike a crash, keeps nothing), index.json has no entry for the image, and every blob in
#    blobs/sha256 hashes to its name. 3. A plain pull into the same store then
#    succeeds (exit 0), leaves .ingest clean, names the image, and `skopeo
#    inspect oci:ROOT:IMAGE` shows the pushed digest and all layers.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

ROOT=$(new_root store)
LIMIT_MS=2000

# check_nothing_left WHAT - no temp files, no image entry, no half blob
check_nothing_left() {
    ingest_clean "$ROOT" || fail "$1: temp files left in $ROOT/.ingest"
    if has_name "$ROOT" "$IMAGE"; then
        fail "$1: $ROOT/index.json names $IMAGE after a cancelled pull"
    fi
    local n
    n=$(blobs_intact "$ROOT") || fail "$1: a blob in $ROOT/blobs/sha256 is not what its name says"
    ok "$1: .ingest holds only index.lock, index.json has no $IMAGE, $n blob(s), all intact"
}

# --- 1. SIGINT to a background pull --------------------------------------------------
out="$WORK/cancel1.out" err="$WORK/cancel1.err"
t0=$(now_ms)
"$PULL" --progress plain --insecure --root "$ROOT" "$IMAGE" > "$out" 2> "$err" &
pid=$!
at_exit "kill -KILL $pid 2>/dev/null"
for _ in $(seq 500); do
    grep -q ': Downloading' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
grep -q ': Downloading' "$out" || { show stdout "$out"; show stderr "$err"; fail "no 'Downloading' line within 10 s"; }
kill -0 "$pid" 2>/dev/null || { show stdout "$out"; fail "the pull ended before it could be cancelled"; }
t1=$(now_ms)
kill -INT "$pid"
for _ in $(seq $((LIMIT_MS / 20))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
done
if kill -0 "$pid" 2>/dev/null; then
    show stdout "$out"
    kill -KILL "$pid" 2>/dev/null || true
    fail "still running ${LIMIT_MS} ms after SIGINT"
fi
t2=$(now_ms)
set +e
wait "$pid"
rc=$?
set -e
echo "cancel 1: SIGINT $((t1 - t0)) ms after start, exited $((t2 - t1)) ms later with status $rc"
show stdout "$out"
show stderr "$err"
[ "$rc" = 130 ] || fail "exit status $rc after SIGINT, expected 130"
grep -qi 'cancelled' "$out" "$err" || fail "the output does not say the pull was cancelled"
ok "SIGINT at the first 'Downloading': exit 130 within ${LIMIT_MS} ms, 'cancelled' shown"
check_nothing_left "after SIGINT"

# --- 2. Ctrl-C in a terminal, later in the download ---------------------------------
if command -v tmux >/dev/null; then
    unset TMUX
    SOCK="isula-example-$$"
    tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
    session="example-cancel-$$"
    exitf="$WORK/exit-tty"
    screen="$WORK/cancel2-screen.txt"
    at_exit "tmux -L '$SOCK' kill-session -t '$session' 2>/dev/null"
    t0=$(now_ms)
    tm new-session -d -s "$session" -x 140 -y 40 \
        "'$PULL' --progress tty --insecure --root '$ROOT' '$IMAGE'; echo EXIT=\$? >> '$exitf'; sleep 600"
    # wait until a layer's bar is 30 % in (15 cells)
    for _ in $(seq 200); do
        tm capture-pane -p -t "$session" > "$screen"
        grep -Eq '^[0-9a-f]{12}: Downloading \[={15,}' "$screen" && break
        [ -e "$exitf" ] && break
        sleep 0.05
    done
    grep -Eq '^[0-9a-f]{12}: Downloading \[={15,}' "$screen" \
        || { show screen "$screen"; fail "no layer reached 30 % within 10 s"; }
    [ ! -e "$exitf" ] || fail "the pull ended before it could be cancelled: $(cat "$exitf")"
    # temp files exist now, so finding none afterwards means something
    # (downloads go to .ingest/sha256-<hex>.data, linked into pull-* when done)
    temp=$(find "$ROOT/.ingest" -mindepth 1 -type f -size +0 ! -name '*.lock' | wc -l)
    [ "$temp" -gt 0 ] || { find "$ROOT/.ingest" >&2; fail "no download temp files in $ROOT/.ingest mid-pull (the check below would mean nothing)"; }
    t1=$(now_ms)
    tm send-keys -t "$session" C-c
    for _ in $(seq $((LIMIT_MS / 20))); do
        [ -e "$exitf" ] && break
        sleep 0.02
    done
    t2=$(now_ms)
    sleep 0.2
    tm capture-pane -p -t "$session" > "$screen"
    show "screen after Ctrl-C" "$screen"
    [ -e "$exitf" ] || fail "still running ${LIMIT_MS} ms after Ctrl-C"
    echo "cancel 2: Ctrl-C $((t1 - t0)) ms after start ($temp temp file(s) in .ingest), exited $((t2 - t1)) ms later: $(cat "$exitf")"
    [ "$(cat "$exitf")" = "EXIT=130" ] || fail "exit status after Ctrl-C: $(cat "$exitf"), expected EXIT=130"
    grep -q 'cancelled' "$screen" || fail "the screen does not say the pull was cancelled"
    ok "Ctrl-C in a terminal at 30 %: exit 130 within ${LIMIT_MS} ms, 'cancelled' shown"
    tm kill-session -t "$session" 2>/dev/null || true
    check_nothing_left "after Ctrl-C"
else
    echo "tmux is not installed: no Ctrl-C in a terminal"
fi

# --- 3. pull again --------------------------------------------------------------------
out="$WORK/again.out" err="$WORK/again.err"
t0=$(now_ms)
set +e
"$PULL" --progress plain --insecure --root "$ROOT" "$IMAGE" > "$out" 2> "$err"
rc=$?
set -e
echo "pull again: $(( $(now_ms) - t0 )) ms, status $rc"
tail -n 4 "$out"
[ "$rc" = 0 ] || { show stdout "$out"; show stderr "$err"; fail "the pull after the cancels exited with $rc"; }
[ "$(tail -n 1 "$out")" = "$IMAGE" ] || fail "the pull after the cancels did not end with the reference"
ingest_clean "$ROOT" || fail "temp files left in $ROOT/.ingest after a complete pull"
has_name "$ROOT" "$IMAGE" || fail "$ROOT/index.json does not name $IMAGE"
n=$(blobs_intact "$ROOT") || fail "a blob in the store is not what its name says"
skopeo inspect "oci:$ROOT:$IMAGE" > "$WORK/inspect.json" 2> "$WORK/inspect.err" \
    || { show skopeo "$WORK/inspect.err"; fail "skopeo inspect oci:$ROOT:$IMAGE failed"; }
python3 - "$WORK/inspect.json" <<'PY' || fail "skopeo inspect shows another image"
import json, os, sys
d = json.load(open(sys.argv[1]))
want_layers = ["sha256:" + x for x in os.environ["LAYER_IDS"].split(",")]
errors = []
if d["Digest"] != os.environ["DIGEST"]:
    errors.append(f"Digest {d['Digest']} != {os.environ['DIGEST']}")
if [l[:19] for l in d["Layers"]] != want_layers:
    errors.append(f"Layers {d['Layers']} are not {want_layers}")
for e in errors:
    print("skopeo: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
ok "the next pull succeeds: exit 0, $n intact blobs, skopeo inspect shows $DIGEST with $LAYERS layers"
