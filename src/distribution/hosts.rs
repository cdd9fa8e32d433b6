//! `<certs_dir>/<host>/hosts.toml`: mirrors and pull-through caches for
//! one registry host, written as containerd writes them:
//!
//! ```toml
//! server = "https://registry.example:5000"   # the origin; default: the host itself
//!
//! [host."https://mirror.example:5001"]
//! capabilities = ["pull", "resolve"]          # default: both
//! ca = "mirror-ca.crt"                         # or a list; relative to this directory
//! skip_verify = false
//! client = [["client.cert", "client.key"]]     # or "client.pem" (certificate and key)
//! override_path = false                        # true: the URL's path replaces `/v2`
//! header = { X-Fleet = "a" }                   # a value or a list of values
//! ```
//!
//! A host without a directory of its own under `<certs_dir>` takes
//! `<certs_dir>/_default/hosts.toml`, as in containerd (a host directory
//! without a hosts.toml means no mirrors for that host).
//!
//! Mirrors are tried in the file's order, the origin last. The file is
//! input like any other: at most [`MAX_HOSTS_FILE`] bytes, nesting under
//! [`MAX_DEPTH`], every key known; a mistake is an error naming the file,
//! the line and the column.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::error::Error;

/// Largest hosts.toml read.
pub const MAX_HOSTS_FILE: u64 = 64 << 10;
/// Deepest nesting of tables and arrays accepted.
pub const MAX_DEPTH: usize = 5;
/// Most `[host."..."]` sections.
pub const MAX_MIRRORS: usize = 16;
const FILE_NAME: &str = "hosts.toml";
/// The directory whose hosts.toml serves every host without its own.
pub const DEFAULT_DIR: &str = "_default";

/// Where and how to reach one host of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// "https" or "http", as the URL says.
    pub scheme: &'static str,
    /// `host[:port]`.
    pub authority: String,
    /// What goes before `/<repo>/manifests/...`: `/v2` unless overridden.
    pub prefix: String,
    pub pull: bool,
    pub resolve: bool,
    /// CA files for this host (none: its certs.d files, if any).
    pub ca: Vec<PathBuf>,
    /// None: as the pull says.
    pub skip_verify: Option<bool>,
    /// The client certificate presented to this host, if any.
    pub client: Option<ClientCert>,
    /// Extra request header lines.
    pub headers: Vec<String>,
}

/// A client certificate file and its key (`None`: in the same file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: Option<PathBuf>,
}

