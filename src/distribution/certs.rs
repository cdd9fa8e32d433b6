//! TLS material per registry host from a certs.d directory, laid out as
//! iSulad and Docker do: `<certs_dir>/<host[:port]>/` holding `*.crt` (CA
//! bundle), `*.cert` + `*.key` (client certificate and its key).
//!
//! iSulad refuses a directory with a CA but no client certificate ("failed
//! to load all certs"); like Docker, a CA alone is accepted here. A
//! certificate without its key, or a key without its certificate, is an
//! error that names the missing file.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Default certs.d of iSulad.
pub const DEFAULT_CERTS_DIR: &str = "/etc/isulad/certs.d";

/// TLS files for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// Loads `<certs_dir>/<host>`; no directory means no custom material.
pub fn load(certs_dir: &Path, host: &str) -> Result<TlsFiles, Error> {
    let dir = certs_dir.join(host);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(TlsFiles::default());
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    // readdir order is arbitrary; sorted, "the first one" is reproducible
    names.sort();
    let mut files = TlsFiles::default();
    for name in &names {
        if name.ends_with(".crt") && files.ca_file.is_none() {
            files.ca_file = Some(dir.join(name));
        } else if let Some(base) = name.strip_suffix(".cert") {
            let key = format!("{base}.key");
            if !names.contains(&key) {
                return Err(Error::Invalid(format!(
                    "{}: client certificate {name} has no key {key}",
                    dir.display()
                )));
            }
            if files.cert_file.is_none() {
                files.cert_file = Some(dir.join(name));
                files.key_file = Some(dir.join(key));
            }
        } else if let Some(base) = name.strip_suffix(".key") {
            let cert = format!("{base}.cert");
            if !names.contains(&cert) {
                return Err(Error::Invalid(format!(
                    "{}: client key {name} has no certificate {cert}",
                    dir.display()
                )));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(name: &str, files: &[&str]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("isula-certs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("reg:5000")).unwrap();
        for f in files {
            fs::write(root.join("reg:5000").join(f), "x").unwrap();
        }
        root
    }

    #[test]
    fn ca_only_and_full_sets() {
        let root = dir_with("ca", &["ca.crt"]);
        let t = load(&root, "reg:5000").unwrap();
        assert_eq!(t.ca_file, Some(root.join("reg:5000/ca.crt")));
        assert_eq!(t.cert_file, None);
        fs::remove_dir_all(&root).unwrap();

        let root = dir_with("full", &["ca.crt", "client.cert", "client.key", "README"]);
        let t = load(&root, "reg:5000").unwrap();
        assert_eq!(t.cert_file, Some(root.join("reg:5000/client.cert")));
        assert_eq!(t.key_file, Some(root.join("reg:5000/client.key")));
        assert_eq!(load(&root, "other").unwrap(), TlsFiles::default());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn unpaired_cert_or_key_is_an_error() {
        let root = dir_with("nokey", &["client.cert"]);
        let e = load(&root, "reg:5000").unwrap_err().to_string();
        assert!(e.contains("has no key client.key"), "{e}");
        fs::remove_dir_all(&root).unwrap();
        let root = dir_with("nocert", &["client.key"]);
        let e = load(&root, "reg:5000").unwrap_err().to_string();
        assert!(e.contains("has no certificate client.cert"), "{e}");
        fs::remove_dir_all(&root).unwrap();
    }
}
