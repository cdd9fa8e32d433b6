//! What the library imports from the iSulad daemon (cargo feature
//! `isulad`), exactly as iSulad's C registry module imports it: the storage
//! API (`storage.h`), the OCI image module's settings, the daemon
//! constants, the thread-local error message, the progress map, and a
//! logging shim. None of these is defined here: the daemon executable
//! (linked with `-rdynamic`) provides them.
//!
//! Above the raw imports sit safe wrappers (the only `unsafe` for the
//! `isulad` host): they copy what C returns into Rust values and free the C
//! memory at once with the daemon's own free functions.
//!
//! The logging shim is the one function the daemon side must add, because
//! lcr's `ERROR`/`WARN`/`INFO`/`DEBUG` are static inline functions around a
//! `va_list` (iSulad's `src/utils/cutils/log.h` via lcr). A few lines of C compiled into isulad:
//!
//! ```c
//! #include <isula_libutils/log.h>
//!
//! /* level: 0 error, 1 warning, 2 info, 3 debug (see isula-registry's README) */
//! void isula_registry_log(int level, const char *msg)
//! {
//!     switch (level) {
//!     case 0: ERROR("%s", msg); break;
//!     case 1: WARN("%s", msg); break;
//!     case 2: INFO("%s", msg); break;
//!     default: DEBUG("%s", msg); break;
//!     }
//! }
//! ```

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::registry_type::{challenge, layer_blob, pull_descriptor};
use super::timestamp::types_timestamp_t;
use crate::host::daemon::{self, Daemon, DaemonError, LogLevel, Result, StoredLayer, Timestamp};
use crate::progress::event::{Event, Observer};

// ---------------------------------------------------------------------------
// Mirrors of the daemon's structs (x86_64 / aarch64 LP64 layouts), as
// declared by iSulad v2.1.6's storage.h, oci_image.h, isulad_config.h and
// libisula's generated JSON headers.

/// libisula `json_map_string_string`.
#[repr(C)]
pub struct json_map_string_string {
    pub keys: *mut *mut c_char,
    pub values: *mut *mut c_char,
    pub len: usize,
}

/// storage.h `struct layer`.
#[repr(C)]
pub struct layer {
    /// Layer id: the chain id hex, no `sha256:` prefix.
    pub id: *mut c_char,
    pub parent: *mut c_char,
    pub mount_point: *mut c_char,
    pub mount_count: c_int,
    pub compressed_digest: *mut c_char,
    pub compress_size: i64,
    pub uncompressed_digest: *mut c_char,
    pub uncompress_size: i64,
    pub writable: bool,
}

/// storage.h `struct layer_list`.
#[repr(C)]
pub struct layer_list {
    pub layers: *mut *mut layer,
    pub layers_len: usize,
}

/// storage.h `storage_layer_create_opts_t`.
#[repr(C)]
pub struct storage_layer_create_opts_t {
    pub parent: *const c_char,
    pub uncompress_digest: *const c_char,
    pub compressed_digest: *const c_char,
    pub layer_data_path: *const c_char,
    pub writable: bool,
    pub storage_opts: *mut json_map_string_string,
}

/// storage.h `struct storage_img_create_options`.
#[repr(C)]
pub struct storage_img_create_options {
    pub create_time: *mut types_timestamp_t,
    pub digest: *mut c_char,
}

/// libisula `imagetool_image_summary`; only `id` is read.
#[repr(C)]
pub struct imagetool_image_summary {
    pub id: *mut c_char,
    pub repo_tags: *mut *mut c_char,
    pub repo_tags_len: usize,
    pub repo_digests: *mut *mut c_char,
    pub repo_digests_len: usize,
    pub top_layer: *mut c_char,
    pub size: u64,
    pub created: *mut c_char,
    pub loaded: *mut c_char,
    pub uid: *mut c_void,
    pub username: *mut c_char,
    pub labels: *mut json_map_string_string,
    pub _residual: *mut c_void,
}

