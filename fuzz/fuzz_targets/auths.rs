//! auths.json as found on disk (iSulad's format: `{"auths": {host: {"auth":
//! base64(IV ‖ AES-CFB(base64(user:password)))}}}`), and the `auth` value
//! alone. The store lives in `$TMPDIR` (run.sh gives a private one).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use isula_registry::auths::{self, AuthStore};
use libfuzzer_sys::fuzz_target;

/// Hosts the seeds name, and one they do not.
const HOSTS: &[&str] = &["127.0.0.1:5000", "docker.io", "reg.example:443", "absent"];

/// `aeskey` of the store, as iSulad writes one (32 hex characters).
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn store() -> &'static (AuthStore, PathBuf) {
    static STORE: OnceLock<(AuthStore, PathBuf)> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("isula-fuzz-auths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the store directory");
        let store = AuthStore::new(&dir);
        // the key the seeds are sealed with (fuzz/seeds.sh)
        std::fs::write(store.key_path(), KEY).expect("the aeskey");
        let path = store.auths_path();
        (store, path)
    })
}

fuzz_target!(|data: &[u8]| {
    let (store, path) = store();
    std::fs::write(path, data).expect("write auths.json");
    for host in HOSTS {
        let _ = store.load(host);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let key = auths::load_key(&store.key_path()).expect("the key");
        let _ = auths::decrypt_auth(&key, s.trim());
        // login then load gives back what was given, or a clear refusal
        if let Some((user, password)) = s.split_once(':')
            && let Ok(sealed) = auths::encrypt_auth(&key, user, password)
        {
            let (u, p) = auths::decrypt_auth(&key, &sealed).expect("own seal opens");
            assert_eq!((u.as_str(), p.as_str()), (user, password));
        }
    }
});
