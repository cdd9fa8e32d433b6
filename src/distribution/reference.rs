//! Image references as iSulad splits them.
//!
//! This module reproduces the name handling of iSulad's OCI image module:
//! `util_valid_image_name` / `util_valid_digest` (libisulad_tools),
//! `oci_split_image_name`, `oci_default_tag`, `oci_get_host` and
//! `oci_normalize_image_name` (utils_images.c), the registry transformation
//! done by `update_host` (registry.c) and `util_normalized_host_os_arch`.
//! The regular expressions of the C code are matched by hand here.
//!
//! One deliberate difference: iSulad's digest pattern
//! `@[a-z0-9]+:[a-z0-9]{32,}` is not anchored at its end, so C accepts
//! trailing garbage after a digest (`a@sha256:<hex>!!`); here the digest must
//! run to the end of the name.

use std::fmt;

/// `MAX_IMAGE_NAME_LEN` (utils.h): the longest accepted image name, in bytes.
pub const MAX_IMAGE_NAME_LEN: usize = 255;

/// Longest tag accepted by `__TagPattern` (1 leading + 127 following characters).
pub const MAX_TAG_LEN: usize = 128;

/// Tag appended by [`with_default_tag`] (`DEFAULT_TAG`).
pub const DEFAULT_TAG: &str = ":latest";

/// Host prefix stripped by [`normalize_image_name`] (daemon constant `default_host` + `/`).
const DEFAULT_HOST_PREFIX: &str = "docker.io/";

/// Repository prefix stripped by [`normalize_image_name`] (`REPO_PREFIX_TO_STRIP`).
const REPO_PREFIX_TO_STRIP: &str = "library/";

/// Errors of reference and platform parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// The name fails [`valid_image_name`].
    InvalidName(String),
    /// The name has no `host/` part (no `/` at all).
    NoHost(String),
    /// The name has a host but nothing after it.
    NoName(String),
    /// The name has neither `:tag` nor `@digest`.
    NoTag(String),
    /// A `--platform` value that is not `os/arch[/variant]`.
    InvalidPlatform {
        /// The value as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::InvalidName(n) => write!(
                f,
                "Invalid image name {n}: expected [host[:port]/]path[:tag][@digest] \
                 with a lowercase path, at most {MAX_IMAGE_NAME_LEN} characters"
            ),
            ReferenceError::NoHost(n) => write!(
                f,
                "Invalid image name {n}: no registry host (expected host[:port]/name:tag)"
            ),
            ReferenceError::NoName(n) => {
                write!(
                    f,
                    "Invalid image name {n}: no repository name after the host"
                )
            }
            ReferenceError::NoTag(n) => write!(
                f,
                "Invalid image name {n}: no tag or digest (append :<tag> or @sha256:<hex>)"
            ),
            ReferenceError::InvalidPlatform { input, reason } => write!(
                f,
                "Invalid platform {input:?}: {reason} (expected os/arch[/variant], e.g. linux/arm64/v8)"
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

/// A fully qualified image reference: `host/name:tag` or `host/name@digest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host, possibly with `:port` (e.g. `127.0.0.1:5000`).
    pub host: String,
    /// Repository path inside the registry (e.g. `library/busybox`).
    pub name: String,
    /// A tag (`latest`) or a digest (`sha256:<hex>`).
    pub tag: String,
}

impl Reference {
    /// True when [`Reference::tag`] is a digest. Tags can never contain `:`,
    /// digests always do.
    pub fn is_digest(&self) -> bool {
        self.tag.contains(':')
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.is_digest() { '@' } else { ':' };
        write!(f, "{}/{}{}{}", self.host, self.name, sep, self.tag)
    }
}

