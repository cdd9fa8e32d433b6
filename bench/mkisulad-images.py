#!/usr/bin/env python3
"""mkisulad-images.py DIR [BIG_LAYERS BIG_MIB SMALL_LAYERS SMALL_KIB] - the images of
bench/isulad.sh, as one OCI image layout in DIR:
  big    BIG_LAYERS (default 3) tar+gzip layers of BIG_MIB (default 200) MiB of random data
  small  SMALL_LAYERS (default 20) tar+gzip layers of SMALL_KIB (default 64) KiB each
Random, so incompressible; gzip level 1. Layers are streamed to disk (never held in
memory), with both digests computed on the way. Standard library only."""
import gzip
import hashlib
import json
import os
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Random:
    """A file object of SIZE random bytes."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


class Hashing:
    """Writes through to F, hashing what passes and counting it."""

    def __init__(self, f):
        self.f, self.h, self.size = f, hashlib.sha256(), 0

    def write(self, data):
        self.h.update(data)
        self.size += len(data)
        return self.f.write(data) if self.f is not None else len(data)

    def flush(self):
        pass


def blob_dir(root):
    d = os.path.join(root, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    return d


def put(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blob_dir(root), digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(root, name, size):
    tmp = os.path.join(blob_dir(root), "tmp-" + name)
    with open(tmp, "wb") as out:
        blob = Hashing(out)
        with gzip.GzipFile(fileobj=blob, mode="wb", compresslevel=1, mtime=0) as gz:
            tar_bytes = Hashing(gz)
            with tarfile.open(fileobj=tar_bytes, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo("opt/bench/%s.bin" % name)
                info.size, info.mtime = size, 1700000000
                tar.addfile(info, Random(size))
    digest = blob.h.hexdigest()
    os.rename(tmp, os.path.join(blob_dir(root), digest))
    return {"mediaType": LAYER, "digest": "sha256:" + digest, "size": blob.size}, \
        "sha256:" + tar_bytes.h.hexdigest()


def image(root, tag, count, size):
    layers, diff_ids = [], []
    for i in range(count):
        desc, diff_id = layer(root, "%s%d" % (tag, i), size)
        layers.append(desc)
        diff_ids.append(diff_id)
    config = put(root, json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "layer %d" % i}
                    for i in range(count)],
    }).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = put(root, json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                     "config": config, "layers": layers}).encode())
    manifest["mediaType"] = OCI_MANIFEST
    manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
    return manifest


def main():
    if len(sys.argv) not in (2, 6):
        sys.exit(__doc__)
    root = sys.argv[1]
    big_n, big_mib, small_n, small_kib = (int(a) for a in (sys.argv[2:] or [3, 200, 20, 64]))
    manifests = [image(root, "big", big_n, big_mib << 20),
                 image(root, "small", small_n, small_kib << 10)]
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


if __name__ == "__main__":
    main()
