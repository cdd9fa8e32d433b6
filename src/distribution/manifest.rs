//! Manifests: Docker schema2, OCI image manifest, Docker manifest list,
//! OCI index (with platform choice) and Docker schema1.
//!
//! The kind comes from the `Content-Type` header, its parameters ignored,
//! and when that is missing or generic (static mirrors serve
//! `application/octet-stream`) from the document's `mediaType` and
//! `schemaVersion` (iSulad's `registry_apiv2.c` required an exact
//! Content-Type).

use serde::Deserialize;

use super::reference::Platform;
use crate::error::Error;

pub const DOCKER_SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_ND_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_LAYER_ND_GZIP: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_LAYER_ND_ZSTD: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/// The `Accept` values a manifest request offers, preferred first.
pub const ACCEPTED: &[&str] = &[
    OCI_INDEX,
    DOCKER_LIST,
    OCI_MANIFEST,
    DOCKER_SCHEMA2,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
    "application/json",
];

/// Most layers an image may have (iSulad's MAX_LAYER_NUM).
pub const MAX_LAYERS: usize = 125;

const LAYER_TYPES: &[&str] = &[
    DOCKER_LAYER_GZIP,
    DOCKER_LAYER_FOREIGN_GZIP,
    DOCKER_LAYER_TAR,
    OCI_LAYER_TAR,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_LAYER_ND_TAR,
    OCI_LAYER_ND_GZIP,
    OCI_LAYER_ND_ZSTD,
];

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ManifestPlatform {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

/// A content descriptor.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<ManifestPlatform>,
}

/// An image manifest (Docker schema2 or OCI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageManifest {
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// One layer of a schema1 manifest, bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema1Layer {
    pub blob_sum: String,
    /// `throwaway` in its v1Compatibility: no content to apply.
    pub empty: bool,
    /// The layer's v1Compatibility JSON.
    pub v1_compatibility: String,
}

