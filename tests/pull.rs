//! Pulls against the real docker-registry in every mode, checked by reading
//! the store back with skopeo and umoci.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use isula_registry::auths::{AuthStore, Secret};
use isula_registry::distribution::client::Credentials;
use isula_registry::distribution::reference::Platform;
use isula_registry::error::Error;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::{Event, Observer, Phase, Silent};
use isula_registry::progress::map::{MapFeed, ProgressStatusMap};
use isula_registry::pull::{self, PullRequest, Pulled};
use isula_registry::store::oci_layout::OciLayout;
use support::*;

/// A store and an auths dir in a temporary directory.
struct Env {
    dir: TempDir,
}

impl Env {
    fn new() -> Env {
        Env { dir: temp_dir() }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }
    fn store(&self) -> OciLayout {
        OciLayout::open(self.root()).unwrap()
    }
    fn auths(&self) -> AuthStore {
        AuthStore::new(self.dir.path().join("auths"))
    }
    fn request(
        &self,
        reg_host: &str,
        repo_tag: &str,
        dest: &str,
        certs_dir: &Path,
        insecure: bool,
    ) -> PullRequest {
        pull_request(
            &format!("{reg_host}/{repo_tag}"),
            dest,
            certs_dir,
            &self.dir.path().join("auths"),
            insecure,
        )
    }
    fn pull(&self, req: &PullRequest, obs: &dyn Observer) -> Result<Pulled, Error> {
        pull::pull(req, &EmbeddedHost::new(self.store()), obs)
    }
    /// Pulls `<reg_host>/<repo_tag>` as `dest` (plain http allowed), which
    /// must succeed, recording what it reports.
    fn pull_recorded(
        &self,
        reg_host: &str,
        repo_tag: &str,
        dest: &str,
        certs_dir: &Path,
    ) -> (Pulled, Recorder) {
        let rec = Recorder::default();
        let req = self.request(reg_host, repo_tag, dest, certs_dir, true);
        let pulled = self.pull(&req, &rec).unwrap();
        (pulled, rec)
    }
    /// Files left in `.ingest/` besides the index lock.
    fn leftovers(&self) -> Vec<String> {
        ingest_leftovers(&self.root())
    }
}

/// Records every event.
#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Observer for Recorder {
    fn observe(&self, e: Event) {
        self.0.lock().unwrap().push(e);
    }
}

/// `id` entered `phase`.
fn phase(id: &str, phase: Phase) -> Event {
    Event::phase(id, phase)
}

impl Recorder {
    fn reports(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
    /// Byte counts of a digest never go back except right after a restart.
    fn assert_monotonic(&self) {
        let mut last: std::collections::HashMap<String, u64> = Default::default();
        for r in self.reports() {
            match r {
                Event::Bytes {
                    id: digest,
                    current,
                } => {
                    let prev = last.insert(digest.clone(), current).unwrap_or(0);
                    assert!(
                        current >= prev,
                        "{digest} went back from {prev} to {current}"
                    );
                }
                Event::Restart { id: digest } => {
                    last.remove(&digest);
                }
                _ => {}
            }
        }
    }
}

fn sample(dir: &Path, compression: Compression) -> BuiltImage {
    ImageSpec::sample(compression).build(&dir.join("layout"), "v1")
}

/// The image in the store equals what skopeo's own copy of the source gives.
fn assert_unpacks_like_reference(env: &Env, dest: &str, built: &BuiltImage) {
    let ours = env.dir.path().join("ours");
    let theirs = env.dir.path().join("theirs");
    umoci_unpack(&env.root(), dest, &ours).unwrap();
    reference_unpack(&built.layout_dir, &built.tag, &theirs).unwrap();
    assert_same_tree(&theirs, &ours);
}

#[test]
fn pulls_oci_gzip_image_as_skopeo_would() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/sample:v1").unwrap();

    let rec = Recorder::default();
    let req = env.request(
        &reg.host(),
        "test/sample:v1",
        "sample:v1",
        reg.certs_dir(),
        true,
    );
    let pulled = env.pull(&req, &rec).unwrap();
    assert_eq!(
        pulled,
        Pulled {
            digest: built.manifest_digest.clone(),
            up_to_date: false,
            notes: Vec::new(),
        }
    );

