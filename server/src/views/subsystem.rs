//! The subsystem page: its sites (paged), the verdict groups that decided them, notes and mail.

use askama::Template;
use askama_web::WebTemplate;
use treewide_core::campaigns::Campaign;
use treewide_core::mail::{self, MailScope, ThreadPage};
use treewide_core::model::Status;
use treewide_core::subsystems::{self, Subsystem, SubsystemFilter};
use treewide_core::{claims, proposals};
use treewide_core::{history, notes, sites, verdicts, SqlitePool};

use super::mail::MailView;
use super::site::ProposalView;
use super::{
    enc, CampaignHead, Chrome, CommitLink, NoteView, Progress, SiteRow, StatusChoice, VerdictView,
};

/// Sites per page of a subsystem's table.
const PAGE: u32 = 200;

/// Which sites of which subsystem a subsystem page lists.
pub struct SubsystemScope {
    pub campaign: Campaign,
    /// The subsystem's slug as in the URL (or `_unassigned`).
    pub slug: String,
    pub filter: SubsystemFilter,
    /// `None` for the sites without a subsystem.
    pub info: Option<Subsystem>,
    /// Only sites of this status.
    pub status: Option<Status>,
    /// 1-based page of the table.
    pub page: u32,
    /// The page of mail threads.
    pub threads: ThreadPage,
}

/// Previous/next links of a paged table.
pub struct Pager {
    pub from: u64,
    pub to: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// The subsystem page.
#[derive(Template, WebTemplate)]
#[template(path = "subsystem.html")]
pub struct SubsystemPage {
    pub chrome: Chrome,
    pub slug: String,
    pub c: CampaignHead,
    pub name: String,
    pub info: Option<Subsystem>,
    pub progress: Progress,
    pub filters: Vec<StatusChoice>,
    pub all_href: String,
    pub filter_label: Option<&'static str>,
    pub sites: Vec<SiteRow>,
    /// Whether any listed site has a fixing commit (shows the column).
    pub has_fixes: bool,
    pub pager: Pager,
    pub verdicts: Vec<VerdictView>,
    pub notes: Vec<NoteView>,
    /// Open proposals on the subsystem's sites, with each site's page.
    pub proposals: Vec<(ProposalView, String)>,
    /// Live claims on the subsystem or its sites: (who, what, until).
    pub claims: Vec<(String, String, String)>,
    /// Mail about the subsystem's sites.
    pub mail: MailView,
}

impl SubsystemPage {
    /// Read the subsystem's counts, a page of its sites with their fixes, the verdict groups
    /// that decided them, its notes and mail, and build the page.
    pub async fn load(
        db: &SqlitePool,
        scope: SubsystemScope,
        chrome: Chrome,
    ) -> treewide_core::Result<SubsystemPage> {
        let SubsystemScope {
            campaign: c,
            slug: sub,
            filter,
            info,
            status,
            page,
            threads: thread_page,
        } = scope;
        let progress = subsystems::counts(db, c.id, filter).await?;
        let total = sites::count_in_subsystem(db, c.id, filter, status).await?;
        let offset = (page - 1).saturating_mul(PAGE);
        let rows = sites::in_subsystem(db, c.id, filter, status, offset, PAGE).await?;
        // One query for the page's fixes, not one per row.
        let ids: Vec<_> = rows.iter().map(|s| s.id).collect();
        let fixes = history::fixes_of(db, &ids).await?;
        let per_verdict = verdicts::decided_counts(db, c.id, filter).await?;
        let vs = verdicts::list_in(db, c.id)
            .await?
            .into_iter()
            .filter_map(|v| {
                let n = per_verdict.get(&v.id).copied()?;
                Some(VerdictView::new(v, Some(n)))
            })
            .collect();
        let ns = notes::for_subsystem(db, c.id, info.as_ref().map(|s| s.id)).await?;
        let open = proposals::open_in_subsystem(db, c.id, info.as_ref().map(|s| s.id)).await?;
        let claims = claims::in_subsystem(db, c.id, info.as_ref().map(|s| s.id))
            .await?
            .into_iter()
            .map(|k| {
                let what = k.place.unwrap_or_else(|| "all of these sites".into());
                let until = k.expires_at.get(..10).unwrap_or(&k.expires_at).to_owned();
                (k.who, what, until)
            })
            .collect();
        let base = format!("/c/{}/s/{}", enc(&c.slug), enc(&sub));
        let status_q = status
            .map(|s| format!("status={}&", s.as_str()))
            .unwrap_or_default();
        let shown = rows.len() as u64;
        let from = u64::from(offset) + 1;
        let mail = match info.as_ref() {
            Some(i) => {
                let threads =
                    mail::threads_for(db, MailScope::Subsystem(c.id, i.id), thread_page).await?;
                let answers = mail::pending_answers(db, c.id, None, Some(i.id)).await?;
                MailView::new(
                    threads,
                    thread_page,
                    &chrome.here,
                    Vec::new(),
                    Vec::new(),
                    answers,
                )
            }
            None => MailView::default(),
        };
        Ok(SubsystemPage {
            mail,
            chrome,
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
            notes: NoteView::threaded(ns, &c.slug),
            claims,
            proposals: open
                .into_iter()
                .map(|p| {
                    let href = format!("/c/{}/site/{}#proposals", enc(&c.slug), p.site);
                    let at = format!("{}:{}", p.file, p.line);
                    let mut v = ProposalView::new(p);
                    v.reason = if v.reason.is_empty() {
                        at
                    } else {
                        format!("{at}: {}", v.reason)
                    };
                    (v, href)
                })
                .collect(),
            info,
            c: CampaignHead::new(&c),
        })
    }
}
