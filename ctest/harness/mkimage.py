#!/usr/bin/env python3
"""mkimage.py LAYOUT_DIR ENV_FILE - build the small test images of the isula-registry
C tests as one OCI image layout, for `skopeo copy --preserve-digests oci:LAYOUT:TAG ...`.

Tags in LAYOUT_DIR/index.json (org.opencontainers.image.ref.name):
  gzip   3 tar+gzip layers: files, a symlink, an executable, a whiteout (.wh.old.txt)
         in layer 3 removing layer 2's data/old.txt, ~100 KiB of random data; config
         with created, history (one empty_layer entry) and rootfs.diff_ids
  zstd   the same layer tars compressed with zstd (`zstd` CLI)
  plain  the same layer tars uncompressed (media type ...layer.v1.tar)
  multi  an OCI image index: linux/amd64 and linux/arm64/v8 images, different content

Writes KEY=VALUE lines to ENV_FILE, for each image PREFIX in IMG_GZIP, IMG_ZSTD,
IMG_PLAIN, MULTI_AMD64, MULTI_ARM64:
  PREFIX_DIGEST        manifest digest      PREFIX_CONFIG       config digest
  PREFIX_LAYERS        layer digests, comma separated, bottom first
  PREFIX_LAYER_SIZES   their sizes in bytes, comma separated
and MULTI_DIGEST (the index digest). Random content: new digests on every run.
Only the Python standard library and the zstd command are used.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MTIME = 1700000000  # fixed, so that only the random payload differs between runs
CREATED = "2023-11-14T22:13:20Z"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "plain": "application/vnd.oci.image.layer.v1.tar",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        self.index = []
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def put(self, data):
        digest = sha256(data)
        path = os.path.join(self.blobs, digest[len("sha256:"):])
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        return digest

    def put_json(self, obj):
        data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        return self.put(data), len(data)

    def tag(self, name, media_type, digest, size):
        self.index.append({
            "mediaType": media_type,
            "digest": digest,
            "size": size,
            "annotations": {"org.opencontainers.image.ref.name": name},
        })

    def finish(self):
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.index}, f, indent=1)


def make_tar(entries):
    """entries: (name, kind, payload, mode) with kind dir|file|symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    return data


def base_tars():
    rnd = os.urandom
    layer1 = make_tar([
        ("etc", "dir", None, 0o755),
        ("etc/hello.txt", "file", b"hello from layer 1\n", 0o644),
        ("etc/hello.link", "symlink", "hello.txt", 0o777),
        ("data", "dir", None, 0o755),
        ("data/r1.bin", "file", rnd(40000), 0o644),
    ])
    layer2 = make_tar([
        ("bin", "dir", None, 0o755),
        ("bin/tool.sh", "file", b"#!/bin/sh\necho tool\n", 0o755),
        ("data", "dir", None, 0o755),
        ("data/old.txt", "file", b"removed by layer 3\n", 0o644),
        ("data/r2.bin", "file", rnd(36000), 0o644),
    ])
    layer3 = make_tar([
        ("data", "dir", None, 0o755),
        ("data/.wh.old.txt", "file", b"", 0o644),
        ("data/r3.bin", "file", rnd(30000), 0o644),
        ("etc", "dir", None, 0o755),
        ("etc/hello.txt", "file", b"hello from layer 3\n", 0o644),
    ])
    return [layer1, layer2, layer3]


def make_image(layout, tars, how, arch, variant=None, history=None):
    """Store one image; returns (manifest digest, size, config digest, [(digest, size)])."""
    layers = []
    for t in tars:
        blob = compress(t, how)
        layers.append((layout.put(blob), len(blob)))
    config = {
        "created": CREATED,
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/tool.sh"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
        "history": history or [
            {"created": CREATED, "created_by": "ADD layer%d" % (i + 1)} for i in range(len(tars))
        ],
    }
    if variant:
        config["variant"] = variant
    config_digest, config_size = layout.put_json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [
            {"mediaType": LAYER_TYPES[how], "digest": d, "size": s} for d, s in layers
        ],
    }
    digest, size = layout.put_json(manifest)
    return digest, size, config_digest, layers


def env_lines(prefix, image):
    digest, _size, config, layers = image
    return [
        "%s_DIGEST=%s" % (prefix, digest),
        "%s_CONFIG=%s" % (prefix, config),
        "%s_LAYERS=%s" % (prefix, ",".join(d for d, _ in layers)),
        "%s_LAYER_SIZES=%s" % (prefix, ",".join(str(s) for _, s in layers)),
    ]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkimage.py LAYOUT_DIR ENV_FILE")
    layout = Layout(sys.argv[1])
    env = []
    tars = base_tars()
    history = [
        {"created": CREATED, "created_by": "ADD layer1 /"},
        {"created": CREATED, "created_by": "ENV A=b", "empty_layer": True},
        {"created": CREATED, "created_by": "ADD layer2 /"},
        {"created": CREATED, "created_by": "RUN rm /data/old.txt && add layer3"},
    ]
    for how in ("gzip", "zstd", "plain"):
        img = make_image(layout, tars, how, "amd64", history=history)
        layout.tag(how, OCI_MANIFEST, img[0], img[1])
        env += env_lines("IMG_" + how.upper(), img)

    children = []
    for arch, variant, prefix in (("amd64", None, "MULTI_AMD64"), ("arm64", "v8", "MULTI_ARM64")):
        t = [
            make_tar([
                ("etc", "dir", None, 0o755),
                ("etc/arch", "file", ("%s\n" % arch).encode(), 0o644),
                ("data", "dir", None, 0o755),
                ("data/%s.bin" % arch, "file", os.urandom(20000), 0o644),
            ]),
            make_tar([("etc", "dir", None, 0o755),
                      ("etc/variant", "file", ("%s\n" % (variant or "-")).encode(), 0o644)]),
        ]
        img = make_image(layout, t, "gzip", arch, variant)
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        children.append({"mediaType": OCI_MANIFEST, "digest": img[0], "size": img[1],
                         "platform": platform})
        env += env_lines(prefix, img)
    index_digest, index_size = layout.put_json(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    layout.tag("multi", OCI_INDEX, index_digest, index_size)
    env.append("MULTI_DIGEST=%s" % index_digest)

    layout.finish()
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(env) + "\n")


if __name__ == "__main__":
    main()
