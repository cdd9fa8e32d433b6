//! What to do about a failure. libcurl, OpenSSL and the OS name the
//! symptom ("wrong version number", "unable to get local issuer
//! certificate", "No space left on device"); users need the fix. These
//! functions add it to the texts `error::Error` shows, keeping the
//! original text after it for whoever digs further.

#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Duration;

use crate::transport::TransferError;

// libcurl's codes (curl.h, CURLcode)
const CURLE_COULDNT_RESOLVE_PROXY: u32 = 5;
const CURLE_COULDNT_RESOLVE_HOST: u32 = 6;
const CURLE_COULDNT_CONNECT: u32 = 7;
const CURLE_WRITE_ERROR: u32 = 23;
const CURLE_OPERATION_TIMEDOUT: u32 = 28;
const CURLE_RECV_ERROR: u32 = 56;
const CURLE_SSL_CONNECT_ERROR: u32 = 35;
const CURLE_PEER_FAILED_VERIFICATION: u32 = 60;
const CURLE_SSL_CACERT_BADFILE: u32 = 77;
const CURLE_SSL_ISSUER_ERROR: u32 = 83;

/// A transfer failure to or from `host` (`host:port` as in the image
/// name), with the advice that fits it put in front of libcurl's text.
/// `certs_dir` is where the host's TLS files are looked for.
pub fn transfer(e: TransferError, host: &str, certs_dir: &Path) -> TransferError {
    let text = e.message.as_str();
    let lower = text.to_ascii_lowercase();
    let advice = match e.code {
        // OpenSSL reading an HTTP answer as a TLS record
        CURLE_SSL_CONNECT_ERROR
            if lower.contains("wrong version number")
                || lower.contains("packet length too long")
                || lower.contains("http request") =>
        {
            format!(
                "the registry answered plain HTTP: mark {host} insecure if you trust it \
                 (insecure-registries in daemon.json, insecure_registry in the pull options)"
            )
        }
        CURLE_PEER_FAILED_VERIFICATION
            if lower.contains("subject name") || lower.contains("does not match") =>
        {
            format!(
                "the registry's certificate is not made out to {host}: use the name it is made \
                 out to, or have it reissued"
            )
        }
        CURLE_PEER_FAILED_VERIFICATION | CURLE_SSL_CACERT_BADFILE | CURLE_SSL_ISSUER_ERROR => {
            format!(
                "the registry's certificate is not trusted: put its CA in {}",
                certs_dir.join(host).join("ca.crt").display()
            )
        }
        CURLE_COULDNT_RESOLVE_PROXY => {
            "cannot resolve the proxy's name: check https_proxy/http_proxy \
             (or the proxy set with isula_registry_set_proxy)"
                .to_string()
        }
        CURLE_COULDNT_RESOLVE_HOST => format!(
            "cannot resolve {}: check the registry's name in the image name, and DNS \
             (/etc/resolv.conf)",
            host_name(host)
        ),
        CURLE_COULDNT_CONNECT if lower.contains("proxy") => {
            "cannot connect to the proxy: check https_proxy/http_proxy and that the proxy runs"
                .to_string()
        }
        // libcurl names the address it failed to reach; not the registry's
        // means a proxy (or a host the registry redirected to)
        CURLE_COULDNT_CONNECT if failed_peer(text).is_some_and(|peer| peer != host) => format!(
            "cannot connect to the proxy {}: check https_proxy/http_proxy (or \
             isula_registry_set_proxy) and that the proxy runs; if no proxy is set, the registry \
             redirected to that host",
            failed_peer(text).unwrap_or_default()
        ),
        CURLE_COULDNT_CONNECT => format!(
            "cannot connect to {host}: check the registry's address and port, and that it runs \
             (connection refused or unreachable)"
        ),
        // a CONNECT (https through the proxy) refused for want of credentials
        // (tinyproxy answers 401 where RFC 9110 says 407)
        CURLE_RECV_ERROR
            if proxy_refused(&e) && (lower.contains("407") || lower.contains("401")) =>
        {
            PROXY_AUTH.to_string()
        }
        CURLE_OPERATION_TIMEDOUT => format!(
            "{host} did not answer in time: check the network between here and the registry, \
             and any proxy on the way"
        ),
        CURLE_WRITE_ERROR => match disk_problem(text) {
            Some(advice) => advice.to_string(),
            None => return e,
        },
        _ => return e,
    };
    TransferError {
        code: e.code,
        message: format!("{advice} ({text})"),
    }
}

