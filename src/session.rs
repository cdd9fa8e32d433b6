//! A pull running on its own thread, watched from another: the progress
//! model it feeds (see progress::model), its outcome, and its cancel flag.
//! This is what the C API's `isula_registry_pull` handle wraps.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::api::{self, PullOptions};
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
