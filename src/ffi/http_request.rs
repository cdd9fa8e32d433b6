//! `http_request.h`: how the registry asks for a response, and iSulad's
//! two request functions on a `pull_descriptor` (its TLS settings and auth
//! session, see registry_apiv2.rs), on the Rust transport.

use std::ffi::{c_char, c_int};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;

use curl_sys::CURLcode;

use super::cstr::opt_str;
use super::registry::operation;
use super::registry_apiv2::{DescView, bytes_dup, report_progress, save_session};
use super::registry_type::pull_descriptor;
use crate::error::Error;
use crate::transport::{self, Request, Sink, Tls, Transfer};

/// Which parts of a response a registry request keeps.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum resp_data_type {
    HEAD_ONLY = 0,
    BODY_ONLY = 1,
    HEAD_BODY = 2,
    RESUME_BODY = 3,
}

/// The `Authorization` headers the descriptor's session asks for (its
/// cached Bearer token, fetched and stored in the descriptor when missing
/// or expired; Basic credentials for a Basic challenge). Without a stored
/// challenge: none (no ping, as iSulad).
///
/// # Safety
/// `desc` is a valid descriptor as `http_request_buf` documents.
unsafe fn auth_headers(
    desc: *mut pull_descriptor,
    view: &DescView,
    url: &str,
) -> Result<Vec<String>, Error> {
    let url_host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
    // SAFETY: per the contract.
    let client = unsafe { view.client(desc, url_host) }?;
    let header = client.authorization(view.scope().as_deref());
    // SAFETY: per the contract.
    unsafe { save_session(desc, &client) };
    Ok(header?.into_iter().collect())
}

/// The caller's NULL-terminated header array.
///
/// # Safety
/// `headers` is NULL or a NULL-terminated array of C strings.
unsafe fn custom(headers: *mut *const c_char) -> Vec<String> {
    let mut out = Vec::new();
    if headers.is_null() {
        return out;
    }
    let mut i = 0;
    // SAFETY: per the contract.
    while let Some(p) = unsafe { (*headers.add(i)).as_ref() } {
        // SAFETY: a C string per the contract.
        if let Some(h) = unsafe { opt_str(p) } {
            out.push(h.to_string());
        }
        i += 1;
    }
    out
}

/// Performs a request as iSulad's registry did: the caller's headers, then
/// the session's auth; TLS from the descriptor; low-speed timeouts;
/// HTTP/1.1; redirects followed. Any HTTP status is a success.
///
/// # Safety
/// As `http_request_buf`.
unsafe fn perform(
    desc: *mut pull_descriptor,
    url: &str,
    custom_headers: *mut *const c_char,
    head_only: bool,
    resume_from: u64,
    sink: &mut dyn Sink,
    progress: Option<&mut dyn FnMut(Transfer) -> bool>,
) -> Result<(), Error> {
    // SAFETY: per the contract.
    let view = unsafe { DescView::read(desc) };
    // SAFETY: per the contract.
    let mut headers = unsafe { custom(custom_headers) };
    // SAFETY: per the contract.
    headers.extend(unsafe { auth_headers(desc, &view, url) }?);
    let tls = view.tls_for_url(url)?;
    let req = Request {
        url,
        head_only,
        headers,
        tls: Tls {
            verify_peer: !view.skip_tls_verify,
            verify_host: !view.skip_tls_verify,
            ca_file: tls.ca_file.as_deref(),
            cert_file: tls.cert_file.as_deref(),
            key_file: tls.key_file.as_deref(),
        },
        low_speed_abort: true,
        resume_from,
        follow_redirects: true,
        http11_only: true,
        ..Request::default()
    };
    let mut progress = progress;
    let callback = progress
        .as_mut()
        .map(|f| &mut **f as &mut transport::ProgressFn<'_>);
    transport::perform(&req, sink, callback)
        .map(|_| ())
        .map_err(|source| Error::Transport {
            what: format!("GET {url}"),
            source,
        })
}

/// Keeps the response in memory: the head when asked, then the body.
struct Kept {
    with_head: bool,
    data: Vec<u8>,
}

impl Sink for Kept {
    fn head(&mut self, _: u32, raw: &[u8]) -> io::Result<()> {
        if self.with_head {
            self.data.extend_from_slice(raw);
        }
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(data);
        Ok(())
    }
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
        // SAFETY: per the contract.
        let url = unsafe { opt_str(url) };
        let (Some(url), false, false) = (url, desc.is_null(), output.is_null()) else {
            return Err(Error::Invalid(
                "http_request_buf needs a descriptor, a URL and an output".to_string(),
            ));
        };
        let with_body = matches!(
            r#type,
            resp_data_type::BODY_ONLY | resp_data_type::HEAD_BODY
        );
        let with_head = matches!(
            r#type,
            resp_data_type::HEAD_ONLY | resp_data_type::HEAD_BODY
        );
        let mut kept = Kept {
            with_head,
            data: Vec::new(),
        };
        // SAFETY: per the contract.
        unsafe { perform(desc, url, custom_headers, !with_body, 0, &mut kept, None) }?;
        let copy = bytes_dup(&kept.data);
        if copy.is_null() {
            return Err(Error::Store("out of memory".to_string()));
        }
        // SAFETY: output is writable per the contract.
        unsafe { *output = copy };
        Ok(())
    })
}

