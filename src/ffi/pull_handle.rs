//! `isula_registry.h`, part two: a pull that runs on its own thread and is
//! watched, rendered and cancelled from others (what `isula pull` and
//! examples-c/pull use), and the progress renderer.

use std::ffi::{c_char, c_int, c_uint, c_ushort};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::cstr::strdup;
use super::guard;
use super::progress::MapHandle;
use super::registry::{pull_options, registry_pull_options};
use crate::api::session::{Ended, PullSession};
use crate::progress::event::Observer;
use crate::progress::render::{Mode, Renderer, UNKNOWN_WIDTH};

/// A running or finished pull (opaque).
pub struct isula_registry_pull {
    session: Arc<PullSession>,
    /// The message of a failed pull, kept for `isula_registry_pull_error`;
    /// set once, so every handle function works through a shared reference
    /// and may be called from several threads at once.
    error: OnceLock<std::ffi::CString>,
}

/// How progress is shown.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum isula_registry_progress_mode {
    /// `TTY` when the output is a terminal, else `PLAIN`.
    ISULA_REGISTRY_PROGRESS_AUTO = 0,
    /// Docker's bars, redrawn in place, plus a total line.
    ISULA_REGISTRY_PROGRESS_TTY = 1,
    /// Lines for logs and pipes: no escape codes, bounded count.
    ISULA_REGISTRY_PROGRESS_PLAIN = 2,
    /// One Docker-compatible JSON object per line.
    ISULA_REGISTRY_PROGRESS_JSON = 3,
    /// Only the final reference.
    ISULA_REGISTRY_PROGRESS_QUIET = 4,
}

/// Turns a pull's progress into text (opaque).
pub struct isula_registry_renderer {
    pub(super) renderer: Renderer,
}

/// Starts `registry_pull(options)` on a new thread and returns its handle
/// at once (NULL if `options` lacks an image or destination name). The
/// options are copied; a `progress_status_store` in them is fed too and
/// must live until `isula_registry_pull_free`.
///
/// # Safety
/// `options` is NULL or valid, with NULL or C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_start(
    options: *const registry_pull_options,
) -> *mut isula_registry_pull {
    guard("isula_registry_pull_start", std::ptr::null_mut(), || {
        // SAFETY: `options` is NULL or valid, as # Safety requires.
        let Some(o) = (unsafe { options.as_ref() }) else {
            return std::ptr::null_mut();
        };
        // SAFETY: its strings are NULL or C strings, as # Safety requires.
        let opts = match unsafe { pull_options(o) } {
            Ok(opts) => opts,
            Err(e) => {
                super::last_error::set(&e.to_string());
                return std::ptr::null_mut();
            }
        };
        let extra = MapHandle::feed(o.progress_status_store)
            .map(|feed| Box::new(feed) as Box<dyn Observer>);
        let session = PullSession::start(opts, extra);
        Box::into_raw(Box::new(isula_registry_pull {
            session,
            error: OnceLock::new(),
        }))
    })
}

/// Waits up to `timeout_ms` (negative: for ever) for the pull to end.
/// True when it has ended.
///
/// # Safety
/// `pull` is NULL or from `isula_registry_pull_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_wait(
    pull: *mut isula_registry_pull,
    timeout_ms: c_int,
) -> bool {
    guard("isula_registry_pull_wait", false, || {
        // SAFETY: `pull` is NULL or a live handle, as # Safety requires.
        let Some(p) = (unsafe { pull.as_ref() }) else {
            return false;
        };
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match p.session.wait(timeout) {
            Some(Ended::Failed(reason)) => {
                p.error.get_or_init(|| {
                    std::ffi::CString::new(reason.replace('\0', " ")).unwrap_or_default()
                });
                true
            }
            Some(Ended::Ok { .. }) => true,
            None => false,
        }
    })
}

/// The result of an ended pull: 0 success, -1 failure; 1 while running.
///
/// # Safety
/// `pull` is NULL or from `isula_registry_pull_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_result(pull: *mut isula_registry_pull) -> c_int {
    guard("isula_registry_pull_result", -1, || {
        // SAFETY: `pull` is NULL or a live handle, as # Safety requires.
        match unsafe { isula_registry_pull_wait(pull, 0) } {
            false if pull.is_null() => -1,
            false => 1,
            // SAFETY: non-NULL per the check above.
            true => match unsafe { &*pull }.error.get() {
                Some(_) => -1,
                None => 0,
            },
        }
    })
}

/// The message of a failed pull (NULL otherwise), valid until
/// `isula_registry_pull_free`.
///
/// # Safety
/// `pull` is NULL or from `isula_registry_pull_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_error(
    pull: *mut isula_registry_pull,
) -> *const c_char {
    guard("isula_registry_pull_error", std::ptr::null(), || {
        // SAFETY: `pull` is NULL or a live handle, as # Safety requires.
        if !unsafe { isula_registry_pull_wait(pull, 0) } {
            return std::ptr::null();
        }
        // SAFETY: isula_registry_pull_wait returned true, so pull is not NULL.
        unsafe { &*pull }
            .error
            .get()
            .map_or(std::ptr::null(), |e| e.as_ptr())
    })
}

