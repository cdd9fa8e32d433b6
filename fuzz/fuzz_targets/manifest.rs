//! Manifests, lists/indexes and image configs as a registry serves them:
//! the first byte picks the Content-Type the document comes with.
#![no_main]

use isula_registry::distribution::manifest::{self, Manifest};
use isula_registry::distribution::reference::Platform;
use isula_registry::pull::convert;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    manifest::DOCKER_SCHEMA2,
    manifest::DOCKER_LIST,
    manifest::DOCKER_SCHEMA1,
    manifest::DOCKER_SCHEMA1_SIGNED,
    manifest::OCI_MANIFEST,
    manifest::OCI_INDEX,
    "application/json; charset=utf-8",
    "text/plain",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES.get(usize::from(pick) % (CONTENT_TYPES.len() + 1));
    let media_type = manifest::media_type_of(content_type.copied(), body);
    match manifest::parse(&media_type, body) {
        Ok(Manifest::Image(m)) => {
            // what the store keeps reads back as the same image
            let oci = convert::to_oci(body, &m);
            match manifest::parse(manifest::OCI_MANIFEST, &oci) {
                Ok(Manifest::Image(back)) => {
                    let blobs = |m: &manifest::ImageManifest| -> Vec<(String, u64)> {
                        std::iter::once(&m.config)
                            .chain(&m.layers)
                            .map(|d| (d.digest.clone(), d.size))
                            .collect()
                    };
                    assert_eq!(blobs(&back), blobs(&m), "the OCI form names other blobs");
                }
                other => panic!("the OCI form of {m:?} does not parse back: {other:?}"),
            }
            for l in &m.layers {
                let _ = convert::oci_layer_type(&l.media_type);
            }
        }
        Ok(Manifest::Index { manifests, .. }) => {
            for want in [
                "linux/amd64",
                "linux/arm64/v8",
                "linux/arm/v7",
                "windows/amd64",
            ] {
                let want = Platform::parse(want).expect("a valid platform");
                let _ = manifest::select_platform(&manifests, &want);
            }
        }
        Ok(Manifest::Schema1 { layers, .. }) => {
            let ids = vec![format!("sha256:{}", "0".repeat(64)); layers.len()];
            let _ = convert::schema1_config(&layers, &ids);
        }
        Err(_) => {}
    }
    let _ = manifest::schema1_signed_payload(body);
    // the same bytes as an image config, for 0 to 3 layers
    let _ = convert::diff_ids(body, usize::from(pick % 4));
});
