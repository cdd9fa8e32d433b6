//! Blob downloads shared by concurrent pulls in this process: the first
//! pull that needs a blob downloads it; the others wait, mirror its byte
//! count for their own progress, and then hard-link the finished file. If
//! the download fails, a waiter tries again itself (a failure is never
//! sticky, unlike iSulad's W12).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use crate::digest::LayerDigests;

/// A finished download: where the file is and what it hashed to.
#[derive(Clone, Debug)]
pub struct Landed {
    pub path: PathBuf,
    pub digests: LayerDigests,
}

#[derive(Default)]
struct Flight {
    bytes: AtomicU64,
    /// `None` while running; then the outcome (an error as text).
    outcome: Mutex<Option<Result<Landed, String>>>,
    done: Condvar,
}

/// A blob in a store: (store root, digest).
type Key = (PathBuf, String);

/// In-flight downloads.
static FLIGHTS: LazyLock<Mutex<HashMap<Key, Arc<Flight>>>> = LazyLock::new(Default::default);

/// A download: publishes its byte count through the callback it is given.
pub type Download<'a, E> = dyn FnMut(&dyn Fn(u64)) -> Result<Landed, E> + 'a;

/// What the caller of [`share`] did.
pub enum Role {
    /// This pull downloaded the blob; while the [`Release`] lives, later
    /// pulls link this file instead of fetching the blob again.
    Owner(Landed, Release),
    /// Another pull did; here is its file (link it before it goes away).
    Waiter(Landed),
}

/// Keeps a finished download visible to other pulls until dropped (when
/// the owner's pull ends and its files go).
pub struct Release(Key);

impl Drop for Release {
    fn drop(&mut self) {
        FLIGHTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

/// Downloads `digest` with `download` unless another pull of the same
/// store is already doing so; `on_bytes` sees the byte count either way.
/// `download` gets a callback to publish its byte count to waiters;
/// `check_cancel` ends a wait early.
pub fn share<E: ToString>(
    store: PathBuf,
    digest: &str,
    on_bytes: &mut dyn FnMut(u64),
    download: &mut Download<'_, E>,
    check_cancel: &dyn Fn() -> Result<(), E>,
) -> Result<Role, E> {
    let key = (store, digest.to_string());
    loop {
        let (flight, owner) = {
            let mut flights = FLIGHTS.lock().unwrap_or_else(PoisonError::into_inner);
            match flights.get(&key) {
                Some(f) => (f.clone(), false),
                None => {
                    let f = Arc::new(Flight::default());
                    flights.insert(key.clone(), f.clone());
                    (f, true)
                }
            }
        };
        if owner {
            let publish = |n: u64| flight.bytes.store(n, Ordering::Relaxed);
            let result = download(&publish);
            *flight
                .outcome
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(result.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
            flight.done.notify_all();
            return match result {
                Ok(landed) => Ok(Role::Owner(landed, Release(key))),
                Err(e) => {
                    // a failure is not kept: the next pull tries afresh
                    drop(Release(key));
                    Err(e)
                }
            };
        }
        let mut outcome = flight
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while outcome.is_none() {
            on_bytes(flight.bytes.load(Ordering::Relaxed));
            check_cancel()?;
            outcome = flight
                .done
                .wait_timeout(outcome, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if let Some(Ok(landed)) = outcome.as_ref() {
            return Ok(Role::Waiter(landed.clone()));
        }
        // the owner failed: try again, maybe as the owner this time
    }
}
