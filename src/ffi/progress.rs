//! `progress.h`: the progress status map of the embedded host
//! (`{dlnow, dltotal}` per blob digest), with iSulad's function names,
//! including its spelling `progress_status_map_udpate`.
//!
//! The map is opaque here (iSulad's daemon walks its own rb-tree layout;
//! with the daemon, its own progress.c is used: with the `isulad` feature
//! these functions are not defined, and `registry_pull` feeds the daemon's
//! map through the daemon's `progress_status_map_udpate`). C reads every entry with
//! `isula_registry_progress_entries` (isula_registry.h).

#[cfg(not(feature = "isulad"))]
use std::ffi::c_char;

#[cfg(not(feature = "isulad"))]
use super::cstr::opt_str;
#[cfg(not(feature = "isulad"))]
use super::guard;
use std::ptr::NonNull;

#[cfg(feature = "isulad")]
use crate::progress::map::display_key;
use crate::progress::map::{MapFeed, MapTarget, ProgressStatusMap};

/// Opaque, thread-safe map from key to `progress`.
pub struct progress_status_map {
    pub(crate) inner: ProgressStatusMap,
}

/// Bytes of one transfer, as libcurl counts them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct progress {
    pub dlnow: i64,
    pub dltotal: i64,
}

const _: () = assert!(std::mem::size_of::<progress>() == 16);

/// A new empty map; free it with `progress_status_map_free`.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub extern "C" fn progress_status_map_new() -> *mut progress_status_map {
    guard("progress_status_map_new", std::ptr::null_mut(), || {
        Box::into_raw(Box::new(progress_status_map {
            inner: ProgressStatusMap::new(),
        }))
    })
}

/// Inserts or overwrites `key` (copied). False on NULL arguments.
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`; `key` NULL or a C string.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn progress_status_map_udpate(
    map: *mut progress_status_map,
    key: *mut c_char,
    current: i64,
    total: i64,
) -> bool {
    guard("progress_status_map_udpate", false, || {
        // SAFETY: `map` is NULL or from progress_status_map_new and not freed, as # Safety requires.
        let (Some(m), Some(key)) = (unsafe { map.as_ref() }, unsafe { opt_str(key) }) else {
            return false;
        };
        m.inner.update(key, current, total);
        true
    })
}

/// Number of entries (0 for NULL).
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn progress_status_map_size(map: *mut progress_status_map) -> usize {
    guard("progress_status_map_size", 0, || {
        // SAFETY: `map` is NULL or from progress_status_map_new and not freed, as # Safety requires.
        unsafe { map.as_ref() }.map_or(0, |m| m.inner.len())
    })
}

/// Holds the map for the calling thread: other threads' updates wait until
/// `progress_status_map_unlock`. False for NULL.
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn progress_status_map_lock(map: *mut progress_status_map) -> bool {
    guard("progress_status_map_lock", false, || {
        // SAFETY: `map` is NULL or from progress_status_map_new and not freed, as # Safety requires.
        let Some(m) = (unsafe { map.as_ref() }) else {
            return false;
        };
        m.inner.lock();
        true
    })
}

/// Releases what `progress_status_map_lock` took.
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn progress_status_map_unlock(map: *mut progress_status_map) {
    guard("progress_status_map_unlock", (), || {
        // SAFETY: `map` is NULL or from progress_status_map_new and not freed, as # Safety requires.
        if let Some(m) = unsafe { map.as_ref() } {
            m.inner.unlock();
        }
    })
}

/// Frees the map and its entries (NULL is fine).
///
/// # Safety
/// `map` is NULL or from `progress_status_map_new`, unused afterwards.
#[cfg(not(feature = "isulad"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn progress_status_map_free(map: *mut progress_status_map) {
    guard("progress_status_map_free", (), || {
        if !map.is_null() {
            // SAFETY: allocated by Box in progress_status_map_new.
            drop(unsafe { Box::from_raw(map) });
        }
    })
}

/// A `progress_status_map *` received from C, as a [`MapTarget`]: this
/// library's map, or with the `isulad` feature the daemon's (fed through
/// its own `progress_status_map_udpate`, never dereferenced here). This is
/// the one place that picks between the two.
pub(crate) struct MapHandle(NonNull<progress_status_map>);

// SAFETY: both maps lock themselves and may be updated from any thread;
// whoever hands the pointer over keeps the map alive while it is used
// (registry_pull: the call; isula_registry_pull_start: until the handle is
// freed; the descriptor API: the descriptor's life).
unsafe impl Send for MapHandle {}
// SAFETY: as above.
unsafe impl Sync for MapHandle {}

impl MapHandle {
    /// `None` for NULL. The map must outlive the handle (see above).
    pub(crate) fn new(map: *mut progress_status_map) -> Option<MapHandle> {
        NonNull::new(map).map(MapHandle)
    }

    /// An observer that feeds a pull's events into the map.
    pub(crate) fn feed(map: *mut progress_status_map) -> Option<MapFeed<MapHandle>> {
        MapHandle::new(map).map(MapFeed::new)
    }
}

impl MapTarget for MapHandle {
    /// The daemon's client shows its map's keys: in key order, each by its
    /// last 12 characters. Keyed by [`display_key`], `isula pull` lists the
    /// layers in manifest order under Docker's short ids, patched or not.
    #[cfg(feature = "isulad")]
    fn update_layer(&self, digest: &str, position: usize, dlnow: i64, dltotal: i64) {
        self.update(&display_key(digest, position), dlnow, dltotal);
    }

    fn update(&self, key: &str, dlnow: i64, dltotal: i64) {
        #[cfg(feature = "isulad")]
        // SAFETY: a live daemon map, per MapHandle::new.
        unsafe {
            super::daemon::progress_update(self.0.as_ptr().cast(), key, dlnow, dltotal)
        };
        #[cfg(not(feature = "isulad"))]
        // SAFETY: a live map from progress_status_map_new, per MapHandle::new.
        unsafe { self.0.as_ref() }.inner.update(key, dlnow, dltotal);
    }
}
