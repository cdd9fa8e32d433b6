//! The C ABI: `#[repr(C)]` mirrors of iSulad's structs and the `extern "C"`
//! functions of its headers. One file per generated header (see build.rs).
//!
//! Rules for every function here:
//! - its body runs in `guard`, so a panic never unwinds into C and the
//!   function returns its error value instead;
//! - NULL or invalid arguments return the error value, never crash;
//! - memory handed to C comes from libc `malloc`, so C may `free()` it, as
//!   iSulad's callers do.

#![allow(non_camel_case_types)]

pub mod aes;
pub mod buffer;
#[cfg(feature = "isulad")]
pub mod daemon;
pub mod http;
pub mod http_request;
pub mod isula_registry;
pub mod progress;
pub mod progress_feed;
pub mod pull_handle;
pub mod registry;
pub mod registry_apiv2;
pub mod registry_type;
#[cfg(feature = "image_search")]
pub mod search;
pub mod timestamp;

mod cstr;
mod last_error;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`, turning a panic into `on_panic` (the function's error value).
pub(crate) fn guard<T>(name: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    // the isulad host reaches the daemon's storage through ffi (daemon.rs)
    #[cfg(feature = "isulad")]
    daemon::connect();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            eprintln!("isula-registry: internal error in {name}: {what}");
            on_panic
        }
    }
}
