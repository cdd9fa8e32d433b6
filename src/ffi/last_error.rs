//! The calling thread's last error message, as C reads it with
//! `isula_registry_last_error()` (the embedded host's stand-in for
//! iSulad's thread-local `g_isulad_errmsg`).

use std::cell::RefCell;
use std::ffi::{CString, c_char};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error.
pub(crate) fn set(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// Forgets this thread's last error (at the start of each operation).
pub(crate) fn clear() {
    LAST_ERROR.with(|e| *e.borrow_mut() = None);
}

/// This thread's last error, or NULL; valid until the thread's next call.
pub(crate) fn get() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}
