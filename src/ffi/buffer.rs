//! `buffer.h`: iSulad's growable byte buffer (`struct Buffer`), used as the
//! in-memory output of `http_request`. `contents` is libc memory, always
//! NUL-terminated, and may be taken over (and freed) by C callers.
//!
//! Unlike iSulad's, `buffer_append` copies every byte, NULs included, so a
//! binary body is not cut short; `bytes_used` counts them all.

use std::ffi::{c_char, c_int, c_void};

use super::guard;

/// A growable buffer. `contents` holds `bytes_used` bytes and a NUL.
#[repr(C)]
pub struct Buffer {
    pub contents: *mut c_char,
    pub bytes_used: usize,
    pub total_size: usize,
}

const _: () = assert!(std::mem::size_of::<Buffer>() == 24);

/// A new empty buffer of `initial_size` bytes; NULL when 0 or out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn buffer_alloc(initial_size: usize) -> *mut Buffer {
    guard("buffer_alloc", std::ptr::null_mut(), || {
        if initial_size == 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: plain libc allocations, checked for NULL before use.
        unsafe {
            let buf = libc::calloc(1, std::mem::size_of::<Buffer>()) as *mut Buffer;
            if buf.is_null() {
                return std::ptr::null_mut();
            }
            let contents = libc::calloc(1, initial_size) as *mut c_char;
            if contents.is_null() {
                libc::free(buf as *mut c_void);
                return std::ptr::null_mut();
            }
            (*buf).contents = contents;
            (*buf).total_size = initial_size;
            buf
        }
    })
}

/// Bytes held (0 for NULL).
///
/// # Safety
/// `buf` is NULL or a buffer from `buffer_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn buffer_strlen(buf: *const Buffer) -> usize {
    guard("buffer_strlen", 0, || {
        // SAFETY: NULL-checked; valid per the contract.
        unsafe { buf.as_ref() }.map_or(0, |b| b.bytes_used)
    })
}

/// Frees the contents and the buffer (NULL is fine).
///
/// # Safety
/// `buf` is NULL or a buffer from `buffer_alloc`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn buffer_free(buf: *mut Buffer) {
    guard("buffer_free", (), || {
        if buf.is_null() {
            return;
        }
        // SAFETY: buf and its contents are libc allocations per the contract.
        unsafe {
            libc::free((*buf).contents as *mut c_void);
            libc::free(buf as *mut c_void);
        }
    })
}

/// Appends `len` bytes, growing the buffer; 0 on success, -1 on bad
/// arguments or out of memory.
///
/// # Safety
/// `buf` is NULL or a buffer from `buffer_alloc`; `append` points to `len`
/// readable bytes (or is NULL with `len == 0`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn buffer_append(
    buf: *mut Buffer,
    append: *const c_char,
    len: usize,
) -> c_int {
    guard("buffer_append", -1, || {
        if buf.is_null() || (append.is_null() && len > 0) {
            return -1;
        }
        let data = if len == 0 {
            &[][..]
        } else {
            // SAFETY: append points to len readable bytes per the contract.
            unsafe { std::slice::from_raw_parts(append as *const u8, len) }
        };
        // SAFETY: non-NULL, so a valid buffer no one else uses during the
        // call (# Safety), whose contents are NULL or libc memory.
        match unsafe { append_bytes(&mut *buf, data) } {
            Ok(()) => 0,
            Err(()) => -1,
        }
    })
}

/// Empties the buffer, keeping its memory.
///
/// # Safety
/// `buf` is NULL or a buffer from `buffer_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn buffer_empty(buf: *mut Buffer) {
    guard("buffer_empty", (), || {
        // SAFETY: NULL-checked; valid per the contract.
        let Some(b) = (unsafe { buf.as_mut() }) else {
            return;
        };
        if !b.contents.is_null() {
            // SAFETY: contents has total_size bytes.
            unsafe { std::ptr::write_bytes(b.contents, 0, b.total_size) };
        }
        b.bytes_used = 0;
    })
}

/// A caller's `Buffer` as a writer (a response body's destination).
pub(crate) struct BufferWriter<'a>(pub &'a mut Buffer);

impl std::io::Write for BufferWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // SAFETY: a `&mut Buffer` is valid; its contents are NULL or libc
        // memory of total_size bytes (the Buffer contract).
        unsafe { append_bytes(self.0, data) }
            .map(|()| data.len())
            .map_err(|()| std::io::Error::from(std::io::ErrorKind::OutOfMemory))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Appends `data` to a C `Buffer`, doubling its size as needed and keeping
/// the NUL terminator.
///
/// # Safety
/// `b.contents` is NULL or libc memory of `total_size` bytes.
pub(crate) unsafe fn append_bytes(b: &mut Buffer, data: &[u8]) -> Result<(), ()> {
    let needed = b
        .bytes_used
        .checked_add(data.len())
        .and_then(|n| n.checked_add(1))
        .ok_or(())?;
    if b.contents.is_null() || needed > b.total_size {
        let mut size = b.total_size.max(1);
        while size < needed {
            size = size.checked_mul(2).ok_or(())?;
        }
        // SAFETY: realloc of a libc pointer (or NULL) to `size` bytes.
        let grown = unsafe { libc::realloc(b.contents as *mut c_void, size) } as *mut c_char;
        if grown.is_null() {
            return Err(());
        }
        if b.contents.is_null() {
            b.bytes_used = 0;
        }
        b.contents = grown;
        b.total_size = size;
    }
    // SAFETY: contents has room for bytes_used + data.len() + 1 bytes.
    unsafe {
        let end = (b.contents as *mut u8).add(b.bytes_used);
        std::ptr::copy_nonoverlapping(data.as_ptr(), end, data.len());
        *end.add(data.len()) = 0;
    }
    b.bytes_used += data.len();
    Ok(())
}
