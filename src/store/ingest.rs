//! Downloads in progress in a store, shared by every process that uses the
//! store and kept across a crash.
//!
//! - `.ingest/sha256-<hex>.data` holds the first bytes of blob `<hex>`, as
//!   far as they arrived. A process killed mid-download leaves it; the next
//!   pull of the blob resumes it instead of fetching those bytes again.
//! - `.ingest/sha256-<hex>.lock` is locked (`flock`) by the one process
//!   fetching the blob; the others wait for it and then reuse the finished
//!   data. The kernel drops the lock when its holder dies, however it dies,
//!   so a dead process never holds a blob. The lock file also records how
//!   much of the data can be trusted: the machine's boot id and the length
//!   last synced to disk. After a process crash (same boot) the page cache
//!   kept every byte written, so all of them are kept; after a reboot only
//!   the synced length is, and the tail beyond it is cut.
//!   A pull that kept the whole blob, verified, adds a second line with the
//!   layer's digests (`verified <size> <diff_id> <diff size> <compression>`),
//!   so that the pulls waiting for it link the data without reading it back
//!   to hash it; any later rewrite of the record drops that line.
//! - `.ingest/pull-<pid>-XXXXXX/` is a pull's own directory, locked while
//!   the pull lives; [`sweep`] removes those left unlocked (by dead pulls).
//!
//! A lock file is removed only by a holder of its lock, which is safe
//! because whoever locks it checks afterwards that the path still names the
//! file it locked (and else opens it again).

#![forbid(unsafe_code)]

use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::oci_layout::FILE_MODE;
use crate::digest::{Compression, Digested, LayerDigests};
use crate::fsutil;

/// The data is synced to disk (and its length recorded) every this many bytes.
pub const SYNC_EVERY: u64 = 8 << 20;

/// A partial blob no pull touched for this long is given up by the sweep
/// (its image is not being pulled any more).
pub const ABANDONED: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The record in a lock file: `<boot id> <synced length>`, fixed width so
/// that rewriting it in place leaves no stale tail.
const RECORD_LEN: usize = 36 + 1 + 20 + 1;
/// The longest a lock file with its verified line can be.
const MAX_LOCK_FILE: usize = 512;

/// This boot of the machine (empty when unknown: then nothing unsynced is
/// ever trusted).
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Locks the lock file `path` without waiting: `None` when another open
/// file (another process, or another pull of this one) holds it.
fn try_lock_path(path: &Path) -> io::Result<Option<File>> {
    loop {
        let file = fsutil::open_rw(path, FILE_MODE)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        // its last holder may have removed it between our open and lock:
        // then this lock guards nothing, and the path is opened again
        let (locked, named) = (file.metadata()?, fs::symlink_metadata(path));
        if let Ok(named) = named
            && (named.dev(), named.ino()) == (locked.dev(), locked.ino())
        {
            return Ok(Some(file));
        }
    }
}

/// The ingest of one blob, held (locked) by this pull: it alone writes the
/// data. Dropped without [`Claimed::keep`] (a failure, a cancel, a panic),
/// it removes the data and the lock file; a crash leaves both for the next
/// pull to resume.
#[derive(Debug)]
pub struct Claimed {
    lock: File,
    lock_path: PathBuf,
    data_path: PathBuf,
    boot: String,
    /// The data as of [`Claimed::prepare`], for the sync points.
    data: Mutex<Option<File>>,
    next_sync: AtomicU64,
    kept: bool,
}

/// `.ingest/sha256-<hex>.data` and `.lock` of a digest (checked by the caller).
fn paths(ingest: &Path, hex: &str) -> (PathBuf, PathBuf) {
    (
        ingest.join(format!("sha256-{hex}.data")),
        ingest.join(format!("sha256-{hex}.lock")),
    )
}

/// Claims blob `hex` in the ingest directory `ingest`: `None` while another
/// pull fetches it.
pub fn try_claim(ingest: &Path, hex: &str) -> io::Result<Option<Claimed>> {
    let (data_path, lock_path) = paths(ingest, hex);
    let Some(lock) = try_lock_path(&lock_path)? else {
        return Ok(None);
    };
    Ok(Some(Claimed {
        lock,
        lock_path,
        data_path,
        boot: boot_id(),
        data: Mutex::new(None),
        next_sync: AtomicU64::new(SYNC_EVERY),
        kept: false,
    }))
}

