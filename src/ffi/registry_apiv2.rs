//! `registry_apiv2.h`: the step functions of iSulad's registry module
//! (`fetch_manifest`, `fetch_config`, `fetch_layer`, `login_to_registry`),
//! working on a caller-owned `pull_descriptor`, on the Rust client. Also the
//! descriptor helpers that `http_request.h`'s functions share.
//!
//! State between calls lives in the descriptor itself, as in iSulad, so
//! `free_pull_desc` frees all of it and nothing is kept on the Rust side:
//! - `protocol`: "https" or "http" once `/v2/` was pinged (no ping when set);
//! - `challenges[0]`: how the registry authenticates: `schema` "Basic"
//!   (realm "Basic", as iSulad stored it) or "Bearer" with `realm`,
//!   `service` and the cached token (`cached_token`, `expires_time` in
//!   seconds since the epoch, renewed a little before it expires or on a
//!   401). The other challenges are cleared; on input the first usable
//!   Bearer challenge wins over a Basic one.
//!
//! Reads and writes of those fields are serialised by one process-wide
//! lock, so threads may call `fetch_config`/`fetch_layer` on one
//! descriptor at once (each `fetch_layer` writes only its own layer). Other
//! fields are only read, except what a function documents it sets.
//!
//! TLS material: `ca_file`/`cert_file`/`key_file` of the descriptor when
//! any is set, else the registry host's certs.d directory (`registry_init`).
//! Errors: -1 with the message where `registry_pull`'s go
//! (`isula_registry_last_error()`, and the daemon's with `isulad`).

use std::ffi::{c_char, c_int};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::cstr::{free, free_sensitive, opt_str, strdup};
use super::progress::{MapHandle, progress_status_map};
use super::registry::operation;
use super::registry_type::{challenge, free_layer_blob, layer_blob, pull_descriptor};
use crate::progress::map::{MapTarget, clamp};

use crate::api;
use crate::auths::Secret;
use crate::digest::LayerFile;
use crate::distribution::certs::{self, TlsFiles};
use crate::distribution::client::{Auth, Cancel, Client, ClientConfig, Credentials};
use crate::distribution::fetch::{self, FetchEvent, FetchedManifest};
use crate::distribution::manifest::{self, Manifest};
use crate::error::Error;

/// Serialises access to the session fields (`protocol`, `challenges`) of
/// every descriptor.
static SESSION_LOCK: Mutex<()> = Mutex::new(());

/// The longest token lifetime taken from a descriptor.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

fn out_of_memory() -> Error {
    Error::Store("out of memory".to_string())
}

/// A copy of a descriptor's string field (NULL or not UTF-8: `None`).
///
/// # Safety
/// `p` is NULL or a C string.
unsafe fn text(p: *const c_char) -> Option<String> {
    // SAFETY: per the contract.
    unsafe { opt_str(p) }.map(str::to_string)
}

/// Replaces the malloc'd string in `*slot` with a copy of `value` (or NULL).
///
/// # Safety
/// `slot` is writable and holds NULL or a malloc'd string.
unsafe fn set_text(slot: *mut *mut c_char, value: Option<&str>) -> Result<(), Error> {
    let new = match value {
        Some(v) => {
            let p = strdup(v);
            if p.is_null() {
                return Err(out_of_memory());
            }
            p
        }
        None => std::ptr::null_mut(),
    };
    // SAFETY: per the contract.
    unsafe {
        free(*slot);
        *slot = new;
    }
    Ok(())
}

/// A malloc'd NUL-terminated copy of `bytes`, cut at the first NUL as C
/// would read it (NULL on OOM).
pub(crate) fn bytes_dup(bytes: &[u8]) -> *mut c_char {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: malloc of len + 1 bytes, then exactly len bytes copied and a NUL written.
    unsafe {
        let p = libc::malloc(len + 1) as *mut u8;
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, len);
        *p.add(len) = 0;
        p as *mut c_char
    }
}

