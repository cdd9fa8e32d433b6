//! Following a redirect by hand: which URLs may be requested, and what of
//! the request goes on to the next one.

use super::{CURLE_UNSUPPORTED_PROTOCOL, Request, TransferError};
use crate::text::clean;

/// The request of one hop.
pub(super) struct Hop<'a> {
    pub url: String,
    pub headers: Vec<String>,
    pub method: Option<String>,
    pub body: Option<&'a [u8]>,
}

/// `http` or `https` (lowercase) when `url` has one of them.
pub fn web_scheme(url: &str) -> Option<&'static str> {
    let (scheme, _) = url.split_once("://")?;
    if scheme.eq_ignore_ascii_case("https") {
        Some("https")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// `host[:port]` of a URL, lowercase (any user info included, so that a
/// URL naming one cannot pass for the same host).
pub fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn refuse(message: String) -> TransferError {
    TransferError {
        code: CURLE_UNSUPPORTED_PROTOCOL,
        message,
    }
}

/// Only http and https are ever requested.
pub fn check_url(url: &str) -> Result<&'static str, TransferError> {
    web_scheme(url).ok_or_else(|| {
        refuse(format!(
            "refusing to request {}: only http and https URLs are used",
            clean(url, 200)
        ))
    })
}

/// `location` resolved against `base` (for a redirect whose body was cut
/// short, when libcurl computed no URL): absolute, scheme-relative,
/// host-relative or relative to the base's directory.
pub fn resolve(base: &str, location: &str) -> String {
    let location = location.trim();
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{dir}{location}")
}

impl<'a> Hop<'a> {
    pub fn first(req: &Request<'a>) -> Result<Hop<'a>, TransferError> {
        check_url(req.url)?;
        Ok(Hop {
            url: req.url.to_string(),
            headers: req.headers.clone(),
            method: req.method.map(str::to_string),
            body: req.body,
        })
    }

    /// The request for the redirect to `location` (absolute, as libcurl
    /// resolved it) answered with `status`.
    pub fn follow(self, status: u32, location: &str) -> Result<Hop<'a>, TransferError> {
        let to = web_scheme(location).ok_or_else(|| {
            refuse(format!(
                "refusing the redirect to {}: only http and https URLs are used",
                clean(location, 200)
            ))
        })?;
        if web_scheme(&self.url) == Some("https") && to == "http" {
            return Err(refuse(format!(
                "refusing the redirect from https to plain http ({})",
                clean(location, 200)
            )));
        }
        let mut headers = self.headers;
        if authority(location) != authority(&self.url) {
            // credentials are for the host they were meant for
            headers.retain(|h| {
                !h.split(':')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("authorization")
            });
        }
        let posting = self.body.is_some()
            || self
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("POST"));
        // as browsers and libcurl do: 303 always, 301/302 after a POST, become GET
        let to_get = status == 303 || (posting && (status == 301 || status == 302));
        let head = self
            .method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
        let (method, body) = if to_get && !head {
            (None, None)
        } else {
            (self.method, self.body)
        };
        Ok(Hop {
            url: location.to_string(),
            headers,
            method,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(url: &str) -> Hop<'static> {
        Hop {
            url: url.to_string(),
            headers: vec!["Authorization: Bearer x".into(), "Accept: a".into()],
            method: None,
            body: None,
        }
    }

    #[test]
    fn relative_locations() {
        let base = "https://a:1/v2/x/blobs/d?q=1";
        assert_eq!(resolve(base, "http://b/c"), "http://b/c");
        assert_eq!(resolve(base, "//b/c"), "https://b/c");
        assert_eq!(resolve(base, "/c"), "https://a:1/c");
        assert_eq!(resolve(base, "e?f"), "https://a:1/v2/x/blobs/e?f");
    }

    #[test]
    fn schemes_and_hosts() {
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("HTTPS://h/").is_ok());
        let e = hop("https://a/").follow(302, "http://a/x").err().unwrap();
        assert!(e.message.contains("https to plain http"), "{}", e.message);
        let e = hop("http://a/").follow(302, "ftp://a/x").err().unwrap();
        assert!(e.message.contains("only http and https"), "{}", e.message);
        let same = hop("https://a:1/").follow(307, "https://a:1/y").unwrap();
        assert_eq!(same.headers.len(), 2, "same host keeps the credentials");
        let other = hop("https://a:1/").follow(307, "https://b:1/y").unwrap();
        assert_eq!(other.headers, vec!["Accept: a".to_string()]);
        let port = hop("http://a:1/").follow(307, "http://a:2/y").unwrap();
        assert_eq!(port.headers.len(), 1, "another port is another host");
    }

