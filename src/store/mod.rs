//! Where pulled images go. The embedded host stores them as an OCI image
//! layout ([`oci_layout`]); the isulad host hands them to the daemon.

#![forbid(unsafe_code)]

pub mod ingest;
pub mod oci_layout;
