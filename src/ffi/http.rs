//! `http.h`: libhttpclient's `http_request()` and friends, on the Rust
//! transport.
//!
//! `struct http_get_options` starts with six one-bit fields. Rust has no
//! bit-fields, so the struct has two views of the same memory:
//! `rust_view` (what this code reads: the bits as one `u8` flag byte at
//! offset 0, `outputtype` at offset 1) and `c_view` (what cbindgen turns
//! into the header: real C bit-fields). Compile-time asserts here and the C
//! layout test keep them identical.
//!
//! The transfer callback has the variant the caller's libcurl headers
//! select: `xferinfo`/`xferinfo_func` with `curl_off_t` on libcurl >= 7.32,
//! else `progressinfo`/`progress_info_func` with doubles. build.rs sets the
//! `isula_curl_xferinfo` cfg from the libcurl this library is built with.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::io;
use std::path::Path;

use super::buffer::{Buffer, BufferWriter};
use super::cstr::{free, free_sensitive, opt_str, str_array, strdup};
use super::guard;
use crate::transport::sink::{self, Body};
use crate::transport::{self, CURLE_WRITE_ERROR, Request, Sink, Tls, Transfer};

/// libcurl's code for an argument it cannot use.
const CURLE_BAD_FUNCTION_ARGUMENT: u32 = 43;

pub use rust_view::http_get_options;

/// `output` is a `struct Buffer *`.
pub const HTTP_REQUEST_STRBUF: c_char = 0;
/// `output` is a file path (`char *`).
pub const HTTP_REQUEST_FILE: c_char = 1;

pub const HTTP_RES_OK: c_int = 0;
pub const HTTP_RES_MISSING_TARGET: c_int = 1;
pub const HTTP_RES_ERROR: c_int = 2;
pub const HTTP_RES_START_FAILED: c_int = 3;
pub const HTTP_RES_REAUTH: c_int = 4;
pub const HTTP_RES_NOAUTH: c_int = 5;
pub const HTTP_GET_BUFFER_SIZE: c_int = 1024;
pub const AUTHZ_ERROR_MSG_SIZE: c_int = 256;
/// cbindgen:ignore (a string: the #define is in build.rs)
pub const AUTHZ_UNIX_SOCK: &str = "/run/isulad/plugins/authz-broker.sock";
/// cbindgen:ignore
pub const AUTHZ_REQUEST_URL: &str = "http://localhost/isulad.auth";
pub const BODY_FILE_MODE: c_int = 0o600;

/// Mode of an output file `http_request` creates (iSulad's util_ensure_path).
const OUTPUT_FILE_MODE: u32 = 0o640;
/// `recursive_len + 1` must stay under this (iSulad's redirect bound).
const MAX_REDIRECT_NUMS: c_int = 32;

/// The transfer callback (libcurl >= 7.32): non-zero aborts the transfer.
#[cfg(isula_curl_xferinfo)]
pub type xferinfo_func = Option<
    unsafe extern "C" fn(
        p: *mut c_void,
        dltotal: curl_sys::curl_off_t,
        dlnow: curl_sys::curl_off_t,
        ultotal: curl_sys::curl_off_t,
        ulnow: curl_sys::curl_off_t,
    ) -> c_int,
>;

/// The transfer callback (libcurl < 7.32): non-zero aborts the transfer.
#[cfg(not(isula_curl_xferinfo))]
pub type progress_info_func = Option<
    unsafe extern "C" fn(
        p: *mut c_void,
        dltotal: f64,
        dlnow: f64,
        ultotal: f64,
        ulnow: f64,
    ) -> c_int,
>;

