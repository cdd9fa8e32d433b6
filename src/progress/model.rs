//! The progress model of one pull.
//!
//! A pull feeds [`Event`]s into a [`PullProgress`], each with the time it
//! happened (`at_ms`, milliseconds on any monotonic clock the caller owns),
//! and takes [`Snapshot`]s to render. Nothing here reads a clock, so the same
//! events and times always give the same snapshot.
//!
//! Rules:
//! - Entries keep the order in which they were announced (manifest order).
//! - `total` comes from the manifest (`0` means unknown). `current` is the
//!   absolute number of bytes of the blob we hold: a resumed download
//!   continues from its offset, and a [`Event::Bytes`] lower than `current`
//!   is ignored. Only [`Event::Restart`] (e.g. a digest mismatch, the blob is
//!   fetched again from byte 0) sets it back to zero.
//! - Speeds are bytes per second over a sliding window of
//!   [`SPEED_WINDOW_MS`], counting every byte received (also bytes thrown
//!   away by a restart). A speed needs at least [`MIN_SPEED_SPAN_MS`] of
//!   samples. ETA = remaining bytes / speed, rounded up to whole seconds.
//! - The [`Summary`] counts layers only. Config and manifest entries are
//!   tracked but neither shown as layer lines nor counted, and layers that
//!   already exist are counted in [`Summary::existing`] but not in the bytes.
//! - Once the pull is over ([`Event::Done`] or [`Event::Failed`]) there is
//!   no speed or ETA any more, only the average speed.

use std::collections::VecDeque;

use super::event::{EntryKind, Event, Phase};

/// Length of the sliding window over which speeds are measured.
pub const SPEED_WINDOW_MS: u64 = 5_000;
/// Shortest span of samples that yields a speed (shorter: no speed yet).
pub const MIN_SPEED_SPAN_MS: u64 = 1_000;

/// One phase an entry entered, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseChange {
    pub phase: Phase,
    pub at_ms: u64,
}

/// One entry (layer, config or manifest) as seen in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The full digest, e.g. `sha256:0123…`.
    pub id: String,
    pub kind: EntryKind,
    /// The current phase (the last item of `history`).
    pub phase: Phase,
    /// When the current phase was last set (a retry countdown starts here).
    pub since_ms: u64,
    /// Every distinct phase entered, in order, the current one last.
    /// Consecutive [`Phase::same_step`] phases are merged.
    pub history: Vec<PhaseChange>,
    /// Bytes of the blob held (absolute; never goes back except on restart).
    pub current: u64,
    /// Size from the manifest; `0` if unknown.
    pub total: u64,
    /// Compressed bytes consumed by extraction/registration, once reported.
    pub extracted: Option<u64>,
    /// When the first byte download started.
    pub started_ms: Option<u64>,
    /// Download speed in bytes/s over the window, while downloading.
    pub speed: Option<u64>,
    /// Seconds left at `speed`, while downloading with a known total.
    pub eta_secs: Option<u64>,
}

impl Entry {
    /// The first 12 characters of the digest's hex part (Docker's short id).
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
}

/// The first 12 characters after the `algorithm:` prefix of a digest.
pub fn short_id(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    match hex.char_indices().nth(12) {
        Some((i, _)) => &hex[..i],
        None => hex,
    }
}

/// The `<id>: Pulling from <name>` line (`id` is the tag or digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: String,
    pub name: String,
}

/// How the pull ended, if it did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Running,
    /// `Status: Downloaded newer image for NAME` (or `Image is up to date`),
    /// then `reference` alone on a line.
    Done {
        name: String,
        reference: String,
        up_to_date: bool,
    },
    /// The pull failed with this reason.
    Failed(String),
}

/// Totals over the layers of the pull (see the module doc for what counts).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Summary {
    /// Layers in the manifest.
    pub layers: u32,
    /// Layers in `Pull complete`.
    pub complete: u32,
    /// Layers in `Already exists`.
    pub existing: u32,
    /// Bytes held of the layers to download.
    pub current: u64,
    /// Bytes of the layers to download (a layer of unknown size counts its
    /// `current`), so `current <= total`.
    pub total: u64,
    /// Bytes/s over the sliding window, once measurable, while running.
    pub speed: Option<u64>,
    /// Seconds left at `speed`, when bytes remain and `speed > 0`.
    pub eta_secs: Option<u64>,
    /// Bytes received / time from the first download start to the last byte.
    pub avg_speed: Option<u64>,
    /// Time since the first event.
    pub elapsed_ms: u64,
}

