//! HTTP over the system libcurl: one request, described by [`Request`],
//! performed by [`perform`]. The response head and body go to a [`Sink`];
//! transfer progress goes to an optional callback that can abort.
//!
//! Redirects are followed by libcurl itself, so credentials set as custom
//! `Authorization` headers are not sent to another host (libcurl drops
//! them on a cross-host redirect), unlike iSulad's manual re-issue.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::time::Duration;

use curl::easy::{Easy, HttpVersion, List};

mod collector;
pub mod proxy;

use collector::Collector;

/// Most redirects followed for one request (iSulad: 30).
pub const MAX_REDIRECTS: u32 = 30;
/// libcurl's code for a transfer aborted by the progress callback.
pub const CURLE_ABORTED_BY_CALLBACK: u32 = 42;
/// libcurl's code for a failed write into the output.
pub const CURLE_WRITE_ERROR: u32 = 23;

/// TLS settings of a request.
#[derive(Clone, Debug, Default)]
pub struct Tls<'a> {
    pub verify_peer: bool,
    pub verify_host: bool,
    /// CA bundle that replaces the system one.
    pub ca_file: Option<&'a Path>,
    /// Client certificate and key (PEM).
    pub cert_file: Option<&'a Path>,
    pub key_file: Option<&'a Path>,
}

/// One HTTP request.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    pub url: &'a str,
    /// Overrides the verb (e.g. "PUT"); default GET, or POST with a body.
    pub method: Option<&'a str>,
    /// HEAD request: no body is asked for.
    pub head_only: bool,
    pub body: Option<&'a [u8]>,
    /// Full header lines, sent in order.
    pub headers: Vec<String>,
    pub tls: Tls<'a>,
    pub unix_socket: Option<&'a str>,
    /// Connect within 30 s; abort when slower than 1024 B/s for 30 s.
    pub low_speed_abort: bool,
    /// Ask for the bytes from this offset on (`Range`); 0 = whole body.
    pub resume_from: u64,
    pub follow_redirects: bool,
    /// Only HTTP/1.1 (iSulad's http_request forces it).
    pub http11_only: bool,
    pub verbose: bool,
}

/// Where the final response goes.
pub trait Sink {
    /// The status and raw head (status line and header lines,
    /// CRLF-terminated, blank line included) of the response whose body
    /// follows. Called once, before the first body byte, or at the end when
    /// there is no body.
    fn head(&mut self, status: u32, raw: &[u8]) -> io::Result<()>;
    /// The next body bytes of the final response.
    fn body(&mut self, data: &[u8]) -> io::Result<()>;
}

/// Progress of the current transfer, as libcurl counts it (bytes of this
/// transfer only: after a resume, the remaining range).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Transfer {
    pub dltotal: f64,
    pub dlnow: f64,
    pub ultotal: f64,
    pub ulnow: f64,
}

/// Called during the transfer; returning false aborts it.
pub type ProgressFn<'a> = dyn FnMut(Transfer) -> bool + 'a;

/// The final response.
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub status: u32,
    /// Header lines of the final response, in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A failed transfer: libcurl's code and the best text it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferError {
    pub code: u32,
    pub message: String,
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransferError {}

impl From<curl::Error> for TransferError {
    fn from(e: curl::Error) -> Self {
        let message = match e.extra_description() {
            Some(extra) if !extra.is_empty() => extra.to_string(),
            _ => e.description().to_string(),
        };
        TransferError {
            code: e.code(),
            message,
        }
    }
}

thread_local! {
    /// One libcurl handle per thread, reset before each request: libcurl
    /// keeps its live connections, TLS sessions and DNS cache across
    /// resets, so consecutive requests to a registry reuse a connection
    /// (iSulad made a new TCP and TLS connection for every request, W2).
    static HANDLE: RefCell<Option<Easy>> = const { RefCell::new(None) };
}

/// Performs `req`, streaming the final response into `sink`.
///
/// Any HTTP status is a successful transfer (the caller decides what a 404
/// means); only transport failures, a failing sink and an abort by
/// `progress` are errors.
pub fn perform<'p>(
    req: &Request<'_>,
    sink: &mut dyn Sink,
    progress: Option<&'p mut ProgressFn<'p>>,
) -> Result<Response, TransferError> {
    curl::init();
    HANDLE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let easy = slot.get_or_insert_with(Easy::new);
            easy.reset();
            perform_on(easy, req, sink, progress)
        }
        // a sink or callback that makes a request of its own: a fresh handle
        Err(_) => perform_on(&mut Easy::new(), req, sink, progress),
    })
}

fn write_failed(err: io::Error) -> TransferError {
    TransferError {
        code: CURLE_WRITE_ERROR,
        message: format!("failed to write the response: {err}"),
    }
}

fn perform_on<'p>(
    easy: &mut Easy,
    req: &Request<'_>,
    sink: &mut dyn Sink,
    progress: Option<&'p mut ProgressFn<'p>>,
) -> Result<Response, TransferError> {
    configure(easy, req, progress.is_some())?;
    let collector = RefCell::new(Collector::new(sink, progress, req.follow_redirects));
    let result = {
        let mut transfer = easy.transfer();
        transfer.header_function(|data| collector.borrow_mut().header(data))?;
        transfer.write_function(|data| collector.borrow_mut().write(data))?;
        transfer.progress_function(|a, b, c, d| collector.borrow_mut().progress(a, b, c, d))?;
        transfer.perform()
    };
    let mut collector = collector.into_inner();
    if let Some(err) = collector.take_write_error() {
        return Err(write_failed(err));
    }
    result?;
    collector.finish().map_err(write_failed)?;
    Ok(Response {
        status: easy.response_code().unwrap_or(0),
        headers: collector.take_headers(),
    })
}

fn configure(easy: &mut Easy, req: &Request<'_>, with_progress: bool) -> Result<(), curl::Error> {
    // iSulad only turns spaces into %20; everything else goes as given.
    easy.url(&req.url.replace(' ', "%20"))?;
    easy.signal(false)?;
    if req.http11_only {
        easy.http_version(HttpVersion::V11)?;
    }
    easy.verbose(req.verbose)?;
    if let Some(sock) = req.unix_socket {
        easy.unix_socket(sock)?;
    } else {
        proxy::apply(easy)?;
    }
    if req.low_speed_abort {
        easy.connect_timeout(Duration::from_secs(30))?;
        easy.low_speed_limit(1024)?;
        easy.low_speed_time(Duration::from_secs(30))?;
    }
    if let Some(body) = req.body {
        easy.post(true)?;
        easy.post_field_size(body.len() as u64)?;
        easy.post_fields_copy(body)?;
    }
    if req.head_only {
        easy.nobody(true)?;
    }
    if let Some(method) = req.method {
        easy.custom_request(method)?;
    }
    if req.resume_from > 0 {
        easy.resume_from(req.resume_from)?;
    }
    if req.follow_redirects {
        easy.follow_location(true)?;
        easy.max_redirections(MAX_REDIRECTS)?;
    }
    if !req.headers.is_empty() {
        let mut list = List::new();
        for h in &req.headers {
            list.append(h)?;
        }
        easy.http_headers(list)?;
    }
    easy.ssl_verify_peer(req.tls.verify_peer)?;
    easy.ssl_verify_host(req.tls.verify_host)?;
    if let Some(ca) = req.tls.ca_file {
        easy.cainfo(ca)?;
    }
    if let Some(cert) = req.tls.cert_file {
        easy.ssl_cert(cert)?;
    }
    if let Some(key) = req.tls.key_file {
        easy.ssl_key(key)?;
    }
    easy.progress(with_progress)?;
    Ok(())
}
