//! `registry_apiv2.h`: the step functions of iSulad's registry module
//! (`fetch_manifest`, `fetch_config`, `fetch_layer`, `login_to_registry`)
//! on a caller-owned `pull_descriptor`. Each converts the descriptor into
//! an [`crate::api::descriptor::Descriptor`] at the entry, calls the safe function
//! of the same name, and writes what it returns back into the descriptor:
//! the results and the auth session (`protocol`, `challenges`), so that
//! `free_pull_desc` frees all of it and nothing is kept on the Rust side.
//! Also the descriptor access that `http_request.h`'s functions share.
//!
//! Reads and writes of the session fields are serialised by one
//! process-wide lock, so threads may call `fetch_config`/`fetch_layer` on
//! one descriptor at once (each `fetch_layer` writes only its own layer).
//!
//! TLS material: `ca_file`/`cert_file`/`key_file` of the descriptor when
//! any is set, else the registry host's certs.d directory (`registry_init`).
//! Errors: -1 with the message where `registry_pull`'s go
//! (`isula_registry_last_error()`, and the daemon's with `isulad`).

use std::ffi::{c_char, c_int};
use std::ptr::{NonNull, addr_of, addr_of_mut};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::cstr::{free, opt_str, strdup};
use super::progress::{MapHandle, progress_status_map};
use super::registry::operation;
use super::registry_type::{
    CHALLENGE_MAX, challenge, clear_challenge, free_layer_blob, layer_blob, pull_descriptor,
};
use crate::progress::map::{MapTarget, clamp};

use crate::api::descriptor::{
    self, Challenge, Descriptor, LayerRef, LayerSpec, ManifestFetched, Session,
};
use crate::auths::Secret;
use crate::error::Error;

/// Serialises access to the session fields (`protocol`, `challenges`) of
/// every descriptor.
static SESSION_LOCK: Mutex<()> = Mutex::new(());

fn session_lock() -> MutexGuard<'static, ()> {
    SESSION_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn out_of_memory() -> Error {
    Error::Store("out of memory".to_string())
}

/// A copy of a C string (NULL or not UTF-8: `None`).
///
/// # Safety
/// `p` is NULL or a C string.
unsafe fn text(p: *const c_char) -> Option<String> {
    // SAFETY: as the caller promises.
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
    // SAFETY: as the caller promises; the old string is freed exactly once.
    unsafe {
        free(*slot);
        *slot = new;
    }
    Ok(())
}

/// A caller's descriptor, checked at the entry of a C function.
///
/// Invariant, from the contract of every function taking a descriptor: it
/// is valid and writable for the whole call, its strings are NULL or
/// malloc'd C strings, `layers` is NULL or holds `layers_len` entries, and
/// `progress_status_store` is NULL or a valid map. Fields are read and
/// written through the pointer, one at a time, never through a reference
/// to the whole struct: other threads may meanwhile update its session
/// (under [`SESSION_LOCK`]) or their own layer.
pub(crate) struct Desc(NonNull<pull_descriptor>);

impl Desc {
    /// `p` as a descriptor, or the error "`what` needs a pull descriptor".
    ///
    /// # Safety
    /// `p` is NULL or meets the invariant above while the `Desc` lives.
    pub(crate) unsafe fn new(p: *mut pull_descriptor, what: &str) -> Result<Desc, Error> {
        NonNull::new(p)
            .map(Desc)
            .ok_or_else(|| Error::Invalid(format!("{what} needs a pull descriptor")))
    }

    fn ptr(&self) -> *mut pull_descriptor {
        self.0.as_ptr()
    }

    /// The descriptor's progress map (NULL for none).
    pub(crate) fn progress_store(&self) -> *mut progress_status_map {
        // SAFETY: the invariant; a field read by value.
        unsafe { (*self.ptr()).progress_status_store }
    }