/// oci_image.h `struct oci_image_module_data`.
#[repr(C)]
pub struct oci_image_module_data {
    /// The daemon's graph directory (default `/var/lib/isulad`).
    pub root_dir: *mut c_char,
    pub use_decrypted_key: bool,
    pub insecure_skip_verify_enforce: bool,
    pub registry_mirrors: *mut *mut c_char,
    pub registry_mirrors_len: usize,
    pub insecure_registries: *mut *mut c_char,
    pub insecure_registries_len: usize,
}

/// libisula `isulad_daemon_constants` (daemon_constants.json).
#[repr(C)]
pub struct isulad_daemon_constants {
    pub default_host: *mut c_char,
    pub registry_transformation: *mut json_map_string_string,
    pub _residual: *mut c_void,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<json_map_string_string>() == 24);
    assert!(offset_of!(json_map_string_string, values) == 8);
    assert!(offset_of!(json_map_string_string, len) == 16);

    assert!(size_of::<layer>() == 72);
    assert!(offset_of!(layer, parent) == 8);
    assert!(offset_of!(layer, mount_point) == 16);
    assert!(offset_of!(layer, mount_count) == 24);
    assert!(offset_of!(layer, compressed_digest) == 32);
    assert!(offset_of!(layer, compress_size) == 40);
    assert!(offset_of!(layer, uncompressed_digest) == 48);
    assert!(offset_of!(layer, uncompress_size) == 56);
    assert!(offset_of!(layer, writable) == 64);

    assert!(size_of::<layer_list>() == 16);
    assert!(offset_of!(layer_list, layers_len) == 8);

    assert!(size_of::<storage_layer_create_opts_t>() == 48);
    assert!(offset_of!(storage_layer_create_opts_t, uncompress_digest) == 8);
    assert!(offset_of!(storage_layer_create_opts_t, compressed_digest) == 16);
    assert!(offset_of!(storage_layer_create_opts_t, layer_data_path) == 24);
    assert!(offset_of!(storage_layer_create_opts_t, writable) == 32);
    assert!(offset_of!(storage_layer_create_opts_t, storage_opts) == 40);

    assert!(size_of::<storage_img_create_options>() == 16);
    assert!(offset_of!(storage_img_create_options, digest) == 8);

    assert!(size_of::<imagetool_image_summary>() == 104);
    assert!(offset_of!(imagetool_image_summary, repo_tags) == 8);
    assert!(offset_of!(imagetool_image_summary, repo_tags_len) == 16);
    assert!(offset_of!(imagetool_image_summary, repo_digests) == 24);
    assert!(offset_of!(imagetool_image_summary, repo_digests_len) == 32);
    assert!(offset_of!(imagetool_image_summary, top_layer) == 40);
    assert!(offset_of!(imagetool_image_summary, size) == 48);
    assert!(offset_of!(imagetool_image_summary, created) == 56);
    assert!(offset_of!(imagetool_image_summary, loaded) == 64);
    assert!(offset_of!(imagetool_image_summary, uid) == 72);
    assert!(offset_of!(imagetool_image_summary, username) == 80);
    assert!(offset_of!(imagetool_image_summary, labels) == 88);
    assert!(offset_of!(imagetool_image_summary, _residual) == 96);

    assert!(size_of::<oci_image_module_data>() == 48);
    assert!(offset_of!(oci_image_module_data, use_decrypted_key) == 8);
    assert!(offset_of!(oci_image_module_data, insecure_skip_verify_enforce) == 9);
    assert!(offset_of!(oci_image_module_data, registry_mirrors) == 16);
    assert!(offset_of!(oci_image_module_data, registry_mirrors_len) == 24);
    assert!(offset_of!(oci_image_module_data, insecure_registries) == 32);
    assert!(offset_of!(oci_image_module_data, insecure_registries_len) == 40);

    assert!(size_of::<isulad_daemon_constants>() == 24);
    assert!(offset_of!(isulad_daemon_constants, registry_transformation) == 8);
    assert!(offset_of!(isulad_daemon_constants, _residual) == 16);
};