impl Claimed {
    /// Where the blob's bytes go (and the first of them may be already).
    pub fn path(&self) -> &Path {
        &self.data_path
    }

    fn record(&self) -> Option<(String, u64)> {
        let mut buf = [0u8; RECORD_LEN];
        let n = self.lock.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let (boot, len) = text.trim_end().split_once(' ')?;
        Some((boot.to_string(), len.trim().parse().ok()?))
    }

    fn write_record(&self, synced: u64) -> io::Result<()> {
        self.write_lock_file(&format!("{:<36} {synced:>20}\n", self.boot))
    }

    /// The whole lock file: a verified line the data no longer matches
    /// goes with any rewrite.
    fn write_lock_file(&self, text: &str) -> io::Result<()> {
        self.lock.write_all_at(text.as_bytes(), 0)?;
        self.lock.set_len(text.len() as u64)
    }

    /// The digests the pull that kept this blob whole recorded, when the
    /// data still has the length they cover: the blob is `digest` (the
    /// name of this ingest), and need not be read back to be hashed.
    pub fn verified(&self, digest: &str) -> Option<LayerDigests> {
        let mut buf = [0u8; MAX_LOCK_FILE];
        let n = self.lock.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let mut words = text.lines().nth(1)?.split(' ');
        if words.next()? != "verified" {
            return None;
        }
        let size: u64 = words.next()?.parse().ok()?;
        let diff = words.next()?;
        let diff_size: u64 = words.next()?.parse().ok()?;
        let compression = match words.next()? {
            "gzip" => Compression::Gzip,
            "zstd" => Compression::Zstd,
            "none" => Compression::None,
            _ => return None,
        };
        let hex = diff.strip_prefix("sha256:")?;
        let well_formed = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let held = fs::symlink_metadata(&self.data_path).ok()?.len();
        if !well_formed || words.next().is_some() || held != size {
            return None;
        }
        Some(LayerDigests {
            blob: Digested {
                digest: digest.to_string(),
                size,
            },
            diff: Digested {
                digest: diff.to_string(),
                size: diff_size,
            },
            compression,
        })
    }

    /// Cuts the data back to what can be trusted (see the module's text)
    /// and gives the length kept; creates the data file when missing.
    pub fn prepare(&self) -> io::Result<u64> {
        let data = fsutil::open_rw(&self.data_path, FILE_MODE)?;
        let len = data.metadata()?.len();
        let (trusted, synced) = match self.record() {
            // the writer died but the machine did not: the page cache has
            // every byte it wrote
            Some((boot, synced)) if !self.boot.is_empty() && boot == self.boot => {
                (len, synced.min(len))
            }
            Some((_, synced)) => (synced.min(len), synced.min(len)),
            // no record, no knowing what the bytes are
            None => (0, 0),
        };
        if trusted < len {
            data.set_len(trusted)?;
        }
        self.write_record(synced)?;
        self.next_sync
            .store(trusted.saturating_add(SYNC_EVERY), Ordering::Relaxed);
        *self.data.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
        Ok(trusted)
    }

    /// The download holds `held` bytes: at every [`SYNC_EVERY`] they are
    /// synced and the synced length recorded (best effort: a failure only
    /// means fewer bytes are trusted after a reboot).
    pub fn progress(&self, held: u64) {
        if held < self.next_sync.load(Ordering::Relaxed) {
            return;
        }
        let guard = self.data.lock().unwrap_or_else(|e| e.into_inner());
        let Some(data) = guard.as_ref() else { return };
        // bytes written before the sync began are on disk after it
        let Ok(len) = data.metadata().map(|m| m.len()) else {
            return;
        };
        if data.sync_data().is_ok() {
            let _ = self.write_record(len);
        }
        self.next_sync
            .store(len.saturating_add(SYNC_EVERY), Ordering::Relaxed);
    }

    /// The bytes so far were dropped (the download starts over).
    pub fn restarted(&self) {
        let _ = self.write_record(0);
        self.next_sync.store(SYNC_EVERY, Ordering::Relaxed);
    }

    /// The data stays, as far as it came, for the next pull of the blob;
    /// the lock goes.
    pub fn keep(mut self) {
        if let Ok(len) = fs::symlink_metadata(&self.data_path).map(|m| m.len()) {
            let _ = self.write_record(len);
        }
        self.kept = true;
    }

