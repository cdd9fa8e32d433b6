//! Progress told from elsewhere: frames of `(id, current, total, phase?)`
//! per layer, as a daemon sends them to its client (iSulad's
//! `image_progress` over gRPC), turned into the model's [`Event`]s, so the
//! renderers draw them exactly as they draw a pull of our own.
//!
//! Rules:
//! - An id seen for the first time becomes a layer, after those seen
//!   before (the order of first appearance). Ids are shown as Docker's
//!   short ids (12 hex characters after `sha256:`).
//! - A total of 0 is unknown; a later frame may tell it.
//! - Bytes never go back: a frame with fewer bytes than already seen keeps
//!   the count (the model ignores it).
//! - A frame without a phase has it inferred from the bytes, forwards
//!   only: no bytes yet -> `Waiting`, some -> `Downloading`, all of a known
//!   total -> `Download complete`. A layer already told a phase past the
//!   download (`Extracting`, `Pull complete`, ...) keeps it, and a told
//!   `Retrying` stands until more bytes come.
//! - A told phase is taken as it is. In `Downloading` the frame's bytes
//!   are the downloaded bytes; in `Extracting` and `Registering` they are
//!   the bytes extracted so far (Docker's meaning); in any other phase
//!   they are not used.
//! - [`Feed::done`] puts every layer not yet `Pull complete` or `Already
//!   exists` in `Pull complete` (its bytes complete). After `done` or
//!   [`Feed::failed`] frames are ignored.
//! - Nothing here reads a clock: every call takes `now_ms`, on a monotonic
//!   clock of the caller's (the C API uses one of its own).

use super::event::{EntryKind, Event, Phase};
use super::model::{PullProgress, Snapshot};

/// The progress of one pull told frame by frame.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    progress: PullProgress,
}

impl Feed {
    /// A feed that has been told nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// `<id>: Pulling from <name>` (`id`: the tag or digest asked for).
    pub fn pulling(&mut self, id: &str, name: &str, now_ms: u64) {
        self.apply(
            Event::Pulling {
                id: id.into(),
                name: name.into(),
            },
            now_ms,
        );
    }

    /// One layer's state: `current` of `total` bytes (0: unknown), and its
    /// phase if the sender knows it (else inferred, see the module doc).
    pub fn entry(&mut self, id: &str, current: u64, total: u64, phase: Option<Phase>, now_ms: u64) {
        if self.progress.ended() || id.is_empty() {
            return;
        }
        match self.progress.entry(id) {
            None => self.apply(Event::Layers(vec![(id.into(), total)]), now_ms),
            Some(e) if total > 0 && e.total != total => self.apply(
                Event::Total {
                    id: id.into(),
                    total,
                },
                now_ms,
            ),
            Some(_) => {}
        }
        match phase {
            None => self.infer(id, current, now_ms),
            Some(p) => self.told(id, current, p, now_ms),
        }
    }

    fn infer(&mut self, id: &str, current: u64, now_ms: u64) {
        let Some(e) = self.progress.entry(id) else {
            return;
        };
        if !e.phase.downloads() {
            return;
        }
        let (held, total, queued) = (e.current, e.total, e.phase == Phase::Queued);
        if current > held {
            self.bytes(id, current, now_ms);
        }
        let held = held.max(current);
        if total > 0 && held >= total {
            self.phase(id, Phase::DownloadComplete, now_ms);
        } else if held == 0 && queued {
            self.phase(id, Phase::Waiting, now_ms);
        }
    }

    fn told(&mut self, id: &str, current: u64, phase: Phase, now_ms: u64) {
        let Some(e) = self.progress.entry(id) else {
            return;
        };
        let held = e.current;
        let phase = match phase {
            // A retry's attempt tells one retry from the next (see
            // Phase::same_step); the sender gives no countdown.
            Phase::Retrying { .. } => {
                let attempt = match e.phase {
                    Phase::Retrying { attempt, .. } => attempt,
                    _ => {
                        let before = e.history.iter();
                        let n = before
                            .filter(|c| matches!(c.phase, Phase::Retrying { .. }))
                            .count();
                        u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
                    }
                };
                Phase::Retrying {
                    in_secs: 0,
                    attempt,
                }
            }
            p => p,
        };
        match phase {
            Phase::Downloading => {
                // bytes first: a resumed offset is not speed (see Event::Bytes)
                if current > held {
                    self.bytes(id, current, now_ms);
                }
                self.phase(id, Phase::Downloading, now_ms);
            }
            Phase::Extracting | Phase::Registering => {
                self.phase(id, phase, now_ms);
                if current > 0 {
                    self.bytes(id, current, now_ms);
                }
            }
            p => self.phase(id, p, now_ms),
        }
    }

    /// The manifest digest, for the `Digest:` line.
    pub fn digest(&mut self, digest: &str, now_ms: u64) {
        self.apply(Event::Digest(digest.into()), now_ms);
    }

    /// The pull succeeded: every layer is complete.
    pub fn done(&mut self, name: &str, reference: &str, up_to_date: bool, now_ms: u64) {
        if self.progress.ended() {
            return;
        }
        let open: Vec<String> = self
            .progress
            .snapshot(now_ms)
            .entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::Layer)
            .filter(|e| !matches!(e.phase, Phase::PullComplete | Phase::AlreadyExists))
            .map(|e| e.id)
            .collect();
        for id in open {
            self.phase(&id, Phase::PullComplete, now_ms);
        }
        self.apply(
            Event::Done {
                name: name.into(),
                reference: reference.into(),
                up_to_date,
            },
            now_ms,
        );
    }

    /// The pull failed for `reason`.
    pub fn failed(&mut self, reason: &str, now_ms: u64) {
        if !self.progress.ended() {
            self.apply(Event::Failed(reason.into()), now_ms);
        }
    }

    /// Whether [`Feed::done`] or [`Feed::failed`] was called.
    pub fn ended(&self) -> bool {
        self.progress.ended()
    }

    /// What the renderers draw, as of `now_ms`.
    pub fn snapshot(&self, now_ms: u64) -> Snapshot {
        self.progress.snapshot(now_ms)
    }

    fn phase(&mut self, id: &str, phase: Phase, now_ms: u64) {
        let same = self
            .progress
            .entry(id)
            .is_some_and(|e| e.phase.same_step(&phase));
        if !same {
            self.apply(
                Event::Phase {
                    id: id.into(),
                    phase,
                },
                now_ms,
            );
        }
    }

    fn bytes(&mut self, id: &str, current: u64, now_ms: u64) {
        self.apply(
            Event::Bytes {
                id: id.into(),
                current,
            },
            now_ms,
        );
    }

    fn apply(&mut self, event: Event, now_ms: u64) {
        self.progress.apply(event, now_ms);
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
