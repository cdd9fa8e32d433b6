//! Mirrors and pull-through caches from `<certs_dir>/<host>/hosts.toml`,
//! against real docker-registry processes (one in proxy mode) and the
//! fault proxy, which counts the requests and body bytes of every blob.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use isula_registry::error::Error;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::{Event, Observer};
use isula_registry::pull::{self, Pulled};
use isula_registry::store::oci_layout::OciLayout;
use support::*;

/// A store, an auths dir and a certs dir of the test's own, and the notes
/// the pulls told their observer.
struct Env {
    dir: TempDir,
    notes: Notes,
}

/// The notes of a pull's progress.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Observer for Notes {
    fn observe(&self, e: Event) {
        if let Event::Note(text) = e {
            self.0.lock().unwrap().push(text);
        }
    }
}

impl Env {
    fn new() -> Env {
        Env {
            dir: temp_dir(),
            notes: Notes::default(),
        }
    }
    fn certs(&self) -> PathBuf {
        self.dir.path().join("certs.d")
    }
    /// Writes `<certs>/<host>/hosts.toml`.
    fn hosts_toml(&self, host: &str, text: &str) -> PathBuf {
        let dir = self.certs().join(host);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
    /// Pulls `<host>/test/m:v1` into store `store` (plain http allowed for the origin).
    fn pull(&self, host: &str, store: &str) -> Result<Pulled, Error> {
        let req = pull_request(
            &format!("{host}/test/m:v1"),
            "m:v1",
            &self.certs(),
            &self.dir.path().join("auths"),
            true,
        );
        let root = self.dir.path().join(store);
        pull::pull(
            &req,
            &EmbeddedHost::new(OciLayout::open(&root).unwrap()),
            &self.notes,
        )
    }
    fn has_image(&self, store: &str) -> bool {
        skopeo_inspect_oci(&self.dir.path().join(store), "m:v1").is_ok()
    }
}

fn sample(dir: &Path) -> BuiltImage {
    ImageSpec::sample(Compression::None).build(&dir.join("layout"), "v1")
}

/// Every blob of the image: the config and the layers.
fn blobs(built: &BuiltImage) -> Vec<String> {
    let mut all = vec![built.config_digest.clone()];
    all.extend(built.layers.iter().map(|l| l.digest.clone()));
    all
}

#[test]
fn pull_through_cache_serves_the_blobs() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    // the origin as the client and the cache see it, counting its requests
    let front = FaultProxy::for_registry(&origin);
    let mut opts = RegistryOptions::new(Mode::Http);
    opts.proxy_remote = Some(front.url());
    let cache = Registry::start_with(opts);
    let cache_counter = FaultProxy::for_registry(&cache);
    env.hosts_toml(
        &front.host(),
        &format!(
            "# a pull-through cache first\n[host.\"{}\"]\ncapabilities = [\"pull\", \"resolve\"]\n",
            cache_counter.url()
        ),
    );

    let pulled = env.pull(&front.host(), "s1").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    assert!(pulled.notes.is_empty(), "{:?}", pulled.notes);
    assert!(env.has_image("s1"));
    for digest in blobs(&built) {
        assert_eq!(
            cache_counter.blob_gets(&digest),
            1,
            "{digest} from the cache"
        );
        // the cache fetched it from the origin (no note: nobody else did)
        assert!(front.blob_gets(&digest) >= 1, "{digest}");
    }
    let origin_gets: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();

    // a second node: everything from the cache, nothing more at the origin
    let again = env.pull(&front.host(), "s2").unwrap();
    assert_eq!(again.digest, built.manifest_digest);
    assert!(env.has_image("s2"));
    for digest in blobs(&built) {
        assert_eq!(cache_counter.blob_gets(&digest), 2, "{digest}");
    }
    let after: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();
    assert_eq!(after, origin_gets, "the cache kept the blobs");
}

/// `_default/hosts.toml` puts a cache in front of every registry that has
/// no certs.d directory of its own; one that has a directory keeps to
/// itself.
#[test]
fn the_default_hosts_toml_serves_hosts_without_their_own() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    let front = FaultProxy::for_registry(&origin);
    let cache = FaultProxy::for_registry(&origin);
    env.hosts_toml(
        "_default",
        &format!("[host.\"{}\"]\ncapabilities = [\"pull\"]\n", cache.url()),
    );
    let pulled = env.pull(&front.host(), "s1").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    for digest in blobs(&built) {
        assert_eq!(
            cache.blob_gets(&digest),
            1,
            "{digest} from the default's mirror"
        );
        assert_eq!(front.blob_gets(&digest), 0, "{digest} not from the origin");
    }

    std::fs::create_dir_all(env.certs().join(front.host())).unwrap();
    env.pull(&front.host(), "s2").unwrap();
    for digest in blobs(&built) {
        assert_eq!(
            cache.blob_gets(&digest),
            1,
            "{digest}: the host's own directory wins"
        );
        assert_eq!(front.blob_gets(&digest), 1, "{digest} from the origin");
    }
}

