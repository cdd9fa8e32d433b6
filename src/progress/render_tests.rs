//! Golden tests of the renderers: exact bytes for scripted pulls.

use super::*;
use crate::progress::event::Event;
use crate::progress::model::PullProgress;

const L1: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
const L2: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const L3: &str = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const CONFIG: &str = "sha256:c0ffee0000000000000000000000000000000000000000000000000000000000";
const DIGEST: &str = "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7";

/// One step of a script: an event at a time, a frame, or the end.
enum Step {
    At(u64, Event),
    Frame(u64, u16),
    Finish(u64, u16),
}
use Step::*;

fn phase(id: &str, phase: Phase) -> Event {
    Event::Phase {
        id: id.into(),
        phase,
    }
}

fn bytes(id: &str, current: u64) -> Event {
    Event::Bytes {
        id: id.into(),
        current,
    }
}

/// Runs a script; returns each frame's output.
fn run(mode: Mode, script: Vec<Step>) -> Vec<String> {
    let mut p = PullProgress::new();
    let mut r = Renderer::new(mode);
    let mut out = Vec::new();
    for step in script {
        match step {
            At(t, e) => p.apply(e, t),
            Frame(t, w) => out.push(r.frame(&p.snapshot(t), w, 0, t)),
            Finish(t, w) => out.push(r.finish(&p.snapshot(t), w, 0, t)),
        }
    }
    out
}

/// A 3-layer pull (the first layer exists) with a hidden config blob.
fn three_layers(w: u16) -> Vec<Step> {
    vec![
        At(
            0,
            Event::Pulling {
                id: "latest".into(),
                name: "library/busybox".into(),
            },
        ),
        At(
            0,
            Event::Layers(vec![
                (L1.into(), 2_800_000),
                (L2.into(), 45_600_000),
                (L3.into(), 3_190_000),
            ]),
        ),
        At(
            0,
            Event::Add {
                id: CONFIG.into(),
                kind: EntryKind::Config,
                total: 1_500,
            },
        ),
        At(0, bytes(CONFIG, 1_500)),
        At(0, phase(L1, Phase::AlreadyExists)),
        At(0, phase(L2, Phase::Downloading)),
        At(0, phase(L3, Phase::Waiting)),
        Frame(0, w),
        At(1000, bytes(L2, 4_560_000)),
        Frame(1000, w),
        Frame(1100, w),
        At(2000, bytes(L2, 12_345_678)),
        Frame(2000, w),
        At(3000, bytes(L2, 45_600_000)),
        At(3000, phase(L2, Phase::Verifying)),
        At(3000, phase(L2, Phase::DownloadComplete)),
        At(3000, phase(L3, Phase::Downloading)),
        Frame(3000, w),
        At(4000, bytes(L3, 3_190_000)),
        At(4000, phase(L3, Phase::Verifying)),
        At(4000, phase(L2, Phase::Extracting)),
        At(4500, bytes(L2, 22_800_000)),
        Frame(4500, w),
        At(5000, phase(L3, Phase::DownloadComplete)),
        At(5000, phase(L2, Phase::PullComplete)),
        At(5000, phase(L3, Phase::Extracting)),
        Frame(5000, w),
        At(6000, phase(L3, Phase::PullComplete)),
        At(6000, Event::Digest(DIGEST.into())),
        At(
            6000,
            Event::Done {
                name: "busybox:latest".into(),
                reference: "docker.io/library/busybox:latest".into(),
                up_to_date: false,
            },
        ),
        Finish(6000, w),
    ]
}

