//! The image config of a schema1 image, byte for byte as iSulad writes it,
//! so that the image id (the config's sha256) is the one iSulad gives.
//!
//! iSulad reads the top layer's v1Compatibility into its Docker config
//! type, which keeps only the members that type knows (unknown ones, such
//! as `throwaway` or `OnBuild`, are dropped), keeps a string only when it
//! is a string, a boolean only when it is `true`, an array only when it is
//! not empty, and refuses numbers that are not integers of the type's
//! size. It drops `id`, `parent` and `Size`, adds `rootfs` and a `history`
//! entry per layer, and writes it all with yajl (4-space indent, fields in
//! the type's order, empty maps and arrays compact).

mod tree;
mod writer;

use crate::distribution::manifest::Schema1Layer;
use crate::error::Error;
use tree::Node;
use writer::Gen;

/// What a member of one of iSulad's config types holds.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    /// A string written only when it is not empty (`rawJSON`).
    NonEmptyStr,
    Bool,
    Strings,
    /// A map whose values are all written as `{}` (ports, volumes).
    Set,
    /// A map of strings to strings (labels, annotations).
    StrMap,
    Int64,
    Int32,
    Health,
    Config,
}

/// The members of a container config (`config`, `container_config`).
const CONFIG: &[(&str, Kind)] = &[
    ("Hostname", Kind::Str),
    ("Domainname", Kind::Str),
    ("User", Kind::Str),
    ("AttachStdin", Kind::Bool),
    ("AttachStdout", Kind::Bool),
    ("AttachStderr", Kind::Bool),
    ("ExposedPorts", Kind::Set),
    ("PublishService", Kind::Str),
    ("Tty", Kind::Bool),
    ("OpenStdin", Kind::Bool),
    ("StdinOnce", Kind::Bool),
    ("Env", Kind::Strings),
    ("Cmd", Kind::Strings),
    ("ArgsEscaped", Kind::Bool),
    ("Image", Kind::Str),
    ("ImageRef", Kind::Str),
    ("Volumes", Kind::Set),
    ("WorkingDir", Kind::Str),
    ("Entrypoint", Kind::Strings),
    ("NetworkDisabled", Kind::Bool),
    ("MacAddress", Kind::Str),
    // iSulad spells it so; Docker's `OnBuild` is therefore dropped
    ("Onbuild", Kind::Strings),
    ("Labels", Kind::StrMap),
    ("LogDriver", Kind::Str),
    ("Annotations", Kind::StrMap),
    ("StopSignal", Kind::Str),
    ("Healthcheck", Kind::Health),
    ("SystemContainer", Kind::Bool),
    ("NsChangeOpt", Kind::Str),
    ("Mounts", Kind::Strings),
];

const HEALTH: &[(&str, Kind)] = &[
    ("Test", Kind::Strings),
    ("Interval", Kind::Int64),
    ("Timeout", Kind::Int64),
    ("StartPeriod", Kind::Int64),
    ("Retries", Kind::Int32),
    ("ExitOnUnhealthy", Kind::Bool),
];

/// The image config members before `rootfs` (after `id` and `parent`,
/// which are not inherited; `Size` is checked but not inherited either).
const IMAGE_HEAD: &[(&str, Kind)] = &[
    ("comment", Kind::Str),
    ("created", Kind::Str),
    ("container", Kind::Str),
    ("container_config", Kind::Config),
    ("docker_version", Kind::Str),
    ("author", Kind::Str),
    ("config", Kind::Config),
    ("architecture", Kind::Str),
    ("os", Kind::Str),
    ("From", Kind::Str),
];

/// The image config members after `history`.
const IMAGE_TAIL: &[(&str, Kind)] = &[("rawJSON", Kind::NonEmptyStr), ("computedID", Kind::Str)];

fn refused(path: &str, what: &str) -> Error {
    Error::Malformed(format!(
        "schema1 v1Compatibility: {path} {what}; iSulad refuses this image as well \
         (push it again as a schema2 image)"
    ))
}

/// An integer as iSulad reads it: the number must be written as one.
fn integer(n: &Node, path: &str, bits32: bool) -> Result<i64, Error> {
    let Node::Number(text) = n else {
        return Ok(0);
    };
    let v: i64 = text
        .parse()
        .map_err(|_| refused(path, &format!("is {text}, not a 64-bit integer")))?;
    if bits32 && i32::try_from(v).is_err() {
        return Err(refused(path, &format!("is {text}, not a 32-bit integer")));
    }
    Ok(v)
}

/// Strings of an array, non-strings read as empty ones; `None` when the
/// member is absent, not an array or empty.
fn strings(n: Option<&Node>) -> Option<Vec<&str>> {
    match n {
        Some(Node::Array(items)) if !items.is_empty() => {
            Some(items.iter().map(|i| i.as_str().unwrap_or("")).collect())
        }
        _ => None,
    }
}

