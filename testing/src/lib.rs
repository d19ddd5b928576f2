//! The one test app helper of treewide's integration tests (zero-to-production's
//! `spawn_app`): a fresh database in a temporary directory, the real router, and a real
//! server on a random port when a test needs one. The server crate's tests and the binary's
//! tests both use it; it is a crate of its own so that the server does not depend on the
//! importer (which loads the demo) even for tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::thread::JoinHandle;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use treewide_core::{db, SqlitePool};
pub use treewide_server::Config;

/// A fresh app with the seed demo loaded.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

/// A fresh app with the seed demo loaded and the server set up with `config` (router and
/// real server alike).
pub async fn spawn_app_with(config: Config) -> TestApp {
    let app = TestApp::with_config(config).await;
    treewide_importer::demo::load(&app.db)
        .await
        .expect("load the demo");
    app
}

/// One app under test: its own database file and router, and a real server once asked for.
pub struct TestApp {
    /// The app's database: a file, as in production (the page cache watches it, and the
    /// `treewide` binary can open it too).
    pub db: SqlitePool,
    /// Where that file is.
    pub db_path: PathBuf,
    router: Router,
    config: Config,
    server: OnceLock<Server>,
    // Last, so the directory goes after the server that uses it.
    dir: tempfile::TempDir,
}

impl TestApp {
    /// A fresh app with an empty (migrated) database.
    pub async fn empty() -> TestApp {
        TestApp::with_config(Config::default()).await
    }

    /// A fresh app with an empty (migrated) database, set up with `config`.
    pub async fn with_config(config: Config) -> TestApp {
        cheap_password_hashing();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db_path = dir.path().join("t.db");
        let db = db::open(&db_path).await.expect("open the test database");
        TestApp {
            router: treewide_server::router(db.clone(), config.clone())
                .await
                .expect("the router"),
            config,
            db,
            db_path,
            server: OnceLock::new(),
            dir,
        }
    }

    /// The temporary directory of the database, for a test's own files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A browser on the real router (no network): it keeps the session cookie.
    pub fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookie: None,
            from: None,
        }
    }

    /// `GET uri` through the real router (no network).
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).expect("a request"))
            .await
    }

    /// `req` through the real router (no network).
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`) of a real server on this database, started on
    /// first use on a thread and runtime of its own: blocking clients, browsers and other
    /// processes can reach it from sync and async tests alike.
    pub fn url(&self) -> &str {
        &self
            .server
            .get_or_init(|| Server::start(&self.db_path, self.config.clone()))
            .url
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The value of the first `name="csrf"` hidden field; panics with the body without one.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body))
            + 19;
        let len = self.body[at..].find('"').expect("the end of the value");
        self.body[at..at + len].to_owned()
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Content-Type, or "".
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser on the router: keeps the `treewide` session cookie, follows no redirects, and
/// may say which address it comes from (as the real server would from the connection).
#[derive(Clone)]
pub struct Browser {
    router: Router,
    cookie: Option<String>,
    /// The client address the server sees; `None` as for any request through the router.
    pub from: Option<SocketAddr>,
}

impl Browser {
    /// `GET uri`.
    pub async fn get(&mut self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).expect("a request"))
            .await
    }

    /// `POST uri` with form `fields`.
    pub async fn form(&mut self, uri: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_enc(k), form_enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a request");
        self.send(req).await
    }

    /// `req` with this browser's cookie and address; keeps the cookie the answer sets.
    pub async fn send(&mut self, mut req: Request<Body>) -> TestResponse {
        if let Some(c) = &self.cookie {
            req.headers_mut()
                .insert(header::COOKIE, c.parse().expect("a cookie header"));
        }
        if let Some(addr) = self.from {
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        for v in res.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            let pair = v.split(';').next().unwrap_or_default();
            if pair.starts_with("treewide=") {
                let gone = pair == "treewide=" || v.contains("Max-Age=0");
                self.cookie = (!gone).then(|| pair.to_owned());
            }
        }
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// A form value, `application/x-www-form-urlencoded`.
fn form_enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `treewide_server::serve` on 127.0.0.1:0, stopped and joined on drop.
struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(db_path: &Path, config: Config) -> Server {
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = db_path.to_owned();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the test server");
            rt.block_on(async move {
                // Its own pool, as `treewide serve` would open.
                let db = db::open(&path).await.expect("open the test database");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a free port");
                ready
                    .send(listener.local_addr().expect("the bound address"))
                    .expect("the test waits for the address");
                tokio::select! {
                    r = treewide_server::serve(listener, db, config) => r.expect("serve"),
                    _ = stopped => {}
                }
            });
        });
        let addr = started.recv().expect("the test server started");
        Server {
            url: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Password hashing as tests use it everywhere (see docs/STATUS.md): argon2 with 64 KiB
/// instead of 19 MiB, read by core on every hash. Set once, before the first app exists.
fn cheap_password_hashing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TREEWIDE_ARGON2_MEMORY_KIB").is_none() {
            std::env::set_var("TREEWIDE_ARGON2_MEMORY_KIB", "64");
        }
    });
}
