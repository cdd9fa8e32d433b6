//! A pull into a [`Host`]: resolve the manifest (choosing a
//! platform from a list), then fetch the config and the missing layers in
//! parallel (at most [`MAX_CONCURRENT`] downloads per pull, each blob
//! shared with concurrent pulls), verify every layer's two digests, hand
//! each verified layer to the host in order (see [`pipeline`]), and name
//! the image last. Progress goes to an [`Observer`] as
//! [`Event`]s. Any failure leaves the store as it was: downloads live in a
//! per-pull directory that is removed at the end, and the host removes what
//! it stored for a pull that did not finish. A host shared by several
//! processes has each blob fetched by one of them, into a stable file of
//! its own that a crash leaves to be resumed (see [`Host::claim`]).

#![forbid(unsafe_code)]

pub mod convert;
pub mod flight;
pub mod pipeline;
pub mod priority;
mod schema1_config;

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crate::auths::{AuthStore, Secret};
use crate::digest::LayerFile;
use crate::distribution::client::{Cancel, ClientConfig, Credentials};
use crate::distribution::fetch::{self, FetchEvent, FetchedManifest};
use crate::distribution::manifest::{self, ImageManifest, Manifest};
use crate::distribution::mirrors::Hosts;
use crate::distribution::reference::{self, Platform};
use crate::error::Error;
use crate::host::{Claim, Host, ImageReady, LayerPlan, LayerReady, RemoveOnDrop};
use crate::progress::event::{EntryKind, Event, Observer, Phase};
use flight::{Landed, Role};
use pipeline::Pipeline;

/// Most layer downloads one pull runs at once (iSulad's value).
pub const MAX_CONCURRENT: usize = 5;

/// The size from which a layer's blob is hashed on a thread of its own,
/// for a host that stores layers as they come (see
/// [`crate::digest::LayerDigester::hash_blob_beside`]): below it a thread
/// costs more than it saves.
pub const HASH_BESIDE_FROM: u64 = 16 << 20;

/// What to pull and how.
#[derive(Clone, Debug)]
pub struct PullRequest {
    /// Full reference with host, e.g. `127.0.0.1:5000/test/x:v1`; the host
    /// is used as given (the caller applies the registry transformation).
    pub image: String,
    /// The reference as the caller asked for it, before the registry
    /// transformation: what the pull's last line shows.
    pub asked: String,
    /// The name to store it under.
    pub dest: String,
    /// Credentials; `None` uses the ones stored by login.
    pub credentials: Option<Credentials>,
    pub insecure: bool,
    pub skip_tls_verify: bool,
    pub platform: Platform,
    pub certs_dir: PathBuf,
    pub auths: AuthStore,
    pub cancel: Arc<AtomicBool>,
}

/// A finished pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// The digest the registry knows the image by (the list's for a list).
    pub digest: String,
    /// The image was already there: nothing was downloaded.
    pub up_to_date: bool,
    /// The mirrors (hosts.toml) that failed and were passed over, and why.
    pub notes: Vec<String>,
}

/// Pulls `req.image` into `host` as `req.dest`, reporting to `obs`.
pub fn pull(req: &PullRequest, host: &dyn Host, obs: &dyn Observer) -> Result<Pulled, Error> {
    // a bug anywhere in the pull ends it with an error; what it held is
    // released by guards as the panic unwinds
    let result = panic::catch_unwind(AssertUnwindSafe(|| run(req, host, obs)))
        .unwrap_or_else(|p| Err(Error::from_panic("the pull", p.as_ref())));
    host.finish();
    if let Err(e) = &result {
        let reason = e.to_string();
        if let Some(layer) = failed_layer(e) {
            obs.observe(Event::phase(&layer, Phase::Failed(reason.clone())));
        }
        obs.observe(Event::Failed(reason));
    }
    result
}

fn failed_layer(e: &Error) -> Option<String> {
    match e {
        Error::DigestMismatch { expected, .. } if expected.starts_with("sha256:") => {
            Some(expected.clone())
        }
        Error::DiffIdMismatch { layer, .. } => Some(layer.clone()),
        Error::BlobUnknown { digest, .. } => Some(digest.clone()),
        _ => None,
    }
}

