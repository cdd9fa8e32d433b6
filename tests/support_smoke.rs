//! Proves each piece of tests/support works against the real tools.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::images::{self, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use support::*;

fn v2(reg: &Registry, auth: Option<&str>) -> CurlResponse {
    let mut extra = Vec::new();
    let h;
    if let Some(a) = auth {
        h = format!("Authorization: {a}");
        extra.extend(["-H", h.as_str()]);
    }
    reg.curl("/v2/", None, &extra).expect("curl /v2/")
}

#[test]
fn http_registry_answers_v2() {
    let reg = Registry::start(Mode::Http);
    assert!(reg.url().starts_with("http://127.0.0.1:"));
    let r = curl(&[&format!("{}/v2/", reg.url())]).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("Docker-Distribution-Api-Version"),
        Some("registry/2.0")
    );
    // No certs for plain HTTP.
    assert_eq!(std::fs::read_dir(reg.certs_dir()).unwrap().count(), 0);
    let pid = reg.pid().unwrap();
    drop(reg);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "registry still running after drop"
    );
}

#[test]
fn https_registry_answers_v2_with_ca() {
    let reg = Registry::start(Mode::Https);
    let url = format!("{}/v2/", reg.url());
    // Untrusted without the CA.
    let err = curl(&[&url]).unwrap_err();
    assert!(err.contains("(60)") || err.contains("certificate"), "{err}");
    let ca = reg.ca_file().display().to_string();
    let r = curl(&["--cacert", &ca, &url]).unwrap();
    assert_eq!(r.status, 200);
    // localhost is in the certificate too.
    let r = curl(&[
        "--cacert",
        &ca,
        &format!("https://localhost:{}/v2/", reg.port()),
    ])
    .unwrap();
    assert_eq!(r.status, 200);
    // certs.d layouts.
    let host_dir = reg.certs_dir().join(reg.host());
    assert!(host_dir.join("ca.crt").is_file());
    assert!(!host_dir.join("client.cert").exists());
    let client_dir = reg.client_certs_dir().join(reg.host());
    for f in ["ca.crt", "client.cert", "client.key"] {
        assert!(client_dir.join(f).is_file(), "{f}");
    }
}

#[test]
fn https_registry_can_require_client_cert() {
    let mut opts = RegistryOptions::new(Mode::Https);
    opts.require_client_cert = true;
    let reg = Registry::start_with(opts);
    let url = format!("{}/v2/", reg.url());
    let ca = reg.ca_file().display().to_string();
    assert!(curl(&["--cacert", &ca, &url]).is_err());
    // (curl reads `file:password` from --cert, so use the copies without
    // a colon in their path.)
    let pair = reg.client_cert().unwrap();
    let cert = pair.cert_file.display().to_string();
    let key = pair.key_file.display().to_string();
    let r = curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, &url]).unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn basic_registry_wants_credentials() {
    let reg = Registry::start(Mode::basic("alice", "s3cret"));
    let r = v2(&reg, None);
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Basic realm="),
        "{:?}",
        r.headers
    );
    let ca = reg.ca_file().display().to_string();
    let url = format!("{}/v2/", reg.url());
    let r = curl(&["--cacert", &ca, "-u", "alice:s3cret", &url]).unwrap();
    assert_eq!(r.status, 200);
    let r = curl(&["--cacert", &ca, "-u", "alice:wrong", &url]).unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn token_registry_accepts_our_tokens() {
    let reg = Registry::start(Mode::token("bob", "pw"));
    let ts = reg.token_server().unwrap();
    let r = v2(&reg, None);
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap().to_string();
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{}\"", ts.realm())),
        "{challenge}"
    );
    assert!(challenge.contains(&format!("service=\"{}\"", ts.service())));

    // Credentials: all requested actions.
    let url = format!(
        "{}?service={}&scope=repository:smoke/img:pull,push&scope=repository:other:pull",
        ts.realm(),
        ts.service()
    );
    let r = curl(&["-u", "bob:pw", &url]).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["access_token"].as_str(), Some(token.as_str()));
    assert!(ts.last_had_basic_auth());
    assert_eq!(ts.token_requests(), 1);
    let granted = &ts.requests()[0].access;
    assert_eq!(granted[0]["actions"], serde_json::json!(["pull", "push"]));
    assert_eq!(granted[1]["name"], "other");
    assert!(
        ts.last_query()
            .unwrap()
            .contains("scope=repository:other:pull")
    );

    let bearer = format!("Bearer {token}");
    assert_eq!(v2(&reg, Some(&bearer)).status, 200);
    // A token with a damaged signature is refused (change a character in
    // the middle of the signature: the last one may only hold padding bits).
    let mut forged = token.clone().into_bytes();
    let at = forged.len() - 20;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(v2(&reg, Some(&format!("Bearer {forged}"))).status, 401);

    // Wrong password: 401 with a JSON body; anonymous: pull only.
    let r = curl(&["-u", "bob:nope", &url]).unwrap();
    assert_eq!(r.status, 401);
    assert!(r.json()["details"].is_string());
    assert!(!curl(&[&url]).unwrap().json()["token"].is_null());
    assert!(!ts.last_had_basic_auth());
    let anon = ts.requests().pop().unwrap();
    assert_eq!(anon.access[0]["actions"], serde_json::json!(["pull"]));
    assert_eq!(ts.token_requests(), 3);
}

