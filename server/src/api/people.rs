//! What waits for a person, and claims, through the API: `GET /api/v1/me/queue` (the
//! token owner's queue), `POST`/`DELETE /api/v1/sites/{id}/claim`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use treewide_core::users::Scope;
use treewide_core::{claims, queue};

use crate::error::{ApiError, Failure};
use crate::middleware::bearer::ApiCaller;
use crate::params;
use crate::state::AppState;

/// `/me/queue` and `/sites/{id}/claim`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/queue", get(my_queue))
        .route("/sites/{id}/claim", post(claim).delete(release))
}

/// `GET /api/v1/me/queue` (any token): what waits for the token's owner across campaigns:
/// their subsystems, open questions to them, sites awaiting their sign-off, proposals, their
/// claims, and patches with their Acked-by/Reviewed-by that propose fixes.
#[utoipa::path(get, path = "/api/v1/me/queue", tag = "read",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "the token owner's queue", body = serde_json::Value),
              (status = 401, description = "no valid token")))]
pub async fn my_queue(State(st): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    let q = queue::for_email(&st.db, &caller.user.email).await?;
    Ok(Json(json!({ "queue": q })).into_response())
}

/// Body of a claim.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// 1 to 90 (14 when absent).
    #[serde(default)]
    days: Option<u32>,
}

/// `POST /api/v1/sites/{id}/claim` (`notes:write`): "I'm on it" for `days` (14); claiming
/// again extends it.
#[utoipa::path(post, path = "/api/v1/sites/{id}/claim", tag = "write",
    params(("id" = i64, Path, description = "site id")),
    request_body = ClaimBody,
    security(("bearer" = ["notes:write"])),
    responses((status = 201, description = "the claim", body = serde_json::Value),
              (status = 400, description = "days not 1 to 90"), (status = 403, description = "scope missing")))]
pub async fn claim(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Result<Json<ClaimBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::NotesWrite)?;
    let id = params::site_id(&id)?;
    let days = match body {
        Ok(Json(b)) => b.days,
        Err(JsonRejection::MissingJsonContentType(_)) => None,
        Err(e) => return Err(Failure::BadRequest(e.body_text()).into()),
    };
    let c = claims::claim_site(
        &st.db,
        id,
        &caller.user,
        days.unwrap_or(claims::DEFAULT_DAYS),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "claim": c }))).into_response())
}

/// `DELETE /api/v1/sites/{id}/claim` (`notes:write`): release one's claim on the site.
#[utoipa::path(delete, path = "/api/v1/sites/{id}/claim", tag = "write",
    params(("id" = i64, Path, description = "site id")),
    security(("bearer" = ["notes:write"])),
    responses((status = 204, description = "released"), (status = 404, description = "no claim of yours on the site")))]
pub async fn release(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::NotesWrite)?;
    let id = params::site_id(&id)?;
    if !claims::release_site(&st.db, id, &caller.user).await? {
        return Err(Failure::NotFound(format!("no claim of yours on site {id}")).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
