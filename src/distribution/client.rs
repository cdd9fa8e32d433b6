//! A client for one repository of one registry: the ping (https, then
//! plain http only for insecure registries) that also learns how to
//! authenticate, TLS material from certs.d, and single GET requests for
//! manifests and blobs with the `Authorization` its [`Authorizer`] gives
//! (a 401 renews a Bearer token once). Retries live in [`super::fetch`],
//! their budget in [`super::retry`]; tokens and challenges in
//! [`super::auth`].
//!
//! A server is not trusted: every request has a deadline and a stall
//! window, bodies are bounded, and server text is cleaned before it is
//! shown.
//!
//! One client serves every thread of a pull, so the token is fetched once.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use super::auth::Auth;
use super::auth::{self, Authorizer};
use super::certs::{self, TlsFiles};
use super::retry::Budget;
use crate::auths::Secret;
use crate::error::Error;
use crate::text::{clean, clean_bytes};
use crate::transport::{self, Request, Response, Sink, Tls};

/// Username and password for a registry.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Secret<String>,
}

/// How to reach a registry.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Plain http is allowed when https fails (iSulad's insecure-registries).
    pub insecure: bool,
    /// Do not verify the registry's certificate.
    pub skip_tls_verify: bool,
    pub certs_dir: PathBuf,
    pub credentials: Option<Credentials>,
    /// Stops every transfer of this client within a second when set.
    pub cancel: Cancel,
}

/// Flags that cancel a client's work: any one set is enough (the user's
/// cancel, and a pull's own stop after its first failure).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Vec<Arc<AtomicBool>>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also stop when `flag` is set.
    pub fn with(mut self, flag: Arc<AtomicBool>) -> Self {
        self.0.push(flag);
        self
    }

    pub fn is_set(&self) -> bool {
        self.0.iter().any(|f| f.load(Ordering::Relaxed))
    }
}

/// Largest manifest, config or token body read into memory.
pub const MAX_SMALL_BODY: usize = 10 << 20;
/// Largest error body kept (its text is cut much shorter for messages).
const MAX_ERROR_BODY: usize = 64 << 10;
/// Longest server text in a message.
pub const MAX_SHOWN: usize = 200;
/// No byte for this long (or under 1 KiB/s): the attempt is abandoned.
pub const STALL_TIME: Duration = Duration::from_secs(20);
/// Deadline of a request with a small body (ping, manifest, config, token).
pub const SMALL_DEADLINE: Duration = Duration::from_secs(30);

/// Deadline of a blob request for `size` bytes: a minute plus the time the
/// bytes take at 64 KiB/s (a resume gets a new deadline for what is left).
pub fn blob_deadline(size: u64) -> Duration {
    Duration::from_secs(60).saturating_add(Duration::from_secs(size / (64 << 10)))
}

/// One repository of one registry.
pub struct Client {
    host: String,
    repo: String,
    config: ClientConfig,
    tls: TlsFiles,
    /// "https" or "http", once pinged (or carried over from an earlier
    /// client). Set after the auth, so whoever sees it sees the auth too.
    scheme: Mutex<Option<&'static str>>,
    authorizer: Authorizer,
    route: Route,
    /// The retry budget of everything this client fetches.
    pub budget: Budget,
}

/// Where and how a client's requests go, when not as for a registry named
/// in an image reference (a host of hosts.toml).
#[derive(Clone, Debug)]
pub struct Route {
    /// The scheme the URL says; None: https, then http if insecure.
    pub scheme: Option<&'static str>,
    /// The path before `/<repo>/...`.
    pub prefix: String,
    /// Extra header lines of every request to this host.
    pub headers: Vec<String>,
    /// Attempts per request before it is given up here.
    pub attempts: u32,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            scheme: None,
            prefix: "/v2".to_string(),
            headers: Vec::new(),
            attempts: super::retry::ATTEMPTS,
        }
    }
}

/// Collects a small body in memory (at most [`MAX_SMALL_BODY`] bytes).
pub type VecSink = transport::sink::Capped<MAX_SMALL_BODY>;

/// The outcome of one request that reached the server.
pub struct Reply {
    pub response: Response,
    /// The body of a non-2xx response (the 2xx body went to the sink).
    pub error_body: Vec<u8>,
}

impl Reply {
    pub fn status(&self) -> u32 {
        self.response.status
    }

