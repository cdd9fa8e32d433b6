//! Renderers: tty, plain, json, quiet.
//!
//! A [`Renderer`] turns [`Snapshot`]s into the bytes to write now. It is a
//! pure function of (snapshot, what it wrote before, width, height, now): it
//! reads no clock, no terminal and no environment (`TERM` is never
//! consulted; the caller picks the [`Mode`] and passes the terminal's size
//! with each frame). Snapshots come from a pull of the library's own or
//! from frames told by another process ([`super::feed`]).
//!
//! Only [`EntryKind::Layer`] entries are shown (Docker hides config and
//! manifest rows). Status texts are Docker's ([`Phase::text`]); ids are the
//! first 12 hex characters of the digest.
//!
//! Notes about the pull itself ([`Event::Note`](super::event::Event::Note):
//! a mirror passed over, naming the host and why) are written once, as
//! soon as they are known: on a tty as a line above the redrawn block, in
//! plain as a line, in json as `{"status":"<note>"}`; quiet shows none.
//!
//! # `tty`
//! A block of one line per layer, `ID: <Status> <progress>` exactly as
//! Docker's `jsonmessage` (so a status-only line ends with a space), where
//! `<progress>` is [`progress_text`]: with the 50-cell bar when the width is
//! over 110 columns, the counts only otherwise. The last line of the block
//! is our summary, [`summary_text`] (`Total: 12.35MB/58.41MB  1.2MB/s  ETA
//! 39s`), shown once there are bytes to download. A retry counts down from
//! the time its phase was set (`Retrying in 2 seconds`, then `1 second`).
//!
//! Each frame that changes anything redraws the whole block: the cursor goes
//! up to the block's first line (`ESC[<n>A`), then every line is written as
//! `ESC[2K` + text + `\n`; `ESC[J` follows when the old block took more rows
//! than the new one. Lines are cut to `width - 1` columns (non-ASCII
//! characters counted as two), so they never wrap and the count is exact. If
//! the width shrank since the last frame, the terminal may have re-wrapped
//! the old lines, so the cursor goes up by the rows they take re-wrapped at
//! the new width (a terminal that does not re-wrap, such as xterm, loses
//! that many extra lines above the block). `Pulling from` is written once,
//! above the block, and not cut (it is never redrawn). A frame that would
//! write the same block at the same width returns `""`.
//! A width of 0 means unknown and is taken as 200, as Docker does.
//!
//! The block fits the terminal's height: it never takes more than
//! `height - 1` rows (the cursor's row is under it), so the cursor reaches
//! its first line and no redraw scrolls a copy of it into the scrollback.
//! When the layer rows and the total line do not fit, the finished layers
//! (`Pull complete`, `Already exists`, `Download complete`) fold into one
//! first line, `24 layers complete, 180.2MB` (their sizes); the others keep
//! their rows in manifest order, and when even those do not fit, as many as
//! fit are shown (failed first, then those transferring, then those
//! waiting) above a `+N more` line; the total line stays last. A height of 0
//! means unknown: no limit. A terminal made shorter than the block keeps
//! what it scrolled off then. The last frame ([`Renderer::finish`]) is never
//! redrawn, so it shows every layer's row whatever the height.
//!
//! # `plain`
//! No escape codes. One line per phase change of each layer (every phase in
//! the entry's history, so a short phase between two frames is not lost),
//! written as `ID: <Status>`; in `Downloading` (and `Extracting` once it has
//! bytes) as `ID: Downloading 12% (5.6MB/45.6MB)`. While the bytes move, a
//! new progress line comes when the percentage enters a new 10 % step or
//! 5 s after the layer's last line, never for unchanged bytes. So a layer
//! writes at most 11 progress lines per phase (0 % to 100 %) plus one per
//! 5 s. The summary line comes at most every 5 s (not in the first 5 s after
//! the first frame), only when the bytes moved, and once at the end unless
//! the line just before it is the same summary. Retries are one line (`Retrying in 2
//! seconds`), without the countdown.
//!
//! # `json`
//! One object per line (`\n`), Docker's `jsonmessage` fields in Docker's
//! order:
//! - `{"status":"Pulling from library/busybox","id":"latest"}`
//! - `{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"0123456789ab"}`
//!   (`current`/`total` are left out when 0, as Go's `omitempty`; a status
//!   without bytes has `"progressDetail":{}`), written when the line changes
//!   and for every phase change;
//!   A retry's countdown changes the line once a second, as Docker's does;
//! - the summary, once there are bytes to download, at most once a second
//!   when the bytes moved, and at the end:
//!   `{"status":"Summary","progressDetail":{"current":C,"total":T},"aux":{"speed":S,"eta":E}}`
//!   (both counts always present; `speed` in bytes/s, over the window while
//!   bytes remain, then the pull's average; `eta` in seconds; `null` when
//!   unknown). It carries `aux` so that Docker's own renderer skips it
//!   instead of resetting its line map;
//! - `{"status":"Digest: sha256:…"}`, `{"status":"Status: Downloaded newer
//!   image for NAME"}`, then `{"aux":{"Reference":"docker.io/library/NAME"}}`;
//! - on failure `{"errorDetail":{"message":"R"},"error":"R"}` instead.
//!
//! # `quiet`
//! Nothing until [`Renderer::finish`], which writes the reference alone on
//! a line, or nothing if the pull failed.
//!
//! # End of a pull (all but quiet)
//! [`Renderer::finish`] writes the last frame, then `Digest: sha256:…`,
//! `Status: Downloaded newer image for NAME` (or `Status: Image is up to date
//! for NAME`) and the reference; on failure `Error: <reason>` instead of
//! these (the failed layer's own line shows `Failed: <reason>`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::event::{EntryKind, Phase, retrying_text};
use super::fold;
use super::model::{Entry, Header, Outcome, Snapshot, Summary};

