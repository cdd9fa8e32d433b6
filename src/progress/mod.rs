//! The progress of a pull: a model of per-layer phases and bytes
//! ([`model`]) and renderers that turn its snapshots into text ([`render`]).

#![forbid(unsafe_code)]

pub mod feed;
mod fold;
pub mod model;
pub mod render;