    /// What the step functions read, copied out.
    pub(crate) fn read(&self) -> Descriptor {
        let d = self.ptr();
        // SAFETY (whole block): the invariant; fields read by value, strings
        // copied before the block ends.
        let mut out = unsafe {
            let path = |p: *const c_char| text(p).map(std::path::PathBuf::from);
            Descriptor {
                host: text((*d).host),
                name: text((*d).name),
                tag: text((*d).tag),
                username: text((*d).username),
                password: text((*d).password).map(Secret::new),
                skip_tls_verify: (*d).skip_tls_verify,
                insecure: (*d).insecure_registry,
                blobpath: path((*d).blobpath),
                ca_file: path((*d).ca_file),
                cert_file: path((*d).cert_file),
                key_file: path((*d).key_file),
                scope: text((*d).scope),
                manifest_media_type: text((*d).manifest.media_type),
                config_digest: text((*d).config.digest),
                config_size: (*d).config.size as u64,
                layers_len: if (*d).layers.is_null() {
                    0
                } else {
                    (*d).layers_len
                },
                session: Session::default(),
            }
        };
        out.session = self.session();
        out
    }

    fn session(&self) -> Session {
        let _held = session_lock();
        let d = self.ptr();
        // SAFETY (whole block): the invariant; the session fields are read by
        // value under SESSION_LOCK, the only place they are written.
        unsafe {
            let challenges = addr_of!((*d).challenges) as *const challenge;
            Session {
                protocol: text((*d).protocol),
                challenges: (0..CHALLENGE_MAX)
                    .map(|i| {
                        let c = challenges.add(i);
                        Challenge {
                            schema: text((*c).schema),
                            realm: text((*c).realm),
                            service: text((*c).service),
                            cached_token: text((*c).cached_token).map(Secret::new),
                            expires_time: (*c).expires_time,
                        }
                    })
                    .collect(),
            }
        }
    }

    /// Stores a step's session: its protocol when it has one, and its
    /// challenges in place of all stored ones.
    pub(crate) fn store_session(&self, session: Option<Session>) {
        let Some(session) = session else {
            return;
        };
        let _held = session_lock();
        let d = self.ptr();
        // SAFETY (whole block): the invariant, under SESSION_LOCK; every
        // string written is malloc'd (set_text), every one replaced freed.
        unsafe {
            if let Some(p) = session.protocol.as_deref()
                && opt_str((*d).protocol) != Some(p)
            {
                // out of memory: the next call pings again
                let _ = set_text(addr_of_mut!((*d).protocol), Some(p));
            }
            let challenges = addr_of_mut!((*d).challenges) as *mut challenge;
            for i in 0..CHALLENGE_MAX {
                clear_challenge(&mut *challenges.add(i));
            }
            for (i, stored) in session.challenges.iter().take(CHALLENGE_MAX).enumerate() {
                let c = challenges.add(i);
                if write_challenge(c, stored).is_err() {
                    // half a challenge would be misread: none means "ask again"
                    clear_challenge(&mut *c);
                }
            }
        }
    }

    /// Layer `index`, when the descriptor has it.
    fn layer(&self, index: usize) -> Option<LayerRef> {
        let d = self.ptr();
        // SAFETY (whole block): the invariant; `index` is checked against
        // layers_len before the layer is read, by value.
        unsafe {
            if (*d).layers.is_null() || index >= (*d).layers_len {
                return None;
            }
            let l = (*d).layers.add(index);
            Some(LayerRef {
                digest: text((*l).digest),
                media_type: text((*l).media_type),
                size: (*l).size as u64,
                empty: (*l).empty_layer,
                diff_id: text((*l).diff_id),
            })
        }
    }

    /// Sets layer `index`'s diff_id when it has none.
    fn set_diff_id(&self, index: usize, diff_id: &str) -> Result<(), Error> {
        let d = self.ptr();
        // SAFETY: the invariant, `index` checked; only this call writes
        // layer `index`.
        unsafe {
            if (*d).layers.is_null() || index >= (*d).layers_len {
                return Ok(());
            }
            let slot = addr_of_mut!((*(*d).layers.add(index)).diff_id);
            if (*slot).is_null() {
                set_text(slot, Some(diff_id))?;
            }
        }
        Ok(())
    }

