#!/usr/bin/env python3
"""client_frames.py CASE FILES... LAYER_DIGESTS IMAGE - judge the captures of one case of
client_progress.sh (a patched `isula pull` drawing with the library's renderer). Prints one
line per finding and what it saw, exits 1 when a rule is broken.

The daemon names each layer by the last 12 characters of its digest (the key of its
progress map); that is the id the client shows. Cases:
  tty FRAMES_DIR HISTORY   screens of a tmux pane (NNNNN.txt; "resized" says after which
                           frame the pane grew) and its whole history at the end
  plain FILE               `isula pull | cat` output, then EXIT=<rc>
  plain-tty HISTORY RAW    a pane's history and the raw bytes written to it (TERM unset/dumb)
  json FILE RC_FILE        --progress json output and the exit status
  quiet FILE BAD_FILE      --progress quiet output; a bad --progress value's output
  ctrl-c FRAMES_DIR HISTORY SENT SEEN   Ctrl-C mid-pull: screens, history, two timestamps
"""
import json
import os
import re
import sys

PHASES = ("Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete",
          "Extracting", "Pull complete", "Already exists", "Retrying")
SIZE = r"[0-9.]+[kMGT]?B"
bad = []


def check(ok, what):
    print(("   ok   " if ok else "   FAIL ") + what)
    if not ok:
        bad.append(what)


def layer_row(line, ids):
    m = re.match(r"^([0-9a-f]{12}): (.*)$", line)
    return (m.group(1), m.group(2)) if m and m.group(1) in ids else None


def order_note(seen, digests):
    """Which order the client's rows came in, as positions in the manifest (1 = lowest)."""
    manifest = [d[-12:] for d in digests]
    pos = ",".join(str(manifest.index(i) + 1) for i in seen if i in manifest)
    if seen == manifest:
        return "manifest order"
    by_key = [d[-12:] for d in sorted(digests)]
    return "manifest positions %s%s" % (pos, " (sorted by digest)" if seen == by_key else "")


def final_lines(lines, image):
    check(any(l == "Status: Downloaded newer image for " + image for l in lines),
          "Status: Downloaded newer image for " + image)
    check(image in lines, "the reference on a line of its own")


def tty(frames_dir, history_file, digests, image):
    ids = [d[-12:] for d in digests]
    names = sorted(n for n in os.listdir(frames_dir) if n.endswith(".txt"))
    frames = [open(os.path.join(frames_dir, n)).read().splitlines() for n in names]
    resized = 0
    if os.path.exists(os.path.join(frames_dir, "resized")):
        resized = int(open(os.path.join(frames_dir, "resized")).read().split()[-1])
    check(bool(frames) and any(l == "EXIT=0" for l in frames[-1]), "the pull exits 0")
    bars = [f for f in frames if any("Downloading [" in l and ">" in l for l in f)]
    check(len(bars) >= 2, "bars drawn in %d screens" % len(bars))
    # bars advance: some layer's byte count grows from one screen to a later one
    grew = False
    first = {}
    for f in frames:
        for l in f:
            r = layer_row(l, ids)
            m = r and re.search(r"(" + SIZE + ")/(" + SIZE + r")\s*$", r[1])
            if m:
                first.setdefault(r[0], m.group(1))
                grew = grew or m.group(1) != first[r[0]]
    check(grew, "a layer's bytes grow between screens")
    totals = [l for f in frames for l in f if l.startswith("Total: ")]
    check(any(re.search(r"/s  ETA ", l) for l in totals), "a Total line with speed and ETA")
    before = frames[:resized] if resized else frames
    folded = [l for f in before for l in f if re.match(r"^\d+ layers? complete, " + SIZE + "$", l)
              or re.match(r"^\+\d+ more$", l)]
    check(bool(folded), "in 6 rows the block folds (%s)" % (folded[0] if folded else "no fold line"))
    if resized:
        after = frames[resized:]
        full = [f for f in after if sum(1 for l in f if layer_row(l, ids)) == len(ids)
                and not any(l.startswith("EXIT=") for l in f)]
        check(bool(full), "after growing to 30 rows, a mid-pull screen shows all %d layers" % len(ids))
    hist = open(history_file).read().splitlines()
    rows = [layer_row(l, ids) for l in hist]
    rows = [r for r in rows if r]
    for i in ids:
        n = sum(1 for r in rows if r[0] == i)
        if n != 1:
            check(False, "layer %s has %d rows in the history" % (i, n))
    check(len(rows) == len(ids), "the history holds each layer row once (%d rows, %d lines in all)"
          % (len(rows), len(hist)))
    check(sum(1 for l in hist if l.startswith("Total: ")) == 1, "one Total line in the history")
    check(sum(1 for l in hist if "Pulling from test/client" in l) == 1, "one Pulling from line")
    check(all(r[1].startswith("Pull complete") for r in rows), "every layer row says Pull complete")
    final_lines(hist, image)
    print("   order: " + order_note([r[0] for r in rows], digests))