// ---------------------------------------------------------------------------
// The imports.

unsafe extern "C" {
    fn storage_layers_get_by_compress_digest(digest: *const c_char) -> *mut layer_list;
    fn free_layer_list(ptr: *mut layer_list);
    fn storage_inc_hold_refs(layer_id: *const c_char) -> c_int;
    fn storage_dec_hold_refs(layer_id: *const c_char) -> c_int;
    fn storage_layer_get(layer_id: *const c_char) -> *mut layer;
    fn free_layer(l: *mut layer);
    fn storage_layer_try_repair_lowers(
        layer_id: *const c_char,
        last_layer_id: *const c_char,
    ) -> c_int;
    fn storage_layer_create(
        layer_id: *const c_char,
        opts: *mut storage_layer_create_opts_t,
    ) -> c_int;
    fn storage_layer_chain_delete(layer_id: *const c_char) -> c_int;
    fn storage_img_get_summary(img_id: *const c_char) -> *mut imagetool_image_summary;
    fn free_imagetool_image_summary(ptr: *mut imagetool_image_summary);
    fn storage_img_create(
        id: *const c_char,
        parent_id: *const c_char,
        metadata: *const c_char,
        opts: *mut storage_img_create_options,
    ) -> c_int;
    fn storage_get_img_top_layer(id: *const c_char) -> *mut c_char;
    fn storage_img_add_name(img_id: *const c_char, img_name: *const c_char) -> c_int;
    fn storage_img_set_big_data(
        img_id: *const c_char,
        key: *const c_char,
        val: *const c_char,
    ) -> c_int;
    fn storage_img_set_loaded_time(
        img_id: *const c_char,
        loaded_time: *mut types_timestamp_t,
    ) -> c_int;
    fn storage_img_set_image_size(image_id: *const c_char) -> c_int;
    fn storage_img_delete(img_id: *const c_char, commit: bool) -> c_int;
    fn get_oci_image_data() -> *mut oci_image_module_data;
    fn get_isulad_daemon_constants() -> *mut isulad_daemon_constants;
    fn isulad_try_set_error_message(format: *const c_char, ...);
    fn progress_status_map_udpate(
        progress_status_map: *mut c_void,
        key: *mut c_char,
        current: i64,
        total: i64,
    ) -> bool;
    fn isula_registry_log(level: c_int, msg: *const c_char);
}

// iSulad's `registry_type.c` (it stays in the daemon): the descriptor API
// frees with these; see `registry_type.rs`. Only pointers cross: the
// descriptor's progress map is opaque on this side.
#[allow(improper_ctypes)]
unsafe extern "C" {
    pub fn free_challenge(c: *mut challenge);
    pub fn free_layer_blob(layer: *mut layer_blob);
    pub fn free_pull_desc(desc: *mut pull_descriptor);
}

// ---------------------------------------------------------------------------
// Safe wrappers.

fn c(s: &str, what: &'static str) -> Result<CString> {
    CString::new(s).map_err(|_| DaemonError(what))
}

fn c_path(p: &Path, what: &'static str) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| DaemonError(what))
}

fn status(rc: c_int, what: &'static str) -> Result {
    if rc == 0 {
        Ok(())
    } else {
        Err(DaemonError(what))
    }
}

fn c_time(t: Timestamp) -> types_timestamp_t {
    types_timestamp_t {
        has_seconds: true,
        seconds: t.seconds,
        has_nanos: true,
        nanos: t.nanos,
    }
}

/// Copies a C string (NULL → None; invalid UTF-8 is replaced).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn copy_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The daemon this library is linked into, through its own functions.
pub struct Linked;