#[test]
fn token_expiry_is_configurable_and_enforced() {
    let mut opts = RegistryOptions::new(Mode::token("bob", "pw"));
    opts.token_expires_in = 7;
    opts.token_anonymous = false;
    opts.token_tls = true;
    let reg = Registry::start_with(opts);
    let ts = reg.token_server().unwrap();
    assert!(ts.realm().starts_with("https://127.0.0.1:"));
    let url = format!(
        "{}?service={}&scope=repository:a:pull",
        ts.realm(),
        ts.service()
    );
    let ca = reg.ca_file().display().to_string();
    let body = curl(&["--cacert", &ca, &url]).unwrap().json();
    assert_eq!(body["expires_in"], 7);
    // anonymous: false → a token without access.
    assert_eq!(ts.requests()[0].access[0]["actions"], serde_json::json!([]));
    // Minted tokens: valid ones pass, expired ones (beyond the registry's
    // 60 s leeway) do not.
    let ok = ts.issue("bob", &[], 300);
    assert_eq!(v2(&reg, Some(&format!("Bearer {ok}"))).status, 200);
    let expired = ts.issue("bob", &[], -120);
    assert_eq!(v2(&reg, Some(&format!("Bearer {expired}"))).status, 401);
}

fn sample_layout(compression: Compression) -> (TempDir, BuiltImage) {
    let dir = temp_dir();
    let img = ImageSpec::sample(compression).build(&dir.path().join("layout"), "v1");
    (dir, img)
}

#[test]
fn sample_layout_is_deterministic_and_complete() {
    let (_d1, a) = sample_layout(Compression::Gzip);
    let (_d2, b) = sample_layout(Compression::Gzip);
    assert_eq!(a.manifest_digest, b.manifest_digest);
    assert_eq!(a.layers.len(), 3);
    assert_eq!(a.manifest_digest, sha256_digest(&a.manifest));
    for l in &a.layers {
        let blob = std::fs::read(a.blob_path(&l.digest)).unwrap();
        assert_eq!(sha256_digest(&blob), l.digest);
        assert_eq!(blob.len() as u64, l.size);
        assert_ne!(l.digest, l.diff_id);
    }
    let cfg: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
    assert_eq!(cfg["rootfs"]["diff_ids"], serde_json::json!(a.diff_ids()));
    assert_eq!(cfg["architecture"], "amd64");
    assert_eq!(cfg["history"].as_array().unwrap().len(), 3);
    assert_eq!(cfg["created"], images::SAMPLE_CREATED);
    let (_d3, n) = sample_layout(Compression::None);
    assert_eq!(n.layers[0].digest, n.layers[0].diff_id);
    assert_eq!(n.diff_ids(), a.diff_ids());
    // skopeo reads the layout.
    let inspect = skopeo_inspect_oci(&a.layout_dir, "v1").unwrap();
    assert_eq!(inspect["Digest"], a.manifest_digest.as_str());
    assert_eq!(inspect["Layers"], serde_json::json!(a.layer_digests()));
}