    let inspected = skopeo_inspect_oci(&env.root(), "sample:v1").unwrap();
    assert_eq!(
        inspected["Digest"],
        built.manifest_digest.as_str(),
        "an OCI manifest is stored as fetched"
    );
    for l in &built.layers {
        assert!(env.store().has_blob(&l.digest), "layer {} stored", l.digest);
    }
    assert_unpacks_like_reference(&env, "sample:v1", &built);
    assert!(
        env.leftovers().is_empty(),
        "leftovers: {:?}",
        env.leftovers()
    );
    rec.assert_monotonic();
    let reports = rec.reports();
    assert!(reports.iter().any(|e| matches!(e, Event::Done {
        name,
        up_to_date: false,
        ..
    } if name == "sample:v1")));
    for l in &built.layers {
        assert!(reports.contains(&phase(&l.digest, Phase::PullComplete)));
    }

    // again: nothing to fetch
    let again = env.pull(&req, &Silent).unwrap();
    assert!(again.up_to_date);
}

#[test]
fn pulls_zstd_and_uncompressed_layers() {
    for (compression, tag) in [(Compression::Zstd, "zstd"), (Compression::None, "plain")] {
        let env = Env::new();
        let reg = Registry::start(Mode::Http);
        let built = ImageSpec::sample(compression).build(&env.dir.path().join("layout"), tag);
        push_oci(&built.layout_dir, tag, &reg, &format!("test/sample:{tag}")).unwrap();
        let req = env.request(
            &reg.host(),
            &format!("test/sample:{tag}"),
            "s",
            reg.certs_dir(),
            true,
        );
        env.pull(&req, &Silent).unwrap();
        let raw = env.store().read_blob(&built.manifest_digest).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            m["layers"][0]["mediaType"],
            built.layers[0].media_type.as_str()
        );
        let config: serde_json::Value =
            serde_json::from_slice(&env.store().read_blob(&built.config_digest).unwrap()).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!(built.diff_ids())
        );
        if compression == Compression::None {
            assert_unpacks_like_reference(&env, "s", &built);
        }
    }
}

#[test]
fn pulls_docker_schema2_as_an_oci_image() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::Gzip);
    let digest = push_docker_v2s2(&built.layout_dir, "v1", &reg, "test/docker:v1").unwrap();
    let req = env.request(
        &reg.host(),
        "test/docker:v1",
        "docker:v1",
        reg.certs_dir(),
        true,
    );
    let pulled = env.pull(&req, &Silent).unwrap();
    assert_eq!(pulled.digest, digest, "reported digest is the registry's");
    let inspected = skopeo_inspect_oci(&env.root(), "docker:v1").unwrap();
    assert_eq!(
        inspected["Layers"],
        serde_json::json!(built.layer_digests()),
        "same layer blobs"
    );
    assert_unpacks_like_reference(&env, "docker:v1", &built);
}

#[test]
fn chooses_the_platform_from_an_index_and_a_docker_list() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let index = build_index(
        &env.dir.path().join("layout"),
        "multi",
        &ImageSpec::multiarch(Compression::Gzip),
    );
    push_oci_all(&index.layout_dir, "multi", &reg, "test/multi:v1").unwrap();
    push_docker_list(&index.layout_dir, "multi", &reg, "test/list:v1").unwrap();
    let amd64 = index.images.iter().find(|i| i.arch == "amd64").unwrap();
    let arm64 = index.images.iter().find(|i| i.arch == "arm64").unwrap();

    let mut req = env.request(
        &reg.host(),
        "test/multi:v1",
        "m:amd64",
        reg.certs_dir(),
        true,
    );
    let pulled = env.pull(&req, &Silent).unwrap();
    assert_eq!(
        pulled.digest, index.index_digest,
        "the digest shown is the index's"
    );
    assert_eq!(
        skopeo_inspect_oci(&env.root(), "m:amd64").unwrap()["Digest"],
        amd64.manifest_digest.as_str()
    );

    req.dest = "m:arm64".into();
    req.platform = Platform::parse("linux/arm64/v8").unwrap();
    env.pull(&req, &Silent).unwrap();
    assert_eq!(
        skopeo_inspect_oci(&env.root(), "m:arm64").unwrap()["Digest"],
        arm64.manifest_digest.as_str()
    );

    let mut list = env.request(
        &reg.host(),
        "test/list:v1",
        "l:arm64",
        reg.certs_dir(),
        true,
    );
    list.platform = Platform::parse("linux/arm64").unwrap();
    env.pull(&list, &Silent).unwrap();
    let stored = skopeo_inspect_oci(&env.root(), "l:arm64").unwrap();
    assert_eq!(stored["Layers"], serde_json::json!(arm64.layer_digests()));

    req.platform = Platform::parse("linux/s390x").unwrap();
    let err = env.pull(&req, &Silent).unwrap_err().to_string();
    assert!(
        err.contains("no image for platform linux/s390x") && err.contains("linux/arm64"),
        "{err}"
    );
}