/// The proxy answered a CONNECT with a 4xx: asking again cannot help.
pub fn proxy_refused(e: &TransferError) -> bool {
    e.code == CURLE_RECV_ERROR
        && e.message
            .to_ascii_lowercase()
            .contains("connect tunnel failed, response 4")
}

/// The advice for a local storage error text, if one fits.
pub fn disk_problem(text: &str) -> Option<&'static str> {
    if text.contains("No space left on device") || text.contains("os error 28") {
        Some("the disk of the image store is full: free space there, or use another store root")
    } else if text.contains("Read-only file system") || text.contains("os error 30") {
        Some(
            "the image store is on a read-only file system: use another store root \
             (isula_registry_set_root or $ISULA_REGISTRY_ROOT)",
        )
    } else if text.contains("Permission denied") || text.contains("os error 13") {
        Some(
            "the image store is not writable by this user: fix its permissions, run as its \
             owner, or use another store root (isula_registry_set_root or $ISULA_REGISTRY_ROOT)",
        )
    } else {
        None
    }
}

const PROXY_AUTH: &str = "the proxy refused the request for want of valid credentials: \
     put them in the proxy URL (http://USER:PASSWORD@HOST:PORT in https_proxy/http_proxy, or \
     isula_registry_set_proxy)";

/// The advice for an HTTP status the registry (or a proxy) answered, if one
/// fits.
pub fn status(status: u32, retry_after: Option<Duration>) -> Option<String> {
    match status {
        407 => Some(PROXY_AUTH.to_string()),
        403 => Some(
            "access denied: the registry does not let this account pull this repository; \
             log in with an account that may (isula login), or ask the registry's owner"
                .to_string(),
        ),
        429 => Some(match retry_after {
            Some(after) => format!(
                "rate limited by the registry: retry after {} s, or log in to get a higher limit",
                after.as_secs().max(1)
            ),
            None => "rate limited by the registry: retry later, or log in to get a higher limit"
                .to_string(),
        }),
        _ => None,
    }
}

/// `HOST:PORT` of libcurl's "Failed to connect to HOST port PORT ...".
fn failed_peer(text: &str) -> Option<String> {
    let rest = text.split("Failed to connect to ").nth(1)?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    (words.next()? == "port").then_some(())?;
    let port: String = words
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(if name.contains(':') {
        format!("[{name}]:{port}")
    } else {
        format!("{name}:{port}")
    })
}

/// `host` without its port (and brackets of an IPv6 address).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u32, message: &str) -> TransferError {
        TransferError {
            code,
            message: message.to_string(),
        }
    }

    #[test]
    fn plain_http_and_unknown_ca() {
        let certs = Path::new("/etc/isulad/certs.d");
        let e = transfer(
            err(
                35,
                "OpenSSL/3.0.22: error:0A00010B:SSL routines::wrong version number",
            ),
            "127.0.0.1:5341",
            certs,
        );
        assert!(
            e.message.starts_with(
                "the registry answered plain HTTP: mark 127.0.0.1:5341 insecure if you trust it"
            ),
            "{e}"
        );
        assert!(e.message.ends_with("wrong version number)"), "{e}");
        let e = transfer(
            err(
                60,
                "SSL certificate problem: unable to get local issuer certificate",
            ),
            "reg:5000",
            certs,
        );
        assert!(
            e.message
                .contains("put its CA in /etc/isulad/certs.d/reg:5000/ca.crt"),
            "{e}"
        );
        // a TLS failure of another kind keeps libcurl's text alone
        let other = err(35, "OpenSSL: handshake failure");
        assert_eq!(transfer(other.clone(), "h", certs), other);
    }

    #[test]
    fn network_and_disk() {
        let certs = Path::new("/c");
        let e = transfer(
            err(6, "Could not resolve host: nowhere"),
            "nowhere:5000",
            certs,
        );
        assert!(e.message.starts_with("cannot resolve nowhere:"), "{e}");
        let e = transfer(err(7, "Failed to connect"), "127.0.0.1:1", certs);
        assert!(
            e.message.starts_with("cannot connect to 127.0.0.1:1"),
            "{e}"
        );
        let e = transfer(
            err(
                23,
                "failed to write the response: No space left on device (os error 28)",
            ),
            "h",
            certs,
        );
        assert!(e.message.contains("full"), "{e}");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("example.com"), "example.com");
    }

    #[test]
    fn statuses() {
        assert!(
            status(429, Some(Duration::from_secs(7)))
                .unwrap()
                .contains("retry after 7 s")
        );
        assert!(status(403, None).unwrap().starts_with("access denied"));
        assert_eq!(status(500, None), None);
    }
}
