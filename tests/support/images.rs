//! OCI image layouts built in Rust (tar crate; gzip, zstd or no
//! compression), pushes with skopeo in OCI / Docker schema2 / manifest list /
//! schema1 form, and store checks with skopeo, umoci and a tree fingerprint.
//!
//! Builds are deterministic: the same spec gives the same digests.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::registry::Registry;
use super::{run, sha256_digest, temp_dir, write_file};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// mtime of every tar entry.
pub const LAYER_MTIME: u64 = 1_700_000_000;
/// `created` of `ImageSpec::new` / `sample`.
pub const SAMPLE_CREATED: &str = "2024-01-02T03:04:05Z";

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    /// OCI layer media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
        }
    }

    pub fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            Compression::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(tar).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::stream::encode_all(tar, 3).unwrap(),
            Compression::None => tar.to_vec(),
        }
    }
}

/// One entry of a layer tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    Dir {
        path: String,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    Symlink {
        path: String,
        target: String,
    },
    /// A hard link `path` to the earlier entry `target` (archive path).
    Hardlink {
        path: String,
        target: String,
    },
    /// Deletes `path` of a lower layer: the tar gets `dir/.wh.name`.
    Whiteout {
        path: String,
    },
    /// Hides the lower content of `dir`: the tar gets `dir/.wh..wh..opq`.
    Opaque {
        dir: String,
    },
}

/// The entries of one layer, in tar order (add parent dirs yourself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerSpec {
    pub entries: Vec<Entry>,
    /// `created_by` of the layer's history entry.
    pub created_by: Option<String>,
}

fn split_parent(path: &str) -> (&str, &str) {
    let p = path.trim_end_matches('/');
    match p.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", p),
    }
}

impl LayerSpec {
    pub fn new() -> LayerSpec {
        LayerSpec::default()
    }

    /// A regular file owned by root.
    pub fn file(self, path: &str, data: impl AsRef<[u8]>, mode: u32) -> LayerSpec {
        self.file_owned(path, data, mode, 0, 0)
    }

