//! Image references and platforms, as a user or a list entry gives them.
#![no_main]

use isula_registry::distribution::reference::{self, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = reference::split_image_name(s) {
        // what a pull shows of a reference parses back to it
        let again = reference::split_image_name(&r.to_string());
        assert_eq!(again.as_ref(), Ok(&r), "{s:?} shown as {r}");
    }
    let _ = reference::valid_image_name(s);
    let _ = reference::valid_digest(s);
    let _ = reference::normalize_image_name(s);
    let _ = reference::with_default_tag(s);
    let _ = reference::image_host(s);
    let _ = reference::transform_host(s);
    if let Ok(p) = Platform::parse(s) {
        assert_eq!(Platform::parse(&p.to_string()).as_ref(), Ok(&p), "{s:?}");
    }
});
