//! Golden tests of frames told from elsewhere, drawn by the renderers.

use super::*;
use crate::progress::render::{Mode, Renderer};

const L1: &str = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
const L2: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const L3: &str = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const DIGEST: &str = "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7";

/// One step of a script.
enum Step {
    Pulling(u64),
    /// A frame of one layer: (time, id, current, total, phase).
    E(u64, &'static str, u64, u64, Option<Phase>),
    Done(u64),
    Failed(u64, &'static str),
    Frame(u64, u16),
    Finish(u64, u16),
}
use Step::*;

fn run(mode: Mode, script: &[Step]) -> Vec<String> {
    let mut f = Feed::new();
    let mut r = Renderer::new(mode);
    let mut out = Vec::new();
    for step in script {
        match *step {
            Pulling(t) => f.pulling("latest", "library/busybox", t),
            E(t, id, c, total, ref p) => f.entry(id, c, total, p.clone(), t),
            Done(t) => {
                f.digest(DIGEST, t);
                f.done(
                    "busybox:latest",
                    "docker.io/library/busybox:latest",
                    false,
                    t,
                );
            }
            Failed(t, reason) => f.failed(reason, t),
            Frame(t, w) => out.push(r.frame(&f.snapshot(t), w, 0, t)),
            Finish(t, w) => out.push(r.finish(&f.snapshot(t), w, 0, t)),
        }
    }
    out
}

/// Frames as a daemon's progress map gives them: bytes only.
fn inferred() -> Vec<Step> {
    vec![
        Pulling(0),
        E(0, L1, 0, 2_800_000, None),
        E(0, L2, 0, 45_600_000, None),
        Frame(0, 80),
        E(1000, L1, 1_400_000, 2_800_000, None),
        E(1000, L2, 4_560_000, 45_600_000, None),
        Frame(1000, 80),
        E(2000, L1, 2_800_000, 2_800_000, None),
        E(2000, L2, 12_345_678, 45_600_000, None),
        Frame(2000, 80),
        Done(3000),
        Finish(3000, 80),
    ]
}

/// Frames that say their phase, including a retry and extraction bytes.
fn told() -> Vec<Step> {
    use Phase::*;
    vec![
        Pulling(0),
        E(0, L1, 0, 2_800_000, Some(AlreadyExists)),
        E(0, L2, 0, 10_000_000, Some(Queued)),
        E(0, L3, 0, 3_190_000, Some(Waiting)),
        Frame(0, 120),
        E(1000, L2, 4_000_000, 10_000_000, Some(Downloading)),
        E(1000, L3, 0, 3_190_000, Some(Waiting)),
        Frame(1000, 120),
        E(
            1500,
            L2,
            4_000_000,
            10_000_000,
            Some(Retrying {
                in_secs: 0,
                attempt: 0,
            }),
        ),
        // a frame without a phase and no new bytes: the retry stands
        E(1600, L2, 4_000_000, 10_000_000, None),
        Frame(1600, 120),
        E(2000, L2, 10_000_000, 10_000_000, Some(Verifying)),
        E(2000, L3, 1_000_000, 3_190_000, Some(Downloading)),
        Frame(2000, 120),
        E(3000, L2, 5_000_000, 10_000_000, Some(Extracting)),
        // an inferred frame does not undo a told phase past the download
        E(3000, L2, 10_000_000, 10_000_000, None),
        E(3000, L3, 3_190_000, 3_190_000, Some(DownloadComplete)),
        Frame(3000, 120),
        E(4000, L2, 10_000_000, 10_000_000, Some(PullComplete)),
        E(4000, L3, 3_190_000, 3_190_000, Some(Registering)),
        Frame(4000, 120),
        Done(5000),
        Finish(5000, 120),
    ]
}

/// Ids arrive in any order; a layer first seen later comes after the
/// others, and a frame with fewer bytes (a restarted transfer's own
/// counter) changes nothing.
fn out_of_order() -> Vec<Step> {
    vec![
        E(0, L3, 500_000, 3_190_000, None),
        Frame(0, 80),
        E(1000, L1, 0, 2_800_000, None),
        E(1000, L3, 1_500_000, 3_190_000, None),
        E(1000, L2, 0, 0, None),
        Frame(1000, 80),
        // the total of L2 becomes known; L3 goes back: ignored
        E(2000, L2, 2_000_000, 4_000_000, None),
        E(2000, L3, 200_000, 3_190_000, None),
        E(2000, L1, 2_800_000, 2_800_000, None),
        Frame(2000, 80),
        E(3000, L3, 200_000, 3_190_000, None),
        Frame(3000, 80),
    ]
}

/// One layer fails; the pull fails with a reason.
fn failing() -> Vec<Step> {
    vec![
        Pulling(0),
        E(0, L2, 10_000_000, 10_000_000, None),
        E(0, L3, 1_276_000, 3_190_000, None),
        Frame(0, 80),
        Failed(
            1000,
            "failed to pull busybox:latest: connection reset by peer",
        ),
        // frames after the end are ignored
        E(1100, L3, 3_190_000, 3_190_000, None),
        Finish(1100, 80),
    ]
}

#[test]
fn phases_are_inferred_from_the_bytes_tty() {
    assert_eq!(
        run(Mode::Tty, &inferred()),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\ra3ed95caeb02: Waiting \n\
        \x1b[2K\r0123456789ab: Waiting \n\
        \x1b[2K\rTotal: 0B/48.4MB\n\
        ",
            "\x1b[3A\x1b[2K\ra3ed95caeb02: Downloading    1.4MB/2.8MB\n\
        \x1b[2K\r0123456789ab: Downloading   4.56MB/45.6MB\n\
        \x1b[2K\rTotal: 5.96MB/48.4MB\n\
        ",
            "\x1b[3A\x1b[2K\ra3ed95caeb02: Download complete \n\
        \x1b[2K\r0123456789ab: Downloading  12.35MB/45.6MB\n\
        \x1b[2K\rTotal: 15.15MB/48.4MB  9.186MB/s  ETA 4s\n\
        ",
            "\x1b[3A\x1b[2K\ra3ed95caeb02: Pull complete \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rTotal: 48.4MB/48.4MB  24.2MB/s\n\
        \x1b[2K\rDigest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        \x1b[2K\rStatus: Downloaded newer image for busybox:latest\n\
        \x1b[2K\rdocker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn phases_are_inferred_from_the_bytes_plain() {
    assert_eq!(
        run(Mode::Plain, &inferred()),
        [
            "latest: Pulling from library/busybox\n\
        a3ed95caeb02: Pulling fs layer\n\
        a3ed95caeb02: Waiting\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Waiting\n\
        ",
            "a3ed95caeb02: Downloading 50% (1.4MB/2.8MB)\n\
        0123456789ab: Downloading 10% (4.56MB/45.6MB)\n\
        ",
            "a3ed95caeb02: Download complete\n\
        0123456789ab: Downloading 27% (12.35MB/45.6MB)\n\
        ",
            "a3ed95caeb02: Pull complete\n\
        0123456789ab: Pull complete\n\
        Total: 48.4MB/48.4MB  24.2MB/s\n\
        Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        Status: Downloaded newer image for busybox:latest\n\
        docker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn phases_are_inferred_from_the_bytes_json() {
    assert_eq!(
        run(Mode::Json, &inferred()),
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":0,\"total\":48400000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1400000,\"total\":2800000},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":4560000,\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":5960000,\"total\":48400000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":12345678,\"total\":45600000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":15145678,\"total\":48400000},\"aux\":{\"speed\":9185678,\"eta\":4}}\n\
        ",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":48400000,\"total\":48400000},\"aux\":{\"speed\":24200000,\"eta\":null}}\n\
        {\"status\":\"Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\"}\n\
        {\"status\":\"Status: Downloaded newer image for busybox:latest\"}\n\
        {\"aux\":{\"Reference\":\"docker.io/library/busybox:latest\"}}\n\
        ",
        ]
    );
}

#[test]
fn told_phases_are_shown_as_told_tty() {
    assert_eq!(
        run(Mode::Tty, &told()),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pulling fs layer \n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 0B/13.19MB\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Downloading [====================>                              ]      4MB/10MB\n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4MB/13.19MB\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Retrying \n\
        \x1b[2K\rfedcba987654: Waiting \n\
        \x1b[2K\rTotal: 4MB/13.19MB\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Verifying Checksum \n\
        \x1b[2K\rfedcba987654: Downloading [===============>                                   ]      1MB/3.19MB\n\
        \x1b[2K\rTotal: 11MB/13.19MB  7MB/s  ETA 1s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Extracting [=========================>                         ]      5MB/10MB\n\
        \x1b[2K\rfedcba987654: Download complete \n\
        \x1b[2K\rTotal: 13.19MB/13.19MB  6.595MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Registering [==================================================>]   3.19MB/3.19MB\n\
        \x1b[2K\rTotal: 13.19MB/13.19MB  6.595MB/s\n\
        ",
            "\x1b[4A\x1b[2K\ra3ed95caeb02: Already exists \n\
        \x1b[2K\r0123456789ab: Pull complete \n\
        \x1b[2K\rfedcba987654: Pull complete \n\
        \x1b[2K\rTotal: 13.19MB/13.19MB  6.595MB/s\n\
        \x1b[2K\rDigest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        \x1b[2K\rStatus: Downloaded newer image for busybox:latest\n\
        \x1b[2K\rdocker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn told_phases_are_shown_as_told_plain() {
    assert_eq!(
        run(Mode::Plain, &told()),
        [
            "latest: Pulling from library/busybox\n\
        a3ed95caeb02: Already exists\n\
        0123456789ab: Pulling fs layer\n\
        fedcba987654: Pulling fs layer\n\
        fedcba987654: Waiting\n\
        ",
            "0123456789ab: Downloading 40% (4MB/10MB)\n\
        ",
            "0123456789ab: Retrying\n\
        ",
            "0123456789ab: Verifying Checksum\n\
        fedcba987654: Downloading 31% (1MB/3.19MB)\n\
        ",
            "0123456789ab: Extracting 50% (5MB/10MB)\n\
        fedcba987654: Download complete\n\
        ",
            "0123456789ab: Pull complete\n\
        fedcba987654: Registering 100% (3.19MB/3.19MB)\n\
        ",
            "fedcba987654: Pull complete\n\
        Total: 13.19MB/13.19MB  6.595MB/s\n\
        Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\n\
        Status: Downloaded newer image for busybox:latest\n\
        docker.io/library/busybox:latest\n\
        ",
        ]
    );
}

#[test]
fn told_phases_are_shown_as_told_json() {
    assert_eq!(
        run(Mode::Json, &told()),
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":0,\"total\":13190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":4000000,\"total\":10000000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":4000000,\"total\":13190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Retrying\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        ",
            "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":1000000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":11000000,\"total\":13190000},\"aux\":{\"speed\":7000000,\"eta\":1}}\n\
        ",
            "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":5000000,\"total\":10000000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":13190000,\"total\":13190000},\"aux\":{\"speed\":6595000,\"eta\":null}}\n\
        ",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Registering\",\"progressDetail\":{\"current\":3190000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        ",
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":13190000,\"total\":13190000},\"aux\":{\"speed\":6595000,\"eta\":null}}\n\
        {\"status\":\"Digest: sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7\"}\n\
        {\"status\":\"Status: Downloaded newer image for busybox:latest\"}\n\
        {\"aux\":{\"Reference\":\"docker.io/library/busybox:latest\"}}\n\
        ",
        ]
    );
}

#[test]
fn ids_keep_their_first_order_and_bytes_never_go_back_tty() {
    assert_eq!(
        run(Mode::Tty, &out_of_order()),
        [
            "\x1b[2K\rfedcba987654: Downloading    500kB/3.19MB\n\
        \x1b[2K\rTotal: 500kB/3.19MB\n\
        ",
            "\x1b[2A\x1b[2K\rfedcba987654: Downloading    1.5MB/3.19MB\n\
        \x1b[2K\ra3ed95caeb02: Waiting \n\
        \x1b[2K\r0123456789ab: Waiting \n\
        \x1b[2K\rTotal: 1.5MB/5.99MB  1MB/s  ETA 5s\n\
        ",
            "\x1b[4A\x1b[2K\rfedcba987654: Downloading    1.5MB/3.19MB\n\
        \x1b[2K\ra3ed95caeb02: Download complete \n\
        \x1b[2K\r0123456789ab: Downloading      2MB/4MB\n\
        \x1b[2K\rTotal: 6.3MB/9.99MB  2.9MB/s  ETA 2s\n\
        ",
            "\x1b[4A\x1b[2K\rfedcba987654: Downloading    1.5MB/3.19MB\n\
        \x1b[2K\ra3ed95caeb02: Download complete \n\
        \x1b[2K\r0123456789ab: Downloading      2MB/4MB\n\
        \x1b[2K\rTotal: 6.3MB/9.99MB  1.933MB/s  ETA 2s\n\
        ",
        ]
    );
}

#[test]
fn ids_keep_their_first_order_and_bytes_never_go_back_plain() {
    assert_eq!(
        run(Mode::Plain, &out_of_order()),
        [
            "fedcba987654: Pulling fs layer\n\
        fedcba987654: Downloading 15% (500kB/3.19MB)\n\
        ",
            "fedcba987654: Downloading 47% (1.5MB/3.19MB)\n\
        a3ed95caeb02: Pulling fs layer\n\
        a3ed95caeb02: Waiting\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Waiting\n\
        ",
            "a3ed95caeb02: Downloading\n\
        a3ed95caeb02: Download complete\n\
        0123456789ab: Downloading 50% (2MB/4MB)\n\
        ",
            "",
        ]
    );
}

#[test]
fn ids_keep_their_first_order_and_bytes_never_go_back_json() {
    assert_eq!(
        run(Mode::Json, &out_of_order()),
        [
            "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":500000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":500000,\"total\":3190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1500000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":1500000,\"total\":5990000},\"aux\":{\"speed\":1000000,\"eta\":5}}\n\
        ",
            "{\"status\":\"Downloading\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"a3ed95caeb02\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":2000000,\"total\":4000000},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":6300000,\"total\":9990000},\"aux\":{\"speed\":2900000,\"eta\":2}}\n\
        ",
            "",
        ]
    );
}

#[test]
fn a_failed_pull_ends_with_its_reason_tty() {
    assert_eq!(
        run(Mode::Tty, &failing()),
        [
            "\x1b[2K\rlatest: Pulling from library/busybox\n\
        \x1b[2K\r0123456789ab: Download complete \n\
        \x1b[2K\rfedcba987654: Downloading  1.276MB/3.19MB\n\
        \x1b[2K\rTotal: 11.28MB/13.19MB\n\
        ",
            "\x1b[2K\rError: failed to pull busybox:latest: connection reset by peer\n\
        ",
        ]
    );
}

#[test]
fn a_failed_pull_ends_with_its_reason_plain() {
    assert_eq!(
        run(Mode::Plain, &failing()),
        [
            "latest: Pulling from library/busybox\n\
        0123456789ab: Pulling fs layer\n\
        0123456789ab: Downloading\n\
        0123456789ab: Download complete\n\
        fedcba987654: Pulling fs layer\n\
        fedcba987654: Downloading 40% (1.276MB/3.19MB)\n\
        ",
            "Total: 11.28MB/13.19MB\n\
        Error: failed to pull busybox:latest: connection reset by peer\n\
        ",
        ]
    );
}

#[test]
fn a_failed_pull_ends_with_its_reason_json() {
    assert_eq!(
        run(Mode::Json, &failing()),
        [
            "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"0123456789ab\"}\n\
        {\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Downloading\",\"progressDetail\":{\"current\":1276000,\"total\":3190000},\"id\":\"fedcba987654\"}\n\
        {\"status\":\"Summary\",\"progressDetail\":{\"current\":11276000,\"total\":13190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        ",
            "{\"status\":\"Summary\",\"progressDetail\":{\"current\":11276000,\"total\":13190000},\"aux\":{\"speed\":null,\"eta\":null}}\n\
        {\"errorDetail\":{\"message\":\"failed to pull busybox:latest: connection reset by peer\"},\"error\":\"failed to pull busybox:latest: connection reset by peer\"}\n\
        ",
        ]
    );
}

#[test]
fn done_completes_every_layer_and_ends_the_feed() {
    let mut f = Feed::new();
    f.entry(L1, 0, 100, Some(Phase::AlreadyExists), 0);
    f.entry(L2, 40, 100, None, 0);
    f.entry(L3, 0, 0, None, 0);
    assert!(!f.ended());
    f.done("x:v1", "example.com/x:v1", false, 10);
    assert!(f.ended());
    // ignored once ended
    f.entry(L2, 0, 100, Some(Phase::Downloading), 20);
    f.entry("sha256:new", 1, 2, None, 20);
    f.failed("late", 20);
    let s = f.snapshot(20);
    let phases: Vec<_> = s
        .entries
        .iter()
        .map(|e| (e.short_id(), e.phase.text(), e.current))
        .collect();
    assert_eq!(
        phases,
        [
            ("a3ed95caeb02", "Already exists".to_string(), 0),
            ("0123456789ab", "Pull complete".to_string(), 100),
            ("fedcba987654", "Pull complete".to_string(), 0),
        ]
    );
    assert!(matches!(
        s.outcome,
        crate::progress::model::Outcome::Done { .. }
    ));
}

#[test]
fn an_empty_id_is_ignored_and_a_late_total_is_taken() {
    let mut f = Feed::new();
    f.entry("", 5, 10, None, 0);
    f.entry(L2, 5, 0, None, 0);
    assert_eq!(f.snapshot(0).entries.len(), 1);
    assert_eq!(f.snapshot(0).summary.total, 5); // unknown size: counts what is held
    f.entry(L2, 5, 10, None, 1);
    let s = f.snapshot(1);
    assert_eq!((s.entries[0].current, s.entries[0].total), (5, 10));
    assert_eq!(s.entries[0].phase, Phase::Downloading);
    f.entry(L2, 10, 0, None, 2); // a total of 0 keeps the one known
    assert_eq!(f.snapshot(2).entries[0].phase, Phase::DownloadComplete);
}

#[test]
fn a_second_retry_is_a_new_phase_change() {
    let mut f = Feed::new();
    let retry = Some(Phase::Retrying {
        in_secs: 0,
        attempt: 0,
    });
    f.entry(L2, 10, 100, None, 0);
    f.entry(L2, 10, 100, retry.clone(), 1);
    f.entry(L2, 10, 100, retry.clone(), 2);
    f.entry(L2, 20, 100, None, 3);
    f.entry(L2, 20, 100, retry, 4);
    let steps: Vec<_> = f.snapshot(4).entries[0]
        .history
        .iter()
        .map(|c| c.phase.clone())
        .collect();
    assert_eq!(
        steps,
        [
            Phase::Queued,
            Phase::Downloading,
            Phase::Retrying {
                in_secs: 0,
                attempt: 1
            },
            Phase::Downloading,
            Phase::Retrying {
                in_secs: 0,
                attempt: 2
            },
        ]
    );
}