/// Everything a renderer needs, as of `at_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub at_ms: u64,
    pub header: Option<Header>,
    /// All entries in announcement order, hidden kinds included.
    pub entries: Vec<Entry>,
    /// The manifest digest, for the `Digest:` line.
    pub digest: Option<String>,
    /// The pull's notes so far ([`Event::Note`]), oldest first.
    pub notes: Vec<String>,
    pub outcome: Outcome,
    pub summary: Summary,
}

/// Samples of bytes received, for a sliding-window speed.
#[derive(Clone, Debug, Default)]
struct Meter {
    /// `(at_ms, bytes received so far)`, oldest first.
    samples: VecDeque<(u64, u64)>,
    received: u64,
    first_ms: Option<u64>,
    last_byte_ms: Option<u64>,
}

impl Meter {
    /// Marks a point in time (start or restart of a download) without bytes.
    fn mark(&mut self, at_ms: u64) {
        self.first_ms.get_or_insert(at_ms);
        self.push(at_ms);
    }

    fn record(&mut self, at_ms: u64, bytes: u64) {
        self.first_ms.get_or_insert(at_ms);
        self.received += bytes;
        self.last_byte_ms = Some(at_ms);
        self.push(at_ms);
    }

    fn push(&mut self, at_ms: u64) {
        match self.samples.back_mut() {
            Some(last) if last.0 >= at_ms => last.1 = self.received,
            _ => self.samples.push_back((at_ms, self.received)),
        }
        // Keep the newest sample at or before the window start as anchor.
        let start = at_ms.saturating_sub(SPEED_WINDOW_MS);
        while self.samples.len() > 1 && self.samples[1].0 <= start {
            self.samples.pop_front();
        }
    }

    /// Bytes/s over `(now - window, now]`, or over the samples if shorter.
    fn speed(&self, now_ms: u64) -> Option<u64> {
        let first = *self.samples.front()?;
        let start = now_ms.saturating_sub(SPEED_WINDOW_MS);
        let (from_ms, from_bytes) = match self.samples.iter().rev().find(|s| s.0 <= start) {
            Some(&(_, bytes)) => (start, bytes),
            None => first,
        };
        let span = now_ms.checked_sub(from_ms)?;
        if span < MIN_SPEED_SPAN_MS {
            return None;
        }
        let bytes = self.received - from_bytes;
        Some(per_second(bytes, span))
    }

    /// Bytes received / time from the first mark to the last byte.
    fn average(&self) -> Option<u64> {
        let span = self.last_byte_ms?.checked_sub(self.first_ms?)?;
        (span > 0).then(|| per_second(self.received, span))
    }
}

fn per_second(bytes: u64, span_ms: u64) -> u64 {
    u64::try_from(u128::from(bytes) * 1000 / u128::from(span_ms)).unwrap_or(u64::MAX)
}

/// Whole seconds to transfer `remaining` bytes at `speed` bytes/s.
pub fn eta_secs(remaining: u64, speed: Option<u64>) -> Option<u64> {
    match speed {
        Some(s) if s > 0 && remaining > 0 => Some(remaining.div_ceil(s)),
        _ => None,
    }
}

#[derive(Clone, Debug)]
struct Slot {
    entry: Entry,
    meter: Meter,
}

/// The progress of one pull: apply events, take snapshots. `Clone + Send`;
/// share it between threads behind a `Mutex`.
#[derive(Clone, Debug, Default)]
pub struct PullProgress {
    first_ms: Option<u64>,
    header: Option<Header>,
    slots: Vec<Slot>,
    digest: Option<String>,
    notes: Vec<String>,
    outcome: Outcome,
    /// Layer bytes of the whole pull.
    meter: Meter,
}

