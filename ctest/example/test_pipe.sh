#!/usr/bin/env bash
# test_pipe.sh PULL RUN_DIR - examples-c/pull with its output going to a pipe.
#
# `pull --progress auto ... | cat > out` (auto picks plain when stdout is no
# terminal): no ESC or CR byte; at most LAYERS x 20 lines; the header first;
# for every layer `Pulling fs layer`, `Downloading N% (CUR/TOTAL)` lines (N
# never going back, at most 13 of them), `Verifying Checksum`, `Download
# complete`, `Pull complete` in that order; the `Total: X/X` summary, `Digest:
# <the pushed manifest digest>`, `Status: Downloaded newer image for IMAGE`
# and the reference as the last lines; nothing on stderr; exit status 0.
# `--progress json`: every line is a JSON object, the layers' objects carry
# `progressDetail` (with current/total while downloading), a Summary object,
# and Digest/Status/Reference at the end. `--progress quiet`: only the
# reference line.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# pull_to_pipe MODE ROOT OUT ERR - run the pull into `| cat`, print its status
pull_to_pipe() {
    local st
    set +e
    "$PULL" --progress "$1" --insecure --root "$2" "$IMAGE" 2>"$4" | cat > "$3"
    st=("${PIPESTATUS[@]}")
    set -e
    [ "${st[1]}" = 0 ] || fail "cat exited with ${st[1]}"
    echo "${st[0]}"
}

# --- auto -> plain -------------------------------------------------------------------
out="$WORK/auto.out" err="$WORK/auto.err"
t0=$(now_ms)
rc=$(pull_to_pipe auto "$(new_root auto)" "$out" "$err")
echo "auto: pull took $(( $(now_ms) - t0 )) ms, $(wc -l < "$out") lines"
show "--progress auto | cat" "$out"
[ "$rc" = 0 ] || { show stderr "$err"; fail "exit status $rc, expected 0"; }
[ ! -s "$err" ] || { show stderr "$err"; fail "stderr is not empty"; }
python3 - "$out" <<'PY' || fail "--progress auto to a pipe"
import os, re, sys
data = open(sys.argv[1], "rb").read()
errors = []
if b"\x1b" in data:
    errors.append("an ESC byte in the output")
if b"\r" in data:
    errors.append("a CR byte in the output")
lines = data.decode().split("\n")
if lines[-1] != "":
    errors.append("output does not end with a newline")
lines = lines[:-1]
ids = os.environ["LAYER_IDS"].split(",")
sizes = [int(s) for s in os.environ["LAYER_SIZES"].split(",")]
image, digest = os.environ["IMAGE"], os.environ["DIGEST"]
name = os.environ["REPO"].split("/", 1)[1]
limit = 20 * len(ids)
if len(lines) > limit:
    errors.append(f"{len(lines)} lines, more than {limit}")
if not lines or lines[0] != f"{os.environ['TAG']}: Pulling from {name}":
    errors.append(f"first line is {lines[:1]!r}")
known = re.compile(r"([0-9a-f]{12}): (.*)")
for i, l in enumerate(lines):
    m = known.fullmatch(l)
    if m and m.group(1) not in ids:
        errors.append(f"line {i + 1}: unknown layer id: {l!r}")
for lid, size in zip(ids, sizes):
    mine = [(i, l[len(lid) + 2:]) for i, l in enumerate(lines) if l.startswith(lid + ": ")]
    def first(pred, what):
        for i, s in mine:
            if pred(s):
                return i
        errors.append(f"layer {lid}: no {what!r} line")
        return None
    order = [
        first(lambda s: s in ("Pulling fs layer", "Waiting") or s.startswith("Downloading"), "Pulling fs layer"),
        first(lambda s: s.startswith("Downloading "), "Downloading"),
        first(lambda s: s == "Verifying Checksum", "Verifying Checksum"),
        first(lambda s: s == "Download complete", "Download complete"),
        first(lambda s: s == "Pull complete", "Pull complete"),
    ]
    got = [o for o in order if o is not None]
    if got != sorted(got):
        errors.append(f"layer {lid}: phases out of order (first lines {order})")
    pcts = []
    for i, s in mine:
        if s.startswith("Downloading"):
            m = re.fullmatch(r"Downloading (\d+)% \(([0-9.]+(?:B|kB|MB|GB))/([0-9.]+(?:B|kB|MB|GB))\)", s)
            if not m:
                errors.append(f"line {i + 1}: malformed progress line {lines[i]!r}")
                continue
            pcts.append(int(m.group(1)))
    if pcts != sorted(pcts):
        errors.append(f"layer {lid}: percentages go back: {pcts}")
    if len(pcts) > 13:
        errors.append(f"layer {lid}: {len(pcts)} progress lines (> 11 steps + 2)")
tail = lines[-4:]
if len(tail) != 4 or not re.fullmatch(r"Total: (\S+)/\1(  .*)?", tail[0]):
    errors.append(f"no complete 'Total: X/X' summary before the end lines: {tail[:1]!r}")
