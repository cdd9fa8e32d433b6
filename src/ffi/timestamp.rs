//! `utils_timestamp.h`: iSulad's `types_timestamp_t` (same include guard as
//! iSulad's, so whichever header comes first defines it once).

/// A point in time as seconds and nanoseconds, each optional.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct types_timestamp_t {
    pub has_seconds: bool,
    pub seconds: i64,
    pub has_nanos: bool,
    pub nanos: i32,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<types_timestamp_t>() == 24);
    assert!(offset_of!(types_timestamp_t, seconds) == 8);
    assert!(offset_of!(types_timestamp_t, has_nanos) == 16);
    assert!(offset_of!(types_timestamp_t, nanos) == 20);
};