/// HTTP status codes, named as Go's net/http (iSulad's enum).
#[repr(C)]
pub enum http_response_code {
    StatusContinue = 100,
    StatusSwitchingProtocols = 101,
    StatusProcessing = 102,
    StatusOK = 200,
    StatusCreated = 201,
    StatusAccepted = 202,
    StatusNonAuthoritativeInfo = 203,
    StatusNoContent = 204,
    StatusResetContent = 205,
    StatusPartialContent = 206,
    StatusMultiStatus = 207,
    StatusAlreadyReported = 208,
    StatusIMUsed = 226,
    StatusMultipleChoices = 300,
    StatusMovedPermanently = 301,
    StatusFound = 302,
    StatusSeeOther = 303,
    StatusNotModified = 304,
    StatusUseProxy = 305,
    StatusTemporaryRedirect = 307,
    StatusPermanentRedirect = 308,
    StatusBadRequest = 400,
    StatusUnauthorized = 401,
    StatusPaymentRequired = 402,
    StatusForbidden = 403,
    StatusNotFound = 404,
    StatusMethodNotAllowed = 405,
    StatusNotAcceptable = 406,
    StatusProxyAuthRequired = 407,
    StatusRequestTimeout = 408,
    StatusConflict = 409,
    StatusGone = 410,
    StatusLengthRequired = 411,
    StatusPreconditionFailed = 412,
    StatusRequestEntityTooLarge = 413,
    StatusRequestURITooLong = 414,
    StatusUnsupportedMediaType = 415,
    StatusRequestedRangeNotSatisfiable = 416,
    StatusExpectationFailed = 417,
    StatusTeapot = 418,
    StatusUnprocessableEntity = 422,
    StatusLocked = 423,
    StatusFailedDependency = 424,
    StatusUpgradeRequired = 426,
    StatusPreconditionRequired = 428,
    StatusTooManyRequests = 429,
    StatusRequestHeaderFieldsTooLarge = 431,
    StatusUnavailableForLegalReasons = 451,
    StatusInternalServerError = 500,
    StatusNotImplemented = 501,
    StatusBadGateway = 502,
    StatusServiceUnavailable = 503,
    StatusGatewayTimeout = 504,
    StatusHTTPVersionNotSupported = 505,
    StatusVariantAlsoNegotiates = 506,
    StatusInsufficientStorage = 507,
    StatusLoopDetected = 508,
    StatusNotExtended = 510,
    StatusNetworkAuthenticationRequired = 511,
}

/// cbindgen:ignore
mod rust_view {
    use std::ffi::{c_char, c_int, c_void};

    /// What Rust reads: the six bit-fields are bits 0..5 of `flags`.
    #[repr(C)]
    pub struct http_get_options {
        pub flags: u8,
        pub outputtype: c_char,
        pub unix_socket_path: *mut c_char,
        pub output: *mut c_void,
        pub method: *mut c_void,
        pub input: *mut c_void,
        pub input_len: usize,
        pub authorization: *mut c_char,
        pub accepts: *mut c_char,
        pub custom_headers: *mut *mut c_char,
        pub debug: bool,
        pub ssl_verify_peer: bool,
        pub ssl_verify_host: bool,
        pub ca_file: *mut c_char,
        pub cert_file: *mut c_char,
        pub key_file: *mut c_char,
        pub errmsg: *mut c_char,
        pub errcode: c_int,
        pub resume: bool,
        pub timeout: bool,
        #[cfg(isula_curl_xferinfo)]
        pub xferinfo: *mut c_void,
        #[cfg(isula_curl_xferinfo)]
        pub xferinfo_op: super::xferinfo_func,
        #[cfg(not(isula_curl_xferinfo))]
        pub progressinfo: *mut c_void,
        #[cfg(not(isula_curl_xferinfo))]
        pub progress_info_op: super::progress_info_func,
    }

    pub const WITH_HEAD: u8 = 1 << 0;
    pub const WITH_BODY: u8 = 1 << 1;
    pub const WITH_HEADER_AUTH: u8 = 1 << 2;
    pub const WITH_HEADER_JSON: u8 = 1 << 3;
    pub const WITH_HEADER_ACCEPT: u8 = 1 << 4;
    pub const SHOW_PROGRESS: u8 = 1 << 5;

