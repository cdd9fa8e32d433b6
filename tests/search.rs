//! registry_search against a v1 search server (no Debian server has the
//! v1 search API, so this one endpoint is served by the test support).

// the isulad build takes free_imagetool_search_result from libisula
#![cfg(all(feature = "image_search", not(feature = "isulad")))]

mod support;

use std::ffi::{CStr, CString};
use std::path::Path;

use isula_registry::distribution::search::{self, SearchOptions};
use isula_registry::ffi::registry::registry_search_options;
use isula_registry::ffi::search::{
    free_imagetool_search_result, imagetool_search_result, registry_search,
};
use support::*;

#[test]
fn searches_over_http_for_insecure_registries() {
    let server = SearchServer::start(vec![
        SearchResult::new("busybox", "Busybox base image.", 2781).official(),
        SearchResult::new("other/busybox-tools", "tools", 3),
        SearchResult::new("alpine", "Alpine", 9),
    ]);
    let opts = SearchOptions {
        insecure: true,
        skip_tls_verify: false,
        certs_dir: Path::new("/nonexistent"),
    };
    let r = search::search(&format!("{}/busybox", server.host()), 25, &opts).unwrap();
    assert_eq!(r.query, "busybox");
    let names: Vec<_> = r.results.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["busybox", "other/busybox-tools"]);
    assert!(r.results[0].is_official && r.results[0].star_count == 2781);
    let raw: Vec<String> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert!(raw.contains(&"q=busybox&n=25".to_string()), "{raw:?}");

    // not insecure: https only, which this server does not speak
    let secure = SearchOptions {
        insecure: false,
        ..opts
    };
    assert!(search::search(&format!("{}/busybox", server.host()), 25, &secure).is_err());
    assert!(
        search::search("a/b/c", 1, &opts)
            .unwrap_err()
            .to_string()
            .contains("Invalid search name")
    );
}

#[test]
fn searches_over_https_and_fills_the_c_result() {
    let reg = Registry::start(Mode::Https);
    let server = SearchServer::start_https(
        vec![SearchResult::new("busybox", "Busybox base image.", 7).official()],
        reg.ca(),
    );
    let dir = temp_dir();
    let certs = dir.path().join("certs.d").join(server.host());
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(reg.ca_file(), certs.join("ca.crt")).unwrap();
    isula_registry::api::init(None, Some(dir.path().join("certs.d")));

    let name = CString::new(format!("{}/busy box", server.host())).unwrap();
    let mut options = registry_search_options {
        search_name: name.as_ptr() as *mut _,
        limit: 5,
        skip_tls_verify: false,
        insecure_registry: false,
    };
    let mut result: *mut imagetool_search_result = std::ptr::null_mut();
    // SAFETY: valid options and result pointer, as the C API requires.
    let rc = unsafe { registry_search(&mut options, &mut result) };
    assert_eq!(rc, 0);
    // SAFETY: registry_search returned 0, so result is a valid struct.
    let r = unsafe { &*result };
    assert_eq!(
        unsafe { CStr::from_ptr(r.query) }.to_str().unwrap(),
        "busy box",
        "the term is URL-encoded on the wire"
    );
    assert_eq!(r.results_len, 0);
    // SAFETY: from registry_search, freed once.
    unsafe { free_imagetool_search_result(result) };

    let name = CString::new(format!("{}/busybox", server.host())).unwrap();
    options.search_name = name.as_ptr() as *mut _;
    let mut result: *mut imagetool_search_result = std::ptr::null_mut();
    // SAFETY: as above.
    assert_eq!(unsafe { registry_search(&mut options, &mut result) }, 0);
    // SAFETY: as above.
    let r = unsafe { &*result };
    assert_eq!(r.results_len, 1);
    // SAFETY: results has results_len valid entries.
    let first = unsafe { &**r.results };
    assert_eq!(
        unsafe { CStr::from_ptr(first.name) }.to_str().unwrap(),
        "busybox"
    );
    assert!(first.is_official);
    // SAFETY: from registry_search, freed once.
    unsafe { free_imagetool_search_result(result) };
    let raw: Vec<String> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert!(raw.contains(&"q=busy%20box&n=5".to_string()), "{raw:?}");

    let bad = CString::new("docker.io/library/busybox").unwrap();
    options.search_name = bad.as_ptr() as *mut _;
    let mut untouched: *mut imagetool_search_result = std::ptr::null_mut();
    // SAFETY: as above.
    assert_eq!(unsafe { registry_search(&mut options, &mut untouched) }, -1);
    assert!(untouched.is_null());
}
