#!/usr/bin/env python3
"""mkdemo-image.py DIR [LAYERS] [MB_PER_LAYER] - write an OCI image layout in DIR
tagged `demo`: LAYERS tar+gzip layers of about MB_PER_LAYER MiB each (random,
so incompressible), different sizes so the bars move differently. Standard
library only."""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def put(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def layer(index, size):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        payload = os.urandom(size)
        info = tarfile.TarInfo(f"opt/demo/layer{index}.bin")
        info.size, info.mtime = len(payload), 1700000000
        tar.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, compresslevel=1, mtime=0)


def main():
    root = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for i in range(count):
        raw, gz = layer(i, (mib << 20) * (i % 3 + 2) // 3)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(put(root, gz))
    created = "2023-11-14T22:13:20Z"
    config = json.dumps({
        "created": created, "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": f"ADD layer{i}.bin /opt/demo/"} for i in range(count)],
    }).encode()
    cdigest, csize = put(root, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
                   for d, s in layers],
    }).encode()
    mdigest, msize = put(root, manifest)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": "demo"}}]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    print(mdigest)


if __name__ == "__main__":
    main()