#[test]
fn pulls_schema1_images() {
    let env = Env::new();
    let mut opts = RegistryOptions::new(Mode::Http);
    opts.schema1 = true;
    let reg = Registry::start_with(opts);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_docker_v2s1(&built.layout_dir, "v1", &reg, "test/old:v1").unwrap();
    let req = env.request(&reg.host(), "test/old:v1", "old:v1", reg.certs_dir(), true);
    env.pull(&req, &Silent).unwrap();
    let config_digest = skopeo_inspect_oci(&env.root(), "old:v1").unwrap();
    assert_eq!(
        config_digest["Layers"],
        serde_json::json!(built.layer_digests())
    );
    assert_unpacks_like_reference(&env, "old:v1", &built);
}

#[test]
fn https_with_certs_d_and_wrong_ca() {
    let env = Env::new();
    let reg = Registry::start(Mode::Https);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/tls:v1").unwrap();

    let req = env.request(&reg.host(), "test/tls:v1", "tls:v1", reg.certs_dir(), false);
    env.pull(&req, &Silent).unwrap();
    // marked insecure, a TLS registry is still pulled over verified https
    // (the unverified handshake that tells TLS from plain http, then the
    // real ping)
    let env_insecure = Env::new();
    let mut req_insecure = req.clone();
    req_insecure.insecure = true;
    env_insecure.pull(&req_insecure, &Silent).unwrap();

    let empty = env.dir.path().join("no-certs");
    let env2 = Env::new();
    let req = env2.request(&reg.host(), "test/tls:v1", "tls:v1", &empty, false);
    let err = env2.pull(&req, &Silent).unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(env2.store().find("tls:v1").unwrap().is_none());
    // insecure does not mean "no verification": only plain http is allowed
    let mut insecure = req.clone();
    insecure.insecure = true;
    assert!(env2.pull(&insecure, &Silent).is_err());
    let mut skip = req;
    skip.skip_tls_verify = true;
    env2.pull(&skip, &Silent).unwrap();
}

#[test]
fn basic_auth_with_given_and_stored_credentials() {
    let env = Env::new();
    let reg = Registry::start(Mode::basic("alice", "s3cr3t!pw"));
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/auth:v1").unwrap();
    let mut req = env.request(
        &reg.host(),
        "test/auth:v1",
        "auth:v1",
        reg.certs_dir(),
        false,
    );

    let err = env.pull(&req, &Silent).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "unauthorized: check credentials for {}",
            reg.host()
        )),
        "{err}"
    );

    req.credentials = Some(Credentials {
        username: "alice".into(),
        password: Secret::new("wrong".into()),
    });
    assert!(matches!(
        env.pull(&req, &Silent),
        Err(Error::Unauthorized { .. })
    ));

    req.credentials = None;
    env.auths().save(&reg.host(), "alice", "s3cr3t!pw").unwrap();
    env.pull(&req, &Silent).unwrap();
}

#[test]
fn token_auth_fetches_one_token_per_pull_and_refreshes_on_401() {
    let env = Env::new();
    // an https registry's realm is asked for tokens only over https
    let mut opts = RegistryOptions::new(Mode::token("bob", "hunter2"));
    opts.token_tls = true;
    let reg = Registry::start_with(opts);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/tok:v1").unwrap();
    let token = reg.token_server().unwrap();

    let before = token.token_requests();
    let req = env.request(&reg.host(), "test/tok:v1", "tok:v1", reg.certs_dir(), false);
    env.pull(&req, &Silent).unwrap();
    assert_eq!(
        token.token_requests() - before,
        1,
        "one token for the whole pull (anonymous)"
    );
    let q = token.last_query().unwrap();
    assert!(
        q.contains("scope=repository%3Atest%2Ftok%3Apull") && q.contains("service="),
        "{q}"
    );

    // with credentials, the account is sent and Basic auth is used
    let env2 = Env::new();
    let mut req = env2.request(&reg.host(), "test/tok:v1", "tok:v1", reg.certs_dir(), false);
    req.credentials = Some(Credentials {
        username: "bob".into(),
        password: Secret::new("hunter2".into()),
    });
    env2.pull(&req, &Silent).unwrap();
    assert!(token.last_had_basic_auth());
    assert!(token.last_query().unwrap().contains("account=bob"));

    req.credentials = Some(Credentials {
        username: "bob".into(),
        password: Secret::new("nope".into()),
    });
    let err = Env::new().pull(&req, &Silent).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");

    // a registry that starts refusing the cached token: fetched again, once
    let proxy = FaultProxy::start_tls_upstream(&reg.host(), reg.ca());
    proxy.status(
        "/blobs/",
        401,
        1,
        &[(
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"{}\",service=\"{}\"",
                token.realm(),
                token.service()
            ),
        )],
    );
    let env3 = Env::new();
    let req = env3.request(
        &proxy.host(),
        "test/tok:v1",
        "tok:v1",
        reg.certs_dir(),
        true,
    );
    let before = token.token_requests();
    env3.pull(&req, &Silent).unwrap();
    assert_eq!(
        token.token_requests() - before,
        2,
        "the 401 made the client fetch a new token"
    );
}

