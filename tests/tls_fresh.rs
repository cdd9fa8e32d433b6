//! A connection is reused only for the same TLS material: after the CA
//! file in certs.d is replaced at the same path, or `skip_tls_verify`
//! changes, the next pull in the same process (and on the same thread,
//! whose libcurl handle keeps its connections) uses the new trust.
//! Against the real docker-registry over HTTPS with certificates of our
//! own CA. A pull that fails on its layers is not proof enough (the layers
//! go over new connections of new threads): the registry's access log
//! must show that no request at all was answered under the old trust.
//! The same log shows that a pull speaks HTTP/1.1 over TLS.

mod support;

use std::io;
use std::path::Path;
use std::time::Duration;

use isula_registry::error::Error;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::Silent;
use isula_registry::pull::{self, PullRequest, Pulled};
use isula_registry::store::oci_layout::OciLayout;
use isula_registry::transport::{self, Request, Sink, Tls};
use support::*;

/// Requests the registry answered, from its access log (one line each).
fn answered(reg: &Registry) -> usize {
    reg.log()
        .lines()
        .filter(|l| l.contains("] \"GET /v2/"))
        .count()
}

/// The count once the registry has logged what it answered so far.
fn settled(reg: &Registry) -> usize {
    let mut last = answered(reg);
    wait_until(Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_millis(200));
        let now = answered(reg);
        std::mem::replace(&mut last, now) == now
    });
    last
}

/// Pulls into a new store under `dir` (so every pull fetches the manifest
/// and the layers, and nothing of an earlier pull is reused but the
/// connections).
fn pull_fresh(dir: &Path, n: u32, req: &PullRequest) -> Result<Pulled, Error> {
    let store = OciLayout::open(dir.join(format!("store-{n}"))).unwrap();
    pull::pull(req, &EmbeddedHost::new(store), &Silent)
}

fn assert_untrusted(result: Result<Pulled, Error>, what: &str) {
    let err = result
        .err()
        .unwrap_or_else(|| panic!("{what}: the pull must fail"))
        .to_string();
    assert!(
        err.contains("certificate is not trusted"),
        "{what}: not the unknown-CA message: {err}"
    );
}

#[test]
fn a_replaced_ca_file_takes_effect_on_the_next_pull() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    let built = ImageSpec::sample(Compression::Gzip).build(&dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/fresh:v1").unwrap();
    let unrelated = Ca::new(&dir.path().join("other-ca"));

    // certs.d of our own, so the file can be replaced
    let certs = dir.path().join("certs.d");
    let ca_path = reg
        .ca()
        .write_certs_d(&certs, &reg.host(), None)
        .join("ca.crt");
    let req = pull_request(
        &format!("{}/test/fresh:v1", reg.host()),
        "fresh:v1",
        &certs,
        &dir.path().join("auths"),
        false,
    );
    pull_fresh(dir.path(), 1, &req).expect("CA A trusted");
    let before = settled(&reg);

    // same path, another CA: the connection this thread keeps open must
    // not carry the old trust over
    write_file(&ca_path, &unrelated.pair.cert_pem());
    assert_untrusted(pull_fresh(dir.path(), 2, &req), "CA B in place of A");
    assert_untrusted(pull_fresh(dir.path(), 3, &req), "CA B, again");
    assert_eq!(
        settled(&reg),
        before,
        "requests were answered over a connection trusted by the old CA"
    );

    write_file(&ca_path, &reg.ca().pair.cert_pem());
    pull_fresh(dir.path(), 4, &req).expect("CA A back in place");
    pull_fresh(dir.path(), 5, &req).expect("CA A, again");
}

#[test]
fn a_pull_over_tls_speaks_http_1_1() {
    // docker-registry offers h2 by ALPN; libcurl 7.88 would take it, at
    // one stream per connection (each thread has its own), for about 15%
    // more wall time on big layers (bench/README.md)
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    let built = ImageSpec::sample(Compression::Gzip).build(&dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/h1:v1").unwrap();
    let certs = dir.path().join("certs.d");
    reg.ca().write_certs_d(&certs, &reg.host(), None);
    let req = pull_request(
        &format!("{}/test/h1:v1", reg.host()),
        "h1:v1",
        &certs,
        &dir.path().join("auths"),
        false,
    );
    pull_fresh(dir.path(), 1, &req).expect("pull over TLS");
    settled(&reg);
    let log = reg.log();
    let gets: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("] \"GET /v2/test/h1/"))
        .collect();
    // the manifest, the config and the layers at least
    assert!(
        gets.len() >= 3,
        "the pull's requests are not in the log:\n{log}"
    );
    for line in gets {
        assert!(line.contains(" HTTP/1.1\""), "not HTTP/1.1: {line}");
    }
}

