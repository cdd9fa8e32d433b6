//! `registry.h`: the options of iSulad's registry entry points.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::cstr::{free, free_sensitive, opt_str};
use super::progress::{MapHandle, progress_status_map};
use super::{guard, last_error};
use crate::api;
use crate::progress::event::{Fanout, Observer};

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
        // SAFETY: `options` is NULL or valid with libc-allocated fields, as # Safety requires.
        let Some(o) = (unsafe { options.as_mut() }) else {
            return;
        };
        // SAFETY: every pointer is NULL or libc memory, as # Safety requires.
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
        // SAFETY: `options` is NULL or valid with libc-allocated fields, as # Safety requires.
        let Some(o) = (unsafe { options.as_mut() }) else {
            return;
        };
        // SAFETY: `options` is NULL or valid with libc-allocated fields, as # Safety requires.
        unsafe {
            free(o.search_name);
            free(options);
        }
    })
}

/// Runs a registry operation: clears this thread's last error, and on
/// failure records the message there and returns -1.
pub(crate) fn operation(
    name: &str,
    body: impl FnOnce() -> Result<(), crate::error::Error>,
) -> c_int {
    guard(name, -1, || {
        last_error::clear();
        match body() {
            Ok(()) => 0,
            Err(e) => {
                set_error(name, &e.to_string());
                -1
            }
        }
    })
}

/// Records the failure of operation `name` for the calling thread: its
/// last error and, with the `isulad` feature, the daemon's log and error
/// message (`isulad_try_set_error_message("%s", message)`).
pub(crate) fn set_error(name: &str, message: &str) {
    last_error::set(message);
    #[cfg(feature = "isulad")]
    {
        super::daemon::log(
            crate::host::daemon::LogLevel::Error,
            &format!("{name}: {message}"),
        );
        super::daemon::set_error_message(message);
    }
    #[cfg(not(feature = "isulad"))]
    let _ = name;
}

/// Sets the directory of auths.json and aeskey, and the certs.d directory;
/// NULL keeps the current one (defaults: `/root/.isulad`,
/// `/etc/isulad/certs.d`). May be called again. 0 on success.
///
/// # Safety
/// Each argument is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn registry_init(auths_dir: *mut c_char, certs_dir: *mut c_char) -> c_int {
    operation("registry_init", || {
        // SAFETY: the strings are NULL or C strings, as # Safety requires.
        let (auths, certs) = unsafe { (opt_str(auths_dir), opt_str(certs_dir)) };
        api::init(auths.map(PathBuf::from), certs.map(PathBuf::from));
        Ok(())
    })
}

/// Pulls `image_name` into the store under `dest_image_name`. 0 on success,
/// also when the image was already there; -1 with the message in
/// `isula_registry_last_error()`. Progress goes to
/// `progress_status_store` when it is not NULL.
///
/// # Safety
/// `options` is NULL or valid, its strings NULL or C strings, and its
/// `progress_status_store` NULL or from `progress_status_map_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn registry_pull(options: *mut registry_pull_options) -> c_int {
    operation("registry_pull", || {
        // SAFETY: `options` is NULL or valid, as # Safety requires.
        let Some(o) = (unsafe { options.as_ref() }) else {
            return Err(crate::error::Error::Invalid(
                "registry_pull needs options: pass a registry_pull_options with image_name set"
                    .into(),
            ));
        };
        // SAFETY: its strings are NULL or C strings, as # Safety requires.
        let opts = unsafe { pull_options(o) }?;
        let cancel = Arc::new(AtomicBool::new(false));
        let feed = MapHandle::feed(o.progress_status_store);
        let mut sinks: Vec<&dyn Observer> = Vec::new();
        if let Some(feed) = &feed {
            sinks.push(feed);
        }
        // the daemon's log names the mirrors passed over
        #[cfg(feature = "isulad")]
        sinks.push(&super::daemon::NoteLog);
        api::pull(&opts, &Fanout(sinks), cancel).map(|_| ())
    })
}

/// The safe form of `registry_pull_options`.
///
/// # Safety
/// The strings of `o` are NULL or C strings.
pub(crate) unsafe fn pull_options(
    o: &registry_pull_options,
) -> Result<api::PullOptions, crate::error::Error> {
    let text = |p: *mut c_char, what: &str| {
        // SAFETY: the strings are NULL or C strings, as # Safety requires.
        unsafe { opt_str(p) }
            .map(str::to_string)
            .ok_or_else(|| crate::error::Error::Invalid(format!("Invalid image name: no {what}")))
    };
    // SAFETY: the strings are NULL or C strings, as # Safety requires.
    let (user, pass) = unsafe { (opt_str(o.auth.username), opt_str(o.auth.password)) };
    Ok(api::PullOptions {
        image: text(o.image_name, "image name")?,
        dest: text(o.dest_image_name, "destination name")?,
        credentials: user.zip(pass).map(|(u, p)| (u.to_string(), p.to_string())),
        skip_tls_verify: o.skip_tls_verify,
        insecure: o.insecure_registry,
    })
}

/// Checks the credentials at `options->host` and stores them in
/// auths.json. 0 on success; -1 with the message in
/// `isula_registry_last_error()`.
///
/// # Safety
/// `options` is NULL or valid with NULL or C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn registry_login(options: *mut registry_login_options) -> c_int {
    operation("registry_login", || {
        // SAFETY: `options` is NULL or valid, as # Safety requires.
        let o = unsafe { options.as_ref() }
            .ok_or_else(|| crate::error::Error::Invalid("login needs options".to_string()))?;
        // SAFETY: `host` is NULL or a C string, as # Safety requires.
        let (host, user, pass) = unsafe {
            (
                opt_str(o.host),
                opt_str(o.auth.username),
                opt_str(o.auth.password),
            )
        };
        api::login(
            host.unwrap_or_default(),
            user.unwrap_or_default(),
            pass.unwrap_or_default(),
            o.skip_tls_verify,
            o.insecure_registry,
        )
    })
}

/// Removes the stored credentials of `host` (as given and as transformed,
/// e.g. docker.io and registry-1.docker.io). 0 also when there were none.
///
/// # Safety
/// `host` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn registry_logout(host: *mut c_char) -> c_int {
    operation("registry_logout", || {
        // SAFETY: the strings are NULL or C strings, as # Safety requires.
        let host = unsafe { opt_str(host) }.ok_or_else(|| {
            crate::error::Error::Invalid("logout needs a registry host".to_string())
        })?;
        api::logout(host)
    })
}