/// What the functions read from a descriptor (fields are read through the
/// raw pointer, never through a reference to the whole struct, since other
/// threads may update the session fields meanwhile).
pub(crate) struct DescView {
    pub host: Option<String>,
    pub name: Option<String>,
    pub tag: Option<String>,
    credentials: Option<Credentials>,
    pub skip_tls_verify: bool,
    pub insecure: bool,
    pub blobpath: Option<PathBuf>,
    /// The descriptor's own TLS files, when it names any.
    tls: Option<TlsFiles>,
    scope: Option<String>,
    pub store: *mut progress_status_map,
}

impl DescView {
    /// # Safety
    /// `desc` is a valid descriptor whose strings are NULL or C strings.
    pub(crate) unsafe fn read(desc: *const pull_descriptor) -> DescView {
        // SAFETY (whole block): fields of a valid descriptor, read by value.
        unsafe {
            let path = |p: *mut c_char| text(p).map(PathBuf::from);
            let (ca, cert, key) = (
                path((*desc).ca_file),
                path((*desc).cert_file),
                path((*desc).key_file),
            );
            let tls = (ca.is_some() || cert.is_some() || key.is_some()).then_some(TlsFiles {
                ca_file: ca,
                cert_file: cert,
                key_file: key,
            });
            let credentials = match (text((*desc).username), text((*desc).password)) {
                (Some(username), Some(password)) => Some(Credentials {
                    username,
                    password: Secret::new(password),
                }),
                _ => None,
            };
            DescView {
                host: text((*desc).host),
                name: text((*desc).name),
                tag: text((*desc).tag),
                credentials,
                skip_tls_verify: (*desc).skip_tls_verify,
                insecure: (*desc).insecure_registry,
                blobpath: path((*desc).blobpath),
                tls,
                scope: text((*desc).scope),
                store: (*desc).progress_status_store,
            }
        }
    }

    fn require<'a>(&self, field: &'a Option<String>, what: &str) -> Result<&'a str, Error> {
        field
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("invalid pull descriptor: no {what}")))
    }

    fn blobpath(&self) -> Result<&Path, Error> {
        self.blobpath
            .as_deref()
            .ok_or_else(|| invalid("invalid pull descriptor: no blobpath"))
    }

    /// The scope of token requests: the descriptor's, else pulls of `name`.
    pub(crate) fn scope(&self) -> Option<String> {
        self.scope.clone().or_else(|| {
            self.name
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| format!("repository:{n}:pull"))
        })
    }

    /// TLS files for a request to `url`: the descriptor's for its own host
    /// when it names any, else certs.d of the URL's host.
    pub(crate) fn tls_for_url(&self, url: &str) -> Result<TlsFiles, Error> {
        let Some(rest) = url.strip_prefix("https://") else {
            return Ok(TlsFiles::default());
        };
        let url_host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some(tls) = &self.tls
            && self.host.as_deref() == Some(url_host)
        {
            return Ok(tls.clone());
        }
        certs::load(&api::certs_dir(), url_host)
    }

    /// A client of the descriptor's registry and repository, resuming the
    /// descriptor's session. `host` defaults to `fallback_host`.
    ///
    /// # Safety
    /// `desc` is a valid descriptor (see [`load_session`]).
    pub(crate) unsafe fn client(
        &self,
        desc: *const pull_descriptor,
        fallback_host: Option<&str>,
    ) -> Result<Client, Error> {
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
                certs_dir: api::certs_dir(),
                credentials: self.credentials.clone(),
                cancel: Cancel::new(),
            },
        )?;
        if let Some(tls) = &self.tls {
            client = client.with_tls(tls.clone());
        }
        // SAFETY: per the contract.
        let (scheme, auth) = unsafe { load_session(desc) };
        client.resume_session(scheme, auth);
        Ok(client)
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The protocol and auth kept in a descriptor.
///
/// # Safety
/// `desc` is valid; its `protocol` and challenge strings are NULL or C strings.
unsafe fn load_session(desc: *const pull_descriptor) -> (Option<&'static str>, Auth) {
    let _held = SESSION_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    // SAFETY (whole block): fields of a valid descriptor, read by value.
    unsafe {
        let scheme = match opt_str((*desc).protocol) {
            Some("https") => Some("https"),
            Some("http") => Some("http"),
            _ => None,
        };
        let mut basic = false;
        let challenges = std::ptr::addr_of!((*desc).challenges) as *const challenge;
        for i in 0..super::registry_type::CHALLENGE_MAX {
            let c = challenges.add(i);
            let (Some(schema), Some(realm)) = (opt_str((*c).schema), opt_str((*c).realm)) else {
                continue;
            };
            if schema.eq_ignore_ascii_case("bearer") {
                let now = now_unix();
                let token = match opt_str((*c).cached_token) {
                    Some(t) if !t.is_empty() && (*c).expires_time > now => {
                        let left = Duration::from_secs(((*c).expires_time - now) as u64)
                            .min(MAX_TOKEN_LIFETIME);
                        Some((Secret::new(t.to_string()), Instant::now() + left))
                    }
                    _ => None,
                };
                let auth = Auth::Bearer {
                    realm: realm.to_string(),
                    service: text((*c).service),
                    token,
                };
                return (scheme, auth);
            }
            basic |= schema.eq_ignore_ascii_case("basic");
        }
        (scheme, if basic { Auth::Basic } else { Auth::Anonymous })
    }
}

