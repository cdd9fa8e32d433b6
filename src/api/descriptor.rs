//! The step functions of iSulad's registry module (fetch the manifest, the
//! config or one layer of an image, log in, one request with a registry's
//! TLS and auth) on plain Rust values. What a C `pull_descriptor` holds
//! comes in as a [`Descriptor`]; each function gives back what to store in
//! it, the auth [`Session`] included (also after a failure, so a token
//! learnt is not lost), as an [`Outcome`].
//!
//! The session a descriptor keeps between calls, as iSulad kept it:
//! `protocol` ("https" or "http" once `/v2/` was pinged; no ping when set)
//! and challenges: "Basic" (realm "Basic", as iSulad stored it) or "Bearer"
//! with realm, service and the cached token with its expiry in seconds
//! since the epoch. On input the first usable Bearer challenge wins over a
//! Basic one; on output there is at most one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::auths::Secret;
use crate::digest::LayerFile;
use crate::distribution::certs::{self, TlsFiles};
use crate::distribution::client::{Auth, Cancel, Client, ClientConfig, Credentials};
use crate::distribution::fetch::{self, FetchEvent};
use crate::distribution::manifest::{self, Manifest};
use crate::error::Error;
use crate::transport::{self, ProgressFn, Request, Sink, Tls};

/// The longest token lifetime taken from a descriptor.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Progress of a blob: digest, bytes so far, total (0: unknown).
pub type Progress<'a> = dyn FnMut(&str, u64, u64) + 'a;

/// One stored challenge (any field may be missing).
#[derive(Clone, Debug, Default)]
pub struct Challenge {
    pub schema: Option<String>,
    pub realm: Option<String>,
    pub service: Option<String>,
    pub cached_token: Option<Secret<String>>,
    /// Seconds since the epoch.
    pub expires_time: i64,
}

/// The auth session kept in a descriptor.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub protocol: Option<String>,
    pub challenges: Vec<Challenge>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Session {
    /// The scheme and auth a client resumes from.
    fn auth(&self) -> (Option<&'static str>, Auth) {
        let scheme = match self.protocol.as_deref() {
            Some("https") => Some("https"),
            Some("http") => Some("http"),
            _ => None,
        };
        let mut basic = false;
        for c in &self.challenges {
            let (Some(schema), Some(realm)) = (c.schema.as_deref(), c.realm.as_deref()) else {
                continue;
            };
            if schema.eq_ignore_ascii_case("bearer") {
                let now = now_unix();
                let token = match &c.cached_token {
                    Some(t) if !t.is_empty() && c.expires_time > now => {
                        let left = Duration::from_secs((c.expires_time - now) as u64)
                            .min(MAX_TOKEN_LIFETIME);
                        Some((t.clone(), Instant::now() + left))
                    }
                    _ => None,
                };
                let auth = Auth::Bearer {
                    realm: realm.to_string(),
                    service: c.service.clone(),
                    token,
                };
                return (scheme, auth);
            }
            basic |= schema.eq_ignore_ascii_case("basic");
        }
        (scheme, if basic { Auth::Basic } else { Auth::Anonymous })
    }

    /// What `client` learned, to store back: its protocol when it knows
    /// one (else `None`: keep the stored one) and at most one challenge.
    fn of(client: &Client) -> Session {
        let (scheme, auth) = client.session();
        let challenge = match auth {
            Auth::Anonymous => None,
            Auth::Basic => Some(Challenge {
                schema: Some("Basic".into()),
                realm: Some("Basic".into()),
                ..Challenge::default()
            }),
            Auth::Bearer {
                realm,
                service,
                token,
            } => {
                let (cached_token, expires_time) = match token {
                    Some((token, expiry)) => {
                        let left = expiry.saturating_duration_since(Instant::now()).as_secs();
                        let left = i64::try_from(left).unwrap_or(i64::MAX);
                        (Some(token), now_unix().saturating_add(left))
                    }
                    None => (None, 0),
                };
                Some(Challenge {
                    schema: Some("Bearer".into()),
                    realm: Some(realm),
                    service,
                    cached_token,
                    expires_time,
                })
            }
        };
        Session {
            protocol: scheme.map(str::to_string),
            challenges: challenge.into_iter().collect(),
        }
    }
}

/// What the step functions read from a descriptor.
#[derive(Debug, Default)]
pub struct Descriptor {
    pub host: Option<String>,
    pub name: Option<String>,
    pub tag: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    pub skip_tls_verify: bool,
    pub insecure: bool,
    pub blobpath: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub scope: Option<String>,
    pub manifest_media_type: Option<String>,
    pub config_digest: Option<String>,
    pub config_size: u64,
    /// How many layers the descriptor has.
    pub layers_len: usize,
    pub session: Session,
}