    pub fn file_owned(
        mut self,
        path: &str,
        data: impl AsRef<[u8]>,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> LayerSpec {
        self.entries.push(Entry::File {
            path: path.into(),
            data: data.as_ref().to_vec(),
            mode,
            uid,
            gid,
        });
        self
    }

    pub fn dir(self, path: &str, mode: u32) -> LayerSpec {
        self.dir_owned(path, mode, 0, 0)
    }

    pub fn dir_owned(mut self, path: &str, mode: u32, uid: u64, gid: u64) -> LayerSpec {
        self.entries.push(Entry::Dir {
            path: path.into(),
            mode,
            uid,
            gid,
        });
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> LayerSpec {
        self.entries.push(Entry::Symlink {
            path: path.into(),
            target: target.into(),
        });
        self
    }

    /// `path` becomes a hard link to the archive path `target` (which must
    /// come earlier in the same layer).
    pub fn hardlink(mut self, path: &str, target: &str) -> LayerSpec {
        self.entries.push(Entry::Hardlink {
            path: path.into(),
            target: target.into(),
        });
        self
    }

    /// Deletes `path` from lower layers (`.wh.` file).
    pub fn whiteout(mut self, path: &str) -> LayerSpec {
        self.entries.push(Entry::Whiteout { path: path.into() });
        self
    }

    /// Makes `dir` opaque (`dir/.wh..wh..opq`).
    pub fn opaque(mut self, dir: &str) -> LayerSpec {
        self.entries.push(Entry::Opaque { dir: dir.into() });
        self
    }

    pub fn created_by(mut self, s: &str) -> LayerSpec {
        self.created_by = Some(s.into());
        self
    }

    /// The uncompressed layer tar (GNU format, mtime `LAYER_MTIME`).
    pub fn tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.mode(tar::HeaderMode::Complete);
        let header = |t: tar::EntryType, mode: u32, uid: u64, gid: u64, size: u64| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(t);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(gid);
            h.set_mtime(LAYER_MTIME);
            h.set_size(size);
            h
        };
        let empty: &[u8] = &[];
        for e in &self.entries {
            match e {
                Entry::File {
                    path,
                    data,
                    mode,
                    uid,
                    gid,
                } => {
                    let mut h = header(
                        tar::EntryType::Regular,
                        *mode,
                        *uid,
                        *gid,
                        data.len() as u64,
                    );
                    b.append_data(&mut h, path, &data[..]).unwrap();
                }
                Entry::Dir {
                    path,
                    mode,
                    uid,
                    gid,
                } => {
                    let mut h = header(tar::EntryType::Directory, *mode, *uid, *gid, 0);
                    let p = format!("{}/", path.trim_end_matches('/'));
                    b.append_data(&mut h, p, empty).unwrap();
                }
                Entry::Symlink { path, target } => {
                    let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0, 0);
                    b.append_link(&mut h, path, target).unwrap();
                }
                Entry::Hardlink { path, target } => {
                    let mut h = header(tar::EntryType::Link, 0o644, 0, 0, 0);
                    b.append_link(&mut h, path, target).unwrap();
                }
                Entry::Whiteout { path } => {
                    let (d, n) = split_parent(path);
                    let p = if d.is_empty() {
                        format!(".wh.{n}")
                    } else {
                        format!("{d}/.wh.{n}")
                    };
                    let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, 0);
                    b.append_data(&mut h, p, empty).unwrap();
                }
                Entry::Opaque { dir } => {
                    let p = format!("{}/.wh..wh..opq", dir.trim_end_matches('/'));
                    let mut h = header(tar::EntryType::Regular, 0o644, 0, 0, 0);
                    b.append_data(&mut h, p, empty).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }
}

/// An image to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub layers: Vec<LayerSpec>,
    pub compression: Compression,
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
    /// Config and history `created`; None leaves them out.
    pub created: Option<String>,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub labels: Vec<(String, String)>,
    /// Manifest annotations.
    pub annotations: Vec<(String, String)>,
}

/// A layer as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltLayer {
    /// Digest of the (compressed) blob.
    pub digest: String,
    /// Digest of the uncompressed tar.
    pub diff_id: String,
    /// Blob size.
    pub size: u64,
    /// Uncompressed tar size.
    pub tar_size: u64,
    pub media_type: String,
}

/// An image written into a layout.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub layout_dir: PathBuf,
    /// Tag in `index.json` (empty for images only referenced by an index).
    pub tag: String,
    pub manifest_digest: String,
    pub manifest_size: u64,
    pub manifest: Vec<u8>,
    pub config_digest: String,
    pub config_size: u64,
    pub config: Vec<u8>,
    pub layers: Vec<BuiltLayer>,
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl BuiltImage {
    pub fn layer_digests(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.digest.clone()).collect()
    }

    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }

    /// Path of a blob of the layout.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        blob_path(&self.layout_dir, digest)
    }

    /// `oci:<layout>:<tag>` for skopeo.
    pub fn oci_ref(&self) -> String {
        format!("oci:{}:{}", self.layout_dir.display(), self.tag)
    }
}

/// An image index written into a layout.
#[derive(Debug, Clone)]
pub struct BuiltIndex {
    pub layout_dir: PathBuf,
    pub tag: String,
    pub index_digest: String,
    pub index_size: u64,
    pub index: Vec<u8>,
    /// The platform images, in index order.
    pub images: Vec<BuiltImage>,
}

/// Path of a blob in a layout.
pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').expect("digest alg:hex");
    layout.join("blobs").join(alg).join(hex)
}

fn write_blob(layout: &Path, data: &[u8]) -> (String, u64) {
    let digest = sha256_digest(data);
    let path = blob_path(layout, &digest);
    if !path.exists() {
        write_file(&path, data);
    }
    (digest, data.len() as u64)
}

