//! `isula_registry.h`, part three: progress told from elsewhere. A client
//! that receives a daemon's per-layer frames (iSulad's `isula pull`, which
//! gets `image_progress` over gRPC) feeds them here and draws them with the
//! renderer of `isula_registry_renderer_new`, as the library draws its own
//! pulls. See src/progress/feed.rs for the rules (order of first
//! appearance, inferred phases, bytes that never go back).

use std::ffi::{c_char, c_int, c_uint};
use std::time::Instant;

use super::cstr::{opt_str, strdup};
use super::pull_handle::{isula_registry_renderer, terminal_size};
use super::{guard, last_error};
use crate::progress::event::Phase;
use crate::progress::feed::Feed;

/// A layer's phase as the sender knows it, for `isula_registry_feed_entry`.
/// `INFER` (0) lets the feed infer it from the bytes: none -> Waiting,
/// some -> Downloading, all -> Download complete.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum isula_registry_layer_phase {
    /// Not told: inferred from the bytes.
    ISULA_REGISTRY_PHASE_INFER = 0,
    /// `Pulling fs layer`.
    ISULA_REGISTRY_PHASE_QUEUED = 1,
    /// `Waiting`.
    ISULA_REGISTRY_PHASE_WAITING = 2,
    /// `Downloading` (current: bytes downloaded).
    ISULA_REGISTRY_PHASE_DOWNLOADING = 3,
    /// `Retrying`.
    ISULA_REGISTRY_PHASE_RETRYING = 4,
    /// `Verifying Checksum`.
    ISULA_REGISTRY_PHASE_VERIFYING = 5,
    /// `Download complete`.
    ISULA_REGISTRY_PHASE_DOWNLOAD_COMPLETE = 6,
    /// `Extracting` (current: bytes extracted).
    ISULA_REGISTRY_PHASE_EXTRACTING = 7,
    /// `Registering` (current: bytes registered).
    ISULA_REGISTRY_PHASE_REGISTERING = 8,
    /// `Pull complete`.
    ISULA_REGISTRY_PHASE_PULL_COMPLETE = 9,
    /// `Already exists`.
    ISULA_REGISTRY_PHASE_ALREADY_EXISTS = 10,
}

/// The progress of one pull told frame by frame (opaque).
pub struct isula_registry_feed {
    feed: Feed,
    /// The feed's monotonic clock (speeds, ETAs, plain mode's intervals).
    start: Instant,
}

impl isula_registry_feed {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// `Some(phase)`, `None` to infer, or `Err` for a value outside the enum.
fn phase_of(value: c_int) -> Result<Option<Phase>, String> {
    Ok(Some(match value {
        0 => return Ok(None),
        1 => Phase::Queued,
        2 => Phase::Waiting,
        3 => Phase::Downloading,
        4 => Phase::Retrying {
            in_secs: 0,
            attempt: 0,
        },
        5 => Phase::Verifying,
        6 => Phase::DownloadComplete,
        7 => Phase::Extracting,
        8 => Phase::Registering,
        9 => Phase::PullComplete,
        10 => Phase::AlreadyExists,
        n => {
            return Err(format!(
                "unknown layer phase {n}: pass an isula_registry_layer_phase value \
                 (ISULA_REGISTRY_PHASE_INFER, 0, to infer it from the bytes)"
            ));
        }
    }))
}

/// A new, empty feed (free it with `isula_registry_feed_free`). Its clock
/// starts now.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_feed_new() -> *mut isula_registry_feed {
    guard("isula_registry_feed_new", std::ptr::null_mut(), || {
        Box::into_raw(Box::new(isula_registry_feed {
            feed: Feed::new(),
            start: Instant::now(),
        }))
    })
}

/// Frees a feed (NULL is fine).
///
/// # Safety
/// `feed` is NULL or from `isula_registry_feed_new`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_free(feed: *mut isula_registry_feed) {
    guard("isula_registry_feed_free", (), || {
        if !feed.is_null() {
            // SAFETY: allocated by Box in isula_registry_feed_new.
            drop(unsafe { Box::from_raw(feed) });
        }
    })
}

/// Borrows the feed and the C strings `args` (all required), or sets the
/// last error naming `what` was missing.
///
/// # Safety
/// `feed` is NULL or live; every string is NULL or a C string.
unsafe fn args<'a, const N: usize>(
    func: &str,
    feed: *mut isula_registry_feed,
    strings: [(&str, *const c_char); N],
) -> Option<(&'a mut isula_registry_feed, [&'a str; N])> {
    // SAFETY: `feed` is NULL or a live feed, as # Safety requires.
    let Some(f) = (unsafe { feed.as_mut() }) else {
        last_error::set(&format!(
            "{func}: no feed (create one with isula_registry_feed_new)"
        ));
        return None;
    };
    let mut out = [""; N];
    for (slot, (name, p)) in out.iter_mut().zip(strings) {
        // SAFETY: the strings are NULL or C strings, as # Safety requires.
        match unsafe { opt_str(p) } {
            Some(s) => *slot = s,
            None => {
                last_error::set(&format!(
                    "{func}: {name} must be a UTF-8 C string, not NULL"
                ));
                return None;
            }
        }
    }
    last_error::clear();
    Some((f, out))
}

/// `<id>: Pulling from <name>` (`id`: the tag or digest pulled). 0, or -1
/// on bad arguments (message in `isula_registry_last_error()`).
///
/// # Safety
/// `feed` is NULL or live; `id` and `name` are NULL or C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_pulling(
    feed: *mut isula_registry_feed,
    id: *const c_char,
    name: *const c_char,
) -> c_int {
    guard("isula_registry_feed_pulling", -1, || {
        // SAFETY: the pointers are NULL or valid (feed live, strings C strings), as # Safety requires.
        let Some((f, [id, name])) = (unsafe {
            args(
                "isula_registry_feed_pulling",
                feed,
                [("id", id), ("name", name)],
            )
        }) else {
            return -1;
        };
        let now = f.now_ms();
        f.feed.pulling(id, name, now);
        0
    })
}

