//! When to try a request again: at most [`ATTEMPTS`] attempts, waits that
//! grow and are capped (a server's `Retry-After` included), and a budget
//! shared by every request of a pull, so that a server that stalls,
//! trickles or always answers 5xx/429 fails the pull within a minute
//! instead of holding it for attempts × windows.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;

/// Attempts per request (iSulad: 5).
pub const ATTEMPTS: u32 = 5;
/// Backoff before the n-th retry: 1 s, 2 s, 4 s, ... capped.
const BASE_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// No retry starts later than this after the first failed attempt of a
/// run of failures (measured from that attempt's start).
pub const RETRY_WINDOW: Duration = Duration::from_secs(30);
/// An attempt that brought this much ends a run of failures: the server
/// is working, the next failure starts a new budget.
pub const PROGRESS: u64 = 1 << 20;
/// The wait before resuming a download whose attempt brought body bytes
/// before it broke (a reset, a proxy's timeout): the server was answering,
/// so the rest is asked for at once, as iSulad does. The growing backoff is
/// for servers that fail outright; the attempts stay capped either way.
pub const AFTER_BYTES: Duration = Duration::from_millis(100);

/// The wait before retry number `attempt` after `err`.
pub fn backoff(attempt: u32, err: &Error) -> Duration {
    if let Error::Status {
        retry_after: Some(after),
        ..
    } = err
    {
        return (*after).min(MAX_RETRY_AFTER);
    }
    BASE_DELAY
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_DELAY)
}

/// The retry budget of one pull (one client), shared by its threads.
#[derive(Debug, Default)]
pub struct Budget {
    /// Start of the first failed attempt since the last progress.
    failing_since: Mutex<Option<Instant>>,
}

impl Budget {
    /// Whether an attempt that started at `started` and failed may be
    /// followed, after `wait`, by another one.
    pub fn allows(&self, started: Instant, wait: Duration) -> bool {
        let mut since = self
            .failing_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let first = *since.get_or_insert(started);
        let retry_at = Instant::now() + wait;
        retry_at.saturating_duration_since(first) < RETRY_WINDOW
    }

    /// The server delivered real progress: failures start a new budget.
    pub fn progressed(&self) {
        *self
            .failing_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Why a request is given up, for the end of its error message.
pub fn gave_up(attempts: u32, since: Instant) -> String {
    format!(
        "gave up after {attempts} attempt{} in {} s",
        if attempts == 1 { "" } else { "s" },
        since.elapsed().as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn waits_are_capped() {
        let busy = Error::Status {
            what: "x".into(),
            status: 503,
            message: String::new(),
            retry_after: Some(Duration::from_secs(u64::MAX)),
        };
        assert_eq!(backoff(1, &busy), MAX_RETRY_AFTER);
        let reset = Error::Malformed(String::new());
        assert_eq!(backoff(1, &reset), BASE_DELAY);
        assert_eq!(backoff(u32::MAX, &reset), MAX_DELAY);
    }

    #[test]
    fn budget_runs_out_and_renews_on_progress() {
        let b = Budget::default();
        let now = Instant::now();
        assert!(b.allows(now, Duration::from_secs(1)));
        let long_ago = now.checked_sub(RETRY_WINDOW).unwrap_or(now);
        b.progressed();
        assert!(!b.allows(long_ago, Duration::ZERO) || long_ago == now);
        assert!(
            !b.allows(now, Duration::ZERO) || long_ago == now,
            "the run started long ago"
        );
        b.progressed();
        assert!(b.allows(now, Duration::ZERO), "progress renews the budget");
    }
}
