//! `registry_type.h`: iSulad's registry-internal structs. `layer_blob` and
//! `free_layer_blob` are used by iSulad's image store, so their layout is
//! kept exactly; the others keep iSulad's layout so that C code built
//! against the old header still links.

use std::ffi::{c_char, c_int};

use super::cstr::{free, free_sensitive};
#[cfg(isula_owns_registry_type)]
use super::guard;
use super::progress::progress_status_map;
use super::timestamp::types_timestamp_t;

/// Most auth challenges a registry can offer.
pub const CHALLENGE_MAX: usize = 8;
/// Most layers an image may have.
pub const MAX_LAYER_NUM: c_int = 125;

/// A `WWW-Authenticate` challenge and its cached token.
#[repr(C)]
pub struct challenge {
    pub schema: *mut c_char,
    pub realm: *mut c_char,
    pub service: *mut c_char,
    pub cached_token: *mut c_char,
    pub expires_time: libc::time_t,
}

/// The image manifest of a pull.
#[repr(C)]
pub struct manifest_blob {
    pub media_type: *mut c_char,
    pub size: usize,
    pub digest: *mut c_char,
    pub file: *mut c_char,
}

/// The image config of a pull.
#[repr(C)]
pub struct config_blob {
    pub media_type: *mut c_char,
    pub size: usize,
    pub digest: *mut c_char,
    pub file: *mut c_char,
    pub create_time: types_timestamp_t,
    pub complete: bool,
    pub result: c_int,
}

/// One layer of a pull (shared with iSulad's image store: keep the layout).
#[repr(C)]
pub struct layer_blob {
    /// A schema1 `throwaway` layer: never downloaded nor registered.
    pub empty_layer: bool,
    pub media_type: *mut c_char,
    /// Size from the manifest.
    pub size: usize,
    /// Compressed digest `sha256:<hex>`.
    pub digest: *mut c_char,
    /// Uncompressed digest.
    pub diff_id: *mut c_char,
    /// `sha256:<layer id>`.
    pub chain_id: *mut c_char,
    /// Downloaded blob path.
    pub file: *mut c_char,
    pub already_exist: bool,
    /// Created by this pull (rollback marker).
    pub registered: bool,
}

/// The whole state of one pull, as iSulad's C module kept it.
#[repr(C)]
pub struct pull_descriptor {
    pub image_name: *mut c_char,
    pub dest_image_name: *mut c_char,
    pub host: *mut c_char,
    pub name: *mut c_char,
    pub tag: *mut c_char,
    pub username: *mut c_char,
    pub password: *mut c_char,
    pub auths_dir: *mut c_char,
    pub use_decrypted_key: bool,
    pub cert_loaded: bool,
    pub ca_file: *mut c_char,
    pub cert_file: *mut c_char,
    pub key_file: *mut c_char,
    pub certs_dir: *mut c_char,
    pub pulling_number: c_int,
    pub cancel: bool,
    pub errmsg: *mut c_char,
    pub blobpath: *mut c_char,
    pub protocol: *mut c_char,
    pub skip_tls_verify: bool,
    pub insecure_registry: bool,
    pub scope: *mut c_char,
    pub challenges_mutex: libc::pthread_mutex_t,
    pub challenges_mutex_inited: bool,
    pub challenges: [challenge; CHALLENGE_MAX],
    pub headers: *mut *mut c_char,
    pub layer_of_hold_refs: *mut c_char,
    pub manifest: manifest_blob,
    pub config: config_blob,
    pub layers: *mut layer_blob,
    pub layers_len: usize,
    pub rollback_layers_on_failure: bool,
    pub register_layers_complete: bool,
    pub parent_chain_id: *mut c_char,
    pub parent_layer_id: *mut c_char,
    pub mutex: libc::pthread_mutex_t,
    pub mutex_inited: bool,
    pub cond: libc::pthread_cond_t,
    pub cond_inited: bool,
    #[cfg(feature = "image_search")]
    pub search_name: *mut c_char,
    #[cfg(feature = "image_search")]
    pub limit: u32,
    pub progress_status_store: *mut progress_status_map,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<challenge>() == 40);
    assert!(size_of::<manifest_blob>() == 32);
    assert!(size_of::<config_blob>() == 64);
    assert!(offset_of!(config_blob, create_time) == 32);
    assert!(offset_of!(config_blob, complete) == 56);
    assert!(offset_of!(config_blob, result) == 60);
    assert!(size_of::<layer_blob>() == 64);
    assert!(offset_of!(layer_blob, media_type) == 8);
    assert!(offset_of!(layer_blob, file) == 48);
    assert!(offset_of!(layer_blob, already_exist) == 56);
    assert!(offset_of!(layer_blob, registered) == 57);
    assert!(offset_of!(pull_descriptor, pulling_number) == 104);
    assert!(offset_of!(pull_descriptor, challenges_mutex) == 152);
    assert!(offset_of!(pull_descriptor, challenges) == 200);
    assert!(offset_of!(pull_descriptor, manifest) == 536);
    assert!(offset_of!(pull_descriptor, config) == 568);
    assert!(offset_of!(pull_descriptor, mutex) == 672);
    assert!(offset_of!(pull_descriptor, cond) == 720);
    assert!(offset_of!(pull_descriptor, cond_inited) == 768);
};
#[cfg(feature = "image_search")]
const _: () = {
    assert!(std::mem::size_of::<pull_descriptor>() == 800);
    assert!(std::mem::offset_of!(pull_descriptor, progress_status_store) == 792);
};
#[cfg(not(feature = "image_search"))]
const _: () = {
    assert!(std::mem::size_of::<pull_descriptor>() == 784);
    assert!(std::mem::offset_of!(pull_descriptor, progress_status_store) == 776);
};

