//! What a pooled connection was verified with, so that it is reused only
//! for the same TLS material.
//!
//! libcurl keeps a thread's connections, TLS sessions and parsed CA store
//! across requests, and matches them to a new request by the CA file's
//! *path* and the verify flags: a CA file replaced at the same path would
//! go on trusting what the old one trusted, on connections opened earlier
//! and for up to a day in the cached store. So each thread handle records,
//! per https origin, a [`Material`]: the verify flags and, for each file,
//! its identity (device, inode, size, times) and a hash of its content.
//! When the material an origin is asked with differs from what the handle
//! used for it, or a file differs from what the handle read at that path
//! for any origin (the cached CA store is shared by path), the handle is
//! dropped (closing every connection it keeps, its sessions and its CA
//! store) and a new one takes its place.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Tls;

/// Files up to this size are hashed; beyond it (no CA bundle or key is
/// that big) the identity alone tells a change.
const HASH_LIMIT: u64 = 4 << 20;

/// One TLS file as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    /// None: missing or unreadable (libcurl will say so).
    identity: Option<Identity>,
    hash: Option<[u8; 32]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Stamp {
        let identity = fs::metadata(path).ok().map(|m| Identity {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        });
        let hash = identity
            .as_ref()
            .filter(|i| i.len <= HASH_LIMIT)
            .and_then(|_| hash_file(path));
        Stamp {
            path: path.to_path_buf(),
            identity,
            hash,
        }
    }
}

fn hash_file(path: &Path) -> Option<[u8; 32]> {
    let mut data = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(HASH_LIMIT + 1)
        .read_to_end(&mut data)
        .ok()?;
    Some(Sha256::digest(&data).into())
}

/// The TLS material of a request: flags and files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Material {
    verify_peer: bool,
    verify_host: bool,
    ca: Option<Stamp>,
    cert: Option<Stamp>,
    key: Option<Stamp>,
}

impl Material {
    fn files(&self) -> impl Iterator<Item = &Stamp> {
        [&self.ca, &self.cert, &self.key].into_iter().flatten()
    }

    pub(super) fn of(tls: &Tls<'_>) -> Material {
        Material {
            verify_peer: tls.verify_peer,
            verify_host: tls.verify_host,
            ca: tls.ca_file.map(Stamp::of),
            cert: tls.cert_file.map(Stamp::of),
            key: tls.key_file.map(Stamp::of),
        }
    }
}

/// The material a handle used, per https origin (`host[:port]`), and each
/// file as it was when the handle last read it.
#[derive(Debug, Default)]
pub(super) struct Used {
    by_origin: HashMap<String, Material>,
    files: HashMap<PathBuf, Stamp>,
}

impl Used {
    /// Records `material` for `origin`; true when the handle used other
    /// material for that origin before, or one of these files (at the same
    /// path) as it was before: the handle must not be reused.
    pub(super) fn changes(&mut self, origin: &str, material: Material) -> bool {
        let changed = self
            .by_origin
            .get(origin)
            .is_some_and(|old| *old != material)
            || material
                .files()
                .any(|f| self.files.get(&f.path).is_some_and(|old| old != f));
        for f in material.files() {
            self.files.insert(f.path.clone(), f.clone());
        }
        self.by_origin.insert(origin.to_string(), material);
        changed
    }

    /// Forgets everything but `origin` and its files (the handle was
    /// replaced).
    pub(super) fn keep_only(&mut self, origin: &str) {
        self.by_origin.retain(|o, _| o == origin);
        let kept: Vec<Stamp> = self
            .by_origin
            .values()
            .flat_map(|m| m.files().cloned())
            .collect();
        self.files = kept.into_iter().map(|f| (f.path.clone(), f)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(ca: &Path, verify: bool) -> Tls<'_> {
        Tls {
            verify_peer: verify,
            verify_host: verify,
            ca_file: Some(ca),
            ..Tls::default()
        }
    }

    #[test]
    fn same_material_is_no_change_and_any_difference_is() {
        let dir = std::env::temp_dir().join(format!("isula-tls-material-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.crt");
        fs::write(&ca, "A").unwrap();
        let mut used = Used::default();
        assert!(!used.changes("reg:5000", Material::of(&tls(&ca, true))));
        assert!(!used.changes("reg:5000", Material::of(&tls(&ca, true))));
        // another origin has its own record
        assert!(!used.changes("other:443", Material::of(&tls(&ca, false))));
        assert!(used.changes("reg:5000", Material::of(&tls(&ca, false))));
        assert!(!used.changes("reg:5000", Material::of(&tls(&ca, false))));
        // same size, same path, rewritten in place: the content tells
        fs::write(&ca, "B").unwrap();
        assert!(used.changes("reg:5000", Material::of(&tls(&ca, false))));
        fs::remove_file(&ca).unwrap();
        assert!(used.changes("reg:5000", Material::of(&tls(&ca, false))));
        used.keep_only("reg:5000");
        assert!(!used.changes("other:443", Material::of(&tls(&ca, false))));
        // a file read for one origin, changed, then asked for another
        // origin the handle never saw: libcurl's CA store is cached by path
        fs::write(&ca, "C").unwrap();
        assert!(used.changes("third:8443", Material::of(&tls(&ca, false))));
        fs::remove_dir_all(&dir).unwrap();
    }
}
