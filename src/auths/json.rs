//! Reading and writing auths.json (the format of iSulad's `auths.c`:
//! `{"auths": {"<host>": {"auth": "<value>"}}}`).
//!
//! Reading accepts any JSON object whose `auths` member maps host names to
//! objects with a string `auth`; unknown members are ignored (and, as in
//! iSulad, dropped on the next write). Writing reproduces libisula's yajl
//! generator byte for byte, including its `"auths":{}` empty-map quirk.

use std::path::Path;

use serde_json::Value;

use super::AuthsError;

/// Ordered `(host, auth)` entries, in file order.
pub(crate) type Entries = Vec<(String, String)>;

/// Parse the contents of the auths file at `path` (used in messages).
/// A missing or `null` `auths` member is an empty list.
pub(crate) fn parse(path: &Path, data: &[u8]) -> Result<Entries, AuthsError> {
    let layout = |reason: String| AuthsError::InvalidLayout {
        path: path.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_slice(data).map_err(|e| AuthsError::InvalidJson {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let Value::Object(top) = value else {
        return Err(layout("the top level is not a JSON object".to_string()));
    };
    let auths = match top.get("auths") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(layout("\"auths\" is not a JSON object".to_string())),
    };
    let mut entries = Vec::with_capacity(auths.len());
    for (host, entry) in auths {
        let Value::Object(entry) = entry else {
            return Err(layout(format!(
                "the entry for host {host:?} is not a JSON object"
            )));
        };
        let Some(Value::String(auth)) = entry.get("auth") else {
            return Err(layout(format!(
                "the entry for host {host:?} has no string member \"auth\""
            )));
        };
        entries.push((host.clone(), auth.clone()));
    }
    Ok(entries)
}

/// Append `s` as a JSON string the way yajl does: `"` `\` and the control
/// characters `\b \f \n \r \t` get short escapes, other characters below
/// 0x20 become `\u00XX` (uppercase hex), `/` and non-ASCII are kept as is.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0x0f]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Render the file exactly as libisula's generator does (4-space indent,
/// `"key": value`, trailing newline, `"auths":{}` when empty).
pub(crate) fn render(entries: &[(String, String)]) -> String {
    let mut out = String::from("{\n    \"auths\":");
    if entries.is_empty() {
        out.push_str("{}");
    } else {
        out.push_str(" {\n");
        for (i, (host, auth)) in entries.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str("        ");
            push_json_string(&mut out, host);
            out.push_str(": {\n            \"auth\": ");
            push_json_string(&mut out, auth);
            out.push_str("\n        }");
        }
        out.push_str("\n    }");
    }
    out.push_str("\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/x/auths.json")
    }

    #[test]
    fn auths_render_empty_and_one_and_two() {
        assert_eq!(render(&[]), "{\n    \"auths\":{}\n}\n");
        let one = vec![("myreg:5000".to_string(), "QUJD".to_string())];
        assert_eq!(
            render(&one),
            "{\n    \"auths\": {\n        \"myreg:5000\": {\n            \"auth\": \"QUJD\"\n        }\n    }\n}\n"
        );
        let two = vec![
            ("b.io".to_string(), "eA==".to_string()),
            ("a.io".to_string(), "a/b+".to_string()),
        ];
        assert_eq!(
            render(&two),
            "{\n    \"auths\": {\n        \"b.io\": {\n            \"auth\": \"eA==\"\n        },\n        \"a.io\": {\n            \"auth\": \"a/b+\"\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn auths_render_escapes_like_yajl() {
        let e = vec![("a\"b\\c/d\u{1}\u{1f}\n\té".to_string(), "x".to_string())];
        let text = render(&e);
        assert!(
            text.contains(r#""a\"b\\c/d\u0001\u001F\n\té": {"#),
            "{text}"
        );
        // And it reads back.
        assert_eq!(parse(p(), text.as_bytes()).unwrap(), e);
    }

    #[test]
    fn auths_parse_keeps_order_and_ignores_unknown_members() {
        let text =
            br#"{"other": 1, "auths": {"z": {"auth": "1", "email": "x"}, "a": {"auth": "2"}}}"#;
        assert_eq!(
            parse(p(), text).unwrap(),
            vec![
                ("z".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string())
            ]
        );
        assert!(parse(p(), b"{}").unwrap().is_empty());
        assert!(parse(p(), b"{\"auths\":{}}").unwrap().is_empty());
    }

    #[test]
    fn auths_parse_errors_name_the_file() {
        for bad in [
            &b"{"[..],
            b"",
            b"[]",
            b"{\"auths\": []}",
            b"{\"auths\": {\"h\": \"x\"}}",
            b"{\"auths\": {\"h\": {}}}",
            b"{\"auths\": {\"h\": {\"auth\": 1}}}",
        ] {
            let err = parse(p(), bad).unwrap_err().to_string();
            assert!(err.contains("/x/auths.json"), "{err}");
            assert!(err.contains("fix or remove it"), "{err}");
        }
    }
}
