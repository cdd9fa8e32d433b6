//! JSON from a server, parsed with a depth limit: no document the library
//! reads (manifest, index, config, token, error, search answer) may nest
//! deeper than [`MAX_DEPTH`], whichever field the nesting is in.

use serde::de::DeserializeOwned;

/// Deepest nesting of arrays and objects accepted (real documents: < 10).
pub const MAX_DEPTH: usize = 64;

/// Whether `bytes` nests arrays and objects at most `max` deep (strings,
/// escapes included, are skipped).
pub fn depth_within(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// `serde_json::from_slice` after the depth check; the error as text.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if !depth_within(bytes, MAX_DEPTH) {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    // serde quotes offending strings whole: cut them
    serde_json::from_slice(bytes).map_err(|e| crate::text::clean(&e.to_string(), 300))
}

/// [`from_slice`] of a string.
pub fn from_str<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    from_slice(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        assert!(depth_within(br#"{"a":[1,{"b":"[[[["}]}"#, 3));
        assert!(!depth_within(br#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(depth_within(br#"{"a":"\"[[[["}"#, 1));
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(
            from_slice::<serde_json::Value>(deep.as_bytes())
                .unwrap_err()
                .contains("deeper than 64")
        );
    }
}
