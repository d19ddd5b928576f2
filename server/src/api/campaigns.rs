//! Campaigns in the API: the list, one campaign with its groups, notes and references, its
//! subsystems' progress and its burndown.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use treewide_core::{campaigns, history, subsystems};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::campaign::CampaignDetail;

/// `/campaigns…` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(campaigns))
        .route("/campaigns/{slug}", get(campaign))
        .route("/campaigns/{slug}/subsystems", get(subsystems))
        .route("/campaigns/{slug}/burndown", get(burndown))
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
