//! A JSON writer that puts out the bytes yajl's generator puts out with
//! `beautify` on (4-space indent, `": "` between name and value), including
//! what happens while a caller switches `beautify` off for a moment, as
//! iSulad's generated code does around every empty map or array.

#[derive(Clone, Copy, PartialEq)]
enum State {
    Start,
    MapStart,
    /// Inside a map, a name comes next after a `,`.
    MapKey,
    /// Inside a map, the value of the name just written comes next.
    MapVal,
    ArrayStart,
    InArray,
    Complete,
}

pub struct Gen {
    out: Vec<u8>,
    state: Vec<State>,
    pub beautify: bool,
}

impl Gen {
    pub fn new() -> Gen {
        Gen {
            out: Vec::new(),
            state: vec![State::Start],
            beautify: true,
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn top(&mut self) -> &mut State {
        self.state
            .last_mut()
            .expect("the generator always has a state")
    }

    fn depth(&self) -> usize {
        self.state.len() - 1
    }

    fn separator(&mut self) {
        match *self.top() {
            State::MapKey | State::InArray => {
                self.out.push(b',');
                if self.beautify {
                    self.out.push(b'\n');
                }
            }
            State::MapVal => {
                self.out.push(b':');
                if self.beautify {
                    self.out.push(b' ');
                }
            }
            _ => {}
        }
    }

    fn indent(&mut self) {
        if self.beautify && *self.top() != State::MapVal {
            for _ in 0..self.depth() {
                self.out.extend_from_slice(b"    ");
            }
        }
    }

    fn appended(&mut self) {
        let s = self.top();
        *s = match *s {
            State::Start => State::Complete,
            State::MapStart | State::MapKey => State::MapVal,
            State::ArrayStart => State::InArray,
            State::MapVal => State::MapKey,
            other => other,
        };
    }

    fn final_newline(&mut self) {
        if self.beautify && *self.top() == State::Complete {
            self.out.push(b'\n');
        }
    }

    fn open(&mut self, c: u8, state: State) {
        self.separator();
        self.indent();
        self.state.push(state);
        self.out.push(c);
        if self.beautify {
            self.out.push(b'\n');
        }
        self.final_newline();
    }

    fn close(&mut self, c: u8) {
        self.state.pop();
        if self.beautify {
            self.out.push(b'\n');
        }
        self.appended();
        self.indent();
        self.out.push(c);
        self.final_newline();
    }

    pub fn map_open(&mut self) {
        self.open(b'{', State::MapStart);
    }

    pub fn map_close(&mut self) {
        self.close(b'}');
    }

    pub fn array_open(&mut self) {
        self.open(b'[', State::ArrayStart);
    }

    pub fn array_close(&mut self) {
        self.close(b']');
    }

    fn atom(&mut self, bytes: &[u8]) {
        self.separator();
        self.indent();
        self.out.extend_from_slice(bytes);
        self.appended();
        self.final_newline();
    }

    pub fn bool(&mut self, b: bool) {
        self.atom(if b { b"true" } else { b"false" });
    }

    pub fn int(&mut self, n: i64) {
        self.atom(n.to_string().as_bytes());
    }

    /// A string escaped as yajl escapes it: `/` and non-ASCII stay as
    /// they are, other control characters become `\u00XX`.
    pub fn string(&mut self, s: &str) {
        let mut b = Vec::with_capacity(s.len() + 2);
        b.push(b'"');
        for &c in s.as_bytes() {
            match c {
                b'\r' => b.extend_from_slice(b"\\r"),
                b'\n' => b.extend_from_slice(b"\\n"),
                b'\\' => b.extend_from_slice(b"\\\\"),
                b'"' => b.extend_from_slice(b"\\\""),
                0x0c => b.extend_from_slice(b"\\f"),
                0x08 => b.extend_from_slice(b"\\b"),
                b'\t' => b.extend_from_slice(b"\\t"),
                c if c < 0x20 => {
                    b.extend_from_slice(format!("\\u00{c:02X}").as_bytes());
                }
                c => b.push(c),
            }
        }
        b.push(b'"');
        self.atom(&b);
    }

    /// A name and its string value.
    pub fn pair(&mut self, key: &str, value: &str) {
        self.string(key);
        self.string(value);
    }

    /// An array of strings; written compact (`[]`) when it is empty.
    pub fn strings(&mut self, items: &[&str]) {
        self.quiet_if(items.is_empty(), |g| {
            g.array_open();
            for s in items {
                g.string(s);
            }
            g.array_close();
        });
    }

    /// Runs `f` with `beautify` off when `quiet`, as iSulad's code does
    /// for empty maps and arrays.
    pub fn quiet_if(&mut self, quiet: bool, f: impl FnOnce(&mut Gen)) {
        if quiet {
            self.beautify = false;
        }
        f(self);
        if quiet {
            self.beautify = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beautified_with_compact_empties() {
        let mut g = Gen::new();
        g.map_open();
        g.pair("a", "x/\u{1}\u{e9}\"");
        g.string("e");
        g.quiet_if(true, |g| {
            g.map_open();
            g.map_close();
        });
        g.string("l");
        g.strings(&["1", "2"]);
        g.string("n");
        g.int(-3);
        g.map_close();
        let want = "{\n    \"a\": \"x/\\u0001\u{e9}\\\"\",\n    \"e\":{},\n    \"l\": [\n        \"1\",\n        \"2\"\n    ],\n    \"n\": -3\n}\n";
        assert_eq!(String::from_utf8(g.finish()).unwrap(), want);
    }
}