    /// The download is complete, verified and synced: the data stays for
    /// the other pulls waiting for it, with its digests (see
    /// [`Claimed::verified`]), and the lock goes.
    pub fn keep_verified(mut self, digests: &LayerDigests) {
        let compression = match digests.compression {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        };
        let _ = self.write_lock_file(&format!(
            "{:<36} {:>20}\nverified {} {} {} {compression}\n",
            self.boot, digests.blob.size, digests.blob.size, digests.diff.digest, digests.diff.size
        ));
        self.kept = true;
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.data_path);
            // removed while locked: see the module's text
            let _ = fs::remove_file(&self.lock_path);
        }
        // closing the file drops the lock
    }
}

/// A pull's own directory `.ingest/pull-<pid>-XXXXXX`, locked as long as
/// the returned file is open. `guard` is the store's lock, held shared
/// while the directory is made and locked so that [`sweep`] never sees it
/// unlocked.
pub fn pull_dir(ingest: &Path, guard: &File) -> io::Result<(PathBuf, File)> {
    guard.lock_shared()?;
    let made = (|| {
        let dir = fsutil::make_temp_dir(ingest, &format!("pull-{}-", std::process::id()))?;
        let lock = File::open(&dir)?;
        lock.lock()?;
        Ok((dir, lock))
    })();
    let _ = guard.unlock();
    made
}