/// Docker shows the bar only when the terminal is wider than this.
pub const BAR_MIN_COLUMNS: u16 = 110;
/// Width of the bar's inside (Docker's).
pub const BAR_CELLS: usize = 50;
/// The width used when the caller passes 0 (unknown), as Docker.
pub const UNKNOWN_WIDTH: u16 = 200;
/// Plain mode: a layer's next progress line comes at the latest after this.
pub const PLAIN_INTERVAL_MS: u64 = 5_000;
/// Json mode: the summary comes at most this often.
pub const JSON_SUMMARY_INTERVAL_MS: u64 = 1_000;

/// Erases the line and returns to its first column (as Docker does):
/// whatever the terminal echoed there (a `^C`, typed keys) never shifts
/// or trails a redrawn line.
const CLEAR_LINE: &str = "\x1b[2K\r";

/// Output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Docker's in-place bars, for terminals.
    Tty,
    /// Lines for logs and pipes, no escape codes.
    Plain,
    /// One Docker-compatible JSON object per line.
    Json,
    /// Only the final reference.
    Quiet,
}

/// What the renderer remembers of one layer (plain and json).
#[derive(Clone, Debug, Default)]
struct Track {
    /// Items of the entry's history already written.
    seen: usize,
    /// 10 % step of the last progress line.
    step: Option<u64>,
    /// When the last line of this layer was written.
    line_ms: u64,
    /// Bytes in the last line.
    bytes: u64,
    /// The last json object written.
    json: String,
}

/// Turns snapshots into output; one per pull and output stream.
#[derive(Clone, Debug)]
pub struct Renderer {
    mode: Mode,
    header_done: bool,
    /// How many of the pull's notes were written.
    notes_done: usize,
    finished: bool,
    /// tty: the block on screen, its lines' columns, and the width then.
    drawn: Vec<String>,
    drawn_cols: Vec<usize>,
    drawn_width: u16,
    /// plain/json, by full digest.
    tracks: HashMap<String, Track>,
    started_ms: Option<u64>,
    summary_ms: Option<u64>,
    summary_bytes: (u64, u64),
    /// plain: the last summary line written.
    summary_text: String,
    /// plain: lines were written after the last summary line.
    after_summary: bool,
}

