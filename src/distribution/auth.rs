//! The authorizer of a [`Client`]: what the registry's `/v2/` challenge
//! asks for (nothing, Basic, or Bearer with a realm and service), the
//! `Authorization` header of each request, and Bearer tokens fetched from
//! the realm for a scope, cached until shortly before they expire, fetched
//! once for all threads of a pull and forgotten when a request gets a 401.
//! Kept apart from the requests themselves (ping and GET, in
//! [`super::client`]), as containerd keeps its authorizer apart from its
//! resolver and fetcher; a token request goes through the client's own
//! request path, so it gets the same TLS, deadlines and cancel.
//!
//! A token realm is not trusted: it must be http(s), never plain http for a
//! registry reached over https, and credentials go over plain http only to
//! the (plain-http) registry's own host. Lifetimes a server gives are
//! bounded.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::challenge::{self, Challenge};
use super::client::{Client, Credentials, MAX_SHOWN, Reply, VecSink};
use crate::auths::Secret;
use crate::error::Error;
use crate::text::clean;
use crate::transport::{authority, web_scheme};

/// Token lifetime assumed when the server gives none (and the minimum, as iSulad).
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);
/// The longest a token is cached, whatever the server says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How a registry wants requests authenticated, with the cached token
/// (see [`Client::session`]).
#[derive(Clone, Debug, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        token: Option<(Secret<String>, Instant)>,
    },
}

/// The auth state of one client, shared by all its threads.
pub struct Authorizer {
    /// The registry, as errors name it.
    host: String,
    credentials: Option<Credentials>,
    auth: Mutex<Auth>,
    /// Held while a token is fetched, so concurrent requests wait for one
    /// fetch instead of each making their own.
    token_fetch: Mutex<()>,
}

/// The scope of pulls from `repo` (`repository:NAME:pull`).
pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

/// `Authorization: Basic base64(user:password)`.
fn basic_header(c: &Credentials) -> String {
    let plain = Secret::new(format!("{}:{}", c.username, &*c.password));
    format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(plain.as_bytes())
    )
}

/// What the `WWW-Authenticate` challenges of a 401 ask for: Bearer when
/// offered (it names where tokens come from), else Basic; anything else
/// cannot be answered.
pub fn auth_from_challenges(host: &str, reply: &Reply) -> Result<Auth, Error> {
    let values: Vec<&str> = reply
        .response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    let challenges = challenge::parse_challenges(&values);
    if let Some(Challenge::Bearer { realm, service, .. }) = challenges
        .iter()
        .find(|c| matches!(c, Challenge::Bearer { .. }))
    {
        return Ok(Auth::Bearer {
            realm: realm.clone(),
            service: service.clone(),
            token: None,
        });
    }
    if challenges
        .iter()
        .any(|c| matches!(c, Challenge::Basic { .. }))
    {
        return Ok(Auth::Basic);
    }
    Err(Error::Unauthorized {
        host: host.to_string(),
        detail: format!(
            "the registry asks for an unsupported authentication: {}",
            clean(&values.join(", "), MAX_SHOWN)
        ),
    })
}

/// A token server's answer: `token`, else `access_token` (both are in use),
/// and its lifetime (`expires_in`, at least [`MIN_TOKEN_LIFETIME`]).
pub fn parse_token(body: &[u8], realm: &str) -> Result<(Secret<String>, Duration), Error> {
    let json: serde_json::Value = super::json::from_slice(body)
        .map_err(|e| Error::Malformed(format!("token from {realm} is not JSON: {e}")))?;
    let token = ["token", "access_token"]
        .iter()
        .find_map(|k| json[*k].as_str().filter(|t| !t.is_empty()))
        .ok_or_else(|| Error::Malformed(format!("no token in the answer of {realm}")))?;
    // any number, however large or odd, becomes a lifetime within bounds
    let lifetime = json["expires_in"]
        .as_f64()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map(|secs| Duration::from_secs_f64(secs.min(MAX_TOKEN_LIFETIME.as_secs_f64())))
        .unwrap_or(MIN_TOKEN_LIFETIME)
        .clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME);
    Ok((Secret::new(token.to_string()), lifetime))
}

/// When a token fetched `now` with `lifetime` stops being used: a margin
/// before it expires (at most half its life), never past what an
/// `Instant` holds.
fn token_expiry(now: Instant, lifetime: Duration) -> Instant {
    now.checked_add(lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2)))
        .unwrap_or(now)
}

/// Whether a token may be asked of `realm` for `host`, reached over
/// `registry_scheme`, and whether credentials may go with the request:
/// only http(s) realms; none over plain http for a registry reached over
/// https; credentials over plain http only to the registry's own host.
fn realm_allowed(
    host: &str,
    registry_scheme: &str,
    realm: &str,
    with_credentials: bool,
) -> Result<(), Error> {
    let shown = clean(realm, MAX_SHOWN);
    let Some(realm_scheme) = web_scheme(realm) else {
        return Err(Error::Unsupported(format!(
            "the registry {host} names the token realm {shown}: only http and https realms are used"
        )));
    };
    if realm_scheme == "http" && registry_scheme == "https" {
        return Err(Error::Unsupported(format!(
            "refusing to fetch a token over plain http from {shown}: the registry {host} is served over https"
        )));
    }
    let same_host = authority(realm) == host.to_ascii_lowercase();
    if realm_scheme == "http" && !same_host && with_credentials {
        return Err(Error::Unauthorized {
            host: host.to_string(),
            detail: format!(
                "refusing to send the credentials over plain http to another host ({shown}); \
                 the token server must use https"
            ),
        });
    }
    Ok(())
}

