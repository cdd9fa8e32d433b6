//! Text that came from a server, made fit for a message, a log line or a
//! terminal: no control characters (an escape sequence could rewrite the
//! user's screen, a newline could forge a log line) and a bounded length.

#![forbid(unsafe_code)]

/// `s` with every control character (C0, DEL, C1) replaced by a space,
/// runs of whitespace folded, trimmed, and cut to `max` characters (an
/// ellipsis marks a cut).
pub fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max + 3));
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if count >= max {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// [`clean`] of bytes that may not be UTF-8.
pub fn clean_bytes(b: &[u8], max: usize) -> String {
    // never decode more than could be shown
    let head = &b[..b.len().min(max.saturating_mul(4).saturating_add(16))];
    clean(&String::from_utf8_lossy(head), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_length() {
        assert_eq!(clean("a\x1b[2Jb\r\nc\u{9b}d\x07", 100), "a [2Jb c d");
        assert_eq!(clean("  x  ", 100), "x");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean_bytes(b"\xffok\n", 10), "\u{fffd}ok");
    }
}
