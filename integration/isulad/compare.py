#!/usr/bin/env python3
"""compare.py - helpers of check.sh for reading what two iSulad daemons stored.

  compare.py inspect FILE              the `isula inspect` JSON of FILE, normalised: the
                                       per-daemon "loaded" time dropped, keys sorted
  compare.py field FILE KEY            image.KEY of an `isula inspect` JSON (e.g. id, top_layer)
  compare.py layers ROOT               one line per layer in ROOT/storage/overlay-layers:
                                       its layer.json without "created", then a digest of
                                       the files of ROOT/storage/overlay/<id>/diff (names,
                                       types, modes, sizes, link targets, content sha256)
  compare.py auths FILE HOST           "present" or "absent": HOST in iSulad's auths.json
"""
import hashlib
import json
import os
import stat
import sys


def inspect(path):
    with open(path) as f:
        data = json.load(f)
    for entry in data:
        entry.get("image", {}).pop("loaded", None)
    return json.dumps(data, sort_keys=True, indent=1)


def tree_digest(top):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, top)
            line = "%s %o %d" % (rel, st.st_mode, st.st_size if stat.S_ISREG(st.st_mode) else 0)
            if stat.S_ISLNK(st.st_mode):
                line += " -> " + os.readlink(p)
            elif stat.S_ISCHR(st.st_mode):
                line += " dev %d" % st.st_rdev
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    line += " " + hashlib.sha256(f.read()).hexdigest()
            h.update(line.encode() + b"\n")
    return h.hexdigest()[:16]


def layers(root):
    base = os.path.join(root, "storage", "overlay-layers")
    out = []
    for lid in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        meta_path = os.path.join(base, lid, "layer.json")
        if not os.path.isfile(meta_path):
            continue
        with open(meta_path) as f:
            meta = json.load(f)
        meta.pop("created", None)
        diff = os.path.join(root, "storage", "overlay", lid, "diff")
        tree = tree_digest(diff) if os.path.isdir(diff) else "no-diff-dir"
        out.append("%s tree=%s" % (json.dumps(meta, sort_keys=True), tree))
    return "\n".join(out)


def main():
    cmd = sys.argv[1]
    if cmd == "inspect":
        print(inspect(sys.argv[2]))
    elif cmd == "field":
        with open(sys.argv[2]) as f:
            print(json.load(f)[0]["image"].get(sys.argv[3], ""))
    elif cmd == "layers":
        print(layers(sys.argv[2]))
    elif cmd == "auths":
        try:
            with open(sys.argv[2]) as f:
                auths = json.load(f).get("auths", {})
        except (OSError, ValueError):
            auths = {}
        print("present" if sys.argv[3] in auths else "absent")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
