#!/usr/bin/env python3
"""screen.py - checks on `tmux capture-pane -p` text of examples-c/pull in tty mode.

  screen.py mid   WIDTH CAPTURE OUT.json   a screen during the downloads
  screen.py final WIDTH CAPTURE            the screen after the pull ended
  screen.py advance A.json B.json          the bytes moved between two mid screens
  screen.py cancelled WIDTH CAPTURE        the screen after Ctrl-C during the downloads
  screen.py fits WIDTH ROWS CAPTURE        a mid-pull screen of an image of more layers than rows
  screen.py history WIDTH CAPTURE          the whole history (capture-pane -S -) after such a pull

The image is described by the environment (ctest/example/servers.sh's env file):
IMAGE, REPO, TAG, DIGEST, LAYER_IDS, LAYER_SIZES. WIDTH > 110 means Docker's
50-cell bars, else the compact `ID: Downloading  1.2MB/3.4MB` lines.
Exit status 1 with the reasons on stderr when a check fails.
"""
import json
import os
import re
import sys

UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
SIZE = r"[0-9.]+(?:B|kB|MB|GB|TB)"
BAR_CELLS = 50

errors = []


def err(msg):
    errors.append(msg)


def size(text):
    m = re.fullmatch(r"([0-9.]+)(B|kB|MB|GB|TB)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def env():
    e = {k: os.environ[k] for k in ("IMAGE", "REPO", "TAG", "DIGEST", "LAYER_IDS", "LAYER_SIZES")}
    e["ids"] = e["LAYER_IDS"].split(",")
    e["sizes"] = [int(s) for s in e["LAYER_SIZES"].split(",")]
    e["name"] = e["REPO"].split("/", 1)[1]  # the repository without the registry
    return e


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip() for l in f.read().split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def common(lines, width, e):
    """Header, one line per layer in manifest order, then the summary.
    Returns the index of the first layer line (or None)."""
    for i, l in enumerate(lines):
        if "\x1b" in l:
            err(f"line {i + 1} holds an escape character: {l!r}")
        if len(l) > width - 1:
            err(f"line {i + 1} has {len(l)} columns (> {width - 1}): {l!r}")
    header = f"{e['TAG']}: Pulling from {e['name']}"
    heads = [i for i, l in enumerate(lines) if "Pulling from" in l]
    if len(heads) != 1:
        err(f"expected one 'Pulling from' line, found {len(heads)}")
        return None
    h = heads[0]
    if lines[h] != header:
        err(f"header is {lines[h]!r}, expected {header!r}")
    layer_lines = [i for i, l in enumerate(lines) if re.match(r"[0-9a-f]{12}: ", l)]
    if len(layer_lines) != len(e["ids"]):
        err(f"expected {len(e['ids'])} layer lines, found {len(layer_lines)}: "
            + repr([lines[i] for i in layer_lines]))
    for lid in e["ids"]:
        n = sum(1 for l in lines if l.startswith(lid + ": "))
        if n != 1:
            err(f"layer {lid} has {n} lines, expected exactly 1")
    for k, lid in enumerate(e["ids"]):
        i = h + 1 + k
        if i >= len(lines) or not lines[i].startswith(lid + ": "):
            err(f"line {i + 1} should be layer {lid} (block right under the header, manifest order)")
    s = h + 1 + len(e["ids"])
    if s >= len(lines) or not lines[s].startswith("Total: "):
        err(f"line {s + 1} should be the summary 'Total: ...', is "
            + repr(lines[s] if s < len(lines) else None))
    return h + 1


def parse_layer(line, bars):
    """(status, current, total, cells) of a layer line; cells is None without a bar."""
    lid, rest = line.split(": ", 1)
    m = re.fullmatch(r"(Downloading|Extracting) \[(=*)>( *)\] +(" + SIZE + r")/(" + SIZE + r")", rest)
    if m:
        if not bars:
            err(f"bar at a width without bars: {line!r}")
        cells = len(m.group(2))
        if cells + len(m.group(3)) != BAR_CELLS:
            err(f"bar is not {BAR_CELLS} cells wide: {line!r}")
        return m.group(1), size(m.group(4)), size(m.group(5)), cells
    m = re.fullmatch(r"(Downloading|Extracting) +(" + SIZE + r")/(" + SIZE + r")", rest)
    if m:
        if bars:
            err(f"no bar at a width with bars: {line!r}")
        return m.group(1), size(m.group(2)), size(m.group(3)), None
    if "[" in rest:
        err(f"malformed bar: {line!r}")
    return rest.strip(), None, None, None


def mid(width, capture, out):
    e = env()
    lines = read(capture)
    bars = width > 110
    first = common(lines, width, e)
    state = {"layers": {}, "total": None}
    downloading = 0
    for l in lines:
        if re.match(r"[0-9a-f]{12}: ", l):
            status, cur, tot, cells = parse_layer(l, bars)
            lid = l[:12]
            if status == "Downloading":
                downloading += 1
                k = e["ids"].index(lid) if lid in e["ids"] else None
                if k is not None and abs(tot - e["sizes"][k]) > e["sizes"][k] * 0.001 + 1:
                    err(f"layer {lid}: total {tot:.0f} is not its size {e['sizes'][k]}")
                if cur > tot:
                    err(f"layer {lid}: current > total: {l!r}")
                if cells is not None and abs(cells - int(cur / tot * 100) // 2) > 1:
                    err(f"layer {lid}: {cells} cells for {cur:.0f}/{tot:.0f}: {l!r}")
            state["layers"][lid] = [status, cur, tot, cells]
        m = re.match(r"Total: (" + SIZE + r")/(" + SIZE + r")", l)
        if m:
            state["total"] = [size(m.group(1)), size(m.group(2))]
    if downloading == 0:
        err("no layer is in 'Downloading' with byte counts")
    if state["total"] is None:
        err("no 'Total: CUR/TOTAL' summary")
    else:
        want = sum(e["sizes"])
        if abs(state["total"][1] - want) > want * 0.001:
            err(f"summary total {state['total'][1]:.0f} is not the image's {want} bytes")
    if not bars and any("[" in l for l in lines):
        err("a '[' on a screen too narrow for bars")
    with open(out, "w") as f:
        json.dump(state, f)


def advance(a_path, b_path):
    a = json.load(open(a_path))
    b = json.load(open(b_path))
    moved = []
    for lid, (st, cur, tot, cells) in a["layers"].items():
        bst, bcur, btot, bcells = b["layers"].get(lid, [None] * 4)
        if st == "Downloading" and bst == "Downloading":
            if bcur < cur:
                err(f"layer {lid}: bytes went back from {cur:.0f} to {bcur:.0f}")
            if cells is not None and bcells is not None and bcells < cells:
                err(f"layer {lid}: bar went back from {cells} to {bcells} cells")
            if bcur > cur:
                moved.append(lid)
    if not moved:
        err("no layer's byte count advanced between the two screens")
    if a["total"] and b["total"] and not b["total"][0] > a["total"][0]:
        err(f"summary did not advance: {a['total'][0]:.0f} -> {b['total'][0]:.0f}")
    print(f"advanced: {' '.join(moved)}; total {a['total'][0]:.0f} -> {b['total'][0]:.0f} bytes")


def final(width, capture):
    e = env()
    lines = read(capture)
    first = common(lines, width, e)
    if first is None:
        return
    for k, lid in enumerate(e["ids"]):
        i = first + k
        if i < len(lines) and lines[i] != f"{lid}: Pull complete":
            err(f"layer {lid} ends as {lines[i]!r}, expected 'Pull complete'")
    s = first + len(e["ids"])
    if s < len(lines):
        m = re.match(r"Total: (" + SIZE + r")/(" + SIZE + r")", lines[s])
        if not m or m.group(1) != m.group(2):
            err(f"summary does not show all bytes in: {lines[s]!r}")
    want = [f"Digest: {e['DIGEST']}", f"Status: Downloaded newer image for {e['IMAGE']}", e["IMAGE"]]
    got = lines[s + 1:s + 4]
    if got != want:
        err(f"end lines are {got!r}, expected {want!r}")
    rest = [l for l in lines[s + 4:] if l and not l.startswith("EXIT=")]
    if rest:
        err(f"unexpected lines after the reference: {rest!r}")


def cancelled(width, capture):
    """After Ctrl-C the terminal echoed `^C` where the cursor was (under the
    block); the last frame must still put every line at column 0."""
    e = env()
    lines = read(capture)
    first = common(lines, width, e)
    if first is None:
        return
    for i, l in enumerate(lines):
        if l[:1] == " " and re.search(r"[0-9a-f]{12}: |Total: |Pulling from", l):
            err(f"line {i + 1} does not start at column 0: {l!r}")
    s = first + len(e["ids"])
    if lines[s + 1:s + 2] != ["Error: pull cancelled"]:
        err(f"the line under the summary is {lines[s + 1:s + 2]!r}, expected 'Error: pull cancelled'")


FOLD = r"[0-9]+ layers? complete, " + SIZE
MORE = r"\+[0-9]+ more"


def fits(width, rows, capture):
    """The block under the header: at most rows - 1 lines (the cursor's row
    is under it), layer rows of known ids, each once, at most one fold line
    (first) and one `+N more` line, `Total:` last."""
    e = env()
    lines = read(capture)
    for i, l in enumerate(lines):
        if len(l) > width - 1:
            err(f"line {i + 1} has {len(l)} columns (> {width - 1}): {l!r}")
    totals = [i for i, l in enumerate(lines) if l.startswith("Total: ")]
    if len(totals) != 1:
        err(f"expected one 'Total:' line, found {len(totals)}")
        return
    t = totals[0]
    if t > rows - 1:
        err(f"the Total line is row {t + 1} of a {rows}-row screen: the block did not fit")
    block = [l for l in lines[:t] if "Pulling from" not in l]
    if len(block) + 1 > rows - 1:
        err(f"the block has {len(block) + 1} rows, more than {rows - 1}")
    ids = [l[:12] for l in block if re.match(r"[0-9a-f]{12}: ", l)]
    for lid in ids:
        if lid not in e["ids"]:
            err(f"unknown layer {lid}")
        if ids.count(lid) > 1:
            err(f"layer {lid} has {ids.count(lid)} rows")
    others = [l for l in block if not re.match(r"[0-9a-f]{12}: ", l)]
    folds = [l for l in others if re.fullmatch(FOLD, l)]
    mores = [l for l in others if re.fullmatch(MORE, l)]
    if len(folds) > 1 or len(mores) > 1 or len(folds) + len(mores) != len(others):
        err(f"unexpected lines in the block: {others!r}")
    if folds and block[0] != folds[0]:
        err(f"the fold line is not the block's first: {block[0]!r}")
    if len(ids) == len(e["ids"]):
        err("every layer has its own row: nothing was folded")


def history(width, capture):
    """After the pull: the header once, every layer once as `Pull complete`
    in manifest order, one Total line, the end lines, no fold lines left."""
    e = env()
    lines = [l for l in read(capture) if l and not l.startswith("EXIT=")]
    heads = [l for l in lines if "Pulling from" in l]
    if len(heads) != 1:
        err(f"expected one 'Pulling from' line, found {len(heads)}")
    ids = [l[:12] for l in lines if re.match(r"[0-9a-f]{12}: ", l)]
    if ids != e["ids"]:
        dup = sorted({i for i in ids if ids.count(i) > 1})
        err(f"{len(ids)} layer rows for {len(e['ids'])} layers (repeated: {dup[:5]}...)")
    for l in lines:
        if re.match(r"[0-9a-f]{12}: ", l) and l != l[:12] + ": Pull complete":
            err(f"layer row {l!r} is not 'Pull complete'")
        if re.fullmatch(FOLD, l) or re.fullmatch(MORE, l):
            err(f"a fold line is left in the history: {l!r}")
    if sum(1 for l in lines if l.startswith("Total: ")) != 1:
        err("expected exactly one 'Total:' line in the history")
    want = [f"Digest: {e['DIGEST']}", f"Status: Downloaded newer image for {e['IMAGE']}", e["IMAGE"]]
    if lines[-3:] != want:
        err(f"the history ends with {lines[-3:]!r}, expected {want!r}")
    if len(lines) != 1 + len(e["ids"]) + 1 + 3:
        err(f"{len(lines)} lines in the history, expected {1 + len(e['ids']) + 1 + 3}")


def main():
    cmd = sys.argv[1]
    if cmd == "mid":
        mid(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif cmd == "final":
        final(int(sys.argv[2]), sys.argv[3])
    elif cmd == "cancelled":
        cancelled(int(sys.argv[2]), sys.argv[3])
    elif cmd == "fits":
        fits(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "history":
        history(int(sys.argv[2]), sys.argv[3])
    elif cmd == "advance":
        advance(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    for m in errors:
        print("screen.py: " + m, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
