//! The proxy of every request of the process, when one is set
//! (`isula_registry_set_proxy`). Without one, libcurl reads `https_proxy`,
//! `http_proxy`, `all_proxy` and `no_proxy` (and their upper-case forms,
//! but `HTTP_PROXY`) from the environment itself, as curl does.
//!
//! The proxy URL may carry credentials (`http://user:password@host:port`):
//! it is kept in a [`Secret`], never shown in a message or log.

use std::sync::{PoisonError, RwLock};

use curl::easy::Easy;

use crate::auths::Secret;

struct Setting {
    /// "" uses no proxy at all, whatever the environment says.
    url: Secret<String>,
    no_proxy: Option<String>,
}

static PROXY: RwLock<Option<Setting>> = RwLock::new(None);

/// Schemes libcurl's proxy option takes.
const SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// Sets the proxy (`None`: back to the environment; `Some("")`: none) and
/// the hosts reached without it (`no_proxy` syntax: comma-separated names,
/// domains and addresses, `*` for all). The error never repeats the URL.
pub fn set(url: Option<&str>, no_proxy: Option<&str>) -> Result<(), String> {
    let setting = match url {
        None => None,
        Some(url) => {
            check(url)?;
            Some(Setting {
                url: Secret::new(url.to_string()),
                no_proxy: no_proxy.map(str::to_string),
            })
        }
    };
    *PROXY.write().unwrap_or_else(PoisonError::into_inner) = setting;
    Ok(())
}

fn check(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the proxy URL has blanks or control characters".to_string());
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        if !SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "unsupported proxy scheme {scheme}: use http://, https://, socks4[a]:// or socks5[h]://"
            ));
        }
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("the {scheme} proxy URL has no host"));
        }
    }
    Ok(())
}

/// Puts the set proxy, if any, on `easy` (after its reset).
pub(super) fn apply(easy: &mut Easy) -> Result<(), curl::Error> {
    let guard = PROXY.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(setting) = guard.as_ref() {
        easy.proxy(&setting.url)?;
        // libcurl's own no_proxy environment variable still applies when
        // none is given here
        if let Some(list) = &setting.no_proxy {
            easy.noproxy(list)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn proxy_urls_are_checked_without_repeating_them() {
        assert!(check("").is_ok());
        assert!(check("http://u:p@127.0.0.1:3128").is_ok());
        assert!(
            check("127.0.0.1:3128").is_ok(),
            "libcurl takes http:// as the default"
        );
        let err = check("ftp://user:hunter2@proxy:21").unwrap_err();
        assert!(err.contains("unsupported proxy scheme ftp"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(check("http://").is_err());
        assert!(check("http://proxy :3128").is_err());
    }
}