/// One layer: 40 %, a failed attempt, a retry after 2 s that resumes.
fn resume(w: u16) -> Vec<Step> {
    vec![
        At(
            0,
            Event::Pulling {
                id: "latest".into(),
                name: "library/busybox".into(),
            },
        ),
        At(0, Event::Layers(vec![(L2.into(), 10_000_000)])),
        At(0, phase(L2, Phase::Downloading)),
        At(1000, bytes(L2, 4_000_000)),
        Frame(1000, w),
        At(
            1500,
            phase(
                L2,
                Phase::Retrying {
                    in_secs: 2,
                    attempt: 1,
                },
            ),
        ),
        Frame(1500, w),
        Frame(2600, w),
        At(3500, bytes(L2, 4_500_000)),
        At(3600, bytes(L2, 500_000)),
        Frame(3600, w),
        At(5000, bytes(L2, 10_000_000)),
        At(5000, phase(L2, Phase::Verifying)),
        At(5000, phase(L2, Phase::DownloadComplete)),
        At(5000, phase(L2, Phase::Registering)),
        At(5500, phase(L2, Phase::PullComplete)),
        At(5500, Event::Digest(DIGEST.into())),
        At(
            5500,
            Event::Done {
                name: "busybox:latest".into(),
                reference: "docker.io/library/busybox:latest".into(),
                up_to_date: false,
            },
        ),
        Finish(5500, w),
    ]
}

/// Two layers; the second fails with a reason that holds a newline.
fn failure(w: u16) -> Vec<Step> {
    vec![
        At(
            0,
            Event::Pulling {
                id: "latest".into(),
                name: "library/busybox".into(),
            },
        ),
        At(
            0,
            Event::Layers(vec![(L2.into(), 10_000_000), (L3.into(), 3_190_000)]),
        ),
        At(0, phase(L2, Phase::Downloading)),
        At(0, phase(L3, Phase::Downloading)),
        At(1000, bytes(L2, 10_000_000)),
        At(1000, phase(L2, Phase::DownloadComplete)),
        At(1000, bytes(L3, 1_276_000)),
        Frame(1000, w),
        At(
            2000,
            phase(
                L3,
                Phase::Failed("read tcp: connection reset\nby peer".into()),
            ),
        ),
        At(
            2000,
            Event::Failed("failed to pull busybox:latest: connection reset by peer".into()),
        ),
        Finish(2000, w),
    ]
}

/// A download drawn at 120 columns, then at 60, 60, 100 and 20.
fn resize(_: u16) -> Vec<Step> {
    vec![
        At(
            0,
            Event::Layers(vec![(L1.into(), 2_800_000), (L2.into(), 45_600_000)]),
        ),
        At(0, phase(L1, Phase::AlreadyExists)),
        At(0, phase(L2, Phase::Downloading)),
        At(2000, bytes(L2, 12_345_678)),
        Frame(2000, 120),
        Frame(2000, 60),
        Frame(2000, 60),
        Frame(2000, 100),
        Frame(2000, 20),
    ]
}

