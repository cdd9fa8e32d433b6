//! Where a pull puts what it fetched. The pull itself (src/pull) is
//! written once against [`Host`]; [`embedded`] stores images in an OCI
//! layout, and the `isulad` host hands them to the daemon's storage.

#![forbid(unsafe_code)]

#[cfg(feature = "isulad")]
pub mod daemon;
pub mod embedded;
#[cfg(feature = "isulad")]
pub mod isulad;

use std::path::{Path, PathBuf};

use crate::digest::LayerFile;
use crate::error::Error;
use crate::progress::event::Observer;

/// A layer as the manifest describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPlan {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// A verified layer, ready to register.
#[derive(Clone, Debug)]
pub struct LayerReady<'a> {
    pub digest: &'a str,
    /// The OCI media type of the blob.
    pub media_type: &'a str,
    pub size: u64,
    pub diff_id: &'a str,
    /// The downloaded blob; `None` for a layer the host already had.
    pub file: Option<&'a Path>,
}

/// A pulled image, every part verified.
#[derive(Clone, Debug)]
pub struct ImageReady<'a> {
    pub name: &'a str,
    /// The image manifest as the registry served it (never a list).
    pub manifest: &'a [u8],
    pub manifest_digest: &'a str,
    /// The same image as an OCI manifest (equal to `manifest` when that is OCI).
    pub oci_manifest: &'a [u8],
    pub config: &'a [u8],
    pub config_digest: &'a str,
    /// Bottom first.
    pub layers: Vec<LayerReady<'a>>,
}

/// May this pull fetch a blob now? (For stores that several processes
/// share: see [`Host::claim`].)
#[derive(Debug)]
pub enum Claim {
    /// The store does not share downloads between processes: fetch into
    /// the pull's own directory.
    Unshared,
    /// Another pull (of any process) fetches it now: ask again later.
    Busy,
    /// This pull fetches it, into the store's stable ingest file, resuming
    /// the bytes already there.
    Mine(crate::store::ingest::Claimed),
}

/// A store of images. One value serves one pull.
pub trait Host: Send + Sync {
    /// A fresh directory for this pull's downloads; the pull removes it.
    fn work_dir(&self) -> Result<PathBuf, Error>;
    /// What a downloaded layer's file holds (the blob as served unless the
    /// host says otherwise). Pulls into one store share their files, so
    /// this must be the same for every pull of a store.
    fn layer_file(&self) -> LayerFile {
        LayerFile::Blob
    }
    /// Pulls into the same store share their downloads (see pull::flight).
    fn store_id(&self) -> PathBuf;
    /// Claims the download of `digest` for this pull, for stores shared by
    /// several processes (each blob is then fetched by one of them, and a
    /// download cut by a crash is resumed). The host tidies what is left
    /// of it in [`Host::finish`].
    fn claim(&self, _digest: &str) -> Result<Claim, Error> {
        Ok(Claim::Unshared)
    }
    /// `name` already is the image with this config: nothing to do.
    fn up_to_date(&self, name: &str, config_digest: &str) -> Result<bool, Error>;
    /// For each layer (bottom first): does the host have it already?
    fn present(&self, layers: &[LayerPlan]) -> Result<Vec<bool>, Error>;
    /// Did another pull store this blob since `present` was asked? Then it
    /// need not be downloaded (hosts that cannot tell say no).
    fn arrived(&self, _digest: &str) -> bool {
        false
    }
    /// The content of a small blob the host stores (a config), verified
    /// against its digest; `None` when it has none.
    fn stored_blob(&self, _digest: &str) -> Option<Vec<u8>> {
        None
    }
    /// Layer `index` (bottom first) and every layer below it are verified;
    /// the calls come in order, while the layers above may still download.
    /// A host that stores layers one at a time may store this one now.
    fn layer_verified(
        &self,
        _index: usize,
        _layer: &LayerReady<'_>,
        _obs: &dyn Observer,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// `layer_verified` stores the layer at once (it takes time, and the
    /// next layer waits for it): the downloads then get the CPU bottom
    /// layer first (see pull::priority).
    fn stores_layers_in_order(&self) -> bool {
        false
    }
    /// Stores the layers in order (those `layer_verified` did not store),
    /// then the image under its name.
    fn register(&self, image: &ImageReady<'_>, obs: &dyn Observer) -> Result<(), Error>;
    /// Called once at the end of every pull, successful or not: a pull
    /// that did not register its image leaves nothing registered.
    fn finish(&self) {}
}

/// Removes a directory tree when dropped.
pub struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
