//! Generates the C headers in include/ (one per src/ffi/<name>.rs) and
//! detects whether libcurl has CURLOPT_XFERINFOFUNCTION (>= 7.32), which
//! selects the transfer-callback variant of `struct http_get_options`.

use std::path::Path;

use cbindgen::Style;

/// One generated header: made from `src/ffi/<src>`, with iSulad's file
/// name and include guard, its `#include` lines, and text cbindgen cannot
/// generate (string macros, libcurl version tests) after the includes.
struct Header {
    /// Source files under src/ffi (several may make one header).
    src: &'static [&'static str],
    name: &'static str,
    guard: &'static str,
    includes: &'static [&'static str],
    sys_includes: &'static [&'static str],
    extra: &'static str,
    /// `Type` for the headers of iSulad's registry module, whose structs
    /// are anonymous typedefs (`typedef struct { ... } pull_descriptor;`):
    /// the prototypes then name the typedefs, as iSulad's do, so they fit
    /// whichever declaration a daemon file has seen first (iSulad's own
    /// `registry_type.h` shares our include guard; libisula's
    /// `imagetool_search_result` has no struct tag at all).
    style: Style,
}

const HEADERS: &[Header] = &[
    Header {
        src: &["aes.rs"],
        name: "aes.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_REGISTRY_AES_H",
        includes: &[],
        sys_includes: &["stddef.h"],
        extra: "#define AUTH_AESKEY_NAME \"aeskey\"\n#define DEFAULT_AUTH_AESKEY \"/root/.isulad/\" AUTH_AESKEY_NAME\n",
        style: Style::Both,
    },
    Header {
        src: &["buffer.rs"],
        name: "buffer.h",
        guard: "UTILS_BUFFER_H",
        includes: &[],
        sys_includes: &["stddef.h", "stdlib.h"],
        extra: "",
        style: Style::Both,
    },
    Header {
        src: &["http.rs"],
        name: "http.h",
        guard: "UTILS_HTTP_HTTP_H",
        includes: &["buffer.h"],
        sys_includes: &["stdbool.h", "stddef.h", "stdint.h", "curl/curl.h"],
        extra: "/* libcurl >= 7.32 has CURLOPT_XFERINFOFUNCTION: the transfer callback takes curl_off_t. */\n\
         #if (LIBCURL_VERSION_NUM >= 0x072000)\n#define ISULA_CURL_XFERINFO 1\n#endif\n\n\
         #define AUTHZ_UNIX_SOCK \"/run/isulad/plugins/authz-broker.sock\"\n\
         #define AUTHZ_REQUEST_URL \"http://localhost/isulad.auth\"\n",
        style: Style::Both,
    },
    Header {
        src: &["progress.rs"],
        name: "progress.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_PROGRESS_STATUS_MAP_H",
        includes: &[],
        sys_includes: &["stdbool.h", "stddef.h", "stdint.h", "pthread.h"],
        extra: "",
        style: Style::Both,
    },
    Header {
        src: &["timestamp.rs"],
        name: "utils_timestamp.h",
        guard: "UTILS_CUTILS_UTILS_TIMESTAMP_H",
        includes: &[],
        sys_includes: &["stdbool.h", "stdint.h"],
        extra: "",
        style: Style::Both,
    },
    Header {
        src: &["registry_type.rs"],
        name: "registry_type.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_REGISTRY_TYPE_H",
        includes: &["progress.h", "utils_timestamp.h"],
        sys_includes: &["stdbool.h", "stddef.h", "stdint.h", "time.h", "pthread.h"],
        extra: "#define ROOTFS_TYPE \"layers\"\n",
        style: Style::Type,
    },
    Header {
        src: &["registry.rs", "search.rs"],
        name: "registry.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_REGISTRY_REGISTRY_H",
        includes: &["progress.h"],
        sys_includes: &["stdbool.h", "stddef.h", "stdint.h"],
        extra: "#if defined(ENABLE_IMAGE_SEARCH) && defined(ISULA_REGISTRY_USE_LIBISULA)\n\
                #include <isula_libutils/imagetool_search_result.h>\n#endif\n",
        style: Style::Type,
    },
    Header {
        src: &["registry_apiv2.rs"],
        name: "registry_apiv2.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_REGISTRY_REGISTRY_APIV2_H",
        includes: &["registry_type.h"],
        sys_includes: &["stddef.h"],
        extra: "",
        style: Style::Type,
    },
    Header {
        src: &["http_request.rs"],
        name: "http_request.h",
        guard: "DAEMON_MODULES_IMAGE_OCI_REGISTRY_HTTP_REQUEST_H",
        includes: &["registry_type.h"],
        sys_includes: &["curl/curl.h"],
        extra: "",
        style: Style::Type,
    },
    Header {
        src: &["isula_registry.rs", "pull_handle.rs", "progress_feed.rs"],
        name: "isula_registry.h",
        guard: "ISULA_REGISTRY_H",
        includes: &["progress.h", "registry.h"],
        sys_includes: &["stdbool.h", "stddef.h", "stdint.h"],
        extra: VERSION_MACROS,
        style: Style::Both,
    },
];

