//! The body sinks every caller of [`perform`](super::perform) uses: a
//! response copied into any writer (memory, a file, a C buffer wrapped as a
//! writer, nowhere), a small body kept in memory up to a cap, a file opened
//! for a fresh download or a resume, and the status gate that keeps error
//! pages out of the real sink.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::Sink;

/// Writes the body, and first the raw head when asked, into `out`
/// (`Vec<u8>` for memory, a `File`, `io::sink()` to discard).
pub struct Body<W: Write> {
    out: W,
    with_head: bool,
}

impl<W: Write> Body<W> {
    pub fn new(out: W, with_head: bool) -> Self {
        Body { out, with_head }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Sink for Body<W> {
    fn head(&mut self, _: u32, raw: &[u8]) -> io::Result<()> {
        if self.with_head {
            self.out.write_all(raw)?;
        }
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)
    }
}

/// A small body in memory; more than `CAP` bytes fail the transfer.
#[derive(Default)]
pub struct Capped<const CAP: usize>(pub Vec<u8>);

impl<const CAP: usize> Sink for Capped<CAP> {
    fn head(&mut self, _: u32, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        if self.0.len().saturating_add(data.len()) > CAP {
            return Err(io::Error::other(format!(
                "response larger than {CAP} bytes"
            )));
        }
        self.0.extend_from_slice(data);
        Ok(())
    }
}

/// Opens a download's output file with `mode`: truncated, or for a resume
/// appended to (created empty if missing). Returns the file and the offset
/// to ask for (`Range`), which is what the file already holds on a resume.
pub fn open_output(path: &Path, resume: bool, mode: u32) -> io::Result<(File, u64)> {
    let mut opts = OpenOptions::new();
    opts.create(true).mode(mode);
    if resume {
        opts.append(true);
    } else {
        opts.write(true).truncate(true);
    }
    let file = opts.open(path)?;
    let from = if resume { file.metadata()?.len() } else { 0 };
    Ok((file, from))
}

/// Where a request's response body goes, with its status decided first:
/// a 2xx body goes to `inner`, anything else is kept (at most `cap` bytes)
/// as `error_body`, so an error page never lands in a layer file.
pub struct Gate<'a> {
    inner: &'a mut dyn Sink,
    /// Shared with the progress callback: only a 2xx body is progress.
    ok: &'a Cell<bool>,
    cap: usize,
    pub error_body: Vec<u8>,
}

impl<'a> Gate<'a> {
    pub fn new(inner: &'a mut dyn Sink, ok: &'a Cell<bool>, cap: usize) -> Self {
        Gate {
            inner,
            ok,
            cap,
            error_body: Vec::new(),
        }
    }
}

impl Sink for Gate<'_> {
    fn head(&mut self, status: u32, raw: &[u8]) -> io::Result<()> {
        self.ok.set((200..300).contains(&status));
        if self.ok.get() {
            self.inner.head(status, raw)
        } else {
            Ok(())
        }
    }
    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        if self.ok.get() {
            self.inner.body(data)
        } else {
            let room = self.cap.saturating_sub(self.error_body.len());
            self.error_body
                .extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room {
                // the start of an error page is all that is shown
                return Err(super::enough());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keeps_the_head_only_when_asked() {
        let mut with = Body::new(Vec::new(), true);
        let mut without = Body::new(Vec::new(), false);
        for s in [&mut with as &mut dyn Sink, &mut without] {
            s.head(200, b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
            s.body(b"ab").unwrap();
            s.body(b"c").unwrap();
        }
        assert_eq!(with.into_inner(), b"HTTP/1.1 200 OK\r\n\r\nabc");
        assert_eq!(without.into_inner(), b"abc");
    }

    #[test]
    fn capped_refuses_the_byte_past_its_cap() {
        let mut s = Capped::<4>::default();
        s.body(b"abcd").unwrap();
        let e = s.body(b"e").unwrap_err();
        assert_eq!(e.to_string(), "response larger than 4 bytes");
        assert_eq!(s.0, b"abcd");
    }

    #[test]
    fn output_files_truncate_or_resume() {
        let dir = std::env::temp_dir().join(format!("sink-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        std::fs::write(&path, b"12345").unwrap();
        let (mut f, from) = open_output(&path, true, 0o640).unwrap();
        assert_eq!(from, 5);
        f.write_all(b"67").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"1234567");
        let (mut f, from) = open_output(&path, false, 0o640).unwrap();
        assert_eq!(from, 0);
        f.write_all(b"x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        let (_, from) = open_output(&dir.join("new"), true, 0o640).unwrap();
        assert_eq!(from, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gate_passes_2xx_and_keeps_the_start_of_an_error_page() {
        let ok = Cell::new(false);
        let mut inner = Body::new(Vec::new(), false);
        let mut gate = Gate::new(&mut inner, &ok, 3);
        gate.head(404, b"").unwrap();
        assert!(!ok.get());
        gate.body(b"ab").unwrap();
        assert!(super::super::is_enough(&gate.body(b"cd").unwrap_err()));
        assert_eq!(gate.error_body, b"abc");
        let mut gate = Gate::new(&mut inner, &ok, 3);
        gate.head(200, b"").unwrap();
        assert!(ok.get());
        gate.body(b"layer bytes").unwrap();
        assert!(gate.error_body.is_empty());
        assert_eq!(inner.into_inner(), b"layer bytes");
    }
}
