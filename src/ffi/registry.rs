//! `registry.h`: the options of iSulad's registry entry points.

use std::ffi::c_char;

use super::cstr::{free, free_sensitive};
use super::guard;
use super::progress::progress_status_map;

/// Credentials; both NULL means "use the ones stored by login".
#[repr(C)]
pub struct registry_auth {
    pub username: *mut c_char,
    pub password: *mut c_char,
}

/// What `registry_pull` pulls and where it stores it.
#[repr(C)]
pub struct registry_pull_options {
    /// Full reference with host and tag or digest, e.g. `docker.io/library/busybox:latest`.
    pub image_name: *mut c_char,
    /// Name the image is stored under, e.g. `busybox:latest`.
    pub dest_image_name: *mut c_char,
    pub auth: registry_auth,
    pub skip_tls_verify: bool,
    pub insecure_registry: bool,
    /// Borrowed; may be NULL; never freed by the library.
    pub progress_status_store: *mut progress_status_map,
}

/// What `registry_login` logs in to.
#[repr(C)]
pub struct registry_login_options {
    pub host: *mut c_char,
    pub auth: registry_auth,
    pub skip_tls_verify: bool,
    pub insecure_registry: bool,
}

/// What `registry_search` searches for.
#[cfg(feature = "image_search")]
#[repr(C)]
pub struct registry_search_options {
    pub search_name: *mut c_char,
    pub limit: u32,
    pub skip_tls_verify: bool,
    pub insecure_registry: bool,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<registry_auth>() == 16);
    assert!(size_of::<registry_pull_options>() == 48);
    assert!(offset_of!(registry_pull_options, auth) == 16);
    assert!(offset_of!(registry_pull_options, skip_tls_verify) == 32);
    assert!(offset_of!(registry_pull_options, insecure_registry) == 33);
    assert!(offset_of!(registry_pull_options, progress_status_store) == 40);
    assert!(size_of::<registry_login_options>() == 32);
    assert!(offset_of!(registry_login_options, skip_tls_verify) == 24);
};
#[cfg(feature = "image_search")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<registry_search_options>() == 16);
    assert!(offset_of!(registry_search_options, limit) == 8);
    assert!(offset_of!(registry_search_options, skip_tls_verify) == 12);
};

/// Frees the names, the credentials (zeroed first) and the struct; not the
/// progress map. NULL is fine.
///
/// # Safety
/// `options` is NULL or a malloc'd struct whose strings are NULL or malloc'd.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_registry_pull_options(options: *mut registry_pull_options) {
    guard("free_registry_pull_options", (), || {
        // SAFETY: per the contract.
        let Some(o) = (unsafe { options.as_mut() }) else {
            return;
        };
        // SAFETY: every pointer is NULL or libc memory per the contract.
        unsafe {
            free_sensitive(o.auth.username);
            free_sensitive(o.auth.password);
            free(o.image_name);
            free(o.dest_image_name);
            free(options);
        }
    })
}

/// Frees `search_name` and the struct. NULL is fine.
///
/// # Safety
/// `options` is NULL or a malloc'd struct whose `search_name` is NULL or malloc'd.
#[cfg(feature = "image_search")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_registry_search_options(options: *mut registry_search_options) {
    guard("free_registry_search_options", (), || {
        // SAFETY: per the contract.
        let Some(o) = (unsafe { options.as_mut() }) else {
            return;
        };
        // SAFETY: per the contract.
        unsafe {
            free(o.search_name);
            free(options);
        }
    })
}
