//! The patch check for CI: a diff in, the added lines that need a change out.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::error::{ApiError, Failure};
use crate::state::AppState;

/// `/check`.
pub fn router() -> Router<AppState> {
    Router::new().route("/check", post(check))
}

/// `POST /api/v1/check`: a unified diff (`text/x-diff`, or JSON `{"diff": …}`) → the added
/// lines that introduce a legacy direction, a new audited caller or a banned function, with
/// file, line and suggested replacement. `ok` is false when anything was found.
#[utoipa::path(post, path = "/api/v1/check", tag = "check",
    request_body(content = String, content_type = "text/x-diff", description = "a unified diff, or JSON {\"diff\": …}"),
    responses((status = 200, description = "`ok` and the `findings`: file, line, problem, suggested replacement", body = serde_json::Value)))]
pub async fn check(headers: axum::http::HeaderMap, body: String) -> Result<Response, ApiError> {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let diff = if json_body {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            diff: String,
        }
        serde_json::from_str::<Body>(&body)
            .map_err(|e| Failure::BadRequest(format!("expected {{\"diff\": \"…\"}}: {e}")))?
            .diff
    } else {
        body
    };
    let specs = treewide_formats::check::builtin_specs()
        .map_err(|e| Failure::BadRequest(format!("campaign specs: {e:#}")))?;
    let findings = treewide_formats::check::check_diff(&diff, &specs)
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    Ok(Json(json!({ "ok": findings.is_empty(), "findings": findings })).into_response())
}