#[test]
fn transient_failures_are_retried_and_resumed() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::None);
    push_oci(&built.layout_dir, "v1", &reg, "test/flaky:v1").unwrap();
    let big = built.layers.iter().max_by_key(|l| l.size).unwrap().clone();
    let proxy = FaultProxy::for_registry(&reg);
    proxy.reset_after(&big.digest, 100_000, 1);
    proxy.status(&built.layers[1].digest, 503, 1, &[]);
    proxy.status(&built.config_digest, 429, 1, &[("Retry-After", "1")]);
    proxy.status("/manifests/", 502, 1, &[]);

    let (_, rec) = env.pull_recorded(&proxy.host(), "test/flaky:v1", "flaky:v1", reg.certs_dir());
    assert_eq!(
        proxy.blob_gets(&big.digest),
        2,
        "one reset, one resumed attempt"
    );
    rec.assert_monotonic();
    let reports = rec.reports();
    assert!(
        !reports.contains(&Event::Restart {
            id: big.digest.clone()
        }),
        "resumed, not restarted"
    );
    assert!(reports.iter().any(
        |r| matches!(r, Event::Phase { id, phase: Phase::Retrying { .. } } if *id == big.digest)
    ));
    assert_unpacks_like_reference(&env, "flaky:v1", &built);
}

#[test]
fn a_download_cut_after_bytes_came_is_resumed_at_once() {
    // a reset in the middle of a body is not a failing server: no backoff
    // of a second before the resume (iSulad resumes at once)
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let mut spec = ImageSpec::sample(Compression::Gzip);
    spec.layers
        .push(LayerSpec::new().file("big/random.bin", pseudo_random(4 << 20, 3), 0o644));
    let built = spec.build(&env.dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/cut:v1").unwrap();
    let big = built.layers.iter().max_by_key(|l| l.size).unwrap().clone();
    let proxy = FaultProxy::for_registry(&reg);
    proxy.reset_after(&big.digest, 2 << 20, 1);

    let (_, rec) = env.pull_recorded(&proxy.host(), "test/cut:v1", "cut:v1", reg.certs_dir());
    assert_eq!(
        proxy.blob_gets(&big.digest),
        2,
        "one reset, one resumed attempt"
    );
    let waits: Vec<u32> = rec
        .reports()
        .iter()
        .filter_map(|r| match r {
            Event::Phase {
                id,
                phase: Phase::Retrying { in_secs, .. },
            } if *id == big.digest => Some(*in_secs),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [0], "the resume's announced wait, in seconds");
    assert_unpacks_like_reference(&env, "cut:v1", &built);
}

#[test]
fn a_bad_blob_is_fetched_again_then_fails_cleanly() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/bad:v1").unwrap();
    let layer = built.layers[0].digest.clone();
    let proxy = FaultProxy::for_registry(&reg);

    proxy.corrupt(&layer, 1);
    let (_, rec) = env.pull_recorded(&proxy.host(), "test/bad:v1", "bad:v1", reg.certs_dir());
    assert!(
        rec.reports()
            .contains(&Event::Restart { id: layer.clone() })
    );

    let env2 = Env::new();
    proxy.corrupt(&layer, 10);
    let req = env2.request(
        &proxy.host(),
        "test/bad:v1",
        "bad:v1",
        reg.certs_dir(),
        true,
    );
    let err = env2.pull(&req, &Silent).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("digest mismatch for layer {layer}")),
        "{err}"
    );
    assert!(env2.store().find("bad:v1").unwrap().is_none(), "no image");
    assert!(
        env2.leftovers().is_empty(),
        "no temp files: {:?}",
        env2.leftovers()
    );
    let stored: Vec<_> = std::fs::read_dir(env2.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(stored.is_empty(), "no blob of a failed pull is kept");
}

