//! `WWW-Authenticate` values (one per line of the input) and the token URL
//! a Bearer challenge leads to.
#![no_main]

use isula_registry::distribution::challenge::{self, Challenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = s.split('\n').collect();
    for c in challenge::parse_challenges(&lines) {
        let _ = c.scheme();
        if let Challenge::Bearer {
            realm,
            service,
            scope,
        } = &c
        {
            let _ = challenge::token_url(realm, service.as_deref(), scope.as_deref(), Some("u"));
        }
    }
    for line in &lines {
        let _ = challenge::parse_challenge(line);
        let _ = challenge::parse_header_value(line);
    }
    let _ = challenge::percent_encode(s);
});
