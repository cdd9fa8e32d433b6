//! Docker's v1 search API (`/v1/search`), as iSulad's `registry_search`
//! uses it: `host/term` names the registry and the term; `docker.io`
//! means `index.docker.io`. No auth is sent (iSulad sent none either).

use std::path::Path;
use std::thread;
use std::time::Duration;

use serde::Deserialize;

use super::certs;
use super::challenge::percent_encode;
use super::client::VecSink;
use crate::error::Error;
use crate::transport::{self, Request, Tls};

/// Attempts per search (iSulad's value).
const ATTEMPTS: u32 = 3;

/// One image found.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchImage {
    pub name: String,
    pub description: String,
    pub star_count: i64,
    pub pull_count: i64,
    pub is_official: bool,
    pub is_automated: bool,
    pub is_trusted: bool,
}

/// The answer of a search.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchResult {
    pub num_pages: i64,
    pub num_results: i64,
    pub page_size: i64,
    pub page: i64,
    pub query: String,
    pub results: Vec<SearchImage>,
}

/// How to reach the registry.
pub struct SearchOptions<'a> {
    pub insecure: bool,
    pub skip_tls_verify: bool,
    pub certs_dir: &'a Path,
}

/// Splits `host/term`; exactly one `/`, no scheme.
pub fn split_search_name(name: &str) -> Result<(String, String), Error> {
    let bad = || {
        Error::Invalid(format!(
            "Invalid search name {name:?}: expected REGISTRY/TERM, e.g. docker.io/busybox"
        ))
    };
    if name.is_empty() || name.contains("://") {
        return Err(bad());
    }
    let (host, term) = name.split_once('/').ok_or_else(bad)?;
    if host.is_empty() || term.is_empty() || term.contains('/') {
        return Err(bad());
    }
    let host = if host == "docker.io" {
        "index.docker.io".to_string()
    } else {
        host.to_string()
    };
    Ok((host, term.to_string()))
}

fn get(url: &str, host: &str, opts: &SearchOptions<'_>) -> Result<(u32, Vec<u8>), Error> {
    let tls_files = certs::load(opts.certs_dir, host)?;
    let req = Request {
        url,
        tls: Tls {
            verify_peer: !opts.skip_tls_verify,
            verify_host: !opts.skip_tls_verify,
            ca_file: tls_files.ca_file.as_deref(),
            cert_file: tls_files.cert_file.as_deref(),
            key_file: tls_files.key_file.as_deref(),
        },
        low_speed_abort: true,
        stall_time: Some(super::client::STALL_TIME),
        deadline: Some(super::client::SMALL_DEADLINE),
        follow_redirects: true,
        ..Request::default()
    };
    let mut body = VecSink::default();
    let response = transport::perform(&req, &mut body, None).map_err(|e| Error::Transport {
        what: format!("GET {url}"),
        source: e,
    })?;
    Ok((response.status, body.0))
}

/// Searches `name` (`host/term`) for at most `limit` results.
pub fn search(name: &str, limit: u32, opts: &SearchOptions<'_>) -> Result<SearchResult, Error> {
    let (host, term) = split_search_name(name)?;
    // Any HTTP answer to the ping will do; only a failed transfer moves to http.
    let scheme = match get(&format!("https://{host}/v1/_ping"), &host, opts) {
        Ok(_) => "https",
        Err(e) if !opts.insecure => return Err(e),
        Err(e) => match get(&format!("http://{host}/v1/_ping"), &host, opts) {
            Ok(_) => "http",
            Err(_) => return Err(e),
        },
    };
    let url = format!(
        "{scheme}://{host}/v1/search?q={}&n={limit}",
        percent_encode(&term)
    );
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        let result = get(&url, &host, opts).and_then(|(status, body)| match status {
            200..=299 => super::json::from_slice::<SearchResult>(&body).map_err(|e| {
                Error::Malformed(format!("search answer of {host} is not valid JSON: {e}"))
            }),
            status => Err(Error::Status {
                what: format!("search {name}"),
                status,
                message: crate::text::clean_bytes(&body, super::client::MAX_SHOWN),
                retry_after: None,
            }),
        });
        match result {
            Ok(r) => return Ok(r),
            Err(e) => {
                last = Some(e);
                if attempt < ATTEMPTS {
                    thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                }
            }
        }
    }
    Err(last.expect("at least one attempt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_names() {
        assert_eq!(
            split_search_name("docker.io/busybox").unwrap(),
            ("index.docker.io".into(), "busybox".into())
        );
        assert_eq!(
            split_search_name("reg:5000/x").unwrap(),
            ("reg:5000".into(), "x".into())
        );
        for bad in [
            "",
            "busybox",
            "docker.io/library/busybox",
            "https://x/y",
            "/x",
            "x/",
        ] {
            assert!(split_search_name(bad).is_err(), "{bad}");
        }
    }
}