fn init_layout(layout: &Path) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let marker = layout.join("oci-layout");
    if !marker.exists() {
        write_file(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#);
    }
}

/// Adds (or replaces) `tag` in the layout's `index.json`.
fn tag_in_layout(layout: &Path, tag: &str, media_type: &str, digest: &str, size: u64) {
    let path = layout.join("index.json");
    let mut index: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({"schemaVersion": 2, "manifests": []}));
    let list = index["manifests"].as_array_mut().unwrap();
    list.retain(|m| m["annotations"][REF_NAME].as_str() != Some(tag));
    list.push(json!({
        "mediaType": media_type,
        "digest": digest,
        "size": size,
        "annotations": {REF_NAME: tag},
    }));
    write_file(&path, &serde_json::to_vec(&index).unwrap());
}

/// Deterministic incompressible bytes (xorshift64*).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

impl ImageSpec {
    /// linux/amd64, created `SAMPLE_CREATED`, `Cmd ["/bin/sh"]`.
    pub fn new(layers: Vec<LayerSpec>, compression: Compression) -> ImageSpec {
        ImageSpec {
            layers,
            compression,
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
            created: Some(SAMPLE_CREATED.into()),
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            cmd: vec!["/bin/sh".into()],
            labels: Vec::new(),
            annotations: Vec::new(),
        }
    }

    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> ImageSpec {
        self.os = os.into();
        self.arch = arch.into();
        self.variant = variant.map(str::to_string);
        self
    }

    /// The standard fixture, 3 layers:
    /// 1. dirs `etc bin data opaque opaque/sub usr usr/share`, files
    ///    `etc/hostname` (0644), `bin/tool` (0755), `bin/blob.bin` (256 KiB
    ///    pseudo-random), `data/keep.txt`, `data/remove-me.txt`,
    ///    `opaque/lower-a.txt`, `opaque/sub/lower-b.txt`,
    ///    `usr/share/secret` (0600, uid/gid 1000), symlink
    ///    `bin/tool-link -> tool`, hard link `bin/tool-hard` = `bin/tool`;
    /// 2. whiteout of `data/remove-me.txt`, new `data/new.txt`, rewritten
    ///    `etc/hostname`, symlink `etc/abs-link -> /etc/hostname`;
    /// 3. `opaque/` made opaque with a new `opaque/upper.txt`, dir
    ///    `var/empty` (0700).
    ///
    /// After unpacking: `data/remove-me.txt`, `opaque/lower-a.txt` and
    /// `opaque/sub` are gone; `opaque/upper.txt` exists.
    pub fn sample(compression: Compression) -> ImageSpec {
        let l1 = LayerSpec::new()
            .dir("etc", 0o755)
            .file("etc/hostname", "sample\n", 0o644)
            .dir("bin", 0o755)
            .file("bin/tool", "#!/bin/sh\necho tool\n", 0o755)
            .file("bin/blob.bin", pseudo_random(256 * 1024, 1), 0o644)
            .symlink("bin/tool-link", "tool")
            .hardlink("bin/tool-hard", "bin/tool")
            .dir("data", 0o755)
            .file("data/keep.txt", "keep\n", 0o644)
            .file("data/remove-me.txt", "remove me\n", 0o644)
            .dir("opaque", 0o755)
            .file("opaque/lower-a.txt", "lower a\n", 0o644)
            .dir("opaque/sub", 0o750)
            .file("opaque/sub/lower-b.txt", "lower b\n", 0o640)
            .dir("usr", 0o755)
            .dir("usr/share", 0o755)
            .file_owned("usr/share/secret", "s3cr3t\n", 0o600, 1000, 1000)
            .created_by("layer 1: base files");
        let l2 = LayerSpec::new()
            .dir("data", 0o755)
            .whiteout("data/remove-me.txt")
            .file("data/new.txt", "new in layer 2\n", 0o644)
            .dir("etc", 0o755)
            .file("etc/hostname", "sample-2\n", 0o644)
            .symlink("etc/abs-link", "/etc/hostname")
            .created_by("layer 2: whiteout data/remove-me.txt");
        let l3 = LayerSpec::new()
            .dir("opaque", 0o755)
            .opaque("opaque")
            .file("opaque/upper.txt", "upper\n", 0o644)
            .dir("var", 0o755)
            .dir("var/empty", 0o700)
            .created_by("layer 3: opaque opaque/");
        ImageSpec::new(vec![l1, l2, l3], compression)
    }

