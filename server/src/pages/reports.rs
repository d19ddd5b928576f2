//! What a campaign gives out besides its pages: the status mail, Atom feeds and exports.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use treewide_core::{campaigns, sites, subsystems};

use crate::error::{Failure, PageError};
use crate::params;
use crate::state::AppState;
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

/// `GET /c/{campaign}/report.txt?subsystem=`: the status mail as plain text.
async fn report(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let text = treewide_core::report::render(
        &st.db,
        &slug,
        q.subsystem.as_deref().filter(|s| !s.is_empty()),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
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

#[derive(Deserialize)]
struct ExportQuery {
    status: Option<String>,
    subsystem: Option<String>,
}

/// `GET /c/{campaign}/export.csv?status=&subsystem=`: the filtered site list as CSV.
async fn export_csv(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let mut query = sites::SiteQuery {
        campaign: Some(c.id),
        status: params::status(q.status.as_deref())?,
        ..Default::default()
    };
    if let Some(sub) = q.subsystem.as_deref().filter(|s| !s.is_empty()) {
        query.subsystem = Some(subsystems::filter(&st.db, sub).await?.0);
    }
    let mut out = Vec::new();
    treewide_formats::export::write_csv(&st.db, &query, &mut out)
        .await
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &format!("{}.csv", c.slug),
        out,
    ))
}

/// `GET /c/{campaign}/export.json`: the campaign as treewide-audit/1 (re-importable).
async fn export_json(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let mut out = Vec::new();
    treewide_formats::export::write_json(&st.db, &c.slug, &mut out)
        .await
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    Ok(attachment(
        "application/json",
        &format!("{}.json", c.slug),
        out,
    ))
}

/// A download of `body`, named `file`.
fn attachment(content_type: &str, file: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{file}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
