//! An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`)
//! that skopeo, umoci and podman read. Each pulled image is an `index.json`
//! entry annotated `org.opencontainers.image.ref.name`.
//!
//! Blobs arrive in `<root>/.ingest/` and are renamed into `blobs/` only
//! once verified, so a failed pull leaves nothing half-written behind.
//! `index.json` is rewritten atomically under a file lock, so concurrent
//! pulls (threads or processes) do not lose each other's entries.
//!
//! The store is private: directories it creates are 0700 and its files
//! 0600 whatever the umask; temporary files have unpredictable names and
//! are opened with `O_EXCL|O_NOFOLLOW`, the lock and `index.json` with
//! `O_NOFOLLOW`, so a symbolic link planted in the store is never followed
//! (the operation fails, naming the link).

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::ingest;
use crate::digest::sha256_of;
use crate::fsutil;

/// Mode of the directories the store creates (its root included).
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the store.
pub const FILE_MODE: u32 = 0o600;

/// The annotation that names an image in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content descriptor as `index.json` stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// An OCI image layout rooted at a directory.
#[derive(Clone, Debug)]
pub struct OciLayout {
    root: PathBuf,
}

fn hex_of(digest: &str) -> io::Result<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid digest {digest}"),
            )
        })
}

impl OciLayout {
    /// Opens the layout at `root`, creating an empty one if needed.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<OciLayout> {
        let layout = OciLayout { root: root.into() };
        // the root may be a link (to another disk); what is inside may not
        fsutil::mkdir_p(&layout.root, DIR_MODE)?;
        for sub in ["blobs", "blobs/sha256", ".ingest"] {
            fsutil::private_subdir(&layout.root.join(sub))?;
        }
        let marker = layout.root.join("oci-layout");
        if fs::symlink_metadata(&marker).is_err() {
            fsutil::write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#, FILE_MODE)?;
        }
        let index = layout.root.join("index.json");
        if fs::symlink_metadata(&index).is_err() {
            let _lock = layout.lock()?;
            if fs::symlink_metadata(&index).is_err() {
                fsutil::write_atomic(&index, br#"{"schemaVersion":2,"manifests":[]}"#, FILE_MODE)?;
            }
        }
        Ok(layout)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob with this digest lives (whether or not it exists).
    pub fn blob_path(&self, digest: &str) -> io::Result<PathBuf> {
        Ok(self.root.join("blobs/sha256").join(hex_of(digest)?))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        // a link planted in blobs/ is not a blob
        self.blob_path(digest)
            .is_ok_and(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
    }

    fn ingest_dir(&self) -> PathBuf {
        self.root.join(".ingest")
    }

    /// Claims the ingest of blob `digest` (see [`ingest`]): `None` while
    /// another pull, of this process or another, fetches it.
    pub fn claim(&self, digest: &str) -> io::Result<Option<ingest::Claimed>> {
        ingest::try_claim(&self.ingest_dir(), hex_of(digest)?)
    }

    /// A new directory for one pull's downloads, and the open file that
    /// keeps it locked (so [`OciLayout::sweep`] leaves it alone) until closed.
    pub fn pull_dir(&self) -> io::Result<(PathBuf, File)> {
        let guard = fsutil::open_lock(&self.ingest_dir().join("index.lock"), FILE_MODE)?;
        ingest::pull_dir(&self.ingest_dir(), &guard)
    }

    /// Removes what dead processes left: their download directories and
    /// temporary files, the ingests of blobs stored meanwhile, and
    /// temporary copies of `index.json`. Best effort, and skipped while
    /// another process writes to the store's index or sweeps.
    pub fn sweep(&self) {
        let Ok(guard) = fsutil::open_lock(&self.ingest_dir().join("index.lock"), FILE_MODE) else {
            return;
        };
        if guard.try_lock().is_err() {
            return;
        }
        ingest::sweep(&self.ingest_dir(), &|hex| {
            self.has_blob(&format!("sha256:{hex}"))
        });
        // `index.json` is only written under this lock: these are a dead writer's
        if let Ok(entries) = fs::read_dir(&self.root) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(".index.json.tmp-")
                {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// A new temporary file for an incoming blob (`.ingest/<pid>-<random>`,
    /// mode 0600), and its path. Hold the store's lock shared while it is
    /// written, as `put_blob` does: [`OciLayout::sweep`] takes such files
    /// for a dead process's.
    pub fn ingest(&self) -> io::Result<(File, PathBuf)> {
        let prefix = format!("{}-", std::process::id());
        fsutil::create_temp(&self.root.join(".ingest"), &prefix, FILE_MODE)
    }

    /// Moves a verified ingest file to its place in `blobs/`, mode 0600
    /// (whoever created it and whatever the umask was).
    pub fn commit_blob(&self, ingest: &Path, digest: &str) -> io::Result<PathBuf> {
        let target = self.blob_path(digest)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(ingest)?;
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
        fs::rename(ingest, &target)?;
        Ok(target)
    }

    /// Stores small content (a manifest, a config) under its sha256.
    pub fn put_blob(&self, data: &[u8]) -> io::Result<String> {
        let digest = sha256_of(data);
        if !self.has_blob(&digest) {
            // the sweep leaves temporary files alone while this is held
            let guard = fsutil::open_lock(&self.ingest_dir().join("index.lock"), FILE_MODE)?;
            guard.lock_shared()?;
            let (mut file, path) = self.ingest()?;
            let written = file.write_all(data).and_then(|()| file.sync_all());
            if let Err(e) = written {
                let _ = fs::remove_file(&path);
                return Err(e);
            }
            self.commit_blob(&path, &digest)?;
        }
        Ok(digest)
    }

    pub fn read_blob(&self, digest: &str) -> io::Result<Vec<u8>> {
        fsutil::read_nofollow(&self.blob_path(digest)?)
    }

    /// Names `manifest` as `name` in `index.json`, replacing what had the
    /// name before.
    pub fn tag(&self, name: &str, manifest: &Descriptor) -> io::Result<()> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let entries = index_entries(&mut index)?;
        entries.retain(|e| e["annotations"][REF_NAME].as_str() != Some(name));
        entries.push(json!({
            "mediaType": manifest.media_type,
            "digest": manifest.digest,
            "size": manifest.size,
            "annotations": { REF_NAME: name },
        }));
        let text = serde_json::to_vec(&index).map_err(io::Error::other)?;
        fsutil::write_atomic(&self.root.join("index.json"), &text, FILE_MODE)
    }

    /// The manifest named `name`, if any.
    pub fn find(&self, name: &str) -> io::Result<Option<Descriptor>> {
        let mut index = self.read_index()?;
        let found = index_entries(&mut index)?
            .iter()
            .find(|e| e["annotations"][REF_NAME].as_str() == Some(name))
            .map(|e| Descriptor {
                media_type: e["mediaType"].as_str().unwrap_or_default().to_string(),
                digest: e["digest"].as_str().unwrap_or_default().to_string(),
                size: e["size"].as_u64().unwrap_or(0),
            });
        Ok(found)
    }

    fn read_index(&self) -> io::Result<Value> {
        let path = self.root.join("index.json");
        let text = fsutil::read_nofollow(&path)?;
        serde_json::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not valid JSON ({e}); fix or remove it",
                    path.display()
                ),
            )
        })
    }

    /// Serialises writers of `index.json` across threads and processes.
    fn lock(&self) -> io::Result<File> {
        let file = fsutil::open_lock(&self.root.join(".ingest/index.lock"), FILE_MODE)?;
        file.lock()?;
        Ok(file)
    }
}