impl Daemon for Linked {
    /// `storage_layers_get_by_compress_digest`: every stored layer made from
    /// the blob `digest` (copied; the list is freed).
    fn layers_by_compressed_digest(&self, digest: &str) -> Vec<StoredLayer> {
        let Ok(d) = c(digest, "storage_layers_get_by_compress_digest") else {
            return Vec::new();
        };
        // SAFETY: d is a valid C string for the duration of the call.
        let list = unsafe { storage_layers_get_by_compress_digest(d.as_ptr()) };
        if list.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        // SAFETY: a non-NULL list from storage has `layers_len` entries in
        // `layers`, each NULL or a valid layer with NULL or C strings; it stays
        // valid until free_layer_list, which is called once, after the copy.
        unsafe {
            let l = &*list;
            if !l.layers.is_null() {
                for i in 0..l.layers_len {
                    let Some(layer) = (*l.layers.add(i)).as_ref() else {
                        continue;
                    };
                    let Some(id) = copy_str(layer.id) else {
                        continue;
                    };
                    out.push(StoredLayer {
                        id,
                        parent: copy_str(layer.parent),
                        compressed_digest: copy_str(layer.compressed_digest),
                        uncompressed_digest: copy_str(layer.uncompressed_digest),
                    });
                }
            }
            free_layer_list(list);
        }
        out
    }

    /// `storage_inc_hold_refs`: pins a layer against deletion.
    fn inc_hold_refs(&self, id: &str) -> Result {
        let id = c(id, "storage_inc_hold_refs")?;
        // SAFETY: valid C string for the call.
        status(
            unsafe { storage_inc_hold_refs(id.as_ptr()) },
            "storage_inc_hold_refs",
        )
    }

    /// `storage_dec_hold_refs`: unpins a layer.
    fn dec_hold_refs(&self, id: &str) -> Result {
        let id = c(id, "storage_dec_hold_refs")?;
        // SAFETY: valid C string for the call.
        status(
            unsafe { storage_dec_hold_refs(id.as_ptr()) },
            "storage_dec_hold_refs",
        )
    }

    /// `storage_layer_get` (then `free_layer`): does the layer exist?
    fn layer_exists(&self, id: &str) -> bool {
        let Ok(id) = c(id, "storage_layer_get") else {
            return false;
        };
        // SAFETY: valid C string for the call; the result is NULL or a layer
        // owned by us, freed once with free_layer.
        unsafe {
            let l = storage_layer_get(id.as_ptr());
            if l.is_null() {
                return false;
            }
            free_layer(l);
        }
        true
    }

    /// `storage_layer_try_repair_lowers(id, parent)`.
    fn layer_try_repair_lowers(&self, id: &str, parent: Option<&str>) -> Result {
        const WHAT: &str = "storage_layer_try_repair_lowers";
        let id = c(id, WHAT)?;
        let parent = parent.map(|p| c(p, WHAT)).transpose()?;
        let parent_ptr = parent.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
        // SAFETY: valid C strings (or NULL for no parent) for the call.
        status(
            unsafe { storage_layer_try_repair_lowers(id.as_ptr(), parent_ptr) },
            WHAT,
        )
    }

    /// `storage_layer_create(id, {parent, diff_id, digest, path, writable =
    /// false, storage_opts = NULL})`: storage unpacks the file at `path`.
    fn layer_create(
        &self,
        id: &str,
        parent: Option<&str>,
        diff_id: &str,
        digest: &str,
        path: &Path,
    ) -> Result {
        const WHAT: &str = "storage_layer_create";
        let id = c(id, WHAT)?;
        let parent = parent.map(|p| c(p, WHAT)).transpose()?;
        let diff_id = c(diff_id, WHAT)?;
        let digest = c(digest, WHAT)?;
        let path = c_path(path, WHAT)?;
        let mut opts = storage_layer_create_opts_t {
            parent: parent.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            uncompress_digest: diff_id.as_ptr(),
            compressed_digest: digest.as_ptr(),
            layer_data_path: path.as_ptr(),
            writable: false,
            storage_opts: std::ptr::null_mut(),
        };
        // SAFETY: every pointer in opts is a C string alive until the end of
        // this function (or NULL where storage accepts NULL); storage does not
        // keep them.
        status(
            unsafe { storage_layer_create(id.as_ptr(), &mut opts) },
            WHAT,
        )
    }