    /// Two small platform images for an index: linux/amd64 and
    /// linux/arm64/v8 (different content, so different digests).
    pub fn multiarch(compression: Compression) -> Vec<ImageSpec> {
        [("amd64", None), ("arm64", Some("v8"))]
            .iter()
            .map(|(arch, variant)| {
                let l1 = LayerSpec::new()
                    .dir("etc", 0o755)
                    .file("etc/arch", format!("{arch}\n"), 0o644)
                    .created_by("arch layer");
                let l2 = LayerSpec::new()
                    .dir("data", 0o755)
                    .file("data/shared.txt", "same in every platform\n", 0o644)
                    .created_by("shared layer");
                ImageSpec::new(vec![l1, l2], compression).platform("linux", arch, *variant)
            })
            .collect()
    }

    fn config_json(&self, diff_ids: &[String]) -> Vec<u8> {
        let mut cfg = serde_json::Map::new();
        if let Some(c) = &self.created {
            cfg.insert("created".into(), json!(c));
        }
        cfg.insert("architecture".into(), json!(self.arch));
        cfg.insert("os".into(), json!(self.os));
        if let Some(v) = &self.variant {
            cfg.insert("variant".into(), json!(v));
        }
        let mut config = serde_json::Map::new();
        config.insert("Env".into(), json!(self.env));
        config.insert("Cmd".into(), json!(self.cmd));
        config.insert("WorkingDir".into(), json!("/"));
        if !self.labels.is_empty() {
            let labels: serde_json::Map<String, Value> = self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            config.insert("Labels".into(), Value::Object(labels));
        }
        cfg.insert("config".into(), Value::Object(config));
        cfg.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": diff_ids}),
        );
        let history: Vec<Value> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut h = serde_json::Map::new();
                if let Some(c) = &self.created {
                    h.insert("created".into(), json!(c));
                }
                let by = l.created_by.clone().unwrap_or(format!("layer {}", i + 1));
                h.insert("created_by".into(), json!(by));
                Value::Object(h)
            })
            .collect();
        cfg.insert("history".into(), json!(history));
        serde_json::to_vec(&Value::Object(cfg)).unwrap()
    }

    /// Writes blobs (layers, config, manifest) without tagging.
    fn write_blobs(&self, layout: &Path) -> BuiltImage {
        init_layout(layout);
        let mut layers = Vec::new();
        for l in &self.layers {
            let tar = l.tar();
            let diff_id = sha256_digest(&tar);
            let blob = self.compression.compress(&tar);
            let (digest, size) = write_blob(layout, &blob);
            layers.push(BuiltLayer {
                digest,
                diff_id,
                size,
                tar_size: tar.len() as u64,
                media_type: self.compression.media_type().into(),
            });
        }
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
        let config = self.config_json(&diff_ids);
        let (config_digest, config_size) = write_blob(layout, &config);
        let mut manifest = serde_json::Map::new();
        manifest.insert("schemaVersion".into(), json!(2));
        manifest.insert("mediaType".into(), json!(OCI_MANIFEST));
        manifest.insert(
            "config".into(),
            json!({"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size}),
        );
        manifest.insert(
            "layers".into(),
            Value::Array(
                layers
                    .iter()
                    .map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size}))
                    .collect(),
            ),
        );
        if !self.annotations.is_empty() {
            let a: serde_json::Map<String, Value> = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            manifest.insert("annotations".into(), Value::Object(a));
        }
        let manifest = serde_json::to_vec(&Value::Object(manifest)).unwrap();
        let (manifest_digest, manifest_size) = write_blob(layout, &manifest);
        BuiltImage {
            layout_dir: layout.to_path_buf(),
            tag: String::new(),
            manifest_digest,
            manifest_size,
            manifest,
            config_digest,
            config_size,
            config,
            layers,
            os: self.os.clone(),
            arch: self.arch.clone(),
            variant: self.variant.clone(),
        }
    }

    /// Writes the image into the OCI layout `layout` (created if needed;
    /// other tags kept) as `tag`.
    pub fn build(&self, layout: &Path, tag: &str) -> BuiltImage {
        let mut img = self.write_blobs(layout);
        tag_in_layout(
            layout,
            tag,
            OCI_MANIFEST,
            &img.manifest_digest,
            img.manifest_size,
        );
        img.tag = tag.into();
        img
    }
}

