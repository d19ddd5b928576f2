//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod config;
mod error;
mod middleware;
mod pages;
mod params;
mod state;
mod views;

use std::sync::Arc;

use axum::Router;
use tower_sessions_sqlx_store::SqliteStore;
use treewide_core::SqlitePool;

pub use config::{Config, Limit, LoginLimits, PublicUrl, ServeLimits};
pub use state::AppState;

/// The whole application on `db` (its sessions in the sessions file beside it).
pub async fn router(db: SqlitePool, config: Config) -> treewide_core::Result<Router> {
    let sessions = middleware::session::store(&db).await?;
    Ok(app(db, sessions, &config))
}

fn app(db: SqlitePool, sessions: SqliteStore, config: &Config) -> Router {
    let cache = middleware::cache::PageCache::new(db.clone());
    let state = AppState {
        db: db.clone(),
        public_url: config.public_url.clone(),
        logins: Arc::new(middleware::login_limit::LoginGuard::new(
            config.login_limits,
        )),
        versions: cache.clone(),
        exports: Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_exports.max(1),
        )),
    };
    let app = pages::router()
        .merge(api::router())
        .fallback(pages::not_found)
        .with_state(state);
    middleware::wrap(app, db, sessions, cache, config)
}

/// Serve on `listener` until the process ends, deleting expired sessions as it goes.
///
/// The accept loop is ours rather than `axum::serve`'s so that it can cap open connections
/// (`ServeLimits::max_connections`: past it, new clients wait in the listen backlog instead
/// of the process running out of file descriptors) and give clients a deadline for a
/// request's headers (`header_read_timeout`, which also closes idle keep-alive
/// connections), which hyper offers but axum::serve does not set.
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: SqlitePool,
    config: Config,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;
    use tower::ServiceExt;

    let sessions = middleware::session::store(&db)
        .await
        .map_err(std::io::Error::other)?;
    let cleanup = tokio::spawn(middleware::session::delete_expired_every(
        sessions.clone(),
        config.session_cleanup,
    ));
    let limits = config.limits;
    let app = app(db, sessions, &config);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let served = loop {
        let Ok(slot) = connections.clone().acquire_owned().await else {
            break Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors (another part of the process holds them) or a
                // connection reset before accept: wait a little rather than spin.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // Answers are written whole; Nagle's algorithm would only hold their last segment
        // back until the client's (delayed) ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let app = app.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
            {
                tracing::debug!("connection from {peer}: {e}");
            }
            drop(slot);
        });
    };
    cleanup.abort();
    served
}
