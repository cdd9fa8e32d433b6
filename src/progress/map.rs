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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use super::event::{Event, Observer};

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

/// Where `{dlnow, dltotal}` pairs go: this library's map, or (in the
/// daemon) iSulad's own through its update function.
pub trait MapTarget: Send + Sync {
    fn update(&self, key: &str, dlnow: i64, dltotal: i64);

    /// The bytes of layer `position` (bottom first) of the manifest. A map
    /// whose keys reach users as they are may key it by [`display_key`];
    /// by default the key is the digest.
    fn update_layer(&self, digest: &str, _position: usize, dlnow: i64, dltotal: i64) {
        self.update(digest, dlnow, dltotal);
    }
}

/// The key of layer `position` in a map that is shown by its keys, as
/// iSulad's: its client lists the entries in key order and names each by
/// the key's last 12 characters. So the key starts with the position
/// (manifest order) and ends with Docker's short id, the first 12 hex
/// digits of the digest; the whole digest in between keeps keys unique.
pub fn display_key(digest: &str, position: usize) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    let short = hex.get(..12).unwrap_or(hex);
    format!("{position:05}:{digest}:{short}")
}

impl MapTarget for ProgressStatusMap {
    fn update(&self, key: &str, dlnow: i64, dltotal: i64) {
        ProgressStatusMap::update(self, key, dlnow, dltotal);
    }
}

impl<T: MapTarget + ?Sized> MapTarget for &T {
    fn update(&self, key: &str, dlnow: i64, dltotal: i64) {
        (**self).update(key, dlnow, dltotal);
    }
    fn update_layer(&self, digest: &str, position: usize, dlnow: i64, dltotal: i64) {
        (**self).update_layer(digest, position, dlnow, dltotal);
    }
}

/// Feeds a pull's events into a `{dlnow, dltotal}` map, as iSulad's
/// progress map expects them: per blob digest the absolute bytes received
/// and the manifest's size as the total (`0` when the manifest has none),
/// so a resumed download never goes back. A blob enters the map with its
/// first bytes event, not before.
pub struct MapFeed<T> {
    target: T,
    /// Sizes announced by the manifest (or learnt later), by digest.
    totals: Mutex<HashMap<String, u64>>,
    /// Each layer's first position in the manifest, by digest.
    positions: Mutex<HashMap<String, usize>>,
}

impl<T: MapTarget> MapFeed<T> {
    pub fn new(target: T) -> Self {
        MapFeed {
            target,
            totals: Mutex::new(HashMap::new()),
            positions: Mutex::new(HashMap::new()),
        }
    }

    fn totals(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A byte count as the map's `int64_t`.
pub fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl<T: MapTarget> Observer for MapFeed<T> {
    fn observe(&self, event: Event) {
        match event {
            Event::Layers(layers) => {
                let mut positions = self
                    .positions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                for (i, (digest, _)) in layers.iter().enumerate() {
                    positions.entry(digest.clone()).or_insert(i);
                }
                drop(positions);
                self.totals().extend(layers);
            }
            Event::Add { id, total, .. } => {
                self.totals().insert(id, total);
            }
            Event::Total { id, total } if total > 0 => {
                self.totals().insert(id, total);
            }
            Event::Bytes { id, current } => {
                let total = self.totals().get(&id).copied().unwrap_or(0);
                let position = self
                    .positions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&id)
                    .copied();
                match position {
                    Some(p) => self
                        .target
                        .update_layer(&id, p, clamp(current), clamp(total)),
                    None => self.target.update(&id, clamp(current), clamp(total)),
                }
            }
            _ => {}
        }
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

    #[test]
    fn a_feed_gives_absolute_bytes_and_the_manifest_size() {
        use crate::progress::event::{EntryKind, Phase};
        let map = ProgressStatusMap::new();
        let feed = MapFeed::new(&map);
        feed.observe(Event::Layers(vec![("sha256:a".into(), 100)]));
        feed.observe(Event::Add {
            id: "sha256:c".into(),
            kind: EntryKind::Config,
            total: 7,
        });
        assert!(map.is_empty(), "a blob enters with its first bytes");
        feed.observe(Event::bytes("sha256:a", 40));
        feed.observe(Event::phase("sha256:a", Phase::Verifying));
        feed.observe(Event::bytes("sha256:c", 7));
        feed.observe(Event::bytes("sha256:unsized", 5));
        feed.observe(Event::Total {
            id: "sha256:unsized".into(),
            total: 0,
        });
        feed.observe(Event::bytes("sha256:unsized", 6));
        let got = |k: &str| map.get(k).map(|p| (p.dlnow, p.dltotal));
        assert_eq!(got("sha256:a"), Some((40, 100)));
        assert_eq!(got("sha256:c"), Some((7, 7)));
        assert_eq!(got("sha256:unsized"), Some((6, 0)), "0 is no total");
        feed.observe(Event::Total {
            id: "sha256:unsized".into(),
            total: 9,
        });
        feed.observe(Event::bytes("sha256:unsized", 9));
        assert_eq!(got("sha256:unsized"), Some((9, 9)));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn display_keys_sort_by_position_and_end_with_the_short_id() {
        let a = "sha256:ffff0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
        let b = "sha256:0000fedcba9876543210fedcba9876543210fedcba9876543210fedcba987654";
        let (ka, kb) = (display_key(a, 0), display_key(b, 11));
        assert!(ka < kb, "manifest order, not digest order");
        assert_eq!(&ka[ka.len() - 12..], "ffff01234567");
        assert_eq!(&kb[kb.len() - 12..], "0000fedcba98");
        assert_ne!(display_key(a, 0), display_key(b, 0));
        assert_eq!(&display_key("short", 3)[..6], "00003:");
    }

    #[test]
    fn a_feed_names_layers_by_position() {
        struct Keys(Mutex<Vec<String>>);
        impl MapTarget for Keys {
            fn update(&self, key: &str, _: i64, _: i64) {
                self.0.lock().unwrap().push(key.to_string());
            }
            fn update_layer(&self, digest: &str, position: usize, _: i64, _: i64) {
                self.0.lock().unwrap().push(format!("{position}:{digest}"));
            }
        }
        let keys = Keys(Mutex::new(Vec::new()));
        let feed = MapFeed::new(&keys);
        feed.observe(Event::Layers(vec![
            ("sha256:b".into(), 1),
            ("sha256:a".into(), 1),
            ("sha256:b".into(), 1),
        ]));
        feed.observe(Event::bytes("sha256:a", 1));
        feed.observe(Event::bytes("sha256:b", 1));
        feed.observe(Event::bytes("sha256:other", 1));
        assert_eq!(
            *keys.0.lock().unwrap(),
            ["1:sha256:a", "0:sha256:b", "sha256:other"],
            "a repeated layer keeps its first position"
        );
    }
}
