//! The hosts one pull may use for a registry: the mirrors of its
//! hosts.toml in order, then the origin. A tag is resolved only on hosts
//! with `resolve`, a digest and blobs are fetched from hosts with `pull`;
//! what any host serves is verified by digest all the same. A mirror is
//! tried once per request: whatever fails there (a dead host, a 404, a
//! reset mid-blob) goes on at the next host, a blob from the byte it had
//! reached. A mirror that did not even answer its ping is skipped for the
//! rest of the pull. Each host has its own client, so its own challenge
//! and token: nothing learnt from one host is sent to another.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use super::certs;
use super::client::{Client, ClientConfig, Credentials, Route};
use super::fetch::{self, Blob, FetchEvent, Resolved, another_host_may_help};
use super::hosts::{self, Endpoint};
use super::reference::Platform;
use crate::digest::LayerDigests;
use crate::error::Error;

/// Largest CA file read from a hosts.toml list.
const MAX_CA_FILE: u64 = 1 << 20;

struct HostClient {
    client: Client,
    pull: bool,
    resolve: bool,
    /// "mirror https://m:5001" or "origin https://r:5000".
    label: String,
    mirror: bool,
    down: AtomicBool,
}

/// The mirrors and the origin of one registry, for one repository.
pub struct Hosts {
    list: Vec<HostClient>,
    /// CA bundles made of several files, removed with the hosts.
    bundles: Option<PathBuf>,
    /// Every note so far, and how many [`Hosts::new_notes`] gave out.
    notes: Mutex<(Vec<String>, usize)>,
    /// The hosts.toml read (empty when there was none), for messages.
    file: PathBuf,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        if let Some(dir) = &self.bundles {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

impl Hosts {
    /// The hosts of `registry` (as its hosts.toml says; none: the registry
    /// alone, as before). `config` is the origin's; a mirror gets its own
    /// `credentials_for` its host.
    pub fn new(
        registry: &str,
        repo: &str,
        config: ClientConfig,
        credentials_for: &dyn Fn(&str) -> Result<Option<Credentials>, Error>,
    ) -> Result<Hosts, Error> {
        let file = hosts::load(&config.certs_dir, registry)?;
        let mut me = Hosts {
            list: Vec::new(),
            bundles: None,
            notes: Mutex::new((Vec::new(), 0)),
            file: file.path.clone().unwrap_or_default(),
        };
        for e in &file.mirrors {
            let cfg = ClientConfig {
                insecure: false,
                skip_tls_verify: e.skip_verify.unwrap_or(config.skip_tls_verify),
                certs_dir: config.certs_dir.clone(),
                credentials: credentials_for(&e.authority)?,
                cancel: config.cancel.clone(),
            };
            let client = me.client(e, repo, cfg, 1)?;
            me.push(client, e, true);
        }
        match &file.server {
            Some(e) => {
                let cfg = ClientConfig {
                    skip_tls_verify: e.skip_verify.unwrap_or(config.skip_tls_verify),
                    ..config
                };
                let client = me.client(e, repo, cfg, super::retry::ATTEMPTS)?;
                me.push(client, e, false);
            }
            None => {
                let client = Client::new(registry, repo, config)?;
                let label = format!("origin {}", client.base_url());
                me.list.push(HostClient {
                    client,
                    pull: true,
                    resolve: true,
                    label,
                    mirror: false,
                    down: AtomicBool::new(false),
                });
            }
        }
        Ok(me)
    }

    fn push(&mut self, client: Client, e: &Endpoint, mirror: bool) {
        self.list.push(HostClient {
            client,
            pull: e.pull,
            resolve: e.resolve,
            label: format!("{} {}", if mirror { "mirror" } else { "origin" }, e.url()),
            mirror,
            down: AtomicBool::new(false),
        });
    }

    fn client(
        &mut self,
        e: &Endpoint,
        repo: &str,
        cfg: ClientConfig,
        attempts: u32,
    ) -> Result<Client, Error> {
        let mut tls = certs::load(&cfg.certs_dir, &e.authority)?;
        if !e.ca.is_empty() {
            tls.ca_file = Some(self.ca_bundle(&e.ca)?);
        }
        if let Some(c) = &e.client {
            tls.cert_file = Some(c.cert.clone());
            tls.key_file = Some(c.key.clone().unwrap_or_else(|| c.cert.clone()));
        }
        let route = Route {
            scheme: Some(e.scheme),
            prefix: e.prefix.clone(),
            headers: e.headers.clone(),
            attempts,
        };
        Ok(Client::new(&e.authority, repo, cfg)?
            .with_tls(tls)
            .with_route(route))
    }

    /// One CA file as it is; several concatenated into a private file
    /// (libcurl takes one bundle).
    fn ca_bundle(&mut self, files: &[PathBuf]) -> Result<PathBuf, Error> {
        let read = |p: &Path| -> Result<Vec<u8>, Error> {
            let mut data = Vec::new();
            fs::File::open(p)
                .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut data))
                .map_err(|e| {
                    Error::Invalid(format!(
                        "{}: ca {}: {e} (fix the path or remove it)",
                        self.file.display(),
                        p.display()
                    ))
                })?;
            if data.len() as u64 > MAX_CA_FILE {
                return Err(Error::Invalid(format!(
                    "{}: ca {} is larger than {MAX_CA_FILE} bytes",
                    self.file.display(),
                    p.display()
                )));
            }
            Ok(data)
        };
        if let [one] = files {
            read(one)?;
            return Ok(one.clone());
        }
        let mut bundle = Vec::new();
        for f in files {
            bundle.extend(read(f)?);
            bundle.push(b'\n');
        }
        let store = |e: std::io::Error| Error::Store(format!("cannot write a CA bundle: {e}"));
        if self.bundles.is_none() {
            let dir = crate::fsutil::make_temp_dir(&std::env::temp_dir(), "isula-registry-ca-")
                .map_err(store)?;
            self.bundles = Some(dir);
        }
        let dir = self.bundles.as_ref().expect("set above");
        let path = dir.join(format!("{}.crt", self.list.len()));
        fs::write(&path, bundle).map_err(store)?;
        Ok(path)
    }

