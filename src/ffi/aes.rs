//! `aes.h`: iSulad's AES-256-CFB helpers for auths.json, with the key in
//! `<auths dir>/aeskey` (set by `registry_init` or `aes_set_key_dir`).

use std::ffi::{c_char, c_int, c_uchar};
use std::path::PathBuf;

use super::cstr::opt_str;
use super::guard;
use crate::auths;

/// Length of the IV that starts every ciphertext.
pub const AES_256_CFB_IV_LEN: c_int = 16;

/// Sets the directory of the `aeskey` file (and of auths.json). NULL is ignored.
///
/// # Safety
/// `key_dir` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aes_set_key_dir(key_dir: *mut c_char) {
    guard("aes_set_key_dir", (), || {
        // SAFETY: `key_dir` is NULL or a C string (the function's # Safety).
        if let Some(dir) = unsafe { opt_str(key_dir) } {
            crate::api::init(Some(PathBuf::from(dir)), None);
        }
    })
}

fn key_file() -> PathBuf {
    crate::api::auth_store().key_path()
}

/// Encrypts `input_len` bytes: `*output` = IV (16) ‖ ciphertext ‖ NUL,
/// malloc'd. Creates the key file when missing. 0 or -1.
///
/// # Safety
/// `input` points to `input_len` readable bytes; `output` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aes_encode(
    input: *mut c_uchar,
    input_len: usize,
    output: *mut *mut c_uchar,
) -> c_int {
    guard("aes_encode", -1, || {
        if input.is_null() || output.is_null() {
            return -1;
        }
        // SAFETY: `input` holds `input_len` readable bytes (# Safety), checked non-NULL above.
        let plain = unsafe { std::slice::from_raw_parts(input, input_len) };
        match auths::aes_encode(&key_file(), plain) {
            // SAFETY: output is writable per the contract.
            Ok(out) => unsafe { write_output(&out, output) },
            Err(e) => {
                super::last_error::set(&e.to_string());
                -1
            }
        }
    })
}

/// Decrypts IV ‖ ciphertext (`input_len` > 16): `*output` = plaintext ‖
/// NUL, malloc'd. The key file must exist. 0 or -1.
///
/// # Safety
/// `input` points to `input_len` readable bytes; `output` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aes_decode(
    input: *mut c_uchar,
    input_len: usize,
    output: *mut *mut c_uchar,
) -> c_int {
    guard("aes_decode", -1, || {
        if input.is_null() || output.is_null() {
            return -1;
        }
        // SAFETY: `input` holds `input_len` readable bytes (# Safety), checked non-NULL above.
        let buf = unsafe { std::slice::from_raw_parts(input, input_len) };
        match auths::aes_decode(&key_file(), buf) {
            // SAFETY: output is writable per the contract.
            Ok(plain) => unsafe { write_output(&plain, output) },
            Err(e) => {
                super::last_error::set(&e.to_string());
                -1
            }
        }
    })
}

/// # Safety
/// `output` is writable.
unsafe fn write_output(data: &[u8], output: *mut *mut c_uchar) -> c_int {
    // SAFETY: malloc of len + 1, filled with data and a NUL.
    unsafe {
        let p = libc::malloc(data.len() + 1) as *mut u8;
        if p.is_null() {
            return -1;
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
        *p.add(data.len()) = 0;
        *output = p;
    }
    0
}