    /// Stores what `fetch_manifest` found, freeing the values it replaces.
    fn set_manifest(&self, m: &ManifestFetched) -> Result<(), Error> {
        let layers = layer_array(&m.layers)?;
        let d = self.ptr();
        // SAFETY (whole block): the invariant; the fields, NULL or malloc'd,
        // are replaced by fresh malloc'd values.
        unsafe {
            free_layers((*d).layers, (*d).layers_len);
            (*d).layers = layers;
            (*d).layers_len = m.layers.len();
            let mf = addr_of_mut!((*d).manifest);
            set_text(addr_of_mut!((*mf).media_type), Some(&m.media_type))?;
            set_text(addr_of_mut!((*mf).digest), Some(&m.digest))?;
            set_text(addr_of_mut!((*mf).file), Some(&m.file))?;
            (*mf).size = m.size;
            let c = addr_of_mut!((*d).config);
            let config = m.config.as_ref();
            set_text(
                addr_of_mut!((*c).media_type),
                config.map(|b| b.media_type.as_str()),
            )?;
            set_text(addr_of_mut!((*c).digest), config.map(|b| b.digest.as_str()))?;
            // the config file of an earlier manifest does not belong to this one
            set_text(addr_of_mut!((*c).file), None)?;
            (*c).size = usize::try_from(config.map_or(0, |b| b.size)).unwrap_or(usize::MAX);
        }
        Ok(())
    }

    fn set_config_file(&self, file: &str) -> Result<(), Error> {
        // SAFETY: the invariant; the field is NULL or malloc'd.
        unsafe { set_text(addr_of_mut!((*self.ptr()).config.file), Some(file)) }
    }
}

