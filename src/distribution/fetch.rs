//! Fetching with retries: manifests (verified against their digest when
//! one is known) and blobs (streamed through the one-pass digester,
//! resumed with `Range` after a transient failure, restarted from zero
//! once after a digest mismatch). A blob is never read past its declared
//! size and must have exactly that size; a layer without one (schema1)
//! is capped by [`set_unsized_layer_cap`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::client::{Client, VecSink, blob_deadline};
use super::manifest;
use super::reference::valid_digest;
use super::retry::{self, ATTEMPTS, backoff};
use crate::digest::{Compression, LayerDigester, LayerDigests, LayerFile, sha256_of};
use crate::error::Error;
use crate::transport::Sink;

/// libcurl: the server ignored our Range (so the body restarts at 0).
const CURLE_RANGE_ERROR: u32 = 33;
/// The default cap of a layer whose size the manifest does not say.
pub const DEFAULT_UNSIZED_LAYER_CAP: u64 = 8 << 30;
static UNSIZED_LAYER_CAP: AtomicU64 = AtomicU64::new(DEFAULT_UNSIZED_LAYER_CAP);

/// Sets the most bytes read of a layer without a declared size (schema1);
/// 0 restores the default ([`DEFAULT_UNSIZED_LAYER_CAP`]).
pub fn set_unsized_layer_cap(bytes: u64) {
    let cap = if bytes == 0 {
        DEFAULT_UNSIZED_LAYER_CAP
    } else {
        bytes
    };
    UNSIZED_LAYER_CAP.store(cap, Ordering::Relaxed);
}

/// The cap of a layer without a declared size.
pub fn unsized_layer_cap() -> u64 {
    UNSIZED_LAYER_CAP.load(Ordering::Relaxed)
}

/// The wait before the next attempt, or None when the request is given up
/// (not transient, out of attempts, or out of the pull's retry budget).
fn retry_wait(client: &Client, attempt: u32, started: Instant, e: &Error) -> Option<Duration> {
    if !e.is_transient() || attempt >= client.attempts() {
        return None;
    }
    let wait = backoff(attempt, e);
    client.budget.allows(started, wait).then_some(wait)
}

/// `e` with how long it was tried, when it was tried more than once.
fn given_up(e: Error, attempts: u32, first: Instant) -> Error {
    if attempts < 2 {
        return e;
    }
    let note = retry::gave_up(attempts, first);
    match e {
        Error::Transport { what, source } => Error::Transport {
            what: format!("{what} ({note})"),
            source,
        },
        Error::Status {
            what,
            status,
            message,
            retry_after,
        } => Error::Status {
            what: format!("{what} ({note})"),
            status,
            message,
            retry_after,
        },
        e => e,
    }
}

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
    let pinned = reference.contains(':');
    if pinned && !valid_digest(reference) {
        return Err(Error::Unsupported(format!(
            "cannot verify the digest {reference}: only sha256 digests are supported \
             (pull by tag or by the image's sha256 digest)"
        )));
    }
    let shown = if pinned {
        format!("{}@{reference}", client.repo())
    } else {
        format!("{}:{reference}", client.repo())
    };
    let first = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
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
                404 => Err(super::not_found::manifest_not_found(
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
            Err(e) => match retry_wait(client, attempt, started, &e) {
                Some(wait) => {
                    sleep_unless_cancelled(client, wait)?;
                    continue;
                }
                None => return Err(given_up(e, attempt, first)),
            },
        };
        let media_type = manifest::media_type_of(reply.response.header("content-type"), &body.0);
        // A signed schema1 manifest's digest covers its payload without the
        // signatures: that is what is checked, whatever the label says.
        let wanted = expected.or(pinned.then_some(reference));
        let header = reply
            .response
            .header("docker-content-digest")
            .filter(|d| d.starts_with("sha256:"));
        let digest = if media_type == manifest::DOCKER_SCHEMA1_SIGNED {
            match manifest::schema1_signed_payload(&body.0) {
                Ok(payload) => sha256_of(&payload),
                // nothing to check it against: known by its bytes
                Err(_) if wanted.is_none() && header.is_none() => sha256_of(&body.0),
                Err(e) => return Err(e),
            }
        } else {
            sha256_of(&body.0)
        };
        for claim in [wanted, header].into_iter().flatten() {
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

/// Fetches a config of `size` bytes (when known) into memory, verified.
pub fn fetch_config(client: &Client, digest: &str, size: Option<u64>) -> Result<Vec<u8>, Error> {
    let first = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
        let mut body = VecSink::default();
        let result = client
            .get(&format!("blobs/{digest}"), &[], 0, &mut body, &mut |_| true)
            .and_then(|reply| blob_status(client, digest, &reply));
        if let (Ok(()), Some(size)) = (&result, size)
            && body.0.len() as u64 != size
        {
            return Err(Error::Malformed(format!(
                "config {digest}: the registry sent {} bytes, the manifest declares {size}",
                body.0.len()
            )));
        }
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
            Err(e) => match retry_wait(client, attempt, started, &e) {
                Some(wait) => sleep_unless_cancelled(client, wait)?,
                None => return Err(given_up(e, attempt, first)),
            },
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

/// Adapts a writer to a transport sink that takes at most `room` bytes:
/// one more and the transfer stops.
struct WriteSink<'a, W: Write> {
    out: &'a mut W,
    room: u64,
    overflow: bool,
}

impl<W: Write> Sink for WriteSink<'_, W> {
    fn head(&mut self, _: u32, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        if data.len() as u64 > self.room {
            self.overflow = true;
            return Err(io::Error::other("more bytes than the blob's size"));
        }
        self.room -= data.len() as u64;
        self.out.write_all(data)
    }
}

fn fresh(
    path: &Path,
    compression: Option<Compression>,
    keep: LayerFile,
    beside: bool,
) -> Result<LayerDigester<File>, Error> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))?;
    let digester = LayerDigester::new(file, compression, keep);
    digester
        .and_then(|d| if beside { d.hash_blob_beside() } else { Ok(d) })
        .map_err(|e| Error::Store(e.to_string()))
}

