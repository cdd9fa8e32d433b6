//! `isula_registry.h`: what iSulad never had: the embedded store's root,
//! the platform to pull, the calling thread's last error, and reading the
//! progress map from C.

use std::ffi::{c_char, c_int};

use std::path::PathBuf;

use super::cstr::{free, opt_str, strdup};
use super::progress::progress_status_map;
use super::{guard, last_error};

/// One entry of a progress map.
#[repr(C)]
pub struct isula_registry_progress_entry {
    /// The key (a blob digest), malloc'd.
    pub key: *mut c_char,
    pub dlnow: i64,
    pub dltotal: i64,
}

/// Copies every entry of `map`, in key (strcmp) order, into a new array:
/// `*entries` (NULL when empty) of `*len` entries, freed with
/// `isula_registry_progress_entries_free`. 0 on success, -1 on NULL
/// arguments or out of memory. May be called while holding
/// `progress_status_map_lock`.
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`; `entries` and `len`
/// are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_progress_entries(
    map: *mut progress_status_map,
    entries: *mut *mut isula_registry_progress_entry,
    len: *mut usize,
) -> c_int {
    guard("isula_registry_progress_entries", -1, || {
        // SAFETY: each pointer is NULL or valid for the call (# Safety).
        let (Some(m), Some(out), Some(out_len)) = (
            unsafe { map.as_ref() },
            unsafe { entries.as_mut() },
            unsafe { len.as_mut() },
        ) else {
            return -1;
        };
        *out = std::ptr::null_mut();
        *out_len = 0;
        let snapshot = m.inner.snapshot();
        if snapshot.is_empty() {
            return 0;
        }
        let size = std::mem::size_of::<isula_registry_progress_entry>();
        // SAFETY: calloc of snapshot.len() zeroed entries, checked for NULL.
        let array =
            unsafe { libc::calloc(snapshot.len(), size) } as *mut isula_registry_progress_entry;
        if array.is_null() {
            return -1;
        }
        for (i, (key, p)) in snapshot.iter().enumerate() {
            let key = strdup(key);
            if key.is_null() {
                // SAFETY: the first i entries were filled by this loop.
                unsafe { free_entries(array, i) };
                return -1;
            }
            // SAFETY: i < snapshot.len(), within the allocation.
            unsafe {
                array.add(i).write(isula_registry_progress_entry {
                    key,
                    dlnow: p.dlnow,
                    dltotal: p.dltotal,
                })
            };
        }
        *out = array;
        *out_len = snapshot.len();
        0
    })
}

/// Frees what `isula_registry_progress_entries` returned (NULL is fine).
///
/// # Safety
/// `entries`/`len` are exactly what `isula_registry_progress_entries` gave.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_progress_entries_free(
    entries: *mut isula_registry_progress_entry,
    len: usize,
) {
    guard("isula_registry_progress_entries_free", (), || {
        // SAFETY: `entries` is NULL or an array of `len` entries from
        // isula_registry_progress_entries, not freed yet (# Safety).
        unsafe { free_entries(entries, len) }
    })
}

/// # Safety
/// `entries` is NULL or a libc array whose first `len` keys are libc strings.
unsafe fn free_entries(entries: *mut isula_registry_progress_entry, len: usize) {
    if entries.is_null() {
        return;
    }
    // SAFETY: `entries` holds `len` entries whose keys are malloc'd or NULL.
    unsafe {
        for i in 0..len {
            free((*entries.add(i)).key);
        }
        free(entries);
    }
}

/// The library's version, `MAJOR.MINOR.PATCH` (a static string, never
/// freed). Compare it with the header's `ISULA_REGISTRY_VERSION` to tell
/// which copy of the library a program loaded.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_version() -> *const c_char {
    guard("isula_registry_version", std::ptr::null(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// Sets the proxy of every request of the process, overriding the
/// environment's `https_proxy`/`http_proxy`/`all_proxy` (which libcurl
/// reads when no proxy is set): `proxy` is a URL such as
/// `http://user:password@proxy:3128` (http, https, socks4, socks4a, socks5, socks5h);
/// an empty string uses no proxy at all; NULL goes back to the environment.
/// `no_proxy` (NULL: the environment's `no_proxy`) lists the hosts reached
/// directly, comma-separated, `*` for all. Credentials in the URL are never
/// logged nor shown in errors. 0, or -1 for a malformed URL (message in
/// `isula_registry_last_error()`).
///
/// # Safety
/// `proxy` and `no_proxy` are NULL or C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_set_proxy(
    proxy: *const c_char,
    no_proxy: *const c_char,
) -> c_int {
    guard("isula_registry_set_proxy", -1, || {
        // SAFETY: both are NULL or C strings (# Safety).
        let (url, list) = unsafe { (opt_str(proxy), opt_str(no_proxy)) };
        if !proxy.is_null() && url.is_none() {
            last_error::set("isula_registry_set_proxy: the proxy URL is not UTF-8");
            return -1;
        }
        match crate::api::set_proxy(url, list) {
            Ok(()) => {
                last_error::clear();
                0
            }
            Err(e) => {
                last_error::set(&format!("isula_registry_set_proxy: {e}"));
                -1
            }
        }
    })
}

/// The calling thread's last error message (NULL if the last registry call
/// succeeded). Valid until the thread's next registry call.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_last_error() -> *const c_char {
    guard(
        "isula_registry_last_error",
        std::ptr::null(),
        last_error::get,
    )
}

/// Sets the embedded store's root (an OCI image layout directory). Default:
/// `$ISULA_REGISTRY_ROOT`, else `/var/lib/isula-registry` for root, else
/// `$XDG_DATA_HOME/isula-registry` or `~/.local/share/isula-registry`.
/// 0, or -1 for NULL.
///
/// # Safety
/// `dir` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_set_root(dir: *const c_char) -> c_int {
    guard("isula_registry_set_root", -1, || {
        // SAFETY: `dir` is NULL or a C string (# Safety).
        match unsafe { opt_str(dir) } {
            Some(d) if !d.is_empty() => {
                crate::api::set_root(PathBuf::from(d));
                0
            }
            _ => {
                last_error::set("isula_registry_set_root needs a directory");
                -1
            }
        }
    })
}

/// Sets the platform pulled from multi-platform images, as `OS/ARCH[/VARIANT]`
/// (e.g. `linux/arm64/v8`); NULL goes back to this host's platform. 0, or -1
/// for a malformed platform (message in `isula_registry_last_error()`).
///
/// # Safety
/// `platform` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_set_platform(platform: *const c_char) -> c_int {
    guard("isula_registry_set_platform", -1, || {
        if platform.is_null() {
            crate::api::set_platform(None);
            return 0;
        }
        // SAFETY: `platform` is non-NULL here and a C string (# Safety).
        let text = unsafe { opt_str(platform) }.unwrap_or_default();
        match crate::api::set_platform_text(text) {
            Ok(()) => 0,
            Err(e) => {
                last_error::set(&e.to_string());
                -1
            }
        }
    })
}

/// Sets the most bytes read of a layer whose manifest gives no size
/// (Docker schema1 images); a layer that is larger fails the pull. 0 goes
/// back to the default, 8 GiB. Layers with a declared size are read to
/// exactly that size, whatever this says.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_set_max_unsized_layer(bytes: u64) {
    guard("isula_registry_set_max_unsized_layer", (), || {
        crate::api::set_max_unsized_layer(bytes)
    })
}
