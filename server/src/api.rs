//! The read API for bots: JSON, cursor pagination, problem+json errors.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use treewide_core::model::{SiteId, Status};
use treewide_core::sites::SiteQuery;
use treewide_core::{campaigns, events, notes, refs, sites, subsystems, verdicts};

use crate::error::{ApiError, Failure};
use crate::views::enc;
use crate::AppState;

/// Largest page of `/api/v1/sites`.
pub const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 100;

/// `GET /api/v1/campaigns`
pub async fn campaigns(State(st): State<AppState>) -> Result<Response, ApiError> {
    let list = campaigns::list(&st.db).await?;
    Ok(Json(json!({ "campaigns": list })).into_response())
}

/// `GET /api/v1/campaigns/{slug}`: the campaign with its verdict groups, notes and references.
pub async fn campaign(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let vs = verdicts::list_in(&st.db, c.id).await?;
    let ns = notes::for_campaign(&st.db, c.id).await?;
    let rs = refs::for_campaign(&st.db, c.id).await?;
    let scan = campaigns::scan_state(&st.db, c.id).await?;
    Ok(
        Json(json!({ "campaign": c, "verdicts": vs, "notes": ns, "refs": rs, "scan": scan }))
            .into_response(),
    )
}

/// `GET /api/v1/campaigns/{slug}/subsystems`
pub async fn subsystems(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let list = subsystems::progress(&st.db, c.id).await?;
    Ok(Json(json!({ "campaign": c.slug, "subsystems": list })).into_response())
}

/// Filters and cursor of `/api/v1/sites`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SitesParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subsystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// `GET /api/v1/sites?campaign=&subsystem=&status=&file=&callee=&limit=&cursor=`
pub async fn sites(
    State(st): State<AppState>,
    params: Result<Query<SitesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| Failure::BadRequest(e.body_text()))?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(
            Failure::BadRequest(format!("limit must be 1 to {MAX_LIMIT}, not {limit}")).into(),
        );
    }
    let after = match p.cursor.as_deref() {
        None | Some("") => SiteId(0),
        Some(c) => SiteId(
            c.parse()
                .map_err(|_| Failure::BadRequest(format!("invalid cursor {c:?}")))?,
        ),
    };
    let mut q = SiteQuery {
        status: p
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<Status>)
            .transpose()?,
        file: p.file.clone().filter(|s| !s.is_empty()),
        callee: p.callee.clone().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    if let Some(slug) = p.campaign.as_deref().filter(|s| !s.is_empty()) {
        q.campaign = Some(campaigns::get(&st.db, slug).await?.id);
    }
    if let Some(sub) = p.subsystem.as_deref().filter(|s| !s.is_empty()) {
        q.subsystem = Some(subsystems::filter(&st.db, sub).await?.0);
    }
    let items = sites::list(&st.db, &q, after, limit + 1).await?;
    let more = items.len() > limit as usize;
    let items: Vec<_> = items.into_iter().take(limit as usize).collect();
    let next = match (more, items.last()) {
        (true, Some(last)) => {
            let np = SitesParams {
                cursor: Some(last.id.to_string()),
                limit: Some(limit),
                ..p
            };
            let qs = serde_json::to_value(&np)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        enc(&v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            Some(format!("/api/v1/sites?{qs}"))
        }
        _ => None,
    };
    let mut res = Json(json!({ "items": items, "next": next })).into_response();
    if let Some(n) = &next {
        if let Ok(v) = format!("<{n}>; rel=\"next\"").parse() {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// `GET /api/v1/sites/{id}`: the site with its notes, references and events.
pub async fn site(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SiteId(
        id.parse()
            .map_err(|_| Failure::NotFound(format!("site {id:?} not found")))?,
    );
    let s = sites::get(&st.db, id).await?;
    let ns = notes::for_site(&st.db, id).await?;
    let rs = refs::for_site(&st.db, id).await?;
    let es = events::for_site(&st.db, id).await?;
    let context = sites::context(&st.db, id)
        .await?
        .map(|(text, first_line)| json!({ "first_line": first_line, "text": text }));
    let subs: Vec<String> = sites::subsystems(&st.db, id)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    Ok(Json(json!({ "site": s, "subsystems": subs, "context": context, "notes": ns, "refs": rs, "events": es })).into_response())
}

/// Unknown API path.
pub async fn not_found() -> ApiError {
    ApiError(Failure::NotFound("no such API endpoint".into()))
}
