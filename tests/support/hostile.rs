//! A hostile registry of our own (std threads, plain HTTP or TLS, on
//! 127.0.0.1 only, stopped on drop). It serves one small image,
//! `test/img:v1` (a gzip layer with one file, its config, a schema2
//! manifest, or a schema1 one), and misbehaves as its [`Plan`] says: blobs
//! longer or shorter than declared or endless, stalls, trickles, 503s with
//! a huge Retry-After, token realms of any scheme and token answers of any
//! kind, redirects anywhere, a different manifest labelled signed schema1,
//! error bodies with control characters. Every request is recorded with
//! its `Authorization` header, to check where credentials went.

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use openssl::ssl::SslAcceptor;

use super::httpd::{self, Conn, ConnSet, IO_TIMEOUT, read_head};
use super::sha256_digest;

pub const REPO: &str = "test/img";
pub const TAG: &str = "v1";
/// The file in the image's layer.
pub const FILE: &str = "hello.txt";
pub const FILE_TEXT: &[u8] = b"hello from the hostile registry\n";

/// What a layer request gets.
#[derive(Clone, Debug, Default)]
pub enum Blob {
    #[default]
    Honest,
    /// The blob, then this many more bytes (Content-Length says so too).
    Longer(usize),
    /// The manifest declares this many bytes more than are sent.
    Shorter(u64),
    /// Zeros without end (no Content-Length).
    Endless,
    /// The head and a few bytes, then nothing.
    Stall,
    /// One byte every 500 ms.
    Trickle,
    /// This status and `Retry-After` value, every time.
    Status(u16, String),
    /// A redirect to this URL.
    Redirect(String),
    /// A redirect to this URL with a body without end.
    RedirectEndless(String),
    /// This status with an error body without end.
    EndlessError(u16),
}

/// How the registry wants requests authenticated.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Basic`: these credentials.
    Basic(String, String),
    /// `Bearer` with this realm (any URL: `file://`, `ftp://`, http...);
    /// `Bearer good` is the accepted token.
    Bearer(String),
}

/// How the server misbehaves.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub blob: Blob,
    pub auth: Auth,
    /// Serve an unsigned schema1 manifest (no layer sizes).
    pub schema1: bool,
    /// The body of `/token` answers (default `{"token":"good"}`).
    pub token_answer: Option<String>,
    /// Answer manifest requests with this status, content type and body.
    pub manifest: Option<(u16, String, Vec<u8>)>,
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub authorization: Option<String>,
}

/// The image the server serves.
#[derive(Clone, Debug)]
pub struct Image {
    pub layer: Vec<u8>,
    pub layer_digest: String,
    pub diff_id: String,
    pub config: Vec<u8>,
    pub config_digest: String,
}

impl Image {
    fn build() -> Image {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(FILE_TEXT.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        tar.append_data(&mut header, FILE, FILE_TEXT).unwrap();
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let layer = gz.finish().unwrap();
        let diff_id = sha256_digest(&tar);
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }))
        .unwrap();
        Image {
            layer_digest: sha256_digest(&layer),
            diff_id,
            config_digest: sha256_digest(&config),
            layer,
            config,
        }
    }

    /// The schema2 manifest, declaring `extra` more layer bytes than there are.
    pub fn manifest(&self, extra: u64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": self.config.len(),
                "digest": self.config_digest,
            },
            "layers": [{
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": self.layer.len() as u64 + extra,
                "digest": self.layer_digest,
            }],
        }))
        .unwrap()
    }

    /// An unsigned schema1 manifest of the same layer.
    pub fn schema1_manifest(&self) -> Vec<u8> {
        let v1 = serde_json::json!({
            "id": "a".repeat(64),
            "created": "2024-01-01T00:00:00Z",
            "os": "linux",
            "architecture": "amd64",
            "config": {},
        });
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 1,
            "name": REPO,
            "tag": TAG,
            "architecture": "amd64",
            "fsLayers": [{"blobSum": self.layer_digest}],
            "history": [{"v1Compatibility": v1.to_string()}],
        }))
        .unwrap()
    }
}

struct Shared {
    plan: Mutex<Plan>,
    seen: Mutex<Vec<Seen>>,
    image: Image,
}