/// A layer of the descriptor, as `fetch_layer` reads it.
#[derive(Clone, Debug, Default)]
pub struct LayerRef {
    pub digest: Option<String>,
    pub media_type: Option<String>,
    pub size: u64,
    pub empty: bool,
    /// The diff_id the layer must have, when the descriptor sets one.
    pub diff_id: Option<String>,
}

/// One layer as the descriptor gets it from a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    pub empty: bool,
    pub media_type: Option<String>,
    pub size: u64,
    pub digest: Option<String>,
}

/// A blob a manifest names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRef {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// What `fetch_manifest` sets.
#[derive(Clone, Debug)]
pub struct ManifestFetched {
    pub media_type: String,
    /// sha256 of the manifest written.
    pub digest: String,
    pub size: usize,
    /// Where it was written.
    pub file: String,
    /// None for schema1 (iSulad synthesised the config after the pull).
    pub config: Option<BlobRef>,
    pub layers: Vec<LayerSpec>,
}

/// A step's result and the session to store (None: leave it as it is).
pub struct Outcome<T> {
    pub session: Option<Session>,
    pub result: Result<T, Error>,
}

impl<T> Outcome<T> {
    fn early(e: Error) -> Self {
        Outcome {
            session: None,
            result: Err(e),
        }
    }
}

/// Builds a client (`Err` before any request is an early outcome), runs
/// `body`, and takes the session back whatever `body` returned.
fn with_client<T>(
    d: &Descriptor,
    fallback_host: Option<&str>,
    body: impl FnOnce(&Client) -> Result<T, Error>,
) -> Outcome<T> {
    match d.client(fallback_host) {
        Ok(client) => {
            let result = body(&client);
            Outcome {
                session: Some(Session::of(&client)),
                result,
            }
        }
        Err(e) => Outcome::early(e),
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

fn require<'a>(field: &'a Option<String>, what: &str) -> Result<&'a str, Error> {
    field
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("invalid pull descriptor: no {what}")))
}

impl Descriptor {
    fn blobpath(&self) -> Result<&Path, Error> {
        self.blobpath
            .as_deref()
            .ok_or_else(|| invalid("invalid pull descriptor: no blobpath"))
    }

    /// The descriptor's own TLS files, when it names any.
    fn tls(&self) -> Option<TlsFiles> {
        let any = self.ca_file.is_some() || self.cert_file.is_some() || self.key_file.is_some();
        any.then(|| TlsFiles {
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
        })
    }

    fn credentials(&self) -> Option<Credentials> {
        match (&self.username, &self.password) {
            (Some(username), Some(password)) => Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        }
    }

    /// The scope of token requests: the descriptor's, else pulls of `name`.
    fn scope(&self) -> Option<String> {
        self.scope.clone().or_else(|| {
            self.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| format!("repository:{n}:pull"))
        })
    }

    /// TLS files for a request to `url`: the descriptor's for its own host
    /// when it names any, else certs.d of the URL's host.
    fn tls_for_url(&self, url: &str) -> Result<TlsFiles, Error> {
        let Some(rest) = url.strip_prefix("https://") else {
            return Ok(TlsFiles::default());
        };
        let url_host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some(tls) = self.tls()
            && self.host.as_deref() == Some(url_host)
        {
            return Ok(tls);
        }
        certs::load(&super::certs_dir(), url_host)
    }

    /// A client of the descriptor's registry and repository, resuming its
    /// session. `host` defaults to `fallback_host`.
    fn client(&self, fallback_host: Option<&str>) -> Result<Client, Error> {
        let host = match self.host.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => h,
            None => fallback_host.ok_or_else(|| invalid("invalid pull descriptor: no host"))?,
        };
        let mut client = Client::new(
            host,
            self.name.as_deref().unwrap_or(""),
            ClientConfig {
                insecure: self.insecure,
                skip_tls_verify: self.skip_tls_verify,
                certs_dir: super::certs_dir(),
                credentials: self.credentials(),
                cancel: Cancel::new(),
            },
        )?;
        if let Some(tls) = self.tls() {
            client = client.with_tls(tls);
        }
        let (scheme, auth) = self.session.auth();
        client.resume_session(scheme, auth);
        Ok(client)
    }
}

fn is_schema1(media_type: Option<&str>) -> bool {
    matches!(
        media_type,
        Some(manifest::DOCKER_SCHEMA1 | manifest::DOCKER_SCHEMA1_SIGNED | "application/json")
    )
}

