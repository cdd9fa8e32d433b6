//! Stored registry credentials: auths.json and its AES key (iSulad-compatible).
//!
//! Replaces iSulad's `auths.c`, `aes.c` and the parts of `utils_aes.c` they
//! use. The file formats are byte-compatible with iSulad v2.1.6, weak
//! parts included (see `auths::aes`): `<dir>/aeskey` holds the AES-256 key (first
//! 32 bytes), `<dir>/auths.json` maps hosts to
//! `base64(IV ‖ AES-256-CFB128(base64("user:password")))`.
//!
//! Improvements over iSulad: passwords may contain ':' (`auths.c` split the
//! decoded value with `strtok(":")`); a corrupt
//! auths.json is reported instead of being silently replaced on save; key and
//! auths files are written atomically (temporary file, fsync, rename).
//! Like iSulad there is no lock around the read-modify-write of auths.json.

#![forbid(unsafe_code)]

mod aes;
mod json;
mod secret;

use crate::fsutil;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use aes::{
    AES_256_CFB_IV_LEN, AES_256_CFB_KEY_LEN, AesKey, MAX_AUTH_PLAIN_LEN, aes_decode,
    aes_decode_with_key, aes_encode, aes_encode_with_key, decrypt_auth, encrypt_auth, load_key,
    load_or_create_key,
};
pub use secret::{Secret, Wipe};

/// Default credentials directory (`DEFAULT_AUTH_DIR`).
pub const DEFAULT_AUTH_DIR: &str = "/root/.isulad";
/// Mode of a created credentials directory (`DEFAULT_AUTH_DIR_MODE`).
pub const AUTH_DIR_MODE: u32 = 0o700;
/// File name of the credentials file (`AUTH_FILE_NAME`).
pub const AUTH_FILE_NAME: &str = "auths.json";
/// Mode of auths.json (`AUTH_FILE_MODE`).
pub const AUTH_FILE_MODE: u32 = 0o600;
/// File name of the AES key (`AUTH_AESKEY_NAME`).
pub const AUTH_AESKEY_NAME: &str = "aeskey";
/// Mode of the AES key file.
pub const AUTH_AESKEY_FILE_MODE: u32 = 0o600;
/// Maximum number of hosts in auths.json (`MAX_AUTHS_LEN`).
pub const MAX_AUTHS_LEN: usize = 65536;

/// Errors of the credentials store. Messages say what went wrong and what
/// the user can do about it.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthsError {
    /// A file system operation failed.
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// auths.json is not JSON.
    InvalidJson { path: PathBuf, reason: String },
    /// auths.json is JSON but not of the expected shape.
    InvalidLayout { path: PathBuf, reason: String },
    /// auths.json already holds [`MAX_AUTHS_LEN`] hosts.
    TooManyEntries { path: PathBuf },
    /// The AES key file is missing (needed to decrypt).
    KeyMissing { path: PathBuf },
    /// The AES key file holds fewer than 32 bytes.
    KeyTooShort { path: PathBuf, len: usize },
    /// Unusable host, user name or password given by the caller.
    InvalidInput(String),
    /// An encrypted value (auth string or `aes_decode` input) cannot be
    /// decoded.
    Decode(String),
    /// A stored entry cannot be decoded (wraps a [`AuthsError::Decode`] or
    /// crypto reason).
    BadEntry {
        path: PathBuf,
        host: String,
        key_path: PathBuf,
        reason: String,
    },
    /// OpenSSL failed.
    Crypto {
        what: &'static str,
        source: openssl::error::ErrorStack,
    },
}