/// Writes the images and an OCI image index over them (with `platform`
/// from each spec) into `layout`, tagged `tag`.
pub fn build_index(layout: &Path, tag: &str, specs: &[ImageSpec]) -> BuiltIndex {
    let images: Vec<BuiltImage> = specs.iter().map(|s| s.write_blobs(layout)).collect();
    let manifests: Vec<Value> = images
        .iter()
        .map(|i| {
            let mut platform = serde_json::Map::new();
            platform.insert("architecture".into(), json!(i.arch));
            platform.insert("os".into(), json!(i.os));
            if let Some(v) = &i.variant {
                platform.insert("variant".into(), json!(v));
            }
            json!({
                "mediaType": OCI_MANIFEST,
                "digest": i.manifest_digest,
                "size": i.manifest_size,
                "platform": Value::Object(platform),
            })
        })
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .unwrap();
    let (index_digest, index_size) = write_blob(layout, &index);
    tag_in_layout(layout, tag, OCI_INDEX, &index_digest, index_size);
    BuiltIndex {
        layout_dir: layout.to_path_buf(),
        tag: tag.into(),
        index_digest,
        index_size,
        index,
        images,
    }
}

// ---------------------------------------------------------------- skopeo

fn skopeo_copy(
    src: &str,
    registry: &Registry,
    dest: &str,
    extra: &[&str],
) -> Result<String, String> {
    let tmp = temp_dir();
    let digestfile = tmp.path().join("digest");
    let mut cmd = Command::new("skopeo");
    cmd.args(["--insecure-policy", "copy", "--quiet", "--retry-times", "0"])
        .arg("--digestfile")
        .arg(&digestfile)
        .args(extra)
        .args(registry.skopeo_args("dest-"))
        .arg(src)
        .arg(format!("docker://{}/{dest}", registry.host()));
    run(&mut cmd)?;
    let d = std::fs::read_to_string(&digestfile)
        .map_err(|e| format!("skopeo wrote no digest file: {e}"))?;
    Ok(d.trim().to_string())
}

fn oci_src(layout: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", layout.display())
}

/// Pushes `oci:<layout>:<tag>` to `docker://<registry>/<dest>` (`repo:tag`)
/// unchanged (`--preserve-digests`); returns the manifest digest (equal to
/// the layout's).
pub fn push_oci(
    layout: &Path,
    tag: &str,
    registry: &Registry,
    dest: &str,
) -> Result<String, String> {
    skopeo_copy(
        &oci_src(layout, tag),
        registry,
        dest,
        &["--preserve-digests"],
    )
}

/// Pushes an OCI index and all its images unchanged (`--all
/// --preserve-digests`); returns the index digest.
pub fn push_oci_all(
    layout: &Path,
    tag: &str,
    registry: &Registry,
    dest: &str,
) -> Result<String, String> {
    skopeo_copy(
        &oci_src(layout, tag),
        registry,
        dest,
        &["--all", "--preserve-digests"],
    )
}

