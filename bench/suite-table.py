#!/usr/bin/env python3
"""suite-table.py RESULTS SIZES REPS SCALE MACHINE - the markdown table of
bench/suite.sh: medians per image, protocol and contender of wall, CPU and
peak RSS, and the library's wall time over skopeo's and curl's.

RESULTS: image, proto, contender, rep, wall s, "user+sys" s, peak RSS KiB (tabs).
SIZES: image, "blob-bytes layer-count" (tabs)."""
import statistics
import sys
from collections import defaultdict


def main():
    results, sizes, reps, scale, machine = sys.argv[1:6]
    runs = defaultdict(list)
    order = []
    with open(results) as f:
        for line in f:
            image, proto, who, _rep, wall, cpu, kib = line.rstrip("\n").split("\t")
            user, sys_ = cpu.split("+")
            if (image, proto) not in order:
                order.append((image, proto))
            runs[(image, proto, who)].append((float(wall), float(user) + float(sys_), int(kib)))
    blobs = {}
    with open(sizes) as f:
        for line in f:
            image, rest = line.rstrip("\n").split("\t")
            size, count = rest.split()
            blobs[image] = (int(size), int(count))

    def med(key):
        rs = runs.get(key)
        if not rs:
            return None
        return tuple(statistics.median(r[i] for r in rs) for i in range(3))

    def cell(m):
        if m is None:
            return "-"
        wall, cpu, kib = m
        return f"{wall:.2f} s, {cpu:.2f} s CPU, {kib / 1024:.1f} MiB"

    def ratio(a, b):
        return "-" if a is None or b is None or b[0] == 0 else f"{a[0] / b[0]:.2f}"

    print(f"Machine: {machine}. Medians of {reps} alternated runs"
          + ("" if float(scale) == 1 else f", layer sizes scaled by {scale}") + ".")
    print()
    print("| image | blobs | proto | library (wall, CPU, peak RSS) | skopeo copy | parallel curl "
          "| library/skopeo | library/curl |")
    print("|---|---|---|---|---|---|---|---|")
    for image, proto in order:
        lib, sko, crl = (med((image, proto, w)) for w in ("library", "skopeo", "curl"))
        size, count = blobs[image]
        print(f"| {image} | {count} layers, {size / 1e6:.1f} MB | {proto} | {cell(lib)} | {cell(sko)} "
              f"| {cell(crl)} | {ratio(lib, sko)} | {ratio(lib, crl)} |")


if __name__ == "__main__":
    main()
