//! `http_request.h`: how the registry asks for a response.

/// Which parts of a response a registry request keeps.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum resp_data_type {
    HEAD_ONLY = 0,
    BODY_ONLY = 1,
    HEAD_BODY = 2,
    RESUME_BODY = 3,
}