/// A running hostile registry; stopped on drop.
pub struct Hostile {
    addr: SocketAddr,
    tls: bool,
    stop: Arc<AtomicBool>,
    conns: Arc<ConnSet>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Hostile {
    /// A plain-HTTP hostile registry following `plan`.
    pub fn start(plan: Plan) -> Hostile {
        Hostile::start_inner(plan, None)
    }

    /// The same over TLS (a certificate from the test CA).
    pub fn start_tls(plan: Plan, acceptor: SslAcceptor) -> Hostile {
        Hostile::start_inner(plan, Some(Arc::new(acceptor)))
    }

    fn start_inner(plan: Plan, tls: Option<Arc<SslAcceptor>>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(ConnSet::default());
        let shared = Arc::new(Shared {
            plan: Mutex::new(plan),
            seen: Mutex::new(Vec::new()),
            image: Image::build(),
        });
        let is_tls = tls.is_some();
        let (sh, st, cs) = (shared.clone(), stop.clone(), conns.clone());
        let on_conn = Arc::new(move |s: TcpStream, _peer: SocketAddr| {
            let _ = s.set_read_timeout(Some(IO_TIMEOUT));
            let _ = s.set_write_timeout(Some(IO_TIMEOUT));
            let id = cs.add(&s);
            let conn = match &tls {
                None => Some(Conn::Plain(s)),
                Some(acc) => acc.accept(s).ok().map(|t| Conn::Tls(Box::new(t))),
            };
            if let Some(conn) = conn {
                let _ = serve(conn, &sh, &st);
            }
            cs.remove(id);
        });
        let thread = httpd::accept_loop(listener, stop.clone(), on_conn);
        Hostile {
            addr,
            tls: is_tls,
            stop,
            conns,
            thread: Some(thread),
            shared,
        }
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    /// `localhost:PORT`: the same server under another host name.
    pub fn other_host(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host()
        )
    }

    pub fn image(&self) -> &Image {
        &self.shared.image
    }

    /// The digest of the manifest served for the tag.
    pub fn manifest_digest(&self) -> String {
        let plan = self.shared.plan.lock().unwrap().clone();
        sha256_digest(&manifest_for(&plan, &self.shared.image).2)
    }

    pub fn set_plan(&self, plan: Plan) {
        *self.shared.plan.lock().unwrap() = plan;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Requests that carried an `Authorization` header.
    pub fn seen_with_credentials(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.authorization.is_some())
            .collect()
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.conns.shutdown_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop();
    }
}

fn manifest_for(plan: &Plan, image: &Image) -> (u16, String, Vec<u8>) {
    if let Some(m) = &plan.manifest {
        return m.clone();
    }
    if plan.schema1 {
        return (
            200,
            "application/vnd.docker.distribution.manifest.v1+json".to_string(),
            image.schema1_manifest(),
        );
    }
    let extra = match plan.blob {
        Blob::Shorter(n) => n,
        _ => 0,
    };
    (
        200,
        "application/vnd.docker.distribution.manifest.v2+json".to_string(),
        image.manifest(extra),
    )
}

fn head_bytes(status: u16, headers: &[(&str, String)]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status} {}\r\n", httpd::reason(status));
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn send(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut all = headers.to_vec();
    all.push(("Content-Length", body.len().to_string()));
    let mut out = head_bytes(status, &all);
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

/// Sends a head (unless `status` is 0) without a length, then bytes until
/// the client goes away or the server stops.
fn endless(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    stop: &AtomicBool,
) -> io::Result<()> {
    if status != 0 {
        let mut all = headers.to_vec();
        all.push(("Connection", "close".to_string()));
        w.write_all(&head_bytes(status, &all))?;
    }
    let junk = vec![b'x'; 64 << 10];
    while !stop.load(Ordering::SeqCst) {
        w.write_all(&junk)?;
    }
    Ok(())
}

/// Sleeps in small steps until `d` passed or the server stops; false when stopped.
fn nap(d: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !stop.load(Ordering::SeqCst)
}

fn authorized(plan: &Plan, authorization: Option<&str>) -> bool {
    match &plan.auth {
        Auth::None => true,
        Auth::Basic(u, p) => {
            let want = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            authorization == Some(format!("Basic {want}").as_str())
        }
        Auth::Bearer(_) => authorization == Some("Bearer good"),
    }
}

fn challenge(plan: &Plan) -> (&'static str, String) {
    match &plan.auth {
        Auth::Bearer(realm) => (
            "WWW-Authenticate",
            format!("Bearer realm=\"{realm}\",service=\"hostile\""),
        ),
        _ => ("WWW-Authenticate", "Basic realm=\"hostile\"".to_string()),
    }
}

/// Serves one connection; Err or Ok(()) when it is to be closed.
fn serve(conn: Conn, shared: &Shared, stop: &AtomicBool) -> io::Result<()> {
    let mut r = BufReader::new(conn);
    while !stop.load(Ordering::SeqCst) {
        let Some(head) = read_head(&mut r)? else {
            return Ok(());
        };
        let len = head.content_length().unwrap_or(0) as usize;
        let mut body = vec![0; len.min(1 << 20)];
        r.read_exact(&mut body)?;
        let mut parts = head.start_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let authorization = head.header("authorization").map(str::to_string);
        shared.seen.lock().unwrap().push(Seen {
            method: method.clone(),
            target: target.clone(),
            authorization: authorization.clone(),
        });
        let plan = shared.plan.lock().unwrap().clone();
        let image = &shared.image;
        let path = target.split('?').next().unwrap_or("").to_string();
        let w = r.get_mut();
        let json = ("Content-Type", "application/json".to_string());
        if path == "/token" {
            let answer = plan
                .token_answer
                .clone()
                .unwrap_or_else(|| r#"{"token":"good"}"#.to_string());
            send(w, 200, &[json], answer.as_bytes())?;
            continue;
        }
        if let Some(digest) = path.strip_prefix("/redirected/") {
            // a redirect's target: the layer, for anyone
            if digest == image.layer_digest {
                send(w, 200, &[], &image.layer)?;
            } else {
                send(w, 404, &[], b"")?;
            }
            continue;
        }
        if !path.starts_with("/v2/") {
            send(w, 404, &[], b"")?;
            continue;
        }
        if !authorized(&plan, authorization.as_deref()) {
            send(
                w,
                401,
                &[challenge(&plan), json],
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )?;
            continue;
        }
        if path == "/v2/" {
            send(w, 200, &[json], b"{}")?;
            continue;
        }
        let Some(rest) = path.strip_prefix(&format!("/v2/{REPO}/")) else {
            send(w, 404, &[], b"")?;
            continue;
        };
        if rest.starts_with("manifests/") {
            let (status, media_type, bytes) = manifest_for(&plan, image);
            send(w, status, &[("Content-Type", media_type)], &bytes)?;
            continue;
        }
        let digest = rest.strip_prefix("blobs/").unwrap_or("");
        if digest == image.config_digest {
            send(w, 200, &[], &image.config)?;
            continue;
        }
        if digest != image.layer_digest {
            send(w, 404, &[json], br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#)?;
            continue;
        }
        let layer = &image.layer;
        match &plan.blob {
            Blob::Honest | Blob::Shorter(_) => send(w, 200, &[], layer)?,
            Blob::Longer(n) => {
                let mut longer = layer.clone();
                longer.resize(layer.len() + n, 0);
                send(w, 200, &[], &longer)?;
            }
            Blob::Endless => {
                w.write_all(&head_bytes(200, &[("Connection", "close".to_string())]))?;
                w.write_all(layer)?;
                endless(w, 0, &[], stop)?;
                return Ok(());
            }
            Blob::Stall => {
                let head = head_bytes(200, &[("Content-Length", layer.len().to_string())]);
                w.write_all(&head)?;
                w.write_all(&layer[..10])?;
                w.flush()?;
                nap(Duration::from_secs(3600), stop);
                return Ok(());
            }
            Blob::Trickle => {
                let head = head_bytes(200, &[("Content-Length", layer.len().to_string())]);
                w.write_all(&head)?;
                for b in layer {
                    w.write_all(std::slice::from_ref(b))?;
                    w.flush()?;
                    if !nap(Duration::from_millis(500), stop) {
                        break;
                    }
                }
                return Ok(());
            }
            Blob::Status(status, retry_after) => send(
                w,
                *status,
                &[("Retry-After", retry_after.clone()), json],
                br#"{"errors":[{"code":"UNAVAILABLE","message":"try again later"}]}"#,
            )?,
            Blob::Redirect(location) => send(w, 307, &[("Location", location.clone())], b"")?,
            Blob::RedirectEndless(location) => {
                endless(w, 307, &[("Location", location.clone())], stop)?;
                return Ok(());
            }
            Blob::EndlessError(status) => {
                endless(w, *status, &[json], stop)?;
                return Ok(());
            }
        }
    }
    Ok(())
}
