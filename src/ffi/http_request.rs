//! `http_request.h`: how the registry asks for a response, and iSulad's
//! two request functions on a `pull_descriptor` (its TLS settings and auth
//! session, see registry_apiv2.rs), on `api::descriptor::request`.

use std::ffi::{c_char, c_int};
use std::path::Path;

use curl_sys::CURLcode;

use super::cstr::{bytes_dup, opt_str, str_array};
use super::registry::operation;
use super::registry_apiv2::{Desc, report_progress};
use super::registry_type::pull_descriptor;
use crate::api::descriptor;
use crate::error::Error;
use crate::transport::sink::{self, Body};
use crate::transport::{self, ProgressFn, Sink, Transfer};

/// Which parts of a response a registry request keeps.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum resp_data_type {
    HEAD_ONLY = 0,
    BODY_ONLY = 1,
    HEAD_BODY = 2,
    RESUME_BODY = 3,
}

/// Performs a request with the descriptor's headers, TLS and session (see
/// [`descriptor::request`]) and stores the session back.
fn perform(
    desc: &Desc,
    url: &str,
    headers: Vec<String>,
    head_only: bool,
    resume_from: u64,
    sink: &mut dyn Sink,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<(), Error> {
    let out = descriptor::request(
        &desc.read(),
        url,
        headers,
        head_only,
        resume_from,
        sink,
        progress,
    );
    desc.store_session(out.session);
    out.result
}

/// Requests `url` for the registry of `desc` and returns the response in
/// `*output` (malloc'd, NUL-terminated, cut at a NUL byte; `free()` it):
/// `HEAD_ONLY` the head (a HEAD request), `BODY_ONLY` the body, `HEAD_BODY`
/// both (head = status line and headers of the final response), and
/// `RESUME_BODY` nothing (a HEAD request, as iSulad). `custom_headers` is
/// NULL or a NULL-terminated array of header lines, sent before the
/// session's `Authorization`. TLS follows the descriptor (see
/// registry_apiv2.h). The HTTP status is not checked: 0 when the transfer
/// worked, -1 (message in `isula_registry_last_error()`) when it did not.
///
/// # Safety
/// `desc` is NULL or a valid descriptor (see `fetch_manifest`); `url` NULL
/// or a C string; `custom_headers` NULL or a NULL-terminated array of C
/// strings; `output` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn http_request_buf(
    desc: *mut pull_descriptor,
    url: *const c_char,
    custom_headers: *mut *const c_char,
    output: *mut *mut c_char,
    r#type: resp_data_type,
) -> c_int {
    operation("http_request_buf", || {
        // SAFETY: `url` is NULL or a C string per the contract.
        let url = unsafe { opt_str(url) };
        let (Some(url), false, false) = (url, desc.is_null(), output.is_null()) else {
            return Err(Error::Invalid(
                "http_request_buf needs a descriptor, a URL and an output".to_string(),
            ));
        };
        // SAFETY: non-NULL, and valid for the call per the contract
        // (Desc's invariant); the header array is NULL or NULL-terminated.
        let (desc, headers) = unsafe {
            (
                Desc::new(desc, "http_request_buf")?,
                str_array(custom_headers),
            )
        };
        let with_body = matches!(
            r#type,
            resp_data_type::BODY_ONLY | resp_data_type::HEAD_BODY
        );
        let with_head = matches!(
            r#type,
            resp_data_type::HEAD_ONLY | resp_data_type::HEAD_BODY
        );
        let mut kept = Body::new(Vec::new(), with_head);
        perform(&desc, url, headers, !with_body, 0, &mut kept, None)?;
        let copy = bytes_dup(&kept.into_inner());
        if copy.is_null() {
            return Err(Error::Store("out of memory".to_string()));
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *output = copy };
        Ok(())
    })
}

/// Mode of the files `http_request_file` creates.
const FILE_MODE: u32 = 0o640;

/// Requests `url` for the registry of `desc` into `file`: `BODY_ONLY` the
/// body (file truncated), `HEAD_BODY` head then body, `RESUME_BODY` the
/// body appended to what the file holds, asking for the rest with `Range`.
/// Headers and TLS as `http_request_buf`. When `desc->progress_status_store`
/// and `digest` are set, the map entry of `digest` follows the transfer
/// (`{dlnow, dltotal}`, counted from the start of the file after a resume).
/// The HTTP status is not checked. 0, or -1 with the message in
/// `isula_registry_last_error()` and `*errcode` the CURLcode of a failed
/// transfer (`CURLE_OK` otherwise).
///
/// # Safety
/// As `http_request_buf`; `file` and `digest` NULL or C strings; `errcode`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn http_request_file(
    desc: *mut pull_descriptor,
    url: *const c_char,
    custom_headers: *mut *const c_char,
    file: *mut c_char,
    r#type: resp_data_type,
    errcode: *mut CURLcode,
    digest: *mut c_char,
) -> c_int {
    operation("http_request_file", || {
        // SAFETY: `url`, `file` and `digest` are NULL or C strings per the contract.
        let (url, path, key) = unsafe { (opt_str(url), opt_str(file), opt_str(digest)) };
        // SAFETY: NULL or writable per the contract.
        let errcode = unsafe { errcode.as_mut() };
        let (Some(url), Some(path), false, Some(errcode)) = (url, path, desc.is_null(), errcode)
        else {
            return Err(Error::Invalid(
                "http_request_file needs a descriptor, a URL, a file and an errcode".to_string(),
            ));
        };
        // SAFETY: non-NULL, and valid for the call per the contract
        // (Desc's invariant); the header array is NULL or NULL-terminated.
        let (desc, headers) = unsafe {
            (
                Desc::new(desc, "http_request_file")?,
                str_array(custom_headers),
            )
        };
        let code = |c: u32| c as CURLcode;
        *errcode = code(0);
        let resume = r#type == resp_data_type::RESUME_BODY;
        let (handle, from) = match sink::open_output(Path::new(path), resume, FILE_MODE) {
            Ok(v) => v,
            Err(e) => {
                *errcode = code(transport::CURLE_WRITE_ERROR);
                return Err(Error::Store(format!("cannot open {path}: {e}")));
            }
        };
        let mut sink = Body::new(handle, r#type == resp_data_type::HEAD_BODY);
        let store = desc.progress_store();
        let mut on_progress = |t: Transfer| {
            if let Some(key) = key {
                let total = if t.dltotal > 0.0 {
                    from + t.dltotal as u64
                } else {
                    0
                };
                report_progress(store, key, from + t.dlnow as u64, total);
            }
            true
        };
        let progress: Option<&mut ProgressFn<'_>> =
            (!store.is_null() && key.is_some()).then_some(&mut on_progress);
        let result = perform(&desc, url, headers, false, from, &mut sink, progress);
        if let Err(Error::Transport { source, .. }) = &result {
            *errcode = code(source.code);
        }
        result
    })
}
