//! Campaigns in the API: the list, one campaign with its groups, notes and references, its
//! subsystems' progress and its burndown.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use treewide_core::{campaigns, history, subsystems};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::campaign::CampaignDetail;
use crate::views::export as reports;

/// `/campaigns…` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(campaigns))
        .route("/campaigns/{slug}", get(campaign))
        .route("/campaigns/{slug}/subsystems", get(subsystems))
        .route("/campaigns/{slug}/burndown", get(burndown))
        .route("/campaigns/{slug}/export.json", get(export_json))
        .route("/campaigns/{slug}/export.csv", get(export_csv))
}

/// `GET /api/v1/campaigns`
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "read",
    responses((status = 200, description = "every campaign with its counts per status", body = serde_json::Value)))]
pub async fn campaigns(State(st): State<AppState>) -> Result<Response, ApiError> {
    let list = campaigns::list(&st.db).await?;
    Ok(Json(json!({ "campaigns": list })).into_response())
}

/// `GET /api/v1/campaigns/{slug}`: the campaign with its verdict groups, notes and references.
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "the campaign, its verdict groups, notes, references and last scan", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn campaign(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let d = CampaignDetail::load(&st.db, &slug).await?;
    Ok(Json(json!({
        "campaign": d.campaign, "verdicts": d.verdicts, "notes": d.notes, "refs": d.refs, "scan": d.scan
    }))
    .into_response())
}

/// `GET /api/v1/campaigns/{slug}/subsystems`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/subsystems", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "counts and open questions per subsystem", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn subsystems(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let list = subsystems::progress(&st.db, c.id).await?;
    Ok(Json(json!({ "campaign": c.slug, "subsystems": list })).into_response())
}

/// `GET /api/v1/campaigns/{slug}/burndown`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/burndown", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "open and done sites per day something changed (and today): `points` of `{date, open, done}`; a site counts as done from its fixing or removing commit's date when history has one, else from when it was last marked done", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json")))]
pub async fn burndown(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let points: Vec<_> = history::burndown(&st.db, c.id)
        .await?
        .into_iter()
        .map(|p| json!({ "date": p.date.to_string(), "open": p.open, "done": p.done }))
        .collect();
    Ok(Json(json!({ "campaign": c.slug, "points": points })).into_response())
}

/// `GET /api/v1/campaigns/{slug}/export.json`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/export.json", tag = "read",
    params(("slug" = String, Path, description = "campaign slug")),
    responses((status = 200, description = "the campaign as a treewide-audit/1 document (re-importable), streamed; its ETag is the database's version", body = serde_json::Value),
              (status = 404, description = "no such campaign", content_type = "application/problem+json"),
              (status = 503, description = "too many exports at once (Retry-After)", content_type = "application/problem+json")))]
pub async fn export_json(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(reports::json_download(&st, &slug, &uri, &headers).await?)
}

/// `GET /api/v1/campaigns/{slug}/export.csv?status=&subsystem=`
#[utoipa::path(get, path = "/api/v1/campaigns/{slug}/export.csv", tag = "read",
    params(("slug" = String, Path, description = "campaign slug"),
           ("status" = Option<String>, Query, description = "only sites with this status"),
           ("subsystem" = Option<String>, Query, description = "only sites of this subsystem (slug or MAINTAINERS name)")),
    responses((status = 200, description = "the sites as CSV, streamed; its ETag is the database's version", content_type = "text/csv"),
              (status = 404, description = "no such campaign or subsystem", content_type = "application/problem+json"),
              (status = 503, description = "too many exports at once (Retry-After)", content_type = "application/problem+json")))]
pub async fn export_csv(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<reports::ExportQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(reports::csv_download(&st, &slug, &q, &uri, &headers).await?)
}
