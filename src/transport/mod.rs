//! HTTP over the system libcurl: one request, described by [`Request`],
//! performed by [`perform`]. The response head and body go to a [`Sink`];
//! transfer progress goes to an optional callback that can abort.
//!
//! Redirects are followed here, hop by hop, not by libcurl: every URL must
//! be http or https, https never leads to plain http, and an
//! `Authorization` header never goes on to another host, whatever the
//! libcurl version does with custom headers.

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use curl::easy::{Easy, HttpVersion, List};

mod collector;
pub mod proxy;
mod redirect;
pub mod sink;
mod tls_material;

use collector::Collector;
pub use redirect::{authority, web_scheme};

/// libcurl's receive buffer (CURLOPT_BUFFERSIZE). Its default, 16 KiB,
/// means a write callback (hash, decompress, write, progress) and a
/// `recv` every 16 KiB. Kept under glibc's 128 KiB mmap threshold: a larger
/// buffer is mapped and unmapped for every transfer, and its first `free`
/// raises the threshold for the whole process, so freed memory stays in the
/// threads' arenas (peak RSS).
const RECEIVE_BUFFER: usize = 120 * 1024;

/// Most redirects followed for one request (iSulad: 30).
pub const MAX_REDIRECTS: u32 = 30;
/// libcurl's code for a transfer aborted by the progress callback.
pub const CURLE_ABORTED_BY_CALLBACK: u32 = 42;
/// libcurl's code for a failed write into the output.
pub const CURLE_WRITE_ERROR: u32 = 23;
/// libcurl's code for a URL whose scheme is not allowed.
pub const CURLE_UNSUPPORTED_PROTOCOL: u32 = 1;
/// libcurl's code for a transfer that took too long or was too slow.
pub const CURLE_OPERATION_TIMEDOUT: u32 = 28;
/// The default low-speed window (iSulad's): slower than
/// [`LOW_SPEED_LIMIT`] for this long aborts a transfer.
pub const LOW_SPEED_TIME: Duration = Duration::from_secs(30);
/// Bytes per second below which a transfer counts as stalled.
pub const LOW_SPEED_LIMIT: u32 = 1024;

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
    /// Connect within 30 s; abort when slower than 1024 B/s for 30 s
    /// (or for `stall_time`).
    pub low_speed_abort: bool,
    /// Overrides the 30 s of the low-speed window and connect timeout.
    pub stall_time: Option<Duration>,
    /// The whole request, redirects included, ends within this time.
    pub deadline: Option<Duration>,
    /// Ask for the bytes from this offset on (`Range`); 0 = whole body.
    pub resume_from: u64,
    pub follow_redirects: bool,
    /// Only HTTP/1.1 (iSulad's http_request forces it).
    pub http11_only: bool,
    /// Only connect (TCP, and the TLS handshake for https): no request is
    /// sent, the response is status 0 with no head.
    pub connect_only: bool,
    pub verbose: bool,
}

/// What a sink returns from [`Sink::body`] when it has all it wants of
/// a body (an error page it keeps only the start of): the transfer stops
/// there and the response counts as received.
pub fn enough() -> io::Error {
    io::Error::other(Enough)
}

#[derive(Debug)]
struct Enough;

impl std::fmt::Display for Enough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the rest of the body is not wanted")
    }
}

impl std::error::Error for Enough {}

fn is_enough(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Enough>())
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

/// A thread's libcurl handle and the TLS material it used per origin.
struct Pooled {
    easy: Easy,
    used: tls_material::Used,
}

thread_local! {
    /// One libcurl handle per thread, reset before each request: libcurl
    /// keeps its live connections, TLS sessions and DNS cache across
    /// resets, so consecutive requests to a registry reuse a connection
    /// (iSulad's `http.c` made a new curl handle, so a new TCP and TLS
    /// connection, for every request). Replaced when an https origin is
    /// asked with other TLS material than before (see `tls_material`).
    static HANDLE: RefCell<Option<Pooled>> = const { RefCell::new(None) };
}