    /// The registry's error message (`{"errors":[{"message":...}]}`), or
    /// the raw text, cleaned and cut to [`MAX_SHOWN`] characters.
    pub fn error_message(&self) -> String {
        let parsed: Option<serde_json::Value> = super::json::from_slice(&self.error_body).ok();
        if let Some(errors) = parsed.as_ref().and_then(|v| v["errors"].as_array()) {
            let texts: Vec<String> = errors
                .iter()
                .take(10)
                .map(|e| {
                    let code = e["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                        .replace('_', " ");
                    let msg = e["message"].as_str().unwrap_or_default();
                    if msg.is_empty() || msg == code {
                        code
                    } else {
                        msg.to_string()
                    }
                })
                .collect();
            return clean(&texts.join("; "), MAX_SHOWN);
        }
        clean_bytes(&self.error_body, MAX_SHOWN)
    }

    /// Seconds the server asked to wait (`Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(super::retry::MAX_RETRY_AFTER))
    }
}

impl Client {
    /// A client for `repo` at `host` (already transformed, e.g.
    /// registry-1.docker.io). Loads the host's certs.d material.
    pub fn new(host: &str, repo: &str, config: ClientConfig) -> Result<Client, Error> {
        let tls = certs::load(&config.certs_dir, host)?;
        Ok(Client {
            host: host.to_string(),
            repo: repo.to_string(),
            authorizer: Authorizer::new(host, config.credentials.clone()),
            config,
            tls,
            scheme: Mutex::new(None),
            route: Route::default(),
            budget: Budget::default(),
        })
    }

    /// Sends this client's requests along `route`.
    pub fn with_route(mut self, route: Route) -> Self {
        self.route = route;
        self
    }

    /// Attempts per request on this host.
    pub fn attempts(&self) -> u32 {
        self.route.attempts
    }

    /// Whether the host answered its ping.
    pub fn pinged(&self) -> bool {
        self.scheme().is_some()
    }

    /// `https://host:port`, as messages name the host.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme_or_default(), self.host)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// Uses `tls` instead of the host's certs.d material.
    pub fn with_tls(mut self, tls: TlsFiles) -> Self {
        self.tls = tls;
        self
    }

    /// The protocol ("https"/"http", once pinged) and the auth this client
    /// learned, to carry over to a later client of the same registry (the C
    /// ABI keeps them in a `pull_descriptor`).
    pub fn session(&self) -> (Option<&'static str>, Auth) {
        (self.scheme(), self.authorizer.get())
    }

    /// Starts from what an earlier client learned: with a known `scheme`
    /// there is no ping.
    pub fn resume_session(&self, scheme: Option<&'static str>, auth: Auth) {
        self.authorizer.set(auth);
        *self.scheme_slot() = scheme;
    }

    pub fn cancelled(&self) -> bool {
        self.config.cancel.is_set()
    }

    fn scheme_slot(&self) -> std::sync::MutexGuard<'_, Option<&'static str>> {
        self.scheme.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn scheme(&self) -> Option<&'static str> {
        *self.scheme_slot()
    }

