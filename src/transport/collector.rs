//! What the libcurl callbacks do: split the header stream into responses,
//! hand the final response's head and body to the sink, forward progress.

use std::io;

use curl::easy::WriteError;

use super::{ProgressFn, Sink, Transfer};

pub(super) struct Collector<'s, 'p, 'f> {
    sink: &'s mut dyn Sink,
    progress: Option<&'p mut ProgressFn<'f>>,
    follow_redirects: bool,
    /// Raw head of the response being received.
    head: Vec<u8>,
    headers: Vec<(String, String)>,
    status: u32,
    has_location: bool,
    /// The current response is a redirect or 1xx that libcurl will move past.
    intermediate: bool,
    head_sent: bool,
    write_error: Option<io::Error>,
    /// The transfer was stopped because no more of the body was wanted.
    stopped_early: bool,
}

impl<'s, 'p, 'f> Collector<'s, 'p, 'f> {
    pub(super) fn new(
        sink: &'s mut dyn Sink,
        progress: Option<&'p mut ProgressFn<'f>>,
        follow_redirects: bool,
    ) -> Self {
        Collector {
            sink,
            progress,
            follow_redirects,
            head: Vec::new(),
            headers: Vec::new(),
            status: 0,
            has_location: false,
            intermediate: false,
            head_sent: false,
            write_error: None,
            stopped_early: false,
        }
    }

    /// The response was a redirect for the caller to follow.
    pub(super) fn is_redirect(&self) -> bool {
        self.intermediate && (300..400).contains(&self.status)
    }

    /// The `Location` of the response being received.
    pub(super) fn location(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn stopped_early(&self) -> bool {
        self.stopped_early
    }

    pub(super) fn take_write_error(&mut self) -> Option<io::Error> {
        self.write_error.take()
    }

    pub(super) fn take_headers(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.headers)
    }

    /// Delivers the head of a body-less final response.
    pub(super) fn finish(&mut self) -> io::Result<()> {
        if !self.head_sent {
            self.head_sent = true;
            self.sink.head(self.status, &self.head)?;
        }
        Ok(())
    }

    fn start_response(&mut self, status_line: &[u8]) {
        self.head.clear();
        self.headers.clear();
        self.has_location = false;
        self.intermediate = false;
        self.status = std::str::from_utf8(status_line)
            .ok()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
    }

    fn end_of_head(&mut self) {
        let redirect = (300..400).contains(&self.status) && self.status != 304 && self.has_location;
        self.intermediate =
            (100..200).contains(&self.status) || (redirect && self.follow_redirects);
    }

    pub(super) fn header(&mut self, data: &[u8]) -> bool {
        if data.starts_with(b"HTTP/") {
            self.start_response(data);
        }
        self.head.extend_from_slice(data);
        let line = String::from_utf8_lossy(data);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            self.end_of_head();
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("location") {
                self.has_location = true;
            }
            self.headers
                .push((name.to_string(), value.trim().to_string()));
        }
        true
    }

    pub(super) fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        if self.intermediate {
            if (300..400).contains(&self.status) {
                // a redirect's body is never wanted: stop reading it
                self.stopped_early = true;
                return Ok(0);
            }
            return Ok(data.len());
        }
        let result = if self.head_sent {
            Ok(())
        } else {
            self.head_sent = true;
            self.sink.head(self.status, &self.head)
        }
        .and_then(|()| self.sink.body(data));
        match result {
            Ok(()) => Ok(data.len()),
            Err(e) if super::is_enough(&e) => {
                self.stopped_early = true;
                Ok(0)
            }
            Err(e) => {
                // Writing less than offered makes libcurl stop with
                // CURLE_WRITE_ERROR; the io error is kept for the message.
                self.write_error = Some(e);
                Ok(0)
            }
        }
    }

    pub(super) fn progress(&mut self, dltotal: f64, dlnow: f64, ultotal: f64, ulnow: f64) -> bool {
        match self.progress.as_mut() {
            Some(f) => f(Transfer {
                dltotal,
                dlnow,
                ultotal,
                ulnow,
            }),
            None => true,
        }
    }
}
