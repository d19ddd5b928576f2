//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod error;
mod middleware;
mod pages;
mod params;
mod state;
mod views;

use std::net::SocketAddr;

use axum::Router;
use treewide_core::SqlitePool;

pub use state::AppState;

/// The whole application.
pub fn router(db: SqlitePool) -> Router {
    let app = pages::router()
        .merge(api::router())
        .fallback(pages::not_found)
        .with_state(AppState { db: db.clone() });
    middleware::wrap(app, db)
}

/// Serve on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, db: SqlitePool) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Answers are written whole; Nagle's algorithm would only hold their last segment back
    // until the client's (delayed) ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    axum::serve(
        listener,
        router(db).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