#[test]
fn push_sample_gzip_to_http_and_token_registries() {
    let (_d, img) = sample_layout(Compression::Gzip);
    let http = Registry::start(Mode::Http);
    let d = push_oci(&img.layout_dir, "v1", &http, "smoke/sample:v1").unwrap();
    assert_eq!(d, img.manifest_digest);
    let i = skopeo_inspect(&http, "smoke/sample:v1").unwrap();
    assert_eq!(i["Digest"], img.manifest_digest.as_str());
    assert_eq!(i["Layers"], serde_json::json!(img.layer_digests()));
    // And with the plain curl/skopeo command line the brief names.
    let out = run_args(&[
        "skopeo",
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/smoke/sample:v1", http.host()),
    ])
    .unwrap();
    assert!(out.contains(&img.manifest_digest));

    let tok = Registry::start(Mode::token("bob", "pw"));
    let d = push_oci(&img.layout_dir, "v1", &tok, "smoke/sample:v1").unwrap();
    assert_eq!(d, img.manifest_digest);
    let ts = tok.token_server().unwrap();
    assert!(ts.token_requests() > 0);
    assert!(ts.requests().iter().any(|r| r.had_basic_auth));
    let raw = skopeo_inspect_raw(&tok, "smoke/sample:v1").unwrap();
    assert_eq!(sha256_digest(&raw), img.manifest_digest);
    // Anonymous pull works on the token registry, push does not.
    let out = run_args(&[
        "skopeo",
        "inspect",
        &format!("--cert-dir={}", tok.host_certs_dir().display()),
        &format!("docker://{}/smoke/sample:v1", tok.host()),
    ])
    .unwrap();
    assert!(out.contains(&img.manifest_digest));
}

#[test]
fn push_zstd_uncompressed_and_v2s2() {
    let reg = Registry::start(Mode::Http);
    for c in [Compression::Zstd, Compression::None] {
        let (_d, img) = sample_layout(c);
        let d = push_oci(
            &img.layout_dir,
            "v1",
            &reg,
            &format!("smoke/{c:?}:v1").to_lowercase(),
        )
        .unwrap();
        assert_eq!(d, img.manifest_digest, "{c:?}");
        let i = skopeo_inspect(&reg, &format!("smoke/{c:?}:v1").to_lowercase()).unwrap();
        assert_eq!(i["Digest"], img.manifest_digest.as_str());
        let raw = skopeo_inspect_raw(&reg, &format!("smoke/{c:?}:v1").to_lowercase()).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(m["layers"][0]["mediaType"], c.media_type());
    }
    let (_d, img) = sample_layout(Compression::Gzip);
    let d = push_docker_v2s2(&img.layout_dir, "v1", &reg, "smoke/docker:v1").unwrap();
    assert_ne!(d, img.manifest_digest);
    let raw = skopeo_inspect_raw(&reg, "smoke/docker:v1").unwrap();
    assert_eq!(sha256_digest(&raw), d);
    let m: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(m["mediaType"], DOCKER_MANIFEST);
    // gzip layers and the config keep their digests.
    assert_eq!(m["config"]["digest"], img.config_digest.as_str());
    assert_eq!(m["layers"][2]["digest"], img.layers[2].digest.as_str());
}

#[test]
fn push_index_and_docker_list() {
    let reg = Registry::start(Mode::Http);
    let dir = temp_dir();
    let idx = build_index(
        &dir.path().join("layout"),
        "multi",
        &ImageSpec::multiarch(Compression::Gzip),
    );
    assert_eq!(idx.images.len(), 2);
    let d = push_oci_all(&idx.layout_dir, "multi", &reg, "smoke/multi:oci").unwrap();
    assert_eq!(d, idx.index_digest);
    let raw = skopeo_inspect_raw(&reg, "smoke/multi:oci").unwrap();
    assert_eq!(sha256_digest(&raw), idx.index_digest);
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["mediaType"], OCI_INDEX);
    assert_eq!(v["manifests"][1]["platform"]["architecture"], "arm64");
    assert_eq!(v["manifests"][1]["platform"]["variant"], "v8");
    // Per-platform manifests are there by digest.
    let arm = &idx.images[1];
    let raw = skopeo_inspect_raw(&reg, &format!("smoke/multi@{}", arm.manifest_digest)).unwrap();
    assert_eq!(sha256_digest(&raw), arm.manifest_digest);

    let d = push_docker_list(&idx.layout_dir, "multi", &reg, "smoke/multi:docker").unwrap();
    assert_ne!(d, idx.index_digest);
    let raw = skopeo_inspect_raw(&reg, "smoke/multi:docker").unwrap();
    assert_eq!(sha256_digest(&raw), d);
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["mediaType"], DOCKER_LIST);
    assert_eq!(v["manifests"][0]["mediaType"], DOCKER_MANIFEST);
    assert_eq!(v["manifests"][1]["platform"]["architecture"], "arm64");
    let _ = OCI_MANIFEST;
}

