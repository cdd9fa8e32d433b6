//! A hostile registry can't hurt a pull: against our own misbehaving
//! server (tests/support/hostile.rs), and the real docker-registry where it
//! fits, every bad case fails within its deadline with a message that says
//! what happened, writes nothing outside the store root, leaves nothing in
//! it, and sends credentials nowhere they must not go.

mod support;

use std::path::PathBuf;

use std::time::{Duration, Instant};

use isula_registry::auths::Secret;
use isula_registry::distribution::client::Credentials;

use isula_registry::error::Error;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::{Event, Observer, Silent};
use isula_registry::pull::{self, PullRequest, Pulled};
use isula_registry::store::oci_layout::OciLayout;
use support::hostile::{Auth, Blob, Hostile, Plan, REPO, TAG};
use support::*;

/// A store root, certs.d and auths in one temporary directory.
struct Env {
    dir: TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env { dir: temp_dir() };
        std::fs::create_dir_all(env.certs()).unwrap();
        env
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }
    fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }
    fn request(&self, image: &str, insecure: bool) -> PullRequest {
        pull_request(
            image,
            "hostile:v1",
            &self.certs(),
            &self.dir.path().join("auths"),
            insecure,
        )
    }

    /// Pulls on a thread; the test fails if it takes longer than `limit`.
    fn pull_within(&self, req: PullRequest, limit: Duration) -> Result<Pulled, Error> {
        let root = self.root();
        let started = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let host = EmbeddedHost::new(OciLayout::open(root).unwrap());
            let _ = tx.send(pull::pull(&req, &host, &Silent));
        });
        let result = rx
            .recv_timeout(limit + Duration::from_secs(30))
            .expect("the pull never ended");
        let took = started.elapsed();
        eprintln!("the pull ended after {took:?}");
        assert!(took < limit, "the pull took {took:?}, more than {limit:?}");
        result
    }

    /// Pulls, expecting failure within `limit`; the message.
    fn fail_within(&self, req: PullRequest, limit: Duration) -> String {
        let err = self
            .pull_within(req, limit)
            .expect_err("the pull should have failed")
            .to_string();
        eprintln!("failed as expected: {err}");
        assert!(!err.chars().any(char::is_control), "control chars: {err:?}");
        self.assert_clean();
        err
    }

    /// Nothing outside the root but what the test made; in the root no
    /// blob, no temporary file and no image.
    fn assert_clean(&self) {
        let mut top: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "auths")
            .collect();
        top.sort();
        assert_eq!(top, ["certs", "store"], "written outside the root");
        let blobs = self.root().join("blobs/sha256");
        let stored: Vec<_> = std::fs::read_dir(&blobs)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(stored.is_empty(), "blobs left in the store: {stored:?}");
        let ingest: Vec<String> = std::fs::read_dir(self.root().join(".ingest"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "index.lock")
                    .collect()
            })
            .unwrap_or_default();
        assert!(ingest.is_empty(), "temporary files left: {ingest:?}");
        if let Ok(index) = std::fs::read(self.root().join("index.json")) {
            let v: serde_json::Value = serde_json::from_slice(&index).unwrap();
            let none = serde_json::json!([]);
            assert_eq!(
                v.get("manifests").unwrap_or(&none),
                &none,
                "an image was stored"
            );
        }
    }

    fn assert_pulled(&self) {
        let index = std::fs::read(self.root().join("index.json")).unwrap();
        assert!(String::from_utf8_lossy(&index).contains("hostile:v1"));
    }
}

fn image_of(server: &Hostile) -> String {
    format!("{}/{REPO}:{TAG}", server.host())
}

const QUICK: Duration = Duration::from_secs(30);
const MINUTE: Duration = Duration::from_secs(60);

fn credentials() -> Option<Credentials> {
    Some(Credentials {
        username: "user".into(),
        password: Secret::new("secret-password".into()),
    })
}

#[test]
fn honest_server_pulls_by_tag_and_by_digest() {
    let server = Hostile::start(Plan::default());
    let env = Env::new();
    env.pull_within(env.request(&image_of(&server), true), QUICK)
        .unwrap();
    env.assert_pulled();
    let env = Env::new();
    let pinned = format!("{}/{REPO}@{}", server.host(), server.manifest_digest());
    env.pull_within(env.request(&pinned, true), QUICK).unwrap();
    env.assert_pulled();
}

