#!/usr/bin/env bash
# client_progress.sh PREFIX - `isula pull` of a client patched to draw with the library's
# renderer (integration/isulad/client/pull_progress.c; see README.md), against the daemon of the
# same prefix (PREFIX/bin/isula and PREFIX/bin/isulad, gRPC, library-linked). Run by
# `progress.sh --client PREFIX`. An image of 8 x 4 MiB layers is served by the plain registry
# behind faultproxy.py at 1 MiB/s per connection (a pull takes some seconds); between cases the
# image is removed. Commands run in `sh` with `trap : INT`, so the shell survives Ctrl-C
# and prints the client's exit status. Cases:
#   tty        tmux pane 120x6: bars advance, the block folds to the pane's height, the pane
#              grows to 160x30 mid-pull and the block follows; the whole history holds each
#              layer row once
#   pipe       `isula pull | cat`: plain lines only, bounded
#   term-unset, term-dumb  in tmux with TERM unset / TERM=dumb: no exit, plain lines, no escapes
#   json       --progress json: every line a JSON object, the layers, the reference
#   quiet      --progress quiet: the stored name only; a bad --progress value is refused
#   ctrl-c     Ctrl-C mid-pull in tmux: the client exits within 5 s, the screen is clean
# Captures (text) of every case stay in the run directory's captures/ (KEEP=1 keeps it).
# Needs root and tmux; ISULAD_LD_LIBRARY_PATH, KEEP and CHECK_RUN_DIR as for check.sh.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness=$here/../../ctest/harness
# shellcheck source=../../ctest/harness/lib.sh
. "$harness/lib.sh"
# shellcheck source=daemons.sh
. "$here/daemons.sh"
# shellcheck source=throttled.sh
. "$here/throttled.sh"

[ $# -ge 1 ] || { echo "usage: progress.sh --client PREFIX  (patched gRPC build)" >&2; exit 2; }
prefix=$(cd "$1" 2>/dev/null && pwd) || die "client_progress.sh: no such prefix: $1"
isula=$prefix/bin/isula
[ "$(id -u)" = 0 ] || die "client_progress.sh: run as root"
command -v tmux >/dev/null 2>&1 || die "client_progress.sh: tmux is missing (apt-get install tmux)"
for f in "$prefix/bin/isulad" "$isula"; do
    [ -x "$f" ] || die "client_progress.sh: $f is not an executable"
done

throttled_start client_progress.sh /tmp/isula-client-progress.XXXXXX
caps=$run/captures
mkdir -p "$caps"
throttled_push 8 test/client:v1
daemon_start lib "$prefix" "127.0.0.1:$PROXY" || die "client_progress.sh: daemon"
ld=$(daemon_ld_path "$prefix")
pull_cmd="LD_LIBRARY_PATH=$ld $isula pull -H $(daemon_sock lib)"

rc=0
judge() { # CASE ARGS... - client_frames.py, counting failures
    echo "== $1"
    python3 "$here/client_frames.py" "$@" "$layers" "$img" || rc=1
}
rmi() { daemon_cli lib rmi "$img" >/dev/null 2>&1 || true; }

# tmux_run NAME WxH COMMAND [RESIZE_AT WxH] - COMMAND in a fresh pane (raw bytes in
# $caps/NAME.raw), screens every 0.1 s into $caps/NAME/, the whole history at the end
tmux_run() {
    local name=$1 size=$2 cmd=$3 resize_at=${4:-} resize_to=${5:-} i n=0 prev="" cur
    mkdir -p "$caps/$name"
    tmux -S "$tmux_sock" new-session -d -s "$name" -x "${size%x*}" -y "${size#*x}" sh || return 1
    tmux -S "$tmux_sock" pipe-pane -t "$name" -o "cat >> $caps/$name.raw"
    tmux -S "$tmux_sock" send-keys -t "$name" "trap : INT; clear; $cmd; echo EXIT=\$?" Enter
    for i in $(seq 1 1200); do # 120 s at most
        cur=$(tmux -S "$tmux_sock" capture-pane -p -t "$name")
        if [ "$cur" != "$prev" ]; then
            n=$((n + 1))
            printf '%s\n' "$cur" > "$caps/$name/$(printf '%05d' "$n").txt"
            prev=$cur
        fi
        if grep -q 'EXIT=[0-9]' <<<"$cur"; then
            date +%s.%N > "$caps/$name.exit-seen"
            break
        fi
        if [ -n "$resize_at" ] && [ "$i" = "$resize_at" ]; then
            tmux -S "$tmux_sock" resize-window -t "$name" -x "${resize_to%x*}" -y "${resize_to#*x}"
            echo "resized to $resize_to after frame $n" > "$caps/$name/resized"
        fi
        sleep 0.1
    done
    tmux -S "$tmux_sock" capture-pane -p -S - -E - -t "$name" > "$caps/$name.history"
    tmux -S "$tmux_sock" kill-session -t "$name"
}

# tty: 6 rows; the daemon adds a layer when its download starts, 5 at once, so the 5 rows
# and the total fold; at 2 s the pane grows to 160x30
tmux_run tty 120x6 "$pull_cmd $img" 20 160x30
judge tty "$caps/tty" "$caps/tty.history"
rmi

# a pipe
sh -c "$pull_cmd $img | cat > $caps/pipe.txt; echo EXIT=\$? >> $caps/pipe.txt"
judge plain "$caps/pipe.txt"
rmi

# TERM unset and TERM=dumb on a terminal
tmux_run term-unset 120x40 "env -u TERM $pull_cmd $img"
judge plain-tty "$caps/term-unset.history" "$caps/term-unset.raw"
rmi
tmux_run term-dumb 120x40 "TERM=dumb $pull_cmd $img"
judge plain-tty "$caps/term-dumb.history" "$caps/term-dumb.raw"
rmi

# json, line by line
sh -c "$pull_cmd --progress json $img > $caps/json.txt; echo \$? > $caps/json.rc"
judge json "$caps/json.txt" "$caps/json.rc"
rmi

# quiet, and a bad value
sh -c "$pull_cmd --progress quiet $img > $caps/quiet.txt 2>&1; echo EXIT=\$? >> $caps/quiet.txt"
sh -c "$pull_cmd --progress bars $img > $caps/bad-mode.txt 2>&1; echo EXIT=\$? >> $caps/bad-mode.txt"
judge quiet "$caps/quiet.txt" "$caps/bad-mode.txt"
rmi

# Ctrl-C once bars are drawn
(
    for i in $(seq 1 200); do
        sleep 0.1
        if tmux -S "$tmux_sock" capture-pane -p -t ctrl-c 2>/dev/null | grep -q 'Downloading \['; then
            date +%s.%N > "$caps/ctrl-c.sent"
            tmux -S "$tmux_sock" send-keys -t ctrl-c C-c
            break
        fi
    done
) &
sender=$!
tmux_run ctrl-c 120x30 "$pull_cmd $img"
wait "$sender"
judge ctrl-c "$caps/ctrl-c" "$caps/ctrl-c.history" "$caps/ctrl-c.sent" "$caps/ctrl-c.exit-seen"

echo "captures: $caps"
[ "$rc" = 0 ] && echo "client_progress.sh: the patched isula pull draws as expected in every case" ||
    echo "client_progress.sh: FAILED (KEEP=1 keeps the captures)"
exit $rc