/// Asks the pull to stop: it ends within about a second with "pull
/// cancelled" and leaves nothing behind. Only sets a flag: safe to call
/// from a signal handler or another thread.
///
/// # Safety
/// `pull` is NULL or from `isula_registry_pull_start`, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_cancel(pull: *mut isula_registry_pull) {
    // The guard costs nothing unless a panic happens, and nothing here
    // allocates or locks, so this stays safe in a signal handler.
    guard("isula_registry_pull_cancel", (), || {
        // SAFETY: `pull` is NULL or a live handle, as # Safety requires.
        if let Some(p) = unsafe { pull.as_ref() } {
            p.session.cancel();
        }
    })
}

/// Cancels the pull if it still runs, waits for its end and frees it.
///
/// # Safety
/// `pull` is NULL or from `isula_registry_pull_start`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_pull_free(pull: *mut isula_registry_pull) {
    guard("isula_registry_pull_free", (), || {
        if pull.is_null() {
            return;
        }
        // SAFETY: allocated by Box in isula_registry_pull_start.
        let p = unsafe { Box::from_raw(pull) };
        p.session.cancel();
        p.session.wait(None);
    })
}

/// A renderer for one output. `AUTO` picks `TTY` when `fd` is a terminal,
/// else `PLAIN` (TERM is never consulted).
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_renderer_new(
    mode: isula_registry_progress_mode,
    fd: c_int,
) -> *mut isula_registry_renderer {
    guard("isula_registry_renderer_new", std::ptr::null_mut(), || {
        use isula_registry_progress_mode::*;
        let mode = match mode {
            ISULA_REGISTRY_PROGRESS_TTY => Mode::Tty,
            ISULA_REGISTRY_PROGRESS_PLAIN => Mode::Plain,
            ISULA_REGISTRY_PROGRESS_JSON => Mode::Json,
            ISULA_REGISTRY_PROGRESS_QUIET => Mode::Quiet,
            // SAFETY: isatty only inspects the descriptor.
            ISULA_REGISTRY_PROGRESS_AUTO if unsafe { libc::isatty(fd) } == 1 => Mode::Tty,
            ISULA_REGISTRY_PROGRESS_AUTO => Mode::Plain,
        };
        Box::into_raw(Box::new(isula_registry_renderer {
            renderer: Renderer::new(mode),
        }))
    })
}

/// Frees a renderer (NULL is fine).
///
/// # Safety
/// `r` is NULL or from `isula_registry_renderer_new`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_renderer_free(r: *mut isula_registry_renderer) {
    guard("isula_registry_renderer_free", (), || {
        if !r.is_null() {
            // SAFETY: allocated by Box in isula_registry_renderer_new.
            drop(unsafe { Box::from_raw(r) });
        }
    })
}

/// The text to write now for `pull` (malloc'd; "" when nothing changed;
/// NULL on bad arguments). `width` and `height` are the terminal's size in
/// columns and rows (0: unknown; read them again before each call, so a
/// resize is followed): in `TTY` mode the redrawn block never takes more
/// than `height - 1` rows, folding finished layers into one line when the
/// layers do not fit. Once the pull has ended this writes the last frame
/// (every layer) and the final lines (Digest, Status, reference, or the
/// error), once.
///
/// # Safety
/// `r` and `pull` are NULL or live handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn isula_registry_render(
    r: *mut isula_registry_renderer,
    pull: *mut isula_registry_pull,
    width: c_uint,
    height: c_uint,
) -> *mut c_char {
    guard("isula_registry_render", std::ptr::null_mut(), || {
        // SAFETY: `r` and `pull` are NULL or live handles, as # Safety requires.
        let (Some(r), Some(p)) = (unsafe { r.as_mut() }, unsafe { pull.as_ref() }) else {
            return std::ptr::null_mut();
        };
        let (width, height) = terminal_size(width, height);
        let ended = p.session.wait(Some(Duration::ZERO)).is_some();
        let snap = p.session.snapshot();
        let text = if ended {
            r.renderer.finish(&snap, width, height, snap.at_ms)
        } else {
            r.renderer.frame(&snap, width, height, snap.at_ms)
        };
        strdup(&text)
    })
}

/// The renderer's width and height from the C arguments: a width of 0 is
/// Docker's default, a height of 0 stays 0 (no limit); larger than a
/// terminal can be is clamped.
pub(super) fn terminal_size(width: c_uint, height: c_uint) -> (c_ushort, c_ushort) {
    let width = match c_ushort::try_from(width) {
        Ok(0) | Err(_) => UNKNOWN_WIDTH,
        Ok(w) => w,
    };
    (width, c_ushort::try_from(height).unwrap_or(c_ushort::MAX))
}

/// `(columns, rows)` of the terminal on `fd`, `(0, 0)` when it is not one.
fn winsize(fd: c_int) -> (c_uint, c_uint) {
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 {
            (c_uint::from(ws.ws_col), c_uint::from(ws.ws_row))
        } else {
            (0, 0)
        }
    }
}

/// The width of the terminal on `fd`, or 0 when it is not a terminal.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_terminal_width(fd: c_int) -> c_uint {
    guard("isula_registry_terminal_width", 0, || winsize(fd).0)
}

/// The height (rows) of the terminal on `fd`, or 0 when it is not a
/// terminal. Pass it with the width to `isula_registry_render`.
#[unsafe(no_mangle)]
pub extern "C" fn isula_registry_terminal_height(fd: c_int) -> c_uint {
    guard("isula_registry_terminal_height", 0, || winsize(fd).1)
}
