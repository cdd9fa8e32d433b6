//! The one vocabulary of a pull's progress: the [`Event`]s a pull emits
//! (naming blobs by digest, bytes absolute for the whole blob) and the
//! [`Observer`]s that consume them: the progress model (see
//! [`super::model`]), the `{dlnow, dltotal}` maps (see [`super::map`]), and
//! whatever a caller plugs in.
//!
//! Observers must be quick: they run on download threads (a slow one slows
//! a download), and a failing one cannot fail the pull (they return
//! nothing).

/// What an entry of the pull is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A filesystem layer: shown, and counted in the summary.
    Layer,
    /// The image config blob: tracked, hidden, not counted.
    Config,
    /// A manifest or index: tracked, hidden, not counted.
    Manifest,
}

/// The phase of one entry. [`Phase::text`] gives Docker's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The reference or blob is being resolved (`Resolving`).
    Resolving,
    /// Known from the manifest, not started yet (`Pulling fs layer`).
    Queued,
    /// Waiting for a download slot (`Waiting`).
    Waiting,
    /// Bytes are arriving (`Downloading`).
    Downloading,
    /// The download failed and is retried after `in_secs` seconds
    /// (`Retrying in N seconds`); `attempt` is the attempt that failed.
    Retrying { in_secs: u32, attempt: u32 },
    /// The digest is being checked (`Verifying Checksum`).
    Verifying,
    /// The blob is complete and verified (`Download complete`).
    DownloadComplete,
    /// The layer is being unpacked (`Extracting`).
    Extracting,
    /// The layer is being handed to the isulad storage (`Registering`).
    Registering,
    /// The layer is in the store (`Pull complete`).
    PullComplete,
    /// The layer was already in the store (`Already exists`).
    AlreadyExists,
    /// The entry failed; the reason is shown (`Failed: reason`).
    Failed(String),
}

impl Phase {
    /// Docker's status text; `Retrying` uses its own `in_secs`.
    pub fn text(&self) -> String {
        match self {
            Phase::Resolving => "Resolving".into(),
            Phase::Queued => "Pulling fs layer".into(),
            Phase::Waiting => "Waiting".into(),
            Phase::Downloading => "Downloading".into(),
            Phase::Retrying { in_secs, .. } => retrying_text(*in_secs),
            Phase::Verifying => "Verifying Checksum".into(),
            Phase::DownloadComplete => "Download complete".into(),
            Phase::Extracting => "Extracting".into(),
            Phase::Registering => "Registering".into(),
            Phase::PullComplete => "Pull complete".into(),
            Phase::AlreadyExists => "Already exists".into(),
            Phase::Failed(reason) => format!("Failed: {reason}"),
        }
    }

    /// Whether two phases are the same step, ignoring a retry's countdown
    /// (`Retrying` of the same attempt) so that a countdown is one phase.
    pub fn same_step(&self, other: &Phase) -> bool {
        match (self, other) {
            (Phase::Retrying { attempt: a, .. }, Phase::Retrying { attempt: b, .. }) => a == b,
            _ => self == other,
        }
    }

    /// Whether [`Event::Bytes`] in this phase count as downloaded bytes.
    pub(crate) fn downloads(&self) -> bool {
        matches!(
            self,
            Phase::Resolving
                | Phase::Queued
                | Phase::Waiting
                | Phase::Downloading
                | Phase::Retrying { .. }
        )
    }

    /// Whether this phase comes after the whole blob was received.
    pub(crate) fn blob_complete(&self) -> bool {
        matches!(
            self,
            Phase::Verifying
                | Phase::DownloadComplete
                | Phase::Extracting
                | Phase::Registering
                | Phase::PullComplete
        )
    }
}

/// `Retrying in N seconds` as Docker words it (`1 second`; `Retrying` for 0).
pub fn retrying_text(secs: u32) -> String {
    match secs {
        0 => "Retrying".into(),
        1 => "Retrying in 1 second".into(),
        n => format!("Retrying in {n} seconds"),
    }
}

/// An input to the model. Unknown ids are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The manifest is resolved: `<id>: Pulling from <name>`.
    Pulling { id: String, name: String },
    /// The manifest's layers `(digest, size)` in order; each new one starts
    /// [`Phase::Queued`] with its total. Known digests are skipped.
    Layers(Vec<(String, u64)>),
    /// Another entry (config or manifest) with its size.
    Add {
        id: String,
        kind: EntryKind,
        total: u64,
    },
    /// The entry enters `phase`. Entering a phase after the download
    /// (`Verifying` …) completes `current` to `total`.
    Phase { id: String, phase: Phase },
    /// Absolute bytes: downloaded (before `Verifying`, switching a waiting
    /// or retrying entry to `Downloading`) or extracted (in `Extracting` /
    /// `Registering`). Lower than already known: ignored. A download resumed
    /// from an earlier run should send its offset with (or before) the
    /// `Downloading` phase, so that the offset does not count as speed.
    Bytes { id: String, current: u64 },
    /// The entry's blob is fetched again from byte 0.
    Restart { id: String },
    /// The entry's size, once learnt (an entry added with `0`, unknown, by
    /// a source that tells sizes late). `0` is ignored.
    Total { id: String, total: u64 },
    /// The manifest digest.
    Digest(String),
    /// A line about the pull itself, shown once: a mirror passed over
    /// (naming the host and why), and the like.
    Note(String),
    /// The pull succeeded.
    Done {
        name: String,
        reference: String,
        up_to_date: bool,
    },
    /// The pull failed.
    Failed(String),
}

impl Event {
    /// The entry `id` enters `phase`.
    pub fn phase(id: &str, phase: Phase) -> Event {
        Event::Phase {
            id: id.to_string(),
            phase,
        }
    }

    /// `current` bytes of blob `id` so far.
    pub fn bytes(id: &str, current: u64) -> Event {
        Event::Bytes {
            id: id.to_string(),
            current,
        }
    }
}

/// Receives a pull's events.
pub trait Observer: Send + Sync {
    fn observe(&self, event: Event);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn observe(&self, _: Event) {}
}

/// Sends every event to each of several observers.
pub struct Fanout<'a>(pub Vec<&'a dyn Observer>);

impl Observer for Fanout<'_> {
    fn observe(&self, event: Event) {
        for o in &self.0 {
            o.observe(event.clone());
        }
    }
}
