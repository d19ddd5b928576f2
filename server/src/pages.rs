//! HTML pages: extract, call core, render.

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use treewide_core::model::{SiteId, Status};
use treewide_core::{campaigns, events, notes, refs, sites, subsystems, verdicts};

use crate::error::{Failure, PageError};
use crate::views::{
    enc, CampaignHead, CampaignPage, EventView, IndexPage, NoteView, Pager, Progress, RefView,
    SitePage, SiteRow, SortKey, StatusChoice, SubsystemPage, TableOrder, VerdictView,
};
use crate::AppState;

/// Sites per page of a subsystem's table.
const PAGE: u32 = 200;

/// `GET /`: every campaign with its progress.
pub async fn index(State(st): State<AppState>) -> Result<IndexPage, PageError> {
    let list = campaigns::list(&st.db).await?;
    Ok(IndexPage {
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
    Path(slug): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Result<CampaignPage, PageError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let sort = match q.sort.as_deref() {
        None | Some("") => SortKey::Name,
        Some(s) => SortKey::parse(s)
            .ok_or_else(|| Failure::BadRequest(format!("unknown sort key {s:?}")))?,
    };
    let desc = q.dir.as_deref() == Some("desc");
    let filter = parse_status(q.status.as_deref())?;
    let rows = subsystems::progress(&st.db, c.id).await?;
    let vs = verdicts::list_in(&st.db, c.id).await?;
    let ns = notes::for_campaign(&st.db, c.id).await?;
    let rs = refs::for_campaign(&st.db, c.id).await?;
    let scan = campaigns::scan_state(&st.db, c.id).await?;
    Ok(CampaignPage::new(
        &c,
        rows,
        TableOrder { sort, desc, filter },
        vs,
        ns,
        rs,
        scan,
    ))
}

#[derive(Deserialize)]
pub struct SubsystemQuery {
    status: Option<String>,
    page: Option<u32>,
}

/// `GET /c/{campaign}/s/{subsystem}`: the subsystem's sites, groups and notes.
pub async fn subsystem(
    State(st): State<AppState>,
    Path((slug, sub)): Path<(String, String)>,
    Query(q): Query<SubsystemQuery>,
) -> Result<SubsystemPage, PageError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let (filter, info) = subsystems::filter(&st.db, &sub).await?;
    let status = parse_status(q.status.as_deref())?;
    let page = q.page.unwrap_or(1).max(1);
    let progress = subsystems::progress(&st.db, c.id)
        .await?
        .into_iter()
        .find(|p| p.slug == sub)
        .map(|p| p.counts)
        .unwrap_or_default();
    let total = sites::count_in_subsystem(&st.db, c.id, filter, status).await?;
    let offset = (page - 1).saturating_mul(PAGE);
    let rows = sites::in_subsystem(&st.db, c.id, filter, status, offset, PAGE).await?;
    let per_verdict = verdicts::decided_counts(&st.db, c.id, filter).await?;
    let vs = verdicts::list_in(&st.db, c.id)
        .await?
        .into_iter()
        .filter_map(|v| {
            let n = per_verdict.get(&v.id).copied()?;
            Some(VerdictView::new(v, Some(n)))
        })
        .collect();
    let ns = notes::for_subsystem(&st.db, c.id, info.as_ref().map(|s| s.id)).await?;
    let base = format!("/c/{}/s/{}", enc(&c.slug), enc(&sub));
    let status_q = status
        .map(|s| format!("status={}&", s.as_str()))
        .unwrap_or_default();
    let shown = rows.len() as u64;
    let from = u64::from(offset) + 1;
    Ok(SubsystemPage {
        name: info
            .as_ref()
            .map_or_else(|| "(no subsystem)".to_owned(), |s| s.name.clone()),
        filters: Status::ALL
            .iter()
            .filter(|s| progress.get(**s) > 0)
            .map(|s| StatusChoice {
                status: s.as_str(),
                label: s.label(),
                href: format!("{base}?status={}", s.as_str()),
                active: status == Some(*s),
            })
            .collect(),
        all_href: base.clone(),
        filter_label: status.map(|s| s.label()),
        progress: Progress::new(&progress),
        sites: rows.into_iter().map(SiteRow::new).collect(),
        pager: Pager {
            from: if shown == 0 { 0 } else { from },
            to: from + shown - u64::from(shown > 0),
            total,
            prev: (page > 1).then(|| format!("{base}?{status_q}page={}", page - 1)),
            next: (u64::from(offset) + shown < total)
                .then(|| format!("{base}?{status_q}page={}", page + 1)),
        },
        verdicts: vs,
        notes: ns.into_iter().map(|n| NoteView::new(n, &c.slug)).collect(),
        info,
        c: CampaignHead::new(&c),
    })
}

/// `GET /c/{campaign}/site/{id}`: one site with its notes, references and history.
pub async fn site(
    State(st): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<SitePage, PageError> {
    let c = campaigns::get(&st.db, &slug).await?;
    let id = id
        .parse::<i64>()
        .map(SiteId)
        .map_err(|_| Failure::NotFound(format!("site {id:?} not found")))?;
    let s = sites::get(&st.db, id).await?;
    if s.campaign != c.slug {
        return Err(Failure::NotFound(format!("site {id} not found in campaign {slug}")).into());
    }
    let ns = notes::for_site(&st.db, id).await?;
    let rs = refs::for_site(&st.db, id).await?;
    let es = events::for_site(&st.db, id).await?;
    let first_seen = sites::first_seen(&st.db, id).await?;
    let context = SitePage::context_lines(sites::context(&st.db, id).await?, s.line);
    let all_subsystems = sites::subsystems(&st.db, id)
        .await?
        .into_iter()
        .map(|(n, slug)| (n, format!("/c/{}/s/{}", enc(&c.slug), enc(&slug))))
        .collect();
    Ok(SitePage {
        context,
        all_subsystems,
        source_url: SitePage::source_url(&c, &s.file, s.line),
        column: s.column,
        subsystem: s
            .subsystem
            .clone()
            .zip(s.subsystem_slug.clone())
            .map(|(n, slug)| (n, format!("/c/{}/s/{}", enc(&c.slug), enc(&slug)))),
        reason: s.reason.clone(),
        site: SiteRow::new(s),
        notes: ns.into_iter().map(|n| NoteView::new(n, &c.slug)).collect(),
        refs: rs.into_iter().map(RefView::new).collect(),
        events: es.into_iter().map(EventView::new).collect(),
        first_seen,
        c: CampaignHead::new(&c),
    })
}

/// Any other path.
pub async fn not_found() -> PageError {
    PageError(Failure::NotFound("no such page".into()))
}
