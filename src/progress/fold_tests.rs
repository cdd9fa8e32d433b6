//! Golden tests of the tty block in a terminal of few rows, and a check
//! on a model terminal that the scrollback never holds a copy of a row.

use crate::progress::event::{Event, Phase};
use crate::progress::model::PullProgress;
use crate::progress::render::{Mode, Renderer};

/// A digest whose short id is `n` in 12 hex digits.
fn layer(n: u64) -> String {
    format!("sha256:{n:012x}{}", "0".repeat(52))
}

fn phase(n: u64, phase: Phase) -> Event {
    Event::Phase {
        id: layer(n),
        phase,
    }
}

fn bytes(n: u64, current: u64) -> Event {
    Event::Bytes {
        id: layer(n),
        current,
    }
}

/// `count` layers of 1 MB each, `Pulling from` said.
fn pull(count: u64) -> PullProgress {
    let mut p = PullProgress::new();
    p.apply(
        Event::Pulling {
            id: "v1".into(),
            name: "test/many".into(),
        },
        0,
    );
    p.apply(
        Event::Layers((1..=count).map(|n| (layer(n), 1_000_000)).collect()),
        0,
    );
    p
}

/// Six layers in a 5-row terminal: the two complete ones fold, the one
/// downloading keeps its row, the three waiting are one `+3 more` line.
#[test]
fn five_rows_fold_finished_layers_and_count_the_rest() {
    let mut p = pull(6);
    let mut r = Renderer::new(Mode::Tty);
    for n in 1..=6 {
        p.apply(phase(n, Phase::Waiting), 0);
    }
    let mut frames = vec![r.frame(&p.snapshot(0), 80, 5, 0)];
    p.apply(phase(1, Phase::AlreadyExists), 100);
    p.apply(bytes(2, 1_000_000), 100);
    p.apply(phase(2, Phase::PullComplete), 100);
    p.apply(bytes(3, 250_000), 100);
    frames.push(r.frame(&p.snapshot(1000), 80, 5, 1000));
    // three active: fold + 2 rows + the total fit in 4 rows only with a
    // `+N more`; the one that moves is shown first
    p.apply(bytes(3, 1_000_000), 1100);
    p.apply(phase(3, Phase::DownloadComplete), 1100);
    p.apply(bytes(5, 500_000), 1100);
    frames.push(r.frame(&p.snapshot(2000), 80, 5, 2000));
    // the terminal grows to 10 rows: every layer has its row again
    frames.push(r.frame(&p.snapshot(2000), 80, 10, 2000));
    // and shrinks back
    frames.push(r.frame(&p.snapshot(2000), 80, 5, 2000));
    for n in [4, 6] {
        p.apply(bytes(n, 1_000_000), 2500);
    }
    p.apply(bytes(5, 1_000_000), 2500);
    for n in 3..=6 {
        p.apply(phase(n, Phase::PullComplete), 2500);
    }
    p.apply(
        Event::Done {
            name: "test/many:v1".into(),
            reference: "example.com/test/many:v1".into(),
            up_to_date: false,
        },
        2500,
    );
    frames.push(r.finish(&p.snapshot(3000), 80, 5, 3000));
    assert_eq!(
        frames,
        [
            "\x1b[2K\rv1: Pulling from test/many\n\
        \x1b[2K\r000000000001: Waiting \n\
        \x1b[2K\r000000000002: Waiting \n\
        \x1b[2K\r+4 more\n\
        \x1b[2K\rTotal: 0B/6MB\n\
        ",
            "\x1b[4A\x1b[2K\r2 layers complete, 2MB\n\
        \x1b[2K\r000000000003: Downloading    250kB/1MB\n\
        \x1b[2K\r+3 more\n\
        \x1b[2K\rTotal: 1.25MB/5MB\n\
        ",
            "\x1b[4A\x1b[2K\r3 layers complete, 3MB\n\
        \x1b[2K\r000000000005: Downloading    500kB/1MB\n\
        \x1b[2K\r+2 more\n\
        \x1b[2K\rTotal: 2.5MB/5MB  657.9kB/s  ETA 4s\n\
        ",
            "\x1b[4A\x1b[2K\r000000000001: Already exists \n\
        \x1b[2K\r000000000002: Pull complete \n\
        \x1b[2K\r000000000003: Download complete \n\
        \x1b[2K\r000000000004: Waiting \n\
        \x1b[2K\r000000000005: Downloading    500kB/1MB\n\
        \x1b[2K\r000000000006: Waiting \n\
        \x1b[2K\rTotal: 2.5MB/5MB  657.9kB/s  ETA 4s\n\
        ",
            "\x1b[7A\x1b[2K\r3 layers complete, 3MB\n\
        \x1b[2K\r000000000005: Downloading    500kB/1MB\n\
        \x1b[2K\r+2 more\n\
        \x1b[2K\rTotal: 2.5MB/5MB  657.9kB/s  ETA 4s\n\
        \x1b[J",
            "\x1b[4A\x1b[2K\r000000000001: Already exists \n\
        \x1b[2K\r000000000002: Pull complete \n\
        \x1b[2K\r000000000003: Pull complete \n\
        \x1b[2K\r000000000004: Pull complete \n\
        \x1b[2K\r000000000005: Pull complete \n\
        \x1b[2K\r000000000006: Pull complete \n\
        \x1b[2K\rTotal: 5MB/5MB  2.083MB/s\n\
        \x1b[2K\rStatus: Downloaded newer image for test/many:v1\n\
        \x1b[2K\rexample.com/test/many:v1\n\
        ",
        ]
    );
}

