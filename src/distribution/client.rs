//! A client for one repository of one registry: protocol choice (https,
//! then http only for insecure registries), TLS from certs.d, Basic and
//! Bearer auth with a cached token refreshed on 401, and single requests
//! for manifests and blobs. Retries live in [`super::fetch`], their
//! budget in [`super::retry`].
//!
//! A server is not trusted: every request has a deadline and a stall
//! window, bodies are bounded, a token realm must be http(s) (never plain
//! http for an https registry), credentials go over plain http only to the
//! registry's own host, and server text is cleaned before it is shown.
//!
//! One client serves every thread of a pull, so the token is fetched once.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::certs::{self, TlsFiles};
use super::challenge::{self, Challenge};
use super::retry::Budget;
use crate::auths::Secret;
use crate::error::Error;
use crate::text::{clean, clean_bytes};
use crate::transport::{self, Request, Response, Sink, Tls, authority, web_scheme};

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

/// Token lifetime assumed when the server gives none (and the minimum, as iSulad).
const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);
/// The longest a token is cached, whatever the server says.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
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

/// How a registry wants requests authenticated, with the cached token
/// (see [`Client::session`]).
#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        token: Option<(Secret<String>, Instant)>,
    },
}

#[derive(Default)]
struct State {
    scheme: Option<&'static str>,
    auth: Auth,
}

/// One repository of one registry.
pub struct Client {
    host: String,
    repo: String,
    config: ClientConfig,
    tls: TlsFiles,
    state: Mutex<State>,
    /// Held while a token is fetched, so concurrent requests wait for one
    /// fetch instead of each making their own.
    token_fetch: Mutex<()>,
    /// The retry budget of everything this client fetches.
    pub budget: Budget,
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

/// A token server's answer: `token`, else `access_token` (both are in use),
/// and its lifetime (`expires_in`, at least [`MIN_TOKEN_LIFETIME`]).
fn parse_token(body: &[u8], realm: &str) -> Result<(Secret<String>, Duration), Error> {
    let json: serde_json::Value = super::json::from_slice(body)
        .map_err(|e| Error::Malformed(format!("token from {realm} is not JSON: {e}")))?;
    let token = ["token", "access_token"]
        .iter()
        .find_map(|k| json[*k].as_str().filter(|t| !t.is_empty()))
        .ok_or_else(|| Error::Malformed(format!("no token in the answer of {realm}")))?;
    // any number, however large or odd, becomes a lifetime within bounds
    let lifetime = json["expires_in"]
        .as_f64()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map(|secs| Duration::from_secs_f64(secs.min(MAX_TOKEN_LIFETIME.as_secs_f64())))
        .unwrap_or(MIN_TOKEN_LIFETIME)
        .clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME);
    Ok((Secret::new(token.to_string()), lifetime))
}

impl Client {
    /// A client for `repo` at `host` (already transformed, e.g.
    /// registry-1.docker.io). Loads the host's certs.d material.
    pub fn new(host: &str, repo: &str, config: ClientConfig) -> Result<Client, Error> {
        let tls = certs::load(&config.certs_dir, host)?;
        Ok(Client {
            host: host.to_string(),
            repo: repo.to_string(),
            config,
            tls,
            state: Mutex::new(State::default()),
            token_fetch: Mutex::new(()),
            budget: Budget::default(),
        })
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
        let state = self.state();
        (state.scheme, state.auth.clone())
    }

    /// Starts from what an earlier client learned: with a known `scheme`
    /// there is no ping.
    pub fn resume_session(&self, scheme: Option<&'static str>, auth: Auth) {
        let mut state = self.state();
        state.scheme = scheme;
        state.auth = auth;
    }

    pub fn cancelled(&self) -> bool {
        self.config.cancel.is_set()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tls_for(&self, url_host: &str) -> Result<TlsFiles, Error> {
        if url_host == self.host {
            Ok(self.tls.clone())
        } else {
            certs::load(&self.config.certs_dir, url_host)
        }
    }

    fn base_request<'a>(&self, url: &'a str, tls: &'a TlsFiles) -> Request<'a> {
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
            ..Request::default()
        }
    }

