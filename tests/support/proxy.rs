//! A fault-injecting HTTP/1.1 reverse proxy of our own (std threads) in
//! front of a registry: clients talk plain HTTP to the proxy, which forwards
//! each request on a fresh upstream connection (plain, or TLS for an HTTPS
//! registry — then only for pulls, since upload `Location`s would say
//! https) and streams the response back. Client keep-alive is kept.
//!
//! Rules match a substring of the request target (path + query) and apply
//! a number of times, then stop. Per request, every matching `delay` rule
//! applies, plus the first matching fault (status, reset, truncate,
//! corrupt).

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openssl::ssl::SslConnector;

use super::certs::Ca;
use super::httpd::{self, Conn, ConnSet, Head, IO_TIMEOUT};
use super::registry::Registry;

#[derive(Debug, Clone)]
enum Fault {
    /// Close the client connection with a TCP reset after this many body bytes.
    ResetAfter(u64),
    /// Close the client connection cleanly (FIN) after this many body bytes.
    Truncate(u64),
    /// Flip one byte in the middle of the body.
    Corrupt,
    /// Answer this status without asking upstream.
    Status(u16, Vec<(String, String)>),
    Delay(Duration),
}

struct Rule {
    path: String,
    fault: Fault,
    /// None: forever.
    left: Option<usize>,
}

/// One request seen by the proxy.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Status sent to the client (0 if none was sent).
    pub status: u16,
    /// The fault applied, if any (`"reset_after(100)"`, `"status(503)"`...).
    pub fault: Option<String>,
    /// Body bytes sent to the client.
    pub bytes: u64,
    /// The request's `Range` header, if any.
    pub range: Option<String>,
    /// The request's `Authorization` header, if any.
    pub authorization: Option<String>,
}

struct Shared {
    upstream: String,
    tls: Option<SslConnector>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<RequestRecord>>,
    /// Bytes per second for response bodies, 0 = unlimited.
    rate: AtomicU64,
    next_free: Mutex<Instant>,
}

