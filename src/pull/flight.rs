//! Blob downloads shared by concurrent pulls in this process: the first
//! pull that needs a blob downloads it; the others wait, mirror its byte
//! count for their own progress, and then hard-link the finished file. If
//! the download fails, a waiter tries again itself: a failure is never
//! shared nor sticky (in iSulad's registry.c every pull waiting on a blob
//! fails with its owner, and new pulls of it fail until the waiters are
//! gone).
//!
//! A download may also end with no file (`None`): the blob turned out to
//! be stored meanwhile, by a pull of another process this one waited for.

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
    outcome: Mutex<Option<Result<Option<Landed>, String>>>,
    done: Condvar,
}

/// A blob in a store: (store root, digest).
type Key = (PathBuf, String);

/// In-flight downloads.
static FLIGHTS: LazyLock<Mutex<HashMap<Key, Arc<Flight>>>> = LazyLock::new(Default::default);

/// A download: publishes its byte count through the callback it is given;
/// `None` when it found the blob stored meanwhile.
pub type Download<'a, E> = dyn FnMut(&dyn Fn(u64)) -> Result<Option<Landed>, E> + 'a;

/// What the caller of [`share`] did.
pub enum Role {
    /// This pull downloaded the blob; while the [`Release`] lives, later
    /// pulls link this file instead of fetching the blob again.
    Owner(Option<Landed>, Release),
    /// Another pull did; here is its file (link it before it goes away).
    Waiter(Option<Landed>),
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
    fn end(mut self, outcome: Result<Option<Landed>, String>) {
        self.key = None;
        self.publish(outcome);
    }

    fn publish(&self, outcome: Result<Option<Landed>, String>) {
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

    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc::{self, Receiver};
    use std::thread;

    /// A bound on every wait of these tests: a hang fails instead of hanging.
    const HANG: Duration = Duration::from_secs(30);

    fn landed(name: &str) -> Landed {
        Landed {
            path: PathBuf::from(name),
            digests: LayerDigests {
                blob: crate::digest::Digested {
                    digest: format!("sha256:{name}"),
                    size: 7,
                },
                diff: crate::digest::Digested {
                    digest: format!("sha256:{name}-tar"),
                    size: 7,
                },
                compression: crate::digest::Compression::None,
            },
        }
    }

    fn in_flight(store: &str, digest: &str) -> bool {
        FLIGHTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&(PathBuf::from(store), digest.to_string()))
    }

    fn role_name(r: &Result<Role, String>) -> String {
        match r {
            Ok(Role::Owner(Some(l), _)) => format!("owner {}", l.path.display()),
            Ok(Role::Waiter(Some(l))) => format!("waiter {}", l.path.display()),
            Ok(Role::Owner(None, _)) => "owner, stored elsewhere".to_string(),
            Ok(Role::Waiter(None)) => "waiter, stored elsewhere".to_string(),
            Err(e) => format!("error {e}"),
        }
    }

    /// How a test owner's download ends.
    type Outcome = Result<Option<Landed>, String>;

    /// Starts an owner whose download reports `started`, publishes 7 bytes
    /// and then ends with what `finish` sends it.
    fn owner(
        store: &'static str,
        digest: &'static str,
    ) -> (mpsc::Sender<Outcome>, Receiver<()>, Receiver<String>) {
        let (finish_tx, finish_rx) = mpsc::channel::<Outcome>();
        let (started_tx, started_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || {
            let r = share::<String>(
                PathBuf::from(store),
                digest,
                &mut |_| {},
                &mut |publish| {
                    publish(7);
                    started_tx.send(()).unwrap();
                    finish_rx.recv_timeout(HANG).unwrap()
                },
                &|| Ok(()),
            );
            // the Release (if any) goes with the role, after the report
            done_tx.send(role_name(&r)).unwrap();
        });
        (finish_tx, started_rx, done_rx)
    }