/// The config and layers of a manifest (iSulad's `parse_manifest`):
/// schema1 layers bottom first, throwaway ones only marked `empty`, and no
/// config.
pub fn blobs_of(m: &Manifest) -> (Option<BlobRef>, Vec<LayerSpec>) {
    match m {
        Manifest::Image(img) => (
            Some(BlobRef {
                media_type: img.config.media_type.clone(),
                digest: img.config.digest.clone(),
                size: img.config.size,
            }),
            img.layers
                .iter()
                .map(|l| LayerSpec {
                    empty: false,
                    media_type: Some(l.media_type.clone()),
                    size: l.size,
                    digest: Some(l.digest.clone()),
                })
                .collect(),
        ),
        Manifest::Schema1 { layers, .. } => (
            None,
            layers
                .iter()
                .map(|l| LayerSpec {
                    empty: l.empty,
                    media_type: (!l.empty).then(|| manifest::DOCKER_LAYER_GZIP.to_string()),
                    size: 0,
                    digest: (!l.empty).then(|| l.blob_sum.clone()),
                })
                .collect(),
        ),
        Manifest::Index { .. } => (None, Vec::new()),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    fs::write(path, bytes)
        .map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))
}

fn path_text(path: &Path) -> Result<String, Error> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(format!("{} is not valid UTF-8", path.display())))
}

/// Fetches the manifest of `name` at `tag` (a tag or a digest), a list or
/// index resolved to the platform of `isula_registry_set_platform` (the
/// child verified by its digest), and writes it to `<blobpath>/manifests`.
pub fn fetch_manifest(d: &Descriptor, progress: &mut Progress<'_>) -> Outcome<ManifestFetched> {
    let checked = require(&d.host, "host")
        .and_then(|_| require(&d.name, "name"))
        .and_then(|_| require(&d.tag, "tag"))
        .and_then(|tag| Ok((tag, d.blobpath()?.join("manifests"))));
    let (tag, file) = match checked {
        Ok(v) => v,
        Err(e) => return Outcome::early(e),
    };
    let fetched = with_client(d, None, |client| {
        fetch::resolve_manifest(client, tag, &super::platform())
    });
    let result = fetched.result.and_then(|r| {
        if r.from_list {
            // iSulad's map had an entry for the platform manifest too
            let size = r.fetched.bytes.len() as u64;
            progress(&r.fetched.digest, size, size);
        }
        let (config, layers) = blobs_of(&r.manifest);
        let file_text = path_text(&file)?;
        write_file(&file, &r.fetched.bytes)?;
        Ok(ManifestFetched {
            size: r.fetched.bytes.len(),
            media_type: r.fetched.media_type,
            digest: r.fetched.digest,
            file: file_text,
            config,
            layers,
        })
    });
    Outcome {
        session: fetched.session,
        result,
    }
}

/// Downloads the config blob `config_digest` to `<blobpath>/config`,
/// verified against the digest; the file written.
pub fn fetch_config(d: &Descriptor, progress: &mut Progress<'_>) -> Outcome<String> {
    let checked = require(&d.host, "host")
        .and_then(|_| require(&d.name, "name"))
        .and_then(|_| {
            d.config_digest.clone().ok_or_else(|| {
                invalid("the pull descriptor has no config digest (fetch the manifest first; schema1 images have no config blob)")
            })
        })
        .and_then(|digest| Ok((digest, d.blobpath()?.join("config"))));
    let (digest, file) = match checked {
        Ok(v) => v,
        Err(e) => return Outcome::early(e),
    };
    let declared = (d.config_size > 0).then_some(d.config_size);
    let fetched = with_client(d, None, |client| {
        fetch::fetch_config(client, &digest, declared)
    });
    let result = fetched.result.and_then(|bytes| {
        write_file(&file, &bytes)?;
        let size = bytes.len() as u64;
        progress(&digest, size, size);
        path_text(&file)
    });
    Outcome {
        session: fetched.session,
        result,
    }
}

