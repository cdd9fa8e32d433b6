//! isula-registry: iSulad's registry module and `http_request()` in Rust.
//!
//! Layers, top to bottom (see shared/design.md):
//! - [`ffi`]: the C ABI. The only place with `unsafe` (the other modules
//!   `forbid` it); every `extern "C"`
//!   function runs inside a panic guard.
//! - [`transport`]: HTTP over the system libcurl.
//! - [`distribution`]: references, auth challenges (the registry protocol).
//! - [`auths`]: credentials stored by login (auths.json, iSulad's format).
//! - [`progress_map`]: the thread-safe `{dlnow, dltotal}` map keyed by digest.

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
pub mod session;
pub mod store;
pub mod text;
pub mod transport;
