//! Filesystem helpers shared by every layer (credentials, the embedded
//! store, the daemon host's work directories), all returning `io::Error`:
//!
//! - [`mkdir_p`]: `mkdir -p` where each directory it creates gets exactly a
//!   mode, whatever the umask.
//! - [`private_subdir`], [`ensure_private_dir`], [`make_temp_dir`]: a
//!   directory that must not be a symbolic link, a 0700 directory that
//!   must stay so, and `mkdtemp` with an unpredictable name.
//! - [`create_new`], [`create_temp`], [`open_lock`], [`read_nofollow`]:
//!   files opened with `O_EXCL`/`O_NOFOLLOW`, so a symbolic link planted
//!   where a file goes is never followed; the error says so.
//! - [`write_atomic`], [`create_exclusive`]: replace a file, or create it
//!   only if missing, without ever showing a half-written one.

#![forbid(unsafe_code)]

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many names [`create_temp`] and [`make_temp_dir`] try before giving up.
const NAME_ATTEMPTS: u32 = 100;

/// `n` characters of `[A-Za-z0-9]` nobody can predict: `RandomState` is
/// keyed from the OS's random source once per process, and each call
/// mixes in a fresh state, the time and the process id.
pub fn random_name(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut name = String::with_capacity(n);
    while name.len() < n {
        let mut h = std::hash::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        let mut bits = h.finish();
        // 10 characters of 62 use 59.5 of the 64 bits
        for _ in 0..10.min(n - name.len()) {
            name.push(CHARS[(bits % CHARS.len() as u64) as usize] as char);
            bits /= CHARS.len() as u64;
        }
    }
    name
}

/// The error of an open that met a symbolic link (`ELOOP` from
/// `O_NOFOLLOW`, or `EEXIST` from `O_EXCL` on a link), said plainly.
fn planted_link(path: &Path, e: io::Error) -> io::Error {
    let is_link = fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if e.raw_os_error() == Some(libc::ELOOP) || is_link {
        io::Error::new(
            e.kind(),
            format!(
                "{} is a symbolic link: refusing to follow it; remove it (nothing should link there)",
                path.display()
            ),
        )
    } else {
        e
    }
}

/// `mkdir -p dir` where every directory it creates gets exactly `mode`
/// (set after creation, so the umask does not matter). Directories that
/// exist already keep their mode.
pub fn mkdir_p(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.is_dir()).collect();
    for d in missing.into_iter().rev() {
        if d.as_os_str().is_empty() {
            continue;
        }
        match DirBuilder::new().mode(mode).create(d) {
            Ok(()) => fs::set_permissions(d, Permissions::from_mode(mode))?,
            // another thread or process made it first: theirs stands
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `mkdir -p dir` (new directories 0700) where `dir` must be a directory
/// itself, not a symbolic link to one: the store's own subdirectories.
pub fn private_subdir(dir: &Path) -> io::Result<()> {
    mkdir_p(dir, 0o700)?;
    let m = fs::symlink_metadata(dir)?;
    if m.file_type().is_symlink() {
        return Err(planted_link(dir, io::Error::from_raw_os_error(libc::ELOOP)));
    }
    if !m.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory; remove it",
            dir.display()
        )));
    }
    Ok(())
}

/// iSulad's `makesure_isulad_tmpdir_perm_right`: `dir` is created (mode
/// 0700) when missing, replaced when it is not a directory (a symlink
/// included), must then have mode 0700 exactly and is given to root (when
/// we may).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            fs::remove_file(dir)?;
            mkdir_p(dir, 0o700)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => mkdir_p(dir, 0o700)?,
        Err(e) => return Err(e),
    }
    let m = fs::symlink_metadata(dir)?;
    if !m.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    let mode = m.permissions().mode() & 0o777;
    if mode != 0o700 {
        return Err(io::Error::other(format!(
            "its mode is {mode:04o}, not 0700"
        )));
    }
    match std::os::unix::fs::lchown(dir, Some(0), Some(0)) {
        Ok(()) => Ok(()),
        // not root (tests, rootless): the directory stays ours, 0700
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(e),
    }
}

/// `mkdtemp("<parent>/<prefix>XXXXXX")` with mode 0700.
pub fn make_temp_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    let mut last = None;
    for _ in 0..NAME_ATTEMPTS {
        let path = parent.join(format!("{prefix}{}", random_name(6)));
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {
                fs::set_permissions(&path, Permissions::from_mode(0o700))?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free name")))
}

/// Creates `path` for writing with exactly `mode`: `O_EXCL` (fails if
/// anything, a symbolic link included, is there) and `O_NOFOLLOW`.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| planted_link(path, e))?;
    // the umask may have removed bits from `mode`
    file.set_permissions(Permissions::from_mode(mode))?;
    Ok(file)
}

