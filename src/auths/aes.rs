//! The AES key file, iSulad's `aes_encode`/`aes_decode` and the `auth` value
//! of auths.json (byte-exact with iSulad v2.1.6's `utils_aes.c`).
//!
//! Formats kept for compatibility, though weak: the key is the first 32
//! bytes of the key file, which iSulad creates as 32 lowercase hex characters
//! (128 bits of entropy); the IV is 16 lowercase hex characters (64 bits);
//! AES-256-CFB128 without authentication.

use std::fs;
use std::io;
use std::path::Path;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use openssl::symm::{Cipher, decrypt, encrypt};

use super::secret::Secret;
use super::{AUTH_AESKEY_FILE_MODE, AUTH_DIR_MODE, AuthsError};
use crate::fsutil;

/// Length of the AES-256 key (`AES_256_CFB_KEY_LEN`).
pub const AES_256_CFB_KEY_LEN: usize = 32;
/// Length of the IV prefix (`AES_256_CFB_IV_LEN`).
pub const AES_256_CFB_IV_LEN: usize = 16;
/// `user:password` must be shorter than this many bytes (iSulad's limit).
pub const MAX_AUTH_PLAIN_LEN: usize = 4096;

/// An AES-256 key, wiped on drop.
pub type AesKey = Secret<[u8; AES_256_CFB_KEY_LEN]>;

/// Standard base64 decoding, lenient about non-zero trailing bits (the
/// length and padding are checked).
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

fn random_bytes<const N: usize>() -> Result<Secret<[u8; N]>, AuthsError> {
    let mut buf = Secret::new([0u8; N]);
    openssl::rand::rand_bytes(&mut buf[..]).map_err(|source| AuthsError::Crypto {
        what: "generate random bytes",
        source,
    })?;
    Ok(buf)
}

