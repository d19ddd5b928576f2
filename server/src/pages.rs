//! HTML pages: extract, call core, render.

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use treewide_core::model::{SiteId, Status};
use treewide_core::{campaigns, sites, subsystems};

use crate::error::{Failure, PageError};
use crate::middleware::csrf::csrf_token;
use crate::middleware::session::AuthSession;
use crate::views::campaign::{CampaignDetail, CampaignPage, SortKey, TableOrder};
use crate::views::feed::Feed;
use crate::views::home::IndexPage;
use crate::views::site::{SiteDetail, SitePage};
use crate::views::subsystem::{SubsystemPage, SubsystemScope};
use crate::views::{enc, CampaignHead, Chrome};
use crate::AppState;

/// The page frame for this request: the viewer, and a CSRF token when they can post forms
/// (anonymous visitors get no session, so plain reading stays cache-friendly).
pub async fn chrome(auth: &AuthSession, here: &str) -> Result<Chrome, PageError> {
    let Some(u) = &auth.user else {
        return Ok(Chrome {
            here: here.to_owned(),
            ..Default::default()
        });
    };
    Ok(Chrome {
        viewer: Some(u.0.display()),
        is_admin: u.0.is_admin,
        csrf: csrf_token(&auth.session).await?,
        here: here.to_owned(),
    })
}

/// `GET /`: every campaign with its progress.
pub async fn index(State(st): State<AppState>, auth: AuthSession) -> Result<IndexPage, PageError> {
    let list = campaigns::list(&st.db).await?;
    Ok(IndexPage {
        chrome: chrome(&auth, "/").await?,
        campaigns: list.iter().map(CampaignHead::new).collect(),
    })
}

#[derive(Deserialize)]
pub struct CampaignQuery {
    sort: Option<String>,
    dir: Option<String>,
    status: Option<String>,
}

fn parse_status(s: Option<&str>) -> Result<Option<Status>, PageError> {
    s.filter(|s| !s.is_empty())
        .map(|s| s.parse::<Status>())
        .transpose()
        .map_err(PageError::from)
}

/// `GET /c/{campaign}`: per-subsystem table.
pub async fn campaign(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(slug): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Result<CampaignPage, PageError> {
    let d = CampaignDetail::load(&st.db, &slug).await?;
    let sort = match q.sort.as_deref() {
        None | Some("") => SortKey::Name,
        Some(s) => SortKey::parse(s)
            .ok_or_else(|| Failure::BadRequest(format!("unknown sort key {s:?}")))?,
    };
    let desc = q.dir.as_deref() == Some("desc");
    let filter = parse_status(q.status.as_deref())?;
    let chrome = chrome(&auth, &format!("/c/{}", enc(&d.campaign.slug))).await?;
    let order = TableOrder { sort, desc, filter };
    Ok(CampaignPage::load(&st.db, d, order, chrome).await?)
}

#[derive(Deserialize)]
pub struct SubsystemQuery {
    status: Option<String>,
    page: Option<u32>,
}

/// `GET /c/{campaign}/s/{subsystem}`: the subsystem's sites, groups and notes.
pub async fn subsystem(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, sub)): Path<(String, String)>,
    Query(q): Query<SubsystemQuery>,
) -> Result<SubsystemPage, PageError> {
    let campaign = campaigns::meta(&st.db, &slug).await?;
    let (filter, info) = subsystems::filter(&st.db, &sub).await?;
    let status = parse_status(q.status.as_deref())?;
    let chrome = chrome(
        &auth,
        &format!("/c/{}/s/{}", enc(&campaign.slug), enc(&sub)),
    )
    .await?;
    let scope = SubsystemScope {
        campaign,
        slug: sub,
        filter,
        info,
        status,
        page: q.page.unwrap_or(1).max(1),
    };
    Ok(SubsystemPage::load(&st.db, scope, chrome).await?)
}

/// `GET /c/{campaign}/site/{id}`: one site with its notes, references and history.
pub async fn site(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, String)>,
) -> Result<SitePage, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let id = id
        .parse::<i64>()
        .map(SiteId)
        .map_err(|_| Failure::NotFound(format!("site {id:?} not found")))?;
    let d = SiteDetail::load(&st.db, id).await?;
    if d.site.campaign != c.slug {
        return Err(Failure::NotFound(format!("site {id} not found in campaign {slug}")).into());
    }
    let chrome = chrome(&auth, &format!("/c/{}/site/{id}", enc(&c.slug))).await?;
    Ok(SitePage::new(d, chrome))
}

/// Any other path.
pub async fn not_found() -> PageError {
    PageError(Failure::NotFound("no such page".into()))
}

/// `GET /c/{campaign}/report.txt?subsystem=`: the status mail as plain text.
pub async fn report(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let text = treewide_core::report::render(
        &st.db,
        &slug,
        q.subsystem.as_deref().filter(|s| !s.is_empty()),
    )
    .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ReportQuery {
    subsystem: Option<String>,
}

async fn feed_response(
    st: &AppState,
    slug: &str,
    sub: Option<&str>,
) -> Result<axum::response::Response, PageError> {
    use askama::Template;
    use axum::response::IntoResponse;
    let xml = Feed::load(&st.db, slug, sub)
        .await?
        .render()
        .map_err(|e| Failure::BadRequest(format!("feed: {e}")))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/atom+xml; charset=utf-8",
        )],
        xml,
    )
        .into_response())
}

/// `GET /c/{campaign}/feed.atom`
pub async fn campaign_feed(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<axum::response::Response, PageError> {
    feed_response(&st, &slug, None).await
}

/// `GET /c/{campaign}/s/{subsystem}/feed.atom`
pub async fn subsystem_feed(
    State(st): State<AppState>,
    Path((slug, sub)): Path<(String, String)>,
) -> Result<axum::response::Response, PageError> {
    feed_response(&st, &slug, Some(&sub)).await
}

#[derive(Deserialize)]
pub struct ExportQuery {
    status: Option<String>,
    subsystem: Option<String>,
}

/// `GET /c/{campaign}/export.csv?status=&subsystem=`: the filtered site list as CSV.
pub async fn export_csv(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let c = campaigns::meta(&st.db, &slug).await?;
    let mut query = sites::SiteQuery {
        campaign: Some(c.id),
        status: parse_status(q.status.as_deref())?,
        ..Default::default()
    };
    if let Some(sub) = q.subsystem.as_deref().filter(|s| !s.is_empty()) {
        query.subsystem = Some(subsystems::filter(&st.db, sub).await?.0);
    }
    let mut out = Vec::new();
    treewide_importer::export::write_csv(&st.db, &query, &mut out)
        .await
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    let disposition = format!("attachment; filename=\"{}.csv\"", c.slug);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

/// `GET /c/{campaign}/export.json`: the campaign as treewide-audit/1 (re-importable).
pub async fn export_json(
    State(st): State<AppState>,
    Path(slug): Path<String>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let c = campaigns::meta(&st.db, &slug).await?;
    let mut out = Vec::new();
    treewide_importer::export::write_json(&st.db, &c.slug, &mut out)
        .await
        .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
    let disposition = format!("attachment; filename=\"{}.json\"", c.slug);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