impl Endpoint {
    /// `https://m:5001`, as messages name it.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// A host's hosts.toml.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostsFile {
    /// The mirrors, in order.
    pub mirrors: Vec<Endpoint>,
    /// The origin when `server` (or the top-level TLS keys) are given.
    pub server: Option<Endpoint>,
    /// The file these came from (none: there was no file).
    pub path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Top {
    server: Option<String>,
    #[serde(default)]
    host: Ordered,
    capabilities: Option<Vec<String>>,
    ca: Option<OneOrMany>,
    skip_verify: Option<bool>,
    client: Option<toml::Value>,
    override_path: Option<bool>,
    header: Option<toml::Table>,
}

/// A `[host."URL"]` section (the top level has the same keys, for `server`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    capabilities: Option<Vec<String>>,
    ca: Option<OneOrMany>,
    skip_verify: Option<bool>,
    client: Option<toml::Value>,
    override_path: Option<bool>,
    header: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The `[host."URL"]` sections in the file's order.
#[derive(Default)]
struct Ordered(Vec<(String, Section)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tables named by URL: [host.\"https://mirror:5000\"]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Section>()? {
                    if out.len() == MAX_MIRRORS {
                        return Err(de::Error::custom(format!("more than {MAX_MIRRORS} hosts")));
                    }
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the hosts.toml of `host`: `<certs_dir>/<host>/hosts.toml`, or
/// `<certs_dir>/_default/hosts.toml` when the host has no directory; no
/// file means no mirrors.
pub fn load(certs_dir: &Path, host: &str) -> Result<HostsFile, Error> {
    let own = certs_dir.join(host);
    let dir = match fs::metadata(&own) {
        Ok(_) => own,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => certs_dir.join(DEFAULT_DIR),
        Err(e) => return Err(bad(&own, format!("cannot read it: {e}"))),
    };
    let path = dir.join(FILE_NAME);
    let meta = match fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HostsFile::default()),
        Err(e) => return Err(bad(&path, format!("cannot read it: {e}"))),
    };
    if !meta.is_file() || meta.len() > MAX_HOSTS_FILE {
        return Err(bad(
            &path,
            format!("not a file of at most {MAX_HOSTS_FILE} bytes"),
        ));
    }
    let text = fs::read_to_string(&path).map_err(|e| bad(&path, format!("cannot read it: {e}")))?;
    let mut file = parse(&text, &dir).map_err(|why| bad(&path, why))?;
    file.path = Some(path);
    Ok(file)
}

fn bad(path: &Path, why: String) -> Error {
    Error::Invalid(format!(
        "{}: {why} (fix the file, or remove it to pull without mirrors)",
        path.display()
    ))
}

/// Parses hosts.toml text; relative CA paths are taken from `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<HostsFile, String> {
    let value: toml::Table = toml::from_str(text).map_err(|e| located(text, &e))?;
    if depth(&toml::Value::Table(value)) > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    let top: Top = toml::from_str(text).map_err(|e| located(text, &e))?;
    let mut file = HostsFile::default();
    for (url, section) in top.host.0 {
        let e = endpoint(&url, section, dir).map_err(|why| format!("[host.\"{url}\"]: {why}"))?;
        file.mirrors.push(e);
    }
    let own = Section {
        capabilities: top.capabilities,
        ca: top.ca,
        skip_verify: top.skip_verify,
        client: top.client,
        override_path: top.override_path,
        header: top.header,
    };
    let configured = own.capabilities.is_some()
        || own.ca.is_some()
        || own.skip_verify.is_some()
        || own.client.is_some()
        || own.override_path.is_some()
        || own.header.is_some();
    if let Some(server) = top.server {
        let e = endpoint(&server, own, dir).map_err(|why| format!("server: {why}"))?;
        file.server = Some(e);
    } else if configured {
        return Err(
            "top-level capabilities, ca, skip_verify, client, override_path or header \
                    need a `server = \"https://HOST\"`"
                .to_string(),
        );
    }
    Ok(file)
}

