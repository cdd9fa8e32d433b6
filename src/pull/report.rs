//! What a pull tells its observers as it goes. Observers must be quick:
//! they run on download threads (a slow one would slow a download), and a
//! failing one cannot fail the pull (they return nothing).

use std::time::Duration;

/// One thing that happened in a pull. Layer events name the layer by its
/// (compressed) digest; byte counts are absolute for the whole blob.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// Looking up `name` (the reference as given).
    Resolving { name: String },
    /// The manifest is known: the layers (digest, size) bottom first, and
    /// the config.
    Resolved {
        layers: Vec<(String, u64)>,
        config: (String, u64),
    },
    /// This layer is already in the store: not downloaded.
    LayerExists { digest: String },
    /// Bytes of a blob (layer or config) received so far.
    Downloading {
        digest: String,
        current: u64,
        total: u64,
    },
    /// A transient failure; the next attempt starts after `wait`.
    Retrying {
        digest: String,
        attempt: u32,
        wait: Duration,
    },
    /// The bytes so far were dropped; the blob restarts from zero.
    Restarted { digest: String },
    /// The blob is complete and being checked against its digests.
    Verifying { digest: String },
    /// The blob is verified.
    Downloaded { digest: String },
    /// The layer is being stored / registered.
    Registering { digest: String },
    /// The layer is stored.
    Registered { digest: String },
    /// The digest users refer to the image by (the list's, for a list).
    Digest { digest: String },
    /// The pull ended well; `up_to_date` when nothing had to be fetched.
    Done { name: String, up_to_date: bool },
    /// The pull failed (the layer that failed, if one did).
    Failed {
        digest: Option<String>,
        reason: String,
    },
}

/// Receives a pull's reports.
pub trait Observer: Send + Sync {
    fn report(&self, report: Report);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn report(&self, _: Report) {}
}

/// Feeds iSulad's `{dlnow, dltotal}` progress map: absolute bytes and the
/// manifest's size as the total, so a resumed download never goes back.
impl Observer for crate::progress_map::ProgressStatusMap {
    fn report(&self, report: Report) {
        if let Report::Downloading {
            digest,
            current,
            total,
        } = report
        {
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.update(&digest, clamp(current), clamp(total));
        }
    }
}

/// Sends every report to each of several observers.
pub struct Fanout<'a>(pub Vec<&'a dyn Observer>);

impl Observer for Fanout<'_> {
    fn report(&self, report: Report) {
        for o in &self.0 {
            o.report(report.clone());
        }
    }
}