/// A terminal as far as the tty renderer drives it: `ESC[nA`, `ESC[2K`,
/// `ESC[J`, `\r`, `\n` (scrolling the top row into the scrollback at the
/// bottom) and text; lines never reach the width (the renderer cuts them).
struct Term {
    rows: usize,
    screen: Vec<String>,
    scrollback: Vec<String>,
    row: usize,
}

impl Term {
    fn new(rows: usize) -> Self {
        Term {
            rows,
            screen: vec![String::new(); rows],
            scrollback: Vec::new(),
            row: 0,
        }
    }

    fn write(&mut self, s: &str) {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['));
                    let mut n = String::new();
                    while let Some(d) = chars.next_if(|c| c.is_ascii_digit()) {
                        n.push(d);
                    }
                    let n: usize = n.parse().unwrap_or(0);
                    match chars.next() {
                        Some('A') => self.row = self.row.saturating_sub(n.max(1)),
                        Some('K') => self.screen[self.row].clear(),
                        Some('J') => {
                            for r in &mut self.screen[self.row..] {
                                r.clear();
                            }
                        }
                        other => panic!("unexpected escape {other:?}"),
                    }
                }
                '\r' => {}
                '\n' => {
                    self.row += 1;
                    if self.row == self.rows {
                        self.scrollback.push(self.screen.remove(0));
                        self.screen.push(String::new());
                        self.row -= 1;
                    }
                }
                c => self.screen[self.row].push(c),
            }
        }
    }

    /// Everything the terminal holds, scrollback first (`capture-pane -S -`).
    fn all(&self) -> Vec<String> {
        let mut all = self.scrollback.clone();
        all.extend(self.screen.iter().cloned());
        all
    }
}

/// Lines of `lines` that start with a 12-hex id, and how often each does.
fn repeated_rows(lines: &[String]) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for l in lines {
        let id = l.split(':').next().unwrap_or("");
        if id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            match seen.iter_mut().find(|(s, _)| s == id) {
                Some(e) => e.1 += 1,
                None => seen.push((id.to_string(), 1)),
            }
        }
    }
    seen.retain(|(_, n)| *n > 1);
    seen
}

