//! Our own token server (docker registry token authentication) that the real
//! docker-registry trusts: JWTs signed RS256 with a self-signed certificate
//! sent in the `x5c` header, which is also the registry's `rootcertbundle`
//! (distribution 2.8 `registry/auth/token/token.go` verifies the chain
//! against that bundle and the signature with the leaf key; `aud` is a
//! string there).
//!
//! `GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]&account=A`
//! with optional Basic auth; `POST /token` with an OAuth2 password-grant form
//! is accepted too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use serde_json::{Value, json};

use super::certs::{self, Ca, CertPair};
use super::httpd::{Handler, HttpServer, Request, Response};
use super::{TempDir, rfc3339, temp_dir, unix_now};

/// How a token server behaves.
#[derive(Clone)]
pub struct TokenOptions {
    /// `service` (= the JWT `aud`) the registry is configured with.
    pub service: String,
    /// JWT `iss`.
    pub issuer: String,
    /// Accounts and their passwords.
    pub users: Vec<(String, String)>,
    /// Without credentials: true grants the `pull` part of each scope
    /// (anonymous pull), false grants nothing (a token with empty access,
    /// like Docker Hub; the registry then answers 401 insufficient_scope).
    pub anonymous: bool,
    /// `expires_in` of issued tokens, seconds (the JWT `exp` follows it).
    pub expires_in: u64,
    /// Serve HTTPS with a server certificate of this CA (default plain HTTP).
    pub tls: Option<Ca>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            service: "isula-test-registry".into(),
            issuer: "isula-test-token-issuer".into(),
            users: Vec::new(),
            anonymous: true,
            expires_in: 300,
            tls: None,
        }
    }
}

/// One request the token server received.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub method: String,
    /// Raw query string (GET) or form body (POST).
    pub query: String,
    /// Whether an `Authorization: Basic` header came.
    pub had_basic_auth: bool,
    /// The Basic (or form) user name, if any.
    pub user: Option<String>,
    pub scopes: Vec<String>,
    pub service: Option<String>,
    pub status: u16,
    /// The `access` claim granted (empty on failure).
    pub access: Value,
}

struct State {
    opts: Mutex<TokenOptions>,
    signer: CertPair,
    count: AtomicUsize,
    log: Mutex<Vec<TokenRequest>>,
    /// (status, times left) for injected failures.
    fail: Mutex<Option<(u16, usize)>>,
}

/// A running token server; stopped on drop.
pub struct TokenServer {
    server: HttpServer,
    state: Arc<State>,
    _dir: TempDir,
    cert_file: PathBuf,
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Parses `type:name:actions` (the name may contain `:`, e.g. a port).
pub fn parse_scope(scope: &str) -> Option<(String, String, Vec<String>)> {
    let (typ, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions = actions
        .split(',')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    Some((typ.to_string(), name.to_string(), actions))
}

impl State {
    fn sign(&self, subject: &str, access: &Value, expires_in: i64) -> String {
        let opts = self.opts.lock().unwrap().clone();
        let now = unix_now() as i64;
        let header = json!({
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(self.signer.cert_der())],
        });
        let mut jti = [0u8; 16];
        openssl::rand::rand_bytes(&mut jti).unwrap();
        let claims = json!({
            "iss": opts.issuer,
            "sub": subject,
            "aud": opts.service,
            "exp": now + expires_in,
            "nbf": now - 1,
            "iat": now,
            "jti": hex::encode(jti),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).unwrap()),
            b64url(&serde_json::to_vec(&claims).unwrap())
        );
        let mut signer = Signer::new(MessageDigest::sha256(), &self.signer.key).unwrap();
        signer.update(signing_input.as_bytes()).unwrap();
        let sig = signer.sign_to_vec().unwrap();
        format!("{signing_input}.{}", b64url(&sig))
    }

