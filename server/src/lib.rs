//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod assets;
mod error;
mod forms;
mod middleware;
mod pages;
mod params;
mod views;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::Router;
use treewide_core::SqlitePool;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
}

/// The whole application.
pub fn router(db: SqlitePool) -> Router {
    let app = Router::new()
        .route("/", get(pages::index))
        .route("/c/{campaign}", get(pages::campaign))
        .route("/c/{campaign}/s/{subsystem}", get(pages::subsystem))
        .route("/c/{campaign}/site/{id}", get(pages::site))
        .route("/c/{campaign}/report.txt", get(pages::report))
        .route("/c/{campaign}/feed.atom", get(pages::campaign_feed))
        .route("/c/{campaign}/export.csv", get(pages::export_csv))
        .route("/c/{campaign}/export.json", get(pages::export_json))
        .route(
            "/c/{campaign}/s/{subsystem}/feed.atom",
            get(pages::subsystem_feed),
        )
        .route("/c/{campaign}/site/{id}/status", post(forms::set_status))
        .route("/c/{campaign}/site/{id}/notes", post(forms::add_note))
        .route(
            "/c/{campaign}/s/{subsystem}/signoff",
            post(forms::bulk_signoff),
        )
        .route("/questions/{id}/answer", post(forms::answer))
        .route("/login", get(forms::login_page).post(forms::login))
        .route("/logout", post(forms::logout))
        .route(
            "/invite/{token}",
            get(forms::invite_page).post(forms::accept_invite),
        )
        .route("/settings", get(forms::settings))
        .route("/settings/tokens", post(forms::create_token))
        .route("/settings/tokens/{id}/revoke", post(forms::revoke_token))
        .route("/static/{name}", get(assets::file))
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
