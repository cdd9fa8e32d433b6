//! The errors of registry operations. Their `Display` text is what users
//! see (iSulad shows it after "Failed to pull image X with error: "), so
//! each says what went wrong and, where it helps, what to do.

#![forbid(unsafe_code)]

use std::fmt;

use crate::advice;
use crate::transport::TransferError;

#[derive(Debug)]
pub enum Error {
    /// A malformed image name, host, or argument.
    Invalid(String),
    /// The request could not be made or did not complete.
    Transport { what: String, source: TransferError },
    /// Credentials were refused (or are needed and missing).
    Unauthorized { host: String, detail: String },
    /// The registry has no such manifest (the repository exists).
    ManifestUnknown { reference: String },
    /// The registry has no such repository.
    RepositoryUnknown { repo: String },
    /// The registry has no such blob.
    BlobUnknown { repo: String, digest: String },
    /// Any other unexpected HTTP status.
    Status {
        what: String,
        status: u32,
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Content whose sha256 is not the one asked for.
    DigestMismatch {
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// A layer whose uncompressed sha256 is not the config's diff_id.
    DiffIdMismatch {
        layer: String,
        expected: String,
        actual: String,
    },
    /// A manifest, config or media type this library cannot use.
    Unsupported(String),
    /// A manifest or config that is not what the spec says.
    Malformed(String),
    /// Writing to or reading from the local store failed.
    Store(String),
    /// Stored credentials could not be read or written.
    Auths(crate::auths::AuthsError),
    /// The pull was cancelled.
    Cancelled,
    /// A bug: a thread of the operation panicked (it ended cleanly).
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) | Error::Unsupported(m) | Error::Malformed(m) => f.write_str(m),
            Error::Store(m) => match advice::disk_problem(m) {
                Some(advice) => write!(f, "{m}: {advice}"),
                None => f.write_str(m),
            },
            Error::Transport { what, source } => write!(f, "{what}: {source}"),
            Error::Unauthorized { host, detail } if detail.is_empty() => write!(
                f,
                "unauthorized: check credentials for {host}, or log in first (isula login {host})"
            ),
            Error::Unauthorized { host, detail } => write!(
                f,
                "unauthorized: check credentials for {host}, or log in first (isula login {host}): \
                 {detail}"
            ),
            Error::ManifestUnknown { reference } => write!(
                f,
                "manifest unknown: {reference}: the repository has no such tag or digest"
            ),
            Error::RepositoryUnknown { repo } => write!(
                f,
                "repository unknown: {repo}: the registry has no such repository; check the \
                 image name"
            ),
            Error::BlobUnknown { repo, digest } => write!(f, "blob unknown: {repo}@{digest}"),
            Error::Status {
                what,
                status,
                message,
                retry_after,
            } => {
                write!(f, "{what}: HTTP {status}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                match advice::status(*status, *retry_after) {
                    Some(advice) => write!(f, " ({advice})"),
                    None => Ok(()),
                }
            }
            Error::DigestMismatch {
                what,
                expected,
                actual,
            } => {
                write!(f, "digest mismatch for {what} {expected}: got {actual}")
            }
            Error::DiffIdMismatch {
                layer,
                expected,
                actual,
            } => write!(
                f,
                "diff_id mismatch for layer {layer}: the config says {expected}, the content is {actual}"
            ),
            Error::Auths(e) => write!(f, "{e}"),
            Error::Cancelled => f.write_str("pull cancelled"),
            Error::Internal(m) => write!(f, "internal error: {m} (please report it)"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::auths::AuthsError> for Error {
    fn from(e: crate::auths::AuthsError) -> Self {
        Error::Auths(e)
    }
}

impl Error {
    /// The error of a caught panic, with its message.
    pub fn from_panic(what: &str, payload: &(dyn std::any::Any + Send)) -> Error {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Error::Internal(format!("{what} panicked: {text}"))
    }

    /// Worth another attempt: network trouble, 5xx, 429, 408.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { source, .. } if advice::proxy_refused(source) => false,
            Error::Transport { source, .. } => !matches!(
                source.code,
                // TLS verification and setup, bad URL, write errors, abort: retrying cannot help
                1 | 2 | 3 | 23 | 35 | 42 | 51 | 53 | 54 | 58 | 59 | 60 | 77 | 80 | 83 | 90 | 91
            ),
            Error::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
