#!/usr/bin/env python3
"""mkbench-image.py KIND DIR [SCALE] - write the benchmark image KIND as an OCI
image layout in DIR, tagged `bench`; SCALE (default 1) multiplies every layer's
size (0.01 makes a quick check of the suite). Kinds:

  big           3 x 200 MiB of random bytes, gzip (incompressible)
  bigtext       3 layers of text, 200 MiB each, gzip (about 8.7:1)
  many-small    40 x 256 KiB of random bytes, gzip
  zstd          3 layers of text, 96 MiB each, zstd -3 (the zstd CLI)
  uncompressed  3 x 200 MiB of random bytes, plain tar

Content is derived from a fixed seed, so a spec always gives the same image.
Standard library only, plus the zstd command for KIND zstd."""
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

MIB = 1 << 20
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR = "application/vnd.oci.image.layer.v1.tar"

# kind: (layers, bytes of content per layer, content, media type)
KINDS = {
    "big": (3, 200 * MIB, "random", GZIP),
    "bigtext": (3, 200 * MIB, "text", GZIP),
    "many-small": (40, 256 * 1024, "random", GZIP),
    "zstd": (3, 96 * MIB, "text", ZSTD),
    "uncompressed": (3, 200 * MIB, "random", TAR),
}

WORDS = ("the of and to in is was for that on with as by at from this be are it an not or "
         "which have has had but were all one their they been more would there when will "
         "image layer registry container digest manifest config blob pull push storage "
         "kernel network socket buffer thread process memory file system directory").split()


def text_block(rng, size):
    """`size` bytes of log-like text: 128 lines of words, picked with skewed
    weights, numbered, so gzip -6 gets about 8.7:1 (bigtext: 72 MB of blobs, 629 MB of tar)."""
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(6, 14))) for _ in range(128)]
    weights = [1.0 / (i + 1) for i in range(len(pool))]
    out, n, i = [], 0, 0
    while n < size:
        line = f"{i:08d} {rng.choices(pool, weights)[0]} {rng.randint(0, 999)}\n"
        out.append(line)
        n += len(line)
        i += 1
    return "".join(out).encode()[:size]


def content(kind, index, size, rng):
    if kind == "random":
        return rng.randbytes(size)
    # a 4 MiB block repeated: beyond gzip's and zstd's windows at -3, so the
    # ratio is the block's own; the layer index makes each layer different
    block = text_block(rng, min(size, 4 * MIB))
    whole = (block * (size // len(block) + 1))[:size]
    return f"layer {index}\n".encode() + whole[: size - 8]


def compress(raw, media_type, kind):
    if media_type == GZIP:
        # random bytes do not shrink at any level: level 1 only makes them faster to write
        return gzip.compress(raw, compresslevel=1 if kind == "random" else 6, mtime=0)
    if media_type == ZSTD:
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
    return raw


def put(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer(index, size, kind, rng):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        payload = content(kind, index, size, rng)
        info = tarfile.TarInfo(f"opt/bench/layer{index}.data")
        info.size, info.mtime = len(payload), 1700000000
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: mkbench-image.py {{{'|'.join(KINDS)}}} DIR [SCALE]")
    name, root = sys.argv[1], sys.argv[2]
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    if not 0 < scale <= 1:
        sys.exit("mkbench-image.py: SCALE must be in (0, 1], e.g. 0.01 for a quick check")
    count, size, kind, media_type = KINDS[name]
    size = max(4096, int(size * scale))
    rng = random.Random(f"{name}-{scale}")
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i in range(count):
        raw = layer(i, size, kind, rng)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(put(root, compress(raw, media_type, kind)))
    created = "2023-11-14T22:13:20Z"
    config = json.dumps({
        "created": created, "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(count)],
    }).encode()
    cdigest, csize = put(root, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest,
                   "size": csize},
        "layers": [{"mediaType": media_type, "digest": d, "size": s} for d, s in layers],
    }).encode()
    mdigest, msize = put(root, manifest)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
            "size": msize, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    # the blobs a pull fetches (config first), for the curl contender
    with open(os.path.join(root, "blobs.txt"), "w") as f:
        f.write("\n".join([cdigest] + [d for d, _ in layers]) + "\n")
    print(mdigest)


if __name__ == "__main__":
    main()
