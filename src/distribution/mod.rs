//! The OCI distribution protocol: image references, auth challenges.

#![forbid(unsafe_code)]

pub mod challenge;
pub mod reference;
