//! The OpenAPI document of the API, and the browsable Swagger UI over it.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{campaigns, check, events, messages, people, proposals, sites};
use crate::state::AppState;

/// `/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

/// The browsable API docs at `/api/docs`: Swagger UI from the crate (vendored, works offline).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs").config(Config::new(["/api/v1/openapi.json"]))
}

/// The OpenAPI document of the API.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "treewide API", description = "Call sites of a treewide kernel API conversion, per subsystem: read them, sign them off, check patches."),
    paths(campaigns::campaigns, campaigns::campaign, campaigns::subsystems, campaigns::burndown, campaigns::export_json, campaigns::export_csv,
          sites::sites, sites::site, sites::patch_site, sites::post_note, events::events_feed, check::check,
          messages::messages, messages::message, messages::site_messages,
          proposals::site_proposals, proposals::proposal, proposals::decide,
          people::my_queue, people::claim, people::release, sites::bulk),
    components(schemas(sites::PatchSite, sites::PostNote, sites::BulkBody, sites::BulkItem, proposals::Decision, people::ClaimBody, sites::SiteDetailJson, sites::SiteCommitJson, sites::CommitJson)),
    modifiers(&BearerAuth),
    tags((name = "read", description = "public reads"), (name = "write", description = "needs an API token with the scope"),
         (name = "check", description = "patch check for CI"), (name = "mail", description = "imported list mail"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
async fn openapi() -> Response {
    Json(<ApiDoc as utoipa::OpenApi>::openapi()).into_response()
}