/// What a manifest request returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    /// A manifest list or index: choose an entry with [`select_platform`].
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
    Schema1 {
        name: String,
        tag: String,
        architecture: String,
        layers: Vec<Schema1Layer>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    // schema1
    name: Option<String>,
    tag: Option<String>,
    architecture: Option<String>,
    fs_layers: Option<Vec<FsLayer>>,
    history: Option<Vec<History1>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FsLayer {
    blob_sum: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct History1 {
    v1_compatibility: String,
}

/// The media type a response really has: the header without parameters,
/// or, when that says nothing useful, what the document says.
pub fn media_type_of(content_type: Option<&str>, body: &[u8]) -> String {
    let header = content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match header.as_deref() {
        Some(h) if h != "application/octet-stream" && h != "text/plain" && !h.is_empty() => {
            h.to_string()
        }
        _ => sniff(body),
    }
}

fn sniff(body: &[u8]) -> String {
    let Ok(raw) = super::json::from_slice::<Raw>(body) else {
        return String::new();
    };
    if let Some(m) = raw.media_type {
        return m;
    }
    match raw.schema_version {
        Some(1) => DOCKER_SCHEMA1_SIGNED.to_string(),
        _ if raw.manifests.is_some() => OCI_INDEX.to_string(),
        _ if raw.config.is_some() => OCI_MANIFEST.to_string(),
        _ => String::new(),
    }
}

/// Parses a manifest of `media_type` (see [`media_type_of`]).
pub fn parse(media_type: &str, body: &[u8]) -> Result<Manifest, Error> {
    let raw: Raw = super::json::from_slice(body)
        .map_err(|e| Error::Malformed(format!("invalid manifest JSON: {e}")))?;
    match media_type {
        DOCKER_SCHEMA2 | OCI_MANIFEST => {
            let config = raw
                .config
                .ok_or_else(|| Error::Malformed("manifest has no config".to_string()))?;
            let layers = raw.layers.unwrap_or_default();
            if layers.is_empty() {
                return Err(Error::Malformed("manifest has no layers".to_string()));
            }
            if layers.len() > MAX_LAYERS {
                return Err(Error::Unsupported(format!(
                    "image has {} layers, more than the {MAX_LAYERS} supported",
                    layers.len()
                )));
            }
            for l in &layers {
                if !LAYER_TYPES.contains(&l.media_type.as_str()) {
                    return Err(Error::Unsupported(format!(
                        "unsupported layer media type {} (layer {})",
                        crate::text::clean(&l.media_type, 100),
                        crate::text::clean(&l.digest, 100)
                    )));
                }
                check_digest(&l.digest)?;
            }
            check_digest(&config.digest)?;
            Ok(Manifest::Image(ImageManifest {
                media_type: media_type.to_string(),
                config,
                layers,
            }))
        }
        DOCKER_LIST | OCI_INDEX => {
            let manifests = raw.manifests.unwrap_or_default();
            for m in &manifests {
                check_digest(&m.digest)?;
            }
            Ok(Manifest::Index {
                media_type: media_type.to_string(),
                manifests,
            })
        }
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED | "application/json" => parse_schema1(raw),
        other => Err(Error::Unsupported(format!(
            "unsupported manifest media type {other:?}"
        ))),
    }
}

fn parse_schema1(raw: Raw) -> Result<Manifest, Error> {
    let fs_layers = raw.fs_layers.unwrap_or_default();
    let history = raw.history.unwrap_or_default();
    if fs_layers.is_empty() || fs_layers.len() > MAX_LAYERS {
        return Err(Error::Malformed(format!(
            "schema1 manifest has {} layers (1 to {MAX_LAYERS} supported)",
            fs_layers.len()
        )));
    }
    if fs_layers.len() != history.len() {
        return Err(Error::Malformed(format!(
            "schema1 manifest has {} layers but {} history entries",
            fs_layers.len(),
            history.len()
        )));
    }
    // schema1 lists the top layer first
    let mut layers = Vec::with_capacity(fs_layers.len());
    for (fs, h) in fs_layers.into_iter().zip(history).rev() {
        let v1: serde_json::Value = super::json::from_str(&h.v1_compatibility)
            .map_err(|e| Error::Malformed(format!("invalid v1Compatibility JSON: {e}")))?;
        let empty = v1
            .get("throwaway")
            .and_then(|t| t.as_bool())
            .unwrap_or(false);
        if !empty {
            check_digest(&fs.blob_sum)?;
        }
        layers.push(Schema1Layer {
            blob_sum: fs.blob_sum,
            empty,
            v1_compatibility: h.v1_compatibility,
        });
    }
    Ok(Manifest::Schema1 {
        name: raw.name.unwrap_or_default(),
        tag: raw.tag.unwrap_or_default(),
        architecture: raw.architecture.unwrap_or_default(),
        layers,
    })
}

fn check_digest(d: &str) -> Result<(), Error> {
    if super::reference::valid_digest(d) {
        Ok(())
    } else {
        Err(Error::Unsupported(format!(
            "unsupported digest {d:?} (only sha256 is supported)"
        )))
    }
}

/// The payload of a signed schema1 manifest (what its digest covers): the
/// bytes before the signatures, as each signature's protected header says
/// (`formatLength` bytes, then `formatTail`). Every signature must agree;
/// a manifest that says none of this cannot be verified and is refused.
pub fn schema1_signed_payload(body: &[u8]) -> Result<Vec<u8>, Error> {
    use base64::Engine as _;
    let bad =
        |why: &str| Error::Malformed(format!("signed schema1 manifest cannot be verified: {why}"));
    let doc: serde_json::Value =
        super::json::from_slice(body).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
    let signatures = doc["signatures"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("it has no signatures"))?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Option<Vec<u8>> = None;
    for sig in signatures {
        let protected = sig["protected"]
            .as_str()
            .and_then(|p| b64.decode(p.trim_end_matches('=')).ok())
            .and_then(|p| super::json::from_slice::<serde_json::Value>(&p).ok())
            .ok_or_else(|| bad("a signature has no readable protected header"))?;
        let length = protected["formatLength"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n <= body.len())
            .ok_or_else(|| bad("formatLength is missing or out of range"))?;
        let tail = protected["formatTail"]
            .as_str()
            .and_then(|t| b64.decode(t.trim_end_matches('=')).ok())
            .ok_or_else(|| bad("formatTail is missing"))?;
        let mut this = body[..length].to_vec();
        this.extend_from_slice(&tail);
        match &payload {
            Some(p) if *p != this => return Err(bad("its signatures cover different payloads")),
            Some(_) => {}
            None => payload = Some(this),
        }
    }
    payload.ok_or_else(|| bad("it has no signatures"))
}

/// The entry of a list/index for `want`: an exact os/architecture/variant
/// match first, then the same os/architecture when either side names no
/// variant. Entries without a platform are skipped.
pub fn select_platform<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let fits = |d: &&Descriptor, exact: bool| {
        let Some(p) = &d.platform else { return false };
        let same =
            |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
        if !same(&p.os, &want.os) || !same(&p.architecture, &want.architecture) {
            return false;
        }
        match (&p.variant, &want.variant) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => !exact,
        }
    };
    manifests
        .iter()
        .find(|d| fits(d, true))
        .or_else(|| manifests.iter().find(|d| fits(d, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn platform(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }
    }

    #[test]
    fn media_type_from_header_or_document() {
        assert_eq!(
            media_type_of(
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
                b"{}"
            ),
            OCI_MANIFEST
        );
        let body = format!(r#"{{"schemaVersion":2,"mediaType":"{DOCKER_SCHEMA2}"}}"#);
        assert_eq!(
            media_type_of(Some("application/octet-stream"), body.as_bytes()),
            DOCKER_SCHEMA2
        );
        assert_eq!(
            media_type_of(None, br#"{"schemaVersion":1,"fsLayers":[]}"#),
            DOCKER_SCHEMA1_SIGNED
        );
        assert_eq!(
            media_type_of(None, br#"{"schemaVersion":2,"manifests":[]}"#),
            OCI_INDEX
        );
    }

    #[test]
    fn image_manifest_checks_layers() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","digest":"{D1}","size":2}},
               "layers":[{{"mediaType":"{OCI_LAYER_ZSTD}","digest":"{D2}","size":3}}]}}"#
        );
        let Manifest::Image(img) = parse(OCI_MANIFEST, m.as_bytes()).unwrap() else {
            panic!("not an image")
        };
        assert_eq!(img.layers[0].media_type, OCI_LAYER_ZSTD);
        let none = format!(r#"{{"config":{{"digest":"{D1}"}},"layers":[]}}"#);
        assert!(
            parse(OCI_MANIFEST, none.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("no layers")
        );
        let bad = format!(
            r#"{{"config":{{"digest":"{D1}"}},"layers":[{{"mediaType":"text/html","digest":"{D2}"}}]}}"#
        );
        assert!(
            parse(DOCKER_SCHEMA2, bad.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("text/html")
        );
        let md5 = format!(
            r#"{{"config":{{"digest":"md5:00"}},"layers":[{{"mediaType":"{OCI_LAYER_TAR}","digest":"{D2}"}}]}}"#
        );
        assert!(parse(OCI_MANIFEST, md5.as_bytes()).is_err());
    }

    #[test]
    fn schema1_is_reversed_with_throwaways() {
        let m = format!(
            r#"{{"schemaVersion":1,"name":"a/b","tag":"t","architecture":"amd64",
               "fsLayers":[{{"blobSum":"{D2}"}},{{"blobSum":"{D1}"}}],
               "history":[{{"v1Compatibility":"{{\"id\":\"top\",\"throwaway\":true}}"}},{{"v1Compatibility":"{{\"id\":\"base\"}}"}}]}}"#
        );
        let Manifest::Schema1 { layers, .. } = parse(DOCKER_SCHEMA1_SIGNED, m.as_bytes()).unwrap()
        else {
            panic!("not schema1")
        };
        assert_eq!(layers[0].blob_sum, D1);
        assert!(!layers[0].empty);
        assert!(layers[1].empty);
    }

    #[test]
    fn platform_choice_prefers_exact_variant() {
        let list = format!(
            r#"{{"manifests":[
              {{"digest":"{D1}","platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}},
              {{"digest":"{D2}","platform":{{"os":"linux","architecture":"arm64"}}}},
              {{"digest":"{D2}","platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let Manifest::Index { manifests, .. } = parse(OCI_INDEX, list.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            select_platform(&manifests, &platform("linux", "arm", Some("v6")))
                .unwrap()
                .digest,
            D1
        );
        assert!(select_platform(&manifests, &platform("linux", "arm", Some("v7"))).is_none());
        assert_eq!(
            select_platform(&manifests, &platform("linux", "arm64", Some("v8")))
                .unwrap()
                .digest,
            D2
        );
        assert_eq!(
            select_platform(&manifests, &platform("LINUX", "AMD64", None))
                .unwrap()
                .digest,
            D2
        );
        assert!(select_platform(&manifests, &platform("windows", "amd64", None)).is_none());
    }

    #[test]
    fn signed_schema1_payload_is_what_the_signatures_cover() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = "{\n   \"schemaVersion\": 1,\n   \"name\": \"a\"\n}";
        // the signed form: payload without its closing "\n}", then signatures
        let length = payload.len() - 2;
        let protected = b64.encode(format!(
            r#"{{"formatLength":{length},"formatTail":"{}"}}"#,
            b64.encode("\n}")
        ));
        let signed = format!(
            "{},\n   \"signatures\": [{{\"protected\": \"{protected}\", \"signature\": \"x\"}}]\n}}",
            &payload[..length]
        );
        assert_eq!(
            schema1_signed_payload(signed.as_bytes()).unwrap(),
            payload.as_bytes()
        );
        let e = schema1_signed_payload(payload.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no signatures"), "{e}");
        let bad = signed.replace(&protected, &b64.encode(r#"{"formatLength":99999}"#));
        assert!(schema1_signed_payload(bad.as_bytes()).is_err());
    }

    #[test]
    fn deeply_nested_documents_are_refused_not_overflowing() {
        let deep = format!(
            r#"{{"schemaVersion":2,"x":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = parse(OCI_MANIFEST, deep.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("deeper than"), "{e}");
        assert_eq!(sniff(deep.as_bytes()), "");
    }
}
