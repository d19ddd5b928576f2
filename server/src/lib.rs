//! treewide-server: the dashboard (server-rendered HTML) and the REST API.

mod api;
mod api_mail;
mod assets;
mod error;
mod forms;
mod middleware;
mod pages;
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
    let api = Router::new()
        .route("/campaigns", get(api::campaigns))
        .route("/campaigns/{slug}", get(api::campaign))
        .route("/campaigns/{slug}/subsystems", get(api::subsystems))
        .route("/campaigns/{slug}/burndown", get(api::burndown))
        .route("/sites", get(api::sites))
        .route("/sites/{id}", get(api::site).patch(api::patch_site))
        .route("/sites/{id}/notes", post(api::post_note))
        .route("/events", get(api::events_feed))
        .route("/check", post(api::check))
        .route("/openapi.json", get(api::openapi))
        .route("/messages", get(api_mail::messages))
        .route("/messages/{id}", get(api_mail::message))
        .route("/sites/{id}/messages", get(api_mail::site_messages))
        .fallback(api::not_found);
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
        .nest("/api/v1", api)
        // The browsable API docs: Swagger UI from the crate (vendored, works offline).
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .config(utoipa_swagger_ui::Config::new(["/api/v1/openapi.json"])),
        )
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