    /// The registry's own host (the last of the list).
    pub fn origin(&self) -> &Client {
        &self.list.last().expect("the origin is always there").client
    }

    /// Whether hosts.toml added any mirror.
    pub fn has_mirrors(&self) -> bool {
        self.list.len() > 1
    }

    /// What happened at the hosts that failed and were passed over.
    pub fn notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// The notes not given out by an earlier call (for progress, as they
    /// happen).
    pub fn new_notes(&self) -> Vec<String> {
        let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        let (all, told) = &mut *notes;
        let new = all[*told..].to_vec();
        *told = all.len();
        new
    }

    fn note(&self, client: &Client, e: &Error) {
        let Some(h) = self.list.iter().find(|h| std::ptr::eq(&h.client, client)) else {
            return;
        };
        if h.mirror && !client.pinged() {
            h.down.store(true, Ordering::Relaxed);
        }
        let text = format!("{} failed: {e}, trying the next", h.label);
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .push(text);
    }

    fn candidates(&self, resolve: bool) -> Result<Vec<&Client>, Error> {
        let found: Vec<&Client> = self
            .list
            .iter()
            .filter(|h| if resolve { h.resolve } else { h.pull })
            .filter(|h| !h.down.load(Ordering::Relaxed))
            .map(|h| &h.client)
            .collect();
        if found.is_empty() {
            let cap = if resolve { "resolve" } else { "pull" };
            return Err(Error::Invalid(format!(
                "{}: no host may {cap} (add \"{cap}\" to a host's capabilities)",
                self.file.display()
            )));
        }
        Ok(found)
    }

    /// Tries `f` on each candidate in order until one succeeds.
    fn each<T>(&self, resolve: bool, f: impl Fn(&Client) -> Result<T, Error>) -> Result<T, Error> {
        let hosts = self.candidates(resolve)?;
        for (i, client) in hosts.iter().enumerate() {
            match f(client) {
                Ok(v) => return Ok(v),
                Err(e) if i + 1 < hosts.len() && another_host_may_help(&e) => self.note(client, &e),
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last host returns")
    }

    /// [`fetch::resolve_manifest`] on the hosts that may: a tag on those
    /// with `resolve`, a digest on those with `pull`.
    pub fn resolve_manifest(
        &self,
        reference: &str,
        platform: &Platform,
    ) -> Result<Resolved, Error> {
        let by_tag = !reference.contains(':');
        self.each(by_tag, |c| fetch::resolve_manifest(c, reference, platform))
    }

    /// [`fetch::fetch_config`] from the hosts with `pull`.
    pub fn fetch_config(&self, digest: &str, size: Option<u64>) -> Result<Vec<u8>, Error> {
        self.each(false, |c| fetch::fetch_config(c, digest, size))
    }

    /// [`fetch::fetch_layer_over`] the hosts with `pull`.
    pub fn fetch_layer(
        &self,
        blob: &Blob<'_>,
        events: &mut dyn FnMut(FetchEvent),
    ) -> Result<LayerDigests, Error> {
        let hosts = self.candidates(false)?;
        fetch::fetch_layer_over(&hosts, &mut |c, e| self.note(c, e), blob, events)
    }
}