fn index_entries(index: &mut Value) -> io::Result<&mut Vec<Value>> {
    if index.get("manifests").is_none() {
        index["manifests"] = json!([]);
    }
    index["manifests"].as_array_mut().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "index.json: manifests is not an array",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("isula-oci-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn blobs_and_tags_round_trip() {
        let root = temp_root("roundtrip");
        let layout = OciLayout::open(&root).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        let digest = layout.put_blob(b"{}").unwrap();
        assert_eq!(digest, sha256_of(b"{}"));
        assert_eq!(layout.read_blob(&digest).unwrap(), b"{}");
        let desc = Descriptor {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest,
            size: 2,
        };
        layout.tag("a:1", &desc).unwrap();
        layout.tag("b:1", &desc).unwrap();
        layout.tag("a:1", &desc).unwrap();
        let index: Value =
            serde_json::from_slice(&fs::read(root.join("index.json")).unwrap()).unwrap();
        let names: Vec<_> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["annotations"][REF_NAME].clone())
            .collect();
        assert_eq!(
            names,
            [json!("b:1"), json!("a:1")],
            "a re-tag replaces the old entry"
        );
        assert_eq!(layout.find("a:1").unwrap(), Some(desc));
        assert_eq!(layout.find("c:1").unwrap(), None);
        let leftovers: Vec<_> = fs::read_dir(root.join(".ingest"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["index.lock"], "no temp files left");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn concurrent_tags_are_all_kept() {
        let root = temp_root("concurrent");
        let layout = OciLayout::open(&root).unwrap();
        let digest = layout.put_blob(b"m").unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let (layout, digest) = (layout.clone(), digest.clone());
                s.spawn(move || {
                    let d = Descriptor {
                        media_type: "x".into(),
                        digest,
                        size: 1,
                    };
                    layout.tag(&format!("img:{i}"), &d).unwrap();
                });
            }
        });
        for i in 0..8 {
            assert!(
                layout.find(&format!("img:{i}")).unwrap().is_some(),
                "img:{i} lost"
            );
        }
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn invalid_digest_is_refused() {
        let root = temp_root("invalid");
        let layout = OciLayout::open(&root).unwrap();
        assert!(layout.blob_path("sha256:../../etc").is_err());
        assert!(layout.blob_path("md5:abc").is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