    const _: () = {
        use std::mem::{offset_of, size_of};
        assert!(size_of::<http_get_options>() == 136);
        assert!(offset_of!(http_get_options, outputtype) == 1);
        assert!(offset_of!(http_get_options, unix_socket_path) == 8);
        assert!(offset_of!(http_get_options, custom_headers) == 64);
        assert!(offset_of!(http_get_options, debug) == 72);
        assert!(offset_of!(http_get_options, ca_file) == 80);
        assert!(offset_of!(http_get_options, errmsg) == 104);
        assert!(offset_of!(http_get_options, errcode) == 112);
        assert!(offset_of!(http_get_options, resume) == 116);
        assert!(offset_of!(http_get_options, timeout) == 117);
    };
    #[cfg(isula_curl_xferinfo)]
    const _: () = assert!(std::mem::offset_of!(http_get_options, xferinfo_op) == 128);
}

/// What the header declares (never used by Rust code).
#[allow(dead_code)]
mod c_view {
    use std::ffi::{c_char, c_int, c_uint, c_void};

    /// Options of one `http_request()`. Zero it (calloc/memset) before use:
    /// a zeroed struct is a GET without TLS verification, output discarded.
    #[cfg(isula_curl_xferinfo)]
    #[repr(C)]
    pub struct http_get_options {
        /// Write the response head (status line and headers) before the body.
        /// cbindgen:bitfield=1
        pub with_head: c_uint,
        /// Ask for the body; 0 makes a HEAD request.
        /// cbindgen:bitfield=1
        pub with_body: c_uint,
        /// Send `Authorization: <authorization>`.
        /// cbindgen:bitfield=1
        pub with_header_auth: c_uint,
        /// Send `Content-Type: application/json` (and an empty `Expect:`).
        /// cbindgen:bitfield=1
        pub with_header_json: c_uint,
        /// Send `Accept: <accepts>`.
        /// cbindgen:bitfield=1
        pub with_header_accept: c_uint,
        /// Call `xferinfo_op(xferinfo, ...)` during the transfer.
        /// cbindgen:bitfield=1
        pub show_progress: c_uint,
        /// HTTP_REQUEST_STRBUF or HTTP_REQUEST_FILE.
        pub outputtype: c_char,
        /// Connect through this unix socket.
        pub unix_socket_path: *mut c_char,
        /// A `struct Buffer *` (STRBUF) or a file path `char *` (FILE); never freed.
        pub output: *mut c_void,
        /// A `char *` verb such as "PUT" overriding GET/POST; NULL for the default.
        pub method: *mut c_void,
        /// Request body (makes a POST unless `method` says otherwise).
        pub input: *mut c_void,
        pub input_len: usize,
        pub authorization: *mut c_char,
        pub accepts: *mut c_char,
        /// NULL-terminated array of full header lines, sent in order.
        pub custom_headers: *mut *mut c_char,
        pub debug: bool,
        pub ssl_verify_peer: bool,
        pub ssl_verify_host: bool,
        /// CA bundle replacing the system one.
        pub ca_file: *mut c_char,
        /// Client certificate and key (PEM).
        pub cert_file: *mut c_char,
        pub key_file: *mut c_char,
        /// Out: malloc'd error text of a failed transfer.
        pub errmsg: *mut c_char,
        /// Out: the CURLcode of a failed transfer.
        pub errcode: c_int,
        /// FILE output: append, asking for the bytes after the file's size.
        pub resume: bool,
        /// Connect timeout 30 s; abort under 1024 B/s for 30 s.
        pub timeout: bool,
        pub xferinfo: *mut c_void,
        pub xferinfo_op: super::xferinfo_func,
    }

