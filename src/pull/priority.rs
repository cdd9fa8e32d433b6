//! The CPU in layer order, for a host that stores each layer as soon as it
//! and the layers below it are verified (iSulad registers them one after
//! the other while the layers above still download).
//!
//! When the downloads compete for the CPU (a registry on the same machine,
//! or a fast network with slow cores), they share it evenly, so every layer
//! finishes at about the same time and the host's registration of layer 0
//! waits for all of them. Here the download of the lowest layer still
//! running keeps the thread's own priority and the others run
//! [`LOWERED`] nice steps below it, so the bottom layer finishes first and
//! its registration overlaps the rest. With the CPU to spare (a download
//! limited by the network) the priorities change nothing.
//!
//! A thread is lowered only where it may be raised back: with
//! `CAP_SYS_NICE` (a daemon running as root), or where `RLIMIT_NICE`
//! allows its priority again. Otherwise nothing is changed. On Linux the
//! nice value of `setpriority(PRIO_PROCESS, tid)` is the thread's own.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustix::process::{Pid, Resource, getpriority_process, getrlimit, setpriority_process};
use rustix::thread::{CapabilitySet, capabilities, gettid};

/// How many nice steps the downloads above the lowest one run below it: at
/// 10 a thread's share of a busy core is about a tenth of the lowest's
/// (the kernel weighs nice 0 at 1024, nice 10 at 110).
pub const LOWERED: i32 = 10;

/// The downloads of one pull, by their place in the layer order.
pub struct LayerOrder {
    enabled: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Running downloads by place: the thread and whether it is lowered.
    running: BTreeMap<usize, (Pid, bool)>,
    /// Each thread's own priority, as first seen (a thread takes several
    /// downloads in turn).
    base: HashMap<Pid, i32>,
}

/// One running download: its thread's priority is put back when dropped.
pub struct Turn<'a> {
    order: &'a LayerOrder,
    place: usize,
}

impl LayerOrder {
    /// `wanted`: the host stores layers in order as they are verified.
    pub fn new(wanted: bool) -> Self {
        LayerOrder {
            enabled: wanted && may_raise_back(),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The calling thread starts the download at `place` (0 = the lowest
    /// layer to download).
    pub fn start(&self, place: usize) -> Turn<'_> {
        if self.enabled {
            let tid = gettid();
            let mut state = self.lock();
            if let Ok(own) = getpriority_process(Some(tid)) {
                state.base.entry(tid).or_insert(own);
                state.running.insert(place, (tid, false));
                state.apply();
            }
        }
        Turn { order: self, place }
    }
}

impl State {
    /// The lowest place at its thread's own priority, the others lowered.
    fn apply(&mut self) {
        for (rank, (tid, lowered)) in self.running.values_mut().enumerate() {
            let want = rank > 0;
            if want == *lowered {
                continue;
            }
            let Some(&own) = self.base.get(tid) else {
                continue;
            };
            let nice = if want { (own + LOWERED).min(19) } else { own };
            // on failure the thread stays as it is; the next change tries again
            if setpriority_process(Some(*tid), nice).is_ok() {
                *lowered = want;
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.order.lock();
        if let Some((tid, true)) = state.running.remove(&self.place)
            && let Some(&own) = state.base.get(&tid)
        {
            let _ = setpriority_process(Some(tid), own);
        }
        state.apply();
    }
}

/// Can this process give a thread its priority back after lowering it?
fn may_raise_back() -> bool {
    if capabilities(None).is_ok_and(|c| c.effective.contains(CapabilitySet::SYS_NICE)) {
        return true;
    }
    // RLIMIT_NICE lets a thread go as far up as nice 20 - limit
    let Ok(own) = getpriority_process(None) else {
        return false;
    };
    match getrlimit(Resource::Nice).current {
        None => true,
        Some(limit) => i64::try_from(limit).is_ok_and(|l| 20 - l <= i64::from(own)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::thread;

    fn nice_of(tid: Pid) -> i32 {
        getpriority_process(Some(tid)).unwrap()
    }

    /// Two downloads on two threads: the second runs lowered while the
    /// first runs, and gets its priority back when the first ends, where
    /// the process may raise a thread back; elsewhere nothing changes.
    /// (The threads only record what they see, so a failure cannot leave
    /// one waiting at a barrier.)
    #[test]
    fn the_lowest_layer_runs_at_the_threads_own_priority() {
        let order = LayerOrder::new(true);
        let (started, measured, dropped) = (Barrier::new(2), Barrier::new(2), Barrier::new(2));
        let (first, second) = thread::scope(|s| {
            let first = s.spawn(|| {
                let own = nice_of(gettid());
                let turn = order.start(0);
                started.wait();
                measured.wait();
                let while_second_ran = nice_of(gettid());
                drop(turn);
                dropped.wait();
                (own, while_second_ran)
            });
            let second = s.spawn(|| {
                let tid = gettid();
                let own = nice_of(tid);
                started.wait();
                let turn = order.start(1);
                let below_first = nice_of(tid);
                measured.wait();
                dropped.wait();
                let lowest_now = nice_of(tid);
                drop(turn);
                (own, below_first, lowest_now, nice_of(tid))
            });
            (first.join().unwrap(), second.join().unwrap())
        });
        assert_eq!(first.1, first.0, "the lowest layer keeps its priority");
        let (own, below_first, lowest_now, after) = second;
        let lowered = if order.enabled {
            (own + LOWERED).min(19)
        } else {
            own
        };
        assert_eq!(below_first, lowered, "the layer above runs lowered");
        assert_eq!(lowest_now, own, "the next lowest gets its priority back");
        assert_eq!(
            after, own,
            "a finished download leaves its thread as it was"
        );
        assert!(order.lock().running.is_empty());
    }

    #[test]
    fn a_host_that_stores_at_the_end_changes_no_priority() {
        let order = LayerOrder::new(false);
        thread::scope(|s| {
            let _first = order.start(0);
            s.spawn(|| {
                let own = nice_of(gettid());
                let _turn = order.start(1);
                assert_eq!(nice_of(gettid()), own);
            });
        });
        assert!(order.lock().running.is_empty());
    }
}
