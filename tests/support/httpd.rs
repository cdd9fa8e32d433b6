//! A minimal threaded HTTP/1.1 server (std + optional openssl TLS) for the
//! token server and the search mock, and HTTP parsing helpers shared with
//! the fault proxy. Keep-alive is supported; every socket has timeouts and
//! is shut down when the server stops, so no thread stays blocked.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use openssl::ssl::{SslAcceptor, SslStream};

/// Socket read/write timeout of server connections.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 64 * 1024;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub path: String,
    /// Raw query string (after `?`), may be empty.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Decoded query parameters in order.
    pub fn query_params(&self) -> Vec<(String, String)> {
        super::parse_query(&self.query)
    }

    /// First value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Every value of a repeated query parameter.
    pub fn query_all(&self, name: &str) -> Vec<String> {
        self.query_params()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// `(user, password)` of an `Authorization: Basic` header.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let v = self.header("authorization")?;
        let (scheme, rest) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (u, p) = raw.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status)
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(value).unwrap())
    }

    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(text.as_bytes().to_vec())
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }
}

/// The handler of a server: called once per request, from connection threads.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// First header of that name (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reason phrase of common status codes.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// A request or response head: the first line and the headers.
#[derive(Debug, Clone)]
pub struct Head {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Serializes the head (start line, headers, blank line).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::new();
        s.push_str(&self.start_line);
        s.push_str("\r\n");
        for (k, v) in &self.headers {
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Whether `Transfer-Encoding` ends in `chunked`.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .map(|v| v.to_ascii_lowercase().trim_end().ends_with("chunked"))
            .unwrap_or(false)
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the `Connection` header asks to close.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .map(|v| v.to_ascii_lowercase().contains("close"))
            .unwrap_or(false)
            || self.start_line.ends_with("HTTP/1.0")
    }
}

/// Reads a head; `Ok(None)` on a clean end of stream before any byte.
pub fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut start_line = String::new();
    let mut total = 0;
    loop {
        start_line.clear();
        let n = r.read_line(&mut start_line)?;
        if n == 0 {
            return Ok(None);
        }
        total += n;
        // Tolerate empty lines before a request (RFC 9112 2.2).
        if !start_line.trim().is_empty() {
            break;
        }
        if total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of stream inside a head",
            ));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some(Head {
        start_line: start_line.trim_end_matches(['\r', '\n']).to_string(),
        headers,
    }))
}

/// Reads a chunked body; returns the decoded data and, in `raw`, the bytes
/// exactly as read (for forwarding).
pub fn read_chunked(r: &mut impl BufRead, raw: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        raw.extend_from_slice(line.as_bytes());
        let size_str = line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_str, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers up to an empty line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                raw.extend_from_slice(t.as_bytes());
                if t.trim().is_empty() {
                    return Ok(data);
                }
            }
        }
        let mut chunk = vec![0u8; size + 2];
        r.read_exact(&mut chunk)?;
        raw.extend_from_slice(&chunk);
        data.extend_from_slice(&chunk[..size]);
    }
}

/// A plain or TLS server-side connection.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Open sockets of a server, shut down when it stops.
#[derive(Default)]
pub struct ConnSet {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

impl ConnSet {
    pub fn add(&self, s: &TcpStream) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(c) = s.try_clone() {
            self.open.lock().unwrap().insert(id, c);
        }
        id
    }

    pub fn remove(&self, id: u64) {
        self.open.lock().unwrap().remove(&id);
    }

    pub fn shutdown_all(&self) {
        for (_, s) in self.open.lock().unwrap().drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Runs an accept loop on `listener` in a thread until `stop` is set,
/// calling `on_conn` in a new thread for each connection.
pub fn accept_loop(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    on_conn: Arc<dyn Fn(TcpStream, SocketAddr) + Send + Sync>,
) -> JoinHandle<()> {
    listener.set_nonblocking(true).expect("set_nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, peer)) => {
                    let _ = s.set_nonblocking(false);
                    let f = on_conn.clone();
                    std::thread::spawn(move || f(s, peer));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

/// A running HTTP or HTTPS server on 127.0.0.1; stopped on drop.
pub struct HttpServer {
    addr: SocketAddr,
    tls: bool,
    stop: Arc<AtomicBool>,
    conns: Arc<ConnSet>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts serving `handler` on a new port of 127.0.0.1, over TLS when an
    /// acceptor is given.
    pub fn start(handler: Handler, tls: Option<SslAcceptor>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(ConnSet::default());
        let is_tls = tls.is_some();
        let tls = tls.map(Arc::new);
        let (stop2, conns2) = (stop.clone(), conns.clone());
        let on_conn = Arc::new(move |s: TcpStream, peer: SocketAddr| {
            let _ = s.set_read_timeout(Some(IO_TIMEOUT));
            let _ = s.set_write_timeout(Some(IO_TIMEOUT));
            let id = conns2.add(&s);
            let conn = match &tls {
                None => Some(Conn::Plain(s)),
                Some(acc) => acc.accept(s).ok().map(|t| Conn::Tls(Box::new(t))),
            };
            if let Some(conn) = conn {
                serve_conn(conn, peer, &handler, &stop2);
            }
            conns2.remove(id);
        });
        let thread = accept_loop(listener, stop.clone(), on_conn);
        HttpServer {
            addr,
            tls: is_tls,
            stop,
            conns,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    /// `http://127.0.0.1:PORT` or `https://...`
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops accepting, closes open connections and joins the accept thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.conns.shutdown_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_conn(conn: Conn, peer: SocketAddr, handler: &Handler, stop: &AtomicBool) {
    let mut r = BufReader::new(conn);
    while !stop.load(Ordering::SeqCst) {
        let head = match read_head(&mut r) {
            Ok(Some(h)) => h,
            _ => return,
        };
        let mut parts = head.start_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let body = if head.is_chunked() {
            let mut raw = Vec::new();
            match read_chunked(&mut r, &mut raw) {
                Ok(b) => b,
                Err(_) => return,
            }
        } else {
            let len = head.content_length().unwrap_or(0) as usize;
            let mut b = vec![0; len];
            if r.read_exact(&mut b).is_err() {
                return;
            }
            b
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let req = Request {
            method,
            target,
            path,
            query,
            headers: head.headers.clone(),
            body,
            peer,
        };
        let resp = handler(&req);
        let close = head.wants_close();
        let mut out = Head {
            start_line: format!("HTTP/1.1 {} {}", resp.status, reason(resp.status)),
            headers: resp.headers.clone(),
        };
        out.set_header("Content-Length", &resp.body.len().to_string());
        if close {
            out.set_header("Connection", "close");
        }
        let mut bytes = out.to_bytes();
        if req.method != "HEAD" {
            bytes.extend_from_slice(&resp.body);
        }
        let w = r.get_mut();
        if w.write_all(&bytes).is_err() || w.flush().is_err() || close {
            return;
        }
    }
}