#[test]
fn dead_mirror_falls_back_to_the_origin() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    let front = FaultProxy::for_registry(&origin);
    // nothing listens there
    let dead = format!("http://127.0.0.1:{}", free_port());
    env.hosts_toml(&front.host(), &format!("[host.\"{dead}\"]\n"));

    let pulled = env.pull(&front.host(), "s").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    assert!(env.has_image("s"));
    let first = &pulled.notes[0];
    assert!(
        first.starts_with(&format!("mirror {dead} failed: "))
            && first.ends_with(", trying the next"),
        "{first}"
    );
    // a mirror that did not answer is passed over for the rest of the pull
    assert_eq!(pulled.notes.len(), 1, "{:?}", pulled.notes);
    // and the progress said so as it happened
    assert_eq!(*env.notes.0.lock().unwrap(), pulled.notes);
    for digest in blobs(&built) {
        assert_eq!(front.blob_gets(&digest), 1, "{digest} from the origin");
    }
}

#[test]
fn mirror_reset_mid_blob_hands_the_rest_to_the_origin_with_range() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    let big = built.layers.iter().max_by_key(|l| l.size).unwrap().clone();
    assert!(big.size > 200_000, "{}", big.size);
    let front = FaultProxy::for_registry(&origin);
    let mirror = FaultProxy::for_registry(&origin);
    mirror.reset_after(&big.digest, 100_000, 1);
    // blobs only: tags are resolved at the origin
    env.hosts_toml(
        &front.host(),
        &format!("[host.\"{}\"]\ncapabilities = [\"pull\"]\n", mirror.url()),
    );

    let pulled = env.pull(&front.host(), "s").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    assert!(env.has_image("s"));
    assert_eq!(
        mirror.requests("/manifests/"),
        0,
        "no resolve on a pull-only host"
    );
    assert!(front.requests("/manifests/v1") >= 1);

    let at_mirror = mirror.blob_transfers(&big.digest);
    let at_origin = front.blob_transfers(&big.digest);
    assert_eq!(at_mirror.len(), 1, "{at_mirror:?}");
    assert_eq!(at_origin.len(), 1, "{at_origin:?}");
    let (sent_mirror, sent_origin) = (at_mirror[0].0, at_origin[0].0);
    assert!((1..=100_000).contains(&sent_mirror), "{sent_mirror}");
    let range = at_origin[0].1.as_deref().unwrap_or_default();
    assert!(
        range.starts_with("bytes=") && range != "bytes=0-",
        "{range}"
    );
    assert!(
        sent_mirror + sent_origin <= big.size + 64 * 1024,
        "{sent_mirror} + {sent_origin} bytes for a blob of {}",
        big.size
    );
    assert!(sent_origin < big.size, "resumed, not restarted");
    assert!(
        pulled
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("mirror {} failed", mirror.url()))),
        "{:?}",
        pulled.notes
    );
    assert_eq!(
        *env.notes.0.lock().unwrap(),
        pulled.notes,
        "progress tells the handover as it happens"
    );
    // the other blobs came from the mirror alone
    for digest in blobs(&built).iter().filter(|d| **d != big.digest) {
        assert_eq!(mirror.blob_gets(digest), 1, "{digest}");
        assert_eq!(front.blob_gets(digest), 0, "{digest}");
    }
}

#[test]
fn corrupt_blob_from_a_mirror_is_fetched_again_from_the_origin() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    let big = built.layers.iter().max_by_key(|l| l.size).unwrap().clone();
    let front = FaultProxy::for_registry(&origin);
    let mirror = FaultProxy::for_registry(&origin);
    mirror.corrupt(&big.digest, 1);
    env.hosts_toml(&front.host(), &format!("[host.\"{}\"]\n", mirror.url()));

    let pulled = env.pull(&front.host(), "s").unwrap();
    assert!(env.has_image("s"));
    assert_eq!(mirror.blob_gets(&big.digest), 1);
    // which host sent the bad byte is unknown: the whole blob again, elsewhere
    let at_origin = front.blob_transfers(&big.digest);
    assert_eq!(at_origin.len(), 1, "{at_origin:?}");
    assert_eq!(at_origin[0], (big.size, None));
    assert!(
        pulled.notes.iter().any(|n| n.contains("digest mismatch")),
        "{:?}",
        pulled.notes
    );
}

#[test]
fn each_host_gets_its_own_token() {
    let env = Env::new();
    let origin = Registry::start(Mode::token("u", "p"));
    let mirror = Registry::start(Mode::token("u", "p"));
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    push_oci(&built.layout_dir, "v1", &mirror, "test/m:v1").unwrap();
    let big = built.layers.iter().max_by_key(|l| l.size).unwrap().clone();
    let front = FaultProxy::for_registry(&origin);
    let mirror_front = FaultProxy::for_registry(&mirror);
    // the mirror fails mid-blob, so both hosts serve this pull
    mirror_front.reset_after(&big.digest, 100_000, 1);
    env.hosts_toml(
        &front.host(),
        &format!("[host.\"{}\"]\n", mirror_front.url()),
    );

    let pulled = env.pull(&front.host(), "s").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    assert_eq!(front.blob_gets(&big.digest), 1, "the rest of the blob");
    let sent = |p: &FaultProxy| -> Vec<String> {
        p.log()
            .into_iter()
            .filter_map(|r| r.authorization)
            .collect()
    };
    let (at_origin, at_mirror) = (sent(&front), sent(&mirror_front));
    assert!(!at_origin.is_empty() && !at_mirror.is_empty());
    assert!(
        at_origin.iter().all(|a| !at_mirror.contains(a)),
        "a token went to the wrong host"
    );
}