/// This pull's download directory, removed at the end whatever happens.
struct Workdir {
    /// Downloads other pulls may link while this pull lasts (dropped
    /// before the directory goes: fields drop in order).
    shared: Mutex<Vec<flight::Release>>,
    dir: RemoveOnDrop,
}

impl Workdir {
    fn new(host: &dyn Host) -> Result<Workdir, Error> {
        Ok(Workdir {
            shared: Mutex::new(Vec::new()),
            dir: RemoveOnDrop(host.work_dir()?),
        })
    }

    fn file(&self, digest: &str) -> PathBuf {
        self.dir.0.join(digest.trim_start_matches("sha256:"))
    }

    fn keep_shared(&self, release: flight::Release) {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(release);
    }
}

fn run(req: &PullRequest, host: &dyn Host, obs: &dyn Observer) -> Result<Pulled, Error> {
    for name in [&req.image, &req.dest] {
        if !reference::valid_image_name(name) {
            return Err(Error::Invalid(format!("Invalid image name {name}")));
        }
    }
    let r = reference::split_image_name(&req.image).map_err(|e| Error::Invalid(e.to_string()))?;
    let registry = r.host.clone();
    let credentials = match &req.credentials {
        Some(c) => Some(c.clone()),
        None => req
            .auths
            .load(&registry)?
            .map(|(username, password)| Credentials {
                username,
                password: Secret::new(password),
            }),
    };
    let stop = Arc::new(AtomicBool::new(false));
    // a mirror gets the credentials stored for its own host, never these
    let stored = |host: &str| -> Result<Option<Credentials>, Error> {
        Ok(req
            .auths
            .load(host)?
            .map(|(username, password)| Credentials {
                username,
                password: Secret::new(password),
            }))
    };
    let hosts = Hosts::new(
        &registry,
        &r.name,
        ClientConfig {
            insecure: req.insecure,
            skip_tls_verify: req.skip_tls_verify,
            certs_dir: req.certs_dir.clone(),
            credentials,
            cancel: Cancel::new().with(req.cancel.clone()).with(stop.clone()),
        },
        &stored,
    )?;

    obs.observe(Event::Pulling {
        id: r.tag.clone(),
        name: r.name.clone(),
    });
    let fetch::Resolved {
        top_digest: shown,
        fetched,
        manifest: parsed,
        ..
    } = told(&hosts, obs, hosts.resolve_manifest(&r.tag, &req.platform))?;
    obs.observe(Event::Digest(shown.clone()));
    let cx = Ctx {
        req,
        host,
        obs,
        hosts: &hosts,
        stop: &stop,
    };
    let up_to_date = match parsed {
        Manifest::Image(m) => pull_image(&cx, &fetched, &m)?,
        Manifest::Schema1 { layers, .. } => pull_schema1(&cx, &fetched, &layers)?,
        Manifest::Index { .. } => unreachable!("resolved above"),
    };
    obs.observe(Event::Done {
        name: req.dest.clone(),
        reference: req.asked.clone(),
        up_to_date,
    });
    Ok(Pulled {
        digest: shown,
        up_to_date,
        notes: hosts.notes(),
    })
}

/// Passes `result` on after telling `obs` what the hosts noted meanwhile
/// (a mirror passed over, naming it and why).
fn told<T>(hosts: &Hosts, obs: &dyn Observer, result: T) -> T {
    for note in hosts.new_notes() {
        obs.observe(Event::Note(note));
    }
    result
}

/// What every step of one pull shares.
struct Ctx<'a> {
    req: &'a PullRequest,
    host: &'a dyn Host,
    obs: &'a dyn Observer,
    /// The mirrors and the origin.
    hosts: &'a Hosts,
    /// Set at the first failure, so the other downloads stop.
    stop: &'a AtomicBool,
}

/// One blob to fetch for a pull.
struct Job {
    digest: String,
    media_type: String,
    size: u64,
    /// Skip it when another pull stored it meanwhile (not for schema1,
    /// which needs every layer's diff_id from this pull's own bytes).
    reusable: bool,
}