impl Renderer {
    /// A renderer that has written nothing yet.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            header_done: false,
            notes_done: 0,
            finished: false,
            drawn: Vec::new(),
            drawn_cols: Vec::new(),
            drawn_width: 0,
            tracks: HashMap::new(),
            started_ms: None,
            summary_ms: None,
            summary_bytes: (0, 0),
            summary_text: String::new(),
            after_summary: false,
        }
    }

    /// The mode chosen at creation.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The bytes to write for this frame (`""` when nothing changed, and
    /// after [`Renderer::finish`]). `width` and `height` are the terminal's
    /// size now (0: unknown; an unknown height sets no limit).
    pub fn frame(&mut self, snap: &Snapshot, width: u16, height: u16, now_ms: u64) -> String {
        if self.finished {
            return String::new();
        }
        self.render(snap, width, height, now_ms, false)
    }

    /// The last frame and the end-of-pull lines. Call once, when the
    /// snapshot's outcome is set (with a running outcome only the frame is
    /// written); later calls and frames return `""`.
    pub fn finish(&mut self, snap: &Snapshot, width: u16, height: u16, now_ms: u64) -> String {
        if self.finished {
            return String::new();
        }
        let out = self.render(snap, width, height, now_ms, true);
        self.finished = true;
        out
    }

    fn render(
        &mut self,
        snap: &Snapshot,
        width: u16,
        height: u16,
        now_ms: u64,
        last: bool,
    ) -> String {
        match self.mode {
            Mode::Tty => {
                // The last block is never redrawn, so it may scroll: it shows
                // every layer.
                let height = if last { 0 } else { height };
                let mut out = self.tty(snap, width, height, now_ms);
                if last {
                    for line in final_lines(snap) {
                        out.push_str(CLEAR_LINE);
                        out.push_str(&sanitize(&line));
                        out.push('\n');
                    }
                }
                out
            }
            Mode::Plain => self.plain(snap, now_ms, last),
            Mode::Json => self.json(snap, now_ms, last),
            Mode::Quiet => match (&snap.outcome, last) {
                (Outcome::Done { reference, .. }, true) => format!("{}\n", sanitize(reference)),
                _ => String::new(),
            },
        }
    }

    fn header(&mut self, snap: &Snapshot) -> Option<Header> {
        if self.header_done {
            return None;
        }
        let h = snap.header.clone()?;
        self.header_done = true;
        Some(h)
    }

    /// The notes not written yet (each once, above the progress).
    fn new_notes(&mut self, snap: &Snapshot) -> Vec<String> {
        let new = snap
            .notes
            .get(self.notes_done..)
            .unwrap_or_default()
            .to_vec();
        self.notes_done = snap.notes.len();
        new
    }

    fn tty(&mut self, snap: &Snapshot, width: u16, height: u16, now_ms: u64) -> String {
        let width = effective_width(width);
        let max = usize::from(width).saturating_sub(1).max(1);
        let mut top: Vec<String> = self.header(snap).iter().map(header_text).collect();
        top.extend(self.new_notes(snap));
        let summary = (snap.summary.total > 0).then(|| summary_text(&snap.summary));
        // The row under the block holds the cursor (see fold).
        let budget = match height {
            0 => usize::MAX,
            h => usize::from(h) - 1,
        };
        let shown: Vec<&Entry> = layers(snap).collect();
        let block = fold::block(&shown, summary, budget, |e| tty_line(e, width, now_ms));
        let block: Vec<(String, usize)> = block.iter().map(|l| fit(&sanitize(l), max)).collect();
        if top.is_empty()
            && width == self.drawn_width
            && block.len() == self.drawn.len()
            && block.iter().zip(&self.drawn).all(|(a, b)| a.0 == *b)
        {
            return String::new();
        }
        let up = if width >= self.drawn_width {
            self.drawn.len()
        } else {
            let w = usize::from(width);
            self.drawn_cols.iter().map(|c| c.div_ceil(w).max(1)).sum()
        };
        let mut out = String::new();
        if up > 0 {
            out.push_str(&format!("\x1b[{up}A"));
        }
        for line in top.iter().map(|l| sanitize(l)) {
            out.push_str(CLEAR_LINE);
            out.push_str(&line);
            out.push('\n');
        }
        for (line, _) in &block {
            out.push_str(CLEAR_LINE);
            out.push_str(line);
            out.push('\n');
        }
        if up > top.len() + block.len() {
            out.push_str("\x1b[J");
        }
        self.drawn_cols = block.iter().map(|l| l.1).collect();
        self.drawn = block.into_iter().map(|l| l.0).collect();
        self.drawn_width = width;
        out
    }

    fn plain(&mut self, snap: &Snapshot, now_ms: u64, last: bool) -> String {
        let started = *self.started_ms.get_or_insert(now_ms);
        let mut lines = Vec::new();
        if let Some(h) = self.header(snap) {
            lines.push(header_text(&h));
        }
        lines.extend(self.new_notes(snap));
        for e in layers(snap) {
            let t = self.tracks.entry(e.id.clone()).or_default();
            plain_entry(e, t, now_ms, &mut lines);
        }
        let s = &snap.summary;
        if s.total > 0 {
            let due =
                now_ms.saturating_sub(self.summary_ms.unwrap_or(started)) >= PLAIN_INTERVAL_MS;
            let text = summary_text(s);
            // the end repeats the summary unless it would be the line just
            // written: the log always ends with the final totals
            let repeat = text != self.summary_text || self.after_summary || !lines.is_empty();
            if (last && repeat) || (due && s.current != self.summary_bytes.0) {
                lines.push(text.clone());
                self.summary_ms = Some(now_ms);
                self.summary_bytes = (s.current, s.total);
                self.summary_text = text;
                self.after_summary = false;
            }
        }
        if lines.last().is_some_and(|l| *l != self.summary_text) {
            self.after_summary = true;
        }
        if last {
            lines.extend(final_lines(snap));
        }
        let mut out = String::new();
        for line in lines {
            out.push_str(&sanitize(&line));
            out.push('\n');
        }
        out
    }

    fn json(&mut self, snap: &Snapshot, now_ms: u64, last: bool) -> String {
        let mut objs: Vec<Value> = Vec::new();
        if let Some(h) = self.header(snap) {
            objs.push(json!({"status": format!("Pulling from {}", h.name), "id": h.id}));
        }
        for note in self.new_notes(snap) {
            objs.push(json!({ "status": note }));
        }
        for e in layers(snap) {
            let t = self.tracks.entry(e.id.clone()).or_default();
            let n = e.history.len();
            // Phases passed since the last frame, then the current one.
            let current = n.saturating_sub(1);
            for change in &e.history[t.seen.min(current)..current] {
                objs.push(status_json(&change.phase.text(), Map::new(), e.short_id()));
            }
            let obj = entry_json(e, now_ms);
            let text = obj.to_string();
            if t.seen < n || text != t.json {
                objs.push(obj);
                t.json = text;
            }
            t.seen = n;
        }
        let s = &snap.summary;
        if s.total > 0 {
            let due = self
                .summary_ms
                .is_none_or(|t| now_ms.saturating_sub(t) >= JSON_SUMMARY_INTERVAL_MS);
            if last || (due && (s.current, s.total) != self.summary_bytes) {
                objs.push(json!({
                    "status": "Summary",
                    "progressDetail": {"current": s.current, "total": s.total},
                    "aux": {"speed": shown_speed(s), "eta": s.eta_secs},
                }));
                self.summary_ms = Some(now_ms);
                self.summary_bytes = (s.current, s.total);
            }
        }
        if last {
            match &snap.outcome {
                Outcome::Done {
                    reference,
                    up_to_date,
                    name,
                } => {
                    if let Some(d) = &snap.digest {
                        objs.push(json!({"status": format!("Digest: {d}")}));
                    }
                    objs.push(json!({"status": status_line(name, *up_to_date)}));
                    objs.push(json!({"aux": {"Reference": reference}}));
                }
                Outcome::Failed(reason) => {
                    objs.push(json!({"errorDetail": {"message": reason}, "error": reason}));
                }
                Outcome::Running => {}
            }
        }
        let mut out = String::new();
        for obj in objs {
            out.push_str(&obj.to_string());
            out.push('\n');
        }
        out
    }
}

