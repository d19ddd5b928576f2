//! The mail API: messages by site, subsystem or thread, and one message with its trailers,
//! linked sites and thread position.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use treewide_core::mail::{self, MessageQuery};
use treewide_core::model::SiteId;
use treewide_core::{sites, subsystems};

use crate::error::{ApiError, Failure};
use crate::params;
use crate::state::AppState;
use crate::views::site::SiteMail;

/// `/messages…` routes, and a site's mail.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/messages", get(messages))
        .route("/messages/{id}", get(message))
        .route("/sites/{id}/messages", get(site_messages))
}

/// Largest answer of `/api/v1/messages`.
const MAX_LIMIT: u32 = 1000;

/// Filters of `/api/v1/messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesParams {
    site: Option<String>,
    subsystem: Option<String>,
    thread: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/messages?site=&subsystem=&thread=&limit=`: messages by date.
#[utoipa::path(get, path = "/api/v1/messages", tag = "mail",
    params(("site" = Option<i64>, Query, description = "site id"), ("subsystem" = Option<String>, Query, description = "subsystem slug"),
           ("thread" = Option<String>, Query, description = "Message-ID of the thread root"), ("limit" = Option<u32>, Query, description = "1 to 1000")),
    responses((status = 200, description = "messages by date", body = serde_json::Value)))]
pub async fn messages(
    State(st): State<AppState>,
    params: Result<Query<MessagesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = params::page_limit(p.limit, MAX_LIMIT, MAX_LIMIT)?;
    let mut q = MessageQuery {
        limit,
        thread: p.thread.filter(|t| !t.is_empty()).map(|t| {
            t.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        }),
        ..Default::default()
    };
    if let Some(s) = p.site.as_deref().filter(|s| !s.is_empty()) {
        let id = s
            .parse()
            .map(SiteId)
            .map_err(|_| Failure::BadRequest(format!("invalid site id {s:?}")))?;
        q.site = Some(sites::get(&st.db, id).await?.id);
    }
    if let Some(sub) = p.subsystem.as_deref().filter(|s| !s.is_empty()) {
        let (_, info) = subsystems::filter(&st.db, sub).await?;
        q.subsystem = Some(
            info.ok_or_else(|| Failure::BadRequest("messages need a real subsystem".into()))?
                .id,
        );
    }
    let items: Vec<_> = mail::list(&st.db, &q)
        .await?
        .into_iter()
        .map(|m| {
            let url = m.lore_url();
            json!({ "message": m, "lore_url": url })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/messages/{message-id}`: headers, body, trailers, linked sites, thread position.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "mail",
    params(("id" = String, Path, description = "Message-ID (percent-encoded)")),
    responses((status = 200, description = "headers, trailers, linked sites, thread position", body = serde_json::Value),
              (status = 404, description = "no such message", content_type = "application/problem+json")))]
pub async fn message(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let m = mail::get(&st.db, &id).await?;
    Ok(Json(json!({ "message": m })).into_response())
}

/// Paging of `/api/v1/sites/{id}/messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteMessagesParams {
    threads: Option<u32>,
    limit: Option<u32>,
    weak_limit: Option<u32>,
}

/// `GET /api/v1/sites/{id}/messages?threads=&limit=`: a site's messages as threads (strong
/// ones a page at a time, newest first; the first weak ones with their count), the patches
/// proposed as its fix with their versions, the trailers on them (with sign-offs) and owners'
/// answers pending review.
#[utoipa::path(get, path = "/api/v1/sites/{id}/messages", tag = "mail",
    params(("id" = i64, Path, description = "site id"),
           ("threads" = Option<u32>, Query, description = "strong threads to skip (newest first)"),
           ("limit" = Option<u32>, Query, description = "strong threads to give, 1 to 100 (20)"),
           ("weak_limit" = Option<u32>, Query, description = "weak threads to give, 0 to 1000 (10)")),
    responses((status = 200, description = "the site's mail as threads, proposed fixes, trailers and answers pending review", body = serde_json::Value)))]
pub async fn site_messages(
    State(st): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<SiteMessagesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let id = params::site_id(&id)?;
    let page = params::thread_page(p.threads, p.limit, p.weak_limit)?;
    let s = sites::get(&st.db, id).await?;
    let campaign = treewide_core::campaigns::meta(&st.db, &s.campaign).await?;
    let mail = SiteMail::load(&st.db, campaign.id, id, page).await?;
    Ok(Json(json!({
        "site": id, "messages": mail.thread_json(), "fixes": mail.fixes,
        "trailers": mail.trailers, "answers_pending_review": mail.answers
    }))
    .into_response())
}
