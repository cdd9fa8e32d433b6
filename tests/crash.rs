//! Crashes and processes: a pull killed with SIGKILL mid-blob leaves the
//! store valid and its partial blob is resumed by the next pull; one killed
//! after a layer was verified leaves that layer to be reused unread; and
//! processes pulling into one store download each blob once. The pulls run
//! in child processes: this test binary again, running `child_pull`.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::{Event, Observer, Phase};
use isula_registry::pull;
use isula_registry::store::oci_layout::OciLayout;
use serde_json::Value;
use support::*;

/// Bound on every wait here: a hang fails the test instead of hanging it.
const HANG: Duration = Duration::from_secs(120);

/// The environment variable that makes `child_pull` run, with its arguments.
const CHILD: &str = "ISULA_CRASH_TEST_CHILD";

/// Prints `waiting <digest>` for each layer shown as Waiting.
#[derive(Default)]
struct Waits(Mutex<Vec<String>>);

impl Observer for Waits {
    fn observe(&self, e: Event) {
        if let Event::Phase { id, phase } = e
            && phase == Phase::Waiting
        {
            self.0.lock().unwrap().push(id);
        }
    }
}

/// Run by the tests below in a child process (`ISULA_CRASH_TEST_CHILD` =
/// `image dest root certs_dir auths_dir`, tab-separated): one pull into
/// the store at `root`.
#[test]
#[ignore = "a child process of the crash tests, not a test of its own"]
fn child_pull() {
    let args = std::env::var(CHILD).expect("run by the crash tests with ISULA_CRASH_TEST_CHILD");
    let a: Vec<&str> = args.split('\t').collect();
    let [image, dest, root, certs, auths] = a[..] else {
        panic!("{CHILD} wants 5 tab-separated fields: {args}");
    };
    let req = pull_request(image, dest, Path::new(certs), Path::new(auths), true);
    let waits = Waits::default();
    let host = EmbeddedHost::new(OciLayout::open(root).unwrap());
    pull::pull(&req, &host, &waits).unwrap_or_else(|e| panic!("pull failed: {e}"));
    for d in waits.0.lock().unwrap().iter() {
        println!("waiting {d}");
    }
    // bytes this process read with read(2) and kin (sockets are recv'd)
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    let rchar = io
        .lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .trim();
    println!("read {rchar}");
    println!("pulled {dest}");
}

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
    fn ingest(&self) -> PathBuf {
        self.root().join(".ingest")
    }
    /// A child process pulling `image` (with its host) as `dest`.
    fn spawn(&self, image: &str, dest: &str, certs: &Path) -> Child {
        let fields = [
            image,
            dest,
            &self.root().to_string_lossy(),
            &certs.to_string_lossy(),
            &self.dir.path().join("auths").to_string_lossy(),
        ]
        .join("\t");
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_pull",
                "--ignored",
                "--nocapture",
                "--quiet",
            ])
            .env(CHILD, fields)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child pull")
    }
    /// What is in `.ingest/` besides the index lock.
    fn leftovers(&self) -> Vec<String> {
        ingest_leftovers(&self.root())
    }
    /// Bytes of blob `digest` in its ingest file (None: no file).
    fn ingested(&self, digest: &str) -> Option<u64> {
        let hex = digest.trim_start_matches("sha256:");
        std::fs::metadata(self.ingest().join(format!("sha256-{hex}.data")))
            .ok()
            .map(|m| m.len())
    }
    /// The store's index, which must be valid JSON, and its names; every
    /// image it lists has all its blobs.
    fn images(&self) -> Vec<String> {
        let text = std::fs::read(self.root().join("index.json")).unwrap();
        let index: Value = serde_json::from_slice(&text).expect("index.json is valid JSON");
        let blob = |d: &str| self.root().join("blobs/sha256").join(&d[7..]);
        let mut names = Vec::new();
        for m in index["manifests"].as_array().expect("a manifests array") {
            let digest = m["digest"].as_str().unwrap();
            let manifest: Value =
                serde_json::from_slice(&std::fs::read(blob(digest)).unwrap()).unwrap();
            let config = manifest["config"]["digest"].as_str().unwrap();
            assert!(blob(config).is_file(), "config of {m} missing");
            for l in manifest["layers"].as_array().unwrap() {
                let d = l["digest"].as_str().unwrap();
                let len = std::fs::metadata(blob(d)).map(|m| m.len());
                assert_eq!(len.ok(), l["size"].as_u64(), "layer {d} of {m} incomplete");
            }
            names.push(
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        names
    }
}

/// Waits for `child` to exit (killing it at the hang bound); its stdout.
fn finish(mut child: Child) -> Result<String, String> {
    let ok = wait_until(HANG, || child.try_wait().unwrap().is_some());
    if !ok {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if ok && out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "child pull {} ({}):\n{stdout}\n{}",
            if ok { "failed" } else { "hung" },
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The sample image plus a layer of `big` incompressible bytes, gzip.
fn image_with_big_layer(dir: &Path, big: usize) -> BuiltImage {
    let mut spec = ImageSpec::sample(Compression::Gzip);
    spec.layers
        .push(LayerSpec::new().file("big/random.bin", pseudo_random(big, 8), 0o644));
    spec.build(&dir.join("layout"), "v1")
}

/// The image of the kill tests, pushed as `test/crash:v1`, and its big
/// (last) layer.
fn pushed_big_image(env: &Env, reg: &Registry) -> (BuiltImage, BuiltLayer) {
    let built = image_with_big_layer(env.dir.path(), 6 << 20);
    push_oci(&built.layout_dir, "v1", reg, "test/crash:v1").unwrap();
    let big = built.layers.last().unwrap().clone();
    (built, big)
}

/// The bytes a child pull read with read(2), from its `read N` line.
fn read_count(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("read "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no read count in {out}"))
}

fn assert_unpacks_like_reference(env: &Env, dest: &str, built: &BuiltImage) {
    let ours = env.dir.path().join("ours");
    let theirs = env.dir.path().join("theirs");
    umoci_unpack(&env.root(), dest, &ours).unwrap();
    reference_unpack(&built.layout_dir, &built.tag, &theirs).unwrap();
    assert_same_tree(&theirs, &ours);
}

#[test]
fn a_pull_killed_mid_blob_is_resumed_and_leaves_nothing() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let (built, big) = pushed_big_image(&env, &reg);
    assert!(
        big.size > 6_000_000,
        "the big layer stays big: {}",
        big.size
    );
    let proxy = FaultProxy::for_registry(&reg);
    proxy.throttle(1_000_000);
    let image = format!("{}/test/crash:v1", proxy.host());

    let mut child = env.spawn(&image, "crash:v1", reg.certs_dir());
    let midway = wait_until(HANG, || env.ingested(&big.digest).unwrap_or(0) >= 1_500_000);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(midway, "the child never got 1.5 MB into the big layer");

    // what the crash left: a valid index without the image, the partial blob
    assert_eq!(env.images(), Vec::<String>::new());
    let on_disk: HashMap<String, u64> = built
        .layers
        .iter()
        .filter_map(|l| Some((l.digest.clone(), env.ingested(&l.digest)?)))
        .collect();
    let partial = on_disk[&big.digest];
    assert_eq!(
        env.ingested(&built.config_digest),
        Some(built.config_size),
        "the config was fetched before the layers"
    );
    let config_gets = proxy.blob_gets(&built.config_digest);
    assert!(
        partial < big.size,
        "killed before the big layer was complete"
    );
    let dead_dirs: Vec<String> = env
        .leftovers()
        .into_iter()
        .filter(|n| n.starts_with("pull-"))
        .collect();
    assert_eq!(
        dead_dirs.len(),
        1,
        "the dead pull's directory: {:?}",
        env.leftovers()
    );

    proxy.throttle(0);
    let mark = proxy.log_len();
    let out = finish(env.spawn(&image, "crash:v1", reg.certs_dir())).unwrap();
    assert!(out.contains("pulled crash:v1"), "{out}");

    let missing = big.size - partial;
    let fetched = proxy.blob_bytes_since(mark, &big.digest);
    assert!(
        fetched >= missing && fetched as f64 <= missing as f64 * 1.05,
        "{partial} of {} bytes were on disk: fetched {fetched} for the {missing} missing",
        big.size
    );
    eprintln!(
        "killed with {partial} of {} bytes on disk ({} layers complete): \
         fetched {fetched} of the {missing} missing",
        big.size,
        on_disk
            .iter()
            .filter(|(d, n)| built
                .layers
                .iter()
                .any(|l| &l.digest == *d && l.size == **n))
            .count()
    );
    let gets = proxy.blob_gets_since(mark, &big.digest);
    assert_eq!(
        gets.first().and_then(|g| g.range.clone()),
        Some(format!("bytes={partial}-")),
        "resumed with Range after the bytes on disk: {gets:?}"
    );
    // blobs the dead pull had completed are not fetched again
    for l in &built.layers {
        if on_disk.get(&l.digest) == Some(&l.size) {
            assert_eq!(
                proxy.blob_bytes_since(mark, &l.digest),
                0,
                "{} was complete on disk",
                l.digest
            );
        }
    }
    assert_eq!(
        proxy.blob_gets(&built.config_digest),
        config_gets,
        "the config the dead pull left is used"
    );
    assert_eq!(env.images(), ["crash:v1"]);
    assert_eq!(
        env.leftovers(),
        Vec::<String>::new(),
        "the dead ingest is gone"
    );
    assert_unpacks_like_reference(&env, "crash:v1", &built);
}

/// The second kill point: after a layer was verified, while another
/// still downloads. The verified layer's ingest keeps its digests, so the
/// next pull neither fetches it again nor reads it back from disk.
#[test]
fn a_pull_killed_after_a_layer_was_verified_reuses_it_unread() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    let (built, big) = pushed_big_image(&env, &reg);
    let small = built.layers.first().unwrap().clone();
    assert_ne!(small.digest, big.digest);
    let proxy = FaultProxy::for_registry(&reg);
    // the small layer's answer waits until the child is gone
    proxy.delay_times(&small.digest, 60_000, 1);
    let image = format!("{}/test/crash:v1", proxy.host());

    let mut child = env.spawn(&image, "crash:v1", reg.certs_dir());
    let hex = big.digest.trim_start_matches("sha256:");
    let lock = env.ingest().join(format!("sha256-{hex}.lock"));
    let verified = wait_until(HANG, || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("\nverified "))
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(verified, "the child never verified the big layer");
    assert_eq!(env.images(), Vec::<String>::new());
    assert_eq!(env.ingested(&big.digest), Some(big.size));

    proxy.clear_rules();
    let mark = proxy.log_len();
    let out = finish(env.spawn(&image, "crash:v1", reg.certs_dir())).unwrap();
    assert!(out.contains("pulled crash:v1"), "{out}");
    assert!(
        proxy.blob_gets_since(mark, &big.digest).is_empty(),
        "the verified layer was fetched again"
    );
    let read = read_count(&out);
    assert!(
        read < big.size / 2,
        "the next pull read {read} bytes: the {}-byte verified layer was read back",
        big.size
    );
    assert_eq!(env.images(), ["crash:v1"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
    assert_unpacks_like_reference(&env, "crash:v1", &built);
}

#[test]
fn processes_pulling_into_one_store_download_each_blob_once() {
    let env = Env::new();
    let reg = Registry::start(Mode::Http);
    // a 1 MiB layer that is whole while the 2 MiB one still comes: the
    // pulls waiting for it take it from the ingest, not from the store
    let mut spec = ImageSpec::sample(Compression::Gzip);
    spec.layers
        .push(LayerSpec::new().file("mid/random.bin", pseudo_random(1 << 20, 9), 0o644));
    spec.layers
        .push(LayerSpec::new().file("big/random.bin", pseudo_random(2 << 20, 8), 0o644));
    let built = spec.build(&env.dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/shared:v1").unwrap();
    let proxy = FaultProxy::for_registry(&reg);
    // slow enough that the pulls overlap
    proxy.throttle(2_000_000);
    let image = format!("{}/test/shared:v1", proxy.host());
    // the store exists before they start, as it would in use
    OciLayout::open(env.root()).unwrap();

    let children: Vec<Child> = (0..8)
        .map(|_| env.spawn(&image, "shared:v1", reg.certs_dir()))
        .collect();
    let outputs: Vec<String> = children.into_iter().map(|c| finish(c).unwrap()).collect();

    let config = (built.config_digest.clone(), built.config_size);
    for (digest, size) in built
        .layers
        .iter()
        .map(|l| (l.digest.clone(), l.size))
        .chain([config])
    {
        let gets = proxy.blob_gets(&digest);
        assert_eq!(gets, 1, "blob {digest} fetched {gets} times");
        assert_eq!(proxy.blob_bytes_since(0, &digest), size, "{digest}");
    }
    let waited = outputs
        .iter()
        .filter(|o| o.contains("waiting sha256:"))
        .count();
    assert!(
        waited >= 1,
        "no pull showed Waiting for another's download: {outputs:?}"
    );
    // a pull that waited for the 1 MiB layer links what the first one
    // kept, verified, without reading it back to hash it
    let mid = &built.layers[built.layers.len() - 2];
    let mut waited_for_mid = 0;
    for out in outputs
        .iter()
        .filter(|o| o.contains(&format!("waiting {}", mid.digest)))
    {
        waited_for_mid += 1;
        let read = read_count(out);
        assert!(
            read < mid.size,
            "a waiting pull read {read} bytes, the layer it waited for is {}: read back",
            mid.size
        );
    }
    assert!(
        waited_for_mid >= 1,
        "no pull waited for the 1 MiB layer: {outputs:?}"
    );
    assert_eq!(env.images(), ["shared:v1"], "the image is stored once");
    let blobs = std::fs::read_dir(env.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(
        blobs,
        built.layers.len() + 2,
        "layers, config and manifest, once"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
    assert_unpacks_like_reference(&env, "shared:v1", &built);
}