/// 100 layers of 1 MB, five downloading at a time at 1 MB/s each, drawn
/// every 100 ms on a 120x20 terminal: no frame's block is over 19 rows,
/// the scrollback never holds a layer row (only the header scrolls off),
/// and after the end every layer has exactly one row.
#[test]
fn a_hundred_layers_in_twenty_rows_never_flood_the_scrollback() {
    const ROWS: u16 = 20;
    let mut p = pull(100);
    let mut r = Renderer::new(Mode::Tty);
    let mut term = Term::new(usize::from(ROWS));
    for n in 1..=100 {
        p.apply(phase(n, Phase::Waiting), 0);
    }
    let mut golden = None;
    let mut t = 0;
    // layer n downloads during [(n-1)/5 s, (n-1)/5 s + 1 s)
    while t <= 20_000 {
        for n in 1..=100u64 {
            let start = (n - 1) / 5 * 1000;
            if t >= start && t < start + 1000 {
                p.apply(bytes(n, (t - start) * 1000), t);
            } else if t == start + 1000 {
                p.apply(bytes(n, 1_000_000), t);
                p.apply(phase(n, Phase::PullComplete), t);
            }
        }
        let frame = r.frame(&p.snapshot(t), 120, ROWS, t);
        let rows = frame.matches('\n').count() - usize::from(t == 0);
        assert!(rows < usize::from(ROWS), "{rows} rows at {t} ms: {frame}");
        term.write(&frame);
        if t == 7_500 {
            golden = Some(frame);
        }
        t += 100;
    }
    assert_eq!(term.scrollback, ["v1: Pulling from test/many"]);
    assert_eq!(repeated_rows(&term.all()), []);
    assert_eq!(
        golden.unwrap(),
        "\x1b[19A\x1b[2K\r35 layers complete, 35MB\n\
        \x1b[2K\r000000000024: Downloading [=========================>                         ]    500kB/1MB\n\
        \x1b[2K\r000000000025: Downloading [=========================>                         ]    500kB/1MB\n\
        \x1b[2K\r000000000026: Downloading [=========================>                         ]    500kB/1MB\n\
        \x1b[2K\r000000000027: Downloading [=========================>                         ]    500kB/1MB\n\
        \x1b[2K\r000000000028: Downloading [=========================>                         ]    500kB/1MB\n\
        \x1b[2K\r000000000029: Waiting \n\
        \x1b[2K\r00000000002a: Waiting \n\
        \x1b[2K\r00000000002b: Waiting \n\
        \x1b[2K\r00000000002c: Waiting \n\
        \x1b[2K\r00000000002d: Waiting \n\
        \x1b[2K\r00000000002e: Waiting \n\
        \x1b[2K\r00000000002f: Waiting \n\
        \x1b[2K\r000000000030: Waiting \n\
        \x1b[2K\r000000000031: Waiting \n\
        \x1b[2K\r000000000032: Waiting \n\
        \x1b[2K\r000000000033: Waiting \n\
        \x1b[2K\r+49 more\n\
        \x1b[2K\rTotal: 37.5MB/100MB  5MB/s  ETA 13s\n\
        "
    );
    p.apply(
        Event::Done {
            name: "test/many:v1".into(),
            reference: "example.com/test/many:v1".into(),
            up_to_date: false,
        },
        t,
    );
    term.write(&r.finish(&p.snapshot(t), 120, ROWS, t));
    let all = term.all();
    assert_eq!(repeated_rows(&all), []);
    let complete = all
        .iter()
        .filter(|l| l.ends_with(": Pull complete "))
        .count();
    assert_eq!(complete, 100);
    assert_eq!(all.iter().filter(|l| l.starts_with("Total: ")).count(), 1);
}

/// Without a height (0: unknown) nothing folds: a row per layer.
#[test]
fn an_unknown_height_sets_no_limit() {
    let p = pull(100);
    let frame = Renderer::new(Mode::Tty).frame(&p.snapshot(0), 120, 0, 0);
    assert_eq!(frame.matches('\n').count(), 1 + 100 + 1);
    assert!(!frame.contains("more"));
}

/// Tiny terminals: the block never outgrows `height - 1` rows.
#[test]
fn no_height_is_too_small() {
    let mut p = pull(10);
    for n in 1..=3 {
        p.apply(phase(n, Phase::PullComplete), 0);
    }
    p.apply(bytes(4, 10), 0);
    for height in 1..=14u16 {
        let frame = Renderer::new(Mode::Tty).frame(&p.snapshot(0), 80, height, 0);
        let rows = frame.matches('\n').count() - 1; // the header is not redrawn
        assert!(rows < usize::from(height).max(1), "{height}: {frame}");
        if height >= 4 {
            assert!(frame.contains("Total: "), "{height}: {frame}");
        }
    }
}
