//! File helpers: `mkdir -p` with a mode, atomic replace, exclusive create.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::AuthsError;

/// `mkdir -p dir` where newly created directories get `mode`. When `dir`
/// itself is created its mode is set explicitly (independent of the umask);
/// the mode of an existing directory is left alone, as iSulad does.
pub(crate) fn mkdir_p(dir: &Path, mode: u32) -> Result<(), AuthsError> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| AuthsError::io("create directory", dir, e))?;
    fs::set_permissions(dir, Permissions::from_mode(mode))
        .map_err(|e| AuthsError::io("set the mode of directory", dir, e))
}

/// A temporary file next to its final destination; removed on drop unless
/// it was consumed by [`TempFile::finish`].
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates `<dir>/.<name>.tmp-<pid>-<unique>` with exactly `mode`, writes
    /// `contents` and fsyncs it.
    fn create(dest: &Path, contents: &[u8], mode: u32) -> Result<TempFile, AuthsError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent_dir(dest);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut attempt = 0u32;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(
                ".{name}.tmp-{}-{n}-{nanos:08x}",
                std::process::id()
            ));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(file) => {
                    let tmp = TempFile { path, armed: true };
                    tmp.fill(file, contents, mode)?;
                    return Ok(tmp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(AuthsError::io("create temporary file", &path, e)),
            }
        }
    }

    fn fill(&self, mut file: File, contents: &[u8], mode: u32) -> Result<(), AuthsError> {
        // The umask may have removed bits from `mode`; set it exactly.
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| AuthsError::io("set the mode of", &self.path, e))?;
        file.write_all(contents)
            .map_err(|e| AuthsError::io("write", &self.path, e))?;
        file.sync_all()
            .map_err(|e| AuthsError::io("sync", &self.path, e))
    }

    fn finish(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Best effort: make a rename/link in `dir` durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Atomically replace `dest` with `contents` (mode `mode`): temporary file in
/// the same directory, fsync, rename, fsync of the directory. Nothing is left
/// behind on error.
pub(crate) fn write_atomic(dest: &Path, contents: &[u8], mode: u32) -> Result<(), AuthsError> {
    let tmp = TempFile::create(dest, contents, mode)?;
    fs::rename(&tmp.path, dest).map_err(|e| AuthsError::io("replace", dest, e))?;
    tmp.finish();
    sync_dir(parent_dir(dest));
    Ok(())
}

/// Create `dest` with `contents` (mode `mode`) only if it does not exist yet,
/// without ever exposing a partially written file: the data is written to a
/// temporary file which is then hard-linked to `dest` (fails if `dest`
/// exists). Returns `Ok(false)` if `dest` already existed.
pub(crate) fn create_exclusive(
    dest: &Path,
    contents: &[u8],
    mode: u32,
) -> Result<bool, AuthsError> {
    let tmp = TempFile::create(dest, contents, mode)?;
    let created = match fs::hard_link(&tmp.path, dest) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(_) => {
            // Filesystems without hard links: fall back to an exclusive create
            // of the destination itself.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(dest)
            {
                Ok(mut file) => {
                    let res = file
                        .set_permissions(Permissions::from_mode(mode))
                        .and_then(|()| file.write_all(contents))
                        .and_then(|()| file.sync_all());
                    if let Err(e) = res {
                        let _ = fs::remove_file(dest);
                        return Err(AuthsError::io("write", dest, e));
                    }
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(AuthsError::io("create", dest, e)),
            }
        }
    };
    // `tmp` is dropped here, removing the temporary name.
    drop(tmp);
    sync_dir(parent_dir(dest));
    Ok(created)
}