/// Splits `host/name[:tag][@digest]` like `oci_split_image_name`, and
/// requires all three parts (as `prepare_pull_desc` does).
///
/// The name is validated with [`valid_image_name`] first. A digest
/// (`@algo:hex`) takes precedence over a tag; with `name:tag@digest` the tag
/// is dropped. The host is the text before the first `/`; no guessing is
/// done (`busybox` has no host, `library/busybox` has host `library`).
pub fn split_image_name(image: &str) -> Result<Reference, ReferenceError> {
    if !valid_image_name(image) {
        return Err(ReferenceError::InvalidName(image.to_string()));
    }

    let (rest, tag) = match digest_pos(image).or_else(|| tag_pos(image)) {
        Some(pos) => (&image[..pos], Some(&image[pos + 1..])),
        None => (image, None),
    };
    let Some((host, name)) = rest.split_once('/') else {
        return Err(ReferenceError::NoHost(image.to_string()));
    };
    // `name:tag@digest`: the tag is not part of the repository name.
    let name = name.split_once(':').map_or(name, |(n, _)| n);
    if host.is_empty() {
        return Err(ReferenceError::NoHost(image.to_string()));
    }
    if name.is_empty() {
        return Err(ReferenceError::NoName(image.to_string()));
    }
    let Some(tag) = tag.filter(|t| !t.is_empty()) else {
        return Err(ReferenceError::NoTag(image.to_string()));
    };
    Ok(Reference {
        host: host.to_string(),
        name: name.to_string(),
        tag: tag.to_string(),
    })
}

/// `util_valid_image_name`: at most 255 bytes; an optional
/// `@[a-z0-9]+:[a-z0-9]{32,}` suffix, else an optional `:tag`
/// (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`); the remainder must match iSulad's
/// `__NamePattern`: optional `host[:port]/` made of DNS labels, then lowercase
/// path components separated by `/`, each made of `[a-z0-9]+` runs joined by
/// `.`, `_`, `__` or one or more `-`, and (like C) an optional `:tag`.
pub fn valid_image_name(name: &str) -> bool {
    if name.len() > MAX_IMAGE_NAME_LEN {
        return false;
    }
    let rest = if let Some(at) = name.rfind('@') {
        if !valid_digest_suffix(&name[at + 1..]) {
            return false;
        }
        &name[..at]
    } else if let Some(colon) = tag_pos(name) {
        if !valid_tag(&name[colon + 1..]) {
            return false;
        }
        &name[..colon]
    } else {
        name
    };
    matches_name_pattern(rest)
}

/// `util_valid_digest`: exactly `sha256:` followed by 64 lowercase hex digits.
pub fn valid_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The `registry-transformation` of `update_host`: `docker.io` and
/// `index.docker.io` (exact, case-sensitive) become `registry-1.docker.io`;
/// every other host is returned unchanged.
pub fn transform_host(host: &str) -> &str {
    match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// `oci_default_tag`: appends `:latest` when the last non-empty
/// `/`-component has no `:` and the name carries no `@` digest.
pub fn with_default_tag(image: &str) -> String {
    let last = image.split('/').rfind(|p| !p.is_empty());
    match last {
        Some(part) if !part.contains(':') && !image.contains('@') => {
            format!("{image}{DEFAULT_TAG}")
        }
        _ => image.to_string(),
    }
}

/// `oci_normalize_image_name` (the local name a pulled image is stored as):
/// [`with_default_tag`], then strip a leading `docker.io/`, then a leading
/// `library/`.
///
/// `docker.io/library/busybox` → `busybox:latest`;
/// `127.0.0.1:5000/test/x` → `127.0.0.1:5000/test/x:latest`.
pub fn normalize_image_name(image: &str) -> String {
    let tagged = with_default_tag(image);
    let s = tagged.strip_prefix(DEFAULT_HOST_PREFIX).unwrap_or(&tagged);
    let s = s.strip_prefix(REPO_PREFIX_TO_STRIP).unwrap_or(s);
    s.to_string()
}

/// `oci_get_host`: the first `/`-component when the name contains a `/` and
/// that component contains `.` or `:` or equals `localhost`; else `None`
/// (the name then needs a registry mirror).
pub fn image_host(image: &str) -> Option<&str> {
    if !image.contains('/') {
        return None;
    }
    // util_string_split drops empty fields, so `/a/b` yields `a`.
    let first = image.split('/').find(|p| !p.is_empty())?;
    (first.contains(['.', ':']) || first == "localhost").then_some(first)
}

/// Position of the `@` of a well-formed digest suffix (`oci_image_digest_pos`).
fn digest_pos(image: &str) -> Option<usize> {
    let at = image.rfind('@')?;
    valid_digest_suffix(&image[at + 1..]).then_some(at)
}

/// `util_tag_pos`: the last `:` if no `/` follows it.
fn tag_pos(image: &str) -> Option<usize> {
    let colon = image.rfind(':')?;
    (!image[colon..].contains('/')).then_some(colon)
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+:[a-z0-9]{32,}` (the text after `@`), anchored at both ends.
fn valid_digest_suffix(s: &str) -> bool {
    let Some((algo, hex)) = s.split_once(':') else {
        return false;
    };
    !algo.is_empty()
        && algo.bytes().all(is_lower_alnum)
        && hex.len() >= 32
        && hex.bytes().all(is_lower_alnum)
}

/// The body of `__TagPattern`: `[A-Za-z_0-9][A-Za-z_0-9.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            b.len() <= MAX_TAG_LEN
                && (first.is_ascii_alphanumeric() || *first == b'_')
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        }
        None => false,
    }
}