    /// The scheme of the registry: the pinged one, else (a C descriptor's
    /// session, not pinged) plain http only for an insecure registry.
    pub(super) fn scheme_or_default(&self) -> &'static str {
        self.scheme()
            .or(self.route.scheme)
            .unwrap_or(if self.config.insecure {
                "http"
            } else {
                "https"
            })
    }

    /// The TLS material for a request to `url_host` (the registry's, or a
    /// token server's own from certs.d).
    pub(super) fn tls_for(&self, url_host: &str) -> Result<TlsFiles, Error> {
        if url_host == self.host {
            Ok(self.tls.clone())
        } else {
            certs::load(&self.config.certs_dir, url_host)
        }
    }

    pub(super) fn base_request<'a>(&self, url: &'a str, tls: &'a TlsFiles) -> Request<'a> {
        Request {
            url,
            tls: Tls {
                verify_peer: !self.config.skip_tls_verify,
                verify_host: !self.config.skip_tls_verify,
                ca_file: tls.ca_file.as_deref(),
                cert_file: tls.cert_file.as_deref(),
                key_file: tls.key_file.as_deref(),
            },
            low_speed_abort: true,
            stall_time: Some(STALL_TIME),
            deadline: Some(SMALL_DEADLINE),
            follow_redirects: true,
            // libcurl 7.88 takes the h2 a registry offers over TLS: one
            // stream per connection here (a handle per thread), slower
            // than HTTP/1.1 by about 15% on big layers; iSulad asks 1.1 too
            http11_only: true,
            ..Request::default()
        }
    }

    /// Performs one request, aborting when the pull is cancelled.
    pub(super) fn perform(
        &self,
        req: &Request<'_>,
        sink: &mut dyn Sink,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Reply, transport::TransferError> {
        let ok = Cell::new(false);
        let mut gate = transport::sink::Gate::new(sink, &ok, MAX_ERROR_BODY);
        let cancel = self.config.cancel.clone();
        // an error page's bytes are not progress
        let mut on_progress =
            |t: transport::Transfer| !cancel.is_set() && (!ok.get() || progress(t.dlnow as u64));
        let response = transport::perform(req, &mut gate, Some(&mut on_progress))?;
        Ok(Reply {
            response,
            error_body: gate.error_body,
        })
    }

    pub(super) fn transfer_error(&self, what: &str, mut e: transport::TransferError) -> Error {
        if self.cancelled() {
            return Error::Cancelled;
        }
        // say which limit a slow server hit
        if e.code == transport::CURLE_OPERATION_TIMEDOUT {
            let why = if e.message.contains("too slow") {
                "the registry stalled or trickled"
            } else {
                "the registry did not answer in time"
            };
            e.message = format!("{why}: {}", e.message);
        }
        Error::Transport {
            what: what.to_string(),
            source: crate::advice::transfer(e, &self.host, &self.config.certs_dir),
        }
    }

    /// Pings `/v2/` (https first; http only for insecure registries) and
    /// learns how to authenticate. Done once per client.
    pub fn ping(&self) -> Result<(), Error> {
        if self.scheme().is_some() {
            return Ok(());
        }
        let (scheme, reply) = match self.route.scheme {
            // a URL's scheme is what it says
            Some(scheme) => (scheme, self.ping_scheme(scheme)?),
            None if self.config.insecure => self.ping_https_then_http()?,
            None => ("https", self.ping_scheme("https")?),
        };
        let auth = match reply.status() {
            200..=299 => Auth::Anonymous,
            401 => auth::auth_from_challenges(&self.host, &reply)?,
            status => {
                return Err(Error::Status {
                    what: format!("ping {scheme}://{}{}/", self.host, self.route.prefix),
                    status,
                    message: reply.error_message(),
                    retry_after: reply.retry_after(),
                });
            }
        };
        self.authorizer.set(auth);
        *self.scheme_slot() = Some(scheme);
        Ok(())
    }

    /// An insecure registry: https if it answers, else plain http (iSulad's
    /// order). Whether the port speaks TLS at all is learnt first by a
    /// handshake that verifies nothing and sends no request: libcurl loads
    /// the system CA bundle after sending its hello, some 40 ms that a
    /// plain-http registry's refusal would otherwise wait for on every
    /// pull. A port that speaks TLS gets the real, verified ping.
    fn ping_https_then_http(&self) -> Result<(&'static str, Reply), Error> {
        let https = match self.handshake() {
            Ok(()) => self.ping_scheme("https"),
            Err(e) => Err(e),
        };
        match https {
            Ok(reply) => Ok(("https", reply)),
            Err(Error::Cancelled) => Err(Error::Cancelled),
            Err(e) => match self.ping_scheme("http") {
                Ok(reply) => Ok(("http", reply)),
                // the https failure usually says more (a certificate problem)
                Err(_) => Err(e),
            },
        }
    }

    /// A TLS handshake with the registry's port, unverified: nothing is
    /// sent over it, it only tells TLS from plain http. Its connection is
    /// never reused: libcurl keeps connect-only connections apart, and the
    /// verified ping comes with other TLS material, which replaces this
    /// thread's handle (see `transport::tls_material`). A client
    /// certificate from certs.d is shown as the verified ping would show
    /// it: a registry that demands one refuses a handshake without it.
    fn handshake(&self) -> Result<(), Error> {
        let url = format!("https://{}{}/", self.host, self.route.prefix);
        let mut req = self.base_request(&url, &self.tls);
        req.tls.verify_peer = false;
        req.tls.verify_host = false;
        req.connect_only = true;
        let cancel = self.config.cancel.clone();
        let mut go_on = |_: transport::Transfer| !cancel.is_set();
        transport::perform(&req, &mut VecSink::default(), Some(&mut go_on))
            .map(|_| ())
            .map_err(|e| self.transfer_error(&format!("ping {url}"), e))
    }

    fn ping_scheme(&self, scheme: &str) -> Result<Reply, Error> {
        let url = format!("{scheme}://{}{}/", self.host, self.route.prefix);
        let mut req = self.base_request(&url, &self.tls);
        req.headers.extend(self.route.headers.iter().cloned());
        req.headers
            .push("Docker-Distribution-Api-Version: registry/2.0".to_string());
        self.perform(&req, &mut VecSink::default(), &mut |_| true)
            .map_err(|e| self.transfer_error(&format!("ping {url}"), e))
    }

    /// The `Authorization` header for the next request, fetching a token
    /// when needed.
    pub fn authorization(&self, scope: Option<&str>) -> Result<Option<String>, Error> {
        self.authorizer.authorization(self, scope)
    }

    /// GET `path` of this repository with auth; a 401 renews the token once.
    /// The 2xx body goes to `sink`; other statuses are returned as they are.
    pub fn get(
        &self,
        path: &str,
        headers: &[String],
        resume_from: u64,
        sink: &mut dyn Sink,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Reply, Error> {
        self.get_within(path, headers, resume_from, SMALL_DEADLINE, sink, progress)
    }

    /// [`Client::get`] with its own deadline (a blob's, by its size).
    pub fn get_within(
        &self,
        path: &str,
        headers: &[String],
        resume_from: u64,
        deadline: Duration,
        sink: &mut dyn Sink,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Reply, Error> {
        self.ping()?;
        let scheme = self.scheme().unwrap_or("https");
        let url = format!(
            "{scheme}://{}{}/{}/{}",
            self.host, self.route.prefix, self.repo, path
        );
        let scope = auth::pull_scope(&self.repo);
        for attempt in 0..2 {
            let mut req = self.base_request(&url, &self.tls);
            req.headers = headers.to_vec();
            req.headers.extend(self.route.headers.iter().cloned());
            req.resume_from = resume_from;
            req.deadline = Some(deadline);
            let used = self.authorization(Some(&scope))?;
            if let Some(h) = &used {
                req.headers.push(h.clone());
            }
            let reply = self
                .perform(&req, sink, &mut *progress)
                .map_err(|e| self.transfer_error(&format!("GET {url}"), e))?;
            if reply.status() != 401 {
                return Ok(reply);
            }
            match used {
                // an expired or revoked token: fetch a new one, once
                Some(used) if self.authorizer.is_bearer() && attempt == 0 => {
                    self.authorizer.forget_token(&used)
                }
                _ => {
                    return Err(Error::Unauthorized {
                        host: self.host.clone(),
                        detail: reply.error_message(),
                    });
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Checks credentials against `/v2/` (login): Ok when they are accepted.
    pub fn check_login(&self) -> Result<(), Error> {
        self.ping()?;
        let scheme = self.scheme().unwrap_or("https");
        let url = format!("{scheme}://{}/v2/", self.host);
        let mut req = self.base_request(&url, &self.tls);
        if let Some(h) = self.authorization(None)? {
            req.headers.push(h);
        }
        let reply = self
            .perform(&req, &mut VecSink::default(), &mut |_| true)
            .map_err(|e| self.transfer_error(&format!("GET {url}"), e))?;
        match reply.status() {
            200..=299 => Ok(()),
            401 | 403 => Err(Error::Unauthorized {
                host: self.host.clone(),
                detail: reply.error_message(),
            }),
            status => Err(Error::Status {
                what: format!("login to {}", self.host),
                status,
                message: reply.error_message(),
                retry_after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_cleaned_and_cut() {
        let reply = |body: &str| Reply {
            response: Response::default(),
            error_body: body.as_bytes().to_vec(),
        };
        let shown = reply("\x1b]0;pwned\x07oops\r\nforged: line").error_message();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        let json = format!(
            r#"{{"errors":[{{"code":"DENIED","message":"a\u001b[31m{}"}}]}}"#,
            "x".repeat(10_000)
        );
        let shown = reply(&json).error_message();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.chars().count() <= MAX_SHOWN + 1, "{}", shown.len());
    }
}
