//! A pull running on its own thread, watched from another: the progress
//! model it feeds (see progress::model), its outcome, and its cancel flag.
//! This is what the C API's `isula_registry_pull` handle wraps.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{self as api, PullOptions};
use crate::error::Error;
use crate::progress::event::{Event, Observer};
use crate::progress::model::{PullProgress, Snapshot};

/// How a pull ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    Ok { up_to_date: bool },
    Failed(String),
}

/// Shared between the pull's thread and its watchers.
pub struct PullSession {
    started: Instant,
    model: Mutex<PullProgress>,
    cancel: Arc<AtomicBool>,
    ended: Mutex<Option<Ended>>,
    ended_cv: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Feeds another observer too (e.g. iSulad's progress map).
    extra: Option<Box<dyn Observer>>,
}

impl PullSession {
    /// Starts pulling on a new thread.
    pub fn start(options: PullOptions, extra: Option<Box<dyn Observer>>) -> Arc<PullSession> {
        let session = Arc::new(PullSession {
            started: Instant::now(),
            model: Mutex::new(PullProgress::new()),
            cancel: Arc::new(AtomicBool::new(false)),
            ended: Mutex::new(None),
            ended_cv: Condvar::new(),
            thread: Mutex::new(None),
            extra,
        });
        let worker = session.clone();
        let handle = thread::Builder::new()
            .name("isula-pull".to_string())
            .spawn(move || {
                // whatever happens, the pull ends: a waiter never waits forever
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    api::pull(&options, worker.as_ref(), worker.cancel.clone())
                }))
                .unwrap_or_else(|p| Err(Error::from_panic("the pull", p.as_ref())));
                let ended = match result {
                    Ok(p) => Ended::Ok {
                        up_to_date: p.up_to_date,
                    },
                    Err(e) => Ended::Failed(e.to_string()),
                };
                *worker.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(ended);
                worker.ended_cv.notify_all();
            });
        match handle {
            Ok(h) => {
                *session
                    .thread
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(h)
            }
            Err(e) => {
                *session.ended.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(Ended::Failed(format!("cannot start the pull thread: {e}")));
            }
        }
        session
    }

    /// Milliseconds since the pull started (the model's clock).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Asks the pull to stop; it ends within about a second, leaving nothing.
    /// Only sets a flag, so it is safe from a signal handler.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits up to `timeout` for the end; the outcome if it came.
    pub fn wait(&self, timeout: Option<Duration>) -> Option<Ended> {
        let guard = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        let guard = match timeout {
            Some(t) => {
                self.ended_cv
                    .wait_timeout_while(guard, t, |e| e.is_none())
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => self
                .ended_cv
                .wait_while(guard, |e| e.is_none())
                .unwrap_or_else(PoisonError::into_inner),
        };
        let ended = guard.clone();
        drop(guard);
        if ended.is_some() {
            self.join();
        }
        ended
    }

    fn join(&self) {
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// The progress as of now.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now_ms();
        self.model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot(now)
    }
}

impl Drop for PullSession {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl Observer for PullSession {
    fn observe(&self, event: Event) {
        if let Some(extra) = &self.extra {
            extra.observe(event.clone());
        }
        let now = self.now_ms();
        self.model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(event, now);
    }
}

#[cfg(all(test, not(feature = "isulad")))]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::MutexGuard;
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// Records what the session passes on to its extra observer.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Event>>);

    impl Observer for Arc<Recorder> {
        fn observe(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }

    /// A server on 127.0.0.1 that accepts connections and never answers,
    /// until dropped.
    struct Silent {
        port: u16,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl Silent {
        fn start() -> Silent {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let thread = thread::spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => held.push(s),
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
            Silent {
                port,
                stop,
                thread: Some(thread),
            }
        }
    }

    impl Drop for Silent {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// A port on 127.0.0.1 where nothing listens.
    fn closed_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn options(port: u16) -> PullOptions {
        PullOptions {
            image: format!("127.0.0.1:{port}/test/session:v1"),
            dest: "session:v1".into(),
            insecure: true,
            ..PullOptions::default()
        }
    }

    /// A store of its own for the test; the store root is process-wide,
    /// so these tests take turns.
    fn store() -> (MutexGuard<'static, ()>, tempfile::TempDir) {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        api::set_root(dir.path().join("store"));
        (turn, dir)
    }

    /// A generous bound: the pull ends long before, or the test hangs.
    const HANG_GUARD: Duration = Duration::from_secs(60);

    #[test]
    fn a_failed_pull_ends_once_for_every_waiter() {
        let _store = store();
        let rec = Arc::new(Recorder::default());
        let session = PullSession::start(options(closed_port()), Some(Box::new(rec.clone())));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let s = session.clone();
                thread::spawn(move || s.wait(Some(HANG_GUARD)))
            })
            .collect();
        let ends: Vec<_> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        let Some(Ended::Failed(reason)) = &ends[0] else {
            panic!("expected a failure, got {:?}", ends[0]);
        };
        assert!(ends.iter().all(|e| e == &ends[0]), "{ends:?}");
        assert_eq!(
            session.wait(Some(Duration::ZERO)),
            ends[0],
            "an ended pull stays ended"
        );
        assert_eq!(session.wait(None), ends[0]);
        let snap = session.snapshot();
        assert!(
            matches!(&snap.outcome, crate::progress::model::Outcome::Failed(r) if r == reason),
            "{:?}",
            snap.outcome
        );
        let events = rec.0.lock().unwrap().clone();
        assert!(
            matches!(events.first(), Some(Event::Pulling { id, .. }) if id == "v1"),
            "{events:?}"
        );
        assert_eq!(events.last(), Some(&Event::Failed(reason.clone())));
    }

    #[test]
    fn a_running_pull_waits_then_ends_when_cancelled() {
        let _store = store();
        let server = Silent::start();
        let session = PullSession::start(options(server.port), None);
        assert_eq!(
            session.wait(Some(Duration::from_millis(300))),
            None,
            "the server never answers: still running"
        );
        assert_eq!(session.snapshot().outcome, Default::default());
        session.cancel();
        let started = Instant::now();
        let ended = session.wait(Some(HANG_GUARD));
        assert_eq!(ended, Some(Ended::Failed("pull cancelled".into())));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "cancel took {:?}",
            started.elapsed()
        );
        drop(server);
    }
}