#[test]
fn https_mirror_with_its_own_ca() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let mirror = Registry::start(Mode::Https);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    push_oci(&built.layout_dir, "v1", &mirror, "test/m:v1").unwrap();
    let front = FaultProxy::for_registry(&origin);

    // without its CA the mirror is not trusted: the origin serves, told why
    env.hosts_toml(&front.host(), &format!("[host.\"{}\"]\n", mirror.url()));
    let pulled = env.pull(&front.host(), "s1").unwrap();
    let note = &pulled.notes[0];
    assert!(
        note.starts_with(&format!("mirror {} failed", mirror.url()))
            && note.contains("certificate"),
        "{note}"
    );
    assert_eq!(front.blob_gets(&built.config_digest), 1);

    // with `ca` (relative to the host's directory) it serves everything
    let dir = env.certs().join(front.host());
    std::fs::copy(mirror.ca_file(), dir.join("mirror-ca.crt")).unwrap();
    env.hosts_toml(
        &front.host(),
        &format!(
            "[host.\"{}\"]\ncapabilities = [\"pull\", \"resolve\"]\nca = \"mirror-ca.crt\"\n",
            mirror.url()
        ),
    );
    let before: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();
    let manifests_before = front.requests("/manifests/");
    let pulled = env.pull(&front.host(), "s2").unwrap();
    assert_eq!(pulled.digest, built.manifest_digest);
    assert!(pulled.notes.is_empty(), "{:?}", pulled.notes);
    assert!(env.has_image("s2"));
    let after: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();
    assert_eq!(after, before, "nothing from the origin");
    assert_eq!(front.requests("/manifests/"), manifests_before);
}

/// A mirror that requires a client certificate: without `client` it
/// refuses the handshake and the origin serves; with the pair named in
/// hosts.toml (relative to the host's directory) it serves everything.
#[test]
fn https_mirror_with_a_client_certificate() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let mut opts = RegistryOptions::new(Mode::Https);
    opts.require_client_cert = true;
    let mirror = Registry::start_with(opts);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    push_oci(&built.layout_dir, "v1", &mirror, "test/m:v1").unwrap();
    let front = FaultProxy::for_registry(&origin);
    let dir = env.certs().join(front.host());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(mirror.ca_file(), dir.join("mirror-ca.crt")).unwrap();
    let section = format!(
        "[host.\"{}\"]\ncapabilities = [\"pull\"]\nca = \"mirror-ca.crt\"\n",
        mirror.url()
    );

    env.hosts_toml(&front.host(), &section);
    let pulled = env.pull(&front.host(), "s1").unwrap();
    assert!(
        pulled.notes[0].starts_with(&format!("mirror {} failed", mirror.url())),
        "{:?}",
        pulled.notes
    );
    assert_eq!(front.blob_gets(&built.config_digest), 1);

    let pair = mirror
        .client_cert()
        .expect("the registry made a client certificate");
    std::fs::copy(&pair.cert_file, dir.join("client.cert")).unwrap();
    std::fs::copy(&pair.key_file, dir.join("client.key")).unwrap();
    env.hosts_toml(
        &front.host(),
        &format!("{section}client = [[\"client.cert\", \"client.key\"]]\n"),
    );
    let before: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();
    let pulled = env.pull(&front.host(), "s2").unwrap();
    assert!(pulled.notes.is_empty(), "{:?}", pulled.notes);
    assert!(env.has_image("s2"));
    let after: usize = blobs(&built).iter().map(|d| front.blob_gets(d)).sum();
    assert_eq!(after, before, "every blob from the mirror");
}

#[test]
fn malformed_hosts_toml_names_file_and_line() {
    let env = Env::new();
    let origin = Registry::start(Mode::Http);
    let built = sample(env.dir.path());
    push_oci(&built.layout_dir, "v1", &origin, "test/m:v1").unwrap();
    let front = FaultProxy::for_registry(&origin);
    let path = env.hosts_toml(
        &front.host(),
        "server = \"http://x\"\n\n[host.\"http://127.0.0.1:1\"]\ncapabilities = pull\n",
    );
    let e = env.pull(&front.host(), "s").unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(
        text.contains(&format!("{}: line 4, column 16", path.display())),
        "{text}"
    );
    assert!(text.contains("fix the file"), "{text}");
    assert!(front.log().is_empty(), "no request was made");
    assert!(!env.has_image("s"));
    let ingest = env.dir.path().join("s/.ingest");
    let left: Vec<_> = std::fs::read_dir(&ingest)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| n == "index.lock"), "{left:?}");
}