/// The layers of a snapshot, in order.
fn layers(snap: &Snapshot) -> impl Iterator<Item = &Entry> {
    snap.entries.iter().filter(|e| e.kind == EntryKind::Layer)
}

fn effective_width(width: u16) -> u16 {
    if width == 0 { UNKNOWN_WIDTH } else { width }
}

fn header_text(h: &Header) -> String {
    if h.id.is_empty() {
        format!("Pulling from {}", h.name)
    } else {
        format!("{}: Pulling from {}", h.id, h.name)
    }
}

fn status_line(name: &str, up_to_date: bool) -> String {
    if up_to_date {
        format!("Status: Image is up to date for {name}")
    } else {
        format!("Status: Downloaded newer image for {name}")
    }
}

/// `Digest:`, `Status:` and the reference, or `Error:` (text modes).
fn final_lines(snap: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    match &snap.outcome {
        Outcome::Done {
            name,
            reference,
            up_to_date,
        } => {
            if let Some(d) = &snap.digest {
                lines.push(format!("Digest: {d}"));
            }
            lines.push(status_line(name, *up_to_date));
            lines.push(reference.clone());
        }
        Outcome::Failed(reason) => lines.push(format!("Error: {reason}")),
        Outcome::Running => {}
    }
    lines
}

/// The entry's status now: a retry counts down from when it was set.
fn status_text(e: &Entry, now_ms: u64) -> String {
    match e.phase {
        Phase::Retrying { in_secs, .. } if in_secs > 0 => {
            let gone = u32::try_from(now_ms.saturating_sub(e.since_ms) / 1000).unwrap_or(u32::MAX);
            retrying_text(in_secs.saturating_sub(gone).max(1))
        }
        ref p => p.text(),
    }
}