/// Like [`fresh`], but the bytes already in `path` (the first part of the
/// blob, from a download a crash cut short) are read back and fed to the
/// digester first, so the download continues after them. A file longer
/// than the blob can be is not a part of it: it starts over.
fn resumed(
    path: &Path,
    compression: Option<Compression>,
    limit: u64,
    beside: bool,
) -> Result<LayerDigester<File>, Error> {
    let cannot = |e: io::Error| Error::Store(format!("cannot resume {}: {e}", path.display()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(cannot)?;
    let held = file.metadata().map_err(cannot)?.len();
    if held > limit {
        return fresh(path, compression, LayerFile::Blob, beside);
    }
    // a clone shares the offset: reading to the end puts the writes after it
    let mut local = file.try_clone().map_err(cannot)?;
    let mut digester = LayerDigester::new(file, compression, LayerFile::Blob).map_err(cannot)?;
    if beside {
        digester = digester.hash_blob_beside().map_err(cannot)?;
    }
    if held == 0 {
        return Ok(digester);
    }
    // under glibc's mmap threshold (see transport::RECEIVE_BUFFER)
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = io::Read::read(&mut local, &mut buf).map_err(cannot)?;
        if n == 0 {
            return Ok(digester);
        }
        digester.absorb(&buf[..n]).map_err(cannot)?;
    }
}

/// Downloads layer `digest` of `size` bytes (None: unknown, at most
/// [`unsized_layer_cap`]) in one pass into `path` (the blob, or its
/// uncompressed tar: `keep`), returning its blob and diff digests. The size
/// and blob digest are verified here; the diff_id is the caller's to
/// compare with the config.
pub fn fetch_sized_layer(
    client: &Client,
    digest: &str,
    media_type: &str,
    size: Option<u64>,
    path: &Path,
    keep: LayerFile,
    events: &mut dyn FnMut(FetchEvent),
) -> Result<LayerDigests, Error> {
    let blob = Blob {
        digest,
        media_type,
        size,
        path,
        keep,
        resume: false,
        hash_beside: false,
    };
    fetch_layer_over(&[client], &mut |_, _| {}, &blob, events)
}

/// A layer to fetch: what [`fetch_sized_layer`] takes besides the host.
pub struct Blob<'a> {
    pub digest: &'a str,
    pub media_type: &'a str,
    pub size: Option<u64>,
    pub path: &'a Path,
    pub keep: LayerFile,
    /// `path` may hold the first bytes of the blob (kept as served) from a
    /// download a crash cut short: they are hashed (and decompressed for
    /// the diff_id) from disk and only the rest is fetched, with `Range`.
    /// A layer without a size starts over.
    pub resume: bool,
    /// Hash the blob on a thread of its own (see
    /// [`LayerDigester::hash_blob_beside`]).
    pub hash_beside: bool,
}

/// Whether a failure on one host may be mended by another: not a cancel,
/// nor a local fault, nor a bad request.
pub fn another_host_may_help(e: &Error) -> bool {
    !matches!(
        e,
        Error::Cancelled | Error::Store(_) | Error::Invalid(_) | Error::Internal(_)
    )
}

