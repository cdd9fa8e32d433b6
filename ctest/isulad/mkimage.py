#!/usr/bin/env python3
"""mkimage.py LAYOUT OUT_DIR - build the image of the isulad contract test.

An OCI image layout at LAYOUT (tag "v1"): three gzip layers of random,
incompressible data (so a download takes several progress callbacks), an OCI
config with diff_ids and a `created` time, an OCI manifest. Writes for the
test, in OUT_DIR:
  image.env      KEY=VALUE lines: ISULAD_MANIFEST_DIGEST, ISULAD_CONFIG_DIGEST,
                 ISULAD_LAYERS (count), ISULAD_LAYER<i>_DIGEST / _SIZE / _DIFF_ID
  config.json    the config blob, byte for byte
  manifest.json  the manifest blob, byte for byte
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

LAYERS = 3
CREATED = "2024-01-01T00:00:00Z"


def main():
    layout, out = sys.argv[1], sys.argv[2]
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    os.makedirs(out, exist_ok=True)

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    layers, diffs = [], []
    for i in range(LAYERS):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
            data = os.urandom(200000 + i * 50000)
            info = tarfile.TarInfo("layer%d/data.bin" % i)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
        raw = raw.getvalue()
        diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
        layers.append(put(gzip.compress(raw, mtime=0)))

    config = json.dumps({
        "created": CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diffs},
        "history": [{"created": CREATED, "created_by": "layer %d" % i} for i in range(LAYERS)],
    }, indent=2).encode()
    config_digest, config_size = put(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": d, "size": s} for d, s in layers],
    }, indent=2).encode()
    manifest_digest, manifest_size = put(manifest)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')

    with open(os.path.join(out, "config.json"), "wb") as f:
        f.write(config)
    with open(os.path.join(out, "manifest.json"), "wb") as f:
        f.write(manifest)
    with open(os.path.join(out, "image.env"), "w") as f:
        f.write("ISULAD_MANIFEST_DIGEST=%s\n" % manifest_digest)
        f.write("ISULAD_CONFIG_DIGEST=%s\n" % config_digest)
        f.write("ISULAD_LAYERS=%d\n" % LAYERS)
        for i, ((d, s), diff) in enumerate(zip(layers, diffs)):
            f.write("ISULAD_LAYER%d_DIGEST=%s\n" % (i, d))
            f.write("ISULAD_LAYER%d_SIZE=%d\n" % (i, s))
            f.write("ISULAD_LAYER%d_DIFF_ID=%s\n" % (i, diff))


if __name__ == "__main__":
    main()