/// Writes what it receives to the file.
struct ToFile {
    with_head: bool,
    file: File,
}

impl Sink for ToFile {
    fn head(&mut self, _: u32, raw: &[u8]) -> io::Result<()> {
        if self.with_head {
            self.file.write_all(raw)?;
        }
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }
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
        // SAFETY: per the contract.
        let (url, path) = unsafe { (opt_str(url), opt_str(file)) };
        let (Some(url), Some(path), false, false) = (url, path, desc.is_null(), errcode.is_null())
        else {
            return Err(Error::Invalid(
                "http_request_file needs a descriptor, a URL, a file and an errcode".to_string(),
            ));
        };
        let code = |c: u32| c as CURLcode;
        // SAFETY: errcode is writable per the contract.
        unsafe { *errcode = code(0) };
        let resume = r#type == resp_data_type::RESUME_BODY;
        let mut opts = OpenOptions::new();
        opts.create(true).mode(FILE_MODE);
        if resume {
            opts.append(true);
        } else {
            opts.write(true).truncate(true);
        }
        let opened = opts.open(path).and_then(|f| {
            let from = if resume { f.metadata()?.len() } else { 0 };
            Ok((f, from))
        });
        let (handle, from) = match opened {
            Ok(v) => v,
            Err(e) => {
                // SAFETY: as above.
                unsafe { *errcode = code(transport::CURLE_WRITE_ERROR) };
                return Err(Error::Store(format!("cannot open {path}: {e}")));
            }
        };
        let mut sink = ToFile {
            with_head: r#type == resp_data_type::HEAD_BODY,
            file: handle,
        };
        // SAFETY: per the contract.
        let store = unsafe { (*desc).progress_status_store };
        // SAFETY: per the contract.
        let key = unsafe { opt_str(digest) }.map(str::to_string);
        let mut on_progress = |t: Transfer| {
            if let Some(key) = &key {
                let total = if t.dltotal > 0.0 {
                    from + t.dltotal as u64
                } else {
                    0
                };
                report_progress(store, key, from + t.dlnow as u64, total);
            }
            true
        };
        let progress: Option<&mut dyn FnMut(Transfer) -> bool> =
            (!store.is_null() && key.is_some()).then_some(&mut on_progress);
        // SAFETY: per the contract.
        let result =
            unsafe { perform(desc, url, custom_headers, false, from, &mut sink, progress) };
        if let Err(Error::Transport { source, .. }) = &result {
            // SAFETY: as above.
            unsafe { *errcode = code(source.code) };
        }
        result
    })
}