/// Writes one challenge into a cleared slot.
///
/// # Safety
/// `c` is valid and writable with NULL strings.
unsafe fn write_challenge(c: *mut challenge, stored: &Challenge) -> Result<(), Error> {
    // SAFETY: as the caller promises.
    unsafe {
        set_text(addr_of_mut!((*c).schema), stored.schema.as_deref())?;
        set_text(addr_of_mut!((*c).realm), stored.realm.as_deref())?;
        set_text(addr_of_mut!((*c).service), stored.service.as_deref())?;
        let token = stored.cached_token.as_deref().map(String::as_str);
        set_text(addr_of_mut!((*c).cached_token), token)?;
        (*c).expires_time = stored.expires_time as libc::time_t;
    }
    Ok(())
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
        // SAFETY: i < specs.len(), inside the fresh array, whose zeroed
        // strings are NULL, so set_text frees nothing.
        let filled = unsafe {
            let l = layers.add(i);
            (*l).empty_layer = spec.empty;
            (*l).size = usize::try_from(spec.size).unwrap_or(usize::MAX);
            set_text(addr_of_mut!((*l).media_type), spec.media_type.as_deref())
                .and_then(|()| set_text(addr_of_mut!((*l).digest), spec.digest.as_deref()))
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
    // SAFETY: as the caller promises.
    unsafe {
        for i in 0..len {
            free_layer_blob(layers.add(i));
        }
        free(layers);
    }
}

/// Progress of a step into the descriptor's map.
fn progress_of(desc: &Desc) -> impl FnMut(&str, u64, u64) + use<> {
    let store = desc.progress_store();
    move |digest, current, total| report_progress(store, digest, current, total)
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
        // SAFETY: the caller's contract (# Safety above) is Desc's invariant.
        let desc = unsafe { Desc::new(desc, "fetch_manifest") }?;
        let out = descriptor::fetch_manifest(&desc.read(), &mut progress_of(&desc));
        desc.store_session(out.session);
        desc.set_manifest(&out.result?)
    })
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
        // SAFETY: the caller's contract is Desc's invariant.
        let desc = unsafe { Desc::new(desc, "fetch_config") }?;
        let out = descriptor::fetch_config(&desc.read(), &mut progress_of(&desc));
        desc.store_session(out.session);
        desc.set_config_file(&out.result?)
    })
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
        // SAFETY: the caller's contract is Desc's invariant.
        let desc = unsafe { Desc::new(desc, "fetch_layer") }?;
        let layer = desc.layer(index);
        let out =
            descriptor::fetch_layer(&desc.read(), index, layer.as_ref(), &mut progress_of(&desc));
        desc.store_session(out.session);
        desc.set_diff_id(index, &out.result?)
    })
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
        // SAFETY: the caller's contract is Desc's invariant.
        let desc = unsafe { Desc::new(desc, "login_to_registry") }?;
        let out = descriptor::login(&desc.read());
        desc.store_session(out.session);
        out.result
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

    /// # Safety
    /// `p` is NULL or a C string that outlives the test.
    unsafe fn s(p: *const c_char) -> Option<&'static str> {
        // SAFETY: as the caller promises.
        unsafe { opt_str(p) }
    }

    #[test]
    fn sessions_are_stored_in_and_read_from_the_c_fields() {
        let p = new_desc();
        // SAFETY: a descriptor owned by this test, freed at its end.
        let desc = unsafe { Desc::new(p, "test") }.unwrap();
        // SAFETY (whole block): the same descriptor, used by this thread only.
        unsafe {
            // a stale second challenge is dropped
            (*p).challenges[1].schema = strdup("Bearer");
            (*p).challenges[1].realm = strdup("https://old.invalid/token");
            desc.store_session(Some(Session {
                protocol: Some("https".into()),
                challenges: vec![Challenge {
                    schema: Some("Bearer".into()),
                    realm: Some("https://auth.invalid/token".into()),
                    service: Some("registry".into()),
                    cached_token: Some(Secret::new("tok".into())),
                    expires_time: 1234,
                }],
            }));
            assert_eq!(s((*p).protocol), Some("https"));
            let ch = &(*p).challenges[0];
            assert_eq!(s(ch.schema), Some("Bearer"));
            assert_eq!(s(ch.realm), Some("https://auth.invalid/token"));
            assert_eq!(s(ch.service), Some("registry"));
            assert_eq!(s(ch.cached_token), Some("tok"));
            assert_eq!(ch.expires_time, 1234);
            assert!((*p).challenges[1].schema.is_null());

            let back = desc.read().session;
            assert_eq!(back.protocol.as_deref(), Some("https"));
            assert_eq!(back.challenges.len(), CHALLENGE_MAX);
            assert_eq!(
                back.challenges[0].realm.as_deref(),
                Some("https://auth.invalid/token")
            );
            assert_eq!(back.challenges[0].expires_time, 1234);
            assert!(back.challenges[1].schema.is_none());

            // no protocol learnt: the stored one stays; no challenge is left
            desc.store_session(Some(Session::default()));
            assert_eq!(s((*p).protocol), Some("https"));
            assert!((*p).challenges[0].schema.is_null());
            // no session (a step failed before any request): nothing changes
            (*p).challenges[0].schema = strdup("Basic");
            desc.store_session(None);
            assert_eq!(s((*p).challenges[0].schema), Some("Basic"));
            free_pull_desc(p);
        }
    }

    #[test]
    fn manifests_layers_and_diff_ids_are_stored() {
        let p = new_desc();
        // SAFETY: a descriptor owned by this test, freed at its end.
        let desc = unsafe { Desc::new(p, "test") }.unwrap();
        let layer = |empty, digest: Option<&str>, size| LayerSpec {
            empty,
            media_type: digest.map(|_| "application/vnd.docker.image.rootfs.diff.tar.gzip".into()),
            size,
            digest: digest.map(str::to_string),
        };
        let fetched = ManifestFetched {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: "sha256:m".into(),
            size: 42,
            file: "/blobs/manifests".into(),
            config: None,
            layers: vec![layer(true, None, 0), layer(false, Some("sha256:00"), 7)],
        };
        desc.set_manifest(&fetched).unwrap();
        // SAFETY (whole block): the same descriptor, used by this thread only.
        unsafe {
            assert_eq!(s((*p).manifest.digest), Some("sha256:m"));
            assert_eq!(s((*p).manifest.file), Some("/blobs/manifests"));
            assert_eq!((*p).manifest.size, 42);
            assert!((*p).config.digest.is_null());
            assert_eq!((*p).layers_len, 2);
            assert!((*(*p).layers).empty_layer);
            assert!((*(*p).layers).digest.is_null());
            let l = desc.layer(1).unwrap();
            assert_eq!(l.digest.as_deref(), Some("sha256:00"));
            assert_eq!(l.size, 7);
            assert!(desc.layer(2).is_none());
            assert_eq!(desc.read().layers_len, 2);
            desc.set_diff_id(1, "sha256:d1").unwrap();
            // a diff_id already set is kept (the api checked it)
            desc.set_diff_id(1, "sha256:other").unwrap();
            assert_eq!(s((*(*p).layers.add(1)).diff_id), Some("sha256:d1"));
            // a second manifest replaces the first's layers
            desc.set_manifest(&ManifestFetched {
                layers: Vec::new(),
                ..fetched
            })
            .unwrap();
            assert!((*p).layers.is_null());
            assert_eq!((*p).layers_len, 0);
            free_pull_desc(p);
        }
        assert!(layer_array(&[]).unwrap().is_null());
    }
}
