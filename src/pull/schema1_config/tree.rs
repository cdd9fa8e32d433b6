//! A JSON tree read the way iSulad's parser (yajl's tree API) reads it:
//! object members keep their order and their duplicates (a lookup takes
//! the first), numbers keep their text, and a string ends at its first NUL
//! once it is taken out (iSulad copies strings with `strdup`).

use crate::error::Error;

/// Deeper documents than this are refused rather than risk the stack.
const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// The number as written, checked against the JSON grammar.
    Number(String),
    Str(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The first member named `key`, if this is an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, cut at its first NUL; `None` for any other type.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(until_nul(s)),
            _ => None,
        }
    }
}

fn until_nul(s: &str) -> &str {
    s.split('\0').next().unwrap_or_default()
}

fn malformed(what: &str, at: usize) -> Error {
    Error::Malformed(format!(
        "schema1 v1Compatibility is not valid JSON ({what} at byte {at}); iSulad refuses \
         this image as well (push it again as a schema2 image)"
    ))
}

/// Parses one JSON document; nothing but whitespace may follow it.
pub fn parse(text: &str) -> Result<Node, Error> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(malformed("trailing data", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    /// Skips whitespace, which for yajl includes form feeds, vertical
    /// tabs and comments (`/* */`, `//` to the end of the line).
    fn ws(&mut self) {
        loop {
            while matches!(
                self.s.get(self.i),
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
            ) {
                self.i += 1;
            }
            let rest = &self.s[self.i..];
            if rest.starts_with(b"/*") {
                match rest[2..].windows(2).position(|w| w == b"*/") {
                    Some(end) => self.i += end + 4,
                    None => return,
                }
            } else if rest.starts_with(b"//") {
                match rest.iter().position(|&c| c == b'\n') {
                    Some(end) => self.i += end + 1,
                    None => self.i = self.s.len(),
                }
            } else {
                return;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn literal(&mut self, word: &str, v: Node) -> Result<Node, Error> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(malformed("unexpected character", self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, Error> {
        if depth > MAX_DEPTH {
            return Err(malformed("nesting too deep", self.i));
        }
        self.ws();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Node::Str(self.string()?)),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(malformed("unexpected character", self.i)),
            None => Err(malformed("unexpected end", self.i)),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, Error> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(malformed("expected a member name", self.i));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(malformed("expected ':'", self.i));
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            members.push((until_nul(&key).to_string(), v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Node::Object(members));
                }
                _ => return Err(malformed("expected ',' or '}'", self.i)),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, Error> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(malformed("expected ',' or ']'", self.i)),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Node, Error> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(malformed("bad number", self.i)),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(malformed("bad number", self.i));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(malformed("bad number", self.i));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII digits");
        Ok(Node::Number(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| malformed("bad \\u escape", self.i))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while !matches!(self.peek(), None | Some(b'"' | b'\\' | 0..=0x1f)) {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).expect("slice of a str"));
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self
                        .peek()
                        .ok_or_else(|| malformed("unexpected end", self.i))?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(malformed("bad escape", self.i - 1)),
                    }
                }
                Some(_) => return Err(malformed("control character in a string", self.i)),
                None => return Err(malformed("unterminated string", self.i)),
            }
        }
    }

    /// A `\uXXXX` escape (the `\u` already read) as yajl decodes it: a
    /// high surrogate takes the next `\uXXXX` as its partner, and one that
    /// has none becomes `?`. A lone low surrogate would give bytes that
    /// are not UTF-8, which iSulad then fails to write: refused here.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let at = self.i;
        let cp = self.hex4()?;
        let cp = if cp & 0xFC00 == 0xD800 {
            if self.s[self.i..].starts_with(b"\\u") {
                self.i += 2;
                let low = self.hex4()?;
                (((cp & 0x3F) << 10) | ((((cp >> 6) & 0xF) + 1) << 16)) | (low & 0x3FF)
            } else {
                return Ok('?');
            }
        } else {
            cp
        };
        char::from_u32(cp).ok_or_else(|| malformed("\\u escape that is no character", at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_kept_first_wins() {
        let v = parse(r#"{"a":1,"a":"x","b":[true,null]}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Node::Number("1".into())));
        match &v {
            Node::Object(m) => assert_eq!(m.len(), 3),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn strings_decode_like_yajl() {
        let v = parse(r#""a\u0000b\ud83d\ude00\u00e9\/""#).unwrap();
        assert_eq!(v, Node::Str("a\0b\u{1F600}\u{e9}/".into()));
        assert_eq!(v.as_str(), Some("a"));
        assert_eq!(parse(r#""x\ud800y""#).unwrap(), Node::Str("x?y".into()));
        assert!(parse(r#""\udc00""#).is_err());
    }

    #[test]
    fn bad_json_is_refused() {
        for bad in [
            "", "{", "[1,]", "01", "1.", "{\"a\"}", "\"\n\"", "{} x", "tru",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(" -0.5e+3 ").unwrap(), Node::Number("-0.5e+3".into()));
        let commented = "/* a */ {\"a\" // b\n :\x0b1\x0c}";
        assert_eq!(
            parse(commented).unwrap().get("a"),
            Some(&Node::Number("1".into()))
        );
        assert!(parse("{} /* open").is_err());
    }
}
