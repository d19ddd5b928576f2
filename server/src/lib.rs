//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod config;
mod error;
mod middleware;
mod pages;
mod params;
mod state;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tower_sessions_sqlx_store::SqliteStore;
use treewide_core::SqlitePool;

pub use config::{Config, Limit, LoginLimits, PublicUrl};
pub use state::AppState;

/// The whole application on `db` (its sessions in the sessions file beside it).
pub async fn router(db: SqlitePool, config: Config) -> treewide_core::Result<Router> {
    let sessions = middleware::session::store(&db).await?;
    Ok(app(db, sessions, &config))
}

fn app(db: SqlitePool, sessions: SqliteStore, config: &Config) -> Router {
    let state = AppState {
        db: db.clone(),
        public_url: config.public_url.clone(),
        logins: Arc::new(middleware::login_limit::LoginGuard::new(
            config.login_limits,
        )),
    };
    let app = pages::router()
        .merge(api::router())
        .fallback(pages::not_found)
        .with_state(state);
    middleware::wrap(app, db, sessions, config)
}

/// Serve on `listener` until the process ends, deleting expired sessions as it goes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: SqlitePool,
    config: Config,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let sessions = middleware::session::store(&db)
        .await
        .map_err(std::io::Error::other)?;
    let cleanup = tokio::spawn(middleware::session::delete_expired_every(
        sessions.clone(),
        config.session_cleanup,
    ));
    // Answers are written whole; Nagle's algorithm would only hold their last segment back
    // until the client's (delayed) ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    let served = axum::serve(
        listener,
        app(db, sessions, &config).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await;
    cleanup.abort();
    served
}
