//! Proposals through the API: a site's proposals, one proposal, and an owner's decision (or
//! its author's withdrawal). `PATCH /api/v1/sites/{id}` makes them (202) when a change needs
//! the site's owners.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use treewide_core::model::EventSource;
use treewide_core::users::{self, Scope};
use treewide_core::{proposals, sites};

use crate::error::{ApiError, Failure};
use crate::middleware::bearer::ApiCaller;
use crate::params;
use crate::state::AppState;

/// `/sites/{id}/proposals` and `/proposals/{id}…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sites/{id}/proposals", get(site_proposals))
        .route("/proposals/{id}", get(proposal))
        .route("/proposals/{id}/{decision}", post(decide))
}

/// `GET /api/v1/sites/{id}/proposals`: the site's proposals, open ones first.
#[utoipa::path(get, path = "/api/v1/sites/{id}/proposals", tag = "read",
    params(("id" = i64, Path, description = "site id")),
    responses((status = 200, description = "the site's proposals, open ones first", body = serde_json::Value),
              (status = 404, description = "no such site", content_type = "application/problem+json")))]
pub async fn site_proposals(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = params::site_id(&id)?;
    sites::get(&st.db, id).await?;
    let items = proposals::for_site(&st.db, id).await?;
    Ok(Json(json!({ "site": id, "items": items })).into_response())
}

/// `GET /api/v1/proposals/{id}`.
#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "read",
    params(("id" = i64, Path, description = "proposal id")),
    responses((status = 200, description = "the proposal", body = serde_json::Value),
              (status = 404, description = "no such proposal", content_type = "application/problem+json")))]
pub async fn proposal(
    State(st): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let p = proposals::get(&st.db, id).await?;
    Ok(Json(json!({ "proposal": p })).into_response())
}

/// Body of a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/proposals/{id}/{accept|reject|withdraw}` (`status:write`): the site's owners
/// (its subsystem's maintainers and reviewers, or an admin; a bot acts with its token owner's
/// authority) accept or reject; the proposal's author withdraws.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/{decision}", tag = "write",
    params(("id" = i64, Path, description = "proposal id"),
           ("decision" = String, Path, description = "accept, reject or withdraw")),
    request_body = Decision,
    security(("bearer" = ["status:write"])),
    responses((status = 200, description = "the decided proposal", body = serde_json::Value),
              (status = 403, description = "not an owner of the site (or not the author, to withdraw)"),
              (status = 409, description = "decided already, or the site moved on since (then it is superseded)")))]
pub async fn decide(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path((id, decision)): Path<(i64, String)>,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::StatusWrite)?;
    let reason = match body {
        Ok(Json(d)) => d.reason,
        Err(JsonRejection::MissingJsonContentType(_)) => String::new(),
        Err(e) => return Err(Failure::BadRequest(e.body_text()).into()),
    };
    let p = proposals::get(&st.db, id).await?;
    let who = caller.user.display();
    let p = match decision.as_str() {
        "withdraw" => proposals::withdraw(&st.db, id, &who).await?,
        "accept" | "reject" => {
            let by = users::authority(&st.db, &caller.user, p.site).await?;
            proposals::decide(
                &st.db,
                id,
                decision == "accept",
                by,
                &who,
                EventSource::Api,
                reason.trim(),
            )
            .await?
        }
        other => {
            return Err(Failure::NotFound(format!(
                "no decision {other:?}: accept, reject or withdraw"
            ))
            .into())
        }
    };
    Ok(Json(json!({ "proposal": p })).into_response())
}
