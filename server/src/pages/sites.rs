//! The site list of a campaign with filters and full-text search, the page of one file's
//! sites (a permalink by path), and the jump box that takes `file:line`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use treewide_core::campaigns;
use treewide_core::model::SiteId;
use treewide_core::sites::{self, SiteQuery};
use treewide_core::subsystems;
use treewide_core::tree_links;

use super::chrome;
use crate::error::{Failure, PageError};
use crate::middleware::session::AuthSession;
use crate::params;
use crate::state::AppState;
use crate::views::site::SitePage;
use crate::views::sites::{FilePage, SiteFilters, SitesPage};
use crate::views::{enc, CampaignHead, SiteRow, PATH_SAFE};

/// `/c/{campaign}/sites`, `/c/{campaign}/f/{path}` and `/c/{campaign}/jump`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{campaign}/sites", get(list))
        .route("/c/{campaign}/f/{*path}", get(file))
        .route("/c/{campaign}/jump", get(jump))
}

/// Rows a page of the list shows.
const PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    subsystem: String,
    #[serde(default)]
    callee: String,
    #[serde(default)]
    function: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    claimed: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    after: Option<i64>,
}

/// `GET /c/{campaign}/sites?q=&status=&subsystem=&callee=&function=&file=&claimed=&stage=&after=`.
async fn list(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(slug): Path<String>,
    Query(lq): Query<ListQuery>,
) -> Result<SitesPage, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut q = SiteQuery {
        campaign: Some(c.id),
        status: params::status(Some(&lq.status))?,
        file: nonempty(&lq.file),
        callee: nonempty(&lq.callee),
        function: nonempty(&lq.function),
        q: nonempty(&lq.q),
        claimed: match lq.claimed.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        stage: params::stage(Some(&lq.stage))?,
        ..Default::default()
    };
    if let Some(sub) = nonempty(&lq.subsystem) {
        q.subsystem = Some(subsystems::filter(&st.db, &sub).await?.0);
    }
    let after = SiteId(lq.after.unwrap_or(0));
    let mut found = sites::list(&st.db, &q, after, PAGE + 1).await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let filters = SiteFilters {
        q: lq.q.clone(),
        status: lq.status.clone(),
        subsystem: lq.subsystem.clone(),
        callee: lq.callee.clone(),
        function: lq.function.clone(),
        file: lq.file.clone(),
        claimed: lq.claimed.clone(),
        stage: lq.stage.clone(),
    };
    let base = format!("/c/{}/sites", enc(&c.slug));
    let next = match (more, found.last()) {
        (true, Some(last)) => {
            let mut parts: Vec<String> = [
                ("q", &filters.q),
                ("status", &filters.status),
                ("subsystem", &filters.subsystem),
                ("callee", &filters.callee),
                ("function", &filters.function),
                ("file", &filters.file),
                ("claimed", &filters.claimed),
                ("stage", &filters.stage),
            ]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
            parts.push(format!("after={}", last.id));
            Some(format!("{base}?{}", parts.join("&")))
        }
        _ => None,
    };
    let short_query = q.q.is_some() && q.q.as_deref().and_then(sites::search_query).is_none();
    Ok(SitesPage {
        chrome: chrome(&auth, &base).await?,
        rows: found.into_iter().map(SiteRow::new).collect(),
        c: CampaignHead::new(&c),
        filters,
        next,
        short_query,
    })
}

/// `GET /c/{campaign}/f/{path}`: the file's sites, rows anchored `#L{line}`.
async fn file(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, path)): Path<(String, String)>,
) -> Result<FilePage, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let path = path.trim_start_matches('/').to_owned();
    let q = SiteQuery {
        campaign: Some(c.id),
        file: Some(path.clone()),
        ..Default::default()
    };
    let mut found = sites::list(&st.db, &q, SiteId(0), 10_000).await?;
    // A glob in the path is not a file: only exact matches.
    found.retain(|s| s.file == path);
    if found.is_empty() {
        return Err(Failure::NotFound(format!(
            "no site of {} in {path}: the jump box and the site list take a file that has sites",
            c.slug
        ))
        .into());
    }
    found.sort_by_key(|s| (s.line, s.id.0));
    let here = format!(
        "/c/{}/f/{}",
        enc(&c.slug),
        percent_encoding::utf8_percent_encode(&path, PATH_SAFE)
    );
    Ok(FilePage {
        chrome: chrome(&auth, &here).await?,
        source_url: SitePage::source_url(
            &c,
            &path,
            None,
            tree_links::file_at_tag(&st.db, c.id, &path).await?,
        ),
        rows: found.into_iter().map(SiteRow::new).collect(),
        c: CampaignHead::new(&c),
        file: path,
    })
}

#[derive(Debug, Deserialize)]
struct JumpQuery {
    #[serde(default)]
    to: String,
}

/// `GET /c/{campaign}/jump?to=fs/ceph/file.c:98`: to the file's page at that line (a file
/// without `:line` goes to its page; `file:line:col` and `a/`/`b/` prefixes are accepted).
async fn jump(Path(slug): Path<String>, Query(j): Query<JumpQuery>) -> Result<Response, PageError> {
    let to = j.to.trim();
    let to = to
        .strip_prefix("a/")
        .or_else(|| to.strip_prefix("b/"))
        .unwrap_or(to);
    let mut parts = to.splitn(3, ':');
    let file = parts.next().unwrap_or("").trim_start_matches('/');
    if file.is_empty() {
        return Err(
            Failure::BadRequest("give a file or file:line, e.g. fs/ceph/file.c:98".into()).into(),
        );
    }
    let line = parts.next().and_then(|l| l.trim().parse::<u32>().ok());
    let mut url = format!(
        "/c/{}/f/{}",
        enc(&slug),
        percent_encoding::utf8_percent_encode(file, PATH_SAFE)
    );
    if let Some(l) = line {
        url.push_str(&format!("#L{l}"));
    }
    Ok(Redirect::to(&url).into_response())
}
