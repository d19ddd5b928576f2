//! The event feed: every change after a cursor, for bots that follow the campaigns.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use treewide_core::events;

use super::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{ApiError, Failure};
use crate::params;
use crate::state::AppState;

/// `/events`.
pub fn router() -> Router<AppState> {
    Router::new().route("/events", get(events_feed))
}

/// `GET /api/v1/events?since=&limit=`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /api/v1/events?since=CURSOR`: every change after the cursor, oldest first. Poll with
/// the answer's `next` cursor.
#[utoipa::path(get, path = "/api/v1/events", tag = "read",
    params(("since" = Option<i64>, Query, description = "the `next` of the previous answer (0: from the start)"),
           ("limit" = Option<u32>, Query, description = "1 to 500, default 100")),
    responses((status = 200, description = "`items` after the cursor, oldest first, and the `next` cursor", body = serde_json::Value)))]
pub async fn events_feed(
    State(st): State<AppState>,
    params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = params::page_limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let since = p.since.unwrap_or(0);
    let items = events::since(&st.db, since, limit).await?;
    let next = items.last().map_or(since, |(_, e)| e.id.0);
    let items: Vec<_> = items
        .into_iter()
        .map(|(campaign, e)| json!({ "campaign": campaign, "event": e }))
        .collect();
    Ok(Json(json!({ "items": items, "next": next })).into_response())
}
