//! A real docker-registry (distribution 2.8, `/usr/bin/docker-registry`)
//! on 127.0.0.1, over HTTP or HTTPS, with htpasswd Basic auth or token auth
//! by our [`TokenServer`]. Killed by pid on drop; its directory removed.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use super::certs::{Ca, CertPair};
use super::token::{TokenOptions, TokenServer};
use super::{TempDir, curl, free_port, run, temp_dir, url_encode, write_file};

/// Transport and authentication of a test registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Plain HTTP, no authentication.
    Http,
    /// HTTPS (our CA), no authentication.
    Https,
    /// HTTPS with htpasswd (bcrypt) Basic authentication.
    HttpsBasic { user: String, password: String },
    /// HTTPS with token authentication by our token server (plain HTTP
    /// realm unless `RegistryOptions::token_tls`); the user may push and
    /// pull, anonymous requests may pull (`token_anonymous`).
    Token { user: String, password: String },
}

impl Mode {
    pub fn basic(user: &str, password: &str) -> Mode {
        Mode::HttpsBasic {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn token(user: &str, password: &str) -> Mode {
        Mode::Token {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self, Mode::Http)
    }

    pub fn credentials(&self) -> Option<(String, String)> {
        match self {
            Mode::HttpsBasic { user, password } | Mode::Token { user, password } => {
                Some((user.clone(), password.clone()))
            }
            _ => None,
        }
    }
}

/// Everything configurable about a test registry.
#[derive(Clone)]
pub struct RegistryOptions {
    pub mode: Mode,
    /// `compatibility.schema1.enabled: true`: accept schema1 manifest pushes.
    pub schema1: bool,
    /// HTTPS modes: `http.tls.clientcas` = our CA, so a client certificate
    /// signed by it is required.
    pub require_client_cert: bool,
    /// Token mode: anonymous requests get pull access (else nothing).
    pub token_anonymous: bool,
    /// Token mode: `expires_in` of issued tokens.
    pub token_expires_in: u64,
    /// Token mode: serve the realm over HTTPS with a certificate of the
    /// registry's CA (default plain HTTP, which pulls refuse for an HTTPS
    /// registry), trusted through certs.d.
    pub token_tls: bool,
    /// `proxy.remoteurl`: a pull-through cache of that registry.
    pub proxy_remote: Option<String>,
}

impl RegistryOptions {
    pub fn new(mode: Mode) -> RegistryOptions {
        RegistryOptions {
            mode,
            schema1: false,
            require_client_cert: false,
            token_anonymous: true,
            token_expires_in: 300,
            token_tls: false,
            proxy_remote: None,
        }
    }
}

/// A running docker-registry. Directory layout (all under one temp dir):
/// `config.yml`, `registry.log`, `data/` (storage root), `tls/` (CA, server
/// and client pairs), `htpasswd`, `certs.d/<host>/ca.crt`,
/// `client-certs.d/<host>/{ca.crt,client.cert,client.key}`.
pub struct Registry {
    opts: RegistryOptions,
    port: u16,
    child: Option<Child>,
    ca: Option<Ca>,
    client: Option<CertPair>,
    token: Option<TokenServer>,
    certs_dir: PathBuf,
    client_certs_dir: PathBuf,
    // Last: removed after the process is gone.
    dir: TempDir,
}

const START_TIMEOUT: Duration = Duration::from_secs(20);

impl Registry {
    /// Starts a registry in that mode (no schema1, anonymous token pull).
    pub fn start(mode: Mode) -> Registry {
        Registry::start_with(RegistryOptions::new(mode))
    }

    pub fn start_with(opts: RegistryOptions) -> Registry {
        let dir = temp_dir();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("data")).unwrap();
        let certs_dir = root.join("certs.d");
        let client_certs_dir = root.join("client-certs.d");
        std::fs::create_dir_all(&certs_dir).unwrap();
        std::fs::create_dir_all(&client_certs_dir).unwrap();
        let (ca, client) = if opts.mode.is_tls() {
            let tls = root.join("tls");
            let ca = Ca::new(&tls);
            ca.issue_server(&tls, "server");
            let client = ca.issue_client(&tls, "client", "isula-test-client");
            (Some(ca), Some(client))
        } else {
            (None, None)
        };
        if let Some((user, password)) = opts.mode.credentials()
            && matches!(opts.mode, Mode::HttpsBasic { .. })
        {
            let line = run(Command::new("htpasswd").args(["-Bbn", &user, &password]))
                .expect("htpasswd (apt-get install apache2-utils)");
            write_file(&root.join("htpasswd"), line.trim_end().as_bytes());
        }
        let token = match &opts.mode {
            Mode::Token { user, password } => Some(TokenServer::start(TokenOptions {
                users: vec![(user.clone(), password.clone())],
                anonymous: opts.token_anonymous,
                expires_in: opts.token_expires_in,
                tls: if opts.token_tls { ca.clone() } else { None },
                ..TokenOptions::default()
            })),
            _ => None,
        };
        let mut reg = Registry {
            opts,
            port: 0,
            child: None,
            ca,
            client,
            token,
            certs_dir,
            client_certs_dir,
            dir,
        };
        let mut last_err = String::new();
        for _ in 0..5 {
            reg.port = free_port();
            match reg.spawn() {
                Ok(()) => {
                    reg.write_certs_dirs();
                    return reg;
                }
                Err(e) => last_err = e,
            }
        }
        panic!("docker-registry did not start: {last_err}");
    }

    fn write_config(&self) -> PathBuf {
        let root = self.dir.path();
        let mut y = String::new();
        let _ = write!(
            y,
            "version: 0.1\n\
             log:\n  level: debug\n  formatter: text\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: isula-test-secret\n",
            data = root.join("data").display(),
            port = self.port,
        );
        if self.opts.mode.is_tls() {
            let _ = write!(
                y,
                "  tls:\n    certificate: {}\n    key: {}\n",
                root.join("tls/server.crt").display(),
                root.join("tls/server.key").display()
            );
            if self.opts.require_client_cert {
                let _ = write!(
                    y,
                    "    clientcas:\n      - {}\n",
                    root.join("tls/ca.crt").display()
                );
            }
        }
        match &self.opts.mode {
            Mode::HttpsBasic { .. } => {
                let _ = write!(
                    y,
                    "auth:\n  htpasswd:\n    realm: isula-test-registry\n    path: {}\n",
                    root.join("htpasswd").display()
                );
            }
            Mode::Token { .. } => {
                let t = self.token.as_ref().unwrap();
                let _ = write!(
                    y,
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    t.realm(),
                    t.service(),
                    t.issuer(),
                    t.cert_file().display()
                );
            }
            _ => {}
        }
        if let Some(remote) = &self.opts.proxy_remote {
            let _ = writeln!(y, "proxy:\n  remoteurl: {remote}");
        }
        if self.opts.schema1 {
            y.push_str("compatibility:\n  schema1:\n    enabled: true\n");
        }
        let path = root.join("config.yml");
        write_file(&path, y.as_bytes());
        path
    }

    fn spawn(&mut self) -> Result<(), String> {
        let config = self.write_config();
        let log_path = self.log_file();
        let log = File::create(&log_path).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve").arg(&config);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run docker-registry: {e}"))?;
        let end = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "docker-registry exited ({status}):\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            // "listening on 127.0.0.1:PORT" proves that our process bound the
            // port (another test's server may have taken it meanwhile).
            let listening = format!("listening on 127.0.0.1:{}", self.port);
            if std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains(&listening)) {
                // Listening: make sure it answers.
                let mut args: Vec<String> = vec!["-o".into(), "/dev/null".into()];
                args.extend(self.curl_tls_args());
                args.push(format!("{}/v2/", self.url()));
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                if let Ok(r) = curl(&refs)
                    && (r.status == 200 || r.status == 401)
                {
                    self.child = Some(child);
                    return Ok(());
                }
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "docker-registry did not answer /v2/ within {START_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn write_certs_dirs(&self) {
        let (Some(ca), Some(client)) = (&self.ca, &self.client) else {
            return;
        };
        let host = self.host();
        ca.write_certs_d(&self.certs_dir, &host, None);
        ca.write_certs_d(&self.client_certs_dir, &host, Some(client));
        // an https realm is trusted through its own certs.d entry
        if let Some(t) = self.token.as_ref().filter(|_| self.opts.token_tls) {
            ca.write_certs_d(&self.certs_dir, &t.host(), None);
            ca.write_certs_d(&self.client_certs_dir, &t.host(), Some(client));
        }
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    pub fn mode(&self) -> &Mode {
        &self.opts.mode
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn is_tls(&self) -> bool {
        self.opts.mode.is_tls()
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// `(user, password)` of Basic and Token modes.
    pub fn credentials(&self) -> Option<(String, String)> {
        self.opts.mode.credentials()
    }

    /// A certs.d directory with `<host>/ca.crt` only (empty for Http).
    pub fn certs_dir(&self) -> &Path {
        &self.certs_dir
    }

    /// A certs.d directory with `<host>/{ca.crt,client.cert,client.key}`
    /// (empty for Http).
    pub fn client_certs_dir(&self) -> &Path {
        &self.client_certs_dir
    }

    /// `certs_dir()/<host>` (what `skopeo --cert-dir` wants).
    pub fn host_certs_dir(&self) -> PathBuf {
        self.certs_dir.join(self.host())
    }

    /// The CA of an HTTPS registry. Panics for Http.
    pub fn ca(&self) -> &Ca {
        self.ca.as_ref().expect("an Http registry has no CA")
    }

    /// `ca.crt` of the CA. Panics for Http.
    pub fn ca_file(&self) -> &Path {
        self.ca().ca_file()
    }

    /// The client certificate pair (HTTPS modes).
    pub fn client_cert(&self) -> Option<&CertPair> {
        self.client.as_ref()
    }

    /// Storage root (`storage.filesystem.rootdirectory`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// Contents of the registry's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// The registry process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// curl flags to trust the registry (and present the client certificate
    /// when one is required).
    pub fn curl_tls_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(ca) = &self.ca {
            v.push("--cacert".into());
            v.push(ca.ca_file().display().to_string());
            if self.opts.require_client_cert
                && let Some(c) = &self.client
            {
                v.push("--cert".into());
                v.push(c.cert_file.display().to_string());
                v.push("--key".into());
                v.push(c.key_file.display().to_string());
            }
        }
        v
    }

    /// skopeo TLS and credential flags; `prefix` is "" (inspect), "src-" or
    /// "dest-" (copy).
    pub fn skopeo_args(&self, prefix: &str) -> Vec<String> {
        let mut v = Vec::new();
        if self.is_tls() {
            let dir = if self.opts.require_client_cert {
                self.client_certs_dir.join(self.host())
            } else {
                self.host_certs_dir()
            };
            v.push(format!("--{prefix}cert-dir={}", dir.display()));
        } else {
            v.push(format!("--{prefix}tls-verify=false"));
        }
        if let Some((u, p)) = self.credentials() {
            v.push(format!("--{prefix}creds={u}:{p}"));
        }
        v
    }

    /// An `Authorization` header value for `scope`
    /// (`repository:NAME:pull,push`): Basic in HttpsBasic mode, a Bearer
    /// token from the token server (with the credentials) in Token mode,
    /// None otherwise.
    pub fn auth_header(&self, scope: &str) -> Option<String> {
        match &self.opts.mode {
            Mode::HttpsBasic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Mode::Token { user, password } => {
                let t = self.token.as_ref().unwrap();
                let url = format!(
                    "{}?service={}&scope={}",
                    t.realm(),
                    url_encode(&t.service()),
                    url_encode(scope)
                );
                let userpass = format!("{user}:{password}");
                let mut args = vec!["-u", userpass.as_str()];
                let ca = self.ca.as_ref().map(|c| c.ca_file().display().to_string());
                if let Some(ca) = &ca {
                    args.extend(["--cacert", ca.as_str()]);
                }
                args.push(&url);
                let r = curl(&args).expect("token request");
                assert_eq!(r.status, 200, "token server: {}", r.text());
                Some(format!(
                    "Bearer {}",
                    r.json()["token"].as_str().expect("token in response")
                ))
            }
            _ => None,
        }
    }

    /// curl against the registry: `path` like `/v2/`, with TLS flags and,
    /// when `scope` is given, the matching Authorization header.
    pub fn curl(
        &self,
        path: &str,
        scope: Option<&str>,
        extra: &[&str],
    ) -> Result<super::CurlResponse, String> {
        let mut args = self.curl_tls_args();
        if let Some(scope) = scope
            && let Some(h) = self.auth_header(scope)
        {
            args.push("-H".into());
            args.push(format!("Authorization: {h}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(format!("{}{path}", self.url()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&refs)
    }

    /// Uploads a blob (POST + PUT) to `repo`; returns its digest.
    pub fn upload_blob(&self, repo: &str, data: &[u8]) -> Result<String, String> {
        let digest = super::sha256_digest(data);
        let scope = format!("repository:{repo}:pull,push");
        let r = self.curl(
            &format!("/v2/{repo}/blobs/uploads/"),
            Some(&scope),
            &["-X", "POST"],
        )?;
        if r.status != 202 {
            return Err(format!("POST upload: {} {}", r.status, r.text()));
        }
        let loc = r.header("location").ok_or("no Location")?.to_string();
        let loc = if loc.starts_with('/') {
            format!("{}{loc}", self.url())
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let tmp = temp_dir();
        let file = tmp.path().join("blob");
        write_file(&file, data);
        let mut args = self.curl_tls_args();
        if let Some(h) = self.auth_header(&scope) {
            args.push("-H".into());
            args.push(format!("Authorization: {h}"));
        }
        args.extend([
            "-X".into(),
            "PUT".into(),
            "-H".into(),
            "Content-Type: application/octet-stream".into(),
            "--data-binary".into(),
            format!("@{}", file.display()),
            format!("{loc}{sep}digest={}", url_encode(&digest)),
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = curl(&refs)?;
        if r.status != 201 {
            return Err(format!("PUT upload: {} {}", r.status, r.text()));
        }
        Ok(digest)
    }

    /// Kills the registry (by pid) and waits for it. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the stopped registry again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        let mut last = String::new();
        for _ in 0..5 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("docker-registry did not restart: {last}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}