/// [`fetch_sized_layer`] over `hosts` in order: when one gives up, the
/// next continues the same blob with `Range` from the byte the digester
/// reached (told to `switched` first), so the one pass goes on whichever
/// host serves the rest; a digest mismatch restarts on the next host.
pub fn fetch_layer_over(
    hosts: &[&Client],
    switched: &mut dyn FnMut(&Client, &Error),
    blob: &Blob<'_>,
    events: &mut dyn FnMut(FetchEvent),
) -> Result<LayerDigests, Error> {
    let Blob {
        digest,
        media_type,
        size,
        path,
        keep,
        resume,
        hash_beside,
    } = *blob;
    let mut at = 0;
    let mut client = *hosts
        .first()
        .ok_or_else(|| Error::Internal(format!("no host to fetch {digest} from")))?;
    let limit = size.unwrap_or_else(unsized_layer_cap);
    let compression = Compression::from_media_type(media_type);
    let mut digester = match size {
        Some(size) if resume => resumed(path, compression, size, hash_beside)?,
        _ => fresh(path, compression, keep, hash_beside)?,
    };
    let mut first = Instant::now();
    let mut attempt = 0;
    let mut restarted = false;
    loop {
        attempt += 1;
        let started = Instant::now();
        let from = digester.received();
        let mut on_bytes = |now: u64| {
            events(FetchEvent::Bytes(from.saturating_add(now)));
            true
        };
        let mut sink = WriteSink {
            out: &mut digester,
            room: limit.saturating_sub(from),
            overflow: false,
        };
        // a resumed download may be complete already: nothing to ask for
        let result = if size == Some(from) && from > 0 {
            Ok(())
        } else {
            client
                .get_within(
                    &format!("blobs/{digest}"),
                    &[],
                    from,
                    blob_deadline(limit.saturating_sub(from)),
                    &mut sink,
                    &mut on_bytes,
                )
                .and_then(|reply| blob_status(client, digest, &reply))
        };
        if sink.overflow {
            return Err(Error::Malformed(match size {
                Some(size) => {
                    format!("layer {digest} is longer than the {size} bytes its manifest declares")
                }
                None => format!(
                    "layer {digest} is larger than {limit} bytes, the most accepted for a layer \
                     without a declared size (raise it with isula_registry_set_max_unsized_layer)"
                ),
            }));
        }
        let brought = digester.received().saturating_sub(from);
        if brought >= retry::PROGRESS {
            client.budget.progressed();
        }
        match result {
            Ok(()) => {}
            Err(Error::Transport { source, .. })
                if source.code == CURLE_RANGE_ERROR && attempt < client.attempts().max(2) =>
            {
                digester = fresh(path, compression, keep, hash_beside)?;
                events(FetchEvent::Restarted);
                continue;
            }
            Err(e) => match retry_wait(client, attempt, started, &e) {
                Some(wait) => {
                    let wait = if brought > 0 {
                        wait.min(retry::AFTER_BYTES)
                    } else {
                        wait
                    };
                    events(FetchEvent::Retrying { attempt, wait });
                    sleep_unless_cancelled(client, wait)?;
                    continue;
                }
                None if at + 1 < hosts.len() && another_host_may_help(&e) => {
                    switched(client, &e);
                    events(FetchEvent::Retrying {
                        attempt,
                        wait: Duration::ZERO,
                    });
                    at += 1;
                    client = hosts[at];
                    (attempt, first) = (0, Instant::now());
                    continue;
                }
                None => return Err(given_up(e, attempt, first)),
            },
        }
        if let Some(size) = size
            && digester.received() != size
        {
            return Err(Error::Malformed(format!(
                "layer {digest} is shorter than declared: the registry sent {} bytes, \
                 its manifest declares {size}",
                digester.received()
            )));
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
            // a blob is kept in the store: on disk before it is named; a
            // tar is a working file the store unpacks at once
            if keep == LayerFile::Blob {
                finished
                    .out
                    .as_ref()
                    .map_or(Ok(()), File::sync_all)
                    .map_err(|e| Error::Store(format!("cannot sync {}: {e}", path.display())))?;
            }
            return Ok(digests);
        };
        let mismatch = Error::DigestMismatch {
            what: "layer",
            expected: digest.to_string(),
            actual: mismatch,
        };
        if at + 1 < hosts.len() {
            // which host sent the bad bytes is unknown: the rest of the list
            // serves the whole blob again
            switched(client, &mismatch);
            at += 1;
            client = hosts[at];
            (attempt, first) = (0, Instant::now());
        } else if restarted || attempt >= ATTEMPTS {
            return Err(mismatch);
        }
        restarted = true;
        digester = fresh(path, compression, keep, hash_beside)?;
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
            crate::text::clean(&available.join(", "), super::client::MAX_SHOWN)
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