/// Removes the `ESC[…<letter>` sequences of a tty output.
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\r' {
            continue;
        }
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn tty_at_120_columns_draws_docker_bars_and_a_summary() {
    assert_eq!(
        run(Mode::Tty, three_layers(120)),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [>                                                  ]       0B/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 0B/48.79MB\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [=====>                                             ]   4.56MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4.56MB/48.79MB  4.56MB/s  ETA 10s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [=====>                                             ]   4.56MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4.56MB/48.79MB  4.145MB/s  ETA 11s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [=============>                                     ]  12.35MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 12.35MB/48.79MB  6.173MB/s  ETA 6s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Download complete \n\
        \x1b[2K\rfedcba987654: Downloading [>                                                  ]       0B/3.19MB\n\
        \x1b[2K\rTotal: 45.6MB/48.79MB  15.2MB/s  ETA 1s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Extracting [=========================>                         ]   22.8MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Verifying Checksum \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Extracting \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Pull complete \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        \x1b[2K\rDigest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        \x1b[2K\rStatus: Downloaded newer image for busybox:latest\n\
        \x1b[2K\rdocker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn tty_under_110_columns_is_compact() {
    assert_eq!(
        run(Mode::Tty, three_layers(80)),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading       0B/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 0B/48.79MB\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading   4.56MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4.56MB/48.79MB  4.56MB/s  ETA 10s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading   4.56MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4.56MB/48.79MB  4.145MB/s  ETA 11s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading  12.35MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 12.35MB/48.79MB  6.173MB/s  ETA 6s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Download complete \n\
        \x1b[2K\rfedcba987654: Downloading       0B/3.19MB\n\
        \x1b[2K\rTotal: 45.6MB/48.79MB  15.2MB/s  ETA 1s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Extracting   22.8MB/45.6MB\n\
        \x1b[2K\rfedcba987654: Verifying Checksum \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Extracting \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Pull complete \n\
        \x1b[2K\rTotal: 48.79MB/48.79MB  12.2MB/s\n\
        \x1b[2K\rDigest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        \x1b[2K\rStatus: Downloaded newer image for busybox:latest\n\
        \x1b[2K\rdocker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn plain_writes_phase_changes_and_10_percent_steps() {
    assert_eq!(
        run(Mode::Plain, three_layers(80)),
        [
            "latest: Pulling from library/busybox\n\
        a3ed95caeb02: Already exists\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Downloading 0% (0B/45.6MB)\n\
        fedcba987654: Pulling fs layer\n\
        fedcba987654: Waiting\n\
        ",
            "0123456789ab: Downloading 10% (4.56MB/45.6MB)\n\
        ",
            "",
            "0123456789ab: Downloading 27% (12.35MB/45.6MB)\n\
        ",
            "0123456789ab: Verifying Checksum\n\
        0123456789ab: Download complete\n\
        fedcba987654: Downloading 0% (0B/3.19MB)\n\
        ",
            "0123456789ab: Extracting 50% (22.8MB/45.6MB)\n\
        fedcba987654: Verifying Checksum\n\
        ",
            "0123456789ab: Pull complete\n\
        fedcba987654: Download complete\n\
        fedcba987654: Extracting\n\
        Total: 48.79MB/48.79MB  12.2MB/s\n\
        ",
            // the final totals come again, right before the end lines
            "fedcba987654: Pull complete\n\
        Total: 48.79MB/48.79MB  12.2MB/s\n\
        Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        Status: Downloaded newer image for busybox:latest\n\
        docker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn json_is_docker_jsonmessage_plus_a_summary() {
    let frames = run(Mode::Json, three_layers(80));
    assert_eq!(
        frames,
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":0,\"total\":48790000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":4560000,\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":4560000,\"total\":48790000},\"aux\":{\"speed\":4560000,\"eta\":10}}\n\
        ",
            "",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":12345678,\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":12345678,\"total\":48790000},\"aux\":{\"speed\":6172839,\"eta\":6}}\n\
        ",
            "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":45600000,\"total\":48790000},\"aux\":{\"speed\":15200000,\"eta\":1}}\n\
        ",
            "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":22800000,\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":48790000,\"total\":48790000},\"aux\":{\"speed\":12197500,\"eta\":null}}\n\
        ",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Extracting\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        ",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":48790000,\"total\":48790000},\"aux\":{\"speed\":12197500,\"eta\":null}}\n\
        {\"status\":\"Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\"}\n\
        {\"status\":\"Status: Downloaded newer image for busybox:latest\"}\n\
        {\"aux\":{\"Reference\":\"docker.io/library/busybox:latest\"}}\n\
        ",
        ]
    );
    for line in frames.concat().lines() {
        let v: Value = serde_json::from_str(line).expect(line);
        assert!(
            v.get("status").is_some() || v.get("aux").is_some(),
            "{line}"
        );
    }
}

#[test]
fn a_retry_resumes_where_the_bytes_were_tty() {
    assert_eq!(
        run(Mode::Tty, resume(120)),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\r0123456789ab: Downloading [====================>                              ]      4MB/10MB\n\
        \x1b[2K\rTotal: 4MB/10MB  4MB/s  ETA 2s\n\
        ",
            "\x1b[2A\x1b[2K\r0123456789ab: Retrying in 2 seconds \n\
        \x1b[2K\rTotal: 4MB/10MB  2.667MB/s  ETA 3s\n\
        ",
            "\x1b[2A\x1b[2K\r0123456789ab: Retrying in 1 second \n\
        \x1b[2K\rTotal: 4MB/10MB  1.538MB/s  ETA 4s\n\
        ",
            "\x1b[2A\x1b[2K\r0123456789ab: Downloading [======================>                            ]    4.5MB/10MB\n\
        \x1b[2K\rTotal: 4.5MB/10MB  1.25MB/s  ETA 5s\n\
        ",
            "\x1b[2A\x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rTotal: 10MB/10MB  2MB/s\n\
        \x1b[2K\rDigest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        \x1b[2K\rStatus: Downloaded newer image for busybox:latest\n\
        \x1b[2K\rdocker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn a_retry_resumes_where_the_bytes_were_plain() {
    assert_eq!(
        run(Mode::Plain, resume(80)),
        [
            "latest: Pulling from library/busybox\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Downloading 40% (4MB/10MB)\n\
        ",
            "0123456789ab: Retrying in 2 seconds\n\
        ",
            "",
            "0123456789ab: Downloading 45% (4.5MB/10MB)\n\
        ",
            "0123456789ab: Verifying Checksum\n\
        0123456789ab: Download complete\n\
        0123456789ab: Registering\n\
        0123456789ab: Pull complete\n\
        Total: 10MB/10MB  2MB/s\n\
        Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        Status: Downloaded newer image for busybox:latest\n\
        docker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn a_retry_resumes_where_the_bytes_were_json() {
    assert_eq!(
        run(Mode::Json, resume(80)),
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":4000000,\"total\":10000000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":4000000,\"total\":10000000},\"aux\":{\"speed\":4000000,\"eta\":2}}\n\
        ",
            "{\"status\":\"Retrying in 2 seconds\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        ",
            "{\"status\":\"Retrying in 1 second\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":4500000,\"total\":10000000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":4500000,\"total\":10000000},\"aux\":{\"speed\":1250000,\"eta\":5}}\n\
        ",
            "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Registering\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":10000000,\"total\":10000000},\"aux\":{\"speed\":2000000,\"eta\":null}}\n\
        {\"status\":\"Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\"}\n\
        {\"status\":\"Status: Downloaded newer image for busybox:latest\"}\n\
        {\"aux\":{\"Reference\":\"docker.io/library/busybox:latest\"}}\n\
        ",
        ]
    );
}

#[test]
fn a_failure_shows_its_reason_and_no_status_tty() {
    assert_eq!(
        run(Mode::Tty, failure(120)),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\r0123456789ab: Download complete \n\
        \x1b[2K\rfedcba987654: Downloading [====================>                              ]  1.276MB/3.19MB\n\
        \x1b[2K\rTotal: 11.28MB/13.19MB  11.28MB/s  ETA 1s\n\
        ",
            "\x1b[3A\x1b[2K\r0123456789ab: Download complete \n\
        \x1b[2K\rfedcba987654: Failed: read tcp: connection reset by peer \n\
        \x1b[2K\rTotal: 11.28MB/13.19MB\n\
        \x1b[2K\rError: failed to pull busybox:latest: connection reset by peer\n\
        ",
        ]
    );
}

#[test]
fn a_failure_shows_its_reason_and_no_status_plain() {
    assert_eq!(
        run(Mode::Plain, failure(80)),
        [
            "latest: Pulling from library/busybox\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Downloading\n\
        0123456789ab: Download complete\n\
        fedcba987654: Pulling fs layer\n\
        fedcba987654: Downloading 40% (1.276MB/3.19MB)\n\
        ",
            "fedcba987654: Failed: read tcp: connection reset by peer\n\
        Total: 11.28MB/13.19MB\n\
        Error: failed to pull busybox:latest: connection reset by peer\n\
        ",
        ]
    );
}

#[test]
fn a_failure_shows_its_reason_and_no_status_json() {
    assert_eq!(
        run(Mode::Json, failure(80)),
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":1276000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":11276000,\"total\":13190000},\"aux\":{\"speed\":11276000,\"eta\":1}}\n\
        ",
            "{\"status\":\"Failed: read tcp: connection reset\\nby peer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":11276000,\"total\":13190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        {\"errorDetail\":{\"message\":\"failed to pull busybox:latest: connection reset by peer\"},\"error\":\"failed to pull busybox:latest: connection reset by peer\"}\n\
        ",
        ]
    );
}

#[test]
fn a_resize_re_lays_out_the_block() {
    let frames = run(Mode::Tty, resize(0));
    assert_eq!(
        frames,
        [
            "\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [=============>                                     ]  12.35MB/45.6MB\n\
        \x1b[2K\rTotal: 12.35MB/45.6MB  6.173MB/s  ETA 6s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading  12.35MB/45.6MB\n\
        \x1b[2K\rTotal: 12.35MB/45.6MB  6.173MB/s  ETA 6s\n\
        \x1b[J",
            "",
            "\x1b[3A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading  12.35MB/45.6MB\n\
        \x1b[2K\rTotal: 12.35MB/45.6MB  6.173MB/s  ETA 6s\n\
        ",
            "\x1b[7A\x1b[2K\ra3ed95caeb02: Alrea\n\
        \x1b[2K\r0123456789ab: Downl\n\
        \x1b[2K\rTotal: 12.35MB/45.6\n\
        \x1b[J",
        ]
    );
    for (frame, width) in frames.iter().zip([120, 60, 60, 100, 20]) {
        for line in strip_escapes(frame).lines() {
            assert!(line.chars().count() < width, "{line:?} at {width}");
        }
    }
}

#[test]
fn no_tty_line_reaches_the_width() {
    for width in 1..=200u16 {
        let max = usize::from(width).saturating_sub(1).max(1);
        for script in [three_layers, resume, failure] {
            let frames = run(Mode::Tty, script(width));
            // All but the end-of-pull lines (digest, reference) of the last.
            for frame in &frames[..frames.len() - 1] {
                // The header is written once and never redrawn: not cut.
                let text = strip_escapes(frame);
                for line in text.lines().filter(|l| !l.contains("Pulling from")) {
                    assert!(line.chars().count() <= max, "{line:?} at {width}");
                }
            }
        }
    }
}

#[test]
fn plain_mode_never_floods() {
    const SIZE: u64 = 100_000_000;
    // 1000 byte events over 10 s, a frame after each.
    let mut script = vec![At(0, Event::Layers(vec![(L2.into(), SIZE)]))];
    for i in 1..=1000 {
        script.push(At(i * 10, bytes(L2, SIZE / 1000 * i)));
        script.push(Frame(i * 10, 80));
    }
    let out = run(Mode::Plain, script).concat();
    let progress = out.lines().filter(|l| l.contains("Downloading")).count();
    // The first line, one per 10 % step, one per 5 s: at most 1 + 10 + 2.
    assert!(progress <= 13, "{out}");
    assert_eq!(progress, 11, "{out}");
    assert!(out.contains("0123456789ab: Downloading 0% (100kB/100MB)\n"));
    assert!(out.contains("0123456789ab: Downloading 100% (100MB/100MB)\n"));
    // The summary: every 5 s at most, not in the first 5 s (from 10 ms).
    let totals: Vec<_> = out.lines().filter(|l| l.starts_with("Total: ")).collect();
    assert_eq!(totals, ["Total: 50.1MB/100MB  10MB/s  ETA 5s"]);

    // Slow bytes: 1000 events over 1000 s add a line per 5 s, not per event.
    let mut script = vec![At(0, Event::Layers(vec![(L2.into(), SIZE)]))];
    for i in 1..=1000 {
        script.push(At(i * 1000, bytes(L2, 1000 * i)));
        script.push(Frame(i * 1000, 80));
    }
    let out = run(Mode::Plain, script).concat();
    let progress = out.lines().filter(|l| l.contains("Downloading")).count();
    // At 1 s, then one per 5 s up to 1000 s.
    assert_eq!(progress, 1 + (1000 - 1) / 5, "{out}");
    let totals = out.lines().filter(|l| l.starts_with("Total: ")).count();
    assert_eq!(totals, (1000 - 1) / 5, "{out}");
    assert!(!out.contains('\x1b'));
}

#[test]
fn quiet_prints_only_the_reference() {
    let frames = run(Mode::Quiet, three_layers(80));
    assert_eq!(frames.concat(), "docker.io/library/busybox:latest\n");
    assert_eq!(run(Mode::Quiet, failure(80)).concat(), "");
}

#[test]
fn an_up_to_date_image_says_so() {
    let script = vec![
        At(
            0,
            Event::Pulling {
                id: "latest".into(),
                name: "library/busybox".into(),
            },
        ),
        At(0, Event::Layers(vec![(L1.into(), 2_800_000)])),
        At(0, phase(L1, Phase::AlreadyExists)),
        At(0, Event::Digest(DIGEST.into())),
        At(
            0,
            Event::Done {
                name: "busybox:latest".into(),
                reference: "docker.io/library/busybox:latest".into(),
                up_to_date: true,
            },
        ),
        Finish(0, 80),
    ];
    assert_eq!(
        run(Mode::Plain, script).concat(),
        "latest: Pulling from library/busybox\n\
        a3ed95caeb02: Already exists\n\
        Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        Status: Image is up to date for busybox:latest\n\
        docker.io/library/busybox:latest\n"
    );
}

#[test]
fn nothing_is_written_after_finish() {
    let mut p = PullProgress::new();
    p.apply(Event::Layers(vec![(L2.into(), 10)]), 0);
    for mode in [Mode::Tty, Mode::Plain, Mode::Json] {
        let mut r = Renderer::new(mode);
        assert_ne!(r.finish(&p.snapshot(0), 80, 0, 0), "");
        p.apply(bytes(L2, 5), 1);
        assert_eq!(r.frame(&p.snapshot(1), 80, 0, 1), "");
        assert_eq!(r.finish(&p.snapshot(1), 80, 0, 1), "");
    }
}

#[test]
fn escape_codes_in_reasons_never_reach_text_output() {
    let mut p = PullProgress::new();
    p.apply(Event::Layers(vec![(L2.into(), 10)]), 0);
    p.apply(phase(L2, Phase::Failed("bad\x1b[2J\r\nthing".into())), 0);
    p.apply(Event::Failed("x\x1b]0;title\x07".into()), 0);
    let plain = Renderer::new(Mode::Plain).finish(&p.snapshot(0), 80, 0, 0);
    assert_eq!(
        plain,
        "0123456789ab: Pulling fs layer\n\
        0123456789ab: Failed: bad [2J  thing\n\
        Total: 0B/10B\n\
        Error: x ]0;title \n"
    );
    let tty = Renderer::new(Mode::Tty).finish(&p.snapshot(0), 80, 0, 0);
    assert_eq!(tty.matches('\x1b').count(), 3, "{tty:?}"); // ESC[2K before each of the 3 lines
}

#[test]
fn human_size_is_go_units_human_size() {
    let cases = [
        (0, "0B"),
        (1, "1B"),
        (999, "999B"),
        (1000, "1kB"),
        (1001, "1.001kB"),
        (3200, "3.2kB"),
        (523_450, "523.5kB"),
        (999_949, "999.9kB"),
        (999_950, "1000kB"),
        (1_000_000, "1MB"),
        (3_190_000, "3.19MB"),
        (12_345_678, "12.35MB"),
        (58_412_345, "58.41MB"),
        (45_600_000, "45.6MB"),
        (1_234_567_890, "1.235GB"),
        (u64::MAX, "18.45EB"),
    ];
    for (n, text) in cases {
        assert_eq!(human_size(n), text, "{n}");
    }
    assert_eq!(go_g4(12345.0), "1.234e+04");
    assert_eq!(go_g4(10000.0), "1e+04");
    assert_eq!(go_g4(0.5), "0.5");
    assert_eq!(go_g4(0.00001234), "1.234e-05");
}

#[test]
fn progress_text_matches_docker() {
    // jsonmessage_test.go, without the ETA (the daemon never sends `start`).
    assert_eq!(
        progress_text(20, 100, 200),
        "[==========>                                        ]      20B/100B"
    );
    assert_eq!(progress_text(20, 100, 100), "     20B/100B");
    assert_eq!(progress_text(20, 100, 111).len(), 53 + 1 + 13);
    assert_eq!(progress_text(20, 100, 110), "     20B/100B");
    assert_eq!(progress_text(0, 0, 200), "");
    assert_eq!(progress_text(1, 0, 200), "      1B");
    assert_eq!(progress_text(150, 100, 80), "    150B");
    assert_eq!(
        progress_text(150, 100, 0),
        "[==================================================>]     150B"
    );
    assert_eq!(
        progress_text(100, 100, 200),
        "[==================================================>]     100B/100B"
    );
}

#[test]
fn durations_are_go_style() {
    assert_eq!(format_duration(0), "0s");
    assert_eq!(format_duration(59), "59s");
    assert_eq!(format_duration(90), "1m30s");
    assert_eq!(format_duration(3600), "1h0m0s");
    assert_eq!(format_duration(7325), "2h2m5s");
}

#[test]
fn summary_text_shows_speed_and_eta_while_running() {
    let mut s = Summary {
        current: 45_600_000,
        total: 120_300_000,
        speed: Some(12_300_000),
        eta_secs: Some(7),
        avg_speed: Some(9_000_000),
        ..Summary::default()
    };
    assert_eq!(summary_text(&s), "Total: 45.6MB/120.3MB  12.3MB/s  ETA 7s");
    s.speed = None;
    s.eta_secs = None;
    assert_eq!(summary_text(&s), "Total: 45.6MB/120.3MB");
    s.current = s.total;
    assert_eq!(summary_text(&s), "Total: 120.3MB/120.3MB  9MB/s");
}

#[test]
fn lines_are_cut_by_columns() {
    assert_eq!(fit("abcdef", 4), ("abcdef"[..4].to_string(), 4));
    assert_eq!(fit("ab\u{4e2d}\u{6587}", 5), ("ab\u{4e2d}".to_string(), 4));
    assert_eq!(fit("ab", 5), ("ab".to_string(), 2));
}

#[test]
fn renderers_are_clone_and_send() {
    fn check<T: Clone + Send + 'static>() {}
    check::<Renderer>();
    check::<Mode>();
}

/// A note (a mirror passed over) is written once, as soon as it is known:
/// above the redrawn block on a tty, as a line in plain, as a status in json.
fn with_a_note() -> Vec<Step> {
    vec![
        At(
            0,
            Event::Pulling {
                id: "v1".into(),
                name: "test/m".into(),
            },
        ),
        At(0, Event::Layers(vec![(L2.into(), 100)])),
        Frame(0, 80),
        At(10, bytes(L2, 40)),
        At(
            10,
            Event::Note(
                "mirror http://127.0.0.1:5001 failed: connection refused, trying the next".into(),
            ),
        ),
        Frame(10, 80),
        At(20, bytes(L2, 60)),
        Frame(20, 80),
    ]
}

#[test]
fn notes_are_written_once_in_every_mode() {
    let note = "mirror http://127.0.0.1:5001 failed: connection refused, trying the next";
    let tty = run(Mode::Tty, with_a_note());
    assert_eq!(tty[1].matches(note).count(), 1, "{:?}", tty[1]);
    let (at_note, at_block) = (
        tty[1].find(note).unwrap(),
        tty[1].find("0123456789ab:").unwrap(),
    );
    assert!(at_note < at_block, "above the block: {:?}", tty[1]);
    assert!(!tty[2].contains(note), "once: {:?}", tty[2]);
    let plain = run(Mode::Plain, with_a_note());
    assert_eq!(
        plain.iter().map(|f| f.matches(note).count()).sum::<usize>(),
        1,
        "{plain:?}"
    );
    assert!(plain[1].contains(&format!("{note}\n")), "{:?}", plain[1]);
    let json = run(Mode::Json, with_a_note());
    let status = format!("{{\"status\":\"{note}\"}}\n");
    assert_eq!(json.concat().matches(&status).count(), 1, "{json:?}");
    assert!(run(Mode::Quiet, with_a_note()).concat().is_empty());
}