    #[test]
    fn more_locations() {
        // trimmed; no path in the base; a query or fragment is not a directory
        assert_eq!(resolve("http://a", " x "), "http://a/x");
        assert_eq!(resolve("http://a/d/f#frag", "g"), "http://a/d/g");
        assert_eq!(resolve("http://a/d/?q=/z", "g"), "http://a/d/g");
        // dot segments are left for the server (libcurl resolves the usual case)
        assert_eq!(resolve("http://a/b/c", "../d"), "http://a/b/../d");
        // a base without a scheme is taken as http
        assert_eq!(resolve("a/b", "/c"), "http://a/c");
        assert_eq!(resolve("https://a/b", "HTTP://B/c"), "HTTP://B/c");
    }

    #[test]
    fn schemes_and_authorities() {
        assert_eq!(web_scheme("HtTpS://x"), Some("https"));
        assert_eq!(web_scheme("http://x"), Some("http"));
        for url in ["ftp://x", "httpx://x", "https:/x", "x", "", "file:///etc"] {
            assert_eq!(web_scheme(url), None, "{url}");
        }
        assert_eq!(
            authority("https://Reg.Example:5000/v2/?q"),
            "reg.example:5000"
        );
        assert_eq!(authority("http://h?q=1"), "h");
        assert_eq!(authority("http://h#f"), "h");
        // user info stays part of it: it never passes for the plain host
        assert_eq!(authority("http://user@h/"), "user@h");
        assert_ne!(authority("http://h@evil/"), authority("http://h/"));
        assert_eq!(authority("h:1/x"), "h:1", "no scheme");
    }

    #[test]
    fn credentials_stripped_for_another_host_whatever_their_case() {
        let mut h = hop("https://a/");
        h.headers = vec![
            "AUTHORIZATION: Basic eA==".into(),
            "authorization : Bearer y".into(),
            "Proxy-Authorization: Basic cA==".into(),
            "X-Authorization-Hint: keep".into(),
        ];
        let next = h.follow(302, "https://user@a/").unwrap();
        // the proxy's credentials are the proxy's, not the host's
        assert_eq!(
            next.headers,
            [
                "Proxy-Authorization: Basic cA==",
                "X-Authorization-Hint: keep"
            ]
        );
        // host names differ only in case: the same host
        let same = hop("https://A/").follow(302, "https://a/x").unwrap();
        assert_eq!(same.headers.len(), 2);
        // http to https is an upgrade, allowed
        assert!(hop("http://a/").follow(301, "https://a/").is_ok());
    }

    #[test]
    fn methods_across_redirects() {
        let body: &[u8] = b"data";
        let with = |method: Option<&str>, body: Option<&'static [u8]>| Hop {
            url: "http://a/".into(),
            headers: vec![],
            method: method.map(str::to_string),
            body,
        };
        let shape = |h: Hop<'_>| (h.method, h.body.map(<[u8]>::len));
        // 303 always becomes GET; 301/302 after a POST do; 307/308 keep it
        assert_eq!(
            shape(with(None, Some(body)).follow(303, "http://a/r").unwrap()),
            (None, None)
        );
        assert_eq!(
            shape(with(None, Some(body)).follow(302, "http://a/r").unwrap()),
            (None, None)
        );
        assert_eq!(
            shape(with(Some("POST"), None).follow(301, "http://a/r").unwrap()),
            (None, None)
        );
        assert_eq!(
            shape(with(None, Some(body)).follow(307, "http://a/r").unwrap()),
            (None, Some(4))
        );
        assert_eq!(
            shape(
                with(Some("PUT"), Some(body))
                    .follow(308, "http://a/r")
                    .unwrap()
            ),
            (Some("PUT".into()), Some(4))
        );
        // a PUT redirected with 302 stays a PUT; HEAD stays HEAD even on 303
        assert_eq!(
            shape(with(Some("PUT"), None).follow(302, "http://a/r").unwrap()),
            (Some("PUT".into()), None)
        );
        assert_eq!(
            shape(with(Some("HEAD"), None).follow(303, "http://a/r").unwrap()),
            (Some("HEAD".into()), None)
        );
    }

    #[test]
    fn the_first_hop_is_checked_too() {
        let req = Request {
            url: "gopher://h/",
            ..Request::default()
        };
        let e = Hop::first(&req).err().unwrap();
        assert_eq!(e.code, CURLE_UNSUPPORTED_PROTOCOL);
        assert!(
            e.message.contains("refusing to request gopher://h/"),
            "{}",
            e.message
        );
        let e = check_url("file:///\x1b[31m").unwrap_err();
        assert!(
            !e.message.contains('\x1b'),
            "the URL is cleaned: {:?}",
            e.message
        );
    }
}