impl AuthsError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        AuthsError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for AuthsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthsError::Io {
                action,
                path,
                source,
            } => {
                write!(
                    f,
                    "failed to {action} {}: {source}; check the path and its permissions",
                    path.display()
                )
            }
            AuthsError::InvalidJson { path, reason } => {
                write!(
                    f,
                    "auths file {} is not valid JSON: {reason}; fix or remove it",
                    path.display()
                )
            }
            AuthsError::InvalidLayout { path, reason } => write!(
                f,
                "auths file {} is not in the expected format ({{\"auths\": {{\"<host>\": {{\"auth\": \"...\"}}}}}}): {reason}; fix or remove it",
                path.display()
            ),
            AuthsError::TooManyEntries { path } => write!(
                f,
                "auths file {} already holds {MAX_AUTHS_LEN} hosts; log out of some registries first",
                path.display()
            ),
            AuthsError::KeyMissing { path } => write!(
                f,
                "AES key file {} does not exist, so stored credentials cannot be decrypted; restore it, or log in again",
                path.display()
            ),
            AuthsError::KeyTooShort { path, len } => write!(
                f,
                "AES key file {} holds {len} bytes but at least {AES_256_CFB_KEY_LEN} are needed; restore it, or remove it together with {AUTH_FILE_NAME} and log in again",
                path.display()
            ),
            AuthsError::InvalidInput(reason) => write!(f, "invalid credentials: {reason}"),
            AuthsError::Decode(reason) => {
                write!(f, "cannot decode encrypted credentials: {reason}")
            }
            AuthsError::BadEntry {
                path,
                host,
                key_path,
                reason,
            } => write!(
                f,
                "credentials for {host} in {} cannot be decoded: {reason}; was the AES key file {} changed? \
                 log in to {host} again or remove its entry",
                path.display(),
                key_path.display()
            ),
            AuthsError::Crypto { what, source } => write!(f, "{what} failed: {source}"),
        }
    }
}

impl std::error::Error for AuthsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthsError::Io { source, .. } => Some(source),
            AuthsError::Crypto { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The credentials store in one directory: `<dir>/auths.json` and
/// `<dir>/aeskey` (iSulad's `auths_set_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthStore {
    dir: PathBuf,
}

impl Default for AuthStore {
    /// The store in [`DEFAULT_AUTH_DIR`].
    fn default() -> Self {
        AuthStore::new(DEFAULT_AUTH_DIR)
    }
}

impl AuthStore {
    /// A store in `dir` (created on the first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        AuthStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/auths.json`.
    pub fn auths_path(&self) -> PathBuf {
        self.dir.join(AUTH_FILE_NAME)
    }