    /// Performs one request, aborting when the pull is cancelled.
    fn perform(
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

    fn transfer_error(&self, what: &str, mut e: transport::TransferError) -> Error {
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
        if self.state().scheme.is_some() {
            return Ok(());
        }
        let https = self.ping_scheme("https");
        let (scheme, reply) = match https {
            Ok(reply) => ("https", reply),
            Err(e) if self.config.insecure && !matches!(e, Error::Cancelled) => {
                match self.ping_scheme("http") {
                    Ok(reply) => ("http", reply),
                    // the https failure usually says more (a certificate problem)
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let auth = match reply.status() {
            200..=299 => Auth::Anonymous,
            401 => self.auth_from(&reply)?,
            status => {
                return Err(Error::Status {
                    what: format!("ping {scheme}://{}/v2/", self.host),
                    status,
                    message: reply.error_message(),
                    retry_after: reply.retry_after(),
                });
            }
        };
        let mut state = self.state();
        state.scheme = Some(scheme);
        state.auth = auth;
        Ok(())
    }

    fn ping_scheme(&self, scheme: &str) -> Result<Reply, Error> {
        let url = format!("{scheme}://{}/v2/", self.host);
        let mut req = self.base_request(&url, &self.tls);
        req.headers
            .push("Docker-Distribution-Api-Version: registry/2.0".to_string());
        self.perform(&req, &mut VecSink::default(), &mut |_| true)
            .map_err(|e| self.transfer_error(&format!("ping {url}"), e))
    }

    fn auth_from(&self, reply: &Reply) -> Result<Auth, Error> {
        let values: Vec<&str> = reply
            .response
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, v)| v.as_str())
            .collect();
        let challenges = challenge::parse_challenges(&values);
        if let Some(Challenge::Bearer { realm, service, .. }) = challenges
            .iter()
            .find(|c| matches!(c, Challenge::Bearer { .. }))
        {
            return Ok(Auth::Bearer {
                realm: realm.clone(),
                service: service.clone(),
                token: None,
            });
        }
        if challenges
            .iter()
            .any(|c| matches!(c, Challenge::Basic { .. }))
        {
            return Ok(Auth::Basic);
        }
        Err(Error::Unauthorized {
            host: self.host.clone(),
            detail: format!(
                "the registry asks for an unsupported authentication: {}",
                clean(&values.join(", "), MAX_SHOWN)
            ),
        })
    }

    /// The `Authorization` header for the next request, fetching a token
    /// when needed.
    pub fn authorization(&self, scope: Option<&str>) -> Result<Option<String>, Error> {
        let auth = self.state().auth.clone();
        match auth {
            Auth::Anonymous => Ok(None),
            Auth::Basic => Ok(self.config.credentials.as_ref().map(|c| {
                let plain = Secret::new(format!("{}:{}", c.username, &*c.password));
                format!(
                    "Authorization: Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(plain.as_bytes())
                )
            })),
            Auth::Bearer { realm, service, .. } => {
                if let Some(header) = self.cached_token() {
                    return Ok(Some(header));
                }
                let _one_fetch = self
                    .token_fetch
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // another thread may have fetched it while this one waited
                if let Some(header) = self.cached_token() {
                    return Ok(Some(header));
                }
                let (token, lifetime) = self.fetch_token(&realm, service.as_deref(), scope)?;
                let header = format!("Authorization: Bearer {}", &*token);
                let now = Instant::now();
                let expiry = now
                    .checked_add(lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2)))
                    .unwrap_or(now);
                if let Auth::Bearer { token: slot, .. } = &mut self.state().auth {
                    *slot = Some((token, expiry));
                }
                Ok(Some(header))
            }
        }
    }

    /// The `Authorization` header of the cached token, while it is valid.
    fn cached_token(&self) -> Option<String> {
        match &self.state().auth {
            Auth::Bearer {
                token: Some((token, expiry)),
                ..
            } if Instant::now() < *expiry => Some(format!("Authorization: Bearer {}", &**token)),
            _ => None,
        }
    }

