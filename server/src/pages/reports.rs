//! What a campaign gives out besides its pages: the status mail, Atom feeds and exports.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::error::{Failure, PageError};
use crate::state::AppState;
use crate::views::export::{csv_download, json_download, report_download, ExportQuery};
use crate::views::feed::Feed;

/// The report, feed and export routes of a campaign.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{campaign}/report.txt", get(report))
        .route("/c/{campaign}/feed.atom", get(campaign_feed))
        .route("/c/{campaign}/s/{subsystem}/feed.atom", get(subsystem_feed))
        .route("/c/{campaign}/export.csv", get(export_csv))
        .route("/c/{campaign}/export.json", get(export_json))
}

/// `GET /c/{campaign}/report.txt?subsystem=`: the status mail as plain text, streamed.
async fn report(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ReportQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let sub = q.subsystem.as_deref().filter(|s| !s.is_empty());
    Ok(report_download(&st, &slug, sub, &uri, &headers).await?)
}

#[derive(Deserialize)]
struct ReportQuery {
    subsystem: Option<String>,
}

async fn feed_response(
    st: &AppState,
    slug: &str,
    sub: Option<&str>,
) -> Result<Response, PageError> {
    let xml = Feed::load(&st.db, slug, sub, st.public_url.as_ref())
        .await?
        .render()
        .map_err(|e| Failure::BadRequest(format!("feed: {e}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// `GET /c/{campaign}/feed.atom`
async fn campaign_feed(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    feed_response(&st, &slug, None).await
}

/// `GET /c/{campaign}/s/{subsystem}/feed.atom`
async fn subsystem_feed(
    State(st): State<AppState>,
    Path((slug, sub)): Path<(String, String)>,
) -> Result<Response, PageError> {
    feed_response(&st, &slug, Some(&sub)).await
}

/// `GET /c/{campaign}/export.csv?status=&subsystem=`: the filtered site list as CSV, streamed.
async fn export_csv(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ExportQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    Ok(csv_download(&st, &slug, &q, &uri, &headers).await?)
}

/// `GET /c/{campaign}/export.json`: the campaign as treewide-audit/1 (re-importable),
/// streamed.
async fn export_json(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    Ok(json_download(&st, &slug, &uri, &headers).await?)
}
