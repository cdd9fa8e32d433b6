//! The registry module's operations as safe Rust: process settings (what
//! `registry_init` and `isula_registry_set_*` set), pull, login, logout.
//! The C functions in `ffi` are thin wrappers over these.

#![forbid(unsafe_code)]

pub mod descriptor;
pub mod session;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, PoisonError, RwLock};

use crate::auths::{AuthStore, DEFAULT_AUTH_DIR, Secret};
use crate::distribution::certs::DEFAULT_CERTS_DIR;
use crate::distribution::client::{Cancel, Client, ClientConfig, Credentials};
use crate::distribution::reference::{Platform, ReferenceError};
use crate::error::Error;
#[cfg(not(feature = "isulad"))]
use crate::host::embedded::EmbeddedHost;
use crate::progress::event::Observer;
use crate::pull::{self, PullRequest, Pulled};
#[cfg(not(feature = "isulad"))]
use crate::store::oci_layout::OciLayout;

/// The environment variable naming the embedded store's root.
pub const ROOT_ENV: &str = "ISULA_REGISTRY_ROOT";

#[derive(Clone, Debug, Default)]
struct Settings {
    auths_dir: Option<PathBuf>,
    certs_dir: Option<PathBuf>,
    root: Option<PathBuf>,
    platform: Option<Platform>,
}

static SETTINGS: RwLock<Settings> = RwLock::new(Settings {
    auths_dir: None,
    certs_dir: None,
    root: None,
    platform: None,
});

fn settings() -> Settings {
    SETTINGS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn update(f: impl FnOnce(&mut Settings)) {
    f(&mut SETTINGS.write().unwrap_or_else(PoisonError::into_inner));
}

/// `registry_init`: where auths.json/aeskey and certs.d are (`None` keeps
/// the current value; the defaults are iSulad's). Idempotent.
pub fn init(auths_dir: Option<PathBuf>, certs_dir: Option<PathBuf>) {
    update(|s| {
        if auths_dir.is_some() {
            s.auths_dir = auths_dir;
        }
        if certs_dir.is_some() {
            s.certs_dir = certs_dir;
        }
    });
}

/// Sets the embedded store's root directory.
pub fn set_root(dir: PathBuf) {
    update(|s| s.root = Some(dir));
}

/// Sets the platform pulled from lists (default: this host's).
pub fn set_platform(p: Option<Platform>) {
    update(|s| s.platform = p);
}

/// Sets the platform pulled from lists from its text (`os/arch[/variant]`).
pub fn set_platform_text(text: &str) -> Result<(), ReferenceError> {
    set_platform(Some(Platform::parse(text)?));
    Ok(())
}

/// Sets the proxy of every request (`None`: the environment's; `""`: none)
/// and the hosts reached directly; an error says what is wrong with the URL.
pub fn set_proxy(url: Option<&str>, no_proxy: Option<&str>) -> Result<(), String> {
    crate::transport::proxy::set(url, no_proxy)
}

/// Sets the most bytes read of a layer without a declared size (schema1);
/// 0 restores the default (8 GiB).
pub fn set_max_unsized_layer(bytes: u64) {
    crate::distribution::fetch::set_unsized_layer_cap(bytes);
}

pub fn auth_store() -> AuthStore {
    AuthStore::new(
        settings()
            .auths_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUTH_DIR)),
    )
}

pub fn certs_dir() -> PathBuf {
    settings()
        .certs_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CERTS_DIR))
}

pub fn platform() -> Platform {
    settings().platform.unwrap_or_else(Platform::host)
}

/// The embedded store's root: set by `set_root`, else `$ISULA_REGISTRY_ROOT`,
/// else `/var/lib/isula-registry` for root and
/// `$XDG_DATA_HOME/isula-registry` (or `~/.local/share/isula-registry`) for
/// other users.
pub fn store_root() -> PathBuf {
    if let Some(root) = settings().root {
        return root;
    }
    if let Some(root) = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    // the owner of /proc/self is the process's effective user
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
        || std::env::var_os("HOME").is_none();
    if is_root {
        return PathBuf::from("/var/lib/isula-registry");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("isula-registry")
}

/// What to pull (the fields of `registry_pull_options`).
#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    pub image: String,
    pub dest: String,
    pub credentials: Option<(String, String)>,
    pub skip_tls_verify: bool,
    pub insecure: bool,
}

