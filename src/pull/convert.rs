//! Turning what a registry serves into what an OCI layout stores: Docker
//! schema2 manifests become OCI manifests (the blobs stay byte for byte,
//! as skopeo's own copy does), and schema1 images get a synthesised config.

use serde_json::{Value, json};

use crate::digest::{Compression, sha256_of};
use crate::distribution::manifest::{self, Descriptor, ImageManifest, Schema1Layer};
use crate::error::Error;

/// The OCI layer media type for a Docker or OCI layer media type.
pub fn oci_layer_type(media_type: &str) -> &'static str {
    match media_type {
        manifest::DOCKER_LAYER_GZIP | manifest::OCI_LAYER_GZIP => manifest::OCI_LAYER_GZIP,
        manifest::DOCKER_LAYER_FOREIGN_GZIP | manifest::OCI_LAYER_ND_GZIP => {
            manifest::OCI_LAYER_ND_GZIP
        }
        manifest::OCI_LAYER_ZSTD => manifest::OCI_LAYER_ZSTD,
        manifest::OCI_LAYER_ND_ZSTD => manifest::OCI_LAYER_ND_ZSTD,
        manifest::OCI_LAYER_ND_TAR => manifest::OCI_LAYER_ND_TAR,
        _ => manifest::OCI_LAYER_TAR,
    }
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Value {
    json!({ "mediaType": media_type, "digest": digest, "size": size })
}

/// An OCI manifest for `config` and `layers` (digest, size, media type).
pub fn oci_manifest(config: (&str, u64), layers: &[(String, u64, &str)]) -> Vec<u8> {
    let layers: Vec<Value> = layers
        .iter()
        .map(|(d, s, t)| descriptor(oci_layer_type(t), d, *s))
        .collect();
    let m = json!({
        "schemaVersion": 2,
        "mediaType": manifest::OCI_MANIFEST,
        "config": descriptor(manifest::OCI_CONFIG, config.0, config.1),
        "layers": layers,
    });
    serde_json::to_vec(&m).expect("JSON values serialise")
}

/// The OCI form of an image manifest: the bytes as fetched when it is
/// already OCI (so its digest stays the registry's), else a conversion.
pub fn to_oci(fetched: &[u8], m: &ImageManifest) -> Vec<u8> {
    if m.media_type == manifest::OCI_MANIFEST {
        return fetched.to_vec();
    }
    let layers: Vec<(String, u64, &str)> = m
        .layers
        .iter()
        .map(|l: &Descriptor| (l.digest.clone(), l.size, l.media_type.as_str()))
        .collect();
    oci_manifest((&m.config.digest, m.config.size), &layers)
}

/// The config of a schema1 image, written byte for byte as iSulad writes
/// it (so the image id is iSulad's): the top layer's v1Compatibility with
/// what iSulad keeps of it, `rootfs.diff_ids` of the non-empty layers and
/// a `history` entry per layer.
pub fn schema1_config(layers: &[Schema1Layer], diff_ids: &[String]) -> Result<Vec<u8>, Error> {
    super::schema1_config::synthesise(layers, diff_ids)
}

/// The OCI media type of a schema1 layer, from its sniffed compression.
pub fn schema1_layer_type(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => manifest::OCI_LAYER_GZIP,
        Compression::Zstd => manifest::OCI_LAYER_ZSTD,
        Compression::None => manifest::OCI_LAYER_TAR,
    }
}

/// `rootfs.diff_ids` of an image config, checked against the layer count.
pub fn diff_ids(config: &[u8], layers: usize) -> Result<Vec<String>, Error> {
    let v: Value = serde_json::from_slice(config)
        .map_err(|e| Error::Malformed(format!("image config is not valid JSON: {e}")))?;
    let ids: Vec<String> = v["rootfs"]["diff_ids"]
        .as_array()
        .ok_or_else(|| Error::Malformed("image config has no rootfs.diff_ids".to_string()))?
        .iter()
        .map(|d| d.as_str().unwrap_or_default().to_string())
        .collect();
    if ids.len() != layers {
        return Err(Error::Malformed(format!(
            "image config lists {} diff_ids for {layers} layers",
            ids.len()
        )));
    }
    Ok(ids)
}

/// sha256 of a synthesised document.
pub fn digest_of(bytes: &[u8]) -> String {
    sha256_of(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_manifest_becomes_oci_with_same_blobs() {
        let m = ImageManifest {
            media_type: manifest::DOCKER_SCHEMA2.into(),
            config: Descriptor {
                media_type: manifest::DOCKER_CONFIG.into(),
                digest: "sha256:c".into(),
                size: 7,
                platform: None,
            },
            layers: vec![Descriptor {
                media_type: manifest::DOCKER_LAYER_GZIP.into(),
                digest: "sha256:l".into(),
                size: 9,
                platform: None,
            }],
        };
        let v: Value = serde_json::from_slice(&to_oci(b"ignored", &m)).unwrap();
        assert_eq!(v["mediaType"], manifest::OCI_MANIFEST);
        assert_eq!(v["config"]["mediaType"], manifest::OCI_CONFIG);
        assert_eq!(v["config"]["size"], 7);
        assert_eq!(v["layers"][0]["mediaType"], manifest::OCI_LAYER_GZIP);
        assert_eq!(v["layers"][0]["digest"], "sha256:l");
        let oci = ImageManifest {
            media_type: manifest::OCI_MANIFEST.into(),
            ..m
        };
        assert_eq!(to_oci(b"as fetched", &oci), b"as fetched");
    }

    #[test]
    fn diff_ids_must_match_layer_count() {
        let c = br#"{"rootfs":{"type":"layers","diff_ids":["sha256:a","sha256:b"]}}"#;
        assert_eq!(diff_ids(c, 2).unwrap().len(), 2);
        assert!(
            diff_ids(c, 3)
                .unwrap_err()
                .to_string()
                .contains("2 diff_ids for 3 layers")
        );
        assert!(diff_ids(b"{}", 1).is_err());
    }

    #[test]
    fn schema1_config_has_rootfs_and_history() {
        let layers = vec![
            Schema1Layer { blob_sum: "sha256:a".into(), empty: false, v1_compatibility: r##"{"id":"1","created":"2020-01-01T00:00:00Z","container_config":{"Cmd":["/bin/sh","-c","#(nop) ADD x"]}}"##.into() },
            Schema1Layer { blob_sum: "sha256:b".into(), empty: true, v1_compatibility: r#"{"id":"2","parent":"1","created":"2020-01-02T00:00:00Z","architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"throwaway":true}"#.into() },
        ];
        let c: Value =
            serde_json::from_slice(&schema1_config(&layers, &["sha256:d".into()]).unwrap())
                .unwrap();
        assert_eq!(c["architecture"], "amd64");
        assert!(c.get("id").is_none() && c.get("parent").is_none() && c.get("throwaway").is_none());
        assert_eq!(c["rootfs"]["diff_ids"], json!(["sha256:d"]));
        assert_eq!(c["history"][0]["created_by"], "/bin/sh -c #(nop) ADD x");
        assert_eq!(c["history"][1]["empty_layer"], true);
    }
}
