//! isula-registry: iSulad's registry module and libhttpclient's
//! `http_request()` in Rust, behind iSulad's C headers. ARCHITECTURE.md in
//! the repository draws the layers; imports only point down:
//!
//! - [`ffi`]: the C ABI, one file per header; the only place with `unsafe`,
//!   every `extern "C"` function inside a panic guard.
//! - [`api`]: the operations as safe Rust: settings, pull, login, logout,
//!   search, the descriptor API, a pull on its own thread.
//! - [`pull`]: one pull into a host: resolve, download in parallel, verify,
//!   hand over.
//! - [`host`]: where a pull stores: the embedded OCI layout or the daemon.
//! - [`store`]: the OCI image layout on disk.
//! - [`distribution`]: the registry protocol: references, challenges,
//!   auth, manifests, fetch with retries, search, certs.d.
//! - [`error`]: the errors of every operation, with texts that say what to do.
//! - [`advice`]: what to do about a transfer failure (the fix, not the symptom).
//! - [`transport`]: one HTTP request over the system libcurl.
//! - [`auths`]: credentials stored by login (auths.json, iSulad's format).
//! - [`progress`]: a pull's events, their observers, the renderers.
//! - [`digest`]: the one-pass digester (blob digest, decompression, diff_id).
//! - [`fsutil`]: private directories, atomic and exclusive files.
//! - [`text`]: server text made fit for messages and terminals.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod advice;
pub mod api;
pub mod auths;
pub mod digest;
pub mod distribution;
pub mod error;
pub mod ffi;
pub mod fsutil;
pub mod host;
pub mod progress;
pub mod pull;
pub mod store;
pub mod text;
pub mod transport;
