//! Login and logout against a registry with token auth (our token server)
//! and the auths.json they write.

mod support;

use isula_registry::api;
use isula_registry::auths::AuthStore;
use support::*;

/// One test: the settings of `api` are process-wide.
#[test]
fn token_login_stores_credentials_and_logout_removes_them() {
    // pulls and logins ask an https registry's realm for tokens only over https
    let mut opts = RegistryOptions::new(Mode::token("bob", "hunter2"));
    opts.token_tls = true;
    let reg = Registry::start_with(opts);
    let dir = temp_dir();
    let auths_dir = dir.path().join("auths");
    api::init(Some(auths_dir.clone()), Some(reg.certs_dir().to_path_buf()));
    let store = AuthStore::new(&auths_dir);
    let token = reg.token_server().unwrap();

    let err = api::login(&reg.host(), "bob", "wrong", false, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "unauthorized: check credentials for {}",
            reg.host()
        )),
        "{err}"
    );
    assert_eq!(
        store.load(&reg.host()).unwrap(),
        None,
        "nothing stored after a failed login"
    );

    api::login(&reg.host(), "bob", "hunter2", false, false).unwrap();
    assert!(token.last_had_basic_auth());
    let q = token.last_query().unwrap();
    assert!(
        q.contains("account=bob") && !q.contains("scope="),
        "login asks for no scope: {q}"
    );
    assert_eq!(
        store.load(&reg.host()).unwrap(),
        Some(("bob".into(), "hunter2".into()))
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(auths_dir.join("auths.json"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    assert!(api::login("", "bob", "x", false, false).is_err());
    assert!(api::login(&reg.host(), "bob", "", false, false).is_err());

    api::logout(&reg.host()).unwrap();
    assert_eq!(store.load(&reg.host()).unwrap(), None);
    api::logout(&reg.host()).unwrap();
    assert_eq!(
        std::fs::read_to_string(auths_dir.join("auths.json")).unwrap(),
        "{\n    \"auths\":{}\n}\n"
    );

    // logout docker.io also removes what a login to docker.io stored under
    // registry-1.docker.io (iSulad left it behind)
    store.save("registry-1.docker.io", "u", "p").unwrap();
    api::logout("docker.io").unwrap();
    assert_eq!(store.load("registry-1.docker.io").unwrap(), None);
}
