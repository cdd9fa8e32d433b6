//! The progress of a pull: the events a pull emits and the observers that
//! consume them ([`event`]), a model of per-layer phases and bytes
//! ([`model`]), iSulad's `{dlnow, dltotal}` map ([`map`]), and renderers
//! that turn the model's snapshots into text ([`render`]), also for frames
//! received from elsewhere ([`feed`]).

#![forbid(unsafe_code)]

pub mod event;
pub mod feed;
mod fold;
pub mod map;
pub mod model;
pub mod render;