    /// Options of one `http_request()` (libcurl < 7.32 transfer callback).
    #[cfg(not(isula_curl_xferinfo))]
    #[repr(C)]
    pub struct http_get_options {
        /// cbindgen:bitfield=1
        pub with_head: c_uint,
        /// cbindgen:bitfield=1
        pub with_body: c_uint,
        /// cbindgen:bitfield=1
        pub with_header_auth: c_uint,
        /// cbindgen:bitfield=1
        pub with_header_json: c_uint,
        /// cbindgen:bitfield=1
        pub with_header_accept: c_uint,
        /// cbindgen:bitfield=1
        pub show_progress: c_uint,
        pub outputtype: c_char,
        pub unix_socket_path: *mut c_char,
        pub output: *mut c_void,
        pub method: *mut c_void,
        pub input: *mut c_void,
        pub input_len: usize,
        pub authorization: *mut c_char,
        pub accepts: *mut c_char,
        pub custom_headers: *mut *mut c_char,
        pub debug: bool,
        pub ssl_verify_peer: bool,
        pub ssl_verify_host: bool,
        pub ca_file: *mut c_char,
        pub cert_file: *mut c_char,
        pub key_file: *mut c_char,
        pub errmsg: *mut c_char,
        pub errcode: c_int,
        pub resume: bool,
        pub timeout: bool,
        pub progressinfo: *mut c_void,
        pub progress_info_op: super::progress_info_func,
    }
}

/// Frees the strings the options own and the struct itself (not `output`,
/// `input`, `method` nor the callback data). NULL is fine.
///
/// # Safety
/// `options` is NULL or a malloc'd struct whose string fields are NULL or
/// malloc'd, and `custom_headers` a malloc'd NULL-terminated array of them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_http_get_options(options: *mut http_get_options) {
    guard("free_http_get_options", (), || {
        // SAFETY: `options` is NULL or a valid, exclusively ours struct (# Safety).
        let Some(o) = (unsafe { options.as_mut() }) else {
            return;
        };
        // SAFETY: each field is NULL or libc memory per the contract.
        unsafe {
            free(o.accepts);
            free_sensitive(o.authorization);
            free(o.unix_socket_path);
            if !o.custom_headers.is_null() {
                let mut i = 0;
                while !(*o.custom_headers.add(i)).is_null() {
                    free_sensitive(*o.custom_headers.add(i));
                    i += 1;
                }
                free(o.custom_headers);
            }
            free(o.ca_file);
            free(o.cert_file);
            free(o.key_file);
            free(o.errmsg);
            free(options);
        }
    })
}

/// `curl_global_init(CURL_GLOBAL_ALL)`; optional, transfers initialise too.
#[unsafe(no_mangle)]
pub extern "C" fn http_global_init() {
    guard("http_global_init", (), curl::init)
}

/// `curl_global_cleanup()`, for the end of the process.
#[unsafe(no_mangle)]
pub extern "C" fn http_global_cleanup() {
    guard("http_global_cleanup", (), || {
        // SAFETY: plain libcurl call; libcurl re-initialises on the next
        // easy handle if a transfer follows.
        unsafe { curl_sys::curl_global_cleanup() }
    })
}

