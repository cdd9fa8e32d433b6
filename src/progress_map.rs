//! The progress status map: `{dlnow, dltotal}` per key (a blob digest),
//! shared between the threads of a pull and whoever displays progress.
//!
//! iSulad's map is a red-black tree behind a pthread mutex that C callers
//! lock explicitly while they walk it. Here the explicit lock is a "holder"
//! marker: while a thread holds it, other threads' reads wait and their
//! updates are parked, to land when the holder unlocks, so a slow reader
//! never slows a download. The holder itself can still read (so
//! `lock; read all; unlock` works from C without deadlocking).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

/// Bytes of one transfer: what curl reports (`dlnow`, `dltotal`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub dlnow: i64,
    pub dltotal: i64,
}

#[derive(Default)]
struct State {
    entries: BTreeMap<String, Progress>,
    /// Updates made while another thread held the map.
    parked: BTreeMap<String, Progress>,
    holder: Option<ThreadId>,
}

/// Thread-safe map from key to [`Progress`], iterated in key order.
#[derive(Default)]
pub struct ProgressStatusMap {
    state: Mutex<State>,
    released: Condvar,
}

impl ProgressStatusMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until no other thread holds the explicit lock.
    fn access(&self) -> MutexGuard<'_, State> {
        let me = thread::current().id();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.holder.is_some_and(|h| h != me) {
            state = self
                .released
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    /// Inserts or overwrites `key`. Never waits for the holder of the
    /// explicit lock: while another thread holds it, the value is parked
    /// and lands at its unlock (values are absolute, so the latest wins).
    pub fn update(&self, key: &str, dlnow: i64, dltotal: i64) {
        let me = thread::current().id();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let progress = Progress { dlnow, dltotal };
        let held_by_other = state.holder.is_some_and(|h| h != me);
        let target = if held_by_other {
            &mut state.parked
        } else {
            &mut state.entries
        };
        match target.get_mut(key) {
            Some(slot) => *slot = progress,
            None => {
                target.insert(key.to_string(), progress);
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<Progress> {
        self.access().entries.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.access().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A consistent copy of every entry, in key (byte) order.
    pub fn snapshot(&self) -> Vec<(String, Progress)> {
        self.access()
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Takes the explicit lock for the calling thread (re-entrant).
    pub fn lock(&self) {
        let me = thread::current().id();
        let mut state = self.access();
        state.holder = Some(me);
    }

    /// Releases the explicit lock if the calling thread holds it.
    /// Returns false when it did not.
    pub fn unlock(&self) -> bool {
        let me = thread::current().id();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.holder != Some(me) {
            return false;
        }
        state.holder = None;
        let parked = std::mem::take(&mut state.parked);
        state.entries.extend(parked);
        drop(state);
        self.released.notify_all();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn update_overwrites_and_orders_by_key() {
        let m = ProgressStatusMap::new();
        m.update("sha256:b", 1, 10);
        m.update("sha256:a", 2, 20);
        m.update("sha256:b", 5, 10);
        assert_eq!(m.len(), 2);
        let keys: Vec<_> = m.snapshot().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["sha256:a", "sha256:b"]);
        assert_eq!(
            m.get("sha256:b"),
            Some(Progress {
                dlnow: 5,
                dltotal: 10
            })
        );
    }

    #[test]
    fn holder_sees_a_stable_map_and_updates_never_wait() {
        let m = Arc::new(ProgressStatusMap::new());
        m.update("k", 1, 2);
        m.lock();
        assert_eq!(m.snapshot().len(), 1, "holder reads while holding the lock");
        let m2 = m.clone();
        // would hang here if an update waited for the holder
        thread::spawn(move || {
            m2.update("k", 3, 4);
            m2.update("new", 5, 6);
        })
        .join()
        .unwrap();
        assert_eq!(
            m.get("k"),
            Some(Progress {
                dlnow: 1,
                dltotal: 2
            }),
            "parked while held"
        );
        assert_eq!(m.len(), 1);
        let done = Arc::new(AtomicBool::new(false));
        let (m3, done3) = (m.clone(), done.clone());
        let reader = thread::spawn(move || {
            let n = m3.len();
            done3.store(true, Ordering::SeqCst);
            n
        });
        thread::sleep(Duration::from_millis(100));
        assert!(
            !done.load(Ordering::SeqCst),
            "other readers wait for the holder"
        );
        assert!(m.unlock());
        assert_eq!(reader.join().unwrap(), 2);
        assert_eq!(
            m.get("k"),
            Some(Progress {
                dlnow: 3,
                dltotal: 4
            }),
            "parked update landed"
        );
        assert!(!m.unlock(), "unlock without holding reports false");
    }
}
