//! What a 404 for a manifest means: an unknown repository or only an
//! unknown tag or digest (the error says which, so the user knows what to
//! fix).

use super::client::{Client, VecSink};
use crate::error::Error;

/// A 404 for manifest `shown` (`repo:tag` or `repo@digest`) of the
/// client's repository: is the repository itself unknown, or only the tag
/// or digest? Some registries say so in the 404's error body (NAME_UNKNOWN);
/// docker-registry with a filesystem store says MANIFEST_UNKNOWN either
/// way, but its tag list of an unknown repository is a NAME_UNKNOWN 404, so
/// that is asked too (one more request, only for a failed pull).
pub fn manifest_not_found(client: &Client, error_body: &[u8], shown: &str) -> Error {
    let repo_unknown = name_unknown(error_body) || {
        let mut body = VecSink::default();
        matches!(
            client.get("tags/list", &[], 0, &mut body, &mut |_| true),
            Ok(reply) if reply.status() == 404 && name_unknown(&reply.error_body)
        )
    };
    if repo_unknown {
        Error::RepositoryUnknown {
            repo: client.repo().to_string(),
        }
    } else {
        Error::ManifestUnknown {
            reference: shown.to_string(),
        }
    }
}

/// A registry error body with the code NAME_UNKNOWN.
fn name_unknown(error_body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(error_body)
        .ok()
        .and_then(|v| {
            v["errors"].as_array().map(|errors| {
                errors
                    .iter()
                    .any(|e| e["code"].as_str() == Some("NAME_UNKNOWN"))
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_unknown_bodies() {
        assert!(name_unknown(
            br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#
        ));
        assert!(!name_unknown(
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
        ));
        assert!(!name_unknown(b"<html>not found</html>"));
    }
}