/// Downloads layer `index` (`layer`; None when the descriptor has no such
/// layer) to `<blobpath>/<index>` in one pass verifying the blob's sha256,
/// with retries and resume; the sha256 of the uncompressed content, which
/// must equal the layer's `diff_id` when it has one. Progress: absolute
/// bytes, total = the layer's size.
pub fn fetch_layer(
    d: &Descriptor,
    index: usize,
    layer: Option<&LayerRef>,
    progress: &mut Progress<'_>,
) -> Outcome<String> {
    let checked = require(&d.host, "host")
        .and_then(|_| require(&d.name, "name"))
        .and_then(|_| {
            let layer = layer.ok_or_else(|| {
                invalid(format!(
                    "invalid layer index {index}: the pull descriptor has {} layers",
                    d.layers_len
                ))
            })?;
            if layer.empty {
                return Err(invalid(format!(
                    "layer {index} is an empty (throwaway) layer: there is nothing to fetch"
                )));
            }
            let digest = layer
                .digest
                .clone()
                .ok_or_else(|| invalid(format!("layer {index} has no digest")))?;
            Ok((layer, digest, d.blobpath()?.join(index.to_string())))
        });
    let (layer, digest, file) = match checked {
        Ok(v) => v,
        Err(e) => return Outcome::early(e),
    };
    let schema1 = is_schema1(d.manifest_media_type.as_deref());
    // schema1 says nothing true about compression: sniffed while streaming
    let media_type = if schema1 {
        ""
    } else {
        layer.media_type.as_deref().unwrap_or("")
    };
    let size = layer.size;
    let declared = (!schema1 && size > 0).then_some(size);
    let fetched = with_client(d, None, |client| {
        // the C caller gets the blob, as iSulad's fetch_layer wrote it
        fetch::fetch_sized_layer(
            client,
            &digest,
            media_type,
            declared,
            &file,
            LayerFile::Blob,
            &mut |event| {
                let now = match event {
                    FetchEvent::Bytes(n) => n,
                    FetchEvent::Restarted => 0,
                    FetchEvent::Retrying { .. } => return,
                };
                progress(&digest, now, size);
            },
        )
    });
    let result = fetched.result.and_then(|digests| {
        let total = if size > 0 { size } else { digests.blob.size };
        progress(&digest, digests.blob.size, total);
        match &layer.diff_id {
            Some(expected) if *expected != digests.diff.digest => Err(Error::DiffIdMismatch {
                layer: digest.clone(),
                expected: expected.clone(),
                actual: digests.diff.digest,
            }),
            _ => Ok(digests.diff.digest),
        }
    });
    Outcome {
        session: fetched.session,
        result,
    }
}

/// Checks the descriptor's credentials at its host (`/v2/`, with the auth
/// it asks for) and on success stores them in auths.json under the host as
/// given.
pub fn login(d: &Descriptor) -> Outcome<()> {
    let host = match require(&d.host, "host") {
        Ok(h) => h,
        Err(e) => return Outcome::early(e),
    };
    let (user, password) = match d.credentials() {
        Some(c) if !c.username.is_empty() && !c.password.is_empty() => (c.username, c.password),
        _ => return Outcome::early(invalid("login needs a username and a password")),
    };
    let checked = with_client(d, None, Client::check_login);
    let result = checked
        .result
        .and_then(|()| Ok(super::auth_store().save(host, &user, &password)?));
    Outcome {
        session: checked.session,
        result,
    }
}

/// Performs a request as iSulad's registry did: `headers`, then the
/// session's `Authorization` (its cached Bearer token, fetched when
/// missing or expired; Basic credentials for a Basic challenge; none
/// without a stored challenge, as iSulad did not ping); TLS of the
/// descriptor; low-speed timeouts; HTTP/1.1; redirects followed. Any HTTP
/// status is a success.
pub fn request(
    d: &Descriptor,
    url: &str,
    mut headers: Vec<String>,
    head_only: bool,
    resume_from: u64,
    sink: &mut dyn Sink,
    progress: Option<&mut ProgressFn<'_>>,
) -> Outcome<()> {
    let url_host = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let authorized = with_client(d, url_host, |client| {
        client.authorization(d.scope().as_deref())
    });
    let result = authorized.result.and_then(|auth| {
        headers.extend(auth);
        let tls = d.tls_for_url(url)?;
        let req = Request {
            url,
            head_only,
            headers,
            tls: Tls {
                verify_peer: !d.skip_tls_verify,
                verify_host: !d.skip_tls_verify,
                ca_file: tls.ca_file.as_deref(),
                cert_file: tls.cert_file.as_deref(),
                key_file: tls.key_file.as_deref(),
            },
            low_speed_abort: true,
            resume_from,
            follow_redirects: true,
            http11_only: true,
            ..Request::default()
        };
        transport::perform(&req, sink, progress)
            .map(|_| ())
            .map_err(|source| Error::Transport {
                what: format!("GET {url}"),
                source,
            })
    });
    Outcome {
        session: authorized.session,
        result,
    }
}

#[cfg(test)]
mod tests;