/// A new file `<dir>/<prefix><random>` (see [`create_new`]), and its path.
pub fn create_temp(dir: &Path, prefix: &str, mode: u32) -> io::Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..NAME_ATTEMPTS {
        let path = dir.join(format!("{prefix}{}", random_name(12)));
        match create_new(&path, mode) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free name")))
}

/// Opens the lock file `path`, creating it (exclusively, with `mode`) when
/// missing; an existing one is opened with `O_NOFOLLOW` and must be a
/// regular file.
pub fn open_lock(path: &Path, mode: u32) -> io::Result<File> {
    match create_new(path, mode) {
        Ok(file) => return Ok(file),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !is_symlink(path) => {}
        Err(e) => return Err(e),
    }
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| planted_link(path, e))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file; remove it",
            path.display()
        )));
    }
    Ok(file)
}

/// Opens `path` for reading and writing, creating it (exclusively, with
/// `mode`) when missing; an existing one is opened with `O_NOFOLLOW` and
/// must be a regular file. For files that outlive the process that wrote
/// them (a download to resume, a lock that records something).
pub fn open_rw(path: &Path, mode: u32) -> io::Result<File> {
    // another process may remove the file between the failed create and
    // the open (a lock file's last holder does): then it is created again
    let mut tries = 0;
    let file = loop {
        let created = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path);
        match created {
            Ok(file) => {
                file.set_permissions(Permissions::from_mode(mode))?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !is_symlink(path) => {}
            Err(e) => return Err(planted_link(path, e)),
        }
        let existing = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path);
        match existing {
            Ok(file) => break file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < OPEN_RACE_TRIES => tries += 1,
            Err(e) => return Err(planted_link(path, e)),
        }
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file; remove it",
            path.display()
        )));
    }
    Ok(file)
}