/// Pulls into the embedded store (with the `isulad` feature: into the
/// daemon's storage, the image's host transformed by the daemon's
/// `registry-transformation`).
pub fn pull(
    options: &PullOptions,
    observer: &dyn Observer,
    cancel: Arc<AtomicBool>,
) -> Result<Pulled, Error> {
    let req = PullRequest {
        image: transform_image(&options.image),
        asked: options.image.clone(),
        dest: options.dest.clone(),
        credentials: options
            .credentials
            .clone()
            .map(|(username, password)| Credentials {
                username,
                password: Secret::new(password),
            }),
        insecure: options.insecure,
        skip_tls_verify: options.skip_tls_verify,
        platform: platform(),
        certs_dir: certs_dir(),
        auths: auth_store(),
        cancel,
    };
    #[cfg(feature = "isulad")]
    return pull::pull(&req, &crate::host::isulad::IsuladHost::new()?, observer);
    #[cfg(not(feature = "isulad"))]
    {
        let root = store_root();
        let store = OciLayout::open(&root)
            .map_err(|e| Error::Store(format!("cannot open the store {}: {e}", root.display())))?;
        pull::pull(&req, &EmbeddedHost::new(store), observer)
    }
}

/// The registry-transformation of `host` (docker.io → registry-1.docker.io):
/// the daemon's map with the `isulad` feature, else the built-in one.
fn transform_host(host: &str) -> String {
    #[cfg(feature = "isulad")]
    return crate::host::isulad::transform_host(host);
    #[cfg(not(feature = "isulad"))]
    crate::distribution::reference::transform_host(host).to_string()
}

/// `image` with its host (the text before the first `/`) transformed.
fn transform_image(image: &str) -> String {
    match image.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", transform_host(host)),
        None => image.to_string(),
    }
}

/// Checks `username`/`password` at `host` and stores them (encrypted, in
/// iSulad's auths.json) under the transformed host.
pub fn login(
    host: &str,
    username: &str,
    password: &str,
    skip_tls_verify: bool,
    insecure: bool,
) -> Result<(), Error> {
    if host.is_empty() || username.is_empty() || password.is_empty() {
        return Err(Error::Invalid(
            "login needs a registry host, a username and a password".to_string(),
        ));
    }
    let host = &transform_host(host);
    let client = Client::new(
        host,
        "",
        ClientConfig {
            insecure,
            skip_tls_verify,
            certs_dir: certs_dir(),
            credentials: Some(Credentials {
                username: username.to_string(),
                password: Secret::new(password.to_string()),
            }),
            cancel: Cancel::new(),
        },
    )?;
    client.check_login()?;
    auth_store().save(host, username, password)?;
    Ok(())
}

/// Removes the credentials of `host`, under the name given and under its
/// transformed name (iSulad's `registry_logout` removed only the former).
/// Ok when there
/// were none.
pub fn logout(host: &str) -> Result<(), Error> {
    if host.is_empty() {
        return Err(Error::Invalid("logout needs a registry host".to_string()));
    }
    let store = auth_store();
    store.delete(host)?;
    let transformed = transform_host(host);
    if transformed != host {
        store.delete(&transformed)?;
    }
    Ok(())
}

#[cfg(feature = "image_search")]
pub use crate::distribution::search::{SearchImage, SearchResult};

/// Searches `name` (`REGISTRY/TERM`) for at most `limit` images.
#[cfg(feature = "image_search")]
pub fn search(
    name: &str,
    limit: u32,
    insecure: bool,
    skip_tls_verify: bool,
) -> Result<SearchResult, Error> {
    let certs = certs_dir();
    let opts = crate::distribution::search::SearchOptions {
        insecure,
        skip_tls_verify,
        certs_dir: &certs,
    };
    crate::distribution::search::search(name, limit, &opts)
}
