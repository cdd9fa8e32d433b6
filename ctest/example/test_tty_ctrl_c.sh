#!/usr/bin/env bash
# test_tty_ctrl_c.sh PULL RUN_DIR - the screen a user is left with after
# pressing Ctrl-C during a tty pull.
#
# tmux runs `pull --progress tty` in a 140x40 pane; once the bars move, a real
# Ctrl-C (`tmux send-keys C-c`): the terminal echoes `^C` at the cursor (the
# line under the block), then the pull draws its last frame and `Error: pull
# cancelled`. Checked (screen.py cancelled): the header, exactly one line per
# layer, each starting at column 0 with its id, the `Total:` summary, then
# `Error: pull cancelled`; exit status 130. (The exit status, timing and the
# store after a cancel are test_cancel.sh's.)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

command -v tmux >/dev/null || { echo "tmux is not installed; skipping"; exit 77; }
unset TMUX
SOCK="isula-example-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
session="example-ctrl-c-$$"
at_exit "tmux -L '$SOCK' kill-session -t '$session' 2>/dev/null"

root=$(new_root store)
exitf="$WORK/exit"
screen="$WORK/screen.txt"
tm new-session -d -s "$session" -x 140 -y 40 \
    "'$PULL' --progress tty --insecure --root '$root' '$IMAGE'; echo EXIT=\$? >> '$exitf'; sleep 600"
for _ in $(seq 200); do
    tm capture-pane -p -t "$session" > "$screen"
    grep -Eq '^[0-9a-f]{12}: Downloading \[={5,}' "$screen" && break
    [ -e "$exitf" ] && break
    sleep 0.05
done
grep -Eq '^[0-9a-f]{12}: Downloading \[={5,}' "$screen" || { show screen "$screen"; fail "no moving bar within 10 s"; }
tm send-keys -t "$session" C-c
for _ in $(seq 100); do
    [ -e "$exitf" ] && break
    sleep 0.02
done
[ -e "$exitf" ] || fail "still running 2 s after Ctrl-C"
sleep 0.2
tm capture-pane -p -t "$session" > "$screen"
show "screen after Ctrl-C" "$screen"
[ "$(cat "$exitf")" = "EXIT=130" ] || fail "exit status: $(cat "$exitf"), expected EXIT=130"
python3 "$here/screen.py" cancelled 140 "$screen" \
    || fail "the screen after Ctrl-C is not the block at column 0 + 'Error: pull cancelled'"
ok "after Ctrl-C: header, one line per layer at column 0, summary, 'Error: pull cancelled', exit 130"