// In the daemon these three come from iSulad's own
// `src/daemon/modules/image/oci/registry_type.c`, which stays in the build
// (the image store calls `free_layer_blob`): the library must not define
// them there too. build.rs sets `isula_owns_registry_type` for every other
// build. cbindgen has no `[defines]` entry for that cfg, so the header
// declares the three functions in both builds, as iSulad's header does.
#[cfg(not(isula_owns_registry_type))]
pub use super::daemon::{free_challenge, free_layer_blob, free_pull_desc};

/// Frees the strings of a challenge (the token zeroed first), not the struct.
///
/// # Safety
/// `c` is NULL or a challenge whose strings are NULL or malloc'd.
#[cfg(isula_owns_registry_type)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_challenge(c: *mut challenge) {
    guard("free_challenge", (), || {
        // SAFETY: `c` is NULL or a valid challenge (# Safety).
        if let Some(c) = unsafe { c.as_mut() } {
            // SAFETY: its strings are NULL or malloc'd (# Safety).
            unsafe { clear_challenge(c) }
        }
    })
}

/// Frees the strings of a layer and resets it, not the struct (iSulad's
/// semantics: `registered` is kept).
///
/// # Safety
/// `layer` is NULL or a layer whose strings are NULL or malloc'd.
#[cfg(isula_owns_registry_type)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_layer_blob(layer: *mut layer_blob) {
    guard("free_layer_blob", (), || {
        // SAFETY: `layer` is NULL or a valid layer (# Safety).
        if let Some(l) = unsafe { layer.as_mut() } {
            // SAFETY: its strings are NULL or malloc'd (# Safety).
            unsafe { clear_layer(l) }
        }
    })
}

/// Frees everything a descriptor owns, destroys its initialised mutexes and
/// condition, and frees the descriptor itself. Not `progress_status_store`,
/// `parent_chain_id` nor `parent_layer_id`, which point elsewhere.
///
/// # Safety
/// `desc` is NULL or a malloc'd descriptor whose owned pointers are NULL or
/// malloc'd, `layers` holding `layers_len` entries.
#[cfg(isula_owns_registry_type)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_pull_desc(desc: *mut pull_descriptor) {
    guard("free_pull_desc", (), || {
        // SAFETY: `desc` is NULL or a valid, malloc'd descriptor (# Safety).
        let Some(d) = (unsafe { desc.as_mut() }) else {
            return;
        };
        // SAFETY: all owned pointers are NULL or libc memory per the contract.
        unsafe {
            for p in [
                d.image_name,
                d.dest_image_name,
                d.host,
                d.name,
                d.tag,
                d.auths_dir,
            ] {
                free(p);
            }
            free_sensitive(d.username);
            free_sensitive(d.password);
            for p in [
                d.ca_file,
                d.cert_file,
                d.key_file,
                d.certs_dir,
                d.errmsg,
                d.blobpath,
                d.protocol,
                d.scope,
            ] {
                free(p);
            }
            for c in d.challenges.iter_mut() {
                clear_challenge(c);
            }
            if !d.headers.is_null() {
                let mut i = 0;
                while !(*d.headers.add(i)).is_null() {
                    free(*d.headers.add(i));
                    i += 1;
                }
                free(d.headers);
            }
            for p in [d.manifest.media_type, d.manifest.digest, d.manifest.file] {
                free(p);
            }
            for p in [d.config.media_type, d.config.digest, d.config.file] {
                free(p);
            }
            if !d.layers.is_null() {
                for i in 0..d.layers_len {
                    clear_layer(&mut *d.layers.add(i));
                }
                free(d.layers);
            }
            free(d.layer_of_hold_refs);
            if d.cond_inited {
                libc::pthread_cond_destroy(&mut d.cond);
            }
            if d.mutex_inited {
                libc::pthread_mutex_destroy(&mut d.mutex);
            }
            if d.challenges_mutex_inited {
                libc::pthread_mutex_destroy(&mut d.challenges_mutex);
            }
            #[cfg(feature = "image_search")]
            free(d.search_name);
            free(desc);
        }
    })
}

/// Frees a challenge's strings (the token zeroed first) and empties it.
///
/// # Safety
/// The strings of `c` are NULL or malloc'd.
pub(crate) unsafe fn clear_challenge(c: &mut challenge) {
    // SAFETY: the challenge's strings are NULL or malloc'd, each freed once.
    unsafe {
        free(c.schema);
        free(c.realm);
        free(c.service);
        free_sensitive(c.cached_token);
    }
    c.schema = std::ptr::null_mut();
    c.realm = std::ptr::null_mut();
    c.service = std::ptr::null_mut();
    c.cached_token = std::ptr::null_mut();
    c.expires_time = 0;
}

#[cfg(isula_owns_registry_type)]
/// # Safety
/// The strings of `l` are NULL or malloc'd.
unsafe fn clear_layer(l: &mut layer_blob) {
    // SAFETY: the layer's strings are NULL or malloc'd, each freed once.
    unsafe {
        for p in [l.media_type, l.digest, l.diff_id, l.chain_id, l.file] {
            free(p);
        }
    }
    l.empty_layer = false;
    l.media_type = std::ptr::null_mut();
    l.size = 0;
    l.digest = std::ptr::null_mut();
    l.diff_id = std::ptr::null_mut();
    l.chain_id = std::ptr::null_mut();
    l.file = std::ptr::null_mut();
    l.already_exist = false;
}
