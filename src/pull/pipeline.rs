//! Layers handed to the host in order while the layers above them still
//! download: layer N goes as soon as the config has named every diff_id and
//! layers 0..=N are verified (downloaded with both digests checked, or
//! already in the store). iSulad's register thread overlaps registration
//! with the downloads the same way. A host that stores everything at the
//! end (the embedded store) ignores the calls.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::flight::Landed;
use crate::error::Error;
use crate::host::{Host, LayerPlan, LayerReady};
use crate::progress::event::Observer;
use crate::pull::convert;

/// The layers of one pull on their way to the host.
pub struct Pipeline<'a> {
    plans: &'a [LayerPlan],
    /// Which layers the host had before the pull.
    present: &'a [bool],
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// From the config, once fetched: one per layer.
    diff_ids: Option<Vec<String>>,
    /// Finished downloads by digest; `None` when another pull stored the
    /// layer meanwhile.
    done: HashMap<String, Option<Landed>>,
    /// The next layer to hand over.
    next: usize,
    /// Nothing more will arrive.
    closed: bool,
}

impl<'a> Pipeline<'a> {
    pub fn new(plans: &'a [LayerPlan], present: &'a [bool]) -> Self {
        Pipeline {
            plans,
            present,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The config's diff_ids, one per layer.
    pub fn config(&self, diff_ids: Vec<String>) {
        self.lock().diff_ids = Some(diff_ids);
        self.changed.notify_all();
    }

    /// A download finished (`None`: another pull stored the layer).
    pub fn landed(&self, digest: &str, landed: Option<Landed>) {
        self.lock().done.insert(digest.to_string(), landed);
        self.changed.notify_all();
    }

    /// Nothing more will arrive: [`Pipeline::run`] returns once it has
    /// handed over what it can.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Hands the layers to `host.layer_verified` in order, each as soon as
    /// it can go, until all went or the pipeline is closed. Returns how
    /// many went.
    pub fn run(&self, host: &dyn Host, obs: &dyn Observer) -> Result<usize, Error> {
        let mut state = self.lock();
        loop {
            let i = state.next;
            if i == self.plans.len() {
                return Ok(i);
            }
            let ready = match (&state.diff_ids, state.done.get(&self.plans[i].digest)) {
                (Some(ids), _) if self.present[i] => Some((ids[i].clone(), None)),
                (Some(ids), Some(landed)) => Some((ids[i].clone(), landed.clone())),
                _ => None,
            };
            let Some((diff_id, landed)) = ready else {
                if state.closed {
                    return Ok(i);
                }
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            // the host may take its time: arrivals must not wait for it
            drop(state);
            let layer = verified(&self.plans[i], &diff_id, self.present[i], landed.as_ref())?;
            host.layer_verified(i, &layer, obs)?;
            state = self.lock();
            state.next = i + 1;
        }
    }
}

/// The layer as the host gets it: its downloaded file (none when the host
/// had it), the diff_id the download computed checked against the config's.
pub fn verified<'a>(
    plan: &'a LayerPlan,
    diff_id: &'a str,
    present: bool,
    landed: Option<&'a Landed>,
) -> Result<LayerReady<'a>, Error> {
    let file = match landed {
        Some(got) if got.digests.diff.digest != diff_id => {
            return Err(Error::DiffIdMismatch {
                layer: plan.digest.clone(),
                expected: diff_id.to_string(),
                actual: got.digests.diff.digest.clone(),
            });
        }
        Some(got) if !present => Some(got.path.as_path()),
        _ => None,
    };
    Ok(LayerReady {
        digest: &plan.digest,
        media_type: convert::oci_layer_type(&plan.media_type),
        size: plan.size,
        diff_id,
        file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Compression, Digested, LayerDigests};
    use crate::host::ImageReady;
    use std::path::PathBuf;
    use std::thread;

    /// Records what it was handed, in order; fails on layer `fail_at`.
    #[derive(Default)]
    struct Recorder {
        got: Mutex<Vec<(usize, String, Option<PathBuf>)>>,
        fail_at: Option<usize>,
    }

    impl Host for Recorder {
        fn work_dir(&self) -> Result<PathBuf, Error> {
            unreachable!()
        }
        fn store_id(&self) -> PathBuf {
            PathBuf::new()
        }
        fn up_to_date(&self, _: &str, _: &str) -> Result<bool, Error> {
            Ok(false)
        }
        fn present(&self, _: &[LayerPlan]) -> Result<Vec<bool>, Error> {
            Ok(Vec::new())
        }
        fn layer_verified(
            &self,
            index: usize,
            layer: &LayerReady<'_>,
            _: &dyn Observer,
        ) -> Result<(), Error> {
            if self.fail_at == Some(index) {
                return Err(Error::Store(format!("no room for layer {index}")));
            }
            self.got.lock().unwrap().push((
                index,
                layer.diff_id.to_string(),
                layer.file.map(PathBuf::from),
            ));
            Ok(())
        }
        fn register(&self, _: &ImageReady<'_>, _: &dyn Observer) -> Result<(), Error> {
            Ok(())
        }
    }

    fn plan(n: usize) -> LayerPlan {
        LayerPlan {
            digest: format!("sha256:blob{n}"),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            size: 10,
        }
    }

    fn landed(n: usize, diff: &str) -> Landed {
        let d = |s: &str| Digested {
            digest: s.to_string(),
            size: 10,
        };
        Landed {
            path: PathBuf::from(format!("/work/{n}")),
            digests: LayerDigests {
                blob: d(&format!("sha256:blob{n}")),
                diff: d(diff),
                compression: Compression::Gzip,
            },
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sha256:diff{i}")).collect()
    }

    #[test]
    fn layers_go_in_order_as_soon_as_those_below_are_verified() {
        let plans: Vec<_> = (0..4).map(plan).collect();
        let present = [true, false, false, false];
        let p = Pipeline::new(&plans, &present);
        let host = Recorder::default();
        let handed = thread::scope(|s| {
            let run = s.spawn(|| p.run(&host, &crate::progress::event::Silent));
            // layer 3 lands first: nothing may go before the config
            p.landed("sha256:blob3", Some(landed(3, "sha256:diff3")));
            p.config(ids(4));
            p.landed("sha256:blob1", Some(landed(1, "sha256:diff1")));
            // wait until 0 (present) and 1 went; 3 must wait for 2
            while host.got.lock().unwrap().len() < 2 {
                thread::yield_now();
            }
            assert_eq!(host.got.lock().unwrap().len(), 2);
            p.landed("sha256:blob2", Some(landed(2, "sha256:diff2")));
            p.close();
            run.join().unwrap()
        });
        assert_eq!(handed.unwrap(), 4);
        let got = host.got.lock().unwrap();
        let order: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(got[0].2, None, "a present layer has no file");
        assert_eq!(got[3].2.as_deref(), Some("/work/3".as_ref()));
    }

    #[test]
    fn closing_stops_at_the_first_missing_layer() {
        let plans: Vec<_> = (0..3).map(plan).collect();
        let present = [false; 3];
        let p = Pipeline::new(&plans, &present);
        p.config(ids(3));
        p.landed("sha256:blob0", Some(landed(0, "sha256:diff0")));
        p.landed("sha256:blob2", Some(landed(2, "sha256:diff2")));
        p.close();
        let host = Recorder::default();
        assert_eq!(p.run(&host, &crate::progress::event::Silent).unwrap(), 1);
    }

    #[test]
    fn a_wrong_diff_id_or_a_host_failure_ends_the_run() {
        let plans: Vec<_> = (0..2).map(plan).collect();
        let present = [false; 2];
        let p = Pipeline::new(&plans, &present);
        p.config(ids(2));
        p.landed("sha256:blob0", Some(landed(0, "sha256:other")));
        p.close();
        let host = Recorder::default();
        let e = p.run(&host, &crate::progress::event::Silent).unwrap_err();
        assert!(matches!(e, Error::DiffIdMismatch { .. }), "{e}");
        assert!(host.got.lock().unwrap().is_empty());

        let p = Pipeline::new(&plans, &present);
        p.config(ids(2));
        p.landed("sha256:blob0", Some(landed(0, "sha256:diff0")));
        p.landed("sha256:blob1", Some(landed(1, "sha256:diff1")));
        let host = Recorder {
            fail_at: Some(1),
            ..Default::default()
        };
        let e = p.run(&host, &crate::progress::event::Silent).unwrap_err();
        assert!(e.to_string().contains("no room for layer 1"), "{e}");
        assert_eq!(host.got.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_layer_another_pull_stored_goes_without_a_file() {
        let plans: Vec<_> = (0..1).map(plan).collect();
        let present = [false];
        let p = Pipeline::new(&plans, &present);
        p.config(ids(1));
        p.landed("sha256:blob0", None);
        let host = Recorder::default();
        assert_eq!(p.run(&host, &crate::progress::event::Silent).unwrap(), 1);
        assert_eq!(host.got.lock().unwrap()[0].2, None);
    }
}