    /// Drops the cached token if it is the one `used` was made of (another
    /// thread may already have replaced it).
    fn forget_token(&self, used: &str) {
        if self.cached_token().as_deref() == Some(used)
            && let Auth::Bearer { token, .. } = &mut self.state().auth
        {
            *token = None;
        }
    }

    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
    ) -> Result<(Secret<String>, Duration), Error> {
        let account = self
            .config
            .credentials
            .as_ref()
            .map(|c| c.username.as_str());
        self.realm_allowed(realm)?;
        let url = challenge::token_url(realm, service, scope, account);
        let realm = &clean(realm, MAX_SHOWN);
        let realm_host = authority(&url);
        let tls = self.tls_for(&realm_host)?;
        let mut req = self.base_request(&url, &tls);
        if let Some(c) = &self.config.credentials {
            let plain = Secret::new(format!("{}:{}", c.username, &*c.password));
            req.headers.push(format!(
                "Authorization: Basic {}",
                base64::engine::general_purpose::STANDARD.encode(plain.as_bytes())
            ));
        }
        let mut body = VecSink::default();
        let reply = self
            .perform(&req, &mut body, &mut |_| true)
            .map_err(|e| self.transfer_error(&format!("get token from {realm}"), e))?;
        match reply.status() {
            200..=299 => {}
            401 | 403 => {
                return Err(Error::Unauthorized {
                    host: self.host.clone(),
                    detail: reply.error_message(),
                });
            }
            status => {
                return Err(Error::Status {
                    what: format!("get token from {realm}"),
                    status,
                    message: reply.error_message(),
                    retry_after: reply.retry_after(),
                });
            }
        }
        parse_token(&body.0, realm)
    }

    /// Whether a token may be asked of `realm`, and whether the
    /// credentials may go with the request: only http(s) realms; none over
    /// plain http for a registry reached over https; credentials over plain
    /// http only to the registry's own host (itself plain http).
    fn realm_allowed(&self, realm: &str) -> Result<(), Error> {
        let shown = clean(realm, MAX_SHOWN);
        let Some(realm_scheme) = web_scheme(realm) else {
            return Err(Error::Unsupported(format!(
                "the registry {} names the token realm {shown}: only http and https realms are used",
                self.host
            )));
        };
        // not pinged (a C descriptor's session): only an insecure registry
        // may be plain http
        let registry_scheme = self.state().scheme.unwrap_or(if self.config.insecure {
            "http"
        } else {
            "https"
        });
        if realm_scheme == "http" && registry_scheme == "https" {
            return Err(Error::Unsupported(format!(
                "refusing to fetch a token over plain http from {shown}: the registry {} is served over https",
                self.host
            )));
        }
        let same_host = authority(realm) == self.host.to_ascii_lowercase();
        if realm_scheme == "http" && !same_host && self.config.credentials.is_some() {
            return Err(Error::Unauthorized {
                host: self.host.clone(),
                detail: format!(
                    "refusing to send the credentials over plain http to another host ({shown}); \
                     the token server must use https"
                ),
            });
        }
        Ok(())
    }

    /// The scope of pulls from this repository.
    fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repo)
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
        let scheme = self.state().scheme.unwrap_or("https");
        let url = format!("{scheme}://{}/v2/{}/{}", self.host, self.repo, path);
        let scope = self.pull_scope();
        for attempt in 0..2 {
            let mut req = self.base_request(&url, &self.tls);
            req.headers = headers.to_vec();
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
            let bearer = matches!(self.state().auth, Auth::Bearer { .. });
            match used {
                // an expired or revoked token: fetch a new one, once
                Some(used) if bearer && attempt == 0 => self.forget_token(&used),
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
        let scheme = self.state().scheme.unwrap_or("https");
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
    fn token_answers() {
        let (t, life) =
            parse_token(br#"{"token":"a","access_token":"b","expires_in":300}"#, "r").unwrap();
        assert_eq!((t.as_str(), life), ("a", Duration::from_secs(300)));
        let (t, life) = parse_token(br#"{"access_token":"b"}"#, "r").unwrap();
        assert_eq!(
            (t.as_str(), life),
            ("b", MIN_TOKEN_LIFETIME),
            "no expires_in: the minimum"
        );
        let (_, life) = parse_token(br#"{"token":"a","expires_in":5}"#, "r").unwrap();
        assert_eq!(
            life, MIN_TOKEN_LIFETIME,
            "short lifetimes are raised to the minimum"
        );
        let (t, _) = parse_token(br#"{"token":"","access_token":"b"}"#, "r").unwrap();
        assert_eq!(t.as_str(), "b", "an empty token does not count");
        assert!(
            parse_token(br#"{"details":"no"}"#, "https://auth")
                .unwrap_err()
                .to_string()
                .contains("no token")
        );
        assert!(parse_token(b"<html>", "r").is_err());
    }

    #[test]
    fn token_lifetimes_from_hostile_servers_are_bounded() {
        for answer in [
            r#"{"token":"a","expires_in":1000000000000000000}"#,
            r#"{"token":"a","expires_in":1e300}"#,
            r#"{"token":"a","expires_in":18446744073709551615}"#,
        ] {
            let (_, life) = parse_token(answer.as_bytes(), "r").unwrap();
            assert_eq!(life, MAX_TOKEN_LIFETIME, "{answer}");
            // what authorization() does with it must not overflow
            assert!(Instant::now().checked_add(life).is_some());
        }
        for answer in [
            r#"{"token":"a","expires_in":-5}"#,
            r#"{"token":"a","expires_in":"soon"}"#,
        ] {
            let (_, life) = parse_token(answer.as_bytes(), "r").unwrap();
            assert_eq!(life, MIN_TOKEN_LIFETIME, "{answer}");
        }
    }

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
