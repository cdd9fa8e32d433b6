#!/usr/bin/env bash
# test_tty.sh PULL RUN_DIR - examples-c/pull in a real terminal.
#
# tmux runs `pull --progress tty --insecure --root FRESH IMAGE; echo EXIT=$? >> F`
# in a detached 140x40 pane, against the registry behind the throttling proxy
# (servers.sh), and the pane is captured during the downloads (twice) and at
# the end. Checked on each screen (screen.py): one `v1: Pulling from` header,
# exactly one line per layer (the manifest's 12-hex short ids, in order, right
# under the header), the `Total:` summary under them, no line over width-1
# columns. Mid-pull: Docker's 50-cell `[===>   ]` bars with `CUR/TOTAL` bytes
# (totals = the layers' sizes), and the bytes and bars advance between the two
# screens. At the end: every layer `Pull complete`, `Total: X/X`, `Digest:
# <the pushed manifest digest>`, `Status: Downloaded newer image for IMAGE`,
# the reference, exit status 0. Then the same at 80 columns, where the lines
# are compact (`ID: Downloading  1.2MB/3.4MB`, no `[` anywhere).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

command -v tmux >/dev/null || { echo "tmux is not installed; skipping"; exit 77; }
unset TMUX
# a private tmux server, without the user's configuration
SOCK="isula-example-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
SESSIONS=()
kill_sessions() {
    local s
    for s in "${SESSIONS[@]}"; do tm kill-session -t "$s" 2>/dev/null || true; done
}
at_exit kill_sessions

# capture SESSION FILE
capture() { tm capture-pane -p -t "$1" > "$2"; }

# run WIDTH PATTERN - one pull in a WIDTH-column pane; PATTERN (grep -E) says a
# mid-pull screen is up
run() {
    local width=$1 pattern=$2
    local session="example-tty-$$-$width" root exitf t0 t_first t_end i
    root=$(new_root "store-$width")
    exitf="$WORK/exit-$width"
    SESSIONS+=("$session")
    echo "== $width columns: $PULL --progress tty --insecure --root $root $IMAGE"
    t0=$(now_ms)
    tm new-session -d -s "$session" -x "$width" -y 40 \
        "'$PULL' --progress tty --insecure --root '$root' '$IMAGE'; echo EXIT=\$? >> '$exitf'; sleep 600"

    # mid-pull: poll until a layer line shows its download progress
    local a="$WORK/screen-$width-a.txt" b="$WORK/screen-$width-b.txt"
    for i in $(seq 200); do
        capture "$session" "$a"
        grep -Eq "$pattern" "$a" && break
        [ -e "$exitf" ] && { show "screen" "$a"; fail "pull ended before any download progress was shown ($(cat "$exitf"))"; }
        sleep 0.05
    done
    grep -Eq "$pattern" "$a" || { show "screen" "$a"; fail "no download progress on the screen after 10 s"; }
    t_first=$(now_ms)
    # a frame is one write, so a torn capture is unlikely; still re-capture
    # once if the first check fails, and keep the failing one in the log
    if ! python3 "$here/screen.py" mid "$width" "$a" "$a.json"; then
        show "mid-pull screen (rejected, capturing again)" "$a"
        sleep 0.05
        capture "$session" "$a"
        python3 "$here/screen.py" mid "$width" "$a" "$a.json" || { show "mid-pull screen" "$a"; fail "mid-pull screen at $width columns"; }
    fi
    show "mid-pull screen 1, $((t_first - t0)) ms after start" "$a"
    sleep 0.8
    capture "$session" "$b"
    [ -e "$exitf" ] && { show "screen" "$b"; fail "the pull ended within 1 s of its first progress: not throttled?"; }
    python3 "$here/screen.py" mid "$width" "$b" "$b.json" || { show "mid-pull screen 2" "$b"; fail "second mid-pull screen at $width columns"; }
    show "mid-pull screen 2, $(( $(now_ms) - t0 )) ms after start" "$b"
    python3 "$here/screen.py" advance "$a.json" "$b.json" || fail "progress did not advance at $width columns"
    ok "$width columns: header, one line per layer, summary; progress advances"

    # the end
    for i in $(seq 300); do
        [ -e "$exitf" ] && break
        sleep 0.1
    done
    [ -e "$exitf" ] || { capture "$session" "$b"; show "screen" "$b"; fail "pull still running after 30 s"; }
    t_end=$(now_ms)
    local end="$WORK/screen-$width-end.txt"
    # tmux may still be drawing the last bytes: wait for the reference line
    for i in $(seq 40); do
        capture "$session" "$end"
        grep -qxF "$IMAGE" "$end" && break
        sleep 0.05
    done
    show "final screen, pull took $((t_end - t0)) ms" "$end"
    [ "$(cat "$exitf")" = "EXIT=0" ] || fail "exit status: $(cat "$exitf"), expected EXIT=0"
    python3 "$here/screen.py" final "$width" "$end" || fail "final screen at $width columns"
    ok "$width columns: all layers complete, Digest, Status, reference, exit 0"
    has_name "$root" "$IMAGE" || fail "$root/index.json does not name $IMAGE"
    ingest_clean "$root" || fail "temp files left in $root/.ingest"
    tm kill-session -t "$session" 2>/dev/null || true
}

run 140 '^[0-9a-f]{12}: Downloading \[=*>'
run 80 '^[0-9a-f]{12}: Downloading +[0-9.]+(B|kB|MB|GB)/'
