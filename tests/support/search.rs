//! A tiny registry v1 search server (the one mock: no Debian server has
//! `/v1/search`): `GET /v1/_ping` → 200, `GET /v1/search?q=X&n=N` → Docker
//! Hub-style JSON over a configurable list (entries whose name or
//! description contains X, case-insensitive; at most N, default 25). Plain
//! HTTP or HTTPS with a CA of the caller (e.g. the registry's).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::certs::Ca;
use super::httpd::{Handler, HttpServer, Request, Response};
use super::{TempDir, temp_dir};

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    pub name: String,
    pub description: String,
    pub star_count: u64,
    pub is_official: bool,
    pub is_automated: bool,
    pub is_trusted: bool,
    pub pull_count: u64,
}

impl SearchResult {
    pub fn new(name: &str, description: &str, star_count: u64) -> SearchResult {
        SearchResult {
            name: name.into(),
            description: description.into(),
            star_count,
            is_official: false,
            is_automated: false,
            is_trusted: false,
            pull_count: star_count * 10,
        }
    }

    pub fn official(mut self) -> SearchResult {
        self.is_official = true;
        self
    }

    pub fn automated(mut self) -> SearchResult {
        self.is_automated = true;
        self
    }

    /// A few entries: busybox (official), library/alpine (official),
    /// someone/busybox-tools (automated), other/nginx-custom.
    pub fn defaults() -> Vec<SearchResult> {
        vec![
            SearchResult::new("busybox", "Busybox base image.", 3000).official(),
            SearchResult::new(
                "library/alpine",
                "A minimal Docker image based on Alpine Linux",
                10000,
            )
            .official(),
            SearchResult::new("someone/busybox-tools", "busybox with extra tools", 12).automated(),
            SearchResult::new("other/nginx-custom", "nginx, customized", 3),
        ]
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "description": self.description,
            "star_count": self.star_count,
            "is_official": self.is_official,
            "is_automated": self.is_automated,
            "is_trusted": self.is_trusted,
            "pull_count": self.pull_count,
        })
    }
}

struct State {
    results: Mutex<Vec<SearchResult>>,
    queries: Mutex<Vec<String>>,
    requests: Mutex<Vec<Request>>,
}

/// A running search server; stopped on drop.
pub struct SearchServer {
    server: HttpServer,
    state: Arc<State>,
    dir: TempDir,
}

impl State {
    fn handle(&self, req: &Request) -> Response {
        self.requests.lock().unwrap().push(req.clone());
        match (req.method.as_str(), req.path.as_str()) {
            ("GET" | "HEAD", "/v1/_ping") => Response::json(200, &json!(true)),
            ("GET", "/v1/search") => {
                let q = req.query_param("q").unwrap_or_default();
                self.queries.lock().unwrap().push(q.clone());
                let n: usize = req
                    .query_param("n")
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(25);
                let ql = q.to_lowercase();
                let all = self.results.lock().unwrap();
                let matched: Vec<&SearchResult> = all
                    .iter()
                    .filter(|r| {
                        ql.is_empty()
                            || r.name.to_lowercase().contains(&ql)
                            || r.description.to_lowercase().contains(&ql)
                    })
                    .collect();
                let results: Vec<_> = matched.iter().take(n).map(|r| r.to_json()).collect();
                Response::json(
                    200,
                    &json!({
                        "num_pages": 1,
                        "num_results": results.len(),
                        "page_size": n,
                        "page": 1,
                        "query": q,
                        "results": results,
                    }),
                )
            }
            _ => Response::json(
                404,
                &json!({"errors": [{"code": "NOT_FOUND", "message": "not found"}]}),
            ),
        }
    }
}

impl SearchServer {
    /// Plain HTTP.
    pub fn start(results: Vec<SearchResult>) -> SearchServer {
        SearchServer::start_inner(results, None)
    }

    /// HTTPS with a server certificate (127.0.0.1/localhost) of `ca`.
    pub fn start_https(results: Vec<SearchResult>, ca: &Ca) -> SearchServer {
        SearchServer::start_inner(results, Some(ca))
    }

    fn start_inner(results: Vec<SearchResult>, ca: Option<&Ca>) -> SearchServer {
        let dir = temp_dir();
        let tls = ca.map(|ca| {
            let pair = ca.issue_server(dir.path(), "search-server");
            ca.acceptor(&pair)
        });
        let state = Arc::new(State {
            results: Mutex::new(results),
            queries: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let handler: Handler = Arc::new(move |req: &Request| st.handle(req));
        let server = HttpServer::start(handler, tls);
        if let Some(ca) = ca {
            ca.write_certs_d(&dir.path().join("certs.d"), &server.host(), None);
        }
        SearchServer { server, state, dir }
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        self.server.host()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http(s)://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// HTTPS only: a certs.d dir with `<host>/ca.crt` (the CA given).
    pub fn certs_dir(&self) -> PathBuf {
        self.dir.path().join("certs.d")
    }

    /// Replaces the result list.
    pub fn set_results(&self, results: Vec<SearchResult>) {
        *self.state.results.lock().unwrap() = results;
    }

    /// `q` of every search so far.
    pub fn queries(&self) -> Vec<String> {
        self.state.queries.lock().unwrap().clone()
    }

    /// Every request so far (method, target, headers...).
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn stop(&mut self) {
        self.server.stop();
    }
}