impl PullProgress {
    /// An empty pull.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event`, which happened at `at_ms`.
    pub fn apply(&mut self, event: Event, at_ms: u64) {
        self.first_ms.get_or_insert(at_ms);
        match event {
            Event::Pulling { id, name } => self.header = Some(Header { id, name }),
            Event::Layers(layers) => {
                for (id, total) in layers {
                    self.add(id, EntryKind::Layer, total, at_ms);
                }
            }
            Event::Add { id, kind, total } => self.add(id, kind, total, at_ms),
            Event::Phase { id, phase } => self.set_phase(&id, phase, at_ms),
            Event::Bytes { id, current } => self.bytes(&id, current, at_ms),
            Event::Restart { id } => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.entry.id == id) {
                    slot.entry.current = 0;
                    slot.entry.extracted = None;
                }
            }
            Event::Total { id, total } => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.entry.id == id)
                    && total > 0
                {
                    slot.entry.total = total;
                }
            }
            Event::Digest(digest) => self.digest = Some(digest),
            Event::Note(text) => self.notes.push(text),
            Event::Done {
                name,
                reference,
                up_to_date,
            } => {
                self.outcome = Outcome::Done {
                    name,
                    reference,
                    up_to_date,
                }
            }
            Event::Failed(reason) => self.outcome = Outcome::Failed(reason),
        }
    }

    fn add(&mut self, id: String, kind: EntryKind, total: u64, at_ms: u64) {
        if self.slots.iter().any(|s| s.entry.id == id) {
            return;
        }
        let phase = Phase::Queued;
        self.slots.push(Slot {
            entry: Entry {
                id,
                kind,
                phase: phase.clone(),
                since_ms: at_ms,
                history: vec![PhaseChange { phase, at_ms }],
                current: 0,
                total,
                extracted: None,
                started_ms: None,
                speed: None,
                eta_secs: None,
            },
            meter: Meter::default(),
        });
    }

    fn set_phase(&mut self, id: &str, phase: Phase, at_ms: u64) {
        let Some(slot) = self.slots.iter_mut().find(|s| s.entry.id == id) else {
            return;
        };
        let layer = slot.entry.kind == EntryKind::Layer;
        let e = &mut slot.entry;
        if phase == Phase::Downloading {
            e.started_ms.get_or_insert(at_ms);
            slot.meter.mark(at_ms);
            if layer {
                self.meter.mark(at_ms);
            }
        }
        if phase.blob_complete() && e.current < e.total {
            let delta = e.total - e.current;
            e.current = e.total;
            slot.meter.record(at_ms, delta);
            if layer {
                self.meter.record(at_ms, delta);
            }
        }
        let only_queued = e.history.len() == 1 && e.phase == Phase::Queued;
        match e.history.last_mut() {
            Some(last) if last.phase.same_step(&phase) => last.phase = phase.clone(),
            // Docker never says `Pulling fs layer` for a layer it has.
            Some(last) if only_queued && phase == Phase::AlreadyExists => {
                *last = PhaseChange {
                    phase: phase.clone(),
                    at_ms,
                }
            }
            _ => e.history.push(PhaseChange {
                phase: phase.clone(),
                at_ms,
            }),
        }
        e.phase = phase;
        e.since_ms = at_ms;
    }

    fn bytes(&mut self, id: &str, current: u64, at_ms: u64) {
        let Some(i) = self.slots.iter().position(|s| s.entry.id == id) else {
            return;
        };
        let phase = &self.slots[i].entry.phase;
        if matches!(phase, Phase::Extracting | Phase::Registering) {
            let e = &mut self.slots[i].entry;
            e.extracted = Some(e.extracted.map_or(current, |x| x.max(current)));
            return;
        }
        if !phase.downloads() {
            return;
        }
        if *phase != Phase::Downloading {
            self.set_phase(id, Phase::Downloading, at_ms);
        }
        let slot = &mut self.slots[i];
        if current <= slot.entry.current {
            return;
        }
        let delta = current - slot.entry.current;
        slot.entry.current = current;
        slot.meter.record(at_ms, delta);
        if slot.entry.kind == EntryKind::Layer {
            self.meter.record(at_ms, delta);
        }
    }

    /// The entry `id` as it stands (no speed or ETA: see [`Self::snapshot`]).
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.slots
            .iter()
            .find(|s| s.entry.id == id)
            .map(|s| &s.entry)
    }

    /// Whether the pull has ended ([`Event::Done`] or [`Event::Failed`]).
    pub fn ended(&self) -> bool {
        self.outcome != Outcome::Running
    }

    /// The state as of `now_ms` (speeds and ETAs are measured up to `now_ms`).
    pub fn snapshot(&self, now_ms: u64) -> Snapshot {
        let entries = self
            .slots
            .iter()
            .map(|slot| {
                let mut e = slot.entry.clone();
                if e.phase == Phase::Downloading && self.outcome == Outcome::Running {
                    e.speed = slot.meter.speed(now_ms);
                    if e.total > 0 {
                        e.eta_secs = eta_secs(e.total.saturating_sub(e.current), e.speed);
                    }
                }
                e
            })
            .collect::<Vec<_>>();
        let mut s = Summary {
            elapsed_ms: self.first_ms.map_or(0, |t| now_ms.saturating_sub(t)),
            ..Summary::default()
        };
        for e in entries.iter().filter(|e| e.kind == EntryKind::Layer) {
            s.layers += 1;
            match e.phase {
                Phase::AlreadyExists => s.existing += 1,
                Phase::PullComplete => s.complete += 1,
                _ => {}
            }
            if e.phase != Phase::AlreadyExists {
                s.current += e.current;
                s.total += e.total.max(e.current);
            }
        }
        if self.outcome == Outcome::Running {
            s.speed = self.meter.speed(now_ms);
            s.eta_secs = eta_secs(s.total - s.current, s.speed);
        }
        s.avg_speed = self.meter.average();
        Snapshot {
            at_ms: now_ms,
            header: self.header.clone(),
            entries,
            digest: self.digest.clone(),
            notes: self.notes.clone(),
            outcome: self.outcome.clone(),
            summary: s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
    const B: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn bytes(id: &str, current: u64) -> Event {
        Event::Bytes {
            id: id.into(),
            current,
        }
    }

    fn phase(id: &str, phase: Phase) -> Event {
        Event::Phase {
            id: id.into(),
            phase,
        }
    }

    #[test]
    fn short_ids_are_the_first_twelve_hex_characters() {
        assert_eq!(short_id(A), "a3ed95caeb02");
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("sha256:abc"), "abc");
    }

    #[test]
    fn totals_come_from_the_manifest_and_bytes_never_go_back() {
        let mut p = PullProgress::new();
        p.apply(Event::Layers(vec![(B.into(), 1000)]), 0);
        let s = p.snapshot(0);
        assert_eq!((s.entries[0].current, s.entries[0].total), (0, 1000));
        assert_eq!(s.entries[0].phase, Phase::Queued);
        p.apply(bytes(B, 400), 10);
        assert_eq!(p.snapshot(10).entries[0].phase, Phase::Downloading);
        p.apply(bytes(B, 100), 20); // a resumed transfer's own counter
        assert_eq!(p.snapshot(20).entries[0].current, 400);
        p.apply(
            phase(
                B,
                Phase::Retrying {
                    in_secs: 2,
                    attempt: 1,
                },
            ),
            30,
        );
        p.apply(bytes(B, 500), 2030);
        let e = &p.snapshot(2030).entries[0];
        assert_eq!((e.current, &e.phase), (500, &Phase::Downloading));
        let steps: Vec<_> = e.history.iter().map(|c| c.phase.text()).collect();
        assert_eq!(
            steps,
            [
                "Pulling fs layer",
                "Downloading",
                "Retrying in 2 seconds",
                "Downloading"
            ]
        );
        p.apply(Event::Restart { id: B.into() }, 2040);
        p.apply(bytes(B, 50), 2050);
        assert_eq!(p.snapshot(2050).entries[0].current, 50);
    }

    #[test]
    fn completion_fills_the_bytes_and_extraction_counts_apart() {
        let mut p = PullProgress::new();
        p.apply(Event::Layers(vec![(B.into(), 1000)]), 0);
        p.apply(bytes(B, 900), 10);
        p.apply(phase(B, Phase::Verifying), 20);
        p.apply(bytes(B, 950), 25); // late download bytes: ignored
        let e = &p.snapshot(20).entries[0];
        assert_eq!((e.current, e.extracted), (1000, None));
        p.apply(phase(B, Phase::Extracting), 30);
        p.apply(bytes(B, 300), 40);
        p.apply(bytes(B, 200), 50);
        let e = &p.snapshot(50).entries[0];
        assert_eq!((e.current, e.extracted), (1000, Some(300)));
    }

    #[test]
    fn a_countdown_is_one_phase_change() {
        let mut p = PullProgress::new();
        p.apply(Event::Layers(vec![(B.into(), 10)]), 0);
        p.apply(
            phase(
                B,
                Phase::Retrying {
                    in_secs: 2,
                    attempt: 1,
                },
            ),
            0,
        );
        p.apply(
            phase(
                B,
                Phase::Retrying {
                    in_secs: 1,
                    attempt: 1,
                },
            ),
            1000,
        );
        let e = &p.snapshot(1000).entries[0];
        assert_eq!(e.history.len(), 2);
        assert_eq!(e.since_ms, 1000);
        assert_eq!(e.phase.text(), "Retrying in 1 second");
        p.apply(
            phase(
                B,
                Phase::Retrying {
                    in_secs: 4,
                    attempt: 2,
                },
            ),
            2000,
        );
        assert_eq!(p.snapshot(2000).entries[0].history.len(), 3);
    }

    #[test]
    fn summary_counts_layers_to_download_only() {
        let mut p = PullProgress::new();
        p.apply(Event::Layers(vec![(A.into(), 500), (B.into(), 1000)]), 0);
        p.apply(
            Event::Add {
                id: "sha256:c0".into(),
                kind: EntryKind::Config,
                total: 77,
            },
            0,
        );
        p.apply(phase(A, Phase::AlreadyExists), 0);
        p.apply(bytes("sha256:c0", 77), 0);
        p.apply(bytes(B, 250), 0);
        p.apply(bytes("sha256:unknown", 5), 0);
        let s = p.snapshot(0).summary;
        assert_eq!((s.layers, s.existing, s.complete), (2, 1, 0));
        assert_eq!((s.current, s.total), (250, 1000));
    }

    #[test]
    fn speed_is_a_sliding_window_and_eta_rounds_up() {
        let mut p = PullProgress::new();
        p.apply(Event::Layers(vec![(B.into(), 10_000_000)]), 0);
        p.apply(phase(B, Phase::Downloading), 0);
        p.apply(bytes(B, 500_000), 500);
        // Under a second of samples: no speed yet.
        assert_eq!(p.snapshot(500).summary.speed, None);
        p.apply(bytes(B, 1_000_000), 1000);
        let s = p.snapshot(1000);
        assert_eq!(s.summary.speed, Some(1_000_000));
        assert_eq!(s.summary.eta_secs, Some(9));
        assert_eq!(s.entries[0].speed, Some(1_000_000));
        assert_eq!(s.entries[0].eta_secs, Some(9));
        for t in 2..=10u64 {
            p.apply(bytes(B, 1_000_000 + (t - 1) * 800_000), t * 1000);
        }
        // Window (5 s, 10 s]: from 4_200_000 at 5 s to 8_200_000 at 10 s.
        let s = p.snapshot(10_000).summary;
        assert_eq!(s.speed, Some(800_000));
        assert_eq!(s.eta_secs, Some(3)); // 1_800_000 / 800_000, rounded up
        assert_eq!(s.avg_speed, Some(820_000));
        // Stalled: the window empties, the speed falls and the ETA goes.
        assert_eq!(p.snapshot(12_500).summary.speed, Some(480_000));
        assert_eq!(p.snapshot(15_000).summary.speed, Some(0));
        assert_eq!(p.snapshot(15_000).summary.eta_secs, None);
        assert_eq!(p.snapshot(15_000).summary.avg_speed, Some(820_000));
    }

    #[test]
    fn eta_needs_speed_and_remaining_bytes() {
        assert_eq!(eta_secs(10, Some(3)), Some(4));
        assert_eq!(eta_secs(0, Some(3)), None);
        assert_eq!(eta_secs(10, Some(0)), None);
        assert_eq!(eta_secs(10, None), None);
    }

    #[test]
    fn snapshots_are_clone_and_send() {
        fn check<T: Clone + Send + 'static>() {}
        check::<PullProgress>();
        check::<Snapshot>();
    }
}
