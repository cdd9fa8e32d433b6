//! A pull running on its own thread, watched from another: the progress
//! model it feeds (see progress::model), its outcome, and its cancel flag.
//! This is what the C API's `isula_registry_pull` handle wraps.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::api::{self, PullOptions};
use crate::distribution::reference;
use crate::error::Error;
use crate::progress::model::{EntryKind, Event, Phase, PullProgress, Snapshot};
use crate::pull::{Observer, Report};

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
    /// The reference the pull was asked for (`Pulling from`, final line).
    image: String,
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
            image: options.image.clone(),
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

    fn apply(&self, events: Vec<Event>) {
        let now = self.now_ms();
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        for e in events {
            model.apply(e, now);
        }
    }
}

impl Drop for PullSession {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// How a layer being stored is shown: the daemon registers (unpacks) it,
/// the embedded store just moves the verified blob in (Docker's word for
/// that step is "Extracting").
#[cfg(feature = "isulad")]
const REGISTERING: Phase = Phase::Registering;
#[cfg(not(feature = "isulad"))]
const REGISTERING: Phase = Phase::Extracting;

/// The model's events for one report of the pull.
pub fn events_for(report: &Report, image: &str) -> Vec<Event> {
    let phase = |id: &str, phase: Phase| Event::Phase {
        id: id.to_string(),
        phase,
    };
    match report {
        Report::Resolving { name } => {
            let (id, repo) = match reference::split_image_name(name) {
                Ok(r) => (r.tag, r.name),
                Err(_) => (String::new(), name.clone()),
            };
            vec![Event::Pulling { id, name: repo }]
        }
        Report::Resolved { layers, config } => {
            let mut events = vec![Event::Layers(layers.clone())];
            if !config.0.is_empty() {
                events.push(Event::Add {
                    id: config.0.clone(),
                    kind: EntryKind::Config,
                    total: config.1,
                });
            }
            events
        }
        Report::LayerExists { digest } => vec![phase(digest, Phase::AlreadyExists)],
        Report::Downloading {
            digest, current, ..
        } => vec![Event::Bytes {
            id: digest.clone(),
            current: *current,
        }],
        Report::Retrying {
            digest,
            attempt,
            wait,
        } => vec![phase(
            digest,
            Phase::Retrying {
                in_secs: u32::try_from(wait.as_secs()).unwrap_or(u32::MAX),
                attempt: *attempt,
            },
        )],
        Report::Restarted { digest } => vec![Event::Restart { id: digest.clone() }],
        Report::Verifying { digest } => vec![phase(digest, Phase::Verifying)],
        Report::Downloaded { digest } => vec![phase(digest, Phase::DownloadComplete)],
        // the embedded store moves the blob in; the daemon unpacks it
        Report::Registering { digest } => vec![phase(digest, REGISTERING)],
        Report::Registered { digest } => vec![phase(digest, Phase::PullComplete)],
        Report::Digest { digest } => vec![Event::Digest(digest.clone())],
        Report::Done { name, up_to_date } => {
            vec![Event::Done {
                name: name.clone(),
                reference: image.to_string(),
                up_to_date: *up_to_date,
            }]
        }
        Report::Failed { digest, reason } => {
            let mut events = Vec::new();
            if let Some(d) = digest {
                events.push(phase(d, Phase::Failed(reason.clone())));
            }
            events.push(Event::Failed(reason.clone()));
            events
        }
    }
}

impl Observer for PullSession {
    fn report(&self, report: Report) {
        if let Some(extra) = &self.extra {
            extra.report(report.clone());
        }
        self.apply(events_for(&report, &self.image));
    }
}