/// How often [`open_rw`] creates a file again that vanished between its
/// create and its open, before it gives up.
const OPEN_RACE_TRIES: u32 = 100;

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Reads `path` whole, refusing a symbolic link in its last component.
pub fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| planted_link(path, e))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// A temporary file next to its final destination; removed on drop unless
/// [`TempFile::keep`] was called.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates `<dir>/.<name>.tmp-<random>` with exactly `mode`, writes
    /// `contents` and fsyncs it.
    fn create(dest: &Path, contents: &[u8], mode: u32) -> io::Result<TempFile> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (mut file, path) = create_temp(parent_dir(dest), &format!(".{name}.tmp-"), mode)
            .map_err(|e| context("create a temporary file in", parent_dir(dest), e))?;
        let tmp = TempFile { path, armed: true };
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|e| context("write", &tmp.path, e))?;
        Ok(tmp)
    }

    fn keep(mut self) {
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

/// `e` with what was being done to which path, keeping its kind (and its
/// OS text, which the advice on full or read-only disks looks for).
fn context(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Best effort: make a rename or link in `dir` durable.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Atomically replaces `dest` with `contents` (mode `mode`): a temporary
/// file in the same directory, fsync, rename (which replaces a symbolic
/// link at `dest` rather than following it), fsync of the directory.
/// Nothing is left behind on error.
pub fn write_atomic(dest: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let tmp = TempFile::create(dest, contents, mode)?;
    fs::rename(&tmp.path, dest).map_err(|e| context("replace", dest, e))?;
    tmp.keep();
    sync_dir(parent_dir(dest));
    Ok(())
}

/// Creates `dest` with `contents` (mode `mode`) only if it does not exist
/// yet, without ever exposing a partially written file: the data goes to a
/// temporary file, which is then hard-linked to `dest` (failing if `dest`
/// exists). `Ok(false)` if `dest` already existed.
pub fn create_exclusive(dest: &Path, contents: &[u8], mode: u32) -> io::Result<bool> {
    let tmp = TempFile::create(dest, contents, mode)?;
    let created = match fs::hard_link(&tmp.path, dest) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        // filesystems without hard links: an exclusive create of `dest`
        Err(_) => match create_new(dest, mode) {
            Ok(mut file) => {
                if let Err(e) = file.write_all(contents).and_then(|()| file.sync_all()) {
                    let _ = fs::remove_file(dest);
                    return Err(context("write", dest, e));
                }
                true
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && !is_symlink(dest) => false,
            Err(e) => return Err(e),
        },
    };
    // dropping `tmp` removes the temporary name
    drop(tmp);
    sync_dir(parent_dir(dest));
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "isula-fsutil-{name}-{}-{}",
            std::process::id(),
            random_name(6)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode_of(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn mkdir_p_gives_every_new_directory_the_mode() {
        let dir = scratch("mkdir");
        fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        mkdir_p(&dir.join("a/b/c"), 0o700).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode_of(&dir.join(d)), 0o700, "{d}");
        }
        assert_eq!(mode_of(&dir), 0o755, "an existing directory keeps its mode");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn random_names_differ() {
        let names: std::collections::HashSet<_> = (0..1000).map(|_| random_name(12)).collect();
        assert_eq!(names.len(), 1000);
        assert!(
            names
                .iter()
                .all(|n| n.len() == 12 && n.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = scratch("links");
        let target = dir.join("target");
        fs::write(&target, b"precious").unwrap();
        let link = dir.join("link");
        symlink(&target, &link).unwrap();

        let e = create_new(&link, 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(
            e.to_string()
                .contains("is a symbolic link: refusing to follow it"),
            "{e}"
        );
        let e = open_lock(&link, 0o600).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a symbolic link: refusing to follow it"),
            "{e}"
        );
        let e = read_nofollow(&link).unwrap_err();
        assert!(
            e.to_string()
                .contains("is a symbolic link: refusing to follow it"),
            "{e}"
        );
        assert!(!create_exclusive(&link, b"x", 0o600).is_ok_and(|created| created));
        // replacing the path replaces the link, not what it points to
        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(!is_symlink(&link));
        assert_eq!(
            fs::read(&target).unwrap(),
            b"precious",
            "the target is untouched"
        );
        assert_eq!(fs::read(&link).unwrap(), b"new");

        let sub = dir.join("sub");
        symlink(&dir, &sub).unwrap();
        let e = private_subdir(&sub).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_get_exactly_their_mode_and_temp_files_go_away() {
        let dir = scratch("modes");
        let dest = dir.join("f");
        write_atomic(&dest, b"1", 0o600).unwrap();
        assert_eq!(mode_of(&dest), 0o600);
        write_atomic(&dest, b"2", 0o644).unwrap();
        assert_eq!(
            (fs::read(&dest).unwrap(), mode_of(&dest)),
            (b"2".to_vec(), 0o644)
        );
        assert!(create_exclusive(&dir.join("g"), b"g", 0o600).unwrap());
        assert!(!create_exclusive(&dir.join("g"), b"h", 0o600).unwrap());
        assert_eq!(
            fs::read(dir.join("g")).unwrap(),
            b"g",
            "an existing file is kept"
        );
        let lock = open_lock(&dir.join("lock"), 0o600).unwrap();
        drop(lock);
        open_lock(&dir.join("lock"), 0o600).unwrap();
        assert_eq!(mode_of(&dir.join("lock")), 0o600);
        let mut left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["f", "g", "lock"], "no temporary file is left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = scratch("fail");
        let e = write_atomic(&dir.join("missing/f"), b"x", 0o600).unwrap_err();
        assert!(
            e.to_string().contains("cannot create a temporary file in"),
            "{e}"
        );
        // a directory where the file goes: the rename fails, the temp file goes
        fs::create_dir(dir.join("d")).unwrap();
        fs::write(dir.join("d/inside"), b"").unwrap();
        let e = write_atomic(&dir.join("d"), b"x", 0o600).unwrap_err();
        assert!(e.to_string().contains("cannot replace"), "{e}");
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["d"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn private_dirs() {
        let dir = scratch("private");
        let p = dir.join("tmp");
        // a symlink where the private dir goes is replaced, not followed
        symlink(&dir, &p).unwrap();
        ensure_private_dir(&p).unwrap();
        assert!(fs::symlink_metadata(&p).unwrap().is_dir());
        assert_eq!(mode_of(&p), 0o700);
        fs::set_permissions(&p, Permissions::from_mode(0o755)).unwrap();
        let e = ensure_private_dir(&p).unwrap_err();
        assert!(e.to_string().contains("not 0700"), "{e}");
        let t = make_temp_dir(&dir, "registry-").unwrap();
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("registry-") && name.len() == "registry-".len() + 6);
        assert_eq!(mode_of(&t), 0o700);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A file removed and created again by another thread while
    /// `open_rw` opens it (a lock file whose holder removes it as others
    /// come): every open succeeds, never with "No such file or directory".
    #[test]
    fn open_rw_survives_the_file_being_removed_meanwhile() {
        let dir = scratch("race");
        let path = dir.join("x.lock");
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = fs::remove_file(&path);
                    let _ = fs::write(&path, b"");
                }
            });
            for _ in 0..50_000 {
                if let Err(e) = open_rw(&path, 0o600) {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    panic!("open_rw failed: {e}");
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        fs::remove_dir_all(&dir).unwrap();
    }
}