def plain_checks(lines, digests, image, bound):
    ids = [d[-12:] for d in digests]
    allowed = [r"^v1: Pulling from test/client$", r"^Total: ", r"^Status: ", r"^Digest: ",
               r"^EXIT=\d+$", "^" + re.escape(image) + "$", r"^[#$] ?$"]
    odd = [l for l in lines if l and not layer_row(l, ids) and not any(re.match(a, l) for a in allowed)]
    check(not odd, "every line is a plain progress line" + (" (not: %r)" % odd[:3] if odd else ""))
    check(not any("[=" in l or "\x1b" in l for l in lines), "no bars, no escape codes")
    check(len(lines) <= bound, "%d lines, at most %d" % (len(lines), bound))
    for i in ids:
        check(sum(1 for l in lines if l == i + ": Pull complete") == 1, i + ": Pull complete, once")
    check(any(re.match(r"^[0-9a-f]{12}: Downloading \d+% \(" + SIZE + "/" + SIZE + r"\)$", l)
              for l in lines), "Downloading N% (x/y) lines in decimal units")
    final_lines(lines, image)


def plain(path, digests, image):
    lines = open(path).read().splitlines()
    check("EXIT=0" in lines, "the pull exits 0")
    # per layer: Pulling fs layer, Waiting, 11 steps, a line per 5 s, Download complete, Pull
    # complete; then the summaries and the end
    plain_checks(lines, digests, image, 20 * len(digests) + 10)


def plain_tty(history, raw, digests, image):
    lines = [l for l in open(history).read().splitlines() if l.strip()]
    check("EXIT=0" in lines, "the pull exits 0 (no exit on the missing or dumb TERM)")
    check(not any("TERM environment variable" in l for l in lines), "no complaint about TERM")
    body = lines[[i for i, l in enumerate(lines) if "Pulling from" in l][0]:] if any(
        "Pulling from" in l for l in lines) else lines
    plain_checks(body, digests, image, 20 * len(digests) + 10)
    data = open(raw, "rb").read()
    # what the client wrote: from its first line to the shell's EXIT= (clear and the shell's
    # line editing before it are not the client's)
    start, end = data.find(b"v1: Pulling from"), data.find(b"EXIT=0")
    check(0 <= start < end and b"\x1b" not in data[start:end],
          "the bytes the client wrote to the terminal hold no escape code")


def json_case(path, rc_file, digests, image):
    ids = [d[-12:] for d in digests]
    check(open(rc_file).read().strip() == "0", "the pull exits 0")
    objs, broken = [], []
    for l in open(path).read().splitlines():
        try:
            o = json.loads(l)
            objs.append(o) if isinstance(o, dict) else broken.append(l)
        except ValueError:
            broken.append(l)
    check(not broken and objs, "%d lines, each a JSON object%s" % (len(objs), " (not: %r)" % broken[:2] if broken else ""))
    check(objs and objs[0] == {"status": "Pulling from test/client", "id": "v1"}, "first: Pulling from")
    for i in ids:
        check(any(o.get("id") == i and o.get("status") == "Pull complete" for o in objs), i + ": Pull complete")
    dl = [o for o in objs if o.get("status") == "Downloading"]
    check(any(o.get("progressDetail", {}).get("total", 0) > 0 for o in dl), "Downloading with progressDetail")
    check(any(o.get("status") == "Summary" for o in objs), "a Summary object")
    check(objs and objs[-1] == {"aux": {"Reference": image}}, "last: aux.Reference " + image)


def quiet(path, bad_path, digests, image):
    lines = open(path).read().splitlines()
    check(lines == [image, "EXIT=0"], "quiet prints the stored name only (%r)" % lines)
    b = open(bad_path).read()
    check("unknown progress output \"bars\": use one of auto|tty|plain|json|quiet" in b
          and "EXIT=1" in b, "a bad --progress value is refused, saying what to use")


def ctrl_c(frames_dir, history, sent, seen, digests, image):
    ids = [d[-12:] for d in digests]
    check(os.path.exists(sent), "Ctrl-C was sent while bars were drawn")
    if not os.path.exists(sent):
        return
    delay = float(open(seen).read()) - float(open(sent).read())
    check(delay < 5, "the client exited %.1f s after Ctrl-C" % delay)
    hist = open(history).read().splitlines()
    start = [i for i, l in enumerate(hist) if "Pulling from" in l]
    hist = hist[start[0]:] if start else hist
    ex = [l for l in hist if re.match(r"^(\^C)?EXIT=\d+$", l)]
    # the terminal echoes ^C where the cursor is: under the block, at the start of a line
    check(ex == ["^CEXIT=130"] or ex == ["EXIT=130"], "^C and EXIT=130 at the start of a line under the block (%r)" % ex)
    allowed = [r"^v1: Pulling from test/client$", r"^Total: ", r"^\d+ layers? complete, ", r"^\+\d+ more$",
               r"^(\^C)?EXIT=130$", r"^[#$] ?$", r"^$"]
    odd = [l for l in hist if not layer_row(l, ids) and not any(re.match(a, l) for a in allowed)]
    check(not odd, "no garbled line left on the screen" + (" (%r)" % odd[:3] if odd else ""))
    check(not any(l.startswith("Status:") for l in hist), "no Status line (the pull was left)")


def main():
    case, args = sys.argv[1], sys.argv[2:]
    digests, image = args[-2].split(","), args[-1]
    files = args[:-2]
    {"tty": tty, "plain": plain, "plain-tty": plain_tty, "json": json_case, "quiet": quiet,
     "ctrl-c": ctrl_c}[case](*files, digests, image)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
