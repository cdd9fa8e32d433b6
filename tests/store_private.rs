//! The embedded store is private and follows no planted link: a pull from
//! the real docker-registry under umask 022 leaves only 0700 directories
//! and 0600 files, and a symbolic link planted where the store puts its
//! lock, its index or a subdirectory makes the operation fail, naming the
//! link, while the link's target stays untouched.

mod support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use isula_registry::host::Host;
use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::Silent;
use isula_registry::pull;
use isula_registry::store::oci_layout::{Descriptor, OciLayout};
use support::*;

/// Set in the child process this test starts under another umask: the
/// image to pull, then the store root.
const CHILD: &str = "ISULA_STORE_PRIVATE_CHILD";

fn modes_under(root: &Path, out: &mut Vec<(String, bool, u32)>) {
    for e in fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let m = fs::symlink_metadata(e.path()).unwrap();
        out.push((
            e.path().display().to_string(),
            m.is_dir(),
            m.permissions().mode() & 0o777,
        ));
        if m.is_dir() {
            modes_under(&e.path(), out);
        }
    }
}

#[test]
fn a_store_pulled_into_under_umask_022_is_private() {
    if let Ok(args) = std::env::var(CHILD) {
        // the child: pull, then let the parent look
        let (image, root) = args.split_once('\n').unwrap();
        let dir = temp_dir();
        let req = pull_request(image, "x:v1", dir.path(), dir.path(), true);
        let store = OciLayout::open(root).unwrap();
        pull::pull(&req, &EmbeddedHost::new(store), &Silent).unwrap();
        return;
    }
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    let built = ImageSpec::sample(Compression::Gzip).build(&dir.path().join("layout"), "v1");
    push_oci(&built.layout_dir, "v1", &reg, "test/private:v1").unwrap();
    let root = dir.path().join("var/lib/store");
    let image = format!("{}/test/private:v1", reg.host());

    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(exe)
        .args([
            "--exact",
            "a_store_pulled_into_under_umask_022_is_private",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{image}\n{}", root.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child pull failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let store = OciLayout::open(&root).unwrap();
    assert!(store.find("x:v1").unwrap().is_some(), "the image is stored");

    let mut entries = Vec::new();
    modes_under(&root, &mut entries);
    // the root and the parent directory it needed, too
    for d in [&root, &dir.path().join("var/lib"), &dir.path().join("var")] {
        let mode = fs::metadata(d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", d.display());
    }
    let blobs = entries
        .iter()
        .filter(|(p, _, _)| p.contains("/blobs/sha256/"));
    assert!(
        blobs.count() >= 3,
        "manifest, config and layers: {entries:?}"
    );
    for (path, is_dir, mode) in &entries {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path} is {mode:o}: the store must be private");
    }
}

#[test]
fn a_link_planted_at_the_lock_is_not_followed() {
    let dir = temp_dir();
    let root = dir.path().join("store");
    let store = OciLayout::open(&root).unwrap();
    let digest = store.put_blob(b"{}").unwrap();
    let target = dir.path().join("victim");
    fs::write(&target, b"precious").unwrap();
    let lock = root.join(".ingest/index.lock");
    let _ = fs::remove_file(&lock);
    symlink(&target, &lock).unwrap();

    let desc = Descriptor {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest,
        size: 2,
    };
    let e = store.tag("x:v1", &desc).unwrap_err().to_string();
    assert!(
        e.contains("index.lock is a symbolic link: refusing to follow it"),
        "{e}"
    );
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert_eq!(store.find("x:v1").unwrap(), None, "nothing was tagged");
}

#[test]
fn a_link_planted_at_the_index_is_not_read_and_is_replaced_not_followed() {
    let dir = temp_dir();
    let root = dir.path().join("store");
    let store = OciLayout::open(&root).unwrap();
    let target = dir.path().join("victim.json");
    let text = br#"{"schemaVersion":2,"manifests":[]}"#;
    fs::write(&target, text).unwrap();
    fs::remove_file(root.join("index.json")).unwrap();
    symlink(&target, root.join("index.json")).unwrap();

    let e = store.find("x:v1").unwrap_err().to_string();
    assert!(
        e.contains("index.json is a symbolic link: refusing to follow it"),
        "{e}"
    );
    let digest = store.put_blob(b"{}").unwrap();
    let desc = Descriptor {
        media_type: "x".into(),
        digest,
        size: 2,
    };
    assert!(store.tag("x:v1", &desc).is_err());
    assert_eq!(fs::read(&target).unwrap(), text, "the target is untouched");
}

#[test]
fn a_link_planted_for_a_store_directory_or_blob_is_refused() {
    let dir = temp_dir();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();

    // .ingest linked elsewhere: the store does not open, and writes nothing there
    let root = dir.path().join("a");
    fs::create_dir(&root).unwrap();
    symlink(&elsewhere, root.join(".ingest")).unwrap();
    let e = OciLayout::open(&root).unwrap_err().to_string();
    assert!(
        e.contains(".ingest is a symbolic link: refusing to follow it"),
        "{e}"
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    // a blob that is a link is not a stored blob, and is not read
    let root = dir.path().join("b");
    let store = OciLayout::open(&root).unwrap();
    let outside = elsewhere.join("blob");
    fs::write(&outside, b"{}").unwrap();
    let digest = isula_registry::digest::sha256_of(b"{}");
    symlink(&outside, store.blob_path(&digest).unwrap()).unwrap();
    assert!(!store.has_blob(&digest));
    let e = store.read_blob(&digest).unwrap_err().to_string();
    assert!(e.contains("is a symbolic link"), "{e}");

    // the download directory of a pull is private and unpredictable
    let host = EmbeddedHost::new(store);
    let (a, b) = (host.work_dir().unwrap(), host.work_dir().unwrap());
    assert_ne!(a, b);
    for w in [&a, &b] {
        let name = w.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = format!("pull-{}-", std::process::id());
        assert!(
            name.starts_with(&prefix) && name.len() == prefix.len() + 6,
            "{name}"
        );
        let mode = fs::metadata(w).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