/// Lowercase hex rendering (iSulad's `util_generate_random_str`).
fn hex_lower(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

/// Read the key: the first 32 bytes of `path`. Never creates the file.
pub fn load_key(path: &Path) -> Result<AesKey, AuthsError> {
    let data = match fs::read(path) {
        Ok(d) => Secret::new(d),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(AuthsError::KeyMissing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(AuthsError::io("read AES key file", path, e)),
    };
    if data.len() < AES_256_CFB_KEY_LEN {
        return Err(AuthsError::KeyTooShort {
            path: path.to_path_buf(),
            len: data.len(),
        });
    }
    let mut key = Secret::new([0u8; AES_256_CFB_KEY_LEN]);
    key.copy_from_slice(&data[..AES_256_CFB_KEY_LEN]);
    Ok(key)
}

/// Read the key, creating the key file first if it does not exist (what
/// iSulad does before encrypting): 16 random bytes written as 32 lowercase
/// hex characters, no newline, mode 0600, directory created 0700. An
/// existing file is never overwritten (it may protect stored credentials),
/// not even a too-short one.
pub fn load_or_create_key(path: &Path) -> Result<AesKey, AuthsError> {
    match load_key(path) {
        Err(AuthsError::KeyMissing { .. }) => {}
        other => return other,
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::mkdir_p(dir, AUTH_DIR_MODE)
            .map_err(|e| AuthsError::io("create directory", dir, e))?;
    }
    let raw = random_bytes::<{ AES_256_CFB_KEY_LEN / 2 }>()?;
    let mut text = Secret::new([0u8; AES_256_CFB_KEY_LEN]);
    hex_lower(&raw[..], &mut text[..]);
    // If another process created the key concurrently, use theirs.
    fsutil::create_exclusive(path, &text[..], AUTH_AESKEY_FILE_MODE)
        .map_err(|e| AuthsError::io("create", path, e))?;
    load_key(path)
}

/// A fresh IV: 8 random bytes rendered as 16 lowercase hex characters.
fn random_iv() -> Result<[u8; AES_256_CFB_IV_LEN], AuthsError> {
    let raw = random_bytes::<{ AES_256_CFB_IV_LEN / 2 }>()?;
    let mut iv = [0u8; AES_256_CFB_IV_LEN];
    hex_lower(&raw[..], &mut iv);
    Ok(iv)
}

fn encode_with_iv(
    key: &[u8; AES_256_CFB_KEY_LEN],
    iv: &[u8; AES_256_CFB_IV_LEN],
    plain: &[u8],
) -> Result<Vec<u8>, AuthsError> {
    let ct = encrypt(Cipher::aes_256_cfb128(), key, Some(iv), plain).map_err(|source| {
        AuthsError::Crypto {
            what: "AES-256-CFB encryption",
            source,
        }
    })?;
    let mut out = Vec::with_capacity(AES_256_CFB_IV_LEN + ct.len());
    out.extend_from_slice(iv);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// `IV(16) ‖ AES-256-CFB128(key, IV, plain)` with a fresh hex IV.
pub fn aes_encode_with_key(
    key: &[u8; AES_256_CFB_KEY_LEN],
    plain: &[u8],
) -> Result<Vec<u8>, AuthsError> {
    encode_with_iv(key, &random_iv()?, plain)
}

/// Inverse of [`aes_encode_with_key`]: `buf` must be longer than 16 bytes.
pub fn aes_decode_with_key(
    key: &[u8; AES_256_CFB_KEY_LEN],
    buf: &[u8],
) -> Result<Secret<Vec<u8>>, AuthsError> {
    if buf.len() <= AES_256_CFB_IV_LEN {
        return Err(AuthsError::Decode(format!(
            "encrypted data is {} bytes, need more than the {AES_256_CFB_IV_LEN}-byte IV",
            buf.len()
        )));
    }
    let (iv, ct) = buf.split_at(AES_256_CFB_IV_LEN);
    decrypt(Cipher::aes_256_cfb128(), key, Some(iv), ct)
        .map(Secret::new)
        .map_err(|source| AuthsError::Crypto {
            what: "AES-256-CFB decryption",
            source,
        })
}

/// iSulad's `aes_encode`: the key comes from `key_file`, which is created if
/// missing. Output is `IV(16) ‖ ciphertext(plain.len())`.
pub fn aes_encode(key_file: &Path, plain: &[u8]) -> Result<Vec<u8>, AuthsError> {
    let key = load_or_create_key(key_file)?;
    aes_encode_with_key(&key, plain)
}

/// iSulad's `aes_decode`: the key file must exist; `buf.len()` must be > 16.
pub fn aes_decode(key_file: &Path, buf: &[u8]) -> Result<Secret<Vec<u8>>, AuthsError> {
    let key = load_key(key_file)?;
    aes_decode_with_key(&key, buf)
}

fn check_credentials(user: &str, password: &str) -> Result<(), AuthsError> {
    let bad = |msg: &str| Err(AuthsError::InvalidInput(msg.to_string()));
    if user.is_empty() {
        return bad("the user name is empty");
    }
    if password.is_empty() {
        return bad("the password is empty");
    }
    if user.contains(':') {
        return bad("the user name contains ':'");
    }
    if user.contains('\0') || password.contains('\0') {
        return bad("the user name or password contains a NUL character");
    }
    if user.len() + 1 + password.len() >= MAX_AUTH_PLAIN_LEN {
        return Err(AuthsError::InvalidInput(format!(
            "user name and password are too long (\"user:password\" must be shorter than {MAX_AUTH_PLAIN_LEN} bytes)"
        )));
    }
    Ok(())
}

fn encrypt_auth_with_iv(
    key: &[u8; AES_256_CFB_KEY_LEN],
    iv: &[u8; AES_256_CFB_IV_LEN],
    user: &str,
    password: &str,
) -> Result<String, AuthsError> {
    check_credentials(user, password)?;
    let mut plain = Secret::new(Vec::with_capacity(user.len() + 1 + password.len()));
    plain.extend_from_slice(user.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(password.as_bytes());
    let inner_len = base64::encoded_len(plain.len(), true).unwrap_or(0);
    let mut inner = Secret::new(String::with_capacity(inner_len));
    STANDARD.encode_string(&plain[..], &mut inner);
    let sealed = encode_with_iv(key, iv, inner.as_bytes())?;
    Ok(STANDARD.encode(sealed))
}

/// The `auth` value stored in auths.json:
/// `base64(IV ‖ AES-256-CFB128(key, IV, base64("user:password")))`.
///
/// Rejects an empty user or password, a user name containing `:` (it could
/// not be split apart again), NUL characters and `user:password` of 4096
/// bytes or more.
pub fn encrypt_auth(
    key: &[u8; AES_256_CFB_KEY_LEN],
    user: &str,
    password: &str,
) -> Result<String, AuthsError> {
    encrypt_auth_with_iv(key, &random_iv()?, user, password)
}

/// Inverse of [`encrypt_auth`]; returns `(user, password)`.
pub fn decrypt_auth(
    key: &[u8; AES_256_CFB_KEY_LEN],
    auth: &str,
) -> Result<(String, String), AuthsError> {
    let auth = auth.as_bytes();
    if !auth.len().is_multiple_of(4) {
        return Err(AuthsError::Decode(format!(
            "the auth value is not base64 (length {} is not a multiple of 4)",
            auth.len()
        )));
    }
    let sealed = DECODER
        .decode(auth)
        .map_err(|e| AuthsError::Decode(format!("the auth value is not base64: {e}")))?;
    let inner = aes_decode_with_key(key, &sealed)?;
    let mut plain = Secret::new(Vec::with_capacity(inner.len() / 4 * 3 + 3));
    if !inner.len().is_multiple_of(4) || DECODER.decode_vec(&inner[..], &mut plain).is_err() {
        return Err(AuthsError::Decode(
            "the decrypted value is not base64 (wrong AES key?)".to_string(),
        ));
    }
    split_credentials(&plain)
}

/// Split `user:password`.
///
/// iSulad splits with `strtok(":")` and requires exactly two pieces, so a
/// password containing ':' can never be loaded. We split at the
/// *first* ':' instead: the user name cannot contain ':' (we refuse to store
/// one), everything after the first ':' is the password. Values iSulad can
/// decode decode identically here, except odd ones produced by hand such as
/// ":user:pw" or "user:pw:" which strtok would have accepted by dropping the
/// empty pieces. An empty user or password is still an error.
fn split_credentials(plain: &[u8]) -> Result<(String, String), AuthsError> {
    let bad = |msg: &str| Err(AuthsError::Decode(msg.to_string()));
    let Some(colon) = plain.iter().position(|&b| b == b':') else {
        return bad("the decrypted credentials contain no ':' separator");
    };
    let (user, password) = (&plain[..colon], &plain[colon + 1..]);
    if user.is_empty() {
        return bad("the decrypted user name is empty");
    }
    if password.is_empty() {
        return bad("the decrypted password is empty");
    }
    if plain.contains(&0) {
        return bad("the decrypted credentials contain a NUL byte");
    }
    match (std::str::from_utf8(user), std::str::from_utf8(password)) {
        (Ok(u), Ok(p)) => Ok((u.to_owned(), p.to_owned())),
        _ => bad("the decrypted credentials are not valid UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 32] = b"b521283230d0b4703af8b7512999d21d";
    const IV: &[u8; 16] = b"f2e284a04249f005";
    const AUTH: &str = "ZjJlMjg0YTA0MjQ5ZjAwNQCdEtcSsbEsT/I22c/Sx925pmMS";

    #[test]
    fn auths_test_vector_decrypts() {
        let (user, pass) = decrypt_auth(KEY, AUTH).unwrap();
        assert_eq!(user, "alice");
        assert_eq!(pass, "s3cr3t!pw");
        // The intermediate layer: IV ‖ CFB(inner base64).
        let sealed = STANDARD.decode(AUTH).unwrap();
        assert_eq!(&sealed[..16], IV);
        let inner = aes_decode_with_key(KEY, &sealed).unwrap();
        assert_eq!(&inner[..], b"YWxpY2U6czNjcjN0IXB3");
    }

    #[test]
    fn auths_test_vector_encrypts_with_fixed_iv() {
        assert_eq!(
            encrypt_auth_with_iv(KEY, IV, "alice", "s3cr3t!pw").unwrap(),
            AUTH
        );
        let sealed = encode_with_iv(KEY, IV, b"YWxpY2U6czNjcjN0IXB3").unwrap();
        assert_eq!(STANDARD.encode(&sealed), AUTH);
    }

    #[test]
    fn auths_random_iv_is_16_lowercase_hex_and_round_trips() {
        let a = encrypt_auth(KEY, "alice", "s3cr3t!pw").unwrap();
        let b = encrypt_auth(KEY, "alice", "s3cr3t!pw").unwrap();
        assert_ne!(a, b, "IV must be random");
        for auth in [&a, &b] {
            let sealed = STANDARD.decode(auth).unwrap();
            assert_eq!(sealed.len(), 16 + 20);
            assert!(
                sealed[..16]
                    .iter()
                    .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            );
            assert_eq!(
                decrypt_auth(KEY, auth).unwrap(),
                ("alice".to_string(), "s3cr3t!pw".to_string())
            );
        }
    }

    #[test]
    fn auths_aes_encode_len_and_decode() {
        let out = aes_encode_with_key(KEY, b"hello world").unwrap();
        assert_eq!(out.len(), 16 + 11);
        assert_eq!(&aes_decode_with_key(KEY, &out).unwrap()[..], b"hello world");
        assert!(matches!(
            aes_decode_with_key(KEY, &out[..16]),
            Err(AuthsError::Decode(_))
        ));
    }

    #[test]
    fn auths_password_with_colon_round_trips() {
        let auth = encrypt_auth(KEY, "bob", "pa:ss:").unwrap();
        assert_eq!(
            decrypt_auth(KEY, &auth).unwrap(),
            ("bob".to_string(), "pa:ss:".to_string())
        );
    }

    #[test]
    fn auths_rejects_bad_credentials() {
        for (u, p) in [("", "pw"), ("u", ""), ("a:b", "pw"), ("u", "p\0w")] {
            assert!(
                matches!(encrypt_auth(KEY, u, p), Err(AuthsError::InvalidInput(_))),
                "{u:?}/{p:?}"
            );
        }
        let long = "x".repeat(4094);
        assert!(encrypt_auth(KEY, "u", &long).is_err()); // 4096 bytes
        assert!(encrypt_auth(KEY, "u", &long[1..]).is_ok()); // 4095 bytes
    }

    #[test]
    fn auths_rejects_bad_auth_values() {
        let seal = |inner: &[u8]| STANDARD.encode(encode_with_iv(KEY, IV, inner).unwrap());
        for inner in [
            STANDARD.encode("alice"),     // no ':'
            STANDARD.encode(":pw"),       // empty user
            STANDARD.encode("alice:"),    // empty password
            STANDARD.encode(b"a\xff:pw"), // not UTF-8
            "not base64!".to_string(),
        ] {
            let auth = seal(inner.as_bytes());
            assert!(
                matches!(decrypt_auth(KEY, &auth), Err(AuthsError::Decode(_))),
                "{inner}"
            );
        }
        assert!(decrypt_auth(KEY, &AUTH[..AUTH.len() - 1]).is_err()); // length % 4
        assert!(decrypt_auth(KEY, "Zm9vYmFy").is_err()); // too short (6 bytes)
        // Wrong key: decrypts to garbage.
        assert!(decrypt_auth(b"00000000000000000000000000000000", AUTH).is_err());
    }
}
