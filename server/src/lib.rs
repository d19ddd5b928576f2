//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod assets;
mod error;
mod etag;
mod pages;
mod views;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use treewide_core::SqlitePool;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
}

/// The whole application.
pub fn router(db: SqlitePool) -> Router {
    let api = Router::new()
        .route("/campaigns", get(api::campaigns))
        .route("/campaigns/{slug}", get(api::campaign))
        .route("/campaigns/{slug}/subsystems", get(api::subsystems))
        .route("/sites", get(api::sites))
        .route("/sites/{id}", get(api::site))
        .fallback(api::not_found);
    Router::new()
        .route("/", get(pages::index))
        .route("/c/{campaign}", get(pages::campaign))
        .route("/c/{campaign}/s/{subsystem}", get(pages::subsystem))
        .route("/c/{campaign}/site/{id}", get(pages::site))
        .route("/static/{name}", get(assets::file))
        .nest("/api/v1", api)
        .fallback(pages::not_found)
        .with_state(AppState { db })
        .layer(axum::middleware::from_fn(etag::etag))
        .layer(RequestBodyLimitLayer::new(1 << 20))
        .layer(TraceLayer::new_for_http())
}

/// Serve on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, db: SqlitePool) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(db).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