/// Downloads `jobs` with at most [`MAX_CONCURRENT`] threads, while `side`
/// runs on its own thread (the config fetch). Each finished job is told to
/// `pipeline`. The first failure stops the rest and is returned.
fn download_all<T: Send>(
    cx: &Ctx<'_>,
    work: &Workdir,
    jobs: Vec<Job>,
    side: impl FnOnce() -> Result<T, Error>,
    pipeline: Option<&Pipeline<'_>>,
) -> Result<(HashMap<String, Landed>, T), Error> {
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    // the bottom layer first, when the host stores layers as they come
    let order = priority::LayerOrder::new(pipeline.is_some() && cx.host.stores_layers_in_order());
    let landed = Mutex::new(HashMap::new());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let fail = |e: Error| {
        let mut slot = first_error.lock().unwrap_or_else(PoisonError::into_inner);
        // a cancellation caused by another failure is not the story
        if slot.is_none() || matches!(slot.as_ref(), Some(Error::Cancelled)) {
            *slot = Some(e);
        }
        cx.stop.store(true, Ordering::Relaxed);
    };
    let workers = queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .len()
        .min(MAX_CONCURRENT);
    let side_result = thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let job = queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .pop_front();
                    let Some((place, job)) = job else { break };
                    if cx.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let _turn = order.start(place);
                    let got =
                        panic::catch_unwind(AssertUnwindSafe(|| download_layer(cx, work, &job)))
                            .unwrap_or_else(|p| {
                                Err(Error::from_panic(
                                    &format!("the download of {}", job.digest),
                                    p.as_ref(),
                                ))
                            });
                    match got {
                        Ok(l) => {
                            if let Some(p) = pipeline {
                                p.landed(&job.digest, l.clone());
                            }
                            if let Some(l) = l {
                                landed
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .insert(job.digest, l);
                            }
                        }
                        Err(e) => fail(e),
                    }
                }
            });
        }
        // the config on this thread, beside the layers: its libcurl handle
        // holds the connection the manifest came on, so no new handshake
        let result = panic::catch_unwind(AssertUnwindSafe(side))
            .unwrap_or_else(|p| Err(Error::from_panic("the config fetch", p.as_ref())));
        if result.is_err() {
            cx.stop.store(true, Ordering::Relaxed);
        }
        result
    });
    let layer_error = first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let side = match (side_result, layer_error) {
        // the layers stopped because the config failed: its error tells why
        (Err(e), None | Some(Error::Cancelled)) => return Err(e),
        (_, Some(e)) => return Err(e),
        (Ok(side), None) => side,
    };
    Ok((
        landed.into_inner().unwrap_or_else(PoisonError::into_inner),
        side,
    ))
}

/// Where this pull fetches a blob, once no other pull does.
enum Fetching {
    /// Into its own directory (the host does not share across processes).
    Here,
    /// Into the store's stable ingest file, resuming what is there.
    Ingest(crate::store::ingest::Claimed),
    /// Nowhere: another process stored it while this pull waited.
    Stored,
}