/// Pushes the image converted to Docker schema2 (`--format v2s2`):
/// the manifest digest changes (and layer digests too for uncompressed or
/// zstd layers, which get gzip); returns the new manifest digest.
pub fn push_docker_v2s2(
    layout: &Path,
    tag: &str,
    registry: &Registry,
    dest: &str,
) -> Result<String, String> {
    skopeo_copy(&oci_src(layout, tag), registry, dest, &["--format", "v2s2"])
}

/// Pushes an OCI index as a Docker manifest list of schema2 images
/// (`--all --format v2s2`); returns the list digest.
pub fn push_docker_list(
    layout: &Path,
    tag: &str,
    registry: &Registry,
    dest: &str,
) -> Result<String, String> {
    skopeo_copy(
        &oci_src(layout, tag),
        registry,
        dest,
        &["--all", "--format", "v2s2"],
    )
}

/// Pushes the image as a signed Docker schema1 manifest (`--format v2s1`);
/// the registry needs `RegistryOptions::schema1`. Returns the digest the
/// registry stores (of the signed manifest as served).
pub fn push_docker_v2s1(
    layout: &Path,
    tag: &str,
    registry: &Registry,
    dest: &str,
) -> Result<String, String> {
    skopeo_copy(&oci_src(layout, tag), registry, dest, &["--format", "v2s1"])
}

/// `skopeo inspect docker://<registry>/<reference>` (JSON).
pub fn skopeo_inspect(registry: &Registry, reference: &str) -> Result<Value, String> {
    let out = run(Command::new("skopeo")
        .args(["--insecure-policy", "inspect", "--retry-times", "0"])
        .args(registry.skopeo_args(""))
        .arg(format!("docker://{}/{reference}", registry.host())))?;
    serde_json::from_str(&out).map_err(|e| format!("skopeo inspect output: {e}: {out}"))
}

/// `skopeo inspect --raw`: the manifest (or list) bytes as served; its
/// sha256 is the manifest digest.
pub fn skopeo_inspect_raw(registry: &Registry, reference: &str) -> Result<Vec<u8>, String> {
    let out = Command::new("skopeo")
        .args([
            "--insecure-policy",
            "inspect",
            "--raw",
            "--retry-times",
            "0",
        ])
        .args(registry.skopeo_args(""))
        .arg(format!("docker://{}/{reference}", registry.host()))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "skopeo inspect --raw failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// `skopeo inspect oci:<store_root>:<ref_name>` (JSON) — checks an OCI
/// layout store written by the code under test.
pub fn skopeo_inspect_oci(store_root: &Path, ref_name: &str) -> Result<Value, String> {
    let out = run(Command::new("skopeo")
        .args(["--insecure-policy", "inspect"])
        .arg(format!("oci:{}:{ref_name}", store_root.display())))?;
    serde_json::from_str(&out).map_err(|e| format!("skopeo inspect output: {e}: {out}"))
}

/// `umoci unpack --image <store_root>:<ref_name> <dest>` (as root): dest
/// gets `rootfs/` and `config.json`.
pub fn umoci_unpack(store_root: &Path, ref_name: &str, dest: &Path) -> Result<(), String> {
    run(Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:{ref_name}", store_root.display()))
        .arg(dest))
    .map(|_| ())
}

/// The reference result for an image of a layout: `skopeo copy` into a
/// fresh OCI layout, then `umoci unpack` into `dest`. Layers are stored
/// gzip there (`--dest-compress-format gzip`): umoci 0.4.7 cannot read
/// zstd layers ("blob is not correct mediatype").
pub fn reference_unpack(layout: &Path, tag: &str, dest: &Path) -> Result<(), String> {
    let tmp = temp_dir();
    let store = tmp.path().join("oci");
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--quiet"])
        .args(["--dest-compress-format", "gzip"])
        .arg(oci_src(layout, tag))
        .arg(format!("oci:{}:x", store.display())))?;
    umoci_unpack(&store, "x", dest)
}

