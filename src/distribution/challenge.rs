//! `WWW-Authenticate` challenges (RFC 7235 section 4.1) and token URLs.
//!
//! iSulad (`registry_apiv2.c`) split challenge parameters on `,` and `=`
//! without quote handling and with case-sensitive, untrimmed keys, and
//! (`http_request.c`) sent token query parameters unencoded. This parser follows the RFC grammar instead:
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Schemes and parameter names are case-insensitive, quoted values may
//! contain `,`, `=` and `\`-escapes, and one header value may carry several
//! challenges.

use std::fmt;

/// A challenge this crate can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic [realm="..."]`: answer with `Authorization: Basic base64(user:pass)`.
    Basic {
        /// The protection space, informational only.
        realm: Option<String>,
    },
    /// `Bearer realm="...",service="...",scope="..."`: fetch a token from
    /// `realm` (see [`token_url`]) and send `Authorization: Bearer <token>`.
    Bearer {
        /// Token endpoint URL (required, non-empty).
        realm: String,
        /// The `service` to request a token for.
        service: Option<String>,
        /// The scope the server asks for (e.g. `repository:a/b:pull`).
        scope: Option<String>,
    },
}

impl Challenge {
    /// The scheme name in its canonical spelling (`Basic` or `Bearer`).
    pub fn scheme(&self) -> &'static str {
        match self {
            Challenge::Basic { .. } => "Basic",
            Challenge::Bearer { .. } => "Bearer",
        }
    }
}

/// Why one challenge could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeError {
    /// The header value holds no challenge at all.
    Empty,
    /// The value does not follow the RFC 7235 grammar.
    Syntax {
        /// Byte offset in the header value where parsing stopped.
        offset: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A scheme other than `Basic` or `Bearer` (e.g. `Negotiate`, `Digest`).
    UnsupportedScheme(String),
    /// A `Bearer` challenge without a (non-empty) `realm`.
    MissingRealm,
    /// [`parse_challenge`] was given a value carrying more than one challenge.
    Multiple(usize),
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeError::Empty => f.write_str("empty WWW-Authenticate challenge"),
            ChallengeError::Syntax { offset, reason } => write!(
                f,
                "malformed WWW-Authenticate challenge at byte {offset}: {reason}"
            ),
            ChallengeError::UnsupportedScheme(s) => write!(
                f,
                "unsupported authentication scheme {s:?} (only Basic and Bearer are supported)"
            ),
            ChallengeError::MissingRealm => {
                f.write_str("Bearer challenge without a realm (token server URL)")
            }
            ChallengeError::Multiple(n) => write!(
                f,
                "WWW-Authenticate value carries {n} challenges where one was expected"
            ),
        }
    }
}

impl std::error::Error for ChallengeError {}

/// Parses all `WWW-Authenticate` header values of a response and returns
/// the usable challenges in order. Challenges with unknown schemes or
/// malformed syntax are skipped (see [`parse_header_value`] for the reasons).
pub fn parse_challenges(header_values: &[&str]) -> Vec<Challenge> {
    header_values
        .iter()
        .flat_map(|v| parse_header_value(v))
        .filter_map(Result::ok)
        .collect()
}

/// Parses a header value that must carry exactly one challenge.
pub fn parse_challenge(value: &str) -> Result<Challenge, ChallengeError> {
    let mut all = parse_header_value(value);
    match all.len() {
        0 => Err(ChallengeError::Empty),
        1 => all.remove(0),
        n => Err(ChallengeError::Multiple(n)),
    }
}

