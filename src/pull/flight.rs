//! Blob downloads shared by concurrent pulls in this process: the first
//! pull that needs a blob downloads it; the others wait, mirror its byte
//! count for their own progress, and then hard-link the finished file. If
//! the download fails, a waiter tries again itself: a failure is never
//! sticky (in iSulad's registry.c, `fetch_layer` waiting on another pull's
//! download failed with it, and new pulls of that blob failed at once until
//! every waiter had cleaned up).

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

/// The owner's hold on a running flight: ended with its outcome, or, when
/// dropped without one (a panic unwinding), ended as failed and removed,
/// so that waiters and later pulls never wait for it forever.
struct Owning<'a> {
    flight: &'a Flight,
    key: Option<Key>,
}

impl Owning<'_> {
    fn end(mut self, outcome: Result<Landed, String>) {
        self.key = None;
        self.publish(outcome);
    }

    fn publish(&self, outcome: Result<Landed, String>) {
        *self
            .flight
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.flight.done.notify_all();
    }
}

impl Drop for Owning<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.publish(Err("the download panicked".to_string()));
            drop(Release(key));
        }
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
            // should `download` panic, the guard ends the flight as failed
            let guard = Owning {
                flight: &flight,
                key: Some(key.clone()),
            };
            let publish = |n: u64| flight.bytes.store(n, Ordering::Relaxed);
            let result = download(&publish);
            guard.end(result.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    #[test]
    fn a_panicking_download_releases_its_blob() {
        let store = PathBuf::from("/nonexistent/flight-test");
        let digest = "sha256:panics";
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _ = share::<String>(
                store.clone(),
                digest,
                &mut |_| {},
                &mut |_| panic!("boom"),
                &|| Ok(()),
            );
        }));
        assert!(panicked.is_err());
        // the next pull of the blob owns it at once instead of waiting forever
        let mut ran = false;
        let role = share::<String>(
            store,
            digest,
            &mut |_| {},
            &mut |_| {
                ran = true;
                Err("fetched again".to_string())
            },
            &|| Err("waited instead of fetching".to_string()),
        );
        assert_eq!(role.err().as_deref(), Some("fetched again"));
        assert!(ran);
    }
}