    /// `storage_layer_chain_delete`: deletes the layer and its unused parents.
    fn layer_chain_delete(&self, id: &str) -> Result {
        const WHAT: &str = "storage_layer_chain_delete";
        let id = c(id, WHAT)?;
        // SAFETY: valid C string for the call.
        status(unsafe { storage_layer_chain_delete(id.as_ptr()) }, WHAT)
    }

    /// `storage_img_get_summary(name)->id` (the image id hex), if there is
    /// such an image.
    fn image_summary_id(&self, name: &str) -> Option<String> {
        let name = c(name, "storage_img_get_summary").ok()?;
        // SAFETY: valid C string for the call; the summary is NULL or ours,
        // read and then freed once with free_imagetool_image_summary.
        unsafe {
            let s = storage_img_get_summary(name.as_ptr());
            if s.is_null() {
                return None;
            }
            let id = copy_str((*s).id);
            free_imagetool_image_summary(s);
            id
        }
    }

    /// `storage_img_create(id, top_layer, NULL, {&created, manifest_digest})`.
    fn image_create(
        &self,
        id: &str,
        top_layer: &str,
        created: Option<Timestamp>,
        manifest_digest: &str,
    ) -> Result {
        const WHAT: &str = "storage_img_create";
        let id = c(id, WHAT)?;
        let top = c(top_layer, WHAT)?;
        let digest = c(manifest_digest, WHAT)?;
        let mut created = created.map(c_time).unwrap_or_default();
        let mut opts = storage_img_create_options {
            create_time: &mut created,
            digest: digest.as_ptr().cast_mut(),
        };
        // SAFETY: C strings and the timestamp live until the end of this
        // function; storage copies what it keeps and never writes to digest.
        status(
            unsafe { storage_img_create(id.as_ptr(), top.as_ptr(), std::ptr::null(), &mut opts) },
            WHAT,
        )
    }

    /// `storage_get_img_top_layer(id)` (copied, then freed with `free`).
    fn image_top_layer(&self, id: &str) -> Option<String> {
        let id = c(id, "storage_get_img_top_layer").ok()?;
        // SAFETY: valid C string for the call; the result is NULL or a malloc'd
        // C string that we free once.
        unsafe {
            let p = storage_get_img_top_layer(id.as_ptr());
            let top = copy_str(p);
            libc::free(p.cast());
            top
        }
    }

    /// `storage_img_add_name(id, name)`.
    fn image_add_name(&self, id: &str, name: &str) -> Result {
        const WHAT: &str = "storage_img_add_name";
        let (id, name) = (c(id, WHAT)?, c(name, WHAT)?);
        // SAFETY: valid C strings for the call.
        status(
            unsafe { storage_img_add_name(id.as_ptr(), name.as_ptr()) },
            WHAT,
        )
    }

    /// `storage_img_set_big_data(id, key, value)`.
    fn image_set_big_data(&self, id: &str, key: &str, value: &[u8]) -> Result {
        const WHAT: &str = "storage_img_set_big_data";
        let (id, key) = (c(id, WHAT)?, c(key, WHAT)?);
        let value = CString::new(value).map_err(|_| DaemonError(WHAT))?;
        // SAFETY: valid C strings for the call.
        status(
            unsafe { storage_img_set_big_data(id.as_ptr(), key.as_ptr(), value.as_ptr()) },
            WHAT,
        )
    }

    /// `storage_img_set_loaded_time(id, &time)`.
    fn image_set_loaded_time(&self, id: &str, time: Timestamp) -> Result {
        const WHAT: &str = "storage_img_set_loaded_time";
        let id = c(id, WHAT)?;
        let mut time = c_time(time);
        // SAFETY: valid C string and timestamp for the call.
        status(
            unsafe { storage_img_set_loaded_time(id.as_ptr(), &mut time) },
            WHAT,
        )
    }