/// A running fault proxy; stopped on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    conns: Arc<ConnSet>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// A proxy to a plain-HTTP upstream `127.0.0.1:PORT`.
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_inner(upstream, None)
    }

    /// A plain-HTTP proxy to an HTTPS upstream trusting `ca` (pulls only).
    pub fn start_tls_upstream(upstream: &str, ca: &Ca) -> FaultProxy {
        FaultProxy::start_inner(upstream, Some(ca.connector()))
    }

    /// A proxy in front of a test registry (TLS upstream for HTTPS modes).
    pub fn for_registry(registry: &Registry) -> FaultProxy {
        if registry.is_tls() {
            FaultProxy::start_tls_upstream(&registry.host(), registry.ca())
        } else {
            FaultProxy::start(&registry.host())
        }
    }

    fn start_inner(upstream: &str, tls: Option<SslConnector>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(ConnSet::default());
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            tls,
            rules: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            rate: AtomicU64::new(0),
            next_free: Mutex::new(Instant::now()),
        });
        let (sh, st, cs) = (shared.clone(), stop.clone(), conns.clone());
        let on_conn = Arc::new(move |s: TcpStream, _peer: SocketAddr| {
            let id = cs.add(&s);
            let _ = handle_client(s, &sh, &st);
            cs.remove(id);
        });
        let thread = httpd::accept_loop(listener, stop.clone(), on_conn);
        FaultProxy {
            addr,
            stop,
            conns,
            thread: Some(thread),
            shared,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    fn add(&self, path: &str, fault: Fault, left: Option<usize>) {
        self.shared.rules.lock().unwrap().push(Rule {
            path: path.into(),
            fault,
            left,
        });
    }

    /// The next `times` matching responses are cut after `bytes` body bytes
    /// with a TCP reset.
    pub fn reset_after(&self, path: &str, bytes: u64, times: usize) {
        self.add(path, Fault::ResetAfter(bytes), Some(times));
    }

    /// The next `times` matching responses end (clean close) after `bytes`
    /// body bytes, short of their Content-Length.
    pub fn truncate(&self, path: &str, bytes: u64, times: usize) {
        self.add(path, Fault::Truncate(bytes), Some(times));
    }

    /// The next `times` matching responses get one body byte flipped (the
    /// middle one), so the digest no longer matches.
    pub fn corrupt(&self, path: &str, times: usize) {
        self.add(path, Fault::Corrupt, Some(times));
    }

    /// The next `times` matching requests are answered `code` by the proxy
    /// itself, with `extra_headers` (e.g. `("Retry-After", "1")`) and a
    /// registry-style JSON error body.
    pub fn status(&self, path: &str, code: u16, times: usize, extra_headers: &[(&str, &str)]) {
        let h = extra_headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.add(path, Fault::Status(code, h), Some(times));
    }

    /// Every matching request waits `ms` before being forwarded.
    pub fn delay(&self, path: &str, ms: u64) {
        self.add(path, Fault::Delay(Duration::from_millis(ms)), None);
    }

    /// The next `times` matching requests wait `ms`.
    pub fn delay_times(&self, path: &str, ms: u64, times: usize) {
        self.add(path, Fault::Delay(Duration::from_millis(ms)), Some(times));
    }

    /// Limits all response bodies together to `bytes_per_sec` (0 = off).
    pub fn throttle(&self, bytes_per_sec: u64) {
        self.shared.rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// Removes every rule (throttle stays).
    pub fn clear_rules(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    /// Requests whose target contains `path_substring`.
    pub fn requests(&self, path_substring: &str) -> usize {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.target.contains(path_substring))
            .count()
    }

    /// GET requests of `/v2/.../blobs/<digest>`.
    pub fn blob_gets(&self, digest: &str) -> usize {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                let path = r.target.split('?').next().unwrap_or("");
                r.method == "GET" && path.contains("/blobs/") && path.ends_with(digest)
            })
            .count()
    }

    /// The GETs of blob `digest`: body bytes sent and `Range` asked, in order.
    pub fn blob_transfers(&self, digest: &str) -> Vec<(u64, Option<String>)> {
        self.blob_gets_since(0, digest)
            .into_iter()
            .map(|r| (r.bytes, r.range))
            .collect()
    }

    /// How many requests the proxy has seen (a mark for the `_since` counts).
    pub fn log_len(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    /// GET requests of blob `digest` from request number `mark` on.
    pub fn blob_gets_since(&self, mark: usize, digest: &str) -> Vec<RequestRecord> {
        self.shared.log.lock().unwrap()[mark..]
            .iter()
            .filter(|r| {
                let path = r.target.split('?').next().unwrap_or("");
                r.method == "GET" && path.contains("/blobs/") && path.ends_with(digest)
            })
            .cloned()
            .collect()
    }

    /// Body bytes of blob `digest` sent from request number `mark` on.
    pub fn blob_bytes_since(&self, mark: usize, digest: &str) -> u64 {
        self.blob_gets_since(mark, digest)
            .iter()
            .map(|r| r.bytes)
            .sum()
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.conns.shutdown_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes the next close of this socket send a TCP reset.
fn set_linger_zero(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid fd and a properly sized linger struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn json_error(code: u16) -> Vec<u8> {
    let c = match code {
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        404 => "NOT_FOUND",
        429 => "TOOMANYREQUESTS",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
    format!(r#"{{"errors":[{{"code":"{c}","message":"injected by FaultProxy","detail":null}}]}}"#)
        .into_bytes()
}

impl Shared {
    /// Delays and the first fault matching `target`, consuming their counts.
    fn pick(&self, target: &str) -> (Vec<Duration>, Option<Fault>) {
        let mut delays = Vec::new();
        let mut fault = None;
        for r in self.rules.lock().unwrap().iter_mut() {
            if !target.contains(&r.path) || r.left == Some(0) {
                continue;
            }
            match &r.fault {
                Fault::Delay(d) => delays.push(*d),
                f if fault.is_none() => fault = Some(f.clone()),
                _ => continue,
            }
            if let Some(n) = r.left.as_mut() {
                *n -= 1;
            }
        }
        (delays, fault)
    }

    fn wait_for(&self, n: usize) {
        let rate = self.rate.load(Ordering::SeqCst);
        if rate == 0 {
            return;
        }
        let now = Instant::now();
        let end = {
            let mut next = self.next_free.lock().unwrap();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / rate as f64);
            *next
        };
        if end > now {
            std::thread::sleep(end - now);
        }
    }

    fn chunk_size(&self) -> usize {
        match self.rate.load(Ordering::SeqCst) {
            0 => 64 * 1024,
            r => ((r / 20) as usize).clamp(512, 16 * 1024),
        }
    }

    fn connect(&self) -> io::Result<Conn> {
        let addr: SocketAddr = self
            .upstream
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad upstream"))?;
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_write_timeout(Some(Duration::from_secs(60)))?;
        match &self.tls {
            None => Ok(Conn::Plain(s)),
            Some(c) => c
                .connect(&addr.ip().to_string(), s)
                .map(|t| Conn::Tls(Box::new(t)))
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    fn record(&self, method: &str, target: &str, range: Option<&str>) -> usize {
        let mut log = self.log.lock().unwrap();
        log.push(RequestRecord {
            method: method.into(),
            target: target.into(),
            status: 0,
            fault: None,
            bytes: 0,
            range: range.map(str::to_string),
            authorization: None,
        });
        log.len() - 1
    }

    fn add_bytes(&self, idx: usize, n: u64) {
        if let Some(r) = self.log.lock().unwrap().get_mut(idx) {
            r.bytes += n;
        }
    }

    fn update(&self, idx: usize, status: u16, fault: Option<String>) {
        let mut log = self.log.lock().unwrap();
        if let Some(r) = log.get_mut(idx) {
            if status != 0 {
                r.status = status;
            }
            if fault.is_some() {
                r.fault = fault;
            }
        }
    }
}

enum Framing {
    None,
    Length(u64),
    Buffered(Vec<u8>),
    Eof,
}

fn handle_client(client: TcpStream, sh: &Shared, stop: &AtomicBool) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut out = client;
    while !stop.load(Ordering::SeqCst) {
        let Some(head) = httpd::read_head(&mut reader)? else {
            return Ok(());
        };
        let mut parts = head.start_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let mut body = Vec::new();
        if head.is_chunked() {
            httpd::read_chunked(&mut reader, &mut body)?;
        } else if let Some(n) = head.content_length() {
            body = vec![0; n as usize];
            reader.read_exact(&mut body)?;
        }
        let client_close = head.wants_close();
        let idx = sh.record(&method, &target, head.header("range"));
        if let Some(auth) = head.header("authorization") {
            sh.log.lock().unwrap()[idx].authorization = Some(auth.to_string());
        }
        let (delays, fault) = sh.pick(&target);
        for d in delays {
            std::thread::sleep(d);
        }
        if let Some(Fault::Status(code, extra)) = &fault {
            let payload = json_error(*code);
            let mut h = Head {
                start_line: format!("HTTP/1.1 {code} {}", httpd::reason(*code)),
                headers: extra.clone(),
            };
            h.set_header("Content-Type", "application/json");
            h.set_header("Content-Length", &payload.len().to_string());
            if client_close {
                h.set_header("Connection", "close");
            }
            let mut bytes = h.to_bytes();
            if method != "HEAD" {
                bytes.extend_from_slice(&payload);
            }
            sh.update(idx, *code, Some(format!("status({code})")));
            out.write_all(&bytes)?;
            out.flush()?;
            if client_close {
                return Ok(());
            }
            continue;
        }

        // Forward upstream on a fresh connection.
        let mut up_head = head.clone();
        up_head.set_header("Connection", "close");
        let mut up = match sh.connect() {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("proxy: upstream {}: {e}", sh.upstream);
                let resp = format!(
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                    msg.len()
                );
                sh.update(idx, 502, None);
                out.write_all(resp.as_bytes())?;
                return Ok(());
            }
        };
        let mut req_bytes = up_head.to_bytes();
        req_bytes.extend_from_slice(&body);
        up.write_all(&req_bytes)?;
        up.flush()?;
        let mut up_r = BufReader::new(up);
        let Some(mut resp) = httpd::read_head(&mut up_r)? else {
            return Ok(());
        };
        let status: u16 = resp
            .start_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(502);
        let framing = if method == "HEAD" || status < 200 || status == 204 || status == 304 {
            Framing::None
        } else if resp.is_chunked() {
            // Small API responses: de-chunk and send with a Content-Length.
            let mut raw = Vec::new();
            let data = httpd::read_chunked(&mut up_r, &mut raw)?;
            resp.remove_header("Transfer-Encoding");
            resp.set_header("Content-Length", &data.len().to_string());
            Framing::Buffered(data)
        } else if let Some(n) = resp.content_length() {
            Framing::Length(n)
        } else {
            Framing::Eof
        };
        let close = client_close || matches!(framing, Framing::Eof);
        resp.remove_header("Connection");
        if close {
            resp.set_header("Connection", "close");
        }
        out.write_all(&resp.to_bytes())?;
        out.flush()?;
        sh.update(idx, status, None);

        let body_len = match &framing {
            Framing::None => 0,
            Framing::Length(n) => *n,
            Framing::Buffered(b) => b.len() as u64,
            Framing::Eof => u64::MAX,
        };
        let cut = match &fault {
            Some(Fault::ResetAfter(n)) | Some(Fault::Truncate(n)) if *n < body_len => Some(*n),
            _ => None,
        };
        let flip_at = match (&fault, body_len) {
            (Some(Fault::Corrupt), 0) => None,
            (Some(Fault::Corrupt), u64::MAX) => Some(0),
            (Some(Fault::Corrupt), n) => Some(n / 2),
            _ => None,
        };
        if flip_at.is_some() {
            sh.update(idx, 0, Some("corrupt".into()));
        }
        let mut sent: u64 = 0;
        let limit = cut.unwrap_or(body_len);
        let mut buffered: &[u8] = match &framing {
            Framing::Buffered(b) => b,
            _ => &[],
        };
        let mut buf = vec![0u8; sh.chunk_size()];
        while sent < limit {
            let want = ((limit - sent).min(buf.len() as u64)) as usize;
            let n = match &framing {
                Framing::None => 0,
                Framing::Buffered(_) => {
                    let n = want.min(buffered.len());
                    buf[..n].copy_from_slice(&buffered[..n]);
                    buffered = &buffered[n..];
                    n
                }
                _ => up_r.read(&mut buf[..want])?,
            };
            if n == 0 {
                if matches!(framing, Framing::Eof) {
                    break;
                }
                // Upstream ended early: pass the short body on and close.
                return Ok(());
            }
            if let Some(at) = flip_at
                && at >= sent
                && at < sent + n as u64
            {
                buf[(at - sent) as usize] ^= 0xff;
            }
            sh.wait_for(n);
            out.write_all(&buf[..n])?;
            sh.add_bytes(idx, n as u64);
            sent += n as u64;
        }
        out.flush()?;
        if let Some(n) = cut {
            match fault {
                Some(Fault::ResetAfter(_)) => {
                    sh.update(idx, 0, Some(format!("reset_after({n})")));
                    set_linger_zero(&out);
                }
                _ => {
                    sh.update(idx, 0, Some(format!("truncate({n})")));
                    let _ = out.shutdown(Shutdown::Write);
                }
            }
            return Ok(());
        }
        if close {
            return Ok(());
        }
    }
    Ok(())
}