/// The reference result for an image of a registry: `skopeo copy
/// docker://<registry>/<reference> oci:<tmp>:x` (gzip layers), then
/// `umoci unpack`.
pub fn reference_unpack_from_registry(
    registry: &Registry,
    reference: &str,
    dest: &Path,
) -> Result<(), String> {
    let tmp = temp_dir();
    let store = tmp.path().join("oci");
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--quiet", "--retry-times", "0"])
        .args(["--dest-compress-format", "gzip"])
        .args(registry.skopeo_args("src-"))
        .arg(format!("docker://{}/{reference}", registry.host()))
        .arg(format!("oci:{}:x", store.display())))?;
    umoci_unpack(&store, "x", dest)
}

// ---------------------------------------------------------- fingerprints

/// Describes every entry under `<dir>/rootfs` (or under `dir` when it has
/// no `rootfs/`), keyed by relative path: type, permission bits (with
/// setuid/setgid/sticky), owner, and for files size + sha256, for symlinks
/// the target; files sharing an inode get `hardlink=<first path of the
/// group>`. Timestamps are left out. Equal maps = identical trees.
pub fn tree_fingerprint(dir: &Path) -> BTreeMap<PathBuf, String> {
    let root = if dir.join("rootfs").is_dir() {
        dir.join("rootfs")
    } else {
        dir.to_path_buf()
    };
    let mut paths = Vec::new();
    collect(&root, &root, &mut paths);
    paths.sort();
    let mut inode_first: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for rel in paths {
        let full = root.join(&rel);
        let md = std::fs::symlink_metadata(&full).unwrap();
        let ft = md.file_type();
        let perms = md.mode() & 0o7777;
        let mut s = String::new();
        use std::os::unix::fs::FileTypeExt;
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_file() {
            "file"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "socket"
        };
        s.push_str(kind);
        if !ft.is_symlink() {
            s.push_str(&format!(" mode={perms:04o}"));
        }
        s.push_str(&format!(" uid={} gid={}", md.uid(), md.gid()));
        if ft.is_file() {
            let data = std::fs::read(&full).unwrap();
            s.push_str(&format!(" size={} {}", data.len(), sha256_digest(&data)));
            if md.nlink() > 1 {
                let first = inode_first
                    .entry((md.dev(), md.ino()))
                    .or_insert_with(|| rel.clone());
                s.push_str(&format!(" hardlink={}", first.display()));
            }
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&full).unwrap();
            s.push_str(&format!(" target={}", t.display()));
        } else if ft.is_char_device() || ft.is_block_device() {
            s.push_str(&format!(" rdev={}", md.rdev()));
        }
        out.insert(rel, s);
    }
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        out.push(p.strip_prefix(root).unwrap().to_path_buf());
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect(root, &p, out);
        }
    }
}

/// Lines describing how two fingerprints differ (empty when equal).
pub fn fingerprint_diff(
    expected: &BTreeMap<PathBuf, String>,
    actual: &BTreeMap<PathBuf, String>,
) -> Vec<String> {
    let mut d = Vec::new();
    for (p, e) in expected {
        match actual.get(p) {
            None => d.push(format!("missing {}: {e}", p.display())),
            Some(a) if a != e => d.push(format!("differs {}: expected {e}, got {a}", p.display())),
            _ => {}
        }
    }
    for (p, a) in actual {
        if !expected.contains_key(p) {
            d.push(format!("extra {}: {a}", p.display()));
        }
    }
    d
}

/// Panics with the differences when two unpacked trees differ.
pub fn assert_same_tree(expected_dir: &Path, actual_dir: &Path) {
    let d = fingerprint_diff(
        &tree_fingerprint(expected_dir),
        &tree_fingerprint(actual_dir),
    );
    assert!(d.is_empty(), "trees differ:\n{}", d.join("\n"));
}