want = [f"Digest: {digest}", f"Status: Downloaded newer image for {image}", image]
if tail[1:] != want:
    errors.append(f"last lines are {tail[1:]!r}, expected {want!r}")
for e in errors:
    print("plain: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
ok "auto on a pipe is plain: no escapes, $(wc -l < "$out") lines, every phase of every layer, Digest/Status/reference, exit 0"

# --- json ----------------------------------------------------------------------------
out="$WORK/json.out" err="$WORK/json.err"
t0=$(now_ms)
rc=$(pull_to_pipe json "$(new_root json)" "$out" "$err")
echo "json: pull took $(( $(now_ms) - t0 )) ms, $(wc -l < "$out") lines"
head -n 12 "$out"; echo "..."; tail -n 6 "$out"
[ "$rc" = 0 ] || { show stderr "$err"; fail "exit status $rc, expected 0"; }
[ ! -s "$err" ] || { show stderr "$err"; fail "stderr is not empty"; }
python3 - "$out" <<'PY' || { show "--progress json" "$out"; fail "--progress json"; }
import json, os, sys
data = open(sys.argv[1], "rb").read()
errors = []
if b"\x1b" in data:
    errors.append("an ESC byte in the output")
ids = os.environ["LAYER_IDS"].split(",")
sizes = dict(zip(ids, (int(s) for s in os.environ["LAYER_SIZES"].split(","))))
image, digest = os.environ["IMAGE"], os.environ["DIGEST"]
name = os.environ["REPO"].split("/", 1)[1]
objs = []
for i, line in enumerate(data.decode().split("\n")[:-1]):
    try:
        o = json.loads(line)
    except ValueError as e:
        errors.append(f"line {i + 1} is not JSON ({e}): {line!r}")
        continue
    if not isinstance(o, dict):
        errors.append(f"line {i + 1} is not an object: {line!r}")
        continue
    objs.append(o)
if len(objs) > 2000:
    errors.append(f"{len(objs)} objects for one pull")
if not objs or objs[0] != {"status": f"Pulling from {name}", "id": os.environ["TAG"]}:
    errors.append(f"first object is {objs[:1]!r}")
if not any("progressDetail" in o for o in objs):
    errors.append("no object has progressDetail")
statuses = {lid: [] for lid in ids}
for o in objs:
    lid = o.get("id")
    if lid in statuses:
        if "progressDetail" not in o:
            errors.append(f"layer object without progressDetail: {o}")
            continue
        statuses[lid].append(o["status"])
        d = o["progressDetail"]
        if o["status"] == "Downloading" and d.get("total") != sizes[lid]:
            errors.append(f"layer {lid}: Downloading total {d.get('total')} is not {sizes[lid]}")
    elif lid is not None and lid != os.environ["TAG"]:
        errors.append(f"object for an unknown id: {o}")
for lid, st in statuses.items():
    for phase in ("Downloading", "Verifying Checksum", "Download complete", "Pull complete"):
        if phase not in st:
            errors.append(f"layer {lid}: no {phase!r} object")
    if not any(s in st for s in ("Pulling fs layer", "Waiting")):
        errors.append(f"layer {lid}: no 'Pulling fs layer' object")
    if "Pull complete" in st and st[-1] != "Pull complete":
        errors.append(f"layer {lid}: last status is {st[-1]!r}")
downloading = [o for o in objs if o.get("status") == "Downloading" and o["progressDetail"].get("current")]
if not downloading:
    errors.append("no Downloading object with progressDetail.current")
summ = [o for o in objs if o.get("status") == "Summary"]
if not summ:
    errors.append("no Summary object")
else:
    last = summ[-1]["progressDetail"]
    if last.get("current") != last.get("total") or last.get("total") != sum(sizes.values()):
        errors.append(f"last Summary is {summ[-1]}, expected current = total = {sum(sizes.values())}")
    if any("aux" not in o for o in summ):
        errors.append("a Summary object without aux")
want = [{"status": f"Digest: {digest}"},
        {"status": f"Status: Downloaded newer image for {image}"},
        {"aux": {"Reference": image}}]
if objs[-3:] != want:
    errors.append(f"last objects are {objs[-3:]!r}, expected {want!r}")
for e in errors:
    print("json: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
ok "json: every line a JSON object, layers with progressDetail, Summary, Digest/Status/Reference, exit 0"

# --- quiet ---------------------------------------------------------------------------
out="$WORK/quiet.out" err="$WORK/quiet.err"
t0=$(now_ms)
rc=$(pull_to_pipe quiet "$(new_root quiet)" "$out" "$err")
echo "quiet: pull took $(( $(now_ms) - t0 )) ms"
show "--progress quiet" "$out"
[ "$rc" = 0 ] || { show stderr "$err"; fail "exit status $rc, expected 0"; }
[ ! -s "$err" ] || { show stderr "$err"; fail "stderr is not empty"; }
[ "$(cat "$out")" = "$IMAGE" ] && [ "$(wc -l < "$out")" = 1 ] \
    || fail "quiet printed something else than the line '$IMAGE'"
ok "quiet: only the reference"
