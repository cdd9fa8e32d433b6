//! What a pull asks the registry for, counted: every request of a token-auth
//! pull of a 5-layer image (nothing asked twice, no HEAD it does not need),
//! and how many TCP connections it opens (connections reused across the
//! pull's requests, over plain HTTP and over HTTPS, where each connection is
//! one TLS handshake).

mod support;

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use isula_registry::host::embedded::EmbeddedHost;
use isula_registry::progress::event::Silent;
use isula_registry::pull;
use isula_registry::store::oci_layout::OciLayout;
use support::httpd::{self, ConnSet};
use support::*;

/// Layers fetched at once by a pull (README: "up to 5 layers at once").
const PARALLEL_DOWNLOADS: usize = 5;

/// A TCP relay of our own on 127.0.0.1 that counts the connections it
/// accepts and copies bytes both ways unchanged (TLS passes through). It
/// also counts the connections that open with a TLS record (first byte 0x16,
/// a handshake), to tell an https probe from plain HTTP.
struct CountingRelay {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    tls: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    conns: Arc<ConnSet>,
    thread: Option<JoinHandle<()>>,
}

impl CountingRelay {
    fn start(upstream: &str) -> CountingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let tls = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(ConnSet::default());
        let (up, n, t, cs) = (
            upstream.to_string(),
            accepted.clone(),
            tls.clone(),
            conns.clone(),
        );
        let on_conn = Arc::new(move |client: TcpStream, _peer: SocketAddr| {
            n.fetch_add(1, Ordering::SeqCst);
            let mut first = [0u8; 1];
            if matches!(client.peek(&mut first), Ok(1) if first[0] == 0x16) {
                t.fetch_add(1, Ordering::SeqCst);
            }
            let Ok(server) = TcpStream::connect(&up) else {
                return;
            };
            let ids = [cs.add(&client), cs.add(&server)];
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let back = std::thread::spawn(move || pipe(s2, c2));
            pipe(client, server);
            let _ = back.join();
            ids.iter().for_each(|id| cs.remove(*id));
        });
        let thread = httpd::accept_loop(listener, stop.clone(), on_conn);
        CountingRelay {
            addr,
            accepted,
            tls,
            stop,
            conns,
            thread: Some(thread),
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections that began with a TLS handshake record.
    fn tls(&self) -> usize {
        self.tls.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` until EOF, then half-closes `to`.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.conns.shutdown_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Five small layers of different content (so five different blobs).
fn five_layers(dir: &std::path::Path) -> BuiltImage {
    let layers = (0..5u64)
        .map(|i| {
            LayerSpec::new()
                .dir("data", 0o755)
                .file(
                    &format!("data/layer{i}.bin"),
                    pseudo_random(64 * 1024 + i as usize * 4096, 100 + i),
                    0o644,
                )
                .created_by(&format!("layer {i}"))
        })
        .collect();
    ImageSpec::new(layers, Compression::Gzip).build(&dir.join("layout"), "v1")
}

/// A token-auth registry (HTTPS, token realm over HTTPS) holding the
/// 5-layer image as `test/req:v1`.
fn token_registry(dir: &std::path::Path) -> (Registry, BuiltImage) {
    let mut opts = RegistryOptions::new(Mode::token("bob", "hunter2"));
    opts.token_tls = true;
    let reg = Registry::start_with(opts);
    let built = five_layers(dir);
    push_oci(&built.layout_dir, "v1", &reg, "test/req:v1").unwrap();
    (reg, built)
}

/// Pulls `host/test/req:v1` into a fresh store and checks it is there.
fn pull_into_fresh_store(dir: &std::path::Path, host: &str, reg: &Registry, insecure: bool) {
    let root = dir.join(format!("store-{host}").replace(':', "-"));
    let req = pull_request(
        &format!("{host}/test/req:v1"),
        "req:v1",
        reg.certs_dir(),
        &dir.join("auths"),
        insecure,
    );
    let store = OciLayout::open(&root).unwrap();
    pull::pull(&req, &EmbeddedHost::new(store.clone()), &Silent).unwrap();
    assert!(store.find("req:v1").unwrap().is_some());
}

/// `METHOD path status` of each request, counted.
fn request_counts(log: &[RequestRecord]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in log {
        let path = r.target.split('?').next().unwrap_or("");
        *out.entry(format!("{} {} {}", r.method, path, r.status))
            .or_insert(0) += 1;
    }
    out
}

#[test]
fn a_token_pull_asks_for_each_thing_once() {
    let dir = temp_dir();
    let (reg, built) = token_registry(dir.path());
    let token = reg.token_server().unwrap();
    // the library talks plain HTTP to the fault proxy, which records every
    // request (the realm stays the token server's own HTTPS address)
    let proxy = FaultProxy::for_registry(&reg);
    let tokens_before = token.token_requests();

    pull_into_fresh_store(dir.path(), &proxy.host(), &reg, true);

    let log = proxy.log();
    let mut expected = BTreeMap::new();
    // the ping, answered with the Bearer challenge
    expected.insert("GET /v2/ 401".to_string(), 1);
    expected.insert("GET /v2/test/req/manifests/v1 200".to_string(), 1);
    expected.insert(
        format!("GET /v2/test/req/blobs/{} 200", built.config_digest),
        1,
    );
    for l in &built.layers {
        expected.insert(format!("GET /v2/test/req/blobs/{} 200", l.digest), 1);
    }
    assert_eq!(
        request_counts(&log),
        expected,
        "the requests of one pull (full log: {log:#?})"
    );

    // one token per scope, and one scope here
    let asked = &token.requests()[tokens_before..];
    let mut per_scope: BTreeMap<String, usize> = BTreeMap::new();
    for t in asked {
        *per_scope.entry(t.scopes.join(" ")).or_insert(0) += 1;
    }
    let want: BTreeMap<String, usize> = [("repository:test/req:pull".to_string(), 1)].into();
    assert_eq!(per_scope, want, "token requests: {asked:#?}");
    assert_eq!(token.token_requests() - tokens_before, 1);
}

// Connections: a pull makes 8 requests to the registry (ping, manifest,
// config, 5 layers); reuse should keep the connections to at most the layer
// downloads running at once plus the one the ping and the manifest went
// over: the config is fetched on the manifest's thread, after it, on the
// same connection (before 2026-12-01 it had a thread of its own: 7
// connections for the 8 requests).

const MAX_CONNECTIONS: usize = PARALLEL_DOWNLOADS + 1;

#[test]
fn plain_http_pull_reuses_its_connections() {
    let dir = temp_dir();
    let reg = Registry::start(Mode::Http);
    let built = five_layers(dir.path());
    push_oci(&built.layout_dir, "v1", &reg, "test/req:v1").unwrap();
    let relay = CountingRelay::start(&reg.host());

    pull_into_fresh_store(dir.path(), &relay.host(), &reg, true);

    // an insecure registry is tried over https first (as iSulad does): that
    // probe is one connection, then plain HTTP
    assert_eq!(relay.tls(), 1, "https probes of an insecure registry");
    let plain = relay.accepted() - relay.tls();
    assert!(
        (1..=MAX_CONNECTIONS).contains(&plain),
        "{plain} plain-HTTP connections to the registry for ping, manifest, config and \
         5 layers (at most {MAX_CONNECTIONS} expected)"
    );
}

#[test]
fn https_pull_reuses_its_connections() {
    let dir = temp_dir();
    let (reg, _built) = token_registry(dir.path());
    // the library speaks TLS to the registry itself through the relay, so
    // each connection the relay accepts is one TLS handshake
    let relay = CountingRelay::start(&reg.host());
    reg.ca().write_certs_d(reg.certs_dir(), &relay.host(), None);

    pull_into_fresh_store(dir.path(), &relay.host(), &reg, false);

    let conns = relay.accepted();
    assert_eq!(
        relay.tls(),
        conns,
        "every connection to an https registry is TLS"
    );
    assert!(
        (1..=MAX_CONNECTIONS).contains(&conns),
        "{conns} TLS connections to the registry for ping, manifest, config and 5 layers \
         (at most {MAX_CONNECTIONS} expected)"
    );
}