/// Performs one HTTP request as `options` describe.
///
/// Returns 0 when the transfer worked, whatever the HTTP status (found in
/// `*response_code`); -1 on bad arguments or a failed transfer, then with
/// `options->errmsg` (malloc'd text) and `options->errcode` (CURLcode) set.
/// Redirects are followed (at most 30); `recursive_len` counts redirects
/// already taken by the caller, as in iSulad.
///
/// # Safety
/// `url` is NULL or a C string; `options` is NULL or a valid struct whose
/// pointers are NULL or valid as documented on each field;
/// `response_code` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn http_request(
    url: *const c_char,
    options: *mut http_get_options,
    response_code: *mut c_long,
    recursive_len: c_int,
) -> c_int {
    guard("http_request", -1, || {
        // SAFETY: `url` is NULL or a C string, `options` NULL or a valid struct no one
        // else uses during the call (# Safety).
        let (Some(url), Some(o)) = (unsafe { opt_str(url) }, unsafe { options.as_mut() }) else {
            return -1;
        };
        if recursive_len.saturating_add(1) >= MAX_REDIRECT_NUMS {
            return -1;
        }
        let mut callback = progress_callback(o);
        let progress = callback
            .as_mut()
            .map(|f| f as &mut transport::ProgressFn<'_>);
        // SAFETY: the caller's contract (# Safety above) is what Call::read needs.
        match unsafe { Call::read(url, o) }.run(progress) {
            Ok(status) => {
                // SAFETY: NULL-checked, writable per the contract.
                if let Some(rc) = unsafe { response_code.as_mut() } {
                    *rc = c_long::from(status);
                }
                0
            }
            Err(err) => {
                // SAFETY: errmsg is NULL or libc memory owned by the options.
                unsafe { free(o.errmsg) };
                o.errmsg = strdup(&err.message);
                o.errcode = err.code as c_int;
                -1
            }
        }
    })
}

/// POSTs `username:action` to the authz plugin on its unix socket.
/// 0 when it answers 200; else -1 with `*resp` set to a malloc'd message.
///
/// # Safety
/// `username`, `action` are NULL or C strings; `resp` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn authz_http_request(
    username: *const c_char,
    action: *const c_char,
    resp: *mut *mut c_char,
) -> c_int {
    guard("authz_http_request", -1, || {
        // SAFETY: NULL or C strings, `resp` NULL or writable (# Safety).
        let (Some(user), Some(action), Some(resp)) = (
            unsafe { opt_str(username) },
            unsafe { opt_str(action) },
            unsafe { resp.as_mut() },
        ) else {
            return -1;
        };
        let body = format!("{user}:{action}");
        let req = Request {
            url: AUTHZ_REQUEST_URL,
            body: Some(body.as_bytes()),
            headers: vec!["Content-Type: application/json".into(), "Expect:".into()],
            unix_socket: Some(AUTHZ_UNIX_SOCK),
            http11_only: true,
            ..Request::default()
        };
        let message = match transport::perform(&req, &mut Body::new(io::sink(), false), None) {
            Ok(r) if r.status == 200 => return 0,
            Ok(_) => format!("action '{action}' for user '{user}': permission denied"),
            Err(_) => "Failed to request authz plugin. Is server running ?".to_string(),
        };
        *resp = strdup(&message);
        -1
    })
}

/// Where `http_request` writes the response.
enum Output<'a> {
    Discard,
    Buffer(&'a mut Buffer),
    /// The path, `None` when it is not UTF-8.
    File(Option<&'a str>),
    Unknown(c_char),
}

/// One `http_request`, read from its options at the entry.
struct Call<'a> {
    req: Request<'a>,
    output: Output<'a>,
    with_head: bool,
    resume: bool,
}