#[test]
fn push_schema1() {
    let mut opts = RegistryOptions::new(Mode::Http);
    opts.schema1 = true;
    let reg = Registry::start_with(opts);
    let (_d, img) = sample_layout(Compression::Gzip);
    let d = push_docker_v2s1(&img.layout_dir, "v1", &reg, "smoke/s1:v1").unwrap();
    let raw = skopeo_inspect_raw(&reg, "smoke/s1:v1").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["schemaVersion"], 1, "{v}");
    assert!(v["signatures"].is_array());
    assert_eq!(v["fsLayers"].as_array().unwrap().len(), 3);
    // The digest skopeo reports is the registry's (signatures excluded).
    let r = reg
        .curl(
            "/v2/smoke/s1/manifests/v1",
            None,
            &["-H", &format!("Accept: {}", images::DOCKER_SCHEMA1_SIGNED)],
        )
        .unwrap();
    assert_eq!(r.header("docker-content-digest"), Some(d.as_str()));
    // Without the option the registry refuses schema1.
    let plain = Registry::start(Mode::Http);
    let err = push_docker_v2s1(&img.layout_dir, "v1", &plain, "smoke/s1:v1").unwrap_err();
    assert!(err.contains("manifest"), "{err}");
}

#[test]
fn fault_proxy_injects_and_counts() {
    let reg = Registry::start(Mode::Http);
    let (_d, img) = sample_layout(Compression::Gzip);
    push_oci(&img.layout_dir, "v1", &reg, "smoke/proxy:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);
    let big = &img.layers[0];
    assert!(big.size > 200_000);
    let url = format!("{}/v2/smoke/proxy/blobs/{}", proxy.url(), big.digest);
    proxy.reset_after(&big.digest, 1000, 1);
    let err = curl(&[&url]).unwrap_err();
    assert!(err.contains("(56)") || err.contains("(18)"), "{err}");
    let r = curl(&[&url]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(sha256_digest(&r.body), big.digest);

    proxy.status(
        "/v2/smoke/proxy/manifests/",
        503,
        1,
        &[("Retry-After", "1")],
    );
    let murl = format!("{}/v2/smoke/proxy/manifests/v1", proxy.url());
    let accept = "Accept: application/vnd.oci.image.manifest.v1+json";
    let r = curl(&["-H", accept, &murl]).unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["errors"][0]["code"], "UNAVAILABLE");
    let r = curl(&["-H", accept, &murl]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(sha256_digest(&r.body), img.manifest_digest);
    // HEAD passes through with no body.
    let r = curl(&["-I", "-H", accept, &murl]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("docker-content-digest"),
        Some(img.manifest_digest.as_str())
    );

    proxy.corrupt(&big.digest, 1);
    let r = curl(&[&url]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len() as u64, big.size);
    assert_ne!(sha256_digest(&r.body), big.digest);

    proxy.truncate(&big.digest, 5000, 1);
    let err = curl(&[&url]).unwrap_err();
    assert!(err.contains("(18)"), "{err}");

    // Keep-alive: two requests on one curl connection.
    let r = curl(&[&url, "-o", "/dev/null", &url]).unwrap();
    assert_eq!(r.status, 200);

    // reset, ok, corrupt, truncate, two over one connection.
    assert_eq!(proxy.blob_gets(&big.digest), 6);
    assert_eq!(proxy.blob_gets(&img.layers[1].digest), 0);
    assert_eq!(proxy.requests("/manifests/v1"), 3);
    let log = proxy.log();
    assert_eq!(log[0].fault.as_deref(), Some("reset_after(1000)"));
    assert_eq!(log[2].status, 503);

    // skopeo pulls through the proxy, retrying nothing: counts every blob once.
    let pulled = temp_dir();
    run_args(&[
        "skopeo",
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/smoke/proxy:v1", proxy.host()),
        &format!("oci:{}:x", pulled.path().join("oci").display()),
    ])
    .unwrap();
    for l in &img.layers[1..] {
        assert_eq!(proxy.blob_gets(&l.digest), 1, "{}", l.digest);
    }
}

#[test]
fn fault_proxy_delay_and_throttle() {
    let reg = Registry::start(Mode::Http);
    let data = pseudo_random(1 << 20, 7);
    let digest = reg.upload_blob("smoke/big", &data).unwrap();
    let proxy = FaultProxy::start(&reg.host());
    let url = format!("{}/v2/smoke/big/blobs/{digest}", proxy.url());

    let t = Instant::now();
    let r = curl(&[&url]).unwrap();
    assert_eq!(sha256_digest(&r.body), digest);
    let fast = t.elapsed();

    proxy.delay("/v2/", 300);
    let t = Instant::now();
    curl(&[&format!("{}/v2/", proxy.url())]).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    proxy.clear_rules();

    proxy.throttle(1 << 20);
    let t = Instant::now();
    let r = curl(&[&url]).unwrap();
    let slow = t.elapsed();
    assert_eq!(sha256_digest(&r.body), digest);
    assert!(slow >= Duration::from_millis(900), "{slow:?}");
    assert!(slow < Duration::from_secs(5), "{slow:?}");
    assert!(fast < slow);
}

#[test]
fn fault_proxy_in_front_of_token_registry() {
    let reg = Registry::start(Mode::token("bob", "pw"));
    let (_d, img) = sample_layout(Compression::Gzip);
    push_oci(&img.layout_dir, "v1", &reg, "smoke/tok:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);
    let auth = reg.auth_header("repository:smoke/tok:pull").unwrap();
    let h = format!("Authorization: {auth}");
    let url = format!("{}/v2/smoke/tok/blobs/{}", proxy.url(), img.config_digest);
    let r = curl(&["-H", &h, &url]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, img.config);
    assert_eq!(curl(&[&url]).unwrap().status, 401);
}

#[test]
fn reference_unpack_shows_whiteouts() {
    for c in [Compression::Gzip, Compression::Zstd] {
        let (d, img) = sample_layout(c);
        let dest = d.path().join("bundle");
        reference_unpack(&img.layout_dir, "v1", &dest).unwrap();
        let fp = tree_fingerprint(&dest);
        let get = |p: &str| fp.get(Path::new(p)).cloned();
        assert!(
            get("data/remove-me.txt").is_none(),
            "{c:?}: whiteout ignored"
        );
        assert!(get("data/keep.txt").is_some());
        assert!(get("data/new.txt").is_some());
        assert!(get("opaque/lower-a.txt").is_none(), "{c:?}: opaque ignored");
        assert!(get("opaque/sub").is_none());
        assert!(
            get("opaque/upper.txt")
                .unwrap()
                .starts_with("file mode=0644")
        );
        assert!(!fp.keys().any(|k| k.to_string_lossy().contains(".wh.")));
        assert_eq!(
            get("bin/tool-link").unwrap(),
            "symlink uid=0 gid=0 target=tool"
        );
        // Hard links: both names in one group, named by the first path.
        assert!(
            get("bin/tool-hard")
                .unwrap()
                .ends_with(" hardlink=bin/tool"),
            "{fp:?}"
        );
        assert!(get("bin/tool").unwrap().ends_with(" hardlink=bin/tool"));
        assert!(
            get("usr/share/secret")
                .unwrap()
                .contains("mode=0600 uid=1000 gid=1000")
        );
        assert!(get("var/empty").unwrap().starts_with("dir mode=0700"));
        assert!(
            get("etc/hostname")
                .unwrap()
                .contains(&sha256_digest(b"sample-2\n"))
        );
        // The same image from a registry unpacks to the same tree.
        if c == Compression::Gzip {
            let reg = Registry::start(Mode::Http);
            push_oci(&img.layout_dir, "v1", &reg, "smoke/unpack:v1").unwrap();
            let dest2 = d.path().join("bundle2");
            reference_unpack_from_registry(&reg, "smoke/unpack:v1", &dest2).unwrap();
            images::assert_same_tree(&dest, &dest2);
        }
    }
}

#[test]
fn search_server_answers() {
    let s = SearchServer::start(SearchResult::defaults());
    assert_eq!(
        curl(&[&format!("{}/v1/_ping", s.url())]).unwrap().status,
        200
    );
    let r = curl(&[&format!("{}/v1/search?q=busybox&n=1", s.url())]).unwrap();
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["query"], "busybox");
    assert_eq!(v["page_size"], 1);
    assert_eq!(v["num_results"], 1);
    assert_eq!(v["results"][0]["name"], "busybox");
    assert_eq!(v["results"][0]["is_official"], true);
    let v = curl(&[&format!("{}/v1/search?q=BUSYBOX&n=25", s.url())])
        .unwrap()
        .json();
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(s.queries(), vec!["busybox", "BUSYBOX"]);

    let reg = Registry::start(Mode::Https);
    let tls = SearchServer::start_https(vec![SearchResult::new("a/b", "c", 1)], reg.ca());
    let ca = reg.ca_file().display().to_string();
    let r = curl(&["--cacert", &ca, &format!("{}/v1/search?q=a", tls.url())]).unwrap();
    assert_eq!(r.json()["results"][0]["name"], "a/b");
    assert!(tls.certs_dir().join(tls.host()).join("ca.crt").is_file());
}
