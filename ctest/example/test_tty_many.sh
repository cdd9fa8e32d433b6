#!/usr/bin/env bash
# test_tty_many.sh PULL RUN_DIR - more layers than the terminal has rows.
#
# Pushes an image of $MANY_LAYERS (default 30) layers of about 3 MiB to the
# fixture's registry, then tmux runs `pull --progress tty` of it (through
# the throttling proxy) in a detached 120x20 pane without a status line.
# Mid-pull, the screen (screen.py fits) holds the header, a redrawn block of
# at most 19 rows with finished layers folded into `N layers complete, SIZE`
# or a `+N more` line, and the `Total:` line last. At the end the whole
# history (`capture-pane -S -`, screen.py history) holds every layer row
# exactly once (`Pull complete`), one `Total:` line, no leftover fold line,
# and not many more lines than that: before the block fitted the height,
# such a pull left about 1800 lines of repeated rows in the scrollback.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

command -v tmux >/dev/null || { echo "tmux is not installed; skipping"; exit 77; }
unset TMUX
COUNT=${MANY_LAYERS:-30}
ROWS=20
WIDTH=120
SOCK="isula-example-$$"
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
SESSION="example-many-$$"
at_exit "tm kill-server 2>/dev/null"

# --- the image: pushed straight to the registry, pulled through the proxy ----
layout="$WORK/many"
python3 "$here/../../scripts/mkdemo-image.py" "$layout" "$COUNT" 3 >/dev/null
repo_path="example/many"
skopeo copy -q --preserve-digests --dest-tls-verify=false \
    "oci:$layout:demo" "docker://127.0.0.1:$REGISTRY_PORT/$repo_path:v1"
eval "$(python3 - "$layout" <<'PY'
import json, os, sys
root = sys.argv[1]
desc = json.load(open(os.path.join(root, "index.json")))["manifests"][0]
m = json.load(open(os.path.join(root, "blobs", "sha256", desc["digest"].split(":", 1)[1])))
print("MANY_DIGEST=" + desc["digest"])
print("MANY_IDS=" + ",".join(l["digest"].split(":", 1)[1][:12] for l in m["layers"]))
print("MANY_SIZES=" + ",".join(str(l["size"]) for l in m["layers"]))
PY
)"
# screen.py reads the image from the environment
export IMAGE="127.0.0.1:$PROXY_PORT/$repo_path:v1" REPO="127.0.0.1:$PROXY_PORT/$repo_path" TAG=v1
export DIGEST="$MANY_DIGEST" LAYER_IDS="$MANY_IDS" LAYER_SIZES="$MANY_SIZES"

root=$(new_root store)
exitf="$WORK/exit"
echo "== ${WIDTH}x$ROWS pane: $PULL --progress tty --insecure --root $root $IMAGE ($COUNT layers)"
tm start-server \; set -g status off \; set -g history-limit 100000 \; \
    new-session -d -s "$SESSION" -x "$WIDTH" -y "$ROWS" \
    "'$PULL' --progress tty --insecure --root '$root' '$IMAGE'; echo EXIT=\$? >> '$exitf'; sleep 600"
size=$(tm display -p -t "$SESSION" '#{pane_width}x#{pane_height}')
[ "$size" = "${WIDTH}x$ROWS" ] || fail "the pane is $size, expected ${WIDTH}x$ROWS"

# mid-pull: a screen with a layer downloading and a line standing for others
mid="$WORK/mid.txt"
seen=0
for i in $(seq 300); do
    tm capture-pane -p -t "$SESSION" > "$mid"
    if grep -Eq '^[0-9a-f]{12}: Downloading \[' "$mid" && grep -Eq '^([0-9]+ layers? complete, |\+[0-9]+ more$)' "$mid"; then
        seen=1
        break
    fi
    [ -e "$exitf" ] && break
    sleep 0.05
done
[ "$seen" = 1 ] || { show "screen" "$mid"; fail "no mid-pull screen with a downloading layer and a '+N more' or fold line"; }
show "mid-pull screen" "$mid"
python3 "$here/screen.py" fits "$WIDTH" "$ROWS" "$mid" || fail "the mid-pull screen does not fit $ROWS rows"
ok "mid-pull: the block fits $ROWS rows, waiting layers counted in '+N more', Total last"

# later: finished layers folded into one line
fold="$WORK/mid-fold.txt"
seen=0
for i in $(seq 300); do
    tm capture-pane -p -t "$SESSION" > "$fold"
    grep -Eq '^[0-9]+ layers? complete, ' "$fold" && grep -Eq '^[0-9a-f]{12}: Downloading \[' "$fold" && { seen=1; break; }
    [ -e "$exitf" ] && break
    sleep 0.05
done
[ "$seen" = 1 ] || { show "screen" "$fold"; fail "no mid-pull screen with finished layers folded"; }
show "mid-pull screen with finished layers folded" "$fold"
python3 "$here/screen.py" fits "$WIDTH" "$ROWS" "$fold" || fail "the folded mid-pull screen does not fit $ROWS rows"
ok "mid-pull: finished layers fold into one line, the active ones keep their rows"

for i in $(seq 600); do
    [ -e "$exitf" ] && break
    sleep 0.1
done
[ -e "$exitf" ] || fail "pull still running after 60 s"
all="$WORK/history.txt"
for i in $(seq 40); do
    tm capture-pane -p -S - -t "$SESSION" > "$all"
    grep -qxF "$IMAGE" "$all" && break
    sleep 0.05
done
show "whole history" "$all"
[ "$(cat "$exitf")" = "EXIT=0" ] || fail "exit status: $(cat "$exitf"), expected EXIT=0"
python3 "$here/screen.py" history "$WIDTH" "$all" || fail "the scrollback holds repeated rows"
ok "history: each of the $COUNT layers once, one Total line, $(grep -c . "$all") lines in all"
has_name "$root" "$IMAGE" || fail "$root/index.json does not name $IMAGE"
