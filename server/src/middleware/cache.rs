//! A cache of anonymous GET answers, emptied whenever the database changes.
//!
//! Dashboards are read far more than written, and most readers are not logged in. An answer
//! to an anonymous GET (no session cookie, no bearer token) depends only on its URL and the
//! database, so it is kept until the database changes. Changes are noticed with SQLite's
//! `PRAGMA data_version` on a connection of its own that never writes: the value moves on
//! every commit by any other connection, this server's pool and other processes (an import
//! from the command line) alike. The check costs one statement per request; a hit skips the
//! handler, its queries and the template.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, SqlitePool};

/// Entries and bytes kept at most; past either, the cache starts again empty.
const MAX_ENTRIES: usize = 512;
const MAX_BYTES: usize = 64 << 20;
/// Larger answers (exports) are not kept.
const MAX_BODY: usize = 2 << 20;

/// One kept answer.
struct Kept {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// When it was kept, for the `Age` of the answers served from it.
    at: Instant,
}

#[derive(Default)]
struct Entries {
    /// The database's `data_version` (and the day: pages draw "today") the entries belong to.
    generation: Option<(i64, time::Date)>,
    map: HashMap<String, Arc<Kept>>,
    bytes: usize,
}

/// The cache and the connection that watches the database for changes.
#[derive(Clone)]
pub struct PageCache {
    db: SqlitePool,
    /// The watching connection, and which one it is: `data_version` counts from where a
    /// connection started, so a new connection starts a new epoch.
    watch: Arc<tokio::sync::Mutex<(Option<SqliteConnection>, u64)>>,
    entries: Arc<Mutex<Entries>>,
    /// Off for an in-memory database: another connection would open another database, whose
    /// data_version says nothing about this one.
    enabled: bool,
}

impl PageCache {
    /// A cache of `db`'s answers (off for an in-memory database).
    pub fn new(db: SqlitePool) -> PageCache {
        let file = db
            .connect_options()
            .get_filename()
            .to_string_lossy()
            .into_owned();
        let enabled = !(file.is_empty() || file == ":memory:" || file.contains("mode=memory"));
        PageCache {
            db,
            watch: Arc::new(tokio::sync::Mutex::new((None, rand::random()))),
            entries: Arc::default(),
            enabled,
        }
    }

    /// The database's current generation, or `None` when it cannot be read (then nothing is
    /// served from or kept in the cache).
    async fn generation(&self) -> Option<(i64, time::Date)> {
        let (_, v) = self.version().await?;
        Some((v, time::OffsetDateTime::now_utc().date()))
    }

    /// The database's version: an epoch and `PRAGMA data_version` of the watching connection,
    /// which moves on every commit by any other connection (this server's or another
    /// process's). It never repeats for other data while the server runs; a restart starts
    /// a new epoch. `None` for an in-memory database or when it cannot be read.
    pub async fn version(&self) -> Option<(u64, i64)> {
        if !self.enabled {
            return None;
        }
        let mut watch = self.watch.lock().await;
        let (conn, epoch) = &mut *watch;
        if conn.is_none() {
            let opts = (*self.db.connect_options()).clone();
            *conn = SqliteConnection::connect_with(&opts).await.ok();
            *epoch = epoch.wrapping_add(1);
        }
        let c = conn.as_mut()?;
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut *c)
            .await
        {
            Ok(v) => Some((*epoch, v)),
            Err(e) => {
                tracing::warn!("page cache: cannot read data_version: {e}");
                *conn = None;
                None
            }
        }
    }

    /// The kept answer for `key` in generation `g`; a new generation empties the cache.
    fn get(&self, g: (i64, time::Date), key: &str) -> Option<Arc<Kept>> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.generation != Some(g) {
            *e = Entries {
                generation: Some(g),
                ..Default::default()
            };
            return None;
        }
        e.map.get(key).cloned()
    }

    fn put(&self, g: (i64, time::Date), key: String, kept: Kept) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.generation != Some(g) {
            return;
        }
        if e.map.len() >= MAX_ENTRIES || e.bytes + kept.body.len() > MAX_BYTES {
            e.map.clear();
            e.bytes = 0;
        }
        e.bytes += kept.body.len();
        e.map.insert(key, Arc::new(kept));
    }
}

/// Whether an answer to this request may be shared: an anonymous GET of a page or API read
/// whose client did not ask for a fresh answer (`Cache-Control: no-cache`, a browser's reload).
fn cacheable(req: &Request) -> bool {
    let path = req.uri().path();
    let no_cache = req
        .headers()
        .get_all(header::CACHE_CONTROL)
        .iter()
        .any(|v| {
            v.to_str()
                .map_or(true, |v| v.contains("no-cache") || v.contains("no-store"))
        });
    req.method() == Method::GET
        && !no_cache
        && !req.headers().contains_key(header::AUTHORIZATION)
        && !req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .any(|c| c.to_str().map_or(true, |c| c.contains("treewide=")))
        && (path == "/" || path.starts_with("/c/") || path.starts_with("/api/v1/"))
}

/// Middleware: serve anonymous GETs from the cache, keep what they answered.
pub async fn layer(State(cache): State<PageCache>, req: Request, next: Next) -> Response {
    if !cache.enabled || !cacheable(&req) {
        return next.run(req).await;
    }
    let Some(g) = cache.generation().await else {
        return next.run(req).await;
    };
    let key = req.uri().to_string();
    if let Some(k) = cache.get(g, &key) {
        let mut res = Response::new(Body::from(k.body.clone()));
        *res.status_mut() = k.status;
        *res.headers_mut() = k.headers.clone();
        // RFC 9111's Age: how long ago the answer was made; it also tells a hit from a miss.
        res.headers_mut()
            .insert(header::AGE, HeaderValue::from(k.at.elapsed().as_secs()));
        return res;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    // Only bodies known to be small are buffered (exports stream through untouched).
    let small = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_BODY as u64);
    if !small {
        return res;
    }
    let (parts, body) = res.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("page cache: cannot read an answer's body: {e}");
            return Response::from_parts(parts, Body::empty());
        }
    };
    cache.put(
        g,
        key,
        Kept {
            status: parts.status,
            headers: parts.headers.clone(),
            body: body.clone(),
            at: Instant::now(),
        },
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_anonymous_reads_are_shared() {
        assert!(cacheable(&req("/c/x", &[])));
        assert!(cacheable(&req("/api/v1/sites?limit=5", &[])));
        assert!(cacheable(&req("/c/x", &[("cookie", "other=1")])));
        assert!(!cacheable(&req("/c/x", &[("cookie", "a=1; treewide=abc")])));
        assert!(!cacheable(&req(
            "/api/v1/sites",
            &[("authorization", "Bearer x")]
        )));
        assert!(!cacheable(&req("/login", &[])));
        assert!(!cacheable(&req("/c/x", &[("cache-control", "no-cache")])));
        assert!(!cacheable(&req("/settings", &[])));
        let post = Request::builder()
            .method(Method::POST)
            .uri("/c/x")
            .body(Body::empty())
            .unwrap();
        assert!(!cacheable(&post));
    }
}
