//! Fetching with retries: manifests (verified against their digest when
//! one is known) and blobs (streamed through the one-pass digester,
//! resumed with `Range` after a transient failure, restarted from zero
//! once after a digest mismatch).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::thread;
use std::time::Duration;

use super::client::{Client, VecSink};
use super::manifest;
use crate::digest::{Compression, LayerDigester, LayerDigests, LayerFile, sha256_of};
use crate::error::Error;
use crate::transport::Sink;

/// Attempts per request (iSulad: 5).
pub const ATTEMPTS: u32 = 5;
/// Backoff before the n-th retry: 1 s, 2 s, 4 s, ... capped.
const BASE_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// libcurl: the server ignored our Range (so the body restarts at 0).
const CURLE_RANGE_ERROR: u32 = 33;

/// What a blob fetch reports while it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FetchEvent {
    /// Bytes of the blob held so far (absolute: a resume continues from
    /// where it was; only a restart from zero goes back).
    Bytes(u64),
    /// A transient failure: the next attempt starts after `wait`.
    Retrying { attempt: u32, wait: Duration },
    /// The bytes so far were dropped (bad digest or no Range support).
    Restarted,
}

/// A manifest as fetched.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`.
    pub digest: String,
}

fn backoff(attempt: u32, err: &Error) -> Duration {
    if let Error::Status {
        retry_after: Some(after),
        ..
    } = err
    {
        return (*after).min(MAX_RETRY_AFTER);
    }
    (BASE_DELAY * 2u32.saturating_pow(attempt.saturating_sub(1))).min(MAX_DELAY)
}

/// Sleeps `wait`, waking early when the pull is cancelled.
fn sleep_unless_cancelled(client: &Client, wait: Duration) -> Result<(), Error> {
    let step = Duration::from_millis(50);
    let mut left = wait;
    while !left.is_zero() {
        if client.cancelled() {
            return Err(Error::Cancelled);
        }
        let nap = left.min(step);
        thread::sleep(nap);
        left -= nap;
    }
    if client.cancelled() {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

/// Fetches the manifest `reference` (a tag or a digest) of the client's
/// repository. A digest reference, or `expected` (from a list), is
/// verified; so is a `Docker-Content-Digest` header when present.
pub fn fetch_manifest(
    client: &Client,
    reference: &str,
    accept: &[&str],
    expected: Option<&str>,
) -> Result<FetchedManifest, Error> {
    // One Accept header listing every type: proxies such as tinyproxy keep
    // only one of several header lines of the same name.
    let headers = vec![format!("Accept: {}", accept.join(", "))];
    let shown = if reference.starts_with("sha256:") {
        format!("{}@{reference}", client.repo())
    } else {
        format!("{}:{reference}", client.repo())
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut body = VecSink::default();
        let result = client
            .get(
                &format!("manifests/{reference}"),
                &headers,
                0,
                &mut body,
                &mut |_| true,
            )
            .and_then(|reply| match reply.status() {
                200..=299 => Ok(reply),
                404 => Err(crate::advice::manifest_not_found(
                    client,
                    &reply.error_body,
                    &shown,
                )),
                status => Err(Error::Status {
                    what: format!("GET manifest {shown}"),
                    status,
                    message: reply.error_message(),
                    retry_after: reply.retry_after(),
                }),
            });
        let reply = match result {
            Ok(reply) => reply,
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                sleep_unless_cancelled(client, backoff(attempt, &e))?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let digest = sha256_of(&body.0);
        let media_type = manifest::media_type_of(reply.response.header("content-type"), &body.0);
        let wanted = expected.or(reference.starts_with("sha256:").then_some(reference));
        let header = reply
            .response
            .header("docker-content-digest")
            .filter(|d| d.starts_with("sha256:"));
        // A signed schema1 manifest's digest covers its payload without the
        // signatures, not the bytes served: it cannot be checked this way.
        let signed = media_type == manifest::DOCKER_SCHEMA1_SIGNED;
        for claim in [wanted, header].into_iter().flatten().filter(|_| !signed) {
            if claim != digest {
                return Err(Error::DigestMismatch {
                    what: "manifest",
                    expected: claim.to_string(),
                    actual: digest,
                });
            }
        }
        return Ok(FetchedManifest {
            media_type,
            bytes: body.0,
            digest,
        });
    }
}

/// Fetches a small blob (a config) into memory, verified.
pub fn fetch_small_blob(client: &Client, digest: &str) -> Result<Vec<u8>, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut body = VecSink::default();
        let result = client
            .get(&format!("blobs/{digest}"), &[], 0, &mut body, &mut |_| true)
            .and_then(|reply| blob_status(client, digest, &reply));
        match result {
            Ok(()) if sha256_of(&body.0) == digest => return Ok(body.0),
            Ok(()) if attempt < 2 => continue,
            Ok(()) => {
                let actual = sha256_of(&body.0);
                return Err(Error::DigestMismatch {
                    what: "config",
                    expected: digest.to_string(),
                    actual,
                });
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                sleep_unless_cancelled(client, backoff(attempt, &e))?
            }
            Err(e) => return Err(e),
        }
    }
}

fn blob_status(client: &Client, digest: &str, reply: &super::client::Reply) -> Result<(), Error> {
    match reply.status() {
        200..=299 => Ok(()),
        404 => Err(Error::BlobUnknown {
            repo: client.repo().to_string(),
            digest: digest.to_string(),
        }),
        status => Err(Error::Status {
            what: format!("GET blob {digest}"),
            status,
            message: reply.error_message(),
            retry_after: reply.retry_after(),
        }),
    }
}

/// Adapts a writer to a transport sink.
struct WriteSink<'a, W: Write>(&'a mut W);