/// `__NamePattern`, anchored: `[host[:port]/]path[:tag]`.
///
/// The host part is optional in the pattern, so a name matches if either
/// reading works: all of it as a path, or the text before the first `/` as a
/// host and the rest as a path (a host can never contain `/`).
fn matches_name_pattern(s: &str) -> bool {
    if matches_path_with_tag(s) {
        return true;
    }
    match s.split_once('/') {
        Some((host, rest)) => valid_host_port(host) && matches_path_with_tag(rest),
        None => false,
    }
}

/// `path(/path)*(:tag)?`. Path components cannot contain `:`, so the first
/// `:` (if any) starts the tag.
fn matches_path_with_tag(s: &str) -> bool {
    let path = match s.split_once(':') {
        Some((path, tag)) => {
            if !valid_tag(tag) {
                return false;
            }
            path
        }
        None => s,
    };
    path.split('/').all(valid_path_component)
}

/// `[a-z0-9]+(([._]|__|[-]*)[a-z0-9]+)*`.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == start {
            // Empty component, leading separator, or a separator not
            // followed by an alphanumeric run.
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `label(.label)*(:[0-9]+)?` with `label = [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`.
fn valid_host_port(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && host.split('.').all(valid_dns_label)
}

fn valid_dns_label(l: &str) -> bool {
    let b = l.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(e)) => {
            f.is_ascii_alphanumeric()
                && e.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// An image platform: the `os`, `architecture` and `variant` of an OCI
/// image index entry, in Go's (GOOS/GOARCH) vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, ...
    pub architecture: String,
    /// `v5`..`v9` for `arm`, `v8`.. for `arm64` (`None` means the default).
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of this host, like `util_normalized_host_os_arch`: the
    /// lowercased OS name, the Go name of the architecture, and for
    /// `arm`/`arm64` the variant from `/proc/cpuinfo`.
    pub fn host() -> Platform {
        let os = std::env::consts::OS.to_ascii_lowercase();
        let architecture = host_arch().to_string();
        let cpuinfo = if matches!(architecture.as_str(), "arm" | "arm64") {
            std::fs::read_to_string("/proc/cpuinfo").ok()
        } else {
            None
        };
        let variant = normalize_variant(&architecture, cpuinfo.as_deref().and_then(cpu_variant));
        Platform {
            os,
            architecture,
            variant,
        }
    }

    /// Parses a `--platform` value `os/arch[/variant]`.
    ///
    /// Components are lowercased; common architecture aliases are mapped
    /// (`x86_64` → `amd64`, `aarch64` → `arm64`, `i386` → `386`, ...);
    /// `arm64/v8` means plain `arm64` and `arm` without a variant means
    /// `arm/v7`, as for the host platform.
    pub fn parse(s: &str) -> Result<Platform, ReferenceError> {
        let err = |reason| ReferenceError::InvalidPlatform {
            input: s.to_string(),
            reason,
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 2 {
            return Err(err("missing architecture"));
        }
        if parts.len() > 3 {
            return Err(err("too many '/'-separated parts"));
        }
        for p in &parts {
            if p.is_empty() {
                return Err(err("empty component"));
            }
            if !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(err(
                    "components may only contain letters, digits, '_' and '-'",
                ));
            }
        }
        let os = parts[0].to_ascii_lowercase();
        let architecture = normalize_arch(&parts[1].to_ascii_lowercase()).to_string();
        let variant = parts.get(2).map(|v| v.to_ascii_lowercase());
        let variant = normalize_variant(&architecture, variant);
        Ok(Platform {
            os,
            architecture,
            variant,
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s)
    }
}

/// Go's GOARCH for the architecture this library was compiled for.
fn host_arch() -> &'static str {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "loongarch64" => "loong64",
        "mips64" if little => "mips64le",
        "mips" if little => "mipsle",
        "powerpc64" if little => "ppc64le",
        "powerpc64" => "ppc64",
        other => other, // s390x, riscv64, mips64, mips, ...
    }
}