/// The version the header was generated for (`isula_registry_version()`
/// gives the loaded library's).
const VERSION_MACROS: &str = concat!(
    "#define ISULA_REGISTRY_VERSION \"",
    env!("CARGO_PKG_VERSION"),
    "\"\n#define ISULA_REGISTRY_VERSION_MAJOR ",
    env!("CARGO_PKG_VERSION_MAJOR"),
    "\n#define ISULA_REGISTRY_VERSION_MINOR ",
    env!("CARGO_PKG_VERSION_MINOR"),
    "\n#define ISULA_REGISTRY_VERSION_PATCH ",
    env!("CARGO_PKG_VERSION_PATCH"),
    "\n"
);

fn main() {
    // The shared library's soname carries the ABI's major version, as C
    // libraries do (scripts/install.sh adds the usual symlinks).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!(
            "cargo::rustc-cdylib-link-arg=-Wl,-soname,libisula_registry.so.{}",
            env!("CARGO_PKG_VERSION_MAJOR")
        );
    }
    println!("cargo::rustc-check-cfg=cfg(isula_curl_xferinfo)");
    // only ever set by the daemon's C build, through the header
    println!("cargo::rustc-check-cfg=cfg(isula_libisula)");
    // Set outside the daemon build: the library then defines
    // free_challenge, free_layer_blob and free_pull_desc, which in the
    // daemon come from iSulad's registry_type.c (see src/ffi/registry_type.rs).
    println!("cargo::rustc-check-cfg=cfg(isula_owns_registry_type)");
    if std::env::var_os("CARGO_FEATURE_ISULAD").is_none() {
        println!("cargo::rustc-cfg=isula_owns_registry_type");
    }
    println!("cargo::rerun-if-changed=cbindgen.toml");
    println!("cargo::rerun-if-changed=build.rs");

    let curl = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("libcurl")
        .expect("libcurl development files (pkg-config libcurl) are required: apt-get install libcurl4-openssl-dev");
    // curl-sys compiles its bundled libcurl, silently, whenever it does not
    // take the system's (no pkg-config entry, or a feature the system
    // library lacks). A second libcurl in the daemon, exported through
    // -rdynamic, is never what we want: refuse to build.
    if std::env::var_os("DEP_CURL_STATIC").is_some() {
        panic!(
            "curl-sys built its bundled libcurl instead of linking the system one: \
             install libcurl4-openssl-dev (pkg-config libcurl) and do not enable curl features \
             the system libcurl lacks"
        );
    }
    if version_at_least(&curl.version, (7, 32, 0)) {
        println!("cargo::rustc-cfg=isula_curl_xferinfo");
    }

    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let root = Path::new(&root);
    let base = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    for h in HEADERS {
        let srcs: Vec<_> = h.src.iter().map(|s| root.join("src/ffi").join(s)).collect();
        for src in &srcs {
            println!("cargo::rerun-if-changed={}", src.display());
        }
        let mut config = base.clone();
        config.include_guard = Some(h.guard.to_string());
        config.style = h.style;
        config.includes = h.includes.iter().map(|s| s.to_string()).collect();
        config.sys_includes = h.sys_includes.iter().map(|s| s.to_string()).collect();
        if !h.extra.is_empty() {
            config.after_includes = Some(h.extra.to_string());
        }
        let mut builder = cbindgen::Builder::new().with_config(config);
        for src in &srcs {
            builder = builder.with_src(src);
        }
        let bindings = builder
            .generate()
            .unwrap_or_else(|e| panic!("cbindgen failed for {}: {e}", h.name));
        let mut text = Vec::new();
        bindings.write(&mut text);
        let text = fix_conditional_fields(&String::from_utf8(text).expect("UTF-8 header"));
        let path = root.join("include").join(h.name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
    }
}

/// cbindgen puts the `;` of a `#[cfg]` struct field after its `#endif`,
/// which leaves a stray `;` when the macro is undefined: move it inside.
fn fix_conditional_fields(text: &str) -> String {
    text.replace("\n#endif\n  ;\n", ";\n#endif\n")
}

fn version_at_least(version: &str, want: (u32, u32, u32)) -> bool {
    let mut parts = version
        .split('.')
        .map(|p| p.trim().parse::<u32>().unwrap_or(0));
    let have = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    have >= want
}