    fn handle(&self, req: &Request) -> Response {
        self.count.fetch_add(1, Ordering::SeqCst);
        let form_post = req.method == "POST";
        let (params, raw) = if form_post {
            let body = String::from_utf8_lossy(&req.body).into_owned();
            (super::parse_query(&body), body)
        } else {
            (req.query_params(), req.query.clone())
        };
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        // Scopes may come as several parameters and, in a form, space separated.
        let scopes: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        let basic = req.basic_auth();
        let creds = if form_post && basic.is_none() {
            get("username").map(|u| (u, get("password").unwrap_or_default()))
        } else {
            basic.clone()
        };
        let mut entry = TokenRequest {
            method: req.method.clone(),
            query: raw,
            had_basic_auth: basic.is_some(),
            user: creds.as_ref().map(|(u, _)| u.clone()),
            scopes: scopes.clone(),
            service: get("service"),
            status: 200,
            access: json!([]),
        };
        let opts = self.opts.lock().unwrap().clone();
        let injected = {
            let mut f = self.fail.lock().unwrap();
            match f.as_mut() {
                Some((status, left)) if *left > 0 => {
                    *left -= 1;
                    Some(*status)
                }
                _ => None,
            }
        };
        let resp = if req.path != "/token" {
            entry.status = 404;
            Response::json(404, &json!({"details": "not found"}))
        } else if let Some(status) = injected {
            entry.status = status;
            Response::json(status, &json!({"details": "injected failure"}))
        } else if entry.service.as_deref().is_some_and(|s| s != opts.service) {
            entry.status = 400;
            Response::json(400, &json!({"details": "unknown service"}))
        } else {
            let authed = match &creds {
                Some((u, p)) => opts.users.iter().any(|(uu, pp)| uu == u && pp == p),
                None => false,
            };
            if creds.is_some() && !authed {
                entry.status = 401;
                Response::json(
                    401,
                    &json!({
                        "errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password", "detail": null}],
                        "details": "incorrect username or password",
                    }),
                )
                .header("WWW-Authenticate", "Basic realm=\"isula-test-token\"")
            } else {
                let mut access = Vec::new();
                for s in &scopes {
                    let Some((typ, name, actions)) = parse_scope(s) else {
                        continue;
                    };
                    let granted: Vec<String> = if authed {
                        actions
                    } else if opts.anonymous {
                        actions.into_iter().filter(|a| a == "pull").collect()
                    } else {
                        Vec::new()
                    };
                    access.push(json!({"type": typ, "name": name, "actions": granted}));
                }
                let access = Value::Array(access);
                let subject = creds.map(|(u, _)| u).unwrap_or_default();
                let token = self.sign(&subject, &access, opts.expires_in as i64);
                entry.access = access;
                Response::json(
                    200,
                    &json!({
                        "token": token,
                        "access_token": token,
                        "expires_in": opts.expires_in,
                        "issued_at": rfc3339(unix_now()),
                    }),
                )
            }
        };
        self.log.lock().unwrap().push(entry);
        resp
    }
}

impl TokenServer {
    pub fn start(opts: TokenOptions) -> TokenServer {
        let dir = temp_dir();
        let signer = certs::self_signed(dir.path(), "token-signer", "isula-test-token-signer");
        let cert_file = signer.cert_file.clone();
        let tls = opts.tls.as_ref().map(|ca| {
            let pair = ca.issue_server(dir.path(), "token-server");
            ca.acceptor(&pair)
        });
        let state = Arc::new(State {
            opts: Mutex::new(opts),
            signer,
            count: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            fail: Mutex::new(None),
        });
        let st = state.clone();
        let handler: Handler = Arc::new(move |req: &Request| st.handle(req));
        let server = HttpServer::start(handler, tls);
        TokenServer {
            server,
            state,
            _dir: dir,
            cert_file,
        }
    }

    /// `http://127.0.0.1:PORT/token` (https with `tls`).
    pub fn realm(&self) -> String {
        format!("{}/token", self.server.url())
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn host(&self) -> String {
        self.server.host()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn service(&self) -> String {
        self.state.opts.lock().unwrap().service.clone()
    }

    pub fn issuer(&self) -> String {
        self.state.opts.lock().unwrap().issuer.clone()
    }

    /// The signing certificate (PEM): the registry's `rootcertbundle`.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// How many requests reached the server (any path, any outcome).
    pub fn token_requests(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    /// All requests so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// Raw query string (or form body) of the last request.
    pub fn last_query(&self) -> Option<String> {
        self.state
            .log
            .lock()
            .unwrap()
            .last()
            .map(|r| r.query.clone())
    }

    /// Whether the last request had `Authorization: Basic`.
    pub fn last_had_basic_auth(&self) -> bool {
        self.state
            .log
            .lock()
            .unwrap()
            .last()
            .is_some_and(|r| r.had_basic_auth)
    }

    pub fn set_expires_in(&self, secs: u64) {
        self.state.opts.lock().unwrap().expires_in = secs;
    }

    pub fn set_anonymous(&self, anonymous: bool) {
        self.state.opts.lock().unwrap().anonymous = anonymous;
    }

    /// The next `times` token requests answer `status` (e.g. 500).
    pub fn fail_next(&self, status: u16, times: usize) {
        *self.state.fail.lock().unwrap() = Some((status, times));
    }

    /// Mints a token directly: `access` items are `(type, name, actions)`;
    /// a negative `expires_in` gives an already expired token (the registry
    /// allows 60 s of leeway).
    pub fn issue(
        &self,
        subject: &str,
        access: &[(&str, &str, &[&str])],
        expires_in: i64,
    ) -> String {
        let access = Value::Array(
            access
                .iter()
                .map(|(t, n, a)| json!({"type": t, "name": n, "actions": a}))
                .collect(),
        );
        self.state.sign(subject, &access, expires_in)
    }

    pub fn stop(&mut self) {
        self.server.stop();
    }
}