// ---- rule 1: sizes

#[test]
fn blob_longer_than_declared_fails() {
    let server = Hostile::start(Plan {
        blob: Blob::Longer(5000),
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(env.request(&image_of(&server), true), QUICK);
    let image = server.image();
    let want = format!(
        "layer {} is longer than the {} bytes its manifest declares",
        image.layer_digest,
        image.layer.len()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn blob_shorter_than_declared_fails() {
    let server = Hostile::start(Plan {
        blob: Blob::Shorter(100),
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(env.request(&image_of(&server), true), QUICK);
    let len = server.image().layer.len();
    let want = format!(
        "the registry sent {len} bytes, its manifest declares {}",
        len + 100
    );
    assert!(
        err.contains("shorter than declared") && err.contains(&want),
        "{err}"
    );
}

#[test]
fn endless_blob_stops_at_its_size() {
    let server = Hostile::start(Plan {
        blob: Blob::Endless,
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(env.request(&image_of(&server), true), QUICK);
    assert!(err.contains("is longer than the"), "{err}");
}

#[test]
fn endless_schema1_layer_stops_at_the_cap() {
    let server = Hostile::start(Plan {
        blob: Blob::Endless,
        schema1: true,
        ..Plan::default()
    });
    let env = Env::new();
    isula_registry::api::set_max_unsized_layer(256 << 10);
    let err = env.pull_within(env.request(&image_of(&server), true), QUICK);
    isula_registry::api::set_max_unsized_layer(0);
    let err = err.expect_err("an endless layer").to_string();
    env.assert_clean();
    assert!(
        err.contains(
            "is larger than 262144 bytes, the most accepted for a layer without a declared size"
        ),
        "{err}"
    );
}

#[test]
fn endless_error_and_redirect_bodies_are_not_read_to_their_end() {
    let server = Hostile::start(Plan {
        blob: Blob::EndlessError(400),
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(
        env.request(&image_of(&server), true),
        Duration::from_secs(10),
    );
    assert!(err.contains("HTTP 400"), "{err}");
    let layer = server.image().layer_digest.clone();
    server.set_plan(Plan {
        blob: Blob::RedirectEndless(format!("http://{}/redirected/{layer}", server.host())),
        ..Plan::default()
    });
    let env = Env::new();
    env.pull_within(
        env.request(&image_of(&server), true),
        Duration::from_secs(10),
    )
    .unwrap();
    env.assert_pulled();
}

// ---- rule 2: time

#[test]
fn stalling_server_fails_within_a_minute() {
    let server = Hostile::start(Plan {
        blob: Blob::Stall,
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(env.request(&image_of(&server), true), MINUTE);
    assert!(
        err.contains("the registry stalled or trickled") && err.contains("gave up after"),
        "{err}"
    );
}

#[test]
fn trickling_server_fails_within_a_minute() {
    let server = Hostile::start(Plan {
        blob: Blob::Trickle,
        ..Plan::default()
    });
    let env = Env::new();
    let err = env.fail_within(env.request(&image_of(&server), true), MINUTE);
    assert!(err.contains("the registry stalled or trickled"), "{err}");
}

#[test]
fn always_busy_server_with_huge_retry_after_fails_within_a_minute() {
    for status in [503, 429] {
        let server = Hostile::start(Plan {
            blob: Blob::Status(status, "1000000000".into()),
            ..Plan::default()
        });
        let env = Env::new();
        let err = env.fail_within(env.request(&image_of(&server), true), MINUTE);
        assert!(
            err.contains(&format!("HTTP {status}")) && err.contains("gave up after"),
            "{err}"
        );
    }
}

// ---- rule 3: protocols and credentials

#[test]
fn realm_of_another_scheme_is_refused() {
    for realm in [
        "file:///etc/passwd",
        "ftp://127.0.0.1:1/token",
        "gopher://x/",
    ] {
        let server = Hostile::start(Plan {
            auth: Auth::Bearer(realm.into()),
            ..Plan::default()
        });
        let env = Env::new();
        let mut req = env.request(&image_of(&server), true);
        req.credentials = credentials();
        let err = env.fail_within(req, QUICK);
        assert!(
            err.contains("only http and https realms are used") && !err.contains("root:"),
            "{err}"
        );
        assert!(server.seen_with_credentials().is_empty());
    }
}

/// An HTTPS hostile registry with a certs.d entry for it in `env`.
fn tls_server(env: &Env, plan: Plan) -> Hostile {
    let ca = Ca::new(env.dir.path().join("certs").as_path());
    let pair = ca.issue_server(&env.certs(), "server");
    let server = Hostile::start_tls(plan, ca.acceptor(&pair));
    ca.write_certs_d(&env.certs(), &server.host(), None);
    server
}

#[test]
fn plain_http_realm_of_an_https_registry_is_refused() {
    let realm_server = Hostile::start(Plan::default());
    let env = Env::new();
    let server = tls_server(
        &env,
        Plan {
            auth: Auth::Bearer(format!("http://{}/token", realm_server.host())),
            ..Plan::default()
        },
    );
    let mut req = env.request(&image_of(&server), false);
    req.credentials = credentials();
    let err = env.fail_within(req, QUICK);
    assert!(
        err.contains("refusing to fetch a token over plain http"),
        "{err}"
    );
    assert!(realm_server.seen().is_empty(), "the realm was asked");
}

#[test]
fn credentials_go_over_plain_http_only_to_the_registry_itself() {
    // another host over http: refused, nothing sent
    let realm_server = Hostile::start(Plan::default());
    let server = Hostile::start(Plan {
        auth: Auth::Bearer(format!("http://{}/token", realm_server.other_host())),
        ..Plan::default()
    });
    let env = Env::new();
    let mut req = env.request(&image_of(&server), true);
    req.credentials = credentials();
    let err = env.fail_within(req, QUICK);
    assert!(
        err.contains("refusing to send the credentials over plain http to another host"),
        "{err}"
    );
    assert!(realm_server.seen().is_empty(), "the realm was asked");

    // the plain-http registry's own host: allowed
    let server = Hostile::start(Plan::default());
    server.set_plan(Plan {
        auth: Auth::Bearer(format!("http://{}/token", server.host())),
        ..Plan::default()
    });
    let env = Env::new();
    let mut req = env.request(&image_of(&server), true);
    req.credentials = credentials();
    env.pull_within(req, QUICK).unwrap();
    env.assert_pulled();
    let token_requests: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.target.starts_with("/token"))
        .collect();
    assert!(
        token_requests.iter().all(|s| s
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))),
        "{token_requests:?}"
    );
}

#[test]
fn authorization_does_not_follow_a_redirect_to_another_host() {
    let server = Hostile::start(Plan::default());
    let layer = server.image().layer_digest.clone();
    server.set_plan(Plan {
        auth: Auth::Basic("user".into(), "secret-password".into()),
        // the same server under another name: it records both
        blob: Blob::Redirect(format!("http://{}/redirected/{layer}", server.other_host())),
        ..Plan::default()
    });
    let env = Env::new();
    let mut req = env.request(&image_of(&server), true);
    req.credentials = credentials();
    env.pull_within(req, QUICK).unwrap();
    env.assert_pulled();
    let redirected: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.target.starts_with("/redirected/"))
        .collect();
    assert!(!redirected.is_empty(), "the redirect was not followed");
    assert!(
        redirected.iter().all(|s| s.authorization.is_none()),
        "credentials followed the redirect: {redirected:?}"
    );
}

#[test]
fn redirects_to_other_schemes_are_refused() {
    for location in ["file:///etc/passwd", "ftp://127.0.0.1:1/blob"] {
        let server = Hostile::start(Plan {
            blob: Blob::Redirect(location.into()),
            ..Plan::default()
        });
        let env = Env::new();
        let err = env.fail_within(env.request(&image_of(&server), true), QUICK);
        assert!(
            err.contains("refusing the redirect to") && err.contains("only http and https"),
            "{err}"
        );
    }
}

#[test]
fn https_never_redirects_to_plain_http() {
    let plain = Hostile::start(Plan::default());
    let env = Env::new();
    let layer = plain.image().layer_digest.clone();
    let server = tls_server(
        &env,
        Plan {
            blob: Blob::Redirect(format!("http://{}/redirected/{layer}", plain.host())),
            ..Plan::default()
        },
    );
    let err = env.fail_within(env.request(&image_of(&server), false), QUICK);
    assert!(err.contains("from https to plain http"), "{err}");
    assert!(plain.seen().is_empty(), "the plain-http URL was requested");
}

// ---- rule 4: integrity

/// A manifest that is not the one pinned, labelled signed schema1, with a
/// protected header that covers its own bytes.
fn forged_schema1(real: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let fake =
        String::from_utf8_lossy(real).replace("\"schemaVersion\":1", "\"schemaVersion\":1,\"x\":1");
    let body = fake.trim_end_matches('}');
    let protected = b64.encode(format!(
        r#"{{"formatLength":{},"formatTail":"{}"}}"#,
        body.len(),
        b64.encode("}")
    ));
    format!(r#"{body},"signatures":[{{"protected":"{protected}","signature":"AAAA"}}]}}"#)
        .into_bytes()
}

#[test]
fn a_digest_pin_is_not_bypassed_by_a_signed_schema1_label() {
    let server = Hostile::start(Plan::default());
    let pinned = format!("{}/{REPO}@{}", server.host(), server.manifest_digest());
    let signed = "application/vnd.docker.distribution.manifest.v1+prettyjws".to_string();
    let real = server.image().schema1_manifest();
    for (body, want) in [
        (forged_schema1(&real), "digest mismatch for manifest"),
        (
            real.clone(),
            "signed schema1 manifest cannot be verified: it has no signatures",
        ),
    ] {
        server.set_plan(Plan {
            manifest: Some((200, signed.clone(), body)),
            ..Plan::default()
        });
        let env = Env::new();
        let err = env.fail_within(env.request(&pinned, true), QUICK);
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn a_sha512_pin_is_refused_not_trusted() {
    let server = Hostile::start(Plan::default());
    let pinned = format!("{}/{REPO}@sha512:{}", server.host(), "ab".repeat(64));
    let env = Env::new();
    let err = env.fail_within(env.request(&pinned, true), QUICK);
    assert!(
        err.contains("cannot verify the digest sha512:") && err.contains("only sha256"),
        "{err}"
    );
    assert!(
        !server
            .seen()
            .iter()
            .any(|s| s.target.contains("/manifests/")),
        "the unverifiable manifest was fetched"
    );
}

#[test]
fn signed_schema1_pulled_by_digest_from_a_real_registry() {
    let env = Env::new();
    let mut opts = RegistryOptions::new(Mode::Http);
    opts.schema1 = true;
    let reg = Registry::start_with(opts);
    let built = ImageSpec::sample(Compression::Gzip).build(&env.dir.path().join("layout"), "v1");
    push_docker_v2s1(&built.layout_dir, "v1", &reg, "test/old:v1").unwrap();
    let digest = skopeo_inspect(&reg, "test/old:v1").unwrap()["Digest"]
        .as_str()
        .unwrap()
        .to_string();
    let raw = skopeo_inspect_raw(&reg, "test/old:v1").unwrap();
    assert!(
        String::from_utf8_lossy(&raw).contains("signatures"),
        "the registry should serve it signed"
    );
    assert_ne!(
        sha256_digest(&raw),
        digest,
        "the digest covers the payload only"
    );
    let mut req = env.request(&format!("{}/test/old@{digest}", reg.host()), true);
    req.certs_dir = reg.certs_dir().to_path_buf();
    env.pull_within(req, MINUTE).unwrap();
    env.assert_pulled();
}

// ---- rule 5: no hang, no crash

#[test]
fn a_huge_token_lifetime_does_not_crash_the_pull() {
    let server = Hostile::start(Plan::default());
    for expires in ["1000000000000000000", "1e18", "18446744073709551615"] {
        server.set_plan(Plan {
            auth: Auth::Bearer(format!("http://{}/token", server.host())),
            token_answer: Some(format!(r#"{{"token":"good","expires_in":{expires}}}"#)),
            ..Plan::default()
        });
        let env = Env::new();
        env.pull_within(env.request(&image_of(&server), true), QUICK)
            .unwrap_or_else(|e| panic!("expires_in {expires}: {e}"));
        env.assert_pulled();
    }
}

/// An observer with a bug: it panics when a layer download reports bytes
/// (on the download's own thread, inside libcurl's progress callback).
struct PanicsOnDownload;

impl Observer for PanicsOnDownload {
    fn observe(&self, e: Event) {
        if matches!(e, Event::Bytes { .. }) {
            panic!("observer bug");
        }
    }
}

#[test]
fn a_panic_in_a_download_ends_the_pull_and_releases_the_blob() {
    let server = Hostile::start(Plan::default());
    let env = Env::new();
    let host = EmbeddedHost::new(OciLayout::open(env.root()).unwrap());
    let req = env.request(&image_of(&server), true);
    let err = pull::pull(&req, &host, &PanicsOnDownload)
        .expect_err("the pull should fail")
        .to_string();
    assert!(
        err.contains("internal error") && err.contains("observer bug"),
        "{err}"
    );
    env.assert_clean();
    // the same blob, same store, same process: pulled, not waited for forever
    env.pull_within(env.request(&image_of(&server), true), QUICK)
        .unwrap();
    env.assert_pulled();
}

// ---- rule 6: clean text

#[test]
fn control_characters_of_error_bodies_never_reach_the_message() {
    let server = Hostile::start(Plan::default());
    let mut evil = b"\x1b[2J\x1b]0;owned\x07bad\r\nX-Forged: yes\x00\x9b".to_vec();
    evil.extend(std::iter::repeat_n(b'x', 50_000));
    for (content_type, body) in [
        ("text/plain", evil.clone()),
        (
            "application/json",
            format!(
                r#"{{"errors":[{{"code":"DENIED","message":"{}"}}]}}"#,
                "\\u001b[31mred\\r\\nforged".to_string() + &"y".repeat(5000)
            )
            .into_bytes(),
        ),
    ] {
        server.set_plan(Plan {
            manifest: Some((400, content_type.into(), body)),
            ..Plan::default()
        });
        let env = Env::new();
        let err = env.fail_within(env.request(&image_of(&server), true), QUICK);
        assert!(err.contains("HTTP 400"), "{err}");
        assert!(
            err.chars().count() < 400,
            "not shortened: {} chars",
            err.len()
        );
    }
}

// ---- peak RSS: the pull runs in a child process (this test binary, only
// `rss_child`), the hostile server stays here, so the child's VmHWM is the
// pull's memory and nothing of the server's

/// Most a hostile pull may hold at its peak, the whole process counted.
const RSS_LIMIT_KB: u64 = 64 << 10;

/// `VmHWM` (peak resident set) of this process, in kB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The child's side: pulls `$ISULA_RSS_IMAGE` into `$ISULA_RSS_DIR/store`
/// (an [`Env`]'s layout) and prints one line with its outcome and its peak
/// resident set before and after the pull. Run only by
/// [`peak_rss_of_pull`].
#[test]
#[ignore = "the child process of the peak RSS test, run by it"]
fn rss_child() {
    let image = std::env::var("ISULA_RSS_IMAGE").expect("run by peak_rss_of_pull");
    let dir = PathBuf::from(std::env::var("ISULA_RSS_DIR").unwrap());
    if let Ok(cap) = std::env::var("ISULA_RSS_MAX_UNSIZED") {
        isula_registry::api::set_max_unsized_layer(cap.parse().unwrap());
    }
    let req = pull_request(
        &image,
        "hostile:v1",
        &dir.join("certs"),
        &dir.join("auths"),
        true,
    );
    let before = peak_rss_kb();
    let host = EmbeddedHost::new(OciLayout::open(dir.join("store")).unwrap());
    let outcome = match pull::pull(&req, &host, &Silent) {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("error {e}"),
    };
    println!("RSS-CHILD before={before} peak={} {outcome}", peak_rss_kb());
}

/// What the child saw: peak kB before the pull, peak kB at its end, and
/// `ok` or `error <message>`.
struct ChildPull {
    before_kb: u64,
    peak_kb: u64,
    outcome: String,
}

/// Pulls `image` in a child process into `env`, with `extra` environment.
fn peak_rss_of_pull(env: &Env, image: &str, extra: &[(&str, String)]) -> ChildPull {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["rss_child", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads=1", "-q"])
        .env("ISULA_RSS_IMAGE", image)
        .env("ISULA_RSS_DIR", env.dir.path())
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RSS-CHILD "))
        .unwrap_or_else(|| {
            panic!(
                "the child said nothing: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut parts = line.splitn(3, ' ');
    let mut kb = |name: &str| -> u64 {
        let part = parts.next().unwrap();
        part.strip_prefix(name).unwrap().parse().unwrap()
    };
    let before_kb = kb("before=");
    let peak_kb = kb("peak=");
    ChildPull {
        before_kb,
        peak_kb,
        outcome: parts.next().unwrap_or("").to_string(),
    }
}

/// What, the plan, the child's environment, what the message must say.
type RssCase = (
    &'static str,
    Plan,
    Vec<(&'static str, String)>,
    &'static [&'static str],
);

#[test]
fn peak_rss_stays_under_64_mib_for_the_biggest_hostile_cases() {
    let huge = 100 << 20;
    let manifest_type = "application/vnd.docker.distribution.manifest.v2+json".to_string();
    let mut huge_manifest = br#"{"schemaVersion":2,"x":""#.to_vec();
    huge_manifest.resize(huge, b'a');
    // nesting the depth check must refuse, within the manifest size cap
    let deep_manifest = vec![b'['; 8 << 20];
    let huge_token = format!(r#"{{"token":"{}"}}"#, "t".repeat(huge));
    let cases: Vec<RssCase> = vec![
        (
            "endless blob",
            Plan {
                blob: Blob::Endless,
                ..Plan::default()
            },
            vec![],
            &["is longer than the"],
        ),
        (
            "endless schema1 layer, 128 MiB cap",
            Plan {
                blob: Blob::Endless,
                schema1: true,
                ..Plan::default()
            },
            vec![("ISULA_RSS_MAX_UNSIZED", (128u64 << 20).to_string())],
            &["is larger than 134217728 bytes"],
        ),
        (
            "endless error body",
            Plan {
                blob: Blob::EndlessError(400),
                ..Plan::default()
            },
            vec![],
            &["HTTP 400"],
        ),
        (
            "100 MiB manifest",
            Plan {
                manifest: Some((200, manifest_type.clone(), huge_manifest)),
                ..Plan::default()
            },
            vec![],
            &["manifests/v1", "response larger than 10485760 bytes"],
        ),
        (
            "manifest nested 8 Mi levels deep",
            Plan {
                manifest: Some((200, manifest_type, deep_manifest)),
                ..Plan::default()
            },
            vec![],
            &["nested deeper than 64 levels"],
        ),
        (
            "100 MiB token",
            Plan {
                auth: Auth::Bearer("REALM".into()),
                token_answer: Some(huge_token),
                ..Plan::default()
            },
            vec![],
            &["get token from", "response larger than 10485760 bytes"],
        ),
    ];
    let mut report = Vec::new();
    for (what, mut plan, extra, says) in cases {
        let server = Hostile::start(Plan::default());
        if let Auth::Bearer(realm) = &mut plan.auth {
            *realm = format!("http://{}/token", server.host());
        }
        server.set_plan(plan);
        let env = Env::new();
        let started = Instant::now();
        let child = peak_rss_of_pull(&env, &image_of(&server), &extra);
        let took = started.elapsed();
        report.push(format!(
            "{what}: peak {} KiB ({} KiB before the pull), {took:.1?}: {}",
            child.peak_kb,
            child.before_kb,
            child.outcome.chars().take(120).collect::<String>()
        ));
        eprintln!("{}", report.last().unwrap());
        let err = child
            .outcome
            .strip_prefix("error ")
            .unwrap_or_else(|| panic!("{what}: the pull must fail: {}", child.outcome));
        assert!(says.iter().all(|s| err.contains(s)), "{what}: {err}");
        assert!(took < MINUTE, "{what}: {took:?}");
        env.assert_clean();
        assert!(
            child.peak_kb < RSS_LIMIT_KB,
            "{what}: peak RSS {} KiB, more than {RSS_LIMIT_KB} KiB",
            child.peak_kb
        );
    }
    eprintln!("peak RSS of hostile pulls:\n  {}", report.join("\n  "));
}
