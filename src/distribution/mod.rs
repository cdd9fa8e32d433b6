//! The OCI distribution protocol: image references, auth challenges.

pub mod challenge;
pub mod reference;
