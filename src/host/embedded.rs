//! The embedded host: images in an OCI image layout (see
//! store::oci_layout). A layer is present when its blob is; registering
//! moves the verified downloads into `blobs/`, stores the config and the
//! OCI manifest, and names the image in `index.json` last, so a failure
//! before that leaves no image.
//!
//! Several processes may pull into one store: each blob is fetched by the
//! one that claims it (store::ingest), into a stable file that survives a
//! crash and is resumed by the next pull; a pull sweeps away what dead
//! pulls left before it starts.

use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::{Claim, Host, ImageReady, LayerPlan};
use crate::distribution::manifest;
use crate::error::Error;
use crate::fsutil;
use crate::progress::event::{Event, Observer, Phase};
use crate::store::oci_layout::{Descriptor, OciLayout};

pub struct EmbeddedHost {
    store: OciLayout,
    /// Blobs this pull claimed: their ingests are tidied at the end.
    claimed: Mutex<Vec<String>>,
    /// Lock of this pull's download directories, released at the end.
    dirs: Mutex<Vec<File>>,
}

fn store_err(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Store(format!("{what}: {e}"))
}

impl EmbeddedHost {
    pub fn new(store: OciLayout) -> Self {
        EmbeddedHost {
            store,
            claimed: Mutex::default(),
            dirs: Mutex::default(),
        }
    }

    pub fn store(&self) -> &OciLayout {
        &self.store
    }

    /// The config digest of the image stored as `name`, if any.
    pub fn stored_config(&self, name: &str) -> Result<Option<String>, Error> {
        let Some(desc) = self
            .store
            .find(name)
            .map_err(|e| Error::Store(e.to_string()))?
        else {
            return Ok(None);
        };
        let Ok(bytes) = self.store.read_blob(&desc.digest) else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Ok(v["config"]["digest"].as_str().map(str::to_string))
    }
}

impl Host for EmbeddedHost {
    fn work_dir(&self) -> Result<PathBuf, Error> {
        // what dead pulls left goes first
        self.store.sweep();
        // private (0700) and unpredictable; the pid says whose it is, the
        // lock that it is alive
        let (dir, lock) = self
            .store
            .pull_dir()
            .map_err(store_err("cannot create the download directory"))?;
        self.dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(lock);
        Ok(dir)
    }

    fn store_id(&self) -> PathBuf {
        self.store.root().to_path_buf()
    }

    fn stored_blob(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = self.store.read_blob(digest).ok()?;
        (crate::digest::sha256_of(&bytes) == digest).then_some(bytes)
    }

    fn claim(&self, digest: &str) -> Result<Claim, Error> {
        let claimed = self
            .store
            .claim(digest)
            .map_err(|e| Error::Store(format!("cannot claim the download of {digest}: {e}")))?;
        let mut mine = self.claimed.lock().unwrap_or_else(PoisonError::into_inner);
        if !mine.iter().any(|d| d == digest) {
            mine.push(digest.to_string());
        }
        Ok(claimed.map_or(Claim::Busy, Claim::Mine))
    }

    fn finish(&self) {
        // kept ingests of this pull's blobs are stored now (or the pull
        // failed): removed, unless another pull holds one
        let claimed =
            std::mem::take(&mut *self.claimed.lock().unwrap_or_else(PoisonError::into_inner));
        for digest in claimed {
            let _ = self.store.claim(&digest);
        }
        self.dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn up_to_date(&self, name: &str, config_digest: &str) -> Result<bool, Error> {
        Ok(self.stored_config(name)?.as_deref() == Some(config_digest))
    }

    fn present(&self, layers: &[LayerPlan]) -> Result<Vec<bool>, Error> {
        Ok(layers
            .iter()
            .map(|l| self.store.has_blob(&l.digest))
            .collect())
    }

    fn arrived(&self, digest: &str) -> bool {
        // a stored blob was verified, diff_id included, by the pull that stored it
        self.store.has_blob(digest)
    }

    fn register(&self, image: &ImageReady<'_>, obs: &dyn Observer) -> Result<(), Error> {
        for l in &image.layers {
            let Some(file) = l.file else { continue };
            // Docker's word for storing a layer is "Extracting"; here the
            // verified blob is only moved in
            obs.observe(Event::phase(l.digest, Phase::Extracting));
            if !file.exists() {
                // the same blob twice in one image: moved already
            } else if self.store.has_blob(l.digest) {
                let _ = fs::remove_file(file);
            } else {
                self.store
                    .commit_blob(file, l.digest)
                    .map_err(|e| Error::Store(format!("cannot store layer {}: {e}", l.digest)))?;
            }
            obs.observe(Event::phase(l.digest, Phase::PullComplete));
        }
        // the renames above are durable before the name points at them
        if let Ok(dir) = self.store.blob_path(image.config_digest)
            && let Some(dir) = dir.parent()
        {
            fsutil::sync_dir(dir);
        }
        self.store
            .put_blob(image.config)
            .map_err(store_err("cannot store the config"))?;
        let digest = self
            .store
            .put_blob(image.oci_manifest)
            .map_err(store_err("cannot store the manifest"))?;
        let desc = Descriptor {
            media_type: manifest::OCI_MANIFEST.to_string(),
            digest,
            size: image.oci_manifest.len() as u64,
        };
        self.store
            .tag(image.name, &desc)
            .map_err(|e| Error::Store(format!("cannot name the image {}: {e}", image.name)))
    }
}