/// Stores what `client` learned in the descriptor (see the module docs).
///
/// # Safety
/// `desc` is valid and writable; its `protocol` and challenge strings are
/// NULL or malloc'd.
pub(crate) unsafe fn save_session(desc: *mut pull_descriptor, client: &Client) {
    let (scheme, auth) = client.session();
    let _held = SESSION_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    // SAFETY (whole block): fields of a valid, writable descriptor; every
    // string written is malloc'd (set_text), every one replaced is freed.
    unsafe {
        if let Some(scheme) = scheme
            && opt_str((*desc).protocol) != Some(scheme)
        {
            // out of memory: the next call pings again
            let _ = set_text(std::ptr::addr_of_mut!((*desc).protocol), Some(scheme));
        }
        let challenges = std::ptr::addr_of_mut!((*desc).challenges) as *mut challenge;
        for i in 0..super::registry_type::CHALLENGE_MAX {
            clear_challenge(challenges.add(i));
        }
        let c = challenges;
        let stored = match &auth {
            Auth::Anonymous => Ok(()),
            Auth::Basic => set_text(std::ptr::addr_of_mut!((*c).schema), Some("Basic"))
                .and_then(|()| set_text(std::ptr::addr_of_mut!((*c).realm), Some("Basic"))),
            Auth::Bearer {
                realm,
                service,
                token,
            } => {
                let mut r = set_text(std::ptr::addr_of_mut!((*c).schema), Some("Bearer"))
                    .and_then(|()| set_text(std::ptr::addr_of_mut!((*c).realm), Some(realm)))
                    .and_then(|()| {
                        set_text(std::ptr::addr_of_mut!((*c).service), service.as_deref())
                    });
                if let (Ok(()), Some((token, expiry))) = (&r, token) {
                    let left = expiry.saturating_duration_since(Instant::now()).as_secs();
                    let p = strdup(token);
                    if p.is_null() {
                        r = Err(out_of_memory());
                    } else {
                        (*c).cached_token = p;
                        (*c).expires_time = now_unix()
                            .saturating_add(i64::try_from(left).unwrap_or(i64::MAX))
                            as libc::time_t;
                    }
                }
                r
            }
        };
        if stored.is_err() {
            // half a challenge would be misread: none means "ask again"
            clear_challenge(c);
        }
    }
}

/// Frees a challenge's strings (the token zeroed first).
///
/// # Safety
/// `c` is valid and writable with NULL or malloc'd strings.
unsafe fn clear_challenge(c: *mut challenge) {
    // SAFETY: per the contract.
    unsafe {
        free((*c).schema);
        free((*c).realm);
        free((*c).service);
        free_sensitive((*c).cached_token);
        (*c).schema = std::ptr::null_mut();
        (*c).realm = std::ptr::null_mut();
        (*c).service = std::ptr::null_mut();
        (*c).cached_token = std::ptr::null_mut();
        (*c).expires_time = 0;
    }
}

