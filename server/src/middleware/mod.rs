//! What stands between the network and the handlers: login sessions and CSRF tokens, login
//! rate limits, API tokens, the page cache, ETags, the body limit, admission (503 under
//! load) and security headers.

mod admission;
pub mod bearer;
pub mod cache;
pub mod csrf;
mod etag;
mod headers;
pub mod login_limit;
pub mod session;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions_sqlx_store::SqliteStore;
use treewide_core::SqlitePool;

use crate::config::Config;

/// Largest request body (a diff for the check, a form): 1 MiB.
const MAX_BODY: usize = 1 << 20;

/// Wrap the application in every layer, innermost first: session renewal, sessions, the
/// page cache (which must see the session cookie, and answers before their ETag), ETags, the
/// body limit, admission (a slot per request, or 503), security headers, tracing.
pub fn wrap(
    app: Router,
    db: SqlitePool,
    sessions: SqliteStore,
    cache: cache::PageCache,
    config: &Config,
) -> Router {
    let app = app
        .layer(axum::middleware::from_fn(session::keep_alive))
        .layer(session::layer(db, sessions, config.secure_cookies))
        .layer(axum::middleware::from_fn_with_state(cache, cache::layer))
        .layer(axum::middleware::from_fn(etag::etag))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            admission::Admission::new(config.limits),
            admission::layer,
        ));
    headers::secure(app).layer(TraceLayer::new_for_http())
}