/// Performs `req`, streaming the final response into `sink`.
///
/// Any HTTP status is a successful transfer (the caller decides what a 404
/// means); only transport failures, a failing sink and an abort by
/// `progress` are errors.
pub fn perform(
    req: &Request<'_>,
    sink: &mut dyn Sink,
    mut progress: Option<&mut ProgressFn<'_>>,
) -> Result<Response, TransferError> {
    curl::init();
    let started = Instant::now();
    let mut hop = redirect::Hop::first(req)?;
    for _ in 0..=MAX_REDIRECTS {
        let mut this = req.clone();
        this.url = &hop.url;
        this.headers.clone_from(&hop.headers);
        this.method = hop.method.as_deref();
        this.body = hop.body;
        if let Some(deadline) = req.deadline {
            let left = deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(TransferError {
                    code: CURLE_OPERATION_TIMEDOUT,
                    message: format!("no answer within {} s", deadline.as_secs()),
                });
            }
            this.deadline = Some(left);
        }
        let progress = progress.as_mut().map(|p| &mut **p as &mut ProgressFn<'_>);
        match perform_hop(&this, sink, progress)? {
            Outcome::Final(response) => return Ok(response),
            Outcome::Redirect { status, location } => hop = hop.follow(status, &location)?,
        }
    }
    Err(TransferError {
        code: 47, // CURLE_TOO_MANY_REDIRECTS
        message: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

/// One request of a chain of redirects.
enum Outcome {
    Final(Response),
    /// A redirect to follow (its body was dropped).
    Redirect {
        status: u32,
        location: String,
    },
}

fn perform_hop(
    req: &Request<'_>,
    sink: &mut dyn Sink,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<Outcome, TransferError> {
    HANDLE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let pooled = slot.get_or_insert_with(|| Pooled {
                easy: Easy::new(),
                used: tls_material::Used::default(),
            });
            if web_scheme(req.url) == Some("https") {
                let origin = authority(req.url);
                let material = tls_material::Material::of(&req.tls);
                if pooled.used.changes(&origin, material) {
                    // its connections, sessions and CA store hold the old trust
                    pooled.easy = Easy::new();
                    pooled.used.keep_only(&origin);
                }
            }
            pooled.easy.reset();
            perform_on(&mut pooled.easy, req, sink, progress)
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

fn perform_on(
    easy: &mut Easy,
    req: &Request<'_>,
    sink: &mut dyn Sink,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<Outcome, TransferError> {
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
    match result {
        // the sink, or a redirect, needed no more of the body
        Err(e) if collector.stopped_early() && e.code() == CURLE_WRITE_ERROR => {}
        r => r?,
    }
    let status = easy.response_code().unwrap_or(0);
    if collector.is_redirect() {
        // libcurl resolves a relative Location against the URL it asked,
        // unless the transfer was cut short
        let location = match easy.redirect_url()? {
            Some(url) => Some(url.to_string()),
            None => collector.location().map(|l| redirect::resolve(req.url, l)),
        };
        if let Some(location) = location {
            return Ok(Outcome::Redirect { status, location });
        }
    }
    collector.finish().map_err(write_failed)?;
    Ok(Outcome::Final(Response {
        status,
        headers: collector.take_headers(),
    }))
}

fn configure(easy: &mut Easy, req: &Request<'_>, with_progress: bool) -> Result<(), curl::Error> {
    // iSulad only turns spaces into %20; everything else goes as given.
    easy.url(&req.url.replace(' ', "%20"))?;
    easy.signal(false)?;
    // libcurl 7.88 refuses a new size (CURLE_BAD_FUNCTION_ARGUMENT) while
    // the handle still holds the buffer of an earlier transfer that failed;
    // reset() has then put the size back to the default, which libcurl
    // reads into the larger buffer it holds: slower, never unsafe.
    let _ = easy.buffer_size(RECEIVE_BUFFER);
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
        let window = req.stall_time.unwrap_or(LOW_SPEED_TIME);
        easy.connect_timeout(window)?;
        easy.low_speed_limit(LOW_SPEED_LIMIT)?;
        easy.low_speed_time(window)?;
    }
    if let Some(deadline) = req.deadline {
        easy.timeout(deadline)?;
    }
    if let Some(body) = req.body {
        easy.post(true)?;
        easy.post_field_size(body.len() as u64)?;
        easy.post_fields_copy(body)?;
    }
    if req.head_only {
        easy.nobody(true)?;
    }
    if req.connect_only {
        easy.connect_only(true)?;
    }
    if let Some(method) = req.method {
        easy.custom_request(method)?;
    }
    if req.resume_from > 0 {
        easy.resume_from(req.resume_from)?;
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

#[cfg(test)]
mod tests {
    //! Header and redirect handling against a tiny HTTP server of our own
    //! on 127.0.0.1 that answers each request with canned bytes and
    //! records what it was sent.

    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    /// The raw answer for a request path.
    type Answer = dyn Fn(&str) -> String + Send + Sync;

    /// One request as received: its request line and header lines.
    #[derive(Clone, Debug)]
    struct Seen {
        line: String,
        headers: Vec<String>,
    }

    impl Seen {
        fn has_header(&self, name: &str) -> bool {
            self.headers.iter().any(|h| {
                h.split(':')
                    .next()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
            })
        }
    }

    /// Serves until dropped (then stopped and joined).
    struct Server {
        port: u16,
        seen: Arc<Mutex<Vec<Seen>>>,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Server {
        fn start(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let answer: Arc<Answer> = Arc::new(answer);
            let thread = {
                let (seen, stop) = (seen.clone(), stop.clone());
                std::thread::spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(conn) = conn {
                            serve(conn, &*answer, &seen);
                        }
                    }
                })
            };
            Server {
                port,
                seen,
                stop,
                thread: Some(thread),
            }
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            // wake the accept
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn serve(conn: TcpStream, answer: &Answer, seen: &Mutex<Vec<Seen>>) {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                break;
            }
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push(h);
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let line = line.trim_end().to_string();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        seen.lock().unwrap().push(Seen { line, headers });
        let mut conn = conn;
        let _ = conn.write_all(answer(&path).as_bytes());
    }

    /// A complete response: status line, header lines, body.
    fn response(status: &str, headers: &[&str], body: &str) -> String {
        let mut r = format!("HTTP/1.1 {status}\r\n");
        for h in headers {
            r.push_str(h);
            r.push_str("\r\n");
        }
        r.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        r
    }

    #[derive(Default)]
    struct Body {
        status: Option<u32>,
        data: Vec<u8>,
    }

    impl Sink for Body {
        fn head(&mut self, status: u32, _: &[u8]) -> io::Result<()> {
            self.status = Some(status);
            Ok(())
        }
        fn body(&mut self, data: &[u8]) -> io::Result<()> {
            self.data.extend_from_slice(data);
            Ok(())
        }
    }

    fn get(url: &str, headers: &[&str]) -> Result<(Response, Body), TransferError> {
        let req = Request {
            url,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            follow_redirects: true,
            deadline: Some(Duration::from_secs(30)),
            ..Request::default()
        };
        let mut body = Body::default();
        let response = perform(&req, &mut body, None)?;
        Ok((response, body))
    }

    #[test]
    fn header_lines_are_kept_in_order_with_duplicates_and_odd_case() {
        let server = Server::start(|_| {
            response(
                "200 OK",
                &[
                    "WWW-Authenticate: Basic realm=\"a\"",
                    "www-authenticate:   Bearer realm=\"https://t/\"  ",
                    "X-ODD-case:value:with:colons",
                    "X-Empty:",
                    "X-Folded: first",
                    "  continued without a colon",
                ],
                "hello",
            )
        });
        let (r, body) = get(&server.url("/h"), &[]).unwrap();
        assert_eq!((r.status, body.status), (200, Some(200)));
        assert_eq!(body.data, b"hello");
        let auth: Vec<_> = r
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            auth,
            [
                ("WWW-Authenticate", "Basic realm=\"a\""),
                ("www-authenticate", "Bearer realm=\"https://t/\"")
            ],
            "both lines, names as sent, values trimmed"
        );
        assert_eq!(
            r.header("www-AUTHENTICATE"),
            Some("Basic realm=\"a\""),
            "the first"
        );
        assert_eq!(r.header("x-odd-case"), Some("value:with:colons"));
        assert_eq!(r.header("x-empty"), Some(""));
        // an obsolete folded line has no name: it is not a header of its own
        assert_eq!(r.header("x-folded"), Some("first"));
        assert!(
            r.headers.iter().all(|(k, _)| !k.contains("continued")),
            "{:?}",
            r.headers
        );
        assert_eq!(r.header("content-length"), Some("5"));
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn a_redirect_is_followed_and_only_the_final_head_is_kept() {
        let server = Server::start(|path| match path {
            "/v2/x/blobs/d" => response(
                "307 Temporary Redirect",
                &["Location: ../../y/final?sig=1", "X-Hop: first"],
                "a redirect body nobody reads",
            ),
            "/v2/y/final?sig=1" => response("200 OK", &["X-Hop: last"], "blob"),
            _ => response("404 Not Found", &[], ""),
        });
        let (r, body) = get(&server.url("/v2/x/blobs/d"), &["Authorization: Bearer t"]).unwrap();
        assert_eq!((r.status, body.data.as_slice()), (200, b"blob".as_slice()));
        assert_eq!(r.header("x-hop"), Some("last"), "{:?}", r.headers);
        assert!(r.header("location").is_none());
        let seen = server.seen();
        assert_eq!(
            seen.iter().map(|s| s.line.as_str()).collect::<Vec<_>>(),
            [
                "GET /v2/x/blobs/d HTTP/1.1",
                "GET /v2/y/final?sig=1 HTTP/1.1"
            ],
            "a relative Location is resolved against the URL asked"
        );
        assert!(
            seen[1].has_header("authorization"),
            "the same host keeps the credentials"
        );
    }

    #[test]
    fn credentials_do_not_follow_a_redirect_to_another_host() {
        let other = Server::start(|_| response("200 OK", &[], "elsewhere"));
        let to = other.url("/blob");
        let first =
            Server::start(move |_| response("302 Found", &[&format!("Location: {to}")], ""));
        let (r, body) = get(
            &first.url("/v2/x"),
            &["Authorization: Basic c2VjcmV0", "Accept: */*"],
        )
        .unwrap();
        assert_eq!(
            (r.status, body.data.as_slice()),
            (200, b"elsewhere".as_slice())
        );
        assert!(first.seen()[0].has_header("authorization"));
        let there = &other.seen()[0];
        // another port of the same address is another host
        assert!(!there.has_header("authorization"), "{:?}", there.headers);
        assert!(there.has_header("accept"), "other headers go on");
    }

    #[test]
    fn redirects_to_other_schemes_or_without_end_are_refused() {
        let server = Server::start(|path| match path {
            "/file" => response("302 Found", &["Location: file:///etc/passwd"], ""),
            _ => response("302 Found", &["Location: /loop"], ""),
        });
        let e = get(&server.url("/file"), &[]).err().unwrap();
        assert_eq!(e.code, CURLE_UNSUPPORTED_PROTOCOL);
        assert!(e.message.contains("only http and https"), "{}", e.message);
        let e = get(&server.url("/loop"), &[]).err().unwrap();
        assert!(
            e.message.contains("more than 30 redirects"),
            "{}",
            e.message
        );
        assert_eq!(
            server.seen().len(),
            2 + MAX_REDIRECTS as usize,
            "no more requests"
        );
    }

    #[test]
    fn without_follow_a_redirect_is_the_answer() {
        let server = Server::start(|_| response("301 Moved", &["Location: /elsewhere"], "moved"));
        let url = server.url("/a");
        let req = Request {
            url: &url,
            deadline: Some(Duration::from_secs(30)),
            ..Request::default()
        };
        let mut body = Body::default();
        let r = perform(&req, &mut body, None).unwrap();
        assert_eq!((r.status, r.header("location")), (301, Some("/elsewhere")));
        assert_eq!(body.data, b"moved");
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn a_post_redirected_with_303_becomes_a_get() {
        let server = Server::start(|path| match path {
            "/form" => response("303 See Other", &["Location: /result"], ""),
            _ => response("200 OK", &[], "done"),
        });
        let url = server.url("/form");
        let req = Request {
            url: &url,
            body: Some(b"a=1"),
            follow_redirects: true,
            deadline: Some(Duration::from_secs(30)),
            ..Request::default()
        };
        let mut body = Body::default();
        perform(&req, &mut body, None).unwrap();
        let lines: Vec<_> = server.seen().into_iter().map(|s| s.line).collect();
        assert_eq!(lines, ["POST /form HTTP/1.1", "GET /result HTTP/1.1"]);
    }

    #[test]
    fn a_failed_lookup_does_not_spoil_the_next_request_on_the_handle() {
        // libcurl 7.88 keeps the receive buffer of a transfer whose name
        // did not resolve, and then refuses CURLOPT_BUFFERSIZE: the next
        // request on this thread's handle must still be made, and fail for
        // its own reason. A label longer than 63 bytes fails in the
        // resolver itself, no query leaves the machine.
        let unresolvable = format!("http://{}.invalid/v2/", "a".repeat(70));
        for _ in 0..2 {
            let Err(err) = get(&unresolvable, &[]) else {
                panic!("{unresolvable} resolved");
            };
            assert_eq!(err.code, 6, "{}", err.message); // CURLE_COULDNT_RESOLVE_HOST
        }
        let server = Server::start(|_| response("200 OK", &[], "fine"));
        let (reply, body) = get(&server.url("/v2/"), &[]).unwrap();
        assert_eq!((reply.status, body.data.as_slice()), (200, &b"fine"[..]));
    }
}