/// `normalized_host_arch`'s alias table (case-insensitive input).
fn normalize_arch(arch: &str) -> &str {
    match arch {
        "i386" | "i686" | "x86" => "386",
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "armhf" | "armel" => "arm",
        "mips64el" => "mips64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The value of the first `CPU architecture:` line of `/proc/cpuinfo`,
/// trimmed and lowercased.
fn cpu_variant(cpuinfo: &str) -> Option<String> {
    let line = cpuinfo
        .lines()
        .find(|l| l.trim_start().starts_with("CPU architecture"))?;
    let (_, value) = line.split_once(':')?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_ascii_lowercase())
}

/// `normalized_host_variant`: `arm64` with `8`/`v8` → none; `arm` with none
/// → `v7`; `arm` with `5`..`9` → `v5`..`v9`; other architectures have none.
fn normalize_variant(arch: &str, variant: Option<String>) -> Option<String> {
    match arch {
        "arm64" => variant.filter(|v| v != "8" && v != "v8"),
        "arm" => match variant.as_deref() {
            None => Some("v7".to_string()),
            Some(d @ ("5" | "6" | "7" | "8" | "9")) => Some(format!("v{d}")),
            Some(_) => variant,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_names_table() {
        let digest_name = format!("a@sha256:{HEX64}");
        let host_digest = format!("h/a/b@sha256:{HEX64}");
        let tag_and_digest = format!("localhost:5000/a/b:v1@sha256:{HEX64}");
        let long_tag_ok = format!("a:{}", "t".repeat(128));
        let name_255 = format!("a/{}", "b".repeat(253));
        let valid: &[&str] = &[
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox:latest",
            "docker.io/library/busybox",
            "127.0.0.1:5000/a/b:v1",
            "127.0.0.1:5000/test/x:nope",
            "localhost/x",
            "localhost:5000/x",
            "localhost:5000",
            "Registry.Example.COM/a/b",
            "my-registry.io:443/ns/app:1.0-rc_1",
            "a.b/c_d/e__f/g-h/i---j/k.l:TAG",
            "quay.io/coreos/etcd:v3.5.0",
            "x:_tag",
            &digest_name,
            &host_digest,
            &tag_and_digest,
            &long_tag_ok,
            &name_255,
        ];
        for n in valid {
            assert!(valid_image_name(n), "{n} should be valid");
        }
    }

    #[test]
    fn invalid_names_table() {
        let long_tag = format!("a:{}", "t".repeat(129));
        let name_256 = format!("a/{}", "b".repeat(254));
        let short_digest = format!("a@sha256:{}", &HEX64[..31]);
        let upper_digest = format!("a@sha256:{}", HEX64.to_uppercase());
        let trailing_garbage = format!("a@sha256:{HEX64}!");
        let invalid: &[&str] = &[
            "",
            "Busybox",
            "docker.io/Library/busybox",
            "x:",
            "x:-tag",
            "x:.tag",
            "x:ta/g",
            "a//b",
            "a/",
            "/a",
            "a..b",
            "a._b",
            "a___b",
            "_a",
            "a-",
            "a.",
            "-a.io/b",
            "a-.io/b",
            "a.io:/b",
            "a.io:50x0/b",
            "a b",
            "a@",
            "a@sha256",
            "a@SHA256:0123456789abcdef0123456789abcdef",
            "[::1]:5000/a",
            "a/b:c/d",
            &long_tag,
            &name_256,
            &short_digest,
            &upper_digest,
            &trailing_garbage,
        ];
        for n in invalid {
            assert!(!valid_image_name(n), "{n:?} should be invalid");
        }
    }

    #[test]
    fn digest_validation() {
        assert!(valid_digest(&format!("sha256:{HEX64}")));
        assert!(!valid_digest(&format!("sha256:{}", &HEX64[1..])));
        assert!(!valid_digest(&format!("sha256:{HEX64}0")));
        assert!(!valid_digest(&format!("sha256:{}", HEX64.to_uppercase())));
        assert!(!valid_digest(&format!("sha512:{HEX64}")));
        assert!(!valid_digest(&format!("sha256:{}g", &HEX64[1..])));
        assert!(!valid_digest(HEX64));
    }

    fn r(host: &str, name: &str, tag: &str) -> Reference {
        Reference {
            host: host.into(),
            name: name.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn split_tag() {
        let got = split_image_name("docker.io/library/busybox:latest").unwrap();
        assert_eq!(got, r("docker.io", "library/busybox", "latest"));
        assert!(!got.is_digest());
        assert_eq!(got.to_string(), "docker.io/library/busybox:latest");
    }

    #[test]
    fn split_host_port() {
        assert_eq!(
            split_image_name("127.0.0.1:5000/test/x:nope").unwrap(),
            r("127.0.0.1:5000", "test/x", "nope")
        );
        assert_eq!(
            split_image_name("localhost:5000/x:1.0").unwrap(),
            r("localhost:5000", "x", "1.0")
        );
    }

    #[test]
    fn split_digest() {
        let d = format!("sha256:{HEX64}");
        let got = split_image_name(&format!("h/a/b@{d}")).unwrap();
        assert_eq!(got, r("h", "a/b", &d));
        assert!(got.is_digest());
        assert_eq!(got.to_string(), format!("h/a/b@{d}"));
        // name:tag@digest: the digest wins, the tag is dropped.
        let got = split_image_name(&format!("reg.io:5000/a/b:v1@{d}")).unwrap();
        assert_eq!(got, r("reg.io:5000", "a/b", &d));
    }

    #[test]
    fn split_errors() {
        let e = split_image_name("busybox:latest").unwrap_err();
        assert_eq!(e, ReferenceError::NoHost("busybox:latest".into()));
        assert!(e.to_string().contains("no registry host"), "{e}");
        assert!(e.to_string().contains("busybox:latest"), "{e}");
        let e = split_image_name("busybox").unwrap_err();
        assert_eq!(e, ReferenceError::NoHost("busybox".into()));

        let e = split_image_name("127.0.0.1:5000/test/x").unwrap_err();
        assert_eq!(e, ReferenceError::NoTag("127.0.0.1:5000/test/x".into()));
        assert!(e.to_string().contains("no tag or digest"), "{e}");

        let e = split_image_name("Docker.io/Busybox:latest").unwrap_err();
        assert!(matches!(e, ReferenceError::InvalidName(_)), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("Invalid image name Docker.io/Busybox:latest")
        );
        assert!(matches!(
            split_image_name("a/b:").unwrap_err(),
            ReferenceError::InvalidName(_)
        ));
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn default_tag_and_host() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(with_default_tag("busybox:1"), "busybox:1");
        assert_eq!(
            with_default_tag("localhost:5000/a"),
            "localhost:5000/a:latest"
        );
        let d = format!("a/b@sha256:{HEX64}");
        assert_eq!(with_default_tag(&d), d);

        assert_eq!(image_host("busybox"), None);
        assert_eq!(image_host("library/busybox"), None);
        assert_eq!(image_host("localhost/x"), Some("localhost"));
        assert_eq!(image_host("localhost"), None);
        assert_eq!(image_host("docker.io/busybox"), Some("docker.io"));
        assert_eq!(image_host("host:5000/x"), Some("host:5000"));
    }

    #[test]
    fn normalize() {
        let cases = [
            ("docker.io/library/busybox", "busybox:latest"),
            ("docker.io/library/busybox:1.36", "busybox:1.36"),
            ("docker.io/foo/bar", "foo/bar:latest"),
            ("library/busybox", "busybox:latest"),
            ("busybox", "busybox:latest"),
            ("127.0.0.1:5000/test/x", "127.0.0.1:5000/test/x:latest"),
            ("127.0.0.1:5000/test/x:v2", "127.0.0.1:5000/test/x:v2"),
            (
                "index.docker.io/library/busybox",
                "index.docker.io/library/busybox:latest",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_image_name(input), want, "{input}");
        }
        let d = format!("docker.io/library/busybox@sha256:{HEX64}");
        assert_eq!(normalize_image_name(&d), format!("busybox@sha256:{HEX64}"));
    }

    #[test]
    fn transform() {
        assert_eq!(transform_host("docker.io"), "registry-1.docker.io");
        assert_eq!(transform_host("index.docker.io"), "registry-1.docker.io");
        assert_eq!(transform_host("Docker.io"), "Docker.io");
        assert_eq!(transform_host("docker.io:443"), "docker.io:443");
        assert_eq!(transform_host("quay.io"), "quay.io");
    }

    fn p(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }
    }

    #[test]
    fn platform_parse() {
        assert_eq!(
            Platform::parse("linux/amd64").unwrap(),
            p("linux", "amd64", None)
        );
        assert_eq!(
            Platform::parse("Linux/ARM64/v8").unwrap(),
            p("linux", "arm64", None)
        );
        assert_eq!(
            Platform::parse("linux/arm64/v9").unwrap(),
            p("linux", "arm64", Some("v9"))
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap(),
            p("linux", "arm", Some("v7"))
        );
        assert_eq!(
            Platform::parse("linux/arm/6").unwrap(),
            p("linux", "arm", Some("v6"))
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap(),
            p("linux", "amd64", None)
        );
        assert_eq!(
            Platform::parse("linux/aarch64").unwrap(),
            p("linux", "arm64", None)
        );
        assert_eq!(
            "windows/386".parse::<Platform>().unwrap(),
            p("windows", "386", None)
        );
        assert_eq!(
            Platform::parse("linux/arm/v5").unwrap().to_string(),
            "linux/arm/v5"
        );
        assert_eq!(
            Platform::parse("linux/s390x").unwrap().to_string(),
            "linux/s390x"
        );
    }

    #[test]
    fn platform_parse_errors() {
        for bad in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "linux//v7",
            "a/b/c/d",
            "linux/am d64",
            "linux/arm.64",
        ] {
            let e = Platform::parse(bad).unwrap_err();
            assert!(
                matches!(e, ReferenceError::InvalidPlatform { .. }),
                "{bad:?}"
            );
            assert!(e.to_string().contains("os/arch[/variant]"), "{e}");
        }
        assert!(
            Platform::parse("linux")
                .unwrap_err()
                .to_string()
                .contains("missing architecture")
        );
    }

    #[test]
    fn host_platform() {
        let h = Platform::host();
        assert_eq!(h.os, std::env::consts::OS);
        assert!(!h.architecture.is_empty());
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        assert_eq!(h, p("linux", "amd64", None));
        if h.architecture == "arm" {
            assert!(h.variant.is_some());
        }
    }

    #[test]
    fn cpuinfo_variant() {
        let arm64 = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\n";
        assert_eq!(cpu_variant(arm64).as_deref(), Some("8"));
        assert_eq!(normalize_variant("arm64", cpu_variant(arm64)), None);
        assert_eq!(
            normalize_variant("arm", cpu_variant(arm64)).as_deref(),
            Some("v8")
        );
        let armv7 =
            "processor : 0\nmodel name : ARMv7 Processor rev 4 (v7l)\nCPU architecture: 7\n";
        assert_eq!(
            normalize_variant("arm", cpu_variant(armv7)).as_deref(),
            Some("v7")
        );
        let v9 = "CPU architecture:\tV9 \n";
        assert_eq!(
            normalize_variant("arm64", cpu_variant(v9)).as_deref(),
            Some("v9")
        );
        assert_eq!(cpu_variant("model name: x86\n"), None);
        assert_eq!(normalize_variant("arm", None).as_deref(), Some("v7"));
        assert_eq!(
            normalize_variant("arm", Some("armv6".into())).as_deref(),
            Some("armv6")
        );
        assert_eq!(normalize_variant("amd64", Some("v3".into())), None);
    }
}