/// `(current, total)` when the entry's phase shows bytes.
fn byte_phase(e: &Entry) -> Option<(u64, u64)> {
    match e.phase {
        Phase::Downloading => Some((e.current, e.total)),
        Phase::Extracting | Phase::Registering => e.extracted.map(|x| (x, e.total)),
        _ => None,
    }
}

fn tty_line(e: &Entry, width: u16, now_ms: u64) -> String {
    let progress = byte_phase(e).map_or(String::new(), |(c, t)| progress_text(c, t, width));
    format!("{}: {} {}", e.short_id(), status_text(e, now_ms), progress)
}

/// Docker's `JSONProgress.String()` without the (never sent) ETA: `""` with
/// no bytes, `%8v` of the current size when the total is unknown or
/// exceeded, else `%8v/%v`, after a 50-cell bar when `width > 110`.
pub fn progress_text(current: u64, total: u64, width: u16) -> String {
    if current == 0 && total == 0 {
        return String::new();
    }
    let cur = human_size(current);
    if total == 0 {
        return format!("{cur:>8}");
    }
    let mut out = String::new();
    if effective_width(width) > BAR_MIN_COLUMNS {
        // As Docker: int(float64(current)/float64(total)*100) / 2.
        let pct = (((current as f64 / total as f64) * 100.0) as usize / 2).min(BAR_CELLS);
        out.push('[');
        out.push_str(&"=".repeat(pct));
        out.push('>');
        out.push_str(&" ".repeat(BAR_CELLS - pct));
        out.push_str("] ");
    }
    if current > total {
        out.push_str(&format!("{cur:>8}"));
    } else {
        out.push_str(&format!("{cur:>8}/{}", human_size(total)));
    }
    out
}

/// Our summary line: `Total: CUR/TOTAL`, then while bytes remain the window
/// speed and ETA when known (`  1.2MB/s  ETA 39s`), or once all bytes are
/// in the average speed of the pull (`  1.2MB/s`).
pub fn summary_text(s: &Summary) -> String {
    let mut out = format!("Total: {}/{}", human_size(s.current), human_size(s.total));
    if let Some(speed) = shown_speed(s) {
        out.push_str(&format!("  {}/s", human_size(speed)));
    }
    if let (true, Some(eta)) = (s.current < s.total, s.eta_secs) {
        out.push_str(&format!("  ETA {}", format_duration(eta)));
    }
    out
}