/// How often a pull waiting for another process's download looks again.
const CLAIM_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Waits until this pull may fetch `job` (another process fetching it
/// shows `Waiting`), or until that process stored it.
fn claim_blob(cx: &Ctx<'_>, job: &Job) -> Result<Fetching, Error> {
    let mut told = false;
    loop {
        match cx.host.claim(&job.digest)? {
            Claim::Unshared => return Ok(Fetching::Here),
            // dropping the claim removes the ingest of a stored blob
            Claim::Mine(_) if job.reusable && cx.host.arrived(&job.digest) => {
                return Ok(Fetching::Stored);
            }
            Claim::Mine(claimed) => return Ok(Fetching::Ingest(claimed)),
            Claim::Busy => {
                if !told {
                    cx.obs.observe(Event::phase(&job.digest, Phase::Waiting));
                    told = true;
                }
                if cx.hosts.origin().cancelled() {
                    return Err(Error::Cancelled);
                }
                thread::sleep(CLAIM_POLL);
            }
        }
    }
}

/// Fetches one layer (or links another pull's download of it); `None`
/// when another pull stored it meanwhile.
fn download_layer(cx: &Ctx<'_>, work: &Workdir, job: &Job) -> Result<Option<Landed>, Error> {
    if job.reusable && cx.host.arrived(&job.digest) {
        cx.obs
            .observe(Event::phase(&job.digest, Phase::AlreadyExists));
        return Ok(None);
    }
    let path = work.file(&job.digest);
    let digest = job.digest.clone();
    let report_bytes = |current: u64| cx.obs.observe(Event::bytes(&digest, current));
    let mut fetch_here = |publish: &dyn Fn(u64)| -> Result<Option<Landed>, Error> {
        let fetching = claim_blob(cx, job)?;
        let ingest = match &fetching {
            Fetching::Stored => return Ok(None),
            Fetching::Here => None,
            Fetching::Ingest(claimed) => Some(claimed),
        };
        report_bytes(0);
        let size = (job.size > 0).then_some(job.size);
        let mut events = |ev| match ev {
            FetchEvent::Bytes(n) => {
                publish(n);
                report_bytes(n);
                if let Some(i) = ingest {
                    i.progress(n);
                }
            }
            FetchEvent::Retrying { attempt, wait } => {
                // a switch to the next host comes as a retry: say which failed
                told(cx.hosts, cx.obs, ());
                cx.obs.observe(Event::phase(
                    &digest,
                    Phase::Retrying {
                        in_secs: u32::try_from(wait.as_secs()).unwrap_or(u32::MAX),
                        attempt,
                    },
                ))
            }
            FetchEvent::Restarted => {
                if let Some(i) = ingest {
                    i.restarted();
                }
                cx.obs.observe(Event::Restart { id: digest.clone() })
            }
        };
        // a host storing layers as they come waits for each in turn: a
        // large one gets a second core for its blob hash
        let hash_beside = cx.host.stores_layers_in_order() && job.size >= HASH_BESIDE_FROM;
        let blob = |path, keep, resume| fetch::Blob {
            digest: &job.digest,
            media_type: &job.media_type,
            size,
            path,
            keep,
            resume,
            hash_beside,
        };
        // this pull's own name for an ingest's data; the ingest stays for
        // the other processes waiting, until the pulls end
        let link = |from: &Path| {
            fs::hard_link(from, &path)
                .or_else(|_| fs::copy(from, &path).map(|_| ()))
                .map_err(|e| Error::Store(format!("cannot keep {}: {e}", job.digest)))
        };
        let digests = match ingest {
            None => told(
                cx.hosts,
                cx.obs,
                cx.hosts
                    .fetch_layer(&blob(&path, cx.host.layer_file(), false), &mut events),
            )?,
            // another pull kept it whole and verified: linked, not read again
            Some(claimed)
                if let Some(digests) = claimed
                    .verified(&job.digest)
                    .filter(|d| size.is_none_or(|s| s == d.blob.size)) =>
            {
                link(claimed.path())?;
                publish(digests.blob.size);
                digests
            }
            Some(claimed) => {
                let kept = claimed
                    .prepare()
                    .map_err(|e| Error::Store(format!("cannot resume {}: {e}", job.digest)))?;
                if kept > 0 {
                    report_bytes(kept);
                }
                // an ingest holds the blob as served
                let digests = told(
                    cx.hosts,
                    cx.obs,
                    cx.hosts
                        .fetch_layer(&blob(claimed.path(), LayerFile::Blob, true), &mut events),
                )?;
                link(claimed.path())?;
                digests
            }
        };
        if let Fetching::Ingest(claimed) = fetching {
            claimed.keep_verified(&digests);
        }
        cx.obs.observe(Event::phase(&digest, Phase::Verifying));
        Ok(Some(Landed {
            path: path.clone(),
            digests,
        }))
    };
    let check_cancel = || {
        if cx.hosts.origin().cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let role = flight::share(
        cx.host.store_id(),
        &job.digest,
        &mut |n| report_bytes(n),
        &mut fetch_here,
        &check_cancel,
    )?;
    let theirs = match role {
        Role::Owner(Some(l), release) => {
            work.keep_shared(release);
            Ok(l)
        }
        Role::Owner(None, _) => Err(()),
        Role::Waiter(Some(theirs)) => match fs::hard_link(&theirs.path, &path)
            .or_else(|_| fs::copy(&theirs.path, &path).map(|_| ()))
        {
            Ok(()) => Ok(Landed {
                path: path.clone(),
                digests: theirs.digests,
            }),
            Err(_) => Err(()),
        },
        Role::Waiter(None) => Err(()),
    };
    let landed = match theirs {
        Ok(l) => l,
        // the download this pull waited for is stored (the file moved, or
        // another process stored it) ...
        Err(()) if job.reusable && cx.host.arrived(&job.digest) => {
            report_bytes(job.size);
            cx.obs
                .observe(Event::phase(&digest, Phase::DownloadComplete));
            return Ok(None);
        }
        // ... or failed and cleaned up: fetch it here
        Err(()) => match fetch_here(&|_| {})? {
            Some(l) => l,
            None => return Ok(None),
        },
    };
    report_bytes(landed.digests.blob.size);
    cx.obs
        .observe(Event::phase(&digest, Phase::DownloadComplete));
    Ok(Some(landed))
}

/// The config, fetched by one of the processes pulling it into a shared
/// store: the others wait, then read it from the store or from the ingest
/// file the first one left (each verified by its digest).
fn fetch_config_once(cx: &Ctx<'_>, digest: &str, size: Option<u64>) -> Result<Vec<u8>, Error> {
    let job = Job {
        digest: digest.to_string(),
        media_type: String::new(),
        size: size.unwrap_or(0),
        reusable: true,
    };
    let fetched = |cx: &Ctx<'_>| told(cx.hosts, cx.obs, cx.hosts.fetch_config(digest, size));
    let claimed = match claim_blob(cx, &job)? {
        Fetching::Here => return fetched(cx),
        Fetching::Stored => match cx.host.stored_blob(digest) {
            Some(bytes) => return Ok(bytes),
            None => return fetched(cx),
        },
        Fetching::Ingest(claimed) => claimed,
    };
    let cannot = |e: std::io::Error| Error::Store(format!("cannot keep the config {digest}: {e}"));
    if claimed.prepare().map_err(cannot)? > 0
        && let Ok(bytes) = fs::read(claimed.path())
        && crate::digest::sha256_of(&bytes) == digest
    {
        claimed.keep();
        return Ok(bytes);
    }
    let bytes = fetched(cx)?;
    let mut file = crate::fsutil::open_rw(claimed.path(), crate::store::oci_layout::FILE_MODE)
        .map_err(cannot)?;
    file.set_len(0)
        .and_then(|()| std::io::Write::write_all(&mut file, &bytes))
        .and_then(|()| file.sync_all())
        .map_err(cannot)?;
    claimed.keep();
    Ok(bytes)
}

fn pull_image(cx: &Ctx<'_>, fetched: &FetchedManifest, m: &ImageManifest) -> Result<bool, Error> {
    if cx.host.up_to_date(&cx.req.dest, &m.config.digest)? {
        return Ok(true);
    }
    cx.obs.observe(Event::Layers(
        m.layers
            .iter()
            .map(|l| (l.digest.clone(), l.size))
            .collect(),
    ));
    cx.obs.observe(Event::Add {
        id: m.config.digest.clone(),
        kind: EntryKind::Config,
        total: m.config.size,
    });
    let plans: Vec<LayerPlan> = m
        .layers
        .iter()
        .map(|l| LayerPlan {
            digest: l.digest.clone(),
            media_type: l.media_type.clone(),
            size: l.size,
        })
        .collect();
    let present = cx.host.present(&plans)?;
    let work = Workdir::new(cx.host)?;
    let mut jobs: Vec<Job> = Vec::new();
    for (l, here) in plans.iter().zip(&present) {
        if *here {
            cx.obs
                .observe(Event::phase(&l.digest, Phase::AlreadyExists));
        } else if !jobs.iter().any(|j| j.digest == l.digest) {
            jobs.push(Job {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                size: l.size,
                reusable: true,
            });
        }
    }
    let (landed, (config, diff_ids)) =
        download_and_hand_over(cx, &work, jobs, &plans, &present, m)?;
    let layers = plans
        .iter()
        .zip(&diff_ids)
        .zip(&present)
        .map(|((plan, diff_id), here)| {
            pipeline::verified(plan, diff_id, *here, landed.get(&plan.digest))
        })
        .collect::<Result<Vec<LayerReady<'_>>, Error>>()?;
    let oci = convert::to_oci(&fetched.bytes, m);
    let image = ImageReady {
        name: &cx.req.dest,
        manifest: &fetched.bytes,
        manifest_digest: &fetched.digest,
        oci_manifest: &oci,
        config: &config,
        config_digest: &m.config.digest,
        layers,
    };
    cx.host.register(&image, cx.obs)?;
    Ok(false)
}

/// The downloads of an image and, on a thread beside them, the hand-over
/// of each layer to the host as soon as it and those below it are verified
/// (see [`pipeline`]). Gives the downloads, the config and its diff_ids.
#[allow(clippy::type_complexity)]
fn download_and_hand_over(
    cx: &Ctx<'_>,
    work: &Workdir,
    jobs: Vec<Job>,
    plans: &[LayerPlan],
    present: &[bool],
    m: &ImageManifest,
) -> Result<(HashMap<String, Landed>, (Vec<u8>, Vec<String>)), Error> {
    let pipeline = Pipeline::new(plans, present);
    let (downloads, handed) = thread::scope(|s| {
        let registrar = s.spawn(|| {
            let handed = pipeline.run(cx.host, cx.obs);
            if handed.is_err() {
                cx.stop.store(true, Ordering::Relaxed);
            }
            handed
        });
        let side = || {
            let config_size = (m.config.size > 0).then_some(m.config.size);
            let config = fetch_config_once(cx, &m.config.digest, config_size)?;
            let diff_ids = convert::diff_ids(&config, m.layers.len())?;
            pipeline.config(diff_ids.clone());
            Ok((config, diff_ids))
        };
        let downloads = download_all(cx, work, jobs, side, Some(&pipeline));
        pipeline.close();
        let handed = registrar
            .join()
            .unwrap_or_else(|p| Err(Error::from_panic("the layer registration", p.as_ref())));
        (downloads, handed)
    });
    match (downloads, handed) {
        (Ok(d), Ok(_)) => Ok(d),
        // the host's failure stopped the downloads: it is the story
        (Ok(_) | Err(Error::Cancelled), Err(e)) => Err(e),
        (Err(e), _) => Err(e),
    }
}

fn pull_schema1(
    cx: &Ctx<'_>,
    fetched: &FetchedManifest,
    layers: &[manifest::Schema1Layer],
) -> Result<bool, Error> {
    let real: Vec<&manifest::Schema1Layer> = layers.iter().filter(|l| !l.empty).collect();
    // schema1 has no config blob
    cx.obs.observe(Event::Layers(
        real.iter().map(|l| (l.blob_sum.clone(), 0)).collect(),
    ));
    let work = Workdir::new(cx.host)?;
    let mut jobs: Vec<Job> = Vec::new();
    for l in &real {
        if !jobs.iter().any(|j| j.digest == l.blob_sum) {
            // schema1 never says the size or compression: sniffed while streaming
            jobs.push(Job {
                digest: l.blob_sum.clone(),
                media_type: String::new(),
                size: 0,
                reusable: false,
            });
        }
    }
    // schema1 has no diff_ids to reuse layers by: every layer is fetched
    let (landed, ()) = download_all(cx, &work, jobs, || Ok(()), None)?;
    let mut diff_ids = Vec::new();
    let mut oci_layers = Vec::new();
    for l in &real {
        let got = &landed[&l.blob_sum];
        diff_ids.push(got.digests.diff.digest.clone());
        let compression = got.digests.compression;
        oci_layers.push((
            l.blob_sum.clone(),
            got.digests.blob.size,
            convert::schema1_layer_type(compression),
        ));
    }
    let config = convert::schema1_config(layers, &diff_ids)?;
    let config_digest = convert::digest_of(&config);
    if cx.host.up_to_date(&cx.req.dest, &config_digest)? {
        return Ok(true);
    }
    let oci = convert::oci_manifest((&config_digest, config.len() as u64), &oci_layers);
    let image = ImageReady {
        name: &cx.req.dest,
        manifest: &fetched.bytes,
        manifest_digest: &fetched.digest,
        oci_manifest: &oci,
        config: &config,
        config_digest: &config_digest,
        layers: real
            .iter()
            .zip(&oci_layers)
            .zip(&diff_ids)
            .map(|((l, (_, size, media_type)), diff_id)| LayerReady {
                digest: &l.blob_sum,
                media_type,
                size: *size,
                diff_id,
                file: Some(landed[&l.blob_sum].path.as_path()),
            })
            .collect(),
    };
    cx.host.register(&image, cx.obs)?;
    Ok(false)
}
