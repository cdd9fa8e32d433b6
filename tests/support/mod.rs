//! Shared infrastructure for the integration tests: real servers on
//! 127.0.0.1 (docker-registry, our token server, a fault-injecting proxy, a
//! v1 search mock), OCI image builders and store checks.
//!
//! Use it from `tests/*.rs` with `mod support;` (or
//! `#[path = "support/mod.rs"] mod support;`). Every server is stopped by
//! pid or by its stop flag when dropped, and every temporary directory is
//! removed; ports come from binding 127.0.0.1:0, so tests can run in
//! parallel (nextest runs each test in its own process).
// Each test binary uses only part of this module.
#![allow(dead_code, unused_imports)]

pub mod certs;
pub mod hostile;
pub mod httpd;
pub mod images;
pub mod proxy;
pub mod registry;
pub mod search;
pub mod token;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use certs::{Ca, CertPair};
pub use images::{
    BuiltImage, BuiltIndex, BuiltLayer, Compression, Entry, ImageSpec, LayerSpec, assert_same_tree,
    build_index, fingerprint_diff, pseudo_random, push_docker_list, push_docker_v2s1,
    push_docker_v2s2, push_oci, push_oci_all, reference_unpack, reference_unpack_from_registry,
    skopeo_inspect, skopeo_inspect_oci, skopeo_inspect_raw, tree_fingerprint, umoci_unpack,
};
pub use proxy::{FaultProxy, RequestRecord};
pub use registry::{Mode, Registry, RegistryOptions};
pub use search::{SearchResult, SearchServer};
pub use tempfile::TempDir;
pub use token::{TokenOptions, TokenRequest, TokenServer};

/// A new temporary directory (removed when dropped).
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("isula-registry-test-")
        .tempdir()
        .expect("create temporary directory")
}

/// What an embedded store at `root` has in `.ingest/` besides its index
/// lock, sorted (nothing when there is no `.ingest/`).
pub fn ingest_leftovers(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(".ingest")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "index.lock")
        .collect();
    names.sort();
    names
}

/// A port that was free on 127.0.0.1 a moment ago (bind to :0, then release).
/// Servers started on it retry with another port if it got taken meanwhile.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Runs a command; its stdout on success, else an error naming the command,
/// its exit status and its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\nstderr: {}\nstdout: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end(),
            String::from_utf8_lossy(&out.stdout).trim_end()
        ))
    }
}

/// `run` with the command given as a list of words.
pub fn run_args<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<String, String> {
    let (first, rest) = args.split_first().expect("run_args: empty command");
    run(Command::new(first).args(rest))
}

/// The result of one `curl` CLI invocation: status of the last response,
/// its headers and its body.
#[derive(Debug, Clone)]
pub struct CurlResponse {
    pub status: u16,
    /// Headers of the last response (names as sent).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl CurlResponse {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// Runs `curl -sS <args>` (add the URL and e.g. `--cacert`, `-u`, `-H` to
/// `args`). Ok with status/headers/body when curl exited 0 (any HTTP status),
/// Err with curl's exit code and stderr otherwise (connection reset, partial
/// transfer, TLS failure...).
pub fn curl(args: &[&str]) -> Result<CurlResponse, String> {
    let dir = temp_dir();
    let hdr = dir.path().join("headers");
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-D"])
        .arg(&hdr)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "curl {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    // `-w` prints once per URL: keep the last status.
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let status: u16 = printed[printed.len().saturating_sub(3)..]
        .parse()
        .map_err(|e| format!("curl printed no status: {e}"))?;
    let raw = std::fs::read_to_string(&hdr).unwrap_or_default();
    // With redirects or 100-continue there are several header blocks: keep the last.
    let mut headers = Vec::new();
    for line in raw.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let body = std::fs::read(&body).unwrap_or_default();
    Ok(CurlResponse {
        status,
        headers,
        body,
    })
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Writes a file, creating its parent directories.
pub fn write_file(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent directory");
    }
    let mut f =
        std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(data)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Polls `f` every 20 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC time (`2024-01-02T03:04:05Z`) for seconds since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Percent-decodes a URL query component (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a URL query component.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Splits a query string into decoded `(name, value)` pairs, in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

/// A pull of `image` (with its host) as `dest` for linux/amd64, with
/// certs.d at `certs_dir` and logins stored under `auths_dir`.
pub fn pull_request(
    image: &str,
    dest: &str,
    certs_dir: &Path,
    auths_dir: &Path,
    insecure: bool,
) -> isula_registry::pull::PullRequest {
    isula_registry::pull::PullRequest {
        image: image.to_string(),
        asked: image.to_string(),
        dest: dest.to_string(),
        credentials: None,
        insecure,
        skip_tls_verify: false,
        platform: isula_registry::distribution::reference::Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        },
        certs_dir: certs_dir.to_path_buf(),
        auths: isula_registry::auths::AuthStore::new(auths_dir),
        cancel: Arc::new(AtomicBool::new(false)),
    }
}