/// Records `{current, total}` for `digest` in the descriptor's progress map
/// (the library's map; with `isulad`, the daemon's through its own update).
pub(crate) fn report_progress(
    store: *mut progress_status_map,
    digest: &str,
    current: u64,
    total: u64,
) {
    if let Some(map) = MapHandle::new(store) {
        map.update(digest, clamp(current), clamp(total));
    }
}

/// The manifest of `name:tag`, a list or index resolved to this host's
/// platform (`isula_registry_set_platform`), the child verified by digest.
fn resolve(
    client: &Client,
    view: &DescView,
    tag: &str,
) -> Result<(FetchedManifest, Manifest), Error> {
    let r = fetch::resolve_manifest(client, tag, &api::platform())?;
    if r.from_list {
        // iSulad's map had an entry for the platform manifest too
        let size = r.fetched.bytes.len() as u64;
        report_progress(view.store, &r.fetched.digest, size, size);
    }
    Ok((r.fetched, r.manifest))
}

/// One layer as the descriptor gets it.
struct LayerSpec {
    empty: bool,
    media_type: Option<String>,
    size: u64,
    digest: Option<String>,
}

/// The config and layers of a manifest (iSulad's `parse_manifest`):
/// schema1 layers bottom first, throwaway ones only marked `empty_layer`,
/// and no config (iSulad synthesised it after the pull).
fn blobs_of(m: &Manifest) -> (Option<(String, String, u64)>, Vec<LayerSpec>) {
    match m {
        Manifest::Image(img) => (
            Some((
                img.config.media_type.clone(),
                img.config.digest.clone(),
                img.config.size,
            )),
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

/// A calloc'd `layer_blob` array for `specs` (NULL for none).
fn layer_array(specs: &[LayerSpec]) -> Result<*mut layer_blob, Error> {
    if specs.is_empty() {
        return Ok(std::ptr::null_mut());
    }
    // SAFETY: calloc of specs.len() zeroed layer_blobs (all-zero is a valid
    // empty layer: false flags, NULL strings).
    let layers =
        unsafe { libc::calloc(specs.len(), std::mem::size_of::<layer_blob>()) } as *mut layer_blob;
    if layers.is_null() {
        return Err(out_of_memory());
    }
    for (i, spec) in specs.iter().enumerate() {
        // SAFETY: i < specs.len(), inside the fresh array.
        let l = unsafe { layers.add(i) };
        // SAFETY: the fields of a zeroed layer are NULL, so set_text frees nothing.
        let filled = unsafe {
            (*l).empty_layer = spec.empty;
            (*l).size = usize::try_from(spec.size).unwrap_or(usize::MAX);
            set_text(
                std::ptr::addr_of_mut!((*l).media_type),
                spec.media_type.as_deref(),
            )
            .and_then(|()| set_text(std::ptr::addr_of_mut!((*l).digest), spec.digest.as_deref()))
        };
        if let Err(e) = filled {
            // SAFETY: the array and its strings were allocated above.
            unsafe { free_layers(layers, i + 1) };
            return Err(e);
        }
    }
    Ok(layers)
}

/// Frees a layer array and its strings.
///
/// # Safety
/// `layers` is NULL or a malloc'd array of `len` layers with NULL or malloc'd strings.
unsafe fn free_layers(layers: *mut layer_blob, len: usize) {
    if layers.is_null() {
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        for i in 0..len {
            free_layer_blob(layers.add(i));
        }
        free(layers);
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    fs::write(path, bytes)
        .map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))
}

fn path_text(path: &Path) -> Result<&str, Error> {
    path.to_str()
        .ok_or_else(|| invalid(format!("{} is not valid UTF-8", path.display())))
}

/// # Safety
/// `desc` is a valid, writable descriptor as `fetch_manifest` documents.
unsafe fn do_fetch_manifest(desc: *mut pull_descriptor) -> Result<(), Error> {
    // SAFETY: per the contract.
    let view = unsafe { DescView::read(desc) };
    view.require(&view.host, "host")?;
    view.require(&view.name, "name")?;
    let tag = view.require(&view.tag, "tag")?;
    let file = view.blobpath()?.join("manifests");
    // SAFETY: per the contract.
    let client = unsafe { view.client(desc, None) }?;
    let resolved = resolve(&client, &view, tag);
    // SAFETY: per the contract.
    unsafe { save_session(desc, &client) };
    let (fetched, parsed) = resolved?;
    let (config, specs) = blobs_of(&parsed);
    let file_text = path_text(&file)?;
    write_file(&file, &fetched.bytes)?;
    let layers = layer_array(&specs)?;
    // SAFETY (whole block): the descriptor's fields, NULL or malloc'd per
    // the contract, are replaced by fresh malloc'd values.
    unsafe {
        free_layers((*desc).layers, (*desc).layers_len);
        (*desc).layers = layers;
        (*desc).layers_len = specs.len();
        let m = std::ptr::addr_of_mut!((*desc).manifest);
        set_text(
            std::ptr::addr_of_mut!((*m).media_type),
            Some(&fetched.media_type),
        )?;
        set_text(std::ptr::addr_of_mut!((*m).digest), Some(&fetched.digest))?;
        set_text(std::ptr::addr_of_mut!((*m).file), Some(file_text))?;
        (*m).size = fetched.bytes.len();
        let c = std::ptr::addr_of_mut!((*desc).config);
        let (media_type, digest, size) = match &config {
            Some((m, d, s)) => (Some(m.as_str()), Some(d.as_str()), *s),
            None => (None, None, 0),
        };
        set_text(std::ptr::addr_of_mut!((*c).media_type), media_type)?;
        set_text(std::ptr::addr_of_mut!((*c).digest), digest)?;
        // the config file of an earlier manifest does not belong to this one
        set_text(std::ptr::addr_of_mut!((*c).file), None)?;
        (*c).size = usize::try_from(size).unwrap_or(usize::MAX);
    }
    Ok(())
}

/// Fetches the manifest of `desc->name` at `desc->tag` (a tag or a
/// `sha256:` digest) from `desc->host`, resolving a list or index to this
/// host's platform (the child verified against its digest), and writes it
/// to `<desc->blobpath>/manifests`. Sets `desc->manifest` (`media_type`,
/// `digest` = sha256 of the written manifest, `size`, `file`), `desc->config`
/// (`media_type`, `digest`, `size`; none for schema1; `file` cleared) and
/// `desc->layers`/`layers_len` (calloc'd; schema1 bottom first, throwaway
/// layers only marked `empty_layer`), freeing earlier values, and the
/// session (`protocol`, `challenges`). 0, or -1 with the message in
/// `isula_registry_last_error()` (e.g. "manifest unknown: test/x:nope").
///
/// # Safety
/// `desc` is NULL or a valid descriptor whose strings are NULL or malloc'd
/// C strings, `layers` holding `layers_len` entries, and whose
/// `progress_status_store` is NULL or a valid map.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fetch_manifest(desc: *mut pull_descriptor) -> c_int {
    operation("fetch_manifest", || {
        if desc.is_null() {
            return Err(invalid("fetch_manifest needs a pull descriptor"));
        }
        // SAFETY: per the contract.
        unsafe { do_fetch_manifest(desc) }
    })
}

/// # Safety
/// As `fetch_config`.
unsafe fn do_fetch_config(desc: *mut pull_descriptor) -> Result<(), Error> {
    // SAFETY: per the contract.
    let view = unsafe { DescView::read(desc) };
    view.require(&view.host, "host")?;
    view.require(&view.name, "name")?;
    // SAFETY: a field of a valid descriptor.
    let digest = unsafe { text((*desc).config.digest) }.ok_or_else(|| {
        invalid("the pull descriptor has no config digest (fetch the manifest first; schema1 images have no config blob)")
    })?;
    let file = view.blobpath()?.join("config");
    // SAFETY: per the contract.
    let client = unsafe { view.client(desc, None) }?;
    // SAFETY: a field of a valid descriptor.
    let declared = unsafe { (*desc).config.size };
    let fetched = fetch::fetch_config(&client, &digest, (declared > 0).then_some(declared as u64));
    // SAFETY: per the contract.
    unsafe { save_session(desc, &client) };
    let bytes = fetched?;
    write_file(&file, &bytes)?;
    let size = bytes.len() as u64;
    report_progress(view.store, &digest, size, size);
    let file = path_text(&file)?;
    // SAFETY: the field is NULL or malloc'd per the contract.
    unsafe { set_text(std::ptr::addr_of_mut!((*desc).config.file), Some(file)) }
}

/// Downloads the config blob `desc->config.digest` to
/// `<desc->blobpath>/config`, verified against the digest, and sets
/// `desc->config.file` (freeing an earlier value). 0 or -1.
///
/// # Safety
/// As `fetch_manifest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fetch_config(desc: *mut pull_descriptor) -> c_int {
    operation("fetch_config", || {
        if desc.is_null() {
            return Err(invalid("fetch_config needs a pull descriptor"));
        }
        // SAFETY: per the contract.
        unsafe { do_fetch_config(desc) }
    })
}