/// Is `name` a temporary file of [`super::oci_layout::OciLayout::ingest`]
/// (`<pid>-<random>`)?
fn is_temp_file(name: &str) -> bool {
    name.split_once('-').is_some_and(|(pid, rest)| {
        !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Removes what dead processes left in the ingest directory `ingest`: their
/// pull directories (unlocked), their temporary files, and the ingests of
/// blobs `stored` says are in the store already. A partial blob no one holds
/// stays for the next pull of it to resume, unless it was left for
/// [`ABANDONED`]. The caller holds the store's lock
/// exclusively, so no temporary file is being written meanwhile.
pub fn sweep(ingest: &Path, stored: &dyn Fn(&str) -> bool) {
    let Ok(entries) = fs::read_dir(ingest) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if name.starts_with("pull-") && meta.is_dir() {
            let Ok(dir) = File::open(&path) else { continue };
            if dir.try_lock().is_ok() {
                let _ = fs::remove_dir_all(&path);
            }
        } else if is_temp_file(&name) && meta.is_file() {
            let _ = fs::remove_file(&path);
        } else if let Some(hex) = name
            .strip_prefix("sha256-")
            .and_then(|n| n.strip_suffix(".lock").or_else(|| n.strip_suffix(".data")))
            && (stored(hex)
                || meta
                    .modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > ABANDONED))
        {
            // the blob is stored, or its pulls gave up on it: its ingest is
            // of no use (dropped unkept)
            let _ = try_claim(ingest, hex);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "isula-ingest-{name}-{}-{}",
            std::process::id(),
            fsutil::random_name(6)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn one_holder_at_a_time_and_a_failure_leaves_nothing() {
        let dir = scratch("claim");
        let a = try_claim(&dir, "ab").unwrap().expect("free");
        assert!(try_claim(&dir, "ab").unwrap().is_none(), "held by a");
        assert!(
            try_claim(&dir, "cd").unwrap().is_some(),
            "another blob is free"
        );
        assert_eq!(a.prepare().unwrap(), 0);
        fs::write(a.path(), b"partial").unwrap();
        drop(a);
        assert_eq!(names(&dir), Vec::<String>::new(), "dropped unkept: removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// What a crash does: the files stay, the kernel drops the lock.
    fn crash(mut c: Claimed) {
        c.kept = true;
        drop(c);
    }

    #[test]
    fn kept_data_is_resumed_and_a_stale_record_cuts_the_tail() {
        let dir = scratch("resume");
        let a = try_claim(&dir, "ab").unwrap().unwrap();
        a.prepare().unwrap();
        fs::write(a.path(), vec![7u8; 1000]).unwrap();
        crash(a);
        let b = try_claim(&dir, "ab").unwrap().unwrap();
        assert_eq!(b.prepare().unwrap(), 1000, "same boot: every byte is kept");
        // as if written before a reboot, with 10 bytes synced
        b.lock
            .write_at(format!("{:<36} {:>20}\n", "another-boot", 10).as_bytes(), 0)
            .unwrap();
        crash(b);
        let c = try_claim(&dir, "ab").unwrap().unwrap();
        assert_eq!(c.prepare().unwrap(), 10, "the unsynced tail is cut");
        assert_eq!(fs::metadata(c.path()).unwrap().len(), 10);
        c.lock.write_at(&[b'x'; RECORD_LEN], 0).unwrap();
        crash(c);
        let d = try_claim(&dir, "ab").unwrap().unwrap();
        assert_eq!(
            d.prepare().unwrap(),
            0,
            "no readable record: nothing trusted"
        );
        drop(d);
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn digests(size: u64) -> LayerDigests {
        LayerDigests {
            blob: Digested {
                digest: "sha256:ab".into(),
                size,
            },
            diff: Digested {
                digest: format!("sha256:{}", "c".repeat(64)),
                size: 4 * size,
            },
            compression: Compression::Gzip,
        }
    }

    #[test]
    fn a_verified_ingest_is_taken_without_reading_it_until_it_changes() {
        let dir = scratch("verified");
        let a = try_claim(&dir, "ab").unwrap().unwrap();
        a.prepare().unwrap();
        fs::write(a.path(), vec![7u8; 1000]).unwrap();
        assert_eq!(a.verified("sha256:ab"), None, "nothing verified yet");
        a.keep_verified(&digests(1000));
        let b = try_claim(&dir, "ab").unwrap().unwrap();
        assert_eq!(b.verified("sha256:ab"), Some(digests(1000)));
        assert_eq!(b.prepare().unwrap(), 1000, "the record still reads");
        // any rewrite of the record (a restart, a sync point) drops it
        b.restarted();
        assert_eq!(b.verified("sha256:ab"), None);
        b.keep_verified(&digests(1000));
        // data of another length than the digests cover
        fs::write(dir.join("sha256-ab.data"), vec![7u8; 999]).unwrap();
        let c = try_claim(&dir, "ab").unwrap().unwrap();
        assert_eq!(c.verified("sha256:ab"), None, "the data changed");
        // a line that does not parse, or names no sha256, is ignored
        for bad in [
            "verified 999 sha256:xyz 4 gzip",
            "verified 999 md5:00 4 gzip",
            "verified 999 x 4 lzma",
            "verified 999",
        ] {
            c.write_lock_file(&format!("{:<36} {:>20}\n{bad}\n", c.boot, 999))
                .unwrap();
            assert_eq!(c.verified("sha256:ab"), None, "{bad}");
        }
        drop(c);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_sweep_removes_what_dead_pulls_left_and_nothing_alive() {
        let dir = scratch("sweep");
        let guard = fsutil::open_rw(&dir.join("index.lock"), FILE_MODE).unwrap();
        let (alive, alive_lock) = pull_dir(&dir, &guard).unwrap();
        let (dead, dead_lock) = pull_dir(&dir, &guard).unwrap();
        fs::write(dead.join("x"), b"x").unwrap();
        drop(dead_lock);
        fs::write(dir.join("123-abcDEF123456"), b"temp").unwrap();
        let held = try_claim(&dir, "aa").unwrap().unwrap();
        held.prepare().unwrap();
        let partial = try_claim(&dir, "bb").unwrap().unwrap();
        partial.prepare().unwrap();
        partial.keep();
        let stored_free = try_claim(&dir, "cc").unwrap().unwrap();
        stored_free.prepare().unwrap();
        stored_free.keep();
        let abandoned = try_claim(&dir, "dd").unwrap().unwrap();
        abandoned.prepare().unwrap();
        let long_ago = std::time::SystemTime::now() - ABANDONED - ABANDONED;
        for f in [&abandoned.data_path, &abandoned.lock_path] {
            File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        abandoned.keep();
        guard.lock().unwrap();
        sweep(&dir, &|hex| hex == "aa" || hex == "cc");
        guard.unlock().unwrap();
        let alive_name = alive.file_name().unwrap().to_string_lossy().into_owned();
        let mut want = vec![
            alive_name,
            "index.lock".to_string(),
            "sha256-aa.data".into(),
            "sha256-aa.lock".into(),
            "sha256-bb.data".into(),
            "sha256-bb.lock".into(),
        ];
        want.sort();
        assert_eq!(names(&dir), want);
        drop((held, alive_lock));
        fs::remove_dir_all(&dir).unwrap();
    }
}
