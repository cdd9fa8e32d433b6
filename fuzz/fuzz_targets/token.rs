//! A token server's answer, and any JSON document through the depth-limited
//! parser every server document goes through.
#![no_main]

use isula_registry::distribution::auth::{self, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};
use isula_registry::distribution::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_token, lifetime)) = auth::parse_token(data, "https://auth.example/token") {
        // whatever the server says, the lifetime is bounded
        assert!(
            (MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&lifetime),
            "{lifetime:?}"
        );
    }
    let within = json::depth_within(data, json::MAX_DEPTH);
    let parsed = json::from_slice::<serde_json::Value>(data);
    if !within {
        assert!(parsed.is_err(), "a document nested too deep was accepted");
    }
});