    /// `storage_img_set_image_size(id)`.
    fn image_set_image_size(&self, id: &str) -> Result {
        const WHAT: &str = "storage_img_set_image_size";
        let id = c(id, WHAT)?;
        // SAFETY: valid C string for the call.
        status(unsafe { storage_img_set_image_size(id.as_ptr()) }, WHAT)
    }

    /// `storage_img_delete(id, commit)`.
    fn image_delete(&self, id: &str, commit: bool) -> Result {
        const WHAT: &str = "storage_img_delete";
        let id = c(id, WHAT)?;
        // SAFETY: valid C string for the call.
        status(unsafe { storage_img_delete(id.as_ptr(), commit) }, WHAT)
    }

    /// `get_oci_image_data()->root_dir`: the daemon's graph directory.
    fn image_root_dir(&self) -> Option<PathBuf> {
        // SAFETY: the daemon returns NULL or its static module data, never
        // freed; root_dir is NULL or a C string.
        unsafe {
            let data = get_oci_image_data().as_ref()?;
            copy_str(data.root_dir).map(PathBuf::from)
        }
    }

    /// `get_isulad_daemon_constants()->registry_transformation` as pairs;
    /// `None` when the daemon has no constants or no map.
    fn registry_transformation(&self) -> Option<Vec<(String, String)>> {
        // SAFETY: the daemon returns NULL or its static constants; the map is
        // NULL or has `len` keys and values, each NULL or a C string.
        unsafe {
            let constants = get_isulad_daemon_constants().as_ref()?;
            let map = constants.registry_transformation.as_ref()?;
            if map.keys.is_null() || map.values.is_null() {
                return Some(Vec::new());
            }
            let mut pairs = Vec::with_capacity(map.len);
            for i in 0..map.len {
                if let (Some(k), Some(v)) =
                    (copy_str(*map.keys.add(i)), copy_str(*map.values.add(i)))
                {
                    pairs.push((k, v));
                }
            }
            Some(pairs)
        }
    }

    fn log(&self, level: LogLevel, message: &str) {
        log(level, message);
    }
}

/// Connects the host to the daemon (see host::daemon); every entry point
/// calls this first.
pub fn connect() {
    daemon::connect(&Linked);
}

/// `isulad_try_set_error_message("%s", message)` on the calling thread:
/// sets the daemon's message unless one is set already (the first wins).
pub fn set_error_message(message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a literal "%s" format with one C string argument.
    unsafe { isulad_try_set_error_message(c"%s".as_ptr(), message.as_ptr()) }
}

/// Writes `message` into the daemon's log (`isula_registry_log`).
pub fn log(level: LogLevel, message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // the daemon's shim maps these to lcr's ERROR, WARN, INFO and DEBUG
    let level: c_int = match level {
        LogLevel::Error => 0,
        LogLevel::Warn => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
    };
    // SAFETY: valid C string for the call.
    unsafe { isula_registry_log(level, message.as_ptr()) }
}

/// Writes a pull's notes (a mirror passed over, naming it and why) into
/// the daemon's log, as warnings.
pub struct NoteLog;

impl Observer for NoteLog {
    fn observe(&self, event: Event) {
        if let Event::Note(text) = event {
            log(LogLevel::Warn, &text);
        }
    }
}

/// Sets `key` to `{dlnow, dltotal}` in the daemon's progress map through
/// the daemon's own `progress_status_map_udpate` (it copies the key). A
/// failing update is logged, never an error: progress cannot fail a pull.
///
/// # Safety
/// `map` is a live `progress_status_map *` of the daemon (its progress.c,
/// which locks the map itself, from any thread).
pub unsafe fn progress_update(map: *mut c_void, key: &str, dlnow: i64, dltotal: i64) {
    let Ok(key) = CString::new(key) else {
        return;
    };
    // SAFETY: `map` per this function's contract; `key` is a C string.
    let ok = unsafe { progress_status_map_udpate(map, key.as_ptr().cast_mut(), dlnow, dltotal) };
    if !ok {
        log(LogLevel::Debug, "progress_status_map_udpate failed");
    }
}
