//! Streamed downloads (`export.json`, `export.csv`, on pages and in the API): the body is
//! written chunk by chunk as the client reads it, never held whole, and its ETag is the
//! database's version, known before a byte is read.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;
use treewide_formats::export::{CsvExport, JsonExport};

use serde::Deserialize;
use treewide_core::model::CampaignId;
use treewide_core::report::Report;
use treewide_core::{campaigns, sites, subsystems};

use crate::error::Failure;
use crate::params;
use crate::state::AppState;

/// An export (or the status mail) being written.
pub enum Export {
    Json(JsonExport),
    Csv(CsvExport),
    Report(Report),
}

impl Export {
    async fn next_chunk(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Export::Json(e) => e.next_chunk().await,
            Export::Csv(e) => e.next_chunk().await,
            Export::Report(r) => Ok(r.next_chunk().await?.map(String::into_bytes)),
        }
    }
}

/// What an export failed with: core's failures as they are (a busy pool is a 503), anything
/// else (stored data the format cannot carry) as a bad request.
pub fn failure(e: anyhow::Error) -> Failure {
    match e.downcast::<treewide_core::Error>() {
        Ok(e) => e.into(),
        Err(e) => Failure::BadRequest(format!("{e:#}")),
    }
}

/// What the client asked for, for the ETag: `key` names the resource (path and query).
pub struct Download<'a> {
    pub key: &'a str,
    /// The file name to save it as; `None` shows it in the browser.
    pub file: Option<&'a str>,
    pub content_type: &'static str,
}

/// The streamed answer: 304 when `If-None-Match` names the current version, 503 when
/// `max_exports` are streaming already, else 200 with the body `start` begins.
pub async fn respond<F>(
    st: &AppState,
    req: &HeaderMap,
    d: Download<'_>,
    start: F,
) -> Result<Response, Failure>
where
    F: std::future::Future<Output = anyhow::Result<Export>>,
{
    let etag = st.versions.version().await.map(|(epoch, version)| {
        let mut h = Sha256::new();
        h.update(epoch.to_le_bytes());
        h.update(version.to_le_bytes());
        h.update(d.key.as_bytes());
        format!("\"v{}\"", hex::encode(&h.finalize()[..12]))
    });
    if let Some(tag) = &etag {
        let matches = req
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*");
        if matches {
            let mut res = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(tag) {
                res.headers_mut().insert(header::ETAG, v);
            }
            return Ok(res);
        }
    }
    let permit = st
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| Failure::Unavailable("too many exports at once".into()))?;
    let export = start.await.map_err(failure)?;
    let body = Body::from_stream(chunks(export, permit));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(d.content_type),
    );
    if let Some(Ok(v)) = d
        .file
        .map(|f| HeaderValue::from_str(&format!("attachment; filename=\"{f}\"")))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(v) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(header::ETAG, v);
    }
    Ok(res)
}

/// The export's chunks as a body stream, holding its permit until the last (or until the
/// client goes away and the body is dropped). A failure midway ends the body with an error,
/// so the client sees a cut-off answer rather than a short one that looks whole.
fn chunks(
    export: Export,
    permit: OwnedSemaphorePermit,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let state = Some((export, permit));
    futures_util::stream::unfold(state, |state| async move {
        let (mut export, permit) = state?;
        match export.next_chunk().await {
            Ok(Some(b)) => Some((Ok(Bytes::from(b)), Some((export, permit)))),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("export failed midway: {e:#}");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    })
}

/// The filters of a CSV export.
#[derive(Deserialize)]
pub struct ExportQuery {
    status: Option<String>,
    subsystem: Option<String>,
}

impl ExportQuery {
    /// The sites of campaign `c` this query selects.
    pub async fn sites(&self, st: &AppState, c: CampaignId) -> Result<sites::SiteQuery, Failure> {
        let mut query = sites::SiteQuery {
            campaign: Some(c),
            status: params::status(self.status.as_deref())?,
            ..Default::default()
        };
        if let Some(sub) = self.subsystem.as_deref().filter(|s| !s.is_empty()) {
            query.subsystem = Some(subsystems::filter(&st.db, sub).await?.0);
        }
        Ok(query)
    }
}

/// The CSV export of campaign `slug` as `q` filters it (page and API).
pub async fn csv_download(
    st: &AppState,
    slug: &str,
    q: &ExportQuery,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let c = campaigns::meta(&st.db, slug).await?;
    let query = q.sites(st, c.id).await?;
    let file = format!("{}.csv", c.slug);
    let d = Download {
        key: &uri.to_string(),
        file: Some(&file),
        content_type: "text/csv; charset=utf-8",
    };
    let db = st.db.clone();
    respond(st, headers, d, async move {
        Ok(Export::Csv(CsvExport::start(&db, query).await?))
    })
    .await
}

/// The JSON export of campaign `slug` (page and API).
pub async fn json_download(
    st: &AppState,
    slug: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let c = campaigns::meta(&st.db, slug).await?;
    let file = format!("{}.json", c.slug);
    let d = Download {
        key: &uri.to_string(),
        file: Some(&file),
        content_type: "application/json",
    };
    let db = st.db.clone();
    respond(st, headers, d, async move {
        Ok(Export::Json(JsonExport::start(&db, &c.slug).await?))
    })
    .await
}

/// The status mail of campaign `slug` (of one subsystem with `subsystem`), streamed as text:
/// it lists every open site, megabytes at 100k sites, so it is written as it is read and
/// counts as an export (`--max-exports`).
pub async fn report_download(
    st: &AppState,
    slug: &str,
    subsystem: Option<&str>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let d = Download {
        key: &uri.to_string(),
        file: None,
        content_type: "text/plain; charset=utf-8",
    };
    let db = st.db.clone();
    respond(st, headers, d, async move {
        Ok(Export::Report(Report::start(&db, slug, subsystem).await?))
    })
    .await
}