    /// `<dir>/aeskey`.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(AUTH_AESKEY_NAME)
    }

    /// Entries of auths.json; `None` if the file does not exist.
    fn read_entries(&self, path: &Path) -> Result<Option<json::Entries>, AuthsError> {
        match fs::read(path) {
            Ok(data) => json::parse(path, &data).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuthsError::io("read auths file", path, e)),
        }
    }

    /// Credentials for `host` (exact, case-sensitive match): `Ok(None)` if
    /// the file does not exist or has no entry for `host`.
    pub fn load(&self, host: &str) -> Result<Option<(String, String)>, AuthsError> {
        let path = self.auths_path();
        let Some(entries) = self.read_entries(&path)? else {
            return Ok(None);
        };
        let Some((_, auth)) = entries.iter().find(|(h, _)| h == host) else {
            return Ok(None);
        };
        let key_path = self.key_path();
        let key = load_key(&key_path)?;
        decrypt_auth(&key, auth).map(Some).map_err(|e| match e {
            AuthsError::Decode(reason) => AuthsError::BadEntry {
                path,
                host: host.to_string(),
                key_path,
                reason,
            },
            AuthsError::Crypto { what, source } => AuthsError::BadEntry {
                path,
                host: host.to_string(),
                key_path,
                reason: format!("{what} failed: {source}"),
            },
            other => other,
        })
    }

    /// Store credentials for `host` (iSulad's `auths_save`): creates the
    /// directory (0700) and the key file if needed, updates an existing
    /// entry in place or appends a new one, and atomically replaces
    /// auths.json (0600). An unparsable existing file is an error (iSulad
    /// silently dropped all entries).
    pub fn save(&self, host: &str, user: &str, password: &str) -> Result<(), AuthsError> {
        if host.is_empty() {
            return Err(AuthsError::InvalidInput(
                "the registry host is empty".to_string(),
            ));
        }
        let path = self.auths_path();
        // Parse first so that a corrupt file is reported before anything is
        // created.
        let mut entries = self.read_entries(&path)?.unwrap_or_default();
        fsutil::mkdir_p(&self.dir, AUTH_DIR_MODE)
            .map_err(|e| AuthsError::io("create directory", &self.dir, e))?;
        let key = load_or_create_key(&self.key_path())?;
        let auth = encrypt_auth(&key, user, password)?;
        if let Some((_, old)) = entries.iter_mut().find(|(h, _)| h == host) {
            *old = auth;
        } else if entries.len() >= MAX_AUTHS_LEN {
            return Err(AuthsError::TooManyEntries { path });
        } else {
            entries.push((host.to_string(), auth));
        }
        fsutil::write_atomic(&path, json::render(&entries).as_bytes(), AUTH_FILE_MODE)
            .map_err(|e| AuthsError::io("write", &path, e))
    }

    /// Remove the entry for `host`: `Ok(true)` if it was removed, `Ok(false)`
    /// if the file or the entry does not exist (the file is then untouched).
    pub fn delete(&self, host: &str) -> Result<bool, AuthsError> {
        let path = self.auths_path();
        let Some(mut entries) = self.read_entries(&path)? else {
            return Ok(false);
        };
        let Some(pos) = entries.iter().position(|(h, _)| h == host) else {
            return Ok(false);
        };
        entries.remove(pos);
        fsutil::write_atomic(&path, json::render(&entries).as_bytes(), AUTH_FILE_MODE)
            .map_err(|e| AuthsError::io("write", &path, e))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicU32, Ordering};

    const KEY: &str = "b521283230d0b4703af8b7512999d21d";
    const AUTH: &str = "ZjJlMjg0YTA0MjQ5ZjAwNQCdEtcSsbEsT/I22c/Sx925pmMS";

    /// A unique temporary directory, removed on drop. The store lives in a
    /// not yet existing subdirectory `auth` so that its creation is tested.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new(name: &str) -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "isula-registry-auths-{}-{}-{name}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TestDir(dir)
        }
        fn store(&self) -> AuthStore {
            AuthStore::new(self.0.join("auth"))
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn one_host_file(host: &str, auth: &str) -> String {
        format!(
            "{{\n    \"auths\": {{\n        \"{host}\": {{\n            \"auth\": \"{auth}\"\n        }}\n    }}\n}}\n"
        )
    }

    #[test]
    fn auths_store_test_vector_from_files() {
        let t = TestDir::new("vector");
        let s = t.store();
        fs::create_dir_all(s.dir()).unwrap();
        fs::write(s.key_path(), KEY).unwrap();
        fs::write(s.auths_path(), one_host_file("myreg:5000", AUTH)).unwrap();
        assert_eq!(
            s.load("myreg:5000").unwrap(),
            Some(("alice".to_string(), "s3cr3t!pw".to_string()))
        );
        // Host match is exact and case-sensitive.
        assert_eq!(s.load("MYREG:5000").unwrap(), None);
        assert_eq!(s.load("myreg").unwrap(), None);
    }

    #[test]
    fn auths_store_save_load_round_trip_and_modes() {
        let t = TestDir::new("roundtrip");
        let s = t.store();
        assert!(!s.dir().exists());
        s.save("myreg:5000", "alice", "s3cr3t!pw").unwrap();
        assert_eq!(
            s.load("myreg:5000").unwrap(),
            Some(("alice".to_string(), "s3cr3t!pw".to_string()))
        );

        assert_eq!(mode(s.dir()), 0o700);
        assert_eq!(mode(&s.auths_path()), 0o600);
        assert_eq!(mode(&s.key_path()), 0o600);
        let key = fs::read(s.key_path()).unwrap();
        assert_eq!(key.len(), 32);
        assert!(
            key.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{key:?}"
        );

        // The file has the one-host layout; its auth decrypts with the key.
        let text = read(&s.auths_path());
        let auth = text.split('"').nth(7).unwrap().to_string();
        assert_eq!(text, one_host_file("myreg:5000", &auth));
        let key: [u8; 32] = key.try_into().unwrap();
        assert_eq!(decrypt_auth(&key, &auth).unwrap().1, "s3cr3t!pw");

        // No temporary files left behind.
        assert_eq!(dir_names(s.dir()), vec!["aeskey", "auths.json"]);

        // A second save reuses the key.
        s.save("other", "bob", "pw").unwrap();
        assert_eq!(fs::read(s.key_path()).unwrap(), key);
        assert_eq!(dir_names(s.dir()), vec!["aeskey", "auths.json"]);
    }

    #[test]
    fn auths_store_existing_key_is_used_for_save() {
        let t = TestDir::new("existingkey");
        let s = t.store();
        fs::create_dir_all(s.dir()).unwrap();
        fs::write(s.key_path(), format!("{KEY}\nextra")).unwrap();
        s.save("h", "alice", "s3cr3t!pw").unwrap();
        let text = read(&s.auths_path());
        let auth = text.split('"').nth(7).unwrap();
        assert_eq!(
            decrypt_auth(KEY.as_bytes().try_into().unwrap(), auth)
                .unwrap()
                .0,
            "alice"
        );
        assert_eq!(read(&s.key_path()), format!("{KEY}\nextra"));
    }

    #[test]
    fn auths_store_two_hosts_order_update_and_delete() {
        let t = TestDir::new("order");
        let s = t.store();
        s.save("zeta.io", "u1", "p1").unwrap();
        s.save("alpha.io/x", "u2", "p2").unwrap();
        let text = read(&s.auths_path());
        let parts: Vec<&str> = text.split('"').collect();
        let (a1, a2) = (parts[7].to_string(), parts[13].to_string());
        assert_eq!(
            text,
            format!(
                "{{\n    \"auths\": {{\n        \"zeta.io\": {{\n            \"auth\": \"{a1}\"\n        }},\n        \
                 \"alpha.io/x\": {{\n            \"auth\": \"{a2}\"\n        }}\n    }}\n}}\n"
            )
        );

        // Update in place keeps the order, changes only that entry.
        s.save("zeta.io", "u1", "new:pass").unwrap();
        let text2 = read(&s.auths_path());
        let parts: Vec<&str> = text2.split('"').collect();
        assert_eq!((parts[3], parts[9]), ("zeta.io", "alpha.io/x"));
        assert_ne!(parts[7], a1);
        assert_eq!(parts[13], a2);
        assert_eq!(
            s.load("zeta.io").unwrap(),
            Some(("u1".to_string(), "new:pass".to_string()))
        );
        assert_eq!(
            s.load("alpha.io/x").unwrap(),
            Some(("u2".to_string(), "p2".to_string()))
        );

        // A third host is appended; deleting the first keeps the order of
        // the others.
        s.save("m.io", "u3", "p3").unwrap();
        let a3 = read(&s.auths_path())
            .split('"')
            .nth(19)
            .unwrap()
            .to_string();
        assert!(s.delete("zeta.io").unwrap());
        assert_eq!(
            read(&s.auths_path()),
            format!(
                "{{\n    \"auths\": {{\n        \"alpha.io/x\": {{\n            \"auth\": \"{a2}\"\n        }},\n        \
                 \"m.io\": {{\n            \"auth\": \"{a3}\"\n        }}\n    }}\n}}\n"
            )
        );
        assert_eq!(
            s.load("m.io").unwrap(),
            Some(("u3".to_string(), "p3".to_string()))
        );
        assert!(s.delete("m.io").unwrap());
        assert_eq!(read(&s.auths_path()), one_host_file("alpha.io/x", &a2));
        assert!(!s.delete("zeta.io").unwrap());
        assert_eq!(read(&s.auths_path()), one_host_file("alpha.io/x", &a2));

        // Delete the last: the empty-map quirk.
        assert!(s.delete("alpha.io/x").unwrap());
        assert_eq!(read(&s.auths_path()), "{\n    \"auths\":{}\n}\n");
        assert_eq!(mode(&s.auths_path()), 0o600);
        assert_eq!(s.load("alpha.io/x").unwrap(), None);
        assert_eq!(dir_names(s.dir()), vec!["aeskey", "auths.json"]);
    }

    #[test]
    fn auths_store_missing_file_and_absent_host() {
        let t = TestDir::new("missing");
        let s = t.store();
        assert_eq!(s.load("h").unwrap(), None);
        assert!(!s.delete("h").unwrap());
        assert!(!s.dir().exists(), "load/delete must not create anything");
        fs::create_dir_all(s.dir()).unwrap();
        fs::write(s.auths_path(), "{}").unwrap();
        assert_eq!(s.load("h").unwrap(), None);
        assert!(!s.delete("h").unwrap());
        // Saving into a file without "auths" works (iSulad failed here).
        s.save("h", "u", "p").unwrap();
        assert_eq!(
            s.load("h").unwrap(),
            Some(("u".to_string(), "p".to_string()))
        );
    }

    #[test]
    fn auths_store_unparsable_file_is_an_error_everywhere() {
        let t = TestDir::new("corrupt");
        let s = t.store();
        fs::create_dir_all(s.dir()).unwrap();
        fs::write(s.key_path(), KEY).unwrap();
        let path = s.auths_path();
        let needle = path.display().to_string();
        for bad in ["{\"auths\": {", "{\"auths\": {\"h\": {\"auth\": 3}}}"] {
            fs::write(&path, bad).unwrap();
            for err in [
                s.load("h").unwrap_err(),
                s.delete("h").unwrap_err(),
                s.save("h", "u", "p").unwrap_err(),
            ] {
                let msg = err.to_string();
                assert!(
                    msg.contains(&needle) && msg.contains("fix or remove it"),
                    "{msg}"
                );
            }
            // The corrupt file is left untouched.
            assert_eq!(read(&path), bad);
        }
        assert_eq!(dir_names(s.dir()), vec!["aeskey", "auths.json"]);
    }

    #[test]
    fn auths_store_key_problems() {
        let t = TestDir::new("key");
        let s = t.store();
        fs::create_dir_all(s.dir()).unwrap();
        fs::write(s.auths_path(), one_host_file("h", AUTH)).unwrap();
        // Missing key: load fails and does not create a key.
        let err = s.load("h").unwrap_err();
        assert!(matches!(err, AuthsError::KeyMissing { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&s.key_path().display().to_string())
        );
        assert!(!s.key_path().exists());
        // Short key: load and save fail, the key file is not replaced.
        fs::write(s.key_path(), &KEY[..31]).unwrap();
        assert!(matches!(
            s.load("h"),
            Err(AuthsError::KeyTooShort { len: 31, .. })
        ));
        assert!(matches!(
            s.save("h", "u", "p"),
            Err(AuthsError::KeyTooShort { len: 31, .. })
        ));
        assert_eq!(read(&s.key_path()), &KEY[..31]);
        // Wrong key: a clear per-entry error.
        fs::write(s.key_path(), "00000000000000000000000000000000").unwrap();
        let err = s.load("h").unwrap_err();
        assert!(matches!(err, AuthsError::BadEntry { .. }), "{err}");
        assert!(err.to_string().contains("log in to h again"), "{err}");
        assert_eq!(dir_names(s.dir()), vec!["aeskey", "auths.json"]);
    }

    #[test]
    fn auths_store_rejects_bad_input_without_writing() {
        let t = TestDir::new("input");
        let s = t.store();
        for (h, u, p) in [
            ("", "u", "p"),
            ("h", "", "p"),
            ("h", "u", ""),
            ("h", "a:b", "p"),
        ] {
            assert!(
                matches!(s.save(h, u, p), Err(AuthsError::InvalidInput(_))),
                "{h:?} {u:?} {p:?}"
            );
        }
        assert!(!s.auths_path().exists());
        // Passwords containing ':' are fine.
        s.save("h", "u", ":a:b:").unwrap();
        assert_eq!(
            s.load("h").unwrap(),
            Some(("u".to_string(), ":a:b:".to_string()))
        );
    }

    #[test]
    fn auths_aes_encode_decode_with_key_files() {
        let t = TestDir::new("aesfiles");
        let key_path = t.0.join("sub/dir/aeskey");
        assert!(matches!(
            aes_decode(&key_path, &[b'0'; 20]),
            Err(AuthsError::KeyMissing { .. })
        ));
        assert!(!key_path.exists());
        let enc = aes_encode(&key_path, b"payload").unwrap();
        assert_eq!(enc.len(), 16 + 7);
        assert_eq!(mode(&key_path), 0o600);
        assert_eq!(mode(key_path.parent().unwrap()), 0o700);
        assert_eq!(fs::read(&key_path).unwrap().len(), 32);
        assert_eq!(&aes_decode(&key_path, &enc).unwrap()[..], b"payload");
        assert_eq!(dir_names(key_path.parent().unwrap()), vec!["aeskey"]);
    }

    #[test]
    fn auths_error_messages() {
        let e = AuthsError::InvalidJson {
            path: "/x/auths.json".into(),
            reason: "EOF".into(),
        };
        assert_eq!(
            e.to_string(),
            "auths file /x/auths.json is not valid JSON: EOF; fix or remove it"
        );
        let e = AuthsError::io(
            "read",
            Path::new("/x"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            AuthStore::default().auths_path(),
            Path::new("/root/.isulad/auths.json")
        );
        assert_eq!(
            AuthStore::default().key_path(),
            Path::new("/root/.isulad/aeskey")
        );
    }
}