/// The window speed while bytes remain, then the pull's average speed.
fn shown_speed(s: &Summary) -> Option<u64> {
    if s.current < s.total {
        s.speed
    } else {
        s.avg_speed
    }
}

/// go-units `HumanSize`: decimal units (`B kB MB GB TB PB EB ZB YB`), four
/// significant digits as Go's `%.4g` (trailing zeros dropped).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_g4(size), UNITS[unit])
}

/// Go's `fmt.Sprintf("%.4g", x)` for finite `x >= 0`.
fn go_g4(x: f64) -> String {
    const PREC: i32 = 4;
    // Rust rounds exactly (half to even on the exact value), as Go does.
    let sci = format!("{:.*e}", (PREC - 1) as usize, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..PREC).contains(&exp) {
        let frac = digits[1..].trim_end_matches('0');
        let sign = if exp < 0 { '-' } else { '+' };
        let dot = if frac.is_empty() { "" } else { "." };
        return format!("{}{dot}{frac}e{sign}{:02}", &digits[..1], exp.abs());
    }
    let (int, frac) = if exp >= 0 {
        let split = (exp + 1) as usize;
        (digits[..split].to_string(), digits[split..].to_string())
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        ("0".to_string(), format!("{zeros}{digits}"))
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    }
}

/// Seconds as Go's `time.Duration` prints whole seconds: `45s`, `1m30s`,
/// `2h0m5s`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Replaces control characters (escape codes, newlines) with spaces.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The longest prefix of `s` within `max` columns (non-ASCII counted as two,
/// an upper bound), and its columns.
fn fit(s: &str, max: usize) -> (String, usize) {
    let mut cols = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if cols + w > max {
            break;
        }
        cols += w;
        out.push(c);
    }
    (out, cols)
}

fn step_of(current: u64, total: u64) -> Option<u64> {
    (total > 0 && current <= total).then(|| percent(current, total) / 10)
}

fn percent(current: u64, total: u64) -> u64 {
    u64::try_from(u128::from(current) * 100 / u128::from(total)).unwrap_or(100)
}

fn plain_progress(e: &Entry, status: &str, current: u64, total: u64) -> String {
    let id = e.short_id();
    if total > 0 && current <= total {
        format!(
            "{id}: {status} {}% ({}/{})",
            percent(current, total),
            human_size(current),
            human_size(total)
        )
    } else if current > 0 {
        format!("{id}: {status} ({})", human_size(current))
    } else {
        format!("{id}: {status}")
    }
}

fn plain_entry(e: &Entry, t: &mut Track, now_ms: u64, lines: &mut Vec<String>) {
    let n = e.history.len();
    let bytes = byte_phase(e);
    let mut changed = false;
    for (i, change) in e.history.iter().enumerate().skip(t.seen) {
        changed = true;
        match bytes {
            Some((c, total)) if i + 1 == n => {
                lines.push(plain_progress(e, &change.phase.text(), c, total));
                t.step = step_of(c, total);
                t.bytes = c;
            }
            _ => {
                lines.push(format!("{}: {}", e.short_id(), change.phase.text()));
                t.step = None;
                t.bytes = 0;
            }
        }
        t.line_ms = now_ms;
    }
    t.seen = t.seen.max(n);
    if changed {
        return;
    }
    let Some((c, total)) = bytes else { return };
    if c == t.bytes {
        return;
    }
    let step = step_of(c, total);
    if step > t.step || now_ms.saturating_sub(t.line_ms) >= PLAIN_INTERVAL_MS {
        lines.push(plain_progress(e, &e.phase.text(), c, total));
        t.step = step;
        t.bytes = c;
        t.line_ms = now_ms;
    }
}

fn status_json(status: &str, detail: Map<String, Value>, id: &str) -> Value {
    json!({"status": status, "progressDetail": detail, "id": id})
}

fn entry_json(e: &Entry, now_ms: u64) -> Value {
    let mut detail = Map::new();
    if let Some((c, t)) = byte_phase(e) {
        if c > 0 {
            detail.insert("current".into(), c.into());
        }
        if t > 0 {
            detail.insert("total".into(), t.into());
        }
    }
    status_json(&status_text(e, now_ms), detail, e.short_id())
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