impl<'a> Call<'a> {
    /// Reads what `o` asks for.
    ///
    /// # Safety
    /// The pointers in `o` are NULL or valid as documented on
    /// `http_get_options` for `'a`, and a STRBUF output is not used
    /// elsewhere meanwhile.
    unsafe fn read(url: &'a str, o: &'a http_get_options) -> Call<'a> {
        use rust_view::*;
        let flag = |bit: u8| o.flags & bit != 0;
        // SAFETY (whole block): as the caller promises; strings are NULL or
        // C strings, `input` holds `input_len` bytes, `custom_headers` is
        // NULL-terminated, and the output is what `outputtype` says.
        unsafe {
            let mut headers = Vec::new();
            if flag(WITH_HEADER_AUTH)
                && let Some(auth) = opt_str(o.authorization)
            {
                headers.push(format!("Authorization: {auth}"));
            }
            if flag(WITH_HEADER_JSON) {
                headers.push("Content-Type: application/json".to_string());
                headers.push("Expect:".to_string());
            }
            headers.extend(str_array(o.custom_headers as *const *const c_char));
            if flag(WITH_HEADER_ACCEPT)
                && let Some(accept) = opt_str(o.accepts)
            {
                headers.push(format!("Accept: {accept}"));
            }
            let body = (!o.input.is_null())
                .then(|| std::slice::from_raw_parts(o.input as *const u8, o.input_len));
            let path = |p: *mut c_char| opt_str(p).map(Path::new);
            let output = match o.outputtype {
                _ if o.output.is_null() => Output::Discard,
                HTTP_REQUEST_STRBUF => Output::Buffer(&mut *(o.output as *mut Buffer)),
                HTTP_REQUEST_FILE => Output::File(opt_str(o.output as *const c_char)),
                other => Output::Unknown(other),
            };
            Call {
                req: Request {
                    url,
                    method: opt_str(o.method as *const c_char),
                    head_only: !flag(WITH_BODY),
                    body,
                    headers,
                    tls: Tls {
                        verify_peer: o.ssl_verify_peer,
                        verify_host: o.ssl_verify_host,
                        ca_file: path(o.ca_file),
                        cert_file: path(o.cert_file),
                        key_file: path(o.key_file),
                    },
                    unix_socket: opt_str(o.unix_socket_path),
                    low_speed_abort: o.timeout,
                    stall_time: None,
                    deadline: None,
                    resume_from: 0,
                    follow_redirects: true,
                    http11_only: true,
                    connect_only: false,
                    verbose: o.debug,
                },
                output,
                with_head: flag(WITH_HEAD),
                resume: o.resume,
            }
        }
    }

    /// Runs the transfer; the HTTP status on success.
    fn run(
        mut self,
        progress: Option<&mut transport::ProgressFn<'_>>,
    ) -> Result<u32, transport::TransferError> {
        // Failures before any transfer get the CURLcode closest in meaning.
        let bad = |code: u32, message: String| transport::TransferError { code, message };
        let with_head = self.with_head;
        let mut sink: Box<dyn Sink + '_> = match self.output {
            Output::Discard => Box::new(Body::new(io::sink(), false)),
            Output::Buffer(buf) => Box::new(Body::new(BufferWriter(buf), with_head)),
            Output::File(target) => {
                let target = target.ok_or_else(|| {
                    bad(
                        CURLE_WRITE_ERROR,
                        "output file path is not valid UTF-8".into(),
                    )
                })?;
                let opened = sink::open_output(Path::new(target), self.resume, OUTPUT_FILE_MODE);
                let (file, size) = opened.map_err(|e| {
                    bad(
                        CURLE_WRITE_ERROR,
                        format!("failed to open output file {target}: {e}"),
                    )
                })?;
                self.req.resume_from = size;
                Box::new(Body::new(file, with_head))
            }
            Output::Unknown(other) => {
                return Err(bad(
                    CURLE_BAD_FUNCTION_ARGUMENT,
                    format!("unknown outputtype {other}"),
                ));
            }
        };
        transport::perform(&self.req, sink.as_mut(), progress).map(|r| r.status)
    }
}

/// The caller's transfer callback, when `show_progress` asks for it.
fn progress_callback(o: &http_get_options) -> Option<impl FnMut(Transfer) -> bool + use<>> {
    if o.flags & rust_view::SHOW_PROGRESS == 0 {
        return None;
    }
    #[cfg(isula_curl_xferinfo)]
    let (data, func) = (o.xferinfo, o.xferinfo_op?);
    #[cfg(not(isula_curl_xferinfo))]
    let (data, func) = (o.progressinfo, o.progress_info_op?);
    if data.is_null() {
        return None;
    }
    Some(move |t: Transfer| {
        // SAFETY: the caller registered `func` for exactly these arguments
        // and keeps `data` valid during the request.
        #[cfg(isula_curl_xferinfo)]
        let rc = unsafe {
            func(
                data,
                t.dltotal as i64,
                t.dlnow as i64,
                t.ultotal as i64,
                t.ulnow as i64,
            )
        };
        #[cfg(not(isula_curl_xferinfo))]
        let rc = unsafe { func(data, t.dltotal, t.dlnow, t.ultotal, t.ulnow) };
        rc == 0
    })
}
