//! The `isulad` host (cargo feature `isulad`): the library linked into the
//! iSulad daemon stores what it pulls through the daemon's `storage_*`
//! functions, exactly as iSulad's `registry.c` did (`reuse_image`,
//! `register_layers`, `register_image`, the rollback at the end of
//! `registry_pull`), minus its known weaknesses:
//!
//! - the downloads live in `<isulad tmpdir>/registry-XXXXXX` (mode 0700),
//!   removed at the end of every pull;
//! - layer reuse walks bottom to top with the parent taken from the layer
//!   reused just before (iSulad read chain ids that its config thread was
//!   still writing, so usually only layer 0 was reused), and keeps
//!   exactly one extra hold reference, on the current top layer;
//! - a layer is created as soon as it and every layer below it are
//!   verified (both digests), in order, while the layers above still
//!   download (iSulad's register thread overlaps them too, unverified); a
//!   pull that fails later removes what it created;
//! - a missing `created` time never fails a pull (iSulad's time check in
//!   `registry.c` rejected images the OCI spec allows);
//! - on failure the hold reference is released *before* the rollback, so
//!   `storage_layer_chain_delete` / `storage_img_delete` really delete what
//!   this pull created (iSulad deleted while still holding it).
//!
//! Layer ids are containers/image chain ids (see `next_chain_id`), the image id is the
//! config digest hex, and the big-data keys are iSulad's, so images pulled
//! by iSulad and by this library are interchangeable.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::daemon::{self, LogLevel, StoredLayer, Timestamp};
use super::{Host, ImageReady, LayerPlan, LayerReady};
use crate::digest::LayerFile;
use crate::error::Error;
use crate::progress::event::{Event, Observer, Phase};

/// iSulad's `REGISTRY_TMPDIR_PREFIX`: the daemon removes stale
/// `registry-*` directories at start.
pub const TMPDIR_PREFIX: &str = "registry-";

/// Big-data key of the image manifest.
pub const MANIFEST_BIG_DATA_KEY: &str = "manifest";

/// Serialises image creation across concurrent pulls (iSulad's
/// `image_mutex`): "does this id exist with this top layer" and the
/// creation must not interleave.
static IMAGE_LOCK: Mutex<()> = Mutex::new(());

#[derive(Default)]
struct State {
    /// The layer this pull holds an extra reference on (iSulad's
    /// `layer_of_hold_refs`): the last reused or created layer.
    held: Option<String>,
    /// What `present` reused, by layer index.
    reused: Vec<Option<StoredLayer>>,
    /// The storage ids of the layers handed over so far, bottom first.
    chain: Vec<String>,
    /// The layers this pull created, bottom first (to roll back).
    created: Vec<String>,
    /// The image id, once this pull created the image.
    image_created: Option<String>,
    /// The image is registered: nothing to roll back.
    committed: bool,
}

/// One pull into the daemon's storage.
pub struct IsuladHost {
    /// `oci_get_isulad_tmpdir(root_dir)`.
    tmpdir: PathBuf,
    state: Mutex<State>,
}