/// One frame of one layer: `id` (its digest, `sha256:<hex>`; shown as the
/// first 12 hex characters), `current` of `total` bytes (0 or less:
/// unknown) and its `phase` (an `isula_registry_layer_phase`;
/// `ISULA_REGISTRY_PHASE_INFER` to infer it). New ids are added after the
/// ones seen before; fewer bytes than a layer already had are ignored.
/// 0, or -1 on bad arguments (message in `isula_registry_last_error()`).
///
/// # Safety
/// `feed` is NULL or live; `id` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_entry(
    feed: *mut isula_registry_feed,
    id: *const c_char,
    current: i64,
    total: i64,
    phase: c_int,
) -> c_int {
    guard("isula_registry_feed_entry", -1, || {
        // SAFETY: the pointers are NULL or valid (feed live, strings C strings), as # Safety requires.
        let Some((f, [id])) = (unsafe { args("isula_registry_feed_entry", feed, [("id", id)]) })
        else {
            return -1;
        };
        if id.is_empty() {
            last_error::set("isula_registry_feed_entry: id is empty; pass the layer's digest");
            return -1;
        }
        let phase = match phase_of(phase) {
            Ok(p) => p,
            Err(e) => {
                last_error::set(&format!("isula_registry_feed_entry: {e}"));
                return -1;
            }
        };
        let bytes = |n: i64| u64::try_from(n).unwrap_or(0);
        let now = f.now_ms();
        f.feed.entry(id, bytes(current), bytes(total), phase, now);
        0
    })
}

/// The manifest digest, for the `Digest:` line. 0, or -1 on bad arguments.
///
/// # Safety
/// `feed` is NULL or live; `digest` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_digest(
    feed: *mut isula_registry_feed,
    digest: *const c_char,
) -> c_int {
    guard("isula_registry_feed_digest", -1, || {
        // SAFETY: the pointers are NULL or valid (feed live, strings C strings), as # Safety requires.
        let Some((f, [digest])) =
            (unsafe { args("isula_registry_feed_digest", feed, [("digest", digest)]) })
        else {
            return -1;
        };
        let now = f.now_ms();
        f.feed.digest(digest, now);
        0
    })
}

/// The pull succeeded: every layer becomes `Pull complete` (but those that
/// `Already exists`), and the next render writes the last frame, `Digest:`,
/// `Status: Downloaded newer image for NAME` (`Image is up to date` when
/// `up_to_date`) and `reference`. Later frames are ignored. 0, or -1 on
/// bad arguments.
///
/// # Safety
/// `feed` is NULL or live; `name` and `reference` are NULL or C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_done(
    feed: *mut isula_registry_feed,
    name: *const c_char,
    reference: *const c_char,
    up_to_date: bool,
) -> c_int {
    guard("isula_registry_feed_done", -1, || {
        // SAFETY: the pointers are NULL or valid (feed live, strings C strings), as # Safety requires.
        let Some((f, [name, reference])) = (unsafe {
            args(
                "isula_registry_feed_done",
                feed,
                [("name", name), ("reference", reference)],
            )
        }) else {
            return -1;
        };
        let now = f.now_ms();
        f.feed.done(name, reference, up_to_date, now);
        0
    })
}

/// The pull failed for `reason`: the next render writes the last frame and
/// `Error: reason` (json: an `error` object). Later frames are ignored. 0,
/// or -1 on bad arguments.
///
/// # Safety
/// `feed` is NULL or live; `reason` is NULL or a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_failed(
    feed: *mut isula_registry_feed,
    reason: *const c_char,
) -> c_int {
    guard("isula_registry_feed_failed", -1, || {
        // SAFETY: the pointers are NULL or valid (feed live, strings C strings), as # Safety requires.
        let Some((f, [reason])) =
            (unsafe { args("isula_registry_feed_failed", feed, [("reason", reason)]) })
        else {
            return -1;
        };
        let now = f.now_ms();
        f.feed.failed(reason, now);
        0
    })
}

/// The text to write now for what `feed` was told (malloc'd; "" when
/// nothing changed; NULL on bad arguments), as `isula_registry_render`
/// does for a pull of the library's own: `width` and `height` are the
/// terminal's (0: unknown). After `isula_registry_feed_done` or
/// `isula_registry_feed_failed` it writes the end of the pull, once; a
/// renderer draws one feed.
///
/// # Safety
/// `r` and `feed` are NULL or live handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_feed_render(
    r: *mut isula_registry_renderer,
    feed: *mut isula_registry_feed,
    width: c_uint,
    height: c_uint,
) -> *mut c_char {
    guard("isula_registry_feed_render", std::ptr::null_mut(), || {
        // SAFETY: `feed` is NULL or a live feed, as # Safety requires.
        let (Some(r), Some(f)) = (unsafe { r.as_mut() }, unsafe { feed.as_ref() }) else {
            last_error::set("isula_registry_feed_render needs a renderer and a feed");
            return std::ptr::null_mut();
        };
        last_error::clear();
        let (width, height) = terminal_size(width, height);
        let now = f.now_ms();
        let snap = f.feed.snapshot(now);
        let text = if f.feed.ended() {
            r.renderer.finish(&snap, width, height, now)
        } else {
            r.renderer.frame(&snap, width, height, now)
        };
        strdup(&text)
    })
}
