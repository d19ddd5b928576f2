//! HTML pages: extract, call core, render.

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use treewide_core::model::{SiteId, Status};
use treewide_core::{campaigns, events, history, notes, refs, sites, subsystems, verdicts};

use crate::auth::{csrf_token, AuthSession};
use crate::chart::Burndown;
use crate::error::{Failure, PageError};
use crate::views::{
    enc, CampaignHead, CampaignPage, Chrome, CommitLink, EventView, IndexPage, NoteView, Pager,
    Progress, RefView, SiteCommitView, SitePage, SiteRow, SortKey, StatusChoice, SubsystemPage,
    TableOrder, VerdictView,
};
use crate::AppState;

/// Sites per page of a subsystem's table.
const PAGE: u32 = 200;

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
    let burndown = history::burndown(&st.db, c.id).await?;
    let mut page = CampaignPage::new(
        &c,
        rows,
        TableOrder { sort, desc, filter },
        vs,
        ns,
        rs,
        scan,
    );
    page.burndown = Burndown::new(&burndown);
    page.chrome = chrome(&auth, &format!("/c/{}", enc(&c.slug))).await?;
    Ok(page)
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
    let c = campaigns::meta(&st.db, &slug).await?;
    let (filter, info) = subsystems::filter(&st.db, &sub).await?;
    let status = parse_status(q.status.as_deref())?;
    let page = q.page.unwrap_or(1).max(1);
    let progress = subsystems::counts(&st.db, c.id, filter).await?;
    let total = sites::count_in_subsystem(&st.db, c.id, filter, status).await?;
    let offset = (page - 1).saturating_mul(PAGE);
    let rows = sites::in_subsystem(&st.db, c.id, filter, status, offset, PAGE).await?;
    // One query for the page's fixes, not one per row.
    let ids: Vec<_> = rows.iter().map(|s| s.id).collect();
    let fixes = history::fixes_of(&st.db, &ids).await?;
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
    let mail = match info.as_ref() {
        Some(i) => {
            let q = treewide_core::mail::MessageQuery {
                subsystem: Some(i.id),
                limit: 200,
                ..Default::default()
            };
            let entries = treewide_core::mail::list(&st.db, &q)
                .await?
                .into_iter()
                .map(|head| treewide_core::mail::ThreadEntry {
                    head,
                    depth: 0,
                    links: Vec::new(),
                })
                .collect();
            let answers =
                treewide_core::mail::pending_answers(&st.db, c.id, None, Some(i.id)).await?;
            crate::views::MailView::new(entries, Vec::new(), answers)
        }
        None => crate::views::MailView::default(),
    };
    Ok(SubsystemPage {
        mail,
        chrome: chrome(&auth, &base).await?,
        slug: sub.clone(),
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
        has_fixes: rows.iter().any(|s| fixes.contains_key(&s.id)),
        sites: rows
            .into_iter()
            .map(|s| SiteRow {
                fix: fixes.get(&s.id).map(CommitLink::new),
                ..SiteRow::new(s)
            })
            .collect(),
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
    auth: AuthSession,
    Path((slug, id)): Path<(String, String)>,
) -> Result<SitePage, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
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
    let commits = history::for_site(&st.db, id).await?;
    let context = SitePage::context_lines(sites::context(&st.db, id).await?, s.line);
    let subs = sites::subsystems(&st.db, id).await?;
    let mut ask_choices: Vec<(String, String)> = subs
        .iter()
        .map(|(n, slug)| (slug.clone(), n.clone()))
        .collect();
    if let (true, Some(n), Some(slug)) = (ask_choices.is_empty(), &s.subsystem, &s.subsystem_slug) {
        ask_choices.push((slug.clone(), n.clone()));
    }
    let all_subsystems = subs
        .into_iter()
        .map(|(n, slug)| (n, format!("/c/{}/s/{}", enc(&c.slug), enc(&slug))))
        .collect();
    let here = format!("/c/{}/site/{id}", enc(&c.slug));
    let mail = crate::views::MailView::new(
        treewide_core::mail::threads_for_site(&st.db, id).await?,
        treewide_core::mail::trailers_for_site(&st.db, id).await?,
        treewide_core::mail::pending_answers(&st.db, c.id, Some(id), None).await?,
    );
    Ok(SitePage {
        mail,
        chrome: chrome(&auth, &here).await?,
        context,
        all_subsystems,
        ask_choices,
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
        commits: commits.into_iter().map(SiteCommitView::new).collect(),
        c: CampaignHead::new(&c),
    })
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
    let c = campaigns::meta(&st.db, slug).await?;
    let (subsystem, name, page) = match sub {
        Some(s) => {
            let (f, info) = subsystems::filter(&st.db, s).await?;
            let id = match f {
                subsystems::SubsystemFilter::Id(id) => Some(id),
                subsystems::SubsystemFilter::Unassigned => None,
            };
            let name = info.map_or_else(|| "(no subsystem)".to_owned(), |i| i.name);
            (id, Some(name), format!("/c/{}/s/{}", enc(&c.slug), enc(s)))
        }
        None => (None, None, format!("/c/{}", enc(&c.slug))),
    };
    let events = treewide_core::events::latest(&st.db, c.id, subsystem, 100).await?;
    let updated = events
        .first()
        .map_or_else(|| c.updated_at.clone(), |(e, _)| e.at.clone());
    let feed = crate::views::Feed {
        title: match &name {
            Some(n) => format!("{} — {}", c.title, n),
            None => c.title.clone(),
        },
        id: format!("tag:treewide,2026:{}", page),
        page,
        updated,
        entries: crate::views::Feed::entries(&c.slug, events),
    };
    let xml = feed
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
    treewide_formats::export::write_csv(&st.db, &query, &mut out)
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
    treewide_formats::export::write_json(&st.db, &c.slug, &mut out)
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