impl IsuladHost {
    /// A host for one pull. Fails when the daemon has no image root
    /// directory (`get_oci_image_data()` is NULL or has no `root_dir`).
    pub fn new() -> Result<IsuladHost, Error> {
        let root = daemon::get().image_root_dir().ok_or_else(|| {
            Error::Store("the daemon has no image root directory (oci image module data)".into())
        })?;
        Ok(IsuladHost {
            tmpdir: isulad_tmpdir(&root, std::env::var_os("ISULAD_TMPDIR").as_deref()),
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the extra reference this pull holds, if any.
    fn release(state: &mut State) {
        if let Some(id) = state.held.take()
            && daemon::get().dec_hold_refs(&id).is_err()
        {
            log_error(&format!("decrease hold refs failed for layer {id}"));
        }
    }

    /// Removes what this pull registered: the image (which takes its layers
    /// with it) or else the layers it created. Unpins first: storage keeps
    /// layers that are held.
    fn roll_back(state: &mut State) {
        Self::release(state);
        if let Some(image_id) = state.image_created.take() {
            if daemon::get().image_delete(&image_id, true).is_err() {
                log_error(&format!("delete image {image_id} failed"));
            }
        } else if let Some(top) = state.created.last()
            && daemon::get().layer_chain_delete(top).is_err()
        {
            log_error(&format!("rollback layer {top} failed"));
        }
        state.created.clear();
    }

    /// Layer `index`, the next one in order: a reused one checked, a new
    /// one created on the layers before it.
    fn register_layer(
        state: &mut State,
        index: usize,
        layer: &LayerReady<'_>,
        obs: &dyn Observer,
    ) -> Result<(), Error> {
        if index != state.chain.len() {
            return Err(Error::Store(format!(
                "register layers failed: layer {index} came out of order"
            )));
        }
        let parent = state.chain.last().cloned();
        let id = next_chain_id(parent.as_deref(), layer.diff_id)?;
        obs.observe(Event::phase(layer.digest, Phase::Registering));
        match layer.file {
            None => {
                let Some(stored) = state.reused.get(index).and_then(Option::as_ref) else {
                    return Err(Error::Store(format!(
                        "register layers failed: layer {} was neither downloaded nor found in storage",
                        layer.digest
                    )));
                };
                if stored.id != id {
                    return Err(Error::Store(format!(
                        "register layers failed: the stored layer {} made from {} is not layer {id} \
                         of this image (diff_id {})",
                        stored.id, layer.digest, layer.diff_id
                    )));
                }
                if !daemon::get().layer_exists(&id) {
                    return Err(Error::Store(format!(
                        "Pull image failed, layer {index} {id} was deleted while pulling the image"
                    )));
                }
                if daemon::get()
                    .layer_try_repair_lowers(&id, parent.as_deref())
                    .is_err()
                {
                    log_warn(&format!("try to repair lowers for layer {id} failed"));
                }
            }
            Some(file) => {
                daemon::get()
                    .layer_create(&id, parent.as_deref(), layer.diff_id, layer.digest, file)
                    .map_err(|_| {
                        Error::Store(format!(
                            "register layers failed: storage could not create layer {id} \
                             from {} (parent {})",
                            layer.digest,
                            parent.as_deref().unwrap_or("none")
                        ))
                    })?;
                state.created.push(id.clone());
                // a new layer comes with a hold reference: move ours to it
                if let Some(old) = state.held.replace(id.clone())
                    && daemon::get().dec_hold_refs(&old).is_err()
                {
                    return Err(Error::Store(format!(
                        "register layers failed: clear hold flag failed for layer {old}"
                    )));
                }
            }
        }
        obs.observe(Event::phase(layer.digest, Phase::PullComplete));
        state.chain.push(id);
        Ok(())
    }
}

/// iSulad's `register_image`, under its `image_mutex`. `created` is set once the image exists
/// because of this call (so a later failure must delete it).
fn register_image(
    image: &ImageReady<'_>,
    image_id: &str,
    top: &str,
    created: &mut Option<String>,
) -> Result<(), Error> {
    let _serial = IMAGE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let create_time = creation_time(image.config)
        .map(Some)
        .unwrap_or_else(|created| {
            log_warn(&format!(
                "cannot parse the created time {created:?} of image {image_id}"
            ));
            None
        });
    if daemon::get()
        .image_create(image_id, top, create_time, image.manifest_digest)
        .is_err()
    {
        match daemon::get().image_top_layer(image_id) {
            Some(t) if t == top => {
                // the same image is there already: only add the name
                return daemon::get()
                    .image_add_name(image_id, image.name)
                    .map_err(|_| {
                        Error::Store(format!(
                            "create image failed: cannot add the name {} to image {image_id}",
                            image.name
                        ))
                    });
            }
            Some(t) => {
                return Err(Error::Store(format!(
                    "error committing image, image id {image_id} exist, but top layer doesn't match. \
                     local {t}, download {top}"
                )));
            }
            None => {
                return Err(Error::Store(format!(
                    "create image failed: storage could not create image {image_id}"
                )));
            }
        }
    }
    *created = Some(image_id.to_string());
    let fail = |m: &str| Error::Store(format!("{m} for image {image_id}"));
    daemon::get()
        .image_add_name(image_id, image.name)
        .map_err(|_| {
            fail(&format!(
                "create image failed: cannot add the name {}",
                image.name
            ))
        })?;
    daemon::get()
        .image_set_big_data(image_id, image.config_digest, image.config)
        .map_err(|_| fail("set image config failed"))?;
    daemon::get()
        .image_set_big_data(image_id, MANIFEST_BIG_DATA_KEY, image.manifest)
        .map_err(|_| fail("set manifest failed"))?;
    daemon::get()
        .image_set_loaded_time(image_id, now())
        .map_err(|_| fail("set loaded time failed"))?;
    daemon::get()
        .image_set_image_size(image_id)
        .map_err(|_| fail("set image size failed"))?;
    Ok(())
}

impl Host for IsuladHost {
    fn work_dir(&self) -> Result<PathBuf, Error> {
        ensure_private_dir(&self.tmpdir).map_err(|e| {
            Error::Store(format!(
                "failed to make sure permission of image tmp work dir {}: {e}",
                self.tmpdir.display()
            ))
        })?;
        make_temp_dir(&self.tmpdir, TMPDIR_PREFIX).map_err(|e| {
            Error::Store(format!(
                "make temporary directory in {} failed: {e}",
                self.tmpdir.display()
            ))
        })
    }

    /// The daemon's storage unpacks each layer file twice (the diff, then
    /// its tar-split): given the tar this pull has decompressed anyway, it
    /// decompresses nothing.
    fn layer_file(&self) -> LayerFile {
        LayerFile::Tar
    }

    /// iSulad's storage unpacks each layer as `layer_verified` hands it over.
    fn stores_layers_in_order(&self) -> bool {
        true
    }

    fn store_id(&self) -> PathBuf {
        self.tmpdir.clone()
    }

    fn up_to_date(&self, name: &str, config_digest: &str) -> Result<bool, Error> {
        let Some(hex) = config_digest.strip_prefix("sha256:") else {
            return Ok(false);
        };
        Ok(daemon::get()
            .image_summary_id(name)
            .is_some_and(|id| id == hex))
    }

    fn present(&self, layers: &[LayerPlan]) -> Result<Vec<bool>, Error> {
        let mut state = self.state();
        state.reused = vec![None; layers.len()];
        let mut found = vec![false; layers.len()];
        // the layer reused just below this one
        let mut below: Option<String> = None;
        for (i, plan) in layers.iter().enumerate() {
            let mut hit = None;
            for candidate in daemon::get().layers_by_compressed_digest(&plan.digest) {
                let fits = match (&below, candidate.parent.as_deref()) {
                    (None, None) => i == 0,
                    (Some(b), Some(p)) => {
                        p == b && candidate.uncompressed_digest != candidate.compressed_digest
                    }
                    _ => false,
                };
                // a layer that cannot be pinned is being deleted
                if fits && daemon::get().inc_hold_refs(&candidate.id).is_ok() {
                    hit = Some(candidate);
                    break;
                }
            }
            // the first miss ends reuse: a layer above a new one is new too
            let Some(layer) = hit else { break };
            if let Some(old) = state.held.replace(layer.id.clone())
                && daemon::get().dec_hold_refs(&old).is_err()
            {
                log_warn(&format!("clear hold flag failed for layer {old}"));
            }
            below = Some(layer.id.clone());
            found[i] = true;
            state.reused[i] = Some(layer);
        }
        Ok(found)
    }

    fn layer_verified(
        &self,
        index: usize,
        layer: &LayerReady<'_>,
        obs: &dyn Observer,
    ) -> Result<(), Error> {
        let result = Self::register_layer(&mut self.state(), index, layer, obs);
        if let Err(e) = &result {
            log_error(&format!("register layer {} failed: {e}", layer.digest));
        }
        result
    }

    fn register(&self, image: &ImageReady<'_>, obs: &dyn Observer) -> Result<(), Error> {
        let mut state = self.state();
        let result = (|| {
            let image_id = image_id_of(image.config_digest)?;
            // the layers the downloads did not already hand over
            for (i, layer) in image.layers.iter().enumerate().skip(state.chain.len()) {
                Self::register_layer(&mut state, i, layer, obs)?;
            }
            let top = state.chain.last().cloned().ok_or_else(|| {
                Error::Malformed(format!("No valid layer found for image {}", image.name))
            })?;
            register_image(image, image_id, &top, &mut state.image_created)
        })();
        match &result {
            Ok(()) => state.committed = true,
            Err(e) => log_error(&format!("register image {} failed: {e}", image.name)),
        }
        result
    }

    fn finish(&self) {
        let mut state = self.state();
        if state.committed {
            Self::release(&mut state);
        } else {
            Self::roll_back(&mut state);
        }
    }
}

fn log_error(m: &str) {
    daemon::get().log(LogLevel::Error, m);
}

fn log_warn(m: &str) {
    daemon::get().log(LogLevel::Warn, m);
}

/// `oci_get_isulad_tmpdir`: `$ISULAD_TMPDIR/isulad_tmpdir` when the
/// variable is set, not empty and not `/tmp`, else `<root>/isulad_tmpdir`.
pub fn isulad_tmpdir(root: &Path, env: Option<&std::ffi::OsStr>) -> PathBuf {
    match env {
        Some(dir) if !dir.is_empty() && dir != "/tmp" => Path::new(dir).join("isulad_tmpdir"),
        _ => root.join("isulad_tmpdir"),
    }
}

/// The work directories: iSulad's `makesure_isulad_tmpdir_perm_right` and
/// `mkdtemp`, shared with the other hosts.
pub use crate::fsutil::{ensure_private_dir, make_temp_dir};

/// The image id: the config digest hex (`^sha256:[a-f0-9]{64}$`).
fn image_id_of(config_digest: &str) -> Result<&str, Error> {
    config_digest
        .strip_prefix("sha256:")
        .filter(|h| is_hex64(h))
        .ok_or_else(|| Error::Invalid(format!("invalid image digest: {config_digest}")))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The storage id of a layer with this diff_id on `parent` (the id below
/// it): containers/image chain ids without the prefix. The first is
/// the first diff_id; each next is `sha256(parent_hex + "+" + diff_hex)`.
fn next_chain_id(parent: Option<&str>, diff_id: &str) -> Result<String, Error> {
    let hex = diff_id
        .strip_prefix("sha256:")
        .filter(|h| is_hex64(h))
        .ok_or_else(|| {
            Error::Malformed(format!("invalid diff_id {diff_id} in the image config"))
        })?;
    Ok(match parent {
        None => hex.to_string(),
        Some(parent) => {
            let full = crate::digest::sha256_of(format!("{parent}+{hex}").as_bytes());
            full.trim_start_matches("sha256:").to_string()
        }
    })
}

/// `util_to_timestamp_from_str(config.created)`: a missing, empty or zero
/// time is the epoch; an unparsable one is the all-unset timestamp
/// (neither fails the pull, unlike iSulad), returned as `Err` with the text.
fn creation_time(config: &[u8]) -> Result<Timestamp, String> {
    let v: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    let created = v.get("created").and_then(|c| c.as_str()).unwrap_or("");
    if created.is_empty() || created == "0001-01-01T00:00:00Z" {
        return Ok(timestamp(0, 0));
    }
    parse_rfc3339(created)
        .map(|(s, n)| timestamp(s, n))
        .ok_or_else(|| created.to_string())
}

fn timestamp(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    timestamp(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos() as i32,
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → seconds and nanoseconds
/// since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<(i64, i32)> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = b.get(r)?;
        if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(t).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 9)];
        nanos = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hh = num(i + 1..i + 3)?;
            let mm = num(i + 4..i + 6)?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let o = hh * 3600 + mm * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some((secs, nanos as i32))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The daemon's `registry_transformation` applied to `host` (first exact
/// match); no constants or no map: unchanged.
pub fn transform_host(host: &str) -> String {
    daemon::get()
        .registry_transformation()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == host).map(|(_, v)| v))
        .unwrap_or_else(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_ids(diff_ids: &[&str]) -> Result<Vec<String>, Error> {
        let mut ids: Vec<String> = Vec::new();
        for d in diff_ids {
            ids.push(next_chain_id(ids.last().map(String::as_str), d)?);
        }
        Ok(ids)
    }

    #[test]
    fn chain_ids_follow_containers_image() {
        // nine layers with the same diff_id still get nine distinct ids
        let d = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let ids = chain_ids(&[d; 9]).unwrap();
        assert_eq!(ids[0], &d[7..]);
        assert_eq!(
            ids[8],
            "382dfd1b0f139f3fa6a7b14d4b18ad49a8bd86e4b303264088b39b020556da73"
        );
        assert!(chain_ids(&["sha256:xyz"]).is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2024-01-01T00:00:00Z"),
            Some((1_704_067_200, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-01-01T02:00:00.5+02:00"),
            Some((1_704_067_200, 500_000_000))
        );
        assert_eq!(parse_rfc3339("2024-01-01"), None);
        let t = creation_time(b"{}").unwrap();
        assert_eq!(t, Timestamp::default(), "the epoch");
        let t = creation_time(br#"{"created":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(t.seconds, 1_704_067_200);
        assert!(creation_time(br#"{"created":"bogus"}"#).is_err());
    }

    #[test]
    fn tmpdir() {
        let root = Path::new("/var/lib/isulad");
        assert_eq!(
            isulad_tmpdir(root, None),
            Path::new("/var/lib/isulad/isulad_tmpdir")
        );
        assert_eq!(
            isulad_tmpdir(root, Some("/tmp".as_ref())),
            Path::new("/var/lib/isulad/isulad_tmpdir")
        );
        assert_eq!(
            isulad_tmpdir(root, Some("".as_ref())),
            Path::new("/var/lib/isulad/isulad_tmpdir")
        );
        assert_eq!(
            isulad_tmpdir(root, Some("/data".as_ref())),
            Path::new("/data/isulad_tmpdir")
        );
    }
}