#[test]
fn skip_tls_verify_toggles_between_pulls() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    let built = ImageSpec::sample(Compression::Gzip).build(&dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/skip:v1").unwrap();

    // no CA for the registry anywhere: only skipping verification works
    let certs = dir.path().join("empty-certs.d");
    std::fs::create_dir_all(&certs).unwrap();
    let mut req = pull_request(
        &format!("{}/test/skip:v1", reg.host()),
        "skip:v1",
        &certs,
        &dir.path().join("auths"),
        false,
    );
    req.skip_tls_verify = true;
    pull_fresh(dir.path(), 1, &req).expect("verification skipped");
    let before = settled(&reg);
    req.skip_tls_verify = false;
    assert_untrusted(pull_fresh(dir.path(), 2, &req), "verification back on");
    assert_eq!(settled(&reg), before, "answered without verification");
    req.skip_tls_verify = true;
    pull_fresh(dir.path(), 3, &req).expect("skipped again");
    let before = settled(&reg);
    req.skip_tls_verify = false;
    assert_untrusted(pull_fresh(dir.path(), 4, &req), "on again");
    assert_eq!(settled(&reg), before, "answered without verification");
}

/// Discards the response.
struct Discard;

impl Sink for Discard {
    fn head(&mut self, _: u32, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn body(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// One `GET /v2/` on this thread's handle: the status, or libcurl's code.
fn ping(url: &str, ca_file: &Path, verify: bool) -> Result<u32, u32> {
    let req = Request {
        url,
        tls: Tls {
            verify_peer: verify,
            verify_host: verify,
            ca_file: Some(ca_file),
            ..Tls::default()
        },
        deadline: Some(Duration::from_secs(30)),
        ..Request::default()
    };
    transport::perform(&req, &mut Discard, None)
        .map(|r| r.status)
        .map_err(|e| e.code)
}

/// libcurl's code for a peer certificate that does not verify.
const CURLE_PEER_FAILED_VERIFICATION: u32 = 60;

#[test]
fn one_thread_s_requests_follow_the_ca_file_and_verify_flag() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    let unrelated = Ca::new(&dir.path().join("other-ca"));
    let ca = reg
        .ca()
        .write_certs_d(&dir.path().join("certs.d"), &reg.host(), None)
        .join("ca.crt");
    let url = format!("https://{}/v2/", reg.host());
    assert_eq!(ping(&url, &ca, true), Ok(200));
    assert_eq!(ping(&url, &ca, true), Ok(200), "reused connection");
    write_file(&ca, &unrelated.pair.cert_pem());
    assert_eq!(ping(&url, &ca, true), Err(CURLE_PEER_FAILED_VERIFICATION));
    assert_eq!(ping(&url, &ca, false), Ok(200), "not verified");
    assert_eq!(ping(&url, &ca, true), Err(CURLE_PEER_FAILED_VERIFICATION));
    write_file(&ca, &reg.ca().pair.cert_pem());
    assert_eq!(ping(&url, &ca, true), Ok(200));
    assert_eq!(ping(&url, &ca, true), Ok(200));
    // replaced by a new file (a new inode), as editors and package
    // managers do, rather than rewritten in place
    let staged = dir.path().join("staged.crt");
    write_file(&staged, &unrelated.pair.cert_pem());
    std::fs::rename(&staged, &ca).unwrap();
    assert_eq!(ping(&url, &ca, true), Err(CURLE_PEER_FAILED_VERIFICATION));
}

#[test]
fn a_ca_file_replaced_after_use_is_read_again_for_another_origin() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    let unrelated = Ca::new(&dir.path().join("other-ca"));
    let ca = reg
        .ca()
        .write_certs_d(&dir.path().join("certs.d"), &reg.host(), None)
        .join("ca.crt");
    // the same server under two names (its certificate has both): two
    // origins to libcurl, one CA file. libcurl may keep a CA store parsed
    // for one connection for later ones (CURLOPT_CA_CACHE_TIMEOUT, keyed
    // by path); Debian 12's 7.88 did not here, later versions may.
    let by_address = format!("https://127.0.0.1:{}/v2/", reg.port());
    let by_name = format!("https://localhost:{}/v2/", reg.port());
    assert_eq!(ping(&by_address, &ca, true), Ok(200));
    write_file(&ca, &unrelated.pair.cert_pem());
    assert_eq!(
        ping(&by_name, &ca, true),
        Err(CURLE_PEER_FAILED_VERIFICATION),
        "a CA store parsed before the file changed was used"
    );
}
