#!/usr/bin/env python3
"""frames.py FRAMES_DIR LAYER_DIGESTS CONFIG_DIGEST - judge the screens of one `isula pull`
captured by progress.sh (FRAMES_DIR/NNNN.txt, in order; the last one holds "EXIT=<rc>").

isula (gRPC) draws one row per entry of the daemon's progress map, named by the last 12
characters of the key (the library ends its keys with Docker's short id, the first 12 hex
digits):  <id>: [=====>     ] <current>/<total>. LAYER_DIGESTS is a comma
separated list. Prints one line per finding and exits 1 when a rule is broken:
  - the pull exits 0
  - the first frame with bars has one row for each layer, and no other row
  - no frame has a row for the config, a row that is no layer, or a row twice
  - some frame shows a bar not yet full (the bars moved while we watched)
  - the last frame with bars has every bar full (current = total > 0)
"""
import os
import re
import sys

def short(digest):
    """Docker's short id: the first 12 hex digits. The daemon names each entry of its progress
    map by the key's last 12 characters, and the library ends each key with these."""
    return digest.split(":", 1)[-1][:12]

ROW = re.compile(r"^(\S+): \[(=*)>( *)\] (\S+)/(\S+)\s*$")
UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def size(text):
    m = re.match(r"^([0-9.]+)([KMG]?B)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def main():
    frames_dir, layers, config = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    want = {short(d) for d in layers}
    config_id = short(config)
    names = sorted(n for n in os.listdir(frames_dir) if n.endswith(".txt"))
    frames = [open(os.path.join(frames_dir, n)).read() for n in names]
    bad = []
    status = re.search(r"EXIT=(\d+)", frames[-1]) if frames else None
    if not status or status.group(1) != "0":
        bad.append("the pull did not exit 0 (%s)" % (status.group(0) if status else "no exit seen"))
    with_bars = []
    for text in frames:
        rows = [ROW.match(l) for l in text.splitlines()]
        rows = [(m.group(1), size(m.group(4)), size(m.group(5)), len(m.group(2))) for m in rows if m]
        if rows:
            with_bars.append(rows)
    print("frames: %d captured, %d with bars" % (len(frames), len(with_bars)))
    if not with_bars:
        bad.append("no progress bar was ever drawn")
    else:
        first = {r[0] for r in with_bars[0]}
        if first != want:
            bad.append("first frame with bars has rows %s, the layers are %s" % (sorted(first), sorted(want)))
        else:
            print("first frame with bars: one row per layer (%d)" % len(want))
        for i, rows in enumerate(with_bars):
            ids = [r[0] for r in rows]
            if config_id in ids:
                bad.append("frame %d has a row for the config %s" % (i, config_id))
                break
            if len(ids) != len(set(ids)) or not set(ids) <= want:
                bad.append("frame %d has rows %s" % (i, ids))
                break
        if not any(cur is not None and tot and cur < tot for rows in with_bars for _, cur, tot, _ in rows):
            bad.append("no frame shows a bar that is not yet full")
        else:
            print("bars moved: some frame shows a partial bar")
        last = with_bars[-1]
        full = all(tot and cur == tot for _, cur, tot, _ in last)
        if not full or {r[0] for r in last} != want:
            bad.append("last frame with bars is not all full: %s" % last)
        else:
            print("last frame with bars: every bar full")
    for b in bad:
        print("BROKEN: " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
