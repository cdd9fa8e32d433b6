//! What the `isulad` host needs of the daemon it is linked into: iSulad's
//! image and layer storage (`storage_*`), its graph directory, its
//! registry-transformation map and its log. The host never calls C itself:
//! the ffi layer implements [`Daemon`] with the daemon's own functions and
//! [`connect`]s it before any entry point runs. Until then every call
//! fails with [`DaemonError`] naming what was missing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A daemon function that reported failure (or an argument C cannot carry,
/// such as a string with a NUL byte); the text names the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonError(pub &'static str);

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.0)
    }
}

impl std::error::Error for DaemonError {}

pub type Result<T = ()> = std::result::Result<T, DaemonError>;

/// A layer of the daemon's store, copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLayer {
    pub id: String,
    pub parent: Option<String>,
    pub compressed_digest: Option<String>,
    pub uncompressed_digest: Option<String>,
}

/// A point in time as iSulad's `types_timestamp_t` holds it (both parts set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// Levels of [`Daemon::log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// The daemon's functions the host uses, each named for iSulad's own.
pub trait Daemon: Send + Sync {
    /// `storage_layers_get_by_compress_digest`: every stored layer made
    /// from the blob `digest`.
    fn layers_by_compressed_digest(&self, digest: &str) -> Vec<StoredLayer>;
    /// `storage_inc_hold_refs`: pins a layer against deletion.
    fn inc_hold_refs(&self, id: &str) -> Result;
    /// `storage_dec_hold_refs`: unpins a layer.
    fn dec_hold_refs(&self, id: &str) -> Result;
    /// `storage_layer_get`: does the layer exist?
    fn layer_exists(&self, id: &str) -> bool;
    /// `storage_layer_try_repair_lowers(id, parent)`.
    fn layer_try_repair_lowers(&self, id: &str, parent: Option<&str>) -> Result;
    /// `storage_layer_create`: storage unpacks the file at `path` as layer
    /// `id` (read-only, no storage options).
    fn layer_create(
        &self,
        id: &str,
        parent: Option<&str>,
        diff_id: &str,
        digest: &str,
        path: &Path,
    ) -> Result;
    /// `storage_layer_chain_delete`: the layer and its unused parents.
    fn layer_chain_delete(&self, id: &str) -> Result;
    /// `storage_img_get_summary(name)->id`, if there is such an image.
    fn image_summary_id(&self, name: &str) -> Option<String>;
    /// `storage_img_create(id, top_layer, NULL, {created, manifest_digest})`;
    /// `None`: the time is unset.
    fn image_create(
        &self,
        id: &str,
        top_layer: &str,
        created: Option<Timestamp>,
        manifest_digest: &str,
    ) -> Result;
    /// `storage_get_img_top_layer(id)`.
    fn image_top_layer(&self, id: &str) -> Option<String>;
    /// `storage_img_add_name(id, name)`.
    fn image_add_name(&self, id: &str, name: &str) -> Result;
    /// `storage_img_set_big_data(id, key, value)`.
    fn image_set_big_data(&self, id: &str, key: &str, value: &[u8]) -> Result;
    /// `storage_img_set_loaded_time(id, time)`.
    fn image_set_loaded_time(&self, id: &str, time: Timestamp) -> Result;
    /// `storage_img_set_image_size(id)`.
    fn image_set_image_size(&self, id: &str) -> Result;
    /// `storage_img_delete(id, commit)`.
    fn image_delete(&self, id: &str, commit: bool) -> Result;
    /// `get_oci_image_data()->root_dir`: the daemon's graph directory.
    fn image_root_dir(&self) -> Option<PathBuf>;
    /// `get_isulad_daemon_constants()->registry_transformation` as pairs;
    /// `None` when the daemon has no constants or no map.
    fn registry_transformation(&self) -> Option<Vec<(String, String)>>;
    /// A line in the daemon's log.
    fn log(&self, level: LogLevel, message: &str);
}

static DAEMON: OnceLock<&'static dyn Daemon> = OnceLock::new();

/// Makes `daemon` the one the host uses (the first call wins).
pub fn connect(daemon: &'static dyn Daemon) {
    let _ = DAEMON.set(daemon);
}

/// The connected daemon, or one whose every call fails.
pub fn get() -> &'static dyn Daemon {
    DAEMON.get().copied().unwrap_or(&Unconnected)
}

/// Stands in before [`connect`]: storage fails, queries find nothing.
struct Unconnected;

const NOT_CONNECTED: DaemonError = DaemonError("the daemon's storage (not connected)");

impl Daemon for Unconnected {
    fn layers_by_compressed_digest(&self, _: &str) -> Vec<StoredLayer> {
        Vec::new()
    }
    fn inc_hold_refs(&self, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn dec_hold_refs(&self, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn layer_exists(&self, _: &str) -> bool {
        false
    }
    fn layer_try_repair_lowers(&self, _: &str, _: Option<&str>) -> Result {
        Err(NOT_CONNECTED)
    }
    fn layer_create(&self, _: &str, _: Option<&str>, _: &str, _: &str, _: &Path) -> Result {
        Err(NOT_CONNECTED)
    }
    fn layer_chain_delete(&self, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_summary_id(&self, _: &str) -> Option<String> {
        None
    }
    fn image_create(&self, _: &str, _: &str, _: Option<Timestamp>, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_top_layer(&self, _: &str) -> Option<String> {
        None
    }
    fn image_add_name(&self, _: &str, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_set_big_data(&self, _: &str, _: &str, _: &[u8]) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_set_loaded_time(&self, _: &str, _: Timestamp) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_set_image_size(&self, _: &str) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_delete(&self, _: &str, _: bool) -> Result {
        Err(NOT_CONNECTED)
    }
    fn image_root_dir(&self) -> Option<PathBuf> {
        None
    }
    fn registry_transformation(&self) -> Option<Vec<(String, String)>> {
        None
    }
    fn log(&self, _: LogLevel, _: &str) {}
}
