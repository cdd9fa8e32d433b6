#!/usr/bin/env bash
# progress.sh --client PREFIX: the patched client instead (client_progress.sh).
# progress.sh STOCK_PREFIX LIB_PREFIX [ISULA] - watch `isula pull` progress bars in tmux, on two
# gRPC builds of iSulad (the REST client draws no bars): stock and library-linked. For each
# daemon, two pulls of the same image start 0.5 s apart in two tmux windows (160x50), the
# registry behind faultproxy.py throttled to 1 MiB/s per connection; the screens are captured
# every 0.1 s and judged by frames.py (bars from the first frame, one row per layer, none for
# the config, full at the end; the second pull too). Only the library's daemon decides the
# exit status; the stock one's findings are shown. Needs root and tmux;
# ISULAD_LD_LIBRARY_PATH, KEEP and CHECK_RUN_DIR as for check.sh.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
harness=$here/../../ctest/harness
# shellcheck source=../../ctest/harness/lib.sh
. "$harness/lib.sh"
# shellcheck source=daemons.sh
. "$here/daemons.sh"
# shellcheck source=throttled.sh
. "$here/throttled.sh"

if [ "${1:-}" = --client ]; then # the patched client: client_progress.sh
    shift
    exec "$here/client_progress.sh" "$@"
fi
[ $# -ge 2 ] || { echo "usage: progress.sh STOCK_PREFIX LIB_PREFIX [ISULA]  (gRPC builds)" >&2; exit 2; }
stock_prefix=$(cd "$1" 2>/dev/null && pwd) || die "progress.sh: no such prefix: $1"
lib_prefix=$(cd "$2" 2>/dev/null && pwd) || die "progress.sh: no such prefix: $2"
isula=${3:-$stock_prefix/bin/isula}
[ "$(id -u)" = 0 ] || die "progress.sh: run as root"
command -v tmux >/dev/null 2>&1 || die "progress.sh: tmux is missing (apt-get install tmux)"
for f in "$stock_prefix/bin/isulad" "$lib_prefix/bin/isulad" "$isula"; do
    [ -x "$f" ] || die "progress.sh: $f is not an executable"
done

throttled_start progress.sh /tmp/isulad-progress.XXXXXX
# 3 layers of 4 MiB: about 4 s each at 1 MiB/s
throttled_push 3 test/progress:v1

capture() { # WHO - run the two pulls, capture frames into $run/WHO/frames-{1,2}
    local who=$1 w n i prev=() cur
    tmux -S "$tmux_sock" new-session -d -s "$who" -x 160 -y 50 -n pull1 sh || return 1
    for w in 1 2; do
        mkdir -p "$run/$who/frames-$w"
        [ "$w" = 1 ] || tmux -S "$tmux_sock" new-window -d -t "$who" -n pull2 sh
        tmux -S "$tmux_sock" send-keys -t "$who:pull$w" "clear; LD_LIBRARY_PATH=$(daemon_ld_path "${daemon_prefix[$who]}") $isula pull -H $(daemon_sock "$who") $img; echo EXIT=\$?" Enter
        [ "$w" = 1 ] && sleep 0.5
    done
    n=0
    for i in $(seq 1 1200); do # 0.1 s apart: 120 s at most
        local done_all=1
        for w in 1 2; do
            cur=$(tmux -S "$tmux_sock" capture-pane -p -t "$who:pull$w")
            if [ "$cur" != "${prev[$w]:-}" ]; then
                n=$((n + 1))
                printf '%s\n' "$cur" > "$run/$who/frames-$w/$(printf '%05d' "$n").txt"
                prev[$w]=$cur
            fi
            grep -q 'EXIT=' <<<"$cur" || done_all=0
        done
        [ "$done_all" = 1 ] && break
        sleep 0.1
    done
    tmux -S "$tmux_sock" kill-session -t "$who"
}

rc=0
for who in stock lib; do
    if [ "$who" = stock ]; then p=$stock_prefix; else p=$lib_prefix; fi
    daemon_start "$who" "$p" "127.0.0.1:$PROXY" || die "progress.sh: $who daemon"
    capture "$who"
    for w in 1 2; do
        echo "== $who, pull $w =="
        if ! python3 "$here/frames.py" "$run/$who/frames-$w" "$layers" "$config"; then
            if [ "$who" = lib ]; then rc=1; else echo "(stock: informative)"; fi
        fi
        echo "   last screen:"; tail -n 6 "$(ls "$run/$who/frames-$w"/*.txt | tail -n 1)" | sed 's/^/   | /'
    done
    daemon_stop_all
done
[ "$rc" = 0 ] && echo "progress.sh: the library's daemon draws the bars as expected" ||
    echo "progress.sh: FAILED (KEEP=1 keeps the frames)"
exit $rc