impl Authorizer {
    pub fn new(host: &str, credentials: Option<Credentials>) -> Self {
        Authorizer {
            host: host.to_string(),
            credentials,
            auth: Mutex::new(Auth::default()),
            token_fetch: Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The auth learned so far, with the cached token.
    pub fn get(&self) -> Auth {
        self.state().clone()
    }

    /// Replaces what is known (a ping's answer, or an earlier client's).
    pub fn set(&self, auth: Auth) {
        *self.state() = auth;
    }

    pub fn is_bearer(&self) -> bool {
        matches!(*self.state(), Auth::Bearer { .. })
    }

    /// The `Authorization` header for the next request of `client` in
    /// `scope`, fetching a token when needed (once for all threads).
    pub fn authorization(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<Option<String>, Error> {
        match self.get() {
            Auth::Anonymous => Ok(None),
            Auth::Basic => Ok(self.credentials.as_ref().map(basic_header)),
            Auth::Bearer { realm, service, .. } => {
                if let Some(header) = self.cached_token() {
                    return Ok(Some(header));
                }
                let _one_fetch = self
                    .token_fetch
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // another thread may have fetched it while this one waited
                if let Some(header) = self.cached_token() {
                    return Ok(Some(header));
                }
                let (token, lifetime) =
                    self.fetch_token(client, &realm, service.as_deref(), scope)?;
                let header = format!("Authorization: Bearer {}", &*token);
                if let Auth::Bearer { token: slot, .. } = &mut *self.state() {
                    *slot = Some((token, token_expiry(Instant::now(), lifetime)));
                }
                Ok(Some(header))
            }
        }
    }

    /// The `Authorization` header of the cached token, while it is valid.
    fn cached_token(&self) -> Option<String> {
        match &*self.state() {
            Auth::Bearer {
                token: Some((token, expiry)),
                ..
            } if Instant::now() < *expiry => Some(format!("Authorization: Bearer {}", &**token)),
            _ => None,
        }
    }

    /// Drops the cached token if it is the one `used` was made of (another
    /// thread may already have replaced it).
    pub fn forget_token(&self, used: &str) {
        if self.cached_token().as_deref() == Some(used)
            && let Auth::Bearer { token, .. } = &mut *self.state()
        {
            *token = None;
        }
    }

    fn fetch_token(
        &self,
        client: &Client,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
    ) -> Result<(Secret<String>, Duration), Error> {
        let account = self.credentials.as_ref().map(|c| c.username.as_str());
        realm_allowed(
            &self.host,
            client.scheme_or_default(),
            realm,
            self.credentials.is_some(),
        )?;
        let url = challenge::token_url(realm, service, scope, account);
        let realm = &clean(realm, MAX_SHOWN);
        let realm_host = authority(&url);
        let tls = client.tls_for(&realm_host)?;
        let mut req = client.base_request(&url, &tls);
        if let Some(c) = &self.credentials {
            req.headers.push(basic_header(c));
        }
        let mut body = VecSink::default();
        let reply = client
            .perform(&req, &mut body, &mut |_| true)
            .map_err(|e| client.transfer_error(&format!("get token from {realm}"), e))?;
        match reply.status() {
            200..=299 => {}
            401 | 403 => {
                return Err(Error::Unauthorized {
                    host: self.host.clone(),
                    detail: reply.error_message(),
                });
            }
            status => {
                return Err(Error::Status {
                    what: format!("get token from {realm}"),
                    status,
                    message: reply.error_message(),
                    retry_after: reply.retry_after(),
                });
            }
        }
        parse_token(&body.0, realm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Response;

    #[test]
    fn token_answers() {
        let (t, life) =
            parse_token(br#"{"token":"a","access_token":"b","expires_in":300}"#, "r").unwrap();
        assert_eq!((t.as_str(), life), ("a", Duration::from_secs(300)));
        let (t, life) = parse_token(br#"{"access_token":"b"}"#, "r").unwrap();
        assert_eq!(
            (t.as_str(), life),
            ("b", MIN_TOKEN_LIFETIME),
            "no expires_in: the minimum"
        );
        let (_, life) = parse_token(br#"{"token":"a","expires_in":5}"#, "r").unwrap();
        assert_eq!(
            life, MIN_TOKEN_LIFETIME,
            "short lifetimes are raised to the minimum"
        );
        let (t, _) = parse_token(br#"{"token":"","access_token":"b"}"#, "r").unwrap();
        assert_eq!(t.as_str(), "b", "an empty token does not count");
        assert!(
            parse_token(br#"{"details":"no"}"#, "https://auth")
                .unwrap_err()
                .to_string()
                .contains("no token")
        );
        assert!(parse_token(b"<html>", "r").is_err());
    }

    #[test]
    fn token_lifetimes_from_hostile_servers_are_bounded() {
        for answer in [
            r#"{"token":"a","expires_in":1000000000000000000}"#,
            r#"{"token":"a","expires_in":1e300}"#,
            r#"{"token":"a","expires_in":18446744073709551615}"#,
        ] {
            let (_, life) = parse_token(answer.as_bytes(), "r").unwrap();
            assert_eq!(life, MAX_TOKEN_LIFETIME, "{answer}");
            // what authorization() does with it must not overflow
            assert!(Instant::now().checked_add(life).is_some());
        }
        for answer in [
            r#"{"token":"a","expires_in":-5}"#,
            r#"{"token":"a","expires_in":"soon"}"#,
        ] {
            let (_, life) = parse_token(answer.as_bytes(), "r").unwrap();
            assert_eq!(life, MIN_TOKEN_LIFETIME, "{answer}");
        }
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let now = Instant::now();
        assert_eq!(
            token_expiry(now, Duration::from_secs(300)),
            now + Duration::from_secs(290)
        );
        // a short life loses at most half of itself to the margin
        assert_eq!(
            token_expiry(now, Duration::from_secs(12)),
            now + Duration::from_secs(6)
        );
        assert!(token_expiry(now, MAX_TOKEN_LIFETIME) > now);
    }

    fn challenged(values: &[&str]) -> Reply {
        let mut response = Response {
            status: 401,
            ..Response::default()
        };
        for v in values {
            response
                .headers
                .push(("WWW-Authenticate".to_string(), v.to_string()));
        }
        Reply {
            response,
            error_body: Vec::new(),
        }
    }

    #[test]
    fn challenges_pick_bearer_then_basic() {
        let reply = challenged(&[
            r#"Basic realm="x""#,
            r#"Bearer realm="https://auth.example/token",service="reg""#,
        ]);
        match auth_from_challenges("reg", &reply).unwrap() {
            Auth::Bearer {
                realm,
                service,
                token,
            } => {
                assert_eq!(realm, "https://auth.example/token");
                assert_eq!(service.as_deref(), Some("reg"));
                assert!(token.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            auth_from_challenges("reg", &challenged(&[r#"Basic realm="x""#])).unwrap(),
            Auth::Basic
        ));
        let e = auth_from_challenges("reg", &challenged(&["Negotiate \x1b[31mabc"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported authentication"), "{e}");
        assert!(!e.contains('\x1b'), "server text is cleaned: {e:?}");
    }

    #[test]
    fn realms_a_registry_may_name() {
        let ok = |scheme, realm, creds| realm_allowed("reg:5000", scheme, realm, creds);
        assert!(ok("https", "https://auth.example/token", true).is_ok());
        assert!(ok("http", "https://auth.example/token", true).is_ok());
        // plain http to the registry's own host, which is plain http too
        assert!(ok("http", "http://reg:5000/token", true).is_ok());
        assert!(ok("http", "http://REG:5000/token", true).is_ok());
        // anonymous token over plain http elsewhere: nothing secret goes
        assert!(ok("http", "http://other:80/token", false).is_ok());
        let e = ok("http", "http://other:80/token", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing to send the credentials"), "{e}");
        let e = ok("https", "http://reg:5000/token", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("refusing to fetch a token over plain http"),
            "{e}"
        );
        for realm in ["file:///etc/shadow", "gopher://x/", "/token", ""] {
            let e = ok("https", realm, false).unwrap_err().to_string();
            assert!(e.contains("only http and https realms"), "{realm}: {e}");
        }
    }

    #[test]
    fn basic_and_anonymous_headers() {
        let creds = Credentials {
            username: "user".into(),
            password: Secret::new("pass:word".into()),
        };
        // base64("user:pass:word")
        assert_eq!(
            basic_header(&creds),
            "Authorization: Basic dXNlcjpwYXNzOndvcmQ="
        );
        let a = Authorizer::new("reg", Some(creds));
        assert!(!a.is_bearer());
        a.set(Auth::Bearer {
            realm: "https://a/t".into(),
            service: None,
            token: Some((
                Secret::new("tok".into()),
                Instant::now() + MIN_TOKEN_LIFETIME,
            )),
        });
        assert!(a.is_bearer());
        assert_eq!(
            a.cached_token().as_deref(),
            Some("Authorization: Bearer tok")
        );
        // another token was used: the cached one stays
        a.forget_token("Authorization: Bearer old");
        assert!(a.cached_token().is_some());
        a.forget_token("Authorization: Bearer tok");
        assert_eq!(a.cached_token(), None);
        // an expired token is not used
        a.set(Auth::Bearer {
            realm: "https://a/t".into(),
            service: None,
            token: Some((Secret::new("tok".into()), Instant::now())),
        });
        assert_eq!(a.cached_token(), None);
    }

    #[test]
    fn pull_scopes() {
        assert_eq!(
            pull_scope("library/busybox"),
            "repository:library/busybox:pull"
        );
    }
}
