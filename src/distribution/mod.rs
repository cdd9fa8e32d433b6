//! The OCI distribution protocol: image references, auth challenges, TLS
//! material, manifests, the authorizer (tokens, Basic), and the client
//! that speaks to a registry.

#![forbid(unsafe_code)]

pub mod auth;
pub mod certs;
pub mod challenge;
pub mod client;
pub mod fetch;
pub mod json;
pub mod manifest;
pub mod not_found;
pub mod reference;
pub mod retry;
pub mod search;