/// Parses one header value into its challenges, one result per challenge.
///
/// A syntax error ends the value (its result is the last one), since the
/// rest cannot be attributed reliably.
pub fn parse_header_value(value: &str) -> Vec<Result<Challenge, ChallengeError>> {
    let mut p = Parser {
        s: value.as_bytes(),
        src: value,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            break;
        }
        match p.raw_challenge() {
            Ok(raw) => out.push(raw.into_challenge()),
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

/// A challenge before scheme-specific checks.
struct RawChallenge<'a> {
    scheme: &'a str,
    /// Parameters with lowercased names, in order of appearance.
    params: Vec<(String, String)>,
}

impl RawChallenge<'_> {
    /// The first value of a parameter (RFC 7235: names occur once).
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn into_challenge(self) -> Result<Challenge, ChallengeError> {
        if self.scheme.eq_ignore_ascii_case("basic") {
            Ok(Challenge::Basic {
                realm: self.param("realm").map(str::to_string),
            })
        } else if self.scheme.eq_ignore_ascii_case("bearer") {
            let realm = self
                .param("realm")
                .filter(|r| !r.is_empty())
                .ok_or(ChallengeError::MissingRealm)?;
            Ok(Challenge::Bearer {
                realm: realm.to_string(),
                service: self.param("service").map(str::to_string),
                scope: self.param("scope").map(str::to_string),
            })
        } else {
            Err(ChallengeError::UnsupportedScheme(self.scheme.to_string()))
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7235 `token68` characters (before the trailing `=` padding).
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// Whitespace between elements. Besides SP and HTAB, CR and LF are skipped
/// so raw header lines (with their `\r\n`) can be passed in.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// Skips whitespace and (empty) list elements: `, ,`.
    fn skip_list_separators(&mut self) {
        while self.peek().is_some_and(|b| is_ws(b) || b == b',') {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// An unquoted parameter value. RFC 7235 allows only a `token`, but
    /// servers send bare URLs (`realm=https://host/token`), so everything up
    /// to whitespace, `,` or `"` is taken.
    fn bare_value(&mut self) -> &'a str {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !is_ws(b) && b != b',' && b != b'"')
        {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn syntax(&self, reason: &'static str) -> ChallengeError {
        ChallengeError::Syntax {
            offset: self.pos,
            reason,
        }
    }

    /// `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`; stops before the
    /// comma that separates it from the next challenge.
    fn raw_challenge(&mut self) -> Result<RawChallenge<'a>, ChallengeError> {
        let scheme = self.token();
        if scheme.is_empty() {
            return Err(self.syntax("expected an authentication scheme"));
        }
        let mut params = Vec::new();
        if !self.peek().is_some_and(is_ws) {
            return match self.peek() {
                None | Some(b',') => Ok(RawChallenge { scheme, params }),
                Some(_) => Err(self.syntax("expected a space after the scheme")),
            };
        }
        self.skip_ws();
        if self.skip_token68() {
            return Ok(RawChallenge { scheme, params });
        }
        loop {
            // Look ahead: `token BWS "="` starts a parameter; anything else
            // (a bare token) is the scheme of the next challenge.
            let save = self.pos;
            self.skip_list_separators();
            let key = self.token();
            self.skip_ws();
            if key.is_empty() || self.peek() != Some(b'=') {
                self.pos = save;
                break;
            }
            self.pos += 1; // '='
            self.skip_ws();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()?
            } else {
                self.bare_value().to_string()
            };
            params.push((key.to_ascii_lowercase(), value));
            // After a parameter only whitespace, a comma or the end may follow.
            self.skip_ws();
            match self.peek() {
                None | Some(b',') => {}
                // Tolerate a missing comma between parameters or challenges
                // as long as a token follows; the look-ahead sorts it out.
                Some(b) if is_tchar(b) => {}
                Some(_) => return Err(self.syntax("expected ',' after a parameter")),
            }
        }
        let rest = self.peek();
        if rest.is_some_and(|b| b != b',' && !is_tchar(b)) {
            return Err(self.syntax("expected a parameter or ','"));
        }
        Ok(RawChallenge { scheme, params })
    }

    /// Consumes a `token68` (e.g. `Negotiate YIIG...==`) when it is the whole
    /// challenge body, i.e. it is followed by the end or a comma.
    fn skip_token68(&mut self) -> bool {
        let start = self.pos;
        let mut i = start;
        while self.s.get(i).copied().is_some_and(is_token68_char) {
            i += 1;
        }
        if i == start {
            return false;
        }
        while self.s.get(i) == Some(&b'=') {
            i += 1;
        }
        let mut j = i;
        while self.s.get(j).copied().is_some_and(is_ws) {
            j += 1;
        }
        if matches!(self.s.get(j), None | Some(b',')) {
            self.pos = j;
            true
        } else {
            false
        }
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE`, unescaped.
    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let open = self.pos;
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    self.pos = open;
                    return Err(self.syntax("unterminated quoted string"));
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) => {
                            out.push(b);
                            self.pos += 1;
                        }
                        None => {
                            self.pos = open;
                            return Err(self.syntax("unterminated quoted string"));
                        }
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        // Only ASCII bytes were split off, so this is valid UTF-8.
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Builds the token request URL
/// `<realm>?service=<service>&scope=<scope>&account=<account>`, each
/// parameter present only when given, values percent-encoded (RFC 3986
/// unreserved characters kept, every other byte as `%XX`). A realm that
/// already carries a query gets `&` instead of `?`.
pub fn token_url(
    realm: &str,
    service: Option<&str>,
    scope: Option<&str>,
    account: Option<&str>,
) -> String {
    let mut url = realm.to_string();
    let params = [("service", service), ("scope", scope), ("account", account)];
    for (key, value) in params {
        let Some(value) = value else { continue };
        if !url.ends_with(['?', '&']) {
            url.push(if url.contains('?') { '&' } else { '?' });
        }
        url.push_str(key);
        url.push('=');
        percent_encode_into(&mut url, value);
    }
    url
}

/// Percent-encodes a query value: `A-Z a-z 0-9 - . _ ~` are kept.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    percent_encode_into(&mut out, value);
    out
}

fn percent_encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.into(),
            service: service.map(Into::into),
            scope: scope.map(Into::into),
        }
    }

    #[test]
    fn quay_space_in_value() {
        let c =
            parse_challenge(r#"Bearer realm="https://auth.quay.io",service="quay.io registry""#);
        assert_eq!(
            c.unwrap(),
            bearer("https://auth.quay.io", Some("quay.io registry"), None)
        );
    }

    #[test]
    fn distribution_comma_in_scope() {
        let v = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#;
        assert_eq!(
            parse_challenge(v).unwrap(),
            bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:samalba/my-app:pull,push")
            )
        );
    }

    #[test]
    fn realm_with_equals_and_comma() {
        let v = r#"Bearer realm="https://a/t?x=1,y",service=reg"#;
        assert_eq!(
            parse_challenge(v).unwrap(),
            bearer("https://a/t?x=1,y", Some("reg"), None)
        );
    }

    #[test]
    fn escapes_in_quoted_string() {
        let v = r#"Bearer realm="https://a/\"t\\", scope="x""#;
        assert_eq!(
            parse_challenge(v).unwrap(),
            bearer(r#"https://a/"t\"#, None, Some("x"))
        );
    }

    #[test]
    fn spaces_around_separators_and_case() {
        let v = "  BEARER   Realm = \"https://r/token\" ,  SERVICE= svc ,scope =\"s\"  \r\n";
        assert_eq!(
            parse_challenge(v).unwrap(),
            bearer("https://r/token", Some("svc"), Some("s"))
        );
        assert_eq!(
            parse_challenge("bearer realm=https://r/t").unwrap(),
            bearer("https://r/t", None, None)
        );
    }

    #[test]
    fn basic() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic {
                realm: Some("Registry Realm".into())
            }
        );
        assert_eq!(
            parse_challenge("basic").unwrap(),
            Challenge::Basic { realm: None }
        );
        assert_eq!(parse_challenge("Basic").unwrap().scheme(), "Basic");
    }

    #[test]
    fn two_challenges_in_one_value() {
        let v = r#"Basic realm="x", Bearer realm="y",service="z""#;
        assert_eq!(
            parse_challenges(&[v]),
            vec![
                Challenge::Basic {
                    realm: Some("x".into())
                },
                bearer("y", Some("z"), None),
            ]
        );
        assert_eq!(parse_challenge(v), Err(ChallengeError::Multiple(2)));
        // Without parameters before the next challenge.
        assert_eq!(
            parse_challenges(&["Basic, Bearer realm=y"]),
            vec![Challenge::Basic { realm: None }, bearer("y", None, None)]
        );
    }

    #[test]
    fn unknown_scheme_is_skipped() {
        assert_eq!(
            parse_challenge(r#"Digest realm="x", nonce="abc", qop="auth""#),
            Err(ChallengeError::UnsupportedScheme("Digest".into()))
        );
        assert_eq!(
            parse_challenge("Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag=="),
            Err(ChallengeError::UnsupportedScheme("Negotiate".into()))
        );
        let values = [
            "Negotiate abc==, Bearer realm=\"r\"",
            r#"Digest realm="d", nonce="n""#,
            r#"Basic realm="b""#,
        ];
        assert_eq!(
            parse_challenges(&values),
            vec![
                bearer("r", None, None),
                Challenge::Basic {
                    realm: Some("b".into())
                }
            ]
        );
        let e = ChallengeError::UnsupportedScheme("Digest".into());
        assert!(e.to_string().contains("Digest"));
    }

    #[test]
    fn bearer_needs_realm() {
        assert_eq!(
            parse_challenge(r#"Bearer service="s""#),
            Err(ChallengeError::MissingRealm)
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="""#),
            Err(ChallengeError::MissingRealm)
        );
        assert_eq!(parse_challenge("Bearer"), Err(ChallengeError::MissingRealm));
        assert!(parse_challenges(&["Bearer service=s"]).is_empty());
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(parse_challenge(""), Err(ChallengeError::Empty));
        assert_eq!(parse_challenge(" , "), Err(ChallengeError::Empty));
        assert!(matches!(
            parse_challenge(r#"Bearer realm="unterminated"#),
            Err(ChallengeError::Syntax { offset: 13, .. })
        ));
        assert!(matches!(
            parse_challenge(r#"Bearer realm="x" ;"#),
            Err(ChallengeError::Syntax { .. })
        ));
        assert!(matches!(
            parse_challenge("=realm"),
            Err(ChallengeError::Syntax { .. })
        ));
        // A later broken challenge does not spoil an earlier good one.
        let v = r#"Bearer realm="r", Basic realm="oops"#;
        let all = parse_header_value(v);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], Ok(bearer("r", None, None)));
        assert!(matches!(all[1], Err(ChallengeError::Syntax { .. })));
        assert_eq!(parse_challenges(&[v]), vec![bearer("r", None, None)]);
    }

    #[test]
    fn duplicate_params_first_wins() {
        assert_eq!(
            parse_challenge(r#"Bearer realm="a", realm="b""#).unwrap(),
            bearer("a", None, None)
        );
    }

    #[test]
    fn token_url_encoding() {
        assert_eq!(
            token_url(
                "https://auth.quay.io",
                Some("quay.io registry"),
                Some("repository:a/b:pull"),
                None
            ),
            "https://auth.quay.io?service=quay.io%20registry&scope=repository%3Aa%2Fb%3Apull"
        );
        assert_eq!(
            token_url(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:samalba/my-app:pull,push"),
                Some("me@example.com")
            ),
            "https://auth.docker.io/token?service=registry.docker.io\
             &scope=repository%3Asamalba%2Fmy-app%3Apull%2Cpush&account=me%40example.com"
        );
        assert_eq!(token_url("https://r/t", None, None, None), "https://r/t");
        assert_eq!(
            token_url("https://a/t?x=1,y", Some("s"), None, Some("u")),
            "https://a/t?x=1,y&service=s&account=u"
        );
        assert_eq!(
            token_url("https://a/t?", None, Some("a b"), None),
            "https://a/t?scope=a%20b"
        );
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("é+&="), "%C3%A9%2B%26%3D");
    }
}