/// "line L, column C: message" of a TOML error.
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn depth(v: &toml::Value) -> usize {
    match v {
        toml::Value::Table(t) => 1 + t.values().map(depth).max().unwrap_or(0),
        toml::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn endpoint(url: &str, s: Section, dir: &Path) -> Result<Endpoint, String> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        ("https", r)
    } else if let Some(r) = url.strip_prefix("http://") {
        ("http", r)
    } else {
        return Err(format!(
            "{url:?} is not an http(s) URL (write https://HOST[:PORT][/PATH])"
        ));
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path_ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~/".contains(c));
    let authority_ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !authority_ok || !path_ok || url.contains("..") {
        return Err(format!(
            "{url:?} is not a plain URL (no credentials, query or `..`)"
        ));
    }
    let mut prefix = format!("/{}", path.trim_matches('/'));
    if prefix == "/" {
        prefix.clear();
    }
    if !s.override_path.unwrap_or(false) && !prefix.ends_with("/v2") {
        prefix.push_str("/v2");
    }
    let (mut pull, mut resolve) = (true, true);
    if let Some(caps) = s.capabilities {
        (pull, resolve) = (false, false);
        for c in caps {
            match c.as_str() {
                "pull" => pull = true,
                "resolve" => resolve = true,
                // this library never pushes
                "push" => {}
                other => {
                    return Err(format!(
                        "unknown capability {other:?} (use \"pull\", \"resolve\", \"push\")"
                    ));
                }
            }
        }
    }
    let ca = match s.ca {
        None => Vec::new(),
        Some(OneOrMany::One(p)) => vec![p],
        Some(OneOrMany::Many(v)) => v,
    };
    let ca = ca.into_iter().map(|p| dir.join(p)).collect();
    let client = match s.client {
        Some(v) => client_cert(v, dir)?,
        None => None,
    };
    let mut headers = Vec::new();
    for (name, value) in s.header.unwrap_or_default() {
        let values = match value {
            toml::Value::String(v) => vec![v],
            toml::Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(v) => Ok(v),
                    _ => Err(format!("header {name}: values are strings")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(format!("header {name}: a string or a list of strings")),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        if !name_ok || name.eq_ignore_ascii_case("authorization") {
            return Err(format!("header {name:?} cannot be set here"));
        }
        for v in values {
            if v.chars().any(char::is_control) {
                return Err(format!("header {name}: control characters in its value"));
            }
            headers.push(format!("{name}: {v}"));
        }
    }
    Ok(Endpoint {
        scheme,
        authority: authority.to_string(),
        prefix,
        pull,
        resolve,
        ca,
        skip_verify: s.skip_verify,
        client,
        headers,
    })
}

/// `client` as containerd writes it: `"both.pem"`, `["both.pem"]` or
/// `[["cert.pem", "key.pem"]]` (an empty key: in the certificate's file),
/// paths relative to `dir`. libcurl presents one certificate, so a list of
/// several is refused rather than cut short.
fn client_cert(v: toml::Value, dir: &Path) -> Result<Option<ClientCert>, String> {
    use toml::Value::{Array, String as Text};
    let pair = |cert: &str, key: &str| -> Result<Option<ClientCert>, String> {
        if cert.is_empty() {
            return Err("client: the certificate's path is empty".to_string());
        }
        Ok(Some(ClientCert {
            cert: dir.join(cert),
            key: (!key.is_empty()).then(|| dir.join(key)),
        }))
    };
    let shape = "client: a file, or a [certificate, key] pair in a list";
    match v {
        Text(both) => pair(&both, ""),
        Array(list) => match list.as_slice() {
            [] => Ok(None),
            [Text(both)] => pair(both, ""),
            [Array(p)] => match p.as_slice() {
                [Text(cert), Text(key)] => pair(cert, key),
                _ => Err(shape.to_string()),
            },
            [_, _, ..] => Err(format!(
                "client: {} certificates, but one is presented to a host (keep one)",
                list.len()
            )),
            _ => Err(shape.to_string()),
        },
        _ => Err(shape.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_in_order_with_their_settings() {
        let f = parse(
            r#"
server = "https://origin:5000"
ca = "origin.crt"

[host."http://b:5001/cache"]
capabilities = ["pull"]
header = { X-A = "1", X-B = ["2", "3"] }

[host."https://a:5002/raw"]
ca = ["/etc/x.crt", "y.crt"]
skip_verify = true
override_path = true
"#,
            Path::new("/certs/reg"),
        )
        .unwrap();
        let b = &f.mirrors[0];
        assert_eq!(
            (b.scheme, b.authority.as_str(), b.prefix.as_str()),
            ("http", "b:5001", "/cache/v2")
        );
        assert!(b.pull && !b.resolve);
        assert_eq!(b.headers, ["X-A: 1", "X-B: 2", "X-B: 3"]);
        let a = &f.mirrors[1];
        assert_eq!(a.prefix, "/raw");
        assert_eq!(a.skip_verify, Some(true));
        assert_eq!(
            a.ca,
            [
                PathBuf::from("/etc/x.crt"),
                PathBuf::from("/certs/reg/y.crt")
            ]
        );
        let s = f.server.unwrap();
        assert_eq!(
            (s.url(), s.prefix.as_str()),
            ("https://origin:5000".into(), "/v2")
        );
        assert_eq!(s.ca, [PathBuf::from("/certs/reg/origin.crt")]);
        assert!(s.pull && s.resolve);
    }

    #[test]
    fn client_certificates_as_containerd_writes_them() {
        let dir = Path::new("/certs/reg");
        let client = |text: &str| parse(text, dir).unwrap().mirrors[0].client.clone();
        let both = Some(ClientCert {
            cert: dir.join("both.pem"),
            key: None,
        });
        assert_eq!(
            client("[host.\"https://m\"]\nclient = \"both.pem\"\n"),
            both
        );
        assert_eq!(
            client("[host.\"https://m\"]\nclient = [\"both.pem\"]\n"),
            both
        );
        assert_eq!(
            client("[host.\"https://m\"]\nclient = [[\"both.pem\", \"\"]]\n"),
            both
        );
        assert_eq!(
            client("[host.\"https://m\"]\nclient = [[\"c.crt\", \"/k/c.key\"]]\n"),
            Some(ClientCert {
                cert: dir.join("c.crt"),
                key: Some(PathBuf::from("/k/c.key")),
            })
        );
        assert_eq!(client("[host.\"https://m\"]\n"), None);
        let f = parse("server = \"https://o\"\nclient = \"o.pem\"\n", dir).unwrap();
        assert_eq!(f.server.unwrap().client.unwrap().cert, dir.join("o.pem"));
    }

    #[test]
    fn mistakes_name_the_line() {
        let dir = Path::new("/d");
        let e = parse(
            "server = \"https://o\"\n[host.\"https://m\"]\ncapabilities = \"pull\"\n",
            dir,
        )
        .unwrap_err();
        assert!(e.starts_with("line 3, column 16:"), "{e}");
        let e = parse("[host.\"https://m\"]\nmirror = true\n", dir).unwrap_err();
        assert!(
            e.starts_with("line 2, column 1:") && e.contains("mirror"),
            "{e}"
        );
        let e = parse("server = https://o\n", dir).unwrap_err();
        assert!(e.starts_with("line 1,"), "{e}");
        let e = parse("[host.\"ftp://m\"]\n", dir).unwrap_err();
        assert!(e.contains("not an http(s) URL"), "{e}");
        let e = parse("[host.\"https://u:p@m\"]\n", dir).unwrap_err();
        assert!(e.contains("not a plain URL"), "{e}");
        let e = parse("[host.\"https://m\"]\ncapabilities = [\"pul\"]\n", dir).unwrap_err();
        assert!(e.contains("unknown capability"), "{e}");
        let e = parse(
            "[host.\"https://m\"]\nheader = { Authorization = \"x\" }\n",
            dir,
        )
        .unwrap_err();
        assert!(e.contains("cannot be set"), "{e}");
        let e = parse("ca = \"x.crt\"\n", dir).unwrap_err();
        assert!(e.contains("need a `server"), "{e}");
        let e = parse(
            "[host.\"https://m\"]\nclient = [\"a.pem\", \"b.pem\"]\n",
            dir,
        )
        .unwrap_err();
        assert!(e.contains("2 certificates"), "{e}");
        let e = parse("[host.\"https://m\"]\nclient = [[\"a.pem\"]]\n", dir).unwrap_err();
        assert!(e.contains("pair"), "{e}");
        let e = parse("[host.\"https://m\"]\nclient = 1\n", dir).unwrap_err();
        assert!(e.contains("pair"), "{e}");
        let e = parse("[host.\"https://m\".header]\nX = [[[[\"a\"]]]]\n", dir).unwrap_err();
        assert!(e.contains("deeper"), "{e}");
    }

    /// `_default/hosts.toml` serves a host without a directory of its
    /// own, its relative paths taken from `_default`; a host directory
    /// without a hosts.toml keeps its host out of it.
    #[test]
    fn hosts_without_a_directory_take_the_default_file() {
        let root = tempfile::tempdir().unwrap();
        let default = root.path().join(DEFAULT_DIR);
        fs::create_dir_all(&default).unwrap();
        fs::write(
            default.join(FILE_NAME),
            "[host.\"https://cache:5000\"]\nca = \"cache.crt\"\n",
        )
        .unwrap();
        let f = load(root.path(), "registry.example:5000").unwrap();
        assert_eq!(f.mirrors.len(), 1);
        assert_eq!(f.mirrors[0].ca, [default.join("cache.crt")]);
        assert_eq!(f.path, Some(default.join(FILE_NAME)));
        fs::create_dir_all(root.path().join("own:5000")).unwrap();
        assert_eq!(load(root.path(), "own:5000").unwrap(), HostsFile::default());
    }

    #[test]
    fn no_file_no_mirrors() {
        assert_eq!(
            load(Path::new("/nonexistent"), "h:1").unwrap(),
            HostsFile::default()
        );
    }
}