#[test]
fn missing_image_and_bad_names() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/x:v1").unwrap();
    let req = env.request(&reg.host(), "test/x:nope", "x:nope", reg.certs_dir(), true);
    let err = env.pull(&req, &Silent).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("manifest unknown: test/x:nope: the repository has no such tag"),
        "{err}"
    );
    let bad = env.request(&reg.host(), "Test/X:v1", "x", reg.certs_dir(), true);
    assert!(
        env.pull(&bad, &Silent)
            .unwrap_err()
            .to_string()
            .starts_with("Invalid image name")
    );
    assert!(env.leftovers().is_empty());
}

#[test]
fn concurrent_pulls_download_each_shared_blob_once() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::Gzip);
    push_oci(&built.layout_dir, "v1", &reg, "test/a:v1").unwrap();
    push_oci(&built.layout_dir, "v1", &reg, "test/b:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);
    // slow enough that the two pulls overlap
    proxy.throttle(400_000);
    let store = env.store();
    let reqs = [
        env.request(&proxy.host(), "test/a:v1", "a:v1", reg.certs_dir(), true),
        env.request(&proxy.host(), "test/b:v1", "b:v1", reg.certs_dir(), true),
    ];
    let maps: Vec<_> = (0..2).map(|_| ProgressStatusMap::new()).collect();
    std::thread::scope(|s| {
        for (req, map) in reqs.iter().zip(&maps) {
            let store = store.clone();
            s.spawn(move || {
                pull::pull(req, &EmbeddedHost::new(store), &MapFeed::new(map)).unwrap()
            });
        }
    });
    for l in &built.layers {
        let gets = proxy.blob_gets(&l.digest);
        assert_eq!(gets, 1, "layer {} fetched {gets} times", l.digest);
        // a pull that waited for the other's download shows its bytes too; one
        // that started after the other stored the layer shows it as existing
        let mut shown = 0;
        for map in &maps {
            if let Some(p) = map.get(&l.digest) {
                assert_eq!((p.dlnow, p.dltotal), (l.size as i64, l.size as i64));
                shown += 1;
            }
        }
        assert!(shown >= 1, "layer {} in no progress map", l.digest);
    }
    assert!(store.find("a:v1").unwrap().is_some() && store.find("b:v1").unwrap().is_some());
}

#[test]
fn cancel_stops_a_pull_and_leaves_nothing() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let built = sample(env.dir.path(), Compression::None);
    push_oci(&built.layout_dir, "v1", &reg, "test/c:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);
    proxy.throttle(50_000);
    let req = env.request(&proxy.host(), "test/c:v1", "c:v1", reg.certs_dir(), true);
    let cancel = req.cancel.clone();
    let started = std::time::Instant::now();
    let result = std::thread::scope(|s| {
        let pulling = s.spawn(|| env.pull(&req, &Silent));
        std::thread::sleep(std::time::Duration::from_millis(700));
        cancel.store(true, Ordering::Relaxed);
        pulling.join().unwrap()
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(env.store().find("c:v1").unwrap().is_none());
    assert!(env.leftovers().is_empty(), "{:?}", env.leftovers());
    proxy.clear_rules();
    let mut again = req.clone();
    again.cancel = Arc::new(AtomicBool::new(false));
    env.pull(&again, &Silent).unwrap();
}

#[test]
fn layers_already_stored_are_not_downloaded() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let base = ImageSpec::sample(Compression::Gzip);
    let mut bigger = base.clone();
    bigger
        .layers
        .push(LayerSpec::new().file("extra/file.txt", "one more layer\n", 0o644));
    let a = base.build(&env.dir.path().join("a"), "v1");
    let b = bigger.build(&env.dir.path().join("b"), "v1");
    push_oci(&a.layout_dir, "v1", &reg, "test/base:v1").unwrap();
    push_oci(&b.layout_dir, "v1", &reg, "test/bigger:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);

    env.pull(
        &env.request(&proxy.host(), "test/base:v1", "base", reg.certs_dir(), true),
        &Silent,
    )
    .unwrap();
    let (_, rec) = env.pull_recorded(&proxy.host(), "test/bigger:v1", "bigger", reg.certs_dir());
    let (shared, new) = b.layers.split_at(a.layers.len());
    for l in shared {
        assert_eq!(proxy.blob_gets(&l.digest), 1, "{} fetched again", l.digest);
        assert!(
            rec.reports()
                .contains(&phase(&l.digest, Phase::AlreadyExists))
        );
    }
    assert_eq!(proxy.blob_gets(&new[0].digest), 1);
    assert_unpacks_like_reference(&env, "bigger", &b);
}
