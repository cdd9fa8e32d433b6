//! Failures say what to do: each test makes one happen for real (a
//! docker-registry in the wrong mode, a missing CA, a closed port, the fault
//! proxy's 403 and 429, an unknown repository or tag, a full or read-only
//! store) and checks the advice in the error's text.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use isula_registry::error::Error;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::Silent;
use isula_registry::pull::{self, PullRequest};
use isula_registry::store::oci_layout::OciLayout;
use support::*;

fn request(
    dir: &Path,
    host: &str,
    repo_tag: &str,
    certs_dir: &Path,
    insecure: bool,
) -> PullRequest {
    pull_request(
        &format!("{host}/{repo_tag}"),
        "dest:v1",
        certs_dir,
        &dir.join("auths"),
        insecure,
    )
}

/// Pulls into the store at `root`; the error's text.
fn pull_error(root: &Path, req: &PullRequest) -> String {
    let store = OciLayout::open(root).unwrap();
    let err =
        pull::pull(req, &EmbeddedHost::new(store), &Silent).expect_err("the pull should fail");
    let text = err.to_string();
    eprintln!("error: {text}");
    text
}

fn pushed(dir: &Path, reg: &Registry, repo_tag: &str) {
    let built = ImageSpec::sample(Compression::Gzip).build(&dir.join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", reg, repo_tag).unwrap();
}

#[test]
fn plain_http_where_https_was_expected() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    pushed(dir.path(), &reg, "test/x:v1");
    let req = request(dir.path(), &reg.host(), "test/x:v1", reg.certs_dir(), false);
    let err = pull_error(&dir.path().join("store"), &req);
    assert!(
        err.contains(&format!(
            "the registry answered plain HTTP: mark {} insecure if you trust it",
            reg.host()
        )),
        "{err}"
    );
}

#[test]
fn unknown_ca_names_the_file_to_put_it_in() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Https);
    pushed(dir.path(), &reg, "test/x:v1");
    let certs = dir.path().join("certs.d");
    let req = request(dir.path(), &reg.host(), "test/x:v1", &certs, false);
    let err = pull_error(&dir.path().join("store"), &req);
    let want = certs.join(reg.host()).join("ca.crt");
    assert!(
        err.contains(&format!(
            "the registry's certificate is not trusted: put its CA in {}",
            want.display()
        )),
        "{err}"
    );
    // and doing so works
    std::fs::create_dir_all(want.parent().unwrap()).unwrap();
    std::fs::copy(reg.ca_file(), &want).unwrap();
    let store = OciLayout::open(dir.path().join("store")).unwrap();
    pull::pull(&req, &EmbeddedHost::new(store), &Silent).unwrap();
}

#[test]
fn connection_refused() {
    let dir = temp_dir();
    // a port nothing listens on: bound, then closed
    let port = free_port();
    let host = format!("127.0.0.1:{port}");
    let req = request(dir.path(), &host, "test/x:v1", dir.path(), true);
    let err = pull_error(&dir.path().join("store"), &req);
    assert!(
        err.contains(&format!(
            "cannot connect to {host}: check the registry's address and port"
        )),
        "{err}"
    );
}

#[test]
fn unauthorized_says_log_in() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::basic("alice", "secret"));
    pushed(dir.path(), &reg, "test/x:v1");
    let req = request(dir.path(), &reg.host(), "test/x:v1", reg.certs_dir(), false);
    let err = pull_error(&dir.path().join("store"), &req);
    assert!(
        err.contains(&format!("or log in first (isula login {})", reg.host())),
        "{err}"
    );
}

#[test]
fn forbidden_and_rate_limited() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    pushed(dir.path(), &reg, "test/x:v1");
    let proxy = FaultProxy::for_registry(&reg);

    proxy.status("/manifests/", 403, 100, &[]);
    let req = request(
        dir.path(),
        &proxy.host(),
        "test/x:v1",
        reg.certs_dir(),
        true,
    );
    let err = pull_error(&dir.path().join("store"), &req);
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(
        err.contains("access denied: the registry does not let this account pull this repository"),
        "{err}"
    );

    // 429 is retried (honouring Retry-After); when it persists, the error
    // says how long to wait
    proxy.clear_rules();
    proxy.status("/manifests/", 429, 100, &[("Retry-After", "1")]);
    let err = pull_error(&dir.path().join("store"), &req);
    assert!(err.contains("HTTP 429"), "{err}");
    assert!(
        err.contains("rate limited by the registry: retry after 1 s"),
        "{err}"
    );
    assert!(
        proxy.requests("/manifests/") >= 2,
        "429 was not retried: {} requests",
        proxy.requests("/manifests/")
    );
}

#[test]
fn unknown_repository_and_unknown_tag_differ() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    pushed(dir.path(), &reg, "test/x:v1");
    let root = dir.path().join("store");

    let req = request(
        dir.path(),
        &reg.host(),
        "test/nothere:v1",
        reg.certs_dir(),
        true,
    );
    let err = pull_error(&root, &req);
    assert!(
        err.starts_with("repository unknown: test/nothere: the registry has no such repository"),
        "{err}"
    );
    let req = request(
        dir.path(),
        &reg.host(),
        "test/x:nope",
        reg.certs_dir(),
        true,
    );
    let err = pull_error(&root, &req);
    assert!(
        err.starts_with("manifest unknown: test/x:nope: the repository has no such tag"),
        "{err}"
    );
}

/// A tmpfs mounted for one test, unmounted when dropped (also on a panic).
struct Mount(PathBuf);

impl Mount {
    /// None (the test then says it is skipped) when this process may not mount.
    fn tmpfs(dir: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
        }
        ok.then(|| Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full_and_read_only_store() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    // 3 MiB that gzip cannot shrink, for a 1 MiB file system
    let big = LayerSpec::new().file("big.bin", pseudo_random(3 << 20, 7), 0o644);
    let built =
        ImageSpec::new(vec![big], Compression::Gzip).build(&dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/big:v1").unwrap();

    let Some(small) = Mount::tmpfs(&dir.path().join("small"), "size=1m") else {
        return;
    };
    let root = small.0.join("store");
    let req = request(
        dir.path(),
        &reg.host(),
        "test/big:v1",
        reg.certs_dir(),
        true,
    );
    let err = pull_error(&root, &req);
    assert!(
        err.contains("the disk of the image store is full: free space there"),
        "{err}"
    );
    let ingest: Vec<_> = std::fs::read_dir(root.join(".ingest"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "index.lock")
        .collect();
    assert!(ingest.is_empty(), "left behind: {ingest:?}");
    drop(small);

    // a store that cannot even be created, through the API as C callers see it
    let Some(ro) = Mount::tmpfs(&dir.path().join("ro"), "ro,size=1m") else {
        return;
    };
    isula_registry::api::set_root(ro.0.join("store"));
    let options = isula_registry::api::PullOptions {
        image: format!("{}/test/big:v1", reg.host()),
        dest: "big:v1".into(),
        insecure: true,
        ..Default::default()
    };
    let err =
        isula_registry::api::pull(&options, &Silent, Arc::new(AtomicBool::new(false))).unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err}");
    let err = err.to_string();
    eprintln!("error: {err}");
    assert!(
        err.contains("the image store is on a read-only file system: use another store root"),
        "{err}"
    );
}