fn is_schema1(media_type: Option<&str>) -> bool {
    matches!(
        media_type,
        Some(manifest::DOCKER_SCHEMA1 | manifest::DOCKER_SCHEMA1_SIGNED | "application/json")
    )
}

/// # Safety
/// As `fetch_layer`.
unsafe fn do_fetch_layer(desc: *mut pull_descriptor, index: usize) -> Result<(), Error> {
    // SAFETY: per the contract.
    let view = unsafe { DescView::read(desc) };
    view.require(&view.host, "host")?;
    view.require(&view.name, "name")?;
    // SAFETY (whole block): fields of a valid descriptor and of its layer
    // `index` (checked against layers_len), read by value.
    let (layer, digest, media_type, size, schema1) = unsafe {
        let len = (*desc).layers_len;
        if (*desc).layers.is_null() || index >= len {
            return Err(invalid(format!(
                "invalid layer index {index}: the pull descriptor has {} layers",
                if (*desc).layers.is_null() { 0 } else { len }
            )));
        }
        let layer = (*desc).layers.add(index);
        if (*layer).empty_layer {
            return Err(invalid(format!(
                "layer {index} is an empty (throwaway) layer: there is nothing to fetch"
            )));
        }
        let digest =
            text((*layer).digest).ok_or_else(|| invalid(format!("layer {index} has no digest")))?;
        (
            layer,
            digest,
            text((*layer).media_type),
            (*layer).size as u64,
            is_schema1(opt_str((*desc).manifest.media_type)),
        )
    };
    let file = view.blobpath()?.join(index.to_string());
    // SAFETY: per the contract.
    let client = unsafe { view.client(desc, None) }?;
    // schema1 says nothing true about compression: sniffed while streaming
    let media_type = if schema1 {
        ""
    } else {
        media_type.as_deref().unwrap_or("")
    };
    let declared = (!schema1 && size > 0).then_some(size);
    // the C caller gets the blob, as iSulad's fetch_layer wrote it
    let fetched = fetch::fetch_sized_layer(
        &client,
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
            report_progress(view.store, &digest, now, size);
        },
    );
    // SAFETY: per the contract.
    unsafe { save_session(desc, &client) };
    let digests = fetched?;
    let total = if size > 0 { size } else { digests.blob.size };
    report_progress(view.store, &digest, digests.blob.size, total);
    // SAFETY: the layer's diff_id is NULL or malloc'd per the contract;
    // only this call writes layer `index`.
    unsafe {
        let slot = std::ptr::addr_of_mut!((*layer).diff_id);
        match opt_str(*slot) {
            None if (*slot).is_null() => set_text(slot, Some(&digests.diff.digest))?,
            Some(expected) if expected != digests.diff.digest => {
                return Err(Error::DiffIdMismatch {
                    layer: digest,
                    expected: expected.to_string(),
                    actual: digests.diff.digest,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Downloads layer `index` of the descriptor (`layers[index].digest`) to
/// `<desc->blobpath>/<index>`: one pass verifying the blob's sha256, with
/// retries and resume. When `layers[index].diff_id` is NULL it is set to
/// the sha256 of the uncompressed content; when set, it must match. With a
/// `progress_status_store`, the entry of the digest follows the download
/// (absolute bytes, total = the layer's size). Sets nothing else. 0 or -1.
///
/// # Safety
/// As `fetch_manifest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fetch_layer(desc: *mut pull_descriptor, index: usize) -> c_int {
    operation("fetch_layer", || {
        if desc.is_null() {
            return Err(invalid("fetch_layer needs a pull descriptor"));
        }
        // SAFETY: per the contract.
        unsafe { do_fetch_layer(desc, index) }
    })
}

/// # Safety
/// As `login_to_registry`.
unsafe fn do_login(desc: *mut pull_descriptor) -> Result<(), Error> {
    // SAFETY: per the contract.
    let view = unsafe { DescView::read(desc) };
    let host = view.require(&view.host, "host")?;
    let (user, password) = match &view.credentials {
        Some(c) if !c.username.is_empty() && !c.password.is_empty() => {
            (c.username.clone(), c.password.clone())
        }
        _ => return Err(invalid("login needs a username and a password")),
    };
    // SAFETY: per the contract.
    let client = unsafe { view.client(desc, None) }?;
    let checked = client.check_login();
    // SAFETY: per the contract.
    unsafe { save_session(desc, &client) };
    checked?;
    api::auth_store().save(host, &user, &password)?;
    Ok(())
}

/// Checks `desc->username`/`desc->password` at `desc->host` (`/v2/`, with
/// the auth it asks for) and on success stores them in auths.json under
/// `desc->host` as given (`registry_login` transformed it first). 0 or -1
/// ("unauthorized: check credentials for HOST ..." for refused ones).
///
/// # Safety
/// As `fetch_manifest`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn login_to_registry(desc: *mut pull_descriptor) -> c_int {
    operation("login_to_registry", || {
        if desc.is_null() {
            return Err(invalid("login_to_registry needs a pull descriptor"));
        }
        // SAFETY: per the contract.
        unsafe { do_login(desc) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::registry_type::free_pull_desc;

    fn new_desc() -> *mut pull_descriptor {
        // SAFETY: an all-zero descriptor is an empty one (NULL strings, false flags).
        let d = unsafe { libc::calloc(1, std::mem::size_of::<pull_descriptor>()) }
            as *mut pull_descriptor;
        assert!(!d.is_null());
        d
    }

    fn client() -> Client {
        Client::new(
            "registry.invalid:5000",
            "test/x",
            ClientConfig {
                insecure: false,
                skip_tls_verify: false,
                certs_dir: PathBuf::from("/nonexistent-certs.d"),
                credentials: None,
                cancel: Cancel::new(),
            },
        )
        .unwrap()
    }

    /// # Safety
    /// `p` is NULL or a C string.
    unsafe fn s(p: *const c_char) -> Option<&'static str> {
        // SAFETY: per the contract (the test keeps the descriptor alive).
        unsafe { opt_str(p) }
    }

    #[test]
    fn bearer_session_round_trip() {
        let d = new_desc();
        let c = client();
        c.resume_session(
            Some("https"),
            Auth::Bearer {
                realm: "https://auth.invalid/token".into(),
                service: Some("registry".into()),
                token: Some((
                    Secret::new("tok".to_string()),
                    Instant::now() + Duration::from_secs(100),
                )),
            },
        );
        // SAFETY: a valid descriptor owned by this test.
        unsafe {
            save_session(d, &c);
            assert_eq!(s((*d).protocol), Some("https"));
            let ch = &(*d).challenges[0];
            assert_eq!(s(ch.schema), Some("Bearer"));
            assert_eq!(s(ch.realm), Some("https://auth.invalid/token"));
            assert_eq!(s(ch.service), Some("registry"));
            assert_eq!(s(ch.cached_token), Some("tok"));
            let left = ch.expires_time - now_unix();
            assert!((98..=101).contains(&left), "{left}");
            match load_session(d) {
                (
                    Some("https"),
                    Auth::Bearer {
                        realm,
                        service,
                        token: Some((token, expiry)),
                    },
                ) => {
                    assert_eq!(realm, "https://auth.invalid/token");
                    assert_eq!(service.as_deref(), Some("registry"));
                    assert_eq!(&**token, "tok");
                    let left = expiry.saturating_duration_since(Instant::now()).as_secs();
                    assert!((97..=101).contains(&left), "{left}");
                }
                other => panic!("unexpected session {other:?}"),
            }
            // an expired token is not reused, the challenge is
            (*d).challenges[0].expires_time = (now_unix() - 1) as libc::time_t;
            assert!(matches!(
                load_session(d),
                (Some("https"), Auth::Bearer { token: None, .. })
            ));
            free_pull_desc(d);
        }
    }

    #[test]
    fn basic_and_anonymous_sessions() {
        let d = new_desc();
        let c = client();
        c.resume_session(Some("http"), Auth::Basic);
        // SAFETY: a valid descriptor owned by this test.
        unsafe {
            // a stale second challenge is dropped
            (*d).challenges[1].schema = strdup("Bearer");
            (*d).challenges[1].realm = strdup("https://old.invalid/token");
            save_session(d, &c);
            assert_eq!(s((*d).protocol), Some("http"));
            assert_eq!(s((*d).challenges[0].schema), Some("Basic"));
            assert_eq!(s((*d).challenges[0].realm), Some("Basic"));
            assert!((*d).challenges[1].schema.is_null());
            assert!(matches!(load_session(d), (Some("http"), Auth::Basic)));

            c.resume_session(None, Auth::Anonymous);
            save_session(d, &c);
            // the protocol learned earlier stays; no challenge is left
            assert_eq!(s((*d).protocol), Some("http"));
            assert!((*d).challenges[0].schema.is_null());
            assert!(matches!(load_session(d), (Some("http"), Auth::Anonymous)));
            free_pull_desc(d);
        }
    }

    #[test]
    fn unknown_protocol_and_schemes_are_ignored() {
        let d = new_desc();
        // SAFETY: a valid descriptor owned by this test.
        unsafe {
            (*d).protocol = strdup("ftp");
            (*d).challenges[0].schema = strdup("Digest");
            (*d).challenges[0].realm = strdup("x");
            (*d).challenges[2].schema = strdup("basic");
            (*d).challenges[2].realm = strdup("Basic");
            assert!(matches!(load_session(d), (None, Auth::Basic)));
            free_pull_desc(d);
        }
    }

    #[test]
    fn layer_arrays() {
        let specs = [
            LayerSpec {
                empty: true,
                media_type: None,
                size: 0,
                digest: None,
            },
            LayerSpec {
                empty: false,
                media_type: Some(manifest::DOCKER_LAYER_GZIP.into()),
                size: 7,
                digest: Some("sha256:00".into()),
            },
        ];
        let layers = layer_array(&specs).unwrap();
        // SAFETY: the array just made, of specs.len() layers.
        unsafe {
            assert!((*layers).empty_layer);
            assert!((*layers).digest.is_null());
            let l = &*layers.add(1);
            assert_eq!(s(l.digest), Some("sha256:00"));
            assert_eq!(s(l.media_type), Some(manifest::DOCKER_LAYER_GZIP));
            assert_eq!(l.size, 7);
            free_layers(layers, specs.len());
        }
        assert!(layer_array(&[]).unwrap().is_null());
    }
}