/// Writes the members of `obj` that `fields` lists, in that order.
fn members(g: &mut Gen, obj: &Node, fields: &[(&str, Kind)], at: &str) -> Result<(), Error> {
    for &(key, kind) in fields {
        let path = if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        };
        let Some(v) = obj.get(key) else {
            continue;
        };
        match kind {
            Kind::Str => {
                if let Some(s) = v.as_str() {
                    g.pair(key, s);
                }
            }
            Kind::NonEmptyStr => {
                if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                    g.pair(key, s);
                }
            }
            Kind::Bool => {
                if *v == Node::Bool(true) {
                    g.string(key);
                    g.bool(true);
                }
            }
            Kind::Strings => {
                if let Some(items) = strings(Some(v)) {
                    g.string(key);
                    g.strings(&items);
                }
            }
            Kind::Set => {
                if let Node::Object(entries) = v {
                    g.string(key);
                    g.quiet_if(entries.is_empty(), |g| {
                        g.map_open();
                        for (name, _) in entries {
                            g.string(name);
                            g.quiet_if(true, |g| {
                                g.map_open();
                                g.map_close();
                            });
                        }
                        g.map_close();
                    });
                }
            }
            Kind::StrMap => {
                if let Node::Object(entries) = v {
                    let mut pairs = Vec::with_capacity(entries.len());
                    for (name, value) in entries {
                        let s = value.as_str().ok_or_else(|| {
                            refused(&format!("{path}[{name:?}]"), "is not a string")
                        })?;
                        pairs.push((name.as_str(), s));
                    }
                    g.string(key);
                    g.quiet_if(pairs.is_empty(), |g| {
                        g.map_open();
                        for (name, s) in pairs {
                            g.pair(name, s);
                        }
                        g.map_close();
                    });
                }
            }
            Kind::Int64 | Kind::Int32 => {
                let n = integer(v, &path, matches!(kind, Kind::Int32))?;
                if n != 0 {
                    g.string(key);
                    g.int(n);
                }
            }
            Kind::Health | Kind::Config => {
                if matches!(v, Node::Object(_)) {
                    g.string(key);
                    g.map_open();
                    let fields = if matches!(kind, Kind::Health) {
                        HEALTH
                    } else {
                        CONFIG
                    };
                    members(g, v, fields, &path)?;
                    g.map_close();
                }
            }
        }
    }
    Ok(())
}

/// A layer's v1Compatibility; iSulad reads one that is not an object as
/// an object with no members, and so does this.
fn object(l: &Schema1Layer) -> Result<Node, Error> {
    tree::parse(&l.v1_compatibility)
}

/// One `history` entry: the layer's dates and notes, its command joined
/// by spaces, and whether it is empty.
fn history_entry(g: &mut Gen, l: &Schema1Layer) -> Result<(), Error> {
    let v1 = object(l)?;
    let created_by = match v1.get("container_config") {
        Some(cc @ Node::Object(_)) => strings(cc.get("Cmd")).map(|parts| parts.join(" ")),
        _ => None,
    };
    let text = |key: &str| v1.get(key).and_then(Node::as_str);
    g.map_open();
    for (key, value) in [
        ("created", text("created")),
        ("author", text("author")),
        ("created_by", created_by.as_deref()),
        ("comment", text("comment")),
    ] {
        if let Some(s) = value {
            g.pair(key, s);
        }
    }
    if l.empty {
        g.string("empty_layer");
        g.bool(true);
    }
    g.map_close();
    Ok(())
}

/// The config for `layers` (bottom first, as pulled) whose non-empty
/// layers have the uncompressed digests `diff_ids`.
pub fn synthesise(layers: &[Schema1Layer], diff_ids: &[String]) -> Result<Vec<u8>, Error> {
    let top = layers
        .last()
        .ok_or_else(|| Error::Malformed("schema1 manifest has no layers".to_string()))?;
    let top = object(top)?;
    if let Some(size) = top.get("Size") {
        integer(size, "Size", false)?;
    }
    let mut g = Gen::new();
    g.map_open();
    members(&mut g, &top, IMAGE_HEAD, "")?;
    g.string("rootfs");
    g.map_open();
    g.pair("type", "layers");
    if !diff_ids.is_empty() {
        g.string("diff_ids");
        let ids: Vec<&str> = diff_ids.iter().map(String::as_str).collect();
        g.strings(&ids);
    }
    g.map_close();
    g.string("history");
    g.array_open();
    for l in layers {
        history_entry(&mut g, l)?;
    }
    g.array_close();
    members(&mut g, &top, IMAGE_TAIL, "")?;
    g.map_close();
    Ok(g.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn layers_of(history_top_first: &[&str]) -> Vec<Schema1Layer> {
        history_top_first
            .iter()
            .rev()
            .map(|h| Schema1Layer {
                blob_sum: format!("sha256:{}", "a".repeat(64)),
                empty: tree::parse(h).is_ok_and(|v| v.get("throwaway") == Some(&Node::Bool(true))),
                v1_compatibility: h.to_string(),
            })
            .collect()
    }

    /// Cases whose expected bytes were produced by iSulad's generator
    /// (null: iSulad refuses the image).
    #[test]
    fn tricky_inputs_give_isulads_bytes() {
        let cases: Value = serde_json::from_str(include_str!(
            "../../../tests/data/schema1/config-cases.json"
        ))
        .unwrap();
        let cases = cases.as_array().unwrap();
        assert!(cases.len() >= 20);
        for c in cases {
            let name = c["name"].as_str().unwrap();
            let history: Vec<&str> = c["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap())
                .collect();
            let diff_ids: Vec<String> = serde_json::from_value(c["diff_ids"].clone()).unwrap();
            let got = synthesise(&layers_of(&history), &diff_ids);
            match c["expected"].as_str() {
                Some(want) => {
                    let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(String::from_utf8(got).unwrap(), want, "{name}");
                }
                None => {
                    let e = got.expect_err(name).to_string();
                    assert!(e.contains("iSulad refuses"), "{name}: {e}");
                }
            }
        }
    }
}