impl<W: Write> Sink for WriteSink<'_, W> {
    fn head(&mut self, _: u32, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
}

fn fresh(
    path: &Path,
    compression: Option<Compression>,
    keep: LayerFile,
) -> Result<LayerDigester<File>, Error> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))?;
    LayerDigester::new(file, compression, keep).map_err(|e| Error::Store(e.to_string()))
}

/// Downloads layer `digest` in one pass into `path` (the blob, or its
/// uncompressed tar: `keep`), returning its blob and diff digests. The blob
/// digest is verified here; the diff_id is the caller's to compare with the
/// config.
pub fn fetch_layer(
    client: &Client,
    digest: &str,
    media_type: &str,
    path: &Path,
    keep: LayerFile,
    events: &mut dyn FnMut(FetchEvent),
) -> Result<LayerDigests, Error> {
    let compression = Compression::from_media_type(media_type);
    let mut digester = fresh(path, compression, keep)?;
    let mut attempt = 0;
    let mut restarted = false;
    loop {
        attempt += 1;
        let from = digester.received();
        let mut on_bytes = |now: u64| {
            events(FetchEvent::Bytes(from + now));
            true
        };
        let result = client
            .get(
                &format!("blobs/{digest}"),
                &[],
                from,
                &mut WriteSink(&mut digester),
                &mut on_bytes,
            )
            .and_then(|reply| blob_status(client, digest, &reply));
        match result {
            Ok(()) => {}
            Err(Error::Transport { source, .. })
                if source.code == CURLE_RANGE_ERROR && attempt < ATTEMPTS =>
            {
                digester = fresh(path, compression, keep)?;
                events(FetchEvent::Restarted);
                continue;
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                let wait = backoff(attempt, &e);
                events(FetchEvent::Retrying { attempt, wait });
                sleep_unless_cancelled(client, wait)?;
                continue;
            }
            Err(e) => return Err(e),
        }
        let finished = digester
            .finish()
            .map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))?;
        let mismatch = if finished.blob.digest != digest {
            finished.blob.digest.clone()
        } else {
            // the right bytes: a decoding failure is the layer's own fault
            let digests = finished.digests().map_err(|e| {
                Error::Malformed(format!("layer {digest} is not a valid {media_type}: {e}"))
            })?;
            finished
                .out
                .as_ref()
                .map_or(Ok(()), File::sync_all)
                .map_err(|e| Error::Store(format!("cannot sync {}: {e}", path.display())))?;
            return Ok(digests);
        };
        if restarted || attempt >= ATTEMPTS {
            return Err(Error::DigestMismatch {
                what: "layer",
                expected: digest.to_string(),
                actual: mismatch,
            });
        }
        restarted = true;
        digester = fresh(path, compression, keep)?;
        events(FetchEvent::Restarted);
    }
}

/// A manifest resolved to one image.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The digest users know the reference by (the list's, for a list).
    pub top_digest: String,
    /// The image manifest as fetched (the platform's child for a list).
    pub fetched: FetchedManifest,
    pub manifest: manifest::Manifest,
    /// Whether `fetched` was chosen from a list or index.
    pub from_list: bool,
}

/// Fetches `reference` (tag or digest) of the client's repository and,
/// for a list or index, the entry for `platform`, verified by its digest.
pub fn resolve_manifest(
    client: &Client,
    reference: &str,
    platform: &super::reference::Platform,
) -> Result<Resolved, Error> {
    use manifest::Manifest;
    let top = fetch_manifest(client, reference, manifest::ACCEPTED, None)?;
    let top_digest = top.digest.clone();
    let shown = format!("{}/{}:{reference}", client.host(), client.repo());
    let manifests = match manifest::parse(&top.media_type, &top.bytes)? {
        Manifest::Index { manifests, .. } => manifests,
        m => {
            return Ok(Resolved {
                top_digest,
                fetched: top,
                manifest: m,
                from_list: false,
            });
        }
    };
    let chosen = manifest::select_platform(&manifests, platform).ok_or_else(|| {
        let available: Vec<String> = manifests
            .iter()
            .filter_map(|m| m.platform.as_ref())
            .map(|p| {
                let mut s = format!(
                    "{}/{}",
                    p.os.as_deref().unwrap_or("?"),
                    p.architecture.as_deref().unwrap_or("?")
                );
                if let Some(v) = &p.variant {
                    s.push('/');
                    s.push_str(v);
                }
                s
            })
            .collect();
        Error::Unsupported(format!(
            "no image for platform {platform} in {shown} (it has: {})",
            available.join(", ")
        ))
    })?;
    let child = fetch_manifest(
        client,
        &chosen.digest,
        manifest::ACCEPTED,
        Some(&chosen.digest),
    )?;
    match manifest::parse(&child.media_type, &child.bytes)? {
        Manifest::Index { .. } => Err(Error::Unsupported(format!("nested image index in {shown}"))),
        m => Ok(Resolved {
            top_digest,
            fetched: child,
            manifest: m,
            from_list: true,
        }),
    }
}