    /// Starts a waiter on a blob an owner is downloading: `waiting` fires at
    /// its first look at the owner's bytes (the owner's 7 by then);
    /// `cancel` ends its wait; its own download, should it run, lands
    /// `mine`.
    fn waiter(
        store: &'static str,
        digest: &'static str,
        cancel: Arc<AtomicBool>,
    ) -> (Receiver<u64>, Receiver<(String, bool)>) {
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut downloaded = false;
            let r = share::<String>(
                PathBuf::from(store),
                digest,
                &mut |n| {
                    let _ = waiting_tx.send(n);
                },
                &mut |_| {
                    downloaded = true;
                    Ok(Some(landed("mine")))
                },
                &|| {
                    if cancel.load(Ordering::Relaxed) {
                        Err("cancelled".to_string())
                    } else {
                        Ok(())
                    }
                },
            );
            done_tx.send((role_name(&r), downloaded)).unwrap();
        });
        (waiting_rx, done_rx)
    }

    #[test]
    fn a_waiter_gets_the_owners_file() {
        let (store, digest) = ("/nonexistent/flight-shared", "sha256:shared");
        let (finish, started, owner_done) = owner(store, digest);
        started.recv_timeout(HANG).unwrap();
        let (waiting, waiter_done) = waiter(store, digest, Arc::default());
        assert_eq!(waiting.recv_timeout(HANG).unwrap(), 7, "the owner's bytes");
        finish.send(Ok(Some(landed("theirs")))).unwrap();
        assert_eq!(
            waiter_done.recv_timeout(HANG).unwrap(),
            ("waiter theirs".to_string(), false),
            "the waiter links the owner's file and downloads nothing"
        );
        assert_eq!(owner_done.recv_timeout(HANG).unwrap(), "owner theirs");
        // the owner's thread has dropped its Release with its role
        assert!(
            wait_for(|| !in_flight(store, digest)),
            "the entry goes with the owner's release"
        );
    }

    fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < HANG {
            if f() {
                return true;
            }
            thread::yield_now();
        }
        false
    }

    #[test]
    fn when_the_owner_fails_a_waiter_downloads_itself() {
        let (store, digest) = ("/nonexistent/flight-fails", "sha256:fails");
        let (finish, started, owner_done) = owner(store, digest);
        started.recv_timeout(HANG).unwrap();
        let (waiting, waiter_done) = waiter(store, digest, Arc::default());
        waiting.recv_timeout(HANG).unwrap();
        finish.send(Err("connection reset".to_string())).unwrap();
        assert_eq!(
            owner_done.recv_timeout(HANG).unwrap(),
            "error connection reset",
            "the owner gets its own failure"
        );
        assert_eq!(
            waiter_done.recv_timeout(HANG).unwrap(),
            ("owner mine".to_string(), true),
            "a failure is not shared: the waiter takes over and downloads"
        );
        assert!(
            wait_for(|| !in_flight(store, digest)),
            "the entry goes with the waiter's release"
        );
    }

    #[test]
    fn a_cancelled_waiter_leaves_the_owner_alone() {
        let (store, digest) = ("/nonexistent/flight-cancel", "sha256:cancel");
        let (finish, started, owner_done) = owner(store, digest);
        started.recv_timeout(HANG).unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let (waiting, waiter_done) = waiter(store, digest, cancel.clone());
        waiting.recv_timeout(HANG).unwrap();
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(
            waiter_done.recv_timeout(HANG).unwrap(),
            ("error cancelled".to_string(), false)
        );
        assert!(in_flight(store, digest), "the owner's download goes on");
        finish.send(Ok(Some(landed("theirs")))).unwrap();
        assert_eq!(owner_done.recv_timeout(HANG).unwrap(), "owner theirs");
        assert!(
            wait_for(|| !in_flight(store, digest)),
            "no entry is left once the owner is done"
        );
    }

    #[test]
    fn a_waiter_takes_over_from_an_owner_that_panics() {
        let (store, digest) = ("/nonexistent/flight-panic", "sha256:panic");
        let (started_tx, started_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let panicker = thread::spawn(move || {
            let _ = share::<String>(
                PathBuf::from(store),
                digest,
                &mut |_| {},
                &mut |publish| {
                    publish(7);
                    started_tx.send(()).unwrap();
                    go_rx.recv_timeout(HANG).unwrap();
                    panic!("boom in the download");
                },
                &|| Ok(()),
            );
        });
        started_rx.recv_timeout(HANG).unwrap();
        let (waiting, waiter_done) = waiter(store, digest, Arc::default());
        waiting.recv_timeout(HANG).unwrap();
        go_tx.send(()).unwrap();
        assert!(panicker.join().is_err(), "the owner's thread panicked");
        assert_eq!(
            waiter_done.recv_timeout(HANG).unwrap(),
            ("owner mine".to_string(), true),
            "the waiter is not left waiting: it downloads itself"
        );
        assert!(
            wait_for(|| !in_flight(store, digest)),
            "nothing is left behind"
        );
    }

    #[test]
    fn blobs_of_different_stores_are_not_shared() {
        let digest = "sha256:two-stores";
        let (finish, started, owner_done) = owner("/nonexistent/flight-a", digest);
        started.recv_timeout(HANG).unwrap();
        let (_, other) = waiter("/nonexistent/flight-b", digest, Arc::default());
        assert_eq!(
            other.recv_timeout(HANG).unwrap(),
            ("owner mine".to_string(), true)
        );
        finish.send(Ok(Some(landed("a")))).unwrap();
        assert_eq!(owner_done.recv_timeout(HANG).unwrap(), "owner a");
    }
}
