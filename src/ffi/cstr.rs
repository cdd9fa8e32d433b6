//! Small helpers between C strings / libc memory and Rust.

use std::ffi::{CStr, c_char, c_void};

/// Borrows a C string as UTF-8; `None` for NULL or invalid UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn opt_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Copies `s` into a new libc-allocated NUL-terminated string (NULL on OOM).
/// Interior NUL bytes end the string, as C would read it.
pub(crate) fn strdup(s: &str) -> *mut c_char {
    bytes_dup(s.as_bytes())
}

/// A malloc'd NUL-terminated copy of `bytes`, cut at the first NUL as C
/// would read it (NULL on OOM).
pub(crate) fn bytes_dup(bytes: &[u8]) -> *mut c_char {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: malloc of len + 1 bytes, then exactly len bytes copied and a NUL written.
    unsafe {
        let p = libc::malloc(len + 1) as *mut u8;
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, len);
        *p.add(len) = 0;
        p as *mut c_char
    }
}

/// Frees a libc-allocated string after overwriting it with zeros (for secrets).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string allocated with libc `malloc`.
pub(crate) unsafe fn free_sensitive(p: *mut c_char) {
    if p.is_null() {
        return;
    }
    // SAFETY: p is a valid NUL-terminated malloc'd string per the contract.
    unsafe {
        let len = libc::strlen(p);
        // volatile writes so the zeroing is not optimised away before free
        for i in 0..len {
            std::ptr::write_volatile(p.add(i), 0);
        }
        libc::free(p as *mut c_void);
    }
}

/// Frees a libc-allocated pointer (NULL is fine).
///
/// # Safety
/// `p` is NULL or was allocated with libc `malloc` and not freed yet.
pub(crate) unsafe fn free<T>(p: *mut T) {
    // SAFETY: `p` is NULL or unfreed malloc memory, as the caller promises.
    unsafe { libc::free(p as *mut c_void) }
}

/// The strings of a NULL-terminated array of C strings, copied (entries
/// that are not UTF-8 are skipped).
///
/// # Safety
/// `array` is NULL or a NULL-terminated array of C strings.
pub(crate) unsafe fn str_array(array: *const *const c_char) -> Vec<String> {
    let mut out = Vec::new();
    if array.is_null() {
        return out;
    }
    let mut i = 0;
    // SAFETY: entries up to the NULL one are readable C strings, as the
    // caller promises.
    while let Some(p) = unsafe { (*array.add(i)).as_ref() } {
        // SAFETY: as above.
        if let Some(s) = unsafe { opt_str(p) } {
            out.push(s.to_string());
        }
        i += 1;
    }
    out
}
